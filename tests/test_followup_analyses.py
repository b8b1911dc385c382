"""Person-time, the outcome at a fixed time point and the >= 12-month sensitivity analysis,
against a reference computed here from the generated records with NumPy and SciPy.

Visits are put on the window's and the threshold's edge days on purpose: day 273/274 and
547/548 around the 12-month window (9 and 18 months = 273.9375 and 547.875 days), and
last follow-ups on days 365 and 366 around 12 months (365.25 days).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from scipy import stats

from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.methods import ProportionMethod
from sijreg.analysis.tables import Settings, study_tables
from sijreg.cli.analysis import analysis_settings
from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord
from sijreg.report.document import build
from sijreg.report.grids import all_grids
from sijreg.report.options import Options
from tests.cohorts import analysed, random_registry, store

MONTH = 30.4375
EDGE_DAYS = ((273, 600), (274, 600), (547, 600), (548, 600), (365,), (366,))


def _at_days(record: PatientRecord, days: tuple[int, ...]) -> None:
    """Keep the visits on or before the fusion, then one visit (with relief) on each day."""
    fusion = record.fusion_date
    assert fusion is not None
    before = [v for v in record.visits if v["visit_date"] <= fusion]  # type: ignore[operator]
    after = [
        {
            "visit_date": fusion + timedelta(days=day),
            "pain_relief_pct": dd.field("pain_relief_pct").parse(str(10 + 12 * i + day % 7)),
        }
        for i, day in enumerate(days)
    ]
    record.visits[:] = [*before, *after]


def _registry(seed: int) -> list[PatientRecord]:
    records = random_registry(seed, n=90, sites=3)
    fused = [r for r in records if r.fusion_date is not None]
    for record, days in zip(fused, EDGE_DAYS, strict=False):
        _at_days(record, days)
    return records


def _mean_sd(values: list[float]) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values, ddof=1))


def _check_table(table: dict[str, Any], relief: list[float | None], days: list[int] | None) -> None:
    """Table 2 rows (and follow-up days) of a group whose relief values are ``relief``."""
    assert table["n"] == len(relief)
    known = [r for r in relief if r is not None]
    row = table["rows"]["pain_relief_pct"]
    assert (row["n"], row["missing"]) == (len(known), len(relief) - len(known))
    mean, sd = _mean_sd(known)
    assert row["mean"] == pytest.approx(mean, abs=1e-9)
    assert row["sd"] == pytest.approx(sd, abs=1e-9)
    low, high = stats.t.interval(0.95, len(known) - 1, loc=mean, scale=stats.sem(known))
    assert (row["ci_low"], row["ci_high"]) == pytest.approx((low, high), abs=1e-9)
    for t in (30, 50, 80):
        count = table["rows"][f"responders_{t}"]
        assert count["count"] == sum(1 for r in known if r >= t)
        assert count["percent"] == pytest.approx(100 * count["count"] / count["n"], abs=1e-9)
    if days is not None:
        row = table["rows"]["followup_days"]
        assert row["n"] == len(days)
        assert (row["mean"], row["sd"]) == pytest.approx(_mean_sd([float(d) for d in days]))


def _window_visit(p: dict[str, Any], lo: float, hi: float, centre: float) -> Any:
    inside = [v for v in p["visits"] if lo <= v["day"] < hi]  # real bounds, whole days
    return min(inside, key=lambda v: (abs(v["day"] - centre), v["day"])) if inside else None


@pytest.mark.parametrize("seed", [4, 17])
def test_person_time_outcome_at_and_sensitivity_match_a_reference(
    engine: sa.Engine, seed: int
) -> None:
    records = _registry(seed)
    store(engine, records)
    settings = analysis_settings(Settings(), ProportionMethod.WILSON, None, None, outcome_at=12)
    document = build(study_tables(build_cohort(engine), settings), "test", Options(ci=True))
    patients = analysed(records)

    days = [p["followup_days"] for p in patients]
    time = document["follow_up"]
    assert (time["patients"], time["person_days"]) == (len(patients), sum(days))
    assert time["person_years"] == pytest.approx(sum(days) / 365.25, abs=1e-12)

    at = document["outcome_at"]
    assert (at["months"], at["start_day"], at["end_day"]) == (12, 274, 548)
    chosen = [_window_visit(p, 9 * MONTH, 18 * MONTH, 12 * MONTH) for p in patients]
    chosen = [v for v in chosen if v is not None]
    assert {v["day"] for v in chosen} >= {274, 547}
    assert not {v["day"] for v in chosen} & {273, 548}
    _check_table(at["table"], [v["pain_relief_pct"] for v in chosen], None)
    window = document["over_time"]["windows"]["m12"]["measures"]["pain_relief_pct"]
    assert window["n"] == at["table"]["rows"]["pain_relief_pct"]["n"]  # the same visits

    only = document["sensitivity"]
    assert (only["min_followup_months"], only["min_followup_days"]) == (12, 366)
    followed = [p for p in patients if p["followup_days"] >= 12 * MONTH]
    assert 366 in {p["followup_days"] for p in followed}
    assert 365 in {p["followup_days"] for p in patients} - {p["followup_days"] for p in followed}
    _check_table(
        only["table"], [p["relief"] for p in followed], [p["followup_days"] for p in followed]
    )

    grids = {g.key: g for g in all_grids(document)}
    assert grids["outcome_at"].columns[2] == f"At 12 months (n = {len(chosen)})"
    assert grids["sensitivity"].columns[2] == f"Followed ≥ 12 months (n = {len(followed)})"
    assert grids["follow_up"].rows[2][1].endswith(f"({sum(days):,} person-days)")


def test_outcome_at_must_be_a_window_and_is_optional() -> None:
    with pytest.raises(ValueError, match="--outcome-at 9: not a visit-window centre"):
        analysis_settings(Settings(), ProportionMethod.WILSON, None, None, outcome_at=9)
    chosen = analysis_settings(Settings(), ProportionMethod.WILSON, None, [9, 3], outcome_at=9)
    assert (chosen.windows, chosen.outcome_at) == ((3, 9), 9)
