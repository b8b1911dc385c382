"""Data queries: a monitor's question about one field of one record, and how it moves.

An EDC's data resolution workflow as pure rules: a query is raised open; the site
answers it (or corrects the value, which answers it); the monitor closes it, or
re-opens it with a new message. Who may take each step is the store's concern
(roles live there); which step fits which state is stated here once.
"""

from __future__ import annotations

from enum import StrEnum

from sijreg.domain.types import Field, Kind


class QueryState(StrEnum):
    OPEN = "open"
    ANSWERED = "answered"
    CLOSED = "closed"

    @property
    def label(self) -> str:
        return {"open": "Open", "answered": "Answered", "closed": "Closed"}[self.value]


class Step(StrEnum):
    RAISE = "raise"
    ANSWER = "answer"
    CORRECT = "correct"
    CLOSE = "close"
    REOPEN = "reopen"

    @property
    def label(self) -> str:
        return STEP_LABELS[self]


STEP_LABELS = {
    Step.RAISE: "Query raised",
    Step.ANSWER: "Query answered",
    Step.CORRECT: "Value corrected",
    Step.CLOSE: "Query closed",
    Step.REOPEN: "Query re-opened",
}

MOVES: dict[Step, tuple[frozenset[QueryState], QueryState]] = {
    Step.ANSWER: (frozenset({QueryState.OPEN}), QueryState.ANSWERED),
    Step.CORRECT: (frozenset({QueryState.OPEN}), QueryState.ANSWERED),
    Step.CLOSE: (frozenset({QueryState.OPEN, QueryState.ANSWERED}), QueryState.CLOSED),
    Step.REOPEN: (frozenset({QueryState.ANSWERED, QueryState.CLOSED}), QueryState.OPEN),
}
"""For each step after raising: the states it may start from, and the state it leads to."""


class WrongState(ValueError):
    """A step that does not fit the query's state (closing a closed query, say)."""


def next_state(step: Step, state: QueryState) -> QueryState:
    """The state after ``step``, or :class:`WrongState` saying why it cannot be taken."""
    allowed, after = MOVES[step]
    if state not in allowed:
        raise WrongState(f"a query that is {state.label.lower()} cannot be {_done(step)}")
    return after


def _done(step: Step) -> str:
    return {"answer": "answered", "correct": "corrected", "close": "closed"}.get(
        step.value, "re-opened"
    )


MESSAGE = Field(
    "message",
    "Message",
    Kind.TEXT,
    required=True,
    max_length=1000,
    description="The query's question or the site's answer; it stays at the site "
    "(never in a report or export), so it names no patient.",
)
