"""tables.json agrees with an independent computation, at the edges where rounding bites.

The reference here is written without sijreg's statistics: Python's ``statistics``
over Decimals with 50 digits, then Decimal's ROUND_HALF_UP.
"""

from __future__ import annotations

import statistics
import tempfile
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sijreg.domain.records import PatientRecord
from sijreg.store.database import open_database
from sijreg.store.writer import save_patients
from tests.conftest import reset_postgres
from tests.helpers import read_tables, run

FUSION = date(2020, 1, 1)
EDGE_RELIEFS = [Decimal(x) for x in ("0", "29.9", "30", "49.9", "50", "79.9", "80", "100")]


@dataclass
class Patient:
    site: str
    sex: str | None
    age: int | None
    bmi: Decimal | None
    fbss: bool | None
    relief: Decimal | None
    days: int


def _record(number: int, p: Patient) -> PatientRecord:
    return PatientRecord(
        site_code=p.site,
        patient={
            "study_id": f"P{number}",
            "sex": p.sex,
            "age": p.age,
            "bmi": p.bmi,
            "fbss": p.fbss,
        },
        fusion={"fusion_date": FUSION},
        prior_procedures=[{"procedure": "scs"}] if number % 3 else [{"procedure": "iss"}],
        visits=[{"visit_date": FUSION + timedelta(days=p.days), "pain_relief_pct": p.relief}],
    )


def _half_up(value: Decimal) -> str:
    return str(value.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))


def _mean_sd(values: list[Decimal]) -> str:
    with localcontext() as ctx:
        ctx.prec = 50
        mean = sum(values, Decimal(0)) / len(values)
        if len(values) < 2:
            return _half_up(mean)
        variance = sum(((v - mean) ** 2 for v in values), Decimal(0)) / (len(values) - 1)
        return f"{_half_up(mean)} ± {_half_up(variance.sqrt())}"


def _percent(count: int, n: int) -> str:
    with localcontext() as ctx:
        ctx.prec = 50
        return f"{count} ({_half_up(Decimal(100 * count) / n)}%)"


def _check(document: dict, cohort: list[Patient]) -> None:  # type: ignore[type-arg]
    analysed = [p for p in cohort if p.days >= 90]
    n = len(analysed)
    t1, t2 = document["table1"]["rows"], document["table2"]["rows"]
    assert document["table1"]["n"] == n
    ages = [Decimal(p.age) for p in analysed if p.age is not None]
    if ages:
        assert t1["age"]["display"] == _mean_sd(ages)
        assert t1["age"]["mean"] == pytest.approx(float(statistics.mean(ages)))
    assert t1["age"]["missing"] == n - len(ages)
    bmis = [p.bmi for p in analysed if p.bmi is not None]
    if bmis:
        assert t1["bmi"]["display"] == _mean_sd(bmis)
    females = sum(p.sex == "F" for p in analysed)
    assert t1["sex.F"]["display"] == _percent(females, n)
    assert t1["sex.F"]["missing"] == sum(p.sex is None for p in analysed)
    assert t1["fbss"]["display"] == _percent(sum(bool(p.fbss) for p in analysed), n)
    reliefs = [p.relief for p in analysed if p.relief is not None]
    if len(reliefs) > 1:
        mean_sd = _mean_sd(reliefs).split(" ± ")
        assert t2["pain_relief_pct"]["display"] == f"{mean_sd[0]}% ± {mean_sd[1]}%"
        assert t2["pain_relief_pct"]["sd"] == pytest.approx(float(statistics.stdev(reliefs)))
    for threshold in (30, 50, 80):
        hits = sum(r >= threshold for r in reliefs)
        row = t2[f"responders_{threshold}"]
        assert (row["count"], row["n"]) == (hits, n)
        assert row["display"] == _percent(hits, n)
    days = [Decimal(p.days) for p in analysed]
    if len(days) > 1:
        assert t1["followup_days"]["display"] == _mean_sd(days)
    fbss = [p for p in analysed if p.fbss]
    panel = document["table3"]["panels"]["yes"]
    assert panel["n"] == len(fbss)
    fbss_hits = sum(p.relief is not None and p.relief >= 80 for p in fbss)
    assert panel["rows"]["responders_80"]["count"] == fbss_hits
    excluded = document["cohort"]["excluded"]["short_followup"]["n"]
    assert excluded == len(cohort) - n


def _report(database: str, cohort: list[Patient], out: Path) -> dict:  # type: ignore[type-arg]
    engine = open_database(database)
    with engine.begin() as conn:
        save_patients(conn, [_record(i, p) for i, p in enumerate(cohort)])
    engine.dispose()
    result = run("report", "-d", database, "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    return read_tables(out)


reliefs = st.one_of(
    st.sampled_from(EDGE_RELIEFS), st.decimals(min_value=0, max_value=100, places=1), st.none()
)
patients = st.builds(
    Patient,
    site=st.sampled_from(["A", "B", "C"]),
    sex=st.sampled_from(["F", "M", None]),
    age=st.one_of(st.integers(18, 110), st.none()),
    bmi=st.one_of(st.decimals(min_value=15, max_value=60, places=1), st.none()),
    fbss=st.sampled_from([True, False, None]),
    relief=reliefs,
    days=st.one_of(st.just(90), st.just(89), st.integers(91, 1500)),
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(patients, min_size=2, max_size=40).filter(lambda c: sum(p.days >= 90 for p in c) >= 2)
)
def test_random_cohorts_agree_with_an_independent_computation(cohort: list[Patient]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check(_report(str(Path(folder) / "r.db"), cohort, Path(folder) / "out"), cohort)


def test_percentages_and_means_on_the_half(database_url: str, tmp_path: Path) -> None:
    """3 of 16 is 18.75% -> 18.8; 1 of 80 is 1.25% -> 1.3; a mean of 12.25 -> 12.3."""
    cohort = [Patient("A", "F", 60, None, True, Decimal("80"), 100) for _ in range(3)]
    cohort += [
        Patient("A", "M", 60, None, False, Decimal("12.2") if i % 2 else Decimal("12.3"), 100)
        for i in range(13)
    ]
    document = _report(database_url, cohort, tmp_path / "out")
    rows = document["table2"]["rows"]
    assert rows["responders_80"]["display"] == "3 (18.8%)"
    assert format(18.75, ".1f") == "18.8"
    assert format(1.25, ".1f") == "1.2"
    _check(document, cohort)
    one_of_80 = [Patient("A", "F", 60, None, None, Decimal(80), 100)] + [
        Patient("A", "F", 60, None, None, Decimal(10), 100) for _ in range(79)
    ]
    other = _report(str(tmp_path / "b.db"), one_of_80, tmp_path / "out2")
    assert other["table2"]["rows"]["responders_80"]["display"] == "1 (1.3%)"
    two = [
        Patient("A", "F", 60, None, None, Decimal("12.2"), 100),
        Patient("A", "F", 60, None, None, Decimal("12.3"), 100),
    ]
    mean = _report(str(tmp_path / "c.db"), two, tmp_path / "out3")
    assert mean["table2"]["rows"]["pain_relief_pct"]["display"].startswith("12.3% ± ")
    assert format((12.2 + 12.3) / 2, ".1f") == "12.2"  # what naive formatting would print


def test_exclusions_and_missing_values_are_counted(database_url: str, tmp_path: Path) -> None:
    engine = open_database(database_url)
    records = [
        _record(1, Patient("A", None, None, None, None, None, 120)),
        _record(2, Patient("A", "F", 70, Decimal(30), True, Decimal(50), 30)),
    ]
    unfused = _record(3, Patient("A", "M", 70, None, False, None, 200))
    unfused.fusion = None
    unseen = _record(4, Patient("B", "M", 70, None, False, None, 200))
    unseen.visits = []
    with engine.begin() as conn:
        save_patients(conn, [*records, unfused, unseen])
    engine.dispose()
    result = run("report", "-d", database_url, "-o", str(tmp_path / "o"))
    document = read_tables(tmp_path / "o")
    assert document["cohort"] == {
        "registered": 4,
        "analysed": 1,
        "excluded": {
            "no_fusion": {"label": "no index fusion recorded", "n": 1},
            "no_followup": {"label": "no follow-up visit after the fusion", "n": 1},
            "short_followup": {
                "label": "the last follow-up less than 90 days after the fusion",
                "n": 1,
            },
        },
    }
    rows = document["table1"]["rows"]
    assert (rows["age"]["missing"], rows["sex.F"]["missing"], rows["fbss"]["missing"]) == (1, 1, 1)
    assert document["table2"]["rows"]["pain_relief_pct"]["missing"] == 1
    assert "Missing" in result.output


def test_options_change_the_cohort_thresholds_and_subgroup(tmp_path: Path) -> None:
    cohort = [
        Patient("A", "F", 60, None, True, Decimal(r), d)
        for r, d in (("33", 60), ("45", 100), ("70", 200), ("90", 400))
    ]
    database = str(tmp_path / "r.db")
    _report(database, cohort, tmp_path / "o")
    result = run(
        "report",
        "-d",
        database,
        "-o",
        str(tmp_path / "o2"),
        "--min-followup-days",
        "50",
        "-t",
        "33",
        "-t",
        "70",
        "--subgroup",
        "site",
    )
    assert result.exit_code == 0, result.output
    document = read_tables(tmp_path / "o2")
    assert document["table1"]["n"] == 4
    assert document["table2"]["rows"]["responders_33"]["count"] == 4
    assert document["table2"]["rows"]["responders_70"]["count"] == 2
    assert list(document["table3"]["panels"]) == ["A"]
    bad = run("report", "-d", database, "--subgroup", "age")
    assert bad.exit_code == 1
    assert "cannot split by 'age'" in bad.output


def test_postgres_and_sqlite_give_identical_documents(
    tmp_path: Path, postgres_server: sa.URL
) -> None:
    cohort = [
        Patient(
            "A" if i % 2 else "B",
            "F" if i % 3 else "M",
            50 + i,
            Decimal(20 + i),
            i % 2 == 0,
            Decimal(i * 7 % 101),
            90 + i * 13,
        )
        for i in range(30)
    ]
    reset_postgres(postgres_server)
    pg = _report(postgres_server.render_as_string(hide_password=False), cohort, tmp_path / "pg")
    lite = _report(str(tmp_path / "l.db"), cohort, tmp_path / "lite")
    heads = []
    for document in (pg, lite):
        document.pop("database")
        heads.append(document["provenance"].pop("audit_head"))  # its entries carry their times
    assert pg == lite
    assert heads[0]["entry"] == heads[1]["entry"] > 0


def test_a_registry_where_nobody_has_two_prior_procedures(tmp_path: Path) -> None:
    """A constant condition (no combination to list) must not break Table 1."""
    cohort = [Patient("A", "F", 60, None, True, Decimal(50), 100) for _ in range(3)]
    document = _report(str(tmp_path / "r.db"), cohort, tmp_path / "out")
    assert document["table1"]["rows"]["prior_two_or_more"]["display"] == "0 (0.0%)"
