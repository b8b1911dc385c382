"""Where each follow-up stands, worked by hand on one patient fused on 2025-01-15."""

from __future__ import annotations

from datetime import date

import pytest

from sijreg.domain.followup import State, message_due, next_message, time_points
from sijreg.domain.schedule import DEFAULT_WINDOWS, Window

FUSED = date(2025, 1, 15)
TWELVE = (Window(12, 30, 60),)  # target 2026-01-15, opens 2025-12-16, closes 2026-03-16


@pytest.mark.parametrize(
    ("today", "visits", "sent", "state"),
    [
        (date(2025, 12, 15), [], 0, State.NOT_YET_DUE),
        (date(2025, 12, 16), [], 0, State.DUE),
        (date(2025, 12, 20), [], 1, State.INVITED),
        (date(2026, 1, 5), [], 2, State.REMINDED),
        # past the target (01-15) and the last reminder day (12-16 + 28 = 01-13)
        (date(2026, 1, 16), [], 2, State.OVERDUE),
        (date(2026, 3, 16), [], 3, State.OVERDUE),
        (date(2026, 3, 17), [], 3, State.MISSED),
        (date(2026, 3, 17), [date(2026, 3, 16)], 3, State.ANSWERED),
        (date(2026, 1, 1), [date(2025, 12, 16)], 1, State.ANSWERED),
        (date(2026, 1, 1), [date(2025, 12, 15)], 1, State.INVITED),  # a day before the window
    ],
)
def test_state_of_the_12_month_follow_up(
    today: date, visits: list[date], sent: int, state: State
) -> None:
    (point,) = time_points(FUSED, visits, today, TWELVE, {12: sent})
    assert (point.opens, point.target, point.closes) == (
        date(2025, 12, 16),
        date(2026, 1, 15),
        date(2026, 3, 16),
    )
    assert point.state is state


def test_every_window_gets_a_state_and_closed_ones_are_missed_not_overdue() -> None:
    points = time_points(FUSED, [date(2025, 4, 20)], date(2027, 6, 1), DEFAULT_WINDOWS)
    assert [(p.months, p.state) for p in points] == [
        (3, State.ANSWERED),
        (6, State.MISSED),
        (12, State.MISSED),
        (24, State.MISSED),
    ]
    assert all(p.counts_as_due for p in points)


def test_reminders_follow_the_days_and_keep_their_gap_after_a_late_invitation() -> None:
    opens, closes, days = date(2025, 12, 16), date(2026, 3, 16), (0, 14, 28)
    assert next_message(opens, 0, None, days) == opens
    assert next_message(opens, 1, date(2025, 12, 16), days) == date(2025, 12, 30)
    # invitation sent late, on day 20: the first reminder waits 14 days, to 2026-01-19
    assert next_message(opens, 1, date(2026, 1, 5), days) == date(2026, 1, 19)
    assert not message_due(opens, closes, date(2026, 1, 18), 1, date(2026, 1, 5), days)
    assert message_due(opens, closes, date(2026, 1, 19), 1, date(2026, 1, 5), days)
    assert next_message(opens, 3, date(2026, 1, 19), days) is None
    assert not message_due(opens, closes, date(2026, 3, 17), 0, None, days)  # closed
