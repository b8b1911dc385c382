"""The follow-up schedule: month arithmetic, windows, due, overdue and missed visits."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sijreg.domain.followup import OPEN_STATES, State, time_points
from sijreg.domain.schedule import DEFAULT_WINDOWS, Window, add_months, parse_windows

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
    """The worklist's (months, overdue) pairs: open windows without a visit."""
    return [
        (p.months, p.state is State.OVERDUE)
        for p in time_points(FUSED, visits, today, DEFAULT_WINDOWS)
        if p.state in OPEN_STATES
    ]


def test_a_visit_is_due_in_its_window_overdue_late_in_it_and_missed_after_it() -> None:
    target = date(2025, 4, 30)  # three months after 31 January; window 04-16 to 05-30
    assert _months(target - timedelta(days=15), []) == []
    assert _months(target - timedelta(days=14), []) == [(3, False)]
    assert _months(target, []) == [(3, False)]
    # overdue after the target and the last reminder day (04-16 + 28 = 05-14)
    assert _months(date(2025, 5, 14), []) == [(3, False)]
    assert _months(date(2025, 5, 15), []) == [(3, True)]
    assert _months(target + timedelta(days=30), []) == [(3, True)]
    assert _months(target + timedelta(days=31), []) == []  # missed: off the list


def test_a_visit_inside_the_window_settles_it() -> None:
    assert _months(date(2025, 5, 5), [date(2025, 4, 20)]) == []
    assert _months(date(2025, 5, 5), [date(2025, 4, 1)]) == [(3, False)]  # too early


def test_a_window_closed_years_ago_is_missed_not_overdue() -> None:
    states = [p.state for p in time_points(FUSED, [], date(2030, 1, 1), DEFAULT_WINDOWS)]
    assert states == [State.MISSED] * 4
    assert _months(date(2030, 1, 1), []) == []


def test_windows_are_read_from_text() -> None:
    assert parse_windows("12:30:60, 3:14:30") == (Window(3, 14, 30), Window(12, 30, 60))
    for bad in ("3:14", "x:1:2", "0:1:1"):
        with pytest.raises(ValueError, match="month"):
            parse_windows(bad)
