"""The roles a user can hold, apart from the accounts that hold them.

The command line offers them as choices before any database code loads.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    COORDINATOR = "coordinator"
    """Reads and writes the records of one site."""
    INVESTIGATOR = "investigator"
    """A coordinator who also locks and signs the site's records."""
    MONITOR = "monitor"
    """Reads one site's records, raises and closes data queries on them; changes no record."""
    ANALYST = "analyst"
    """Reads pooled, de-identified data of every site; no record-level page."""
    ADMIN = "admin"
    """Manages sites, users and roles; sees no patient data."""

    @property
    def at_site(self) -> bool:
        return self in (Role.COORDINATOR, Role.INVESTIGATOR, Role.MONITOR)
