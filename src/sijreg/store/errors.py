"""The store's errors, importable without SQLAlchemy: every command catches them, and a
report from a freeze never loads the database stack."""

from __future__ import annotations


class DatabaseError(Exception):
    """The database cannot be opened or is not a sijreg registry; the message says why."""
