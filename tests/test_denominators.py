"""Every figure says what it is a share or a mean of: the relief mean names its own n (the
values, as the paper's "(n=111)"), and every table states its denominator."""

from __future__ import annotations

import sqlalchemy as sa

from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.tables import Settings, study_tables
from sijreg.report.document import build
from tests.cohorts import analysed, random_registry, store


def _records_with_missing_relief(seed: int, n: int) -> list:  # type: ignore[type-arg]
    records = random_registry(seed, n=n, sites=2)
    for record in records[::4]:  # the last visit of every fourth patient without relief
        record.visits[-1]["pain_relief_pct"] = None
    return records


def test_the_relief_label_names_the_number_of_values(engine: sa.Engine) -> None:
    records = _records_with_missing_relief(31, 60)
    store(engine, records)
    expected = analysed(records)
    known = sum(p["relief"] is not None for p in expected)
    assert 0 < known < len(expected)
    document = build(study_tables(build_cohort(engine), Settings()), "test")
    row = document["table2"]["rows"]["pain_relief_pct"]
    assert row["n"] == known
    assert row["label"].endswith(f"mean (n={known})")
    fbss = [p for p in expected if p["fbss"]]
    panel = document["table3"]["panels"]["yes"]["rows"]["pain_relief_pct"]
    assert panel["label"].endswith(f"mean (n={sum(p['relief'] is not None for p in fbss)})")
