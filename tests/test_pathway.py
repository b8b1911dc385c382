"""The care-pathway view: timeline, flags from the protocol's rules, and the patient's standing."""

from __future__ import annotations

from bisect import bisect_left
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sijreg.domain.pathway import care_pathway, injection_flag, rfa_flag
from sijreg.domain.protocol import PathwayRules
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.screening import DISCLAIMER
from sijreg.interop.protocol_file import load_protocol
from tests.protocol_edits import edited

START = date(2019, 1, 10)
RULES = PathwayRules(steroid_injection_max=3, steroid_injection_window_days=365)


def days(*offsets: int) -> list[date]:
    return [START + timedelta(days=d) for d in offsets]


@pytest.mark.parametrize(
    ("offsets", "flagged"),
    [
        ((0, 100, 200), ()),
        ((0, 100, 200, 364), (0, 100, 200, 364)),
        ((0, 100, 200, 365), ()),  # the window is 365 days from an injection: day 365 is outside
        ((0, 200, 300, 400), ()),  # never 4 within 365 days
        ((0, 10, 20, 30, 500), (0, 10, 20, 30)),
        ((0, 400, 410, 420, 430), (400, 410, 420, 430)),
    ],
)
def test_more_than_three_injections_in_any_365_days_are_flagged(
    offsets: tuple[int, ...], flagged: tuple[int, ...]
) -> None:
    text, dates = injection_flag(days(*offsets), RULES)
    assert dates == set(days(*flagged))
    assert bool(text) == bool(flagged)
    if flagged:
        assert text.startswith(f"{len(flagged)} steroid SIJ injections within 365 days")
        assert "at most 3" in text


def test_repeated_rfa_is_flagged_with_its_intervals() -> None:
    rules = PathwayRules(rfa_max_without_flag=1)
    assert rfa_flag(days(0), rules) == ("", [])
    text, intervals = rfa_flag(days(0, 340, 740), rules)
    assert intervals == [340, 400]
    assert text.startswith("RFA repeated: 3 treatments, 340, 400 days apart")
    assert rfa_flag(days(0, 340), PathwayRules()) == ("", [340])


def patient(injections: list[date], rfas: list[date]) -> PatientRecord:
    fusion = date(2021, 3, 1)
    procedures: list[Values] = [
        {"procedure": "physical_therapy", "procedure_date": START, "duration_months": 9},
        {"procedure": "scs", "procedure_year": 2016},
    ]
    for code, dates in (("sij_steroid_injection", injections), ("rfa", rfas)):
        procedures += [{"procedure": code, "procedure_date": d} for d in dates]
    return PatientRecord(
        "S01",
        {"study_id": "P-1"},
        fusion={"fusion_date": fusion, "side": "left"},
        prior_procedures=procedures,
        visits=[
            {"visit_date": fusion - timedelta(days=10), "nrs_pain": 8},
            {"visit_date": fusion + timedelta(days=95), "pain_relief_pct": Decimal("70.0")},
        ],
    )


def test_the_pathway_orders_events_flags_and_states_where_the_patient_stands() -> None:
    record = patient(days(30, 60, 90, 120), days(400, 700))
    screening: Values = {
        "screening_date": date(2021, 1, 5),
        "pain_below_belt_line": True,
        "pain_character": "non_radicular",
        "block_relief_pct": Decimal("50.0"),
    }
    view = care_pathway(record, load_protocol(), screening, "S01/SCR-9")
    stages = [s.stage for s in view.steps]
    assert stages[0] == "advanced intervention"  # 2016: only the year is known
    assert stages[-1] == "follow-up"
    assert stages.index("baseline") < stages.index("fusion") < stages.index("follow-up")
    placed = [s.when or date(s.year or 1, 1, 1) for s in view.steps]
    assert placed == sorted(placed)
    assert len(view.flags) == 2
    assert sum(1 for s in view.steps if s.flag.startswith("4 steroid SIJ injections")) == 4
    assert "repeat, 300 days after the last" in " ".join(s.text for s in view.steps)
    assert view.standing[0].startswith(
        "Screening S01/SCR-9 under seed-study-2021 version 1: not eligible: not met: "
        "More than 50% pain relief after the diagnostic block (50.0%)"
    )
    assert (
        view.standing[1]
        == "Fused on 2021-03-01; last follow-up 2021-06-04, 95 days after the fusion."
    )
    assert view.disclaimer == DISCLAIMER
    assert "not medical advice" in view.as_dict()["disclaimer"]


def test_pathway_rules_are_protocol_data(tmp_path: Path) -> None:
    record = patient(days(30, 60, 90, 120), days(400, 700))
    lenient = load_protocol(
        edited(
            tmp_path,
            ("steroid_injection_max = 3", "steroid_injection_max = 4"),
            ("rfa_max_without_flag = 1", "rfa_max_without_flag = 2"),
        )
    )
    view = care_pathway(record, lenient)
    assert view.flags == ()
    assert view.standing[-1] == "Care-pathway rules: nothing flagged."
    assert view.standing[0].startswith("No screening record is linked to this patient")


@settings(max_examples=200, deadline=None)
@given(
    offsets=st.lists(st.integers(0, 2000), max_size=12),
    most=st.integers(1, 5),
    window=st.integers(30, 730),
)
def test_injection_flag_matches_a_sliding_window_over_sorted_dates(
    offsets: list[int], most: int, window: int
) -> None:
    dates = sorted(days(*offsets))
    ends = [bisect_left(dates, d + timedelta(days=window)) for d in dates]
    counts = [end - start for start, end in enumerate(ends)]
    busiest = max(counts, default=0)
    text, flagged = injection_flag(
        dates, PathwayRules(steroid_injection_max=most, steroid_injection_window_days=window)
    )
    assert bool(text) == (busiest > most)
    if busiest > most:
        first = counts.index(busiest)
        assert flagged == set(dates[first : ends[first]])
        assert text.startswith(f"{busiest} steroid SIJ injections within {window} days")
    else:
        assert flagged == set()
