"""The follow-up schedule: visit windows, from the fusion date.

Visits are expected 3, 6, 12 and 24 months after the fusion, each within a window;
a visit on any day of the window counts. Pure date arithmetic, no I/O; which visits
are due, overdue or missed on a day is ``followup.time_points``.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date


@dataclass(frozen=True)
class Window:
    """The follow-up ``months`` after the fusion, accepted ``before`` to ``after`` days around."""

    months: int
    before: int
    after: int


DEFAULT_WINDOWS = (Window(3, 14, 30), Window(6, 30, 30), Window(12, 30, 60), Window(24, 60, 90))


def parse_windows(text: str) -> tuple[Window, ...]:
    """Windows from ``"3:14:30,6:30:30"`` (months:days before:days after); ValueError says why."""
    windows = []
    for part in text.split(","):
        pieces = part.strip().split(":")
        if len(pieces) != 3 or not all(p.isdigit() for p in pieces):
            raise ValueError(f"{part.strip()!r} is not months:days-before:days-after")
        months, before, after = (int(p) for p in pieces)
        if months < 1:
            raise ValueError("a follow-up is at least 1 month after the fusion")
        windows.append(Window(months, before, after))
    months_given = [w.months for w in windows]
    if len(set(months_given)) < len(months_given):
        raise ValueError(f"{text!r} names a follow-up month twice")
    return tuple(sorted(windows, key=lambda w: w.months))


def windows_text(windows: tuple[Window, ...]) -> str:
    """The windows as ``parse_windows`` reads them: ``"3:14:30,6:30:30"``."""
    return ",".join(f"{w.months}:{w.before}:{w.after}" for w in windows)


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DueVisit:
    """A follow-up on the worklist: its window is open and it has no visit yet."""

    months: int
    target: date
    opens: date
    closes: date
    overdue: bool
