"""Settings of the whole registry, stored in it so that every door reads the same value.

The follow-up visit windows decide invitations, states, the worklist, the call list,
completeness in the API and in the report; the reminder days decide when the invitation
and each reminder go out and when a follow-up turns overdue. Each is one stored value
(a ``registry_setting`` row), read by every door, so none can disagree with another.
Changing one is audited.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Generic, TypeVar

import sqlalchemy as sa

from sijreg.domain.followup import (
    DEFAULT_REMINDER_DAYS,
    parse_reminder_days,
    reminder_days_text,
)
from sijreg.domain.schedule import DEFAULT_WINDOWS, Window, parse_windows, windows_text
from sijreg.store import audit, schema

T = TypeVar("T")


@dataclass(frozen=True)
class _Setting(Generic[T]):
    """One ``registry_setting`` row: its name, value until set, and canonical text form."""

    name: str
    default: T
    parse: Callable[[str], T]
    """Reads the text; ValueError says why it is refused."""
    text: Callable[[T], str]


VISIT_WINDOWS: _Setting[tuple[Window, ...]] = _Setting(
    "visit_windows", DEFAULT_WINDOWS, parse_windows, windows_text
)
REMINDER_DAYS: _Setting[tuple[int, ...]] = _Setting(
    "reminder_days", DEFAULT_REMINDER_DAYS, parse_reminder_days, reminder_days_text
)


def visit_windows(conn: sa.Connection) -> tuple[Window, ...]:
    """The registry's follow-up windows; the default ones until a study sets its own."""
    return _get(conn, VISIT_WINDOWS)


def set_visit_windows(conn: sa.Connection, text: str, reason: str) -> tuple[Window, ...]:
    """Store the windows ``text`` names (ValueError says why they are refused), audited."""
    return _set(conn, VISIT_WINDOWS, text, reason)


def reminder_days(conn: sa.Connection) -> tuple[int, ...]:
    """Days after a window opens for the invitation, then each reminder; the default until set."""
    return _get(conn, REMINDER_DAYS)


def set_reminder_days(conn: sa.Connection, text: str, reason: str) -> tuple[int, ...]:
    """Store the days ``text`` names (ValueError says why they are refused), audited."""
    return _set(conn, REMINDER_DAYS, text, reason)


def _get(conn: sa.Connection, setting: _Setting[T]) -> T:
    t = schema.registry_setting
    value = conn.execute(sa.select(t.c.value).where(t.c.name == setting.name)).scalar_one_or_none()
    return setting.default if value is None else setting.parse(value)


def _set(conn: sa.Connection, setting: _Setting[T], text: str, reason: str) -> T:
    """Store ``text`` in its canonical form; audited unless the value is unchanged."""
    parsed = setting.parse(text)
    name, value = setting.name, setting.text(parsed)
    t = schema.registry_setting
    old = conn.execute(sa.select(t.c.id, t.c.value).where(t.c.name == name)).one_or_none()
    now = datetime.now(UTC)
    if old is None:
        row_id = conn.execute(
            sa.insert(t).values(name=name, value=value, updated_at=now).returning(t.c.id)
        ).scalar_one()
    elif old.value == value:
        return parsed
    else:
        row_id = old.id
        conn.execute(sa.update(t).where(t.c.id == row_id).values(value=value, updated_at=now))
    audit.append(
        conn,
        audit.Entry(
            audit.Action.CREATE if old is None else audit.Action.UPDATE,
            table_name=t.name,
            record_id=row_id,
            old_values=None if old is None else {"value": old.value},
            new_values={"name": name, "value": value},
            reason=reason,
            record_hash=audit.stored_hash(conn, t, row_id),
        ),
    )
    return parsed
