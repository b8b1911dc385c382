"""Where each patient's follow-up stands: one state per patient and time point.

Pure date logic over the visit windows of ``schedule``: a time point is not yet due
before its window opens; while open it is due, then invited and reminded as messages
go out, overdue once the target date and the last reminder have passed unanswered;
it is answered when a visit falls in the window, and missed (lost) when the window
closed without one. Missed time points leave the call list but count as due in
follow-up completeness.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Final

from sijreg.domain.schedule import Window, add_months

DEFAULT_REMINDER_DAYS = (0, 14, 28)
"""Days after a window opens on which the invitation, then each reminder, is sent."""


class State(StrEnum):
    NOT_YET_DUE = "not_yet_due"
    DUE = "due"
    INVITED = "invited"
    REMINDED = "reminded"
    OVERDUE = "overdue"
    ANSWERED = "answered"
    MISSED = "missed"

    @property
    def label(self) -> str:
        return STATE_LABELS[self]


STATE_LABELS = {
    State.NOT_YET_DUE: "not yet due",
    State.DUE: "due, not invited yet",
    State.INVITED: "invited",
    State.REMINDED: "reminded",
    State.OVERDUE: "overdue: call",
    State.ANSWERED: "answered",
    State.MISSED: "window closed (lost)",
}

OPEN_STATES = (State.DUE, State.INVITED, State.REMINDED, State.OVERDUE)


@dataclass(frozen=True)
class TimePoint:
    """One follow-up of one patient: its window, dates and state today."""

    months: int
    target: date
    opens: date
    closes: date
    state: State

    @property
    def counts_as_due(self) -> bool:
        """Counted in follow-up completeness: answered, or the window has closed."""
        return self.state in (State.ANSWERED, State.MISSED)


WINDOW_ENDS: Final = "both"
"""A visit on the first or the last day of a window answers it: both ends count
(``in_window``; the Polars counts of ``analysis.completeness`` use ``closed=WINDOW_ENDS``)."""


def in_window(day: date, opens: date, closes: date) -> bool:
    """The rule of an answered follow-up: a visit (from any source) dated in its window."""
    return opens <= day <= closes


def window_dates(fusion: date, window: Window) -> tuple[date, date, date]:
    """(target, opens, closes) of a follow-up after ``fusion``."""
    target = add_months(fusion, window.months)
    return (
        target,
        target - timedelta(days=window.before),
        target + timedelta(days=window.after),
    )


def time_points(
    fusion: date,
    visits: Sequence[date],
    today: date,
    windows: Sequence[Window],
    messages_sent: dict[int, int] | None = None,
    reminder_days: Sequence[int] = DEFAULT_REMINDER_DAYS,
) -> list[TimePoint]:
    """Every follow-up of a patient fused on ``fusion``, with its state on ``today``.

    ``messages_sent`` counts the invitation messages sent per time point (months).
    """
    sent = messages_sent or {}
    found = []
    for window in windows:
        try:
            target, opens, closes = window_dates(fusion, window)
        except (ValueError, OverflowError):  # past the year 9999: neither this nor a later one
            break
        if any(in_window(v, opens, closes) for v in visits):
            state = State.ANSWERED
        elif today < opens:
            state = State.NOT_YET_DUE
        elif today > closes:
            state = State.MISSED
        elif today > max(target, opens + timedelta(days=max(reminder_days, default=0))):
            state = State.OVERDUE
        elif sent.get(window.months, 0) > 1:
            state = State.REMINDED
        elif sent.get(window.months, 0) == 1:
            state = State.INVITED
        else:
            state = State.DUE
        found.append(TimePoint(window.months, target, opens, closes, state))
    return found


def next_message(
    opens: date, sent: int, last_sent: date | None, reminder_days: Sequence[int]
) -> date | None:
    """When the next message (invitation or reminder) is due; None after the last reminder.

    Day ``reminder_days[n]`` after opening, and never sooner after the previous message
    than the schedule's own gap: an invitation sent late does not bring its reminder
    the next day.
    """
    days = sorted(reminder_days)
    if sent >= len(days):
        return None
    due = opens + timedelta(days=days[sent])
    if sent and last_sent is not None:
        due = max(due, last_sent + timedelta(days=days[sent] - days[sent - 1]))
    return due


def message_due(
    opens: date,
    closes: date,
    today: date,
    sent: int,
    last_sent: date | None,
    reminder_days: Sequence[int],
) -> bool:
    """Whether the next message of an unanswered link is due today (its window open)."""
    due = next_message(opens, sent, last_sent, reminder_days)
    return due is not None and opens <= today <= closes and today >= due


def parse_reminder_days(text: str) -> tuple[int, ...]:
    """Days from ``"0,14,28"``; ValueError says why."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise ValueError(f"{text!r} is not a list of days such as 0,14,28")
    return tuple(sorted({int(p) for p in parts}))


def reminder_days_text(days: Sequence[int]) -> str:
    """The days as ``parse_reminder_days`` reads them: ``"0,14,28"``."""
    return ",".join(str(d) for d in days)


def next_due(points: Sequence[TimePoint]) -> TimePoint | None:
    """The patient's next follow-up still to be answered (open or not yet due), if any."""
    waiting = [p for p in points if p.state in OPEN_STATES or p.state is State.NOT_YET_DUE]
    return min(waiting, key=lambda p: p.target, default=None)


def summary(points: Sequence[TimePoint]) -> str:
    """A patient's follow-up in words: the next one's state, or how it ended."""
    upcoming = next_due(points)
    if upcoming is not None:
        return f"{upcoming.months} months: {upcoming.state.label}"
    answered = sum(p.state is State.ANSWERED for p in points)
    return f"finished: {answered} of {len(points)} answered"
