"""Follow-up analyses a journal reviewer asks for beside "relief at last follow-up".

* Total person-time of follow-up (STROBE 14c): the sum of the analysed patients'
  days from fusion to last follow-up, also in person-years of 365.25 days.
* A fixed-time-point outcome: relief at the visit a patient has in one visit window
  (the window around ``months``, by the rule in analysis.visits), as in Table 2.
* A sensitivity analysis: Table 2 and follow-up time among the patients followed at
  least ``months`` months (last follow-up on or after day ceil(months x 30.4375),
  the same whole-day rule as the windows).
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import polars as pl

from sijreg.analysis import describe, visits
from sijreg.analysis.cohort import Cohort
from sijreg.analysis.tables import Table, followup_row, outcome_rows
from sijreg.analysis.variables import FOLLOWUP_DAYS, RELIEF

DAYS_PER_YEAR = Fraction(36525, 100)
SENSITIVITY_MONTHS = 12
"""The sensitivity analysis keeps patients followed at least this many months."""


@dataclass(frozen=True)
class PersonTime:
    """Total follow-up of the patients with a known follow-up time."""

    patients: int
    members: int
    days: int

    @property
    def years(self) -> Fraction:
        return Fraction(self.days) / DAYS_PER_YEAR


@dataclass(frozen=True)
class OutcomeAt:
    """Relief and responders at the visit in the window around ``window.months``."""

    window: visits.Window
    table: Table


@dataclass(frozen=True)
class Sensitivity:
    """Table 2 and follow-up among patients followed at least ``months`` months."""

    months: int
    min_days: int
    table: Table


def person_time(frame: pl.DataFrame) -> PersonTime:
    known = pl.col(FOLLOWUP_DAYS.name).is_not_null()
    days = frame.select(pl.col(FOLLOWUP_DAYS.name).sum()).item()
    patients = frame.select(known.sum()).item()
    return PersonTime(int(patients), describe.members(frame, known), int(days or 0))


def outcome_at(
    cohort: Cohort, months: int, centres: tuple[int, ...], thresholds: tuple[Fraction, ...]
) -> OutcomeAt:
    """Table 2 at the visit in the window around ``months`` (one of ``centres``): its n
    are the patients with a visit in that window."""
    window = next((w for w in visits.windows(centres) if w.months == months), None)
    if window is None:
        raise ValueError(f"{months} months is not one of the visit windows {centres}")
    chosen = visits.in_window(cohort.visits, window).select("patient_id", RELIEF.name)
    frame = cohort.frame.drop(RELIEF.name).join(chosen, on="patient_id", how="inner")
    title = (
        f"Clinical outcomes at {months} months (visit on days "
        f"{window.start_day}-{window.end_day - 1} after the fusion)"
    )
    rows = tuple(outcome_rows(frame, thresholds))
    return OutcomeAt(
        window,
        Table(f"outcome_at.m{months}", title, frame.height, rows, members=describe.members(frame)),
    )


def sensitivity(
    frame: pl.DataFrame, thresholds: tuple[Fraction, ...], months: int = SENSITIVITY_MONTHS
) -> Sensitivity:
    """Table 2 and follow-up time among the patients followed at least ``months`` months."""
    min_days = visits.first_day(Fraction(months))
    part = frame.filter(pl.col(FOLLOWUP_DAYS.name) >= min_days)
    title = (
        f"Clinical outcomes in patients followed at least {months} months "
        f"(last follow-up on day {min_days} or later)"
    )
    rows = (*outcome_rows(part, thresholds), followup_row(part))
    return Sensitivity(
        months,
        min_days,
        Table("sensitivity", title, part.height, rows, members=describe.members(part)),
    )
