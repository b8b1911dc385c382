"""Settings of the whole registry, stored in it so that every door reads the same value.

The follow-up visit windows decide invitations, states, the worklist, the call list,
completeness in the API and in the report: one stored value (``registry_setting``),
read by each of them, so none can disagree with another. Changing it is audited.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from sijreg.domain.schedule import DEFAULT_WINDOWS, Window, parse_windows, windows_text
from sijreg.store import audit, schema

VISIT_WINDOWS = "visit_windows"


def visit_windows(conn: sa.Connection) -> tuple[Window, ...]:
    """The registry's follow-up windows; the default ones until a study sets its own."""
    t = schema.registry_setting
    value = conn.execute(sa.select(t.c.value).where(t.c.name == VISIT_WINDOWS)).scalar_one_or_none()
    return DEFAULT_WINDOWS if value is None else parse_windows(value)


def set_visit_windows(conn: sa.Connection, text: str, reason: str) -> tuple[Window, ...]:
    """Store the windows ``text`` names (ValueError says why they are refused), audited."""
    windows = parse_windows(text)
    t = schema.registry_setting
    value = windows_text(windows)
    old = conn.execute(sa.select(t.c.id, t.c.value).where(t.c.name == VISIT_WINDOWS)).one_or_none()
    now = datetime.now(UTC)
    if old is None:
        row_id = conn.execute(
            sa.insert(t).values(name=VISIT_WINDOWS, value=value, updated_at=now).returning(t.c.id)
        ).scalar_one()
    elif old.value == value:
        return windows
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
            new_values={"name": VISIT_WINDOWS, "value": value},
            reason=reason,
            record_hash=audit.stored_hash(conn, t, row_id),
        ),
    )
    return windows
