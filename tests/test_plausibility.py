"""Plausibility warnings: each check fires on the doubtful value and not on its neighbours."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sijreg.domain.plausibility import look_alike, patient_warnings
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.schedule import DEFAULT_WINDOWS

FUSED = date(2024, 1, 10)
TODAY = date(2024, 12, 1)


def _patient(*visits: Values, fused: date | None = FUSED) -> PatientRecord:
    return PatientRecord(
        "S01",
        {"study_id": "P-1", "sex": "F", "age": 70},
        {"fusion_date": fused} if fused else None,
        visits=[dict(v) for v in visits],
    )


def _found(record: PatientRecord, today: date = TODAY) -> list[tuple[str, int, str]]:
    return [(w.form, w.index, w.field) for w in patient_warnings(record, today, DEFAULT_WINDOWS)]


def test_an_odi_change_over_50_points_between_visits_is_doubtful() -> None:
    record = _patient(
        {"visit_date": date(2024, 1, 2), "odi": Decimal(60)},
        {"visit_date": date(2024, 4, 10), "odi": Decimal(10)},  # -50: not over 50
        {"visit_date": date(2024, 7, 10), "odi": Decimal("60.1")},  # +50.1
    )
    assert _found(record) == [("visit", 2, "odi")]
    message = patient_warnings(record, TODAY, DEFAULT_WINDOWS)[0].message
    assert message == "ODI changed by 50.1 points between 2024-04-10 and 2024-07-10 (more than 50)"


def test_a_visit_between_windows_is_doubtful_but_an_early_check_is_not() -> None:
    record = _patient(
        {"visit_date": date(2024, 2, 21)},  # 6 weeks: before the first window
        {"visit_date": date(2024, 4, 10)},  # 3 months: in its window
        {"visit_date": date(2024, 5, 20)},  # between the 3- and 6-month windows
    )
    assert _found(record) == [("visit", 2, "visit_date")]


def test_full_relief_with_pain_unchanged_from_baseline_is_doubtful() -> None:
    record = _patient(
        {"visit_date": date(2024, 1, 2), "baseline": True, "nrs_pain": 7},
        {"visit_date": date(2024, 4, 10), "pain_relief_pct": Decimal(100), "nrs_pain": 7},
        {"visit_date": date(2024, 7, 10), "pain_relief_pct": Decimal(100), "nrs_pain": 1},
    )
    assert _found(record) == [("visit", 1, "pain_relief_pct")]


def test_no_follow_up_a_year_after_the_fusion_is_doubtful() -> None:
    before = _patient({"visit_date": date(2024, 1, 2), "baseline": True})
    assert _found(before, date(2025, 1, 10)) == []  # 12 months to the day: not yet
    assert _found(before, date(2025, 1, 11)) == [("fusion", 0, "fusion_date")]
    followed = _patient({"visit_date": date(2024, 4, 10)})
    assert _found(followed, date(2026, 1, 1)) == []


def test_look_alike_patients_share_sex_age_birth_year_and_fusion_date() -> None:
    one, two = _patient(), _patient()
    assert look_alike(one) == look_alike(two) is not None
    two.patient["age"] = 71
    assert look_alike(one) != look_alike(two)
    assert look_alike(_patient(fused=None)) is None
