"""The study flow reconciles with Tables 1-3, on random registries and on the demo."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sijreg.analysis.cohort import StudyPeriod, build_cohort, read_registry, select_cohort
from sijreg.analysis.flow import read_screenings, study_flow
from sijreg.analysis.tables import Settings, study_tables
from sijreg.cli.app import app
from sijreg.domain.records import PatientRecord, ScreeningRecord
from sijreg.domain.screening import Status, Verdict
from sijreg.interop.protocol_file import load_protocol
from sijreg.report.charts import flow_diagram
from sijreg.report.document import build, cohort_sentence
from sijreg.store.screenings import save_screenings
from sijreg.store.writer import save_patients
from sijreg.synthetic.followup_demo import PATIENTS_PER_SITE
from sijreg.synthetic.seed_study import SITES
from tests.helpers import read_tables
from tests.seed_judge import ADVANCED, MANOEUVRES, seed_rules, seed_verdict

LOCK = date(2024, 6, 30)


def random_screening(rng: random.Random) -> dict[str, Any]:
    def maybe(*choices: Any) -> Any:
        return rng.choice([*choices, None]) if rng.random() < 0.15 else rng.choice(choices)

    return {
        "pain_below_belt_line": maybe(True, True, True, False),
        "pain_character": maybe("non_radicular", "non_radicular", "radicular"),
        **{m: maybe("positive", "positive", "negative", "not_done") for m in MANOEUVRES},
        "block_image_guided": maybe(True, True, True, False),
        "block_local_anaesthetic": maybe(True, True, True, False),
        "block_relief_pct": maybe(*(Decimal(n) / 10 for n in range(400, 1001, 7)), Decimal(50)),
        "conservative_months": maybe(Decimal("5.9"), Decimal(6), Decimal(12), Decimal(30)),
        **{a: maybe(True, False, False) for a in ADVANCED},
    }


def random_registry(seed: int) -> tuple[list[PatientRecord], list[ScreeningRecord], int]:
    """Patients, screenings (some linked, some not) and how many patients should be analysed."""
    rng = random.Random(seed)
    patients, screenings, analysed = [], [], 0
    for number in range(rng.randint(8, 30)):
        site = rng.choice(("A", "B", "C"))
        record = PatientRecord(
            site,
            {
                "study_id": f"P{number}",
                "sex": rng.choice("FM"),
                "age": rng.randint(40, 90),
                "bmi": Decimal(rng.randint(200, 400)) / 10,
                "fbss": rng.random() < 0.4,
            },
        )
        # The first patient is fused and followed: main's build_cohort cannot read a SQLite
        # registry whose first patient has no fusion complication flag or no relief yet.
        if number == 0 or rng.random() < 0.85:
            fused = LOCK - timedelta(days=rng.randint(100, 700))
            record.fusion = {"fusion_date": fused, "intraop_complication": False}
            days = 90 if number == 0 else rng.choice([None, rng.randint(1, 89), 90, 400])
            if days is not None:
                record.visits = [
                    {
                        "visit_date": fused + timedelta(days=days),
                        "pain_relief_pct": Decimal(rng.randint(0, 100)),
                    }
                ]
                analysed += days >= 90
        patients.append(record)
        if rng.random() < 0.7:
            screenings.append(
                ScreeningRecord(
                    site,
                    {"screening_number": f"S{number}", **random_screening(rng)},
                    record.study_id,
                )
            )
    for number in range(rng.randint(0, 25)):
        site = rng.choice(("A", "B", "D"))
        screenings.append(
            ScreeningRecord(site, {"screening_number": f"N{number}", **random_screening(rng)})
        )
    return patients, screenings, analysed


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_flow_counts_reconcile_with_the_tables(engine: sa.Engine, seed: int) -> None:
    patients, screenings, analysed = random_registry(seed)
    with engine.begin() as conn:
        save_patients(conn, patients)
        save_screenings(conn, screenings)
    cohort = build_cohort(engine)
    tables = study_tables(cohort, Settings())
    flow = build(tables, "test", flow=study_flow(cohort, read_screenings(engine), load_protocol()))[
        "flow"
    ]

    verdicts = [seed_verdict(seed_rules(s.values)) for s in screenings]
    failed: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    for s, verdict in zip(screenings, verdicts, strict=True):
        statuses = seed_rules(s.values)
        if verdict is Verdict.NOT_ELIGIBLE:
            failed.update(k for k, v in statuses.items() if v is Status.NOT_MET)
        if verdict is Verdict.INCOMPLETE:
            missing.update(k for k, v in statuses.items() if v is Status.MISSING)
    linked = Counter(v for s, v in zip(screenings, verdicts, strict=True) if s.study_id)
    counts = Counter(verdicts)

    assert flow["analysed"] == flow["followed"] == tables.table1.n == analysed
    assert flow["screened"] == len(screenings)
    assert flow["eligible"] == counts[Verdict.ELIGIBLE]
    assert flow["not_eligible"]["n"] == counts[Verdict.NOT_ELIGIBLE]
    assert flow["incomplete"]["n"] == counts[Verdict.INCOMPLETE]
    assert {k: c["n"] for k, c in flow["not_eligible"]["by_criterion"].items()} == dict(failed)
    assert {k: c["n"] for k, c in flow["incomplete"]["by_criterion"].items()} == dict(missing)
    enrolled = flow["enrolled"]
    assert enrolled["n"] == len(patients)
    assert enrolled["eligible_at_screening"] == linked[Verdict.ELIGIBLE]
    assert enrolled["not_eligible_at_screening"] == linked[Verdict.NOT_ELIGIBLE]
    assert enrolled["incomplete_screening"] == linked[Verdict.INCOMPLETE]
    assert enrolled["without_screening_record"] == sum(
        1 for p in patients if p.study_id not in {s.study_id for s in screenings}
    )
    assert flow["eligible_not_enrolled"] == counts[Verdict.ELIGIBLE] - linked[Verdict.ELIGIBLE]
    assert (
        flow["fused"]
        == sum(1 for p in patients if p.fusion)
        == enrolled["n"] - flow["not_fused"]["n"]
    )
    assert flow["fused"] - sum(e["n"] for e in flow["not_followed"].values()) == flow["analysed"]
    figure = flow_diagram(flow)
    for text in (
        f"Screened: {len(screenings)}",
        f"Enrolled without a screening record: {enrolled['without_screening_record']}",
        f"Enrolled (registered): {len(patients)}",
        f"analysed (Tables 1-3): {analysed}",
    ):
        assert text in figure


def test_the_demo_report_has_the_flow_and_unchanged_tables(
    database_url: str, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    result = CliRunner().invoke(app, ["demo", "--database", database_url, "--out", str(out)])
    assert result.exit_code == 0, result.output
    document = read_tables(out)
    flow = document["flow"]
    assert (flow["screened"], flow["eligible"], flow["eligible_not_enrolled"]) == (142, 120, 3)
    assert (flow["not_eligible"]["n"], flow["incomplete"]["n"]) == (16, 6)
    assert flow["not_eligible"]["by_criterion"]["block_relief"]["n"] == 5
    # The recent follow-up cohort is enrolled without a screening record and left out as
    # fused after the seed study's period.
    recent = PATIENTS_PER_SITE * len(SITES)
    assert flow["enrolled"] == {
        "n": 117 + recent,
        "eligible_at_screening": 117,
        "not_eligible_at_screening": 0,
        "incomplete_screening": 0,
        "without_screening_record": recent,
    }
    assert flow["not_followed"]["outside_period"]["n"] == recent
    assert (flow["fused"], flow["analysed"]) == (116 + recent, 111)
    assert document["table1"]["n"] == 111
    # The seed paper's figures, as the tables showed them before the screening log existed.
    rows = document["table1"]["rows"]
    assert rows["age"]["display"] == "69.8 ± 9.0"
    assert rows["bmi"]["display"] == "30.6 ± 6.2"
    assert rows["prior_scs"]["display"] == "76 (68.5%)"
    assert rows["followup_days"]["display"] == "290.9 ± 195.7"
    assert document["table2"]["rows"]["pain_relief_pct"]["display"] == "67.6% ± 28.9%"
    assert document["table2"]["rows"]["responders_80"]["display"] == "52 (46.8%)"
    assert document["table3"]["panels"]["yes"]["rows"]["responders_50"]["display"] == "47 (92.2%)"
    html = (out / "report.html").read_text(encoding="utf-8")
    figure = html[html.index('<figure id="flow">') :]
    assert "<svg" in figure[:200]
    for text in (
        "Screened: 142",
        "Eligible: 120",
        f"Enrolled (registered): {117 + recent}",
        f"Fused: {116 + recent}",
        f"Left out, a fusion outside the study period (fusions up to 2021-04-30): {recent}",
        "analysed (Tables 1-3): 111",
    ):
        assert text in figure
    markdown = (out / "tables.md").read_text(encoding="utf-8")
    assert "- **Screened: 142**" in markdown


@pytest.mark.parametrize("seed", [4, 5, 6])
def test_a_study_period_leaves_out_the_fusions_outside_it(engine: sa.Engine, seed: int) -> None:
    """Patients fused outside the period are left out for that reason, counted by hand."""
    patients, screenings, _ = random_registry(seed)
    with engine.begin() as conn:
        save_patients(conn, patients)
        save_screenings(conn, screenings)
    start, end = LOCK - timedelta(days=500), LOCK - timedelta(days=250)
    period = StudyPeriod(start, end)
    cohort = select_cohort(read_registry(engine), 90, period)
    tables = study_tables(cohort, Settings(period=period))
    document = build(
        tables, "test", flow=study_flow(cohort, read_screenings(engine), load_protocol())
    )
    outside = analysed = 0
    for p in patients:
        fused = p.fusion_date
        if fused is None:
            continue
        if not start <= fused <= end:
            outside += 1
            continue
        days = [v["visit_date"] for v in p.visits]
        assert all(isinstance(d, date) for d in days)
        analysed += any((d - fused).days >= 90 for d in days if isinstance(d, date))
    flow = document["flow"]
    assert flow["not_followed"]["outside_period"]["n"] == outside
    assert flow["analysed"] == tables.table1.n == analysed
    assert flow["fused"] - sum(e["n"] for e in flow["not_followed"].values()) == analysed
    assert document["settings"]["study_period"] == {
        "fused_from": start.isoformat(),
        "fused_until": end.isoformat(),
        "text": f"fusions from {start} to {end}",
    }
    assert f"Study period: fusions from {start} to {end}." in cohort_sentence(document)


def test_a_study_period_must_not_end_before_it_starts() -> None:
    with pytest.raises(ValueError, match="ends"):
        StudyPeriod(date(2021, 1, 2), date(2021, 1, 1))
