"""The registry read as one state: the state after one audit-trail entry.

The analysis frames are read a table per query, so a change saved meanwhile could
leave them out of step (a visit read, its patient's new fusion not). Every change
sijreg makes appends to the audit trail in its own transaction, so the newest entry,
the same before and after the read, shows that the read saw one state; otherwise it
is read again. Reports record that entry, and freezes are made this way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sijreg.analysis.cohort import Registry, read_registry
from sijreg.analysis.flow import Screened, read_screenings
from sijreg.domain.schedule import DEFAULT_WINDOWS, Window
from sijreg.store.errors import DatabaseError

if TYPE_CHECKING:
    import sqlalchemy as sa

READ_ATTEMPTS = 3


@dataclass(frozen=True)
class Snapshot:
    registry: Registry
    screenings: Sequence[Screened]
    audit_head: dict[str, Any] | None
    """The newest audit entry when read, ``{entry, hash}``; None for an empty trail."""
    visit_windows: tuple[Window, ...] = DEFAULT_WINDOWS
    """The registry's follow-up windows (store/registry_settings.py), counted by completeness."""


def _head(engine: sa.Engine) -> tuple[dict[str, Any] | None, tuple[Window, ...]]:
    """The newest audit entry and the visit windows (a change of them is audited too)."""
    from sijreg.store import audit  # the database stack: a freeze's Snapshot needs none
    from sijreg.store.registry_settings import visit_windows

    with engine.connect() as conn:
        newest, windows = audit.head(conn), visit_windows(conn)
    return ({"entry": newest[0], "hash": newest[1]} if newest else None), windows


def read_snapshot(engine: sa.Engine) -> Snapshot:
    """The registry's analysis frames and screening log as of one audit entry."""
    for _ in range(READ_ATTEMPTS):
        before = _head(engine)
        registry, screenings = read_registry(engine), read_screenings(engine)
        after = _head(engine)
        if before == after:
            return Snapshot(registry, screenings, *after)
    raise DatabaseError(
        f"the registry changed while it was being read, {READ_ATTEMPTS} times: "
        "run again when data entry pauses"
    )
