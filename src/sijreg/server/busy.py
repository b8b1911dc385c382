"""A request that waited too long for the database's write lock gets 503 and Retry-After.

A large sheet import holds SQLite's one write lock, or briefly PostgreSQL's audit-chain
lock, while it writes. A request that needs it waits (SQLite's busy timeout, the chain's
:data:`audit.LOCK_WAIT_SECONDS`), then, rather than a 500, answers "busy, retry": its
transaction was rolled back, nothing was saved. See docs/sheet.md.
"""

from __future__ import annotations

import sqlite3

import sqlalchemy as sa

from sijreg.store import audit

RETRY_AFTER_SECONDS = 5


def is_busy(error: BaseException) -> bool:
    """Whether ``error`` means "the database was busy writing for someone else"."""
    if isinstance(error, audit.ChainBusy):
        return True
    if not isinstance(error, sa.exc.OperationalError):
        return False
    cause = error.orig
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause).startswith(("database is locked", "database is busy"))
    return getattr(cause, "sqlstate", None) == audit.LOCK_NOT_AVAILABLE
