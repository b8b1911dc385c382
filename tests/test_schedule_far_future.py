"""A fusion dated at the calendar's end (year 9998+) has no follow-up, instead of a 500
(issue 15, item 8)."""

from __future__ import annotations

from datetime import date

import pytest

from sijreg.domain.followup import State, time_points
from sijreg.domain.schedule import DEFAULT_WINDOWS, Window


@pytest.mark.parametrize("fused", [date(9998, 6, 1), date(9999, 12, 31)])
def test_a_fusion_at_the_end_of_the_calendar_has_nothing_due(fused: date) -> None:
    points = time_points(fused, [], date(2026, 11, 30), DEFAULT_WINDOWS)
    assert all(p.state is State.NOT_YET_DUE for p in points)


def test_a_later_window_past_the_calendar_keeps_the_earlier_one() -> None:
    windows = (Window(3, 14, 30), Window(100_000, 0, 0))
    [missed] = time_points(date(2020, 1, 10), [], date(2026, 11, 30), windows)
    assert (missed.months, missed.target, missed.state) == (3, date(2020, 4, 10), State.MISSED)
