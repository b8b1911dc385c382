"""Plausibility checks: values that keep every rule but deserve a second look.

Unlike :mod:`sijreg.domain.rules`, nothing here is refused; a site's data checks list
these as warnings so the coordinator confirms or corrects them (the data-quality
review an EDC runs before a monitor raises queries).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import pairwise

from sijreg.domain.followup import in_window, window_dates
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.schedule import Window, add_months

ODI_JUMP = Decimal(50)
"""An ODI change between two consecutive visits larger than this (points, 0-100) is doubtful."""
LONG_WITHOUT_FOLLOWUP = 12
"""Months after the fusion by which a patient should have had a follow-up."""


@dataclass(frozen=True)
class Doubt:
    """One doubtful value: which record (form and position), which field, and why."""

    form: str
    index: int
    field: str
    message: str


def _dated_visits(record: PatientRecord) -> list[tuple[int, date, Values]]:
    dated = [(i, v["visit_date"], v) for i, v in enumerate(record.visits)]
    return sorted(
        ((i, when, v) for i, when, v in dated if isinstance(when, date)), key=lambda t: t[1]
    )


def _odi_jumps(visits: list[tuple[int, date, Values]]) -> list[Doubt]:
    found = []
    scored = [(i, when, v["odi"]) for i, when, v in visits if isinstance(v.get("odi"), Decimal)]
    for (_, before, old), (i, when, new) in pairwise(scored):
        if isinstance(old, Decimal) and isinstance(new, Decimal) and abs(new - old) > ODI_JUMP:
            found.append(
                Doubt(
                    "visit",
                    i,
                    "odi",
                    f"ODI changed by {abs(new - old)} points between {before} and {when} "
                    f"(more than {ODI_JUMP})",
                )
            )
    return found


def _windows(fused: date, windows: Sequence[Window]) -> list[tuple[date, date]]:
    return [window_dates(fused, w)[1:] for w in windows]


def patient_warnings(record: PatientRecord, today: date, windows: Sequence[Window]) -> list[Doubt]:
    """The patient's doubtful values: jumps, visits outside every window, relief against NRS."""
    found = _odi_jumps(visits := _dated_visits(record))
    fused = record.fusion_date
    if fused is None:
        return found
    spans = _windows(fused, windows)
    baseline = [v for _, _, v in visits if v.get("baseline") is True]
    base_nrs = baseline[-1].get("nrs_pain") if baseline else None
    for i, when, visit in visits:
        if visit.get("baseline") is True or when <= fused:
            continue
        early = spans and when < spans[0][0]  # an early check (6 weeks) comes before any window
        if (
            spans
            and not early
            and not any(in_window(when, opens, closes) for opens, closes in spans)
        ):
            found.append(
                Doubt("visit", i, "visit_date", f"visit on {when} is outside every window")
            )
        relief = visit.get("pain_relief_pct")
        if relief == 100 and base_nrs is not None and visit.get("nrs_pain") == base_nrs:
            found.append(
                Doubt(
                    "visit",
                    i,
                    "pain_relief_pct",
                    f"relief of 100% on {when} with pain (NRS) unchanged from baseline "
                    f"({base_nrs})",
                )
            )
    due = add_months(fused, LONG_WITHOUT_FOLLOWUP)
    followed = any(when > fused and v.get("baseline") is not True for _, when, v in visits)
    if today > due and not followed:
        found.append(
            Doubt(
                "fusion",
                0,
                "fusion_date",
                f"no follow-up since the fusion on {fused}, more than "
                f"{LONG_WITHOUT_FOLLOWUP} months ago",
            )
        )
    return found


def look_alike(record: PatientRecord) -> tuple[object, ...] | None:
    """What two records of the same site share when they may be one patient entered twice.

    Sex, age, year of birth and fusion date all the same (and known, but the year of birth).
    """
    p = record.patient
    key = (p.get("sex"), p.get("age"), p.get("birth_year"), record.fusion_date)
    return None if None in (key[0], key[1], key[3]) else key
