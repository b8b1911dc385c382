"""The report's figures, drawn from real reports: what they name and what they leave out."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.tables import Settings, study_tables
from sijreg.report import charts
from sijreg.report.document import build
from sijreg.store.database import open_database
from tests.cohorts import random_registry, store


@pytest.mark.parametrize("sites", [5, charts.LABELLED_SITES + 5])
def test_site_figure_names_sites_only_while_readable(tmp_path: Path, sites: int) -> None:
    engine = open_database(str(tmp_path / "registry.db"))
    store(engine, random_registry(3, n=30 * sites, sites=sites))
    document = build(study_tables(build_cohort(engine), Settings()), "test")
    engine.dispose()
    with_mean = [
        code for code, row in document["sites"]["rows"].items() if row["relief"]["mean"] is not None
    ]
    assert len(with_mean) > 2
    figure = charts.site_forest(document)
    named = [code for code in with_mean if re.search(rf"\b{code} \(n = ", figure)]
    if len(with_mean) <= charts.LABELLED_SITES:
        assert named == with_mean
    else:
        assert named == []
        assert f"ordered by mean ({len(with_mean)} sites" in figure
