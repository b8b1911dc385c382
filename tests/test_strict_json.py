"""tables.json is strict JSON: an undefined figure (a share of an empty group, a test on
one value) is ``null``, never a bare ``NaN`` that ``JSON.parse`` and jq reject."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa

from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.tables import Settings, study_tables
from sijreg.report.options import Options
from sijreg.report.write import write_report
from tests.cohorts import random_registry, store
from tests.helpers import read_tables


@pytest.mark.parametrize("min_cell", [None, 11])
def test_empty_subgroups_give_strict_json(
    engine: sa.Engine, tmp_path: Path, min_cell: int | None
) -> None:
    records = random_registry(5, n=30, sites=2)
    for record in records:  # nobody with FBSS, no men: empty Table 3 panel and groups
        record.patient["fbss"] = False
        record.patient["sex"] = "F"
    store(engine, records)
    tables = study_tables(build_cohort(engine), Settings(compare=("fbss", "sex", "prior_mild")))
    write_report(tables, tmp_path / "out", "test", Options(ci=True, min_cell=min_cell))
    document = read_tables(tmp_path / "out")
    empty = document["responders"]["by_subgroup"]["yes"]
    assert empty["n"] == 0
    assert empty["share"] == [None] * 101
    assert empty["ci_low"] == [None] * 101
    assert document["table3"]["panels"]["yes"]["n"] == 0
    assert document["table3"]["panels"]["yes"]["rows"]["pain_relief_pct"]["mean"] is None
    assert list(document["comparisons"]["sex"]["groups"]) == ["F"]  # empty groups left out


def test_a_cohort_of_one_patient_gives_strict_json(engine: sa.Engine, tmp_path: Path) -> None:
    store(engine, random_registry(9, n=1, sites=1))
    tables = study_tables(build_cohort(engine), Settings(compare=("fbss", "site")))
    assert tables.cohort.n == 1
    for min_cell in (None, 11):
        out = tmp_path / f"out{min_cell}"
        write_report(tables, out, "test", Options(ci=True, min_cell=min_cell))
        read_tables(out)
