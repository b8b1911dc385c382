"""The follow-up schedule: which visits are due or overdue, from the fusion date.

Visits are expected 3, 6, 12 and 24 months after the fusion, each within a window;
a visit on any day of the window counts. Pure date arithmetic, no I/O.
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta


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
    return tuple(sorted(windows, key=lambda w: w.months))


def add_months(start: date, months: int) -> date:
    """The same day ``months`` later, or the month's last day when it is shorter."""
    month0 = start.month - 1 + months
    year, month = start.year + month0 // 12, month0 % 12 + 1
    return date(year, month, min(start.day, calendar.monthrange(year, month)[1]))


@dataclass(frozen=True)
class DueVisit:
    months: int
    target: date
    opens: date
    closes: date
    overdue: bool


def due_visits(
    fusion_date: date, visit_dates: Iterable[date], today: date, windows: Sequence[Window]
) -> list[DueVisit]:
    """The follow-ups whose window is open (due) or closed without a visit (overdue).

    An overdue visit leaves the list once the next follow-up's window opens: by then
    it is missed, and the next one is what the site must work on.
    """
    visits = sorted(visit_dates)
    found = []
    for i, window in enumerate(windows):
        try:
            target = add_months(fusion_date, window.months)
            opens, closes = (
                target - timedelta(days=window.before),
                target + timedelta(days=window.after),
            )
        except (ValueError, OverflowError):  # past the year 9999: not due, nor any later one
            break
        if today < opens or any(opens <= v <= closes for v in visits):
            continue
        later = windows[i + 1] if i + 1 < len(windows) else None
        if later and today >= _opening(fusion_date, later):
            continue
        found.append(DueVisit(window.months, target, opens, closes, overdue=today > closes))
    return found


def _opening(fusion_date: date, window: Window) -> date:
    """The day ``window`` opens; ``date.max`` when that is past the calendar's end."""
    try:
        return add_months(fusion_date, window.months) - timedelta(days=window.before)
    except (ValueError, OverflowError):
        return date.max
