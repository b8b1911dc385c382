"""How a report is shown, apart from what it computes (parsed before any data is read)."""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MIN_CELL = 11
"""Under suppression, counts from 1 to 10 are hidden unless --min-cell says otherwise."""


@dataclass(frozen=True)
class Options:
    """How a report is shown: intervals in the displayed tables, small-cell suppression."""

    ci: bool = False
    min_cell: int | None = None
    """Counts from 1 to min_cell - 1 are suppressed; None shows every count."""
