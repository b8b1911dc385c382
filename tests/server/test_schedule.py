"""The follow-up schedule: month arithmetic, windows, due, overdue and missed visits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sijreg.domain.schedule import DEFAULT_WINDOWS, Window, add_months, due_visits, parse_windows

FUSED = date(2025, 1, 31)


@given(st.dates(date(1950, 1, 1), date(2090, 12, 31)), st.integers(-120, 120))
def test_adding_months_lands_in_the_right_month_on_the_nearest_day(
    start: date, months: int
) -> None:
    landed = add_months(start, months)
    assert (landed.year * 12 + landed.month) - (start.year * 12 + start.month) == months
    assert landed.day == start.day or (
        landed.day < start.day and (landed + timedelta(days=1)).day == 1
    )


def test_month_ends_are_clamped() -> None:
    assert add_months(FUSED, 1) == date(2025, 2, 28)
    assert add_months(date(2024, 1, 31), 1) == date(2024, 2, 29)


def _months(today: date, visits: list[date]) -> list[tuple[int, bool]]:
    return [(d.months, d.overdue) for d in due_visits(FUSED, visits, today, DEFAULT_WINDOWS)]


def test_a_visit_is_due_inside_its_window_and_overdue_after_it() -> None:
    target = date(2025, 4, 30)  # three months after 31 January
    assert _months(target - timedelta(days=15), []) == []
    assert _months(target - timedelta(days=14), []) == [(3, False)]
    assert _months(target + timedelta(days=30), []) == [(3, False)]
    assert _months(target + timedelta(days=31), []) == [(3, True)]


def test_a_visit_inside_the_window_settles_it() -> None:
    assert _months(date(2025, 5, 5), [date(2025, 4, 20)]) == []
    assert _months(date(2025, 5, 5), [date(2025, 4, 1)]) == [(3, False)]  # too early


def test_an_overdue_visit_is_missed_once_the_next_window_opens() -> None:
    six = date(2025, 7, 31)
    assert _months(six - timedelta(days=31), []) == [(3, True)]
    assert _months(six - timedelta(days=30), []) == [(6, False)]


def test_windows_are_read_from_text() -> None:
    assert parse_windows("12:30:60, 3:14:30") == (Window(3, 14, 30), Window(12, 30, 60))
    for bad in ("3:14", "x:1:2", "0:1:1"):
        with pytest.raises(ValueError, match="month"):
            parse_windows(bad)
