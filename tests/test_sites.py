"""Pooling over sites: which sites are pooled and what the report says about it."""

from __future__ import annotations

import json
import math
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import pytest
import sqlalchemy as sa
from scipy import stats
from statsmodels.stats.meta_analysis import combine_effects

from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.methods import PoolingMethod
from sijreg.analysis.sites import by_site
from sijreg.analysis.tables import Settings, study_tables
from sijreg.analysis.variables import RELIEF as RELIEF_COLUMN
from sijreg.analysis.variables import SITE
from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord
from sijreg.report import charts
from sijreg.report.document import build
from sijreg.report.grids import all_grids, site_grid
from tests.cohorts import analysed, random_registry, store

RELIEF = dd.field("pain_relief_pct")


def _set_relief(records: list[PatientRecord], site: str, value: str) -> None:
    """Every relief value of ``site``'s patients becomes ``value`` (so their SD is 0)."""
    for record in records:
        if record.site_code == site:
            for visit in record.visits:
                if "pain_relief_pct" in visit:
                    visit["pain_relief_pct"] = RELIEF.parse(value)


def _report(engine: sa.Engine, records: list[PatientRecord], **settings: Any) -> dict[str, Any]:
    store(engine, records)
    return build(study_tables(build_cohort(engine), Settings(**settings)), "test")


def test_a_site_with_sd_zero_is_left_out_and_the_note_says_why(engine: sa.Engine) -> None:
    records = random_registry(11, n=90, sites=4)
    _set_relief(records, "S2", "50.0")
    patients = analysed(records)
    relief = {
        site: [p["relief"] for p in patients if p["site"] == site and p["relief"] is not None]
        for site in sorted({p["site"] for p in patients})
    }
    assert len(relief["S2"]) >= 2
    assert set(relief["S2"]) == {50.0}
    document = _report(engine, records)
    sites = document["sites"]
    few = sum(len(values) < 2 for values in relief.values())
    equal = sum(len(values) >= 2 and len(set(values)) == 1 for values in relief.values())
    assert sites["not_pooled"] == {"fewer_than_two": few, "sd_zero": equal}
    assert sites["heterogeneity"]["sites"] == len(relief) - few - equal
    grid = site_grid(sites)
    notes = " ".join(grid.notes)
    with_pi = any(row[0].strip() == "95% prediction interval" for row in grid.rows)
    assert with_pi == (sites["heterogeneity"]["sites"] >= 3)
    assert ("95% prediction interval" in charts.site_forest(document)) == with_pi
    assert "1 site whose relief values are all equal (SD 0)" in notes
    # The random-intercept model uses every patient, the SD-0 site's too.
    assert "model uses every patient" in notes


def test_one_site_says_why_nothing_is_pooled_or_modelled(engine: sa.Engine) -> None:
    sites = _report(engine, random_registry(5, n=30, sites=1))["sites"]
    assert sites["heterogeneity"] is None
    assert sites["mixed_model"] is None
    assert sites["mixed_model_not_fitted"] == "fewer than two sites have a relief value"
    notes = site_grid(sites).notes
    assert "No pooled estimates: they need at least two sites with a positive SD." in notes
    assert (
        "Random-intercept model not published: fewer than two sites have a relief value." in notes
    )


def test_p_below_a_thousandth_reads_p_less_than(engine: sa.Engine) -> None:
    records = random_registry(29, n=120, sites=4)
    _set_relief(records, "S1", "5.0")
    for record in records:  # S1 around 5%, the other sites far above: heterogeneity p < 0.001
        if record.site_code == "S1":
            for i, visit in enumerate(record.visits):
                if "pain_relief_pct" in visit:
                    visit["pain_relief_pct"] = RELIEF.parse(f"{5 + i % 3}.0")
    document = _report(engine, records)
    assert document["sites"]["heterogeneity"]["p_display"] == "<0.001"
    notes = [note for grid in all_grids(document) for note in grid.notes]
    assert any("p < 0.001" in note for note in notes)
    assert not [note for note in notes if re.search(r"p = <", note)]


@pytest.mark.parametrize("p", [0.0004, 0.0421])
def test_heterogeneity_line_states_p_as_journals_do(p: float) -> None:
    """The line's wording for a displayed p (either side of 0.001)."""
    from sijreg.report.spss import p_value

    sites = {
        "rows": {},
        "not_pooled": {"fewer_than_two": 0, "sd_zero": 0},
        "heterogeneity": {
            "sites": 3,
            "q": 20.0,
            "df": 2,
            "p": p,
            "p_display": p_value(p),
            "i_squared": 0.9,
            "tau_squared": 4.0,
            "fixed": {"estimate": 60.0, "ci_low": 58.0, "ci_high": 62.0, "ci_method": "dl"},
            "random": {"estimate": 61.0, "ci_low": 55.0, "ci_high": 67.0, "ci_method": "dl"},
            "prediction": {"low": 40.0, "high": 80.0, "df": 1},
        },
        "mixed_model": None,
        "mixed_model_not_fitted": None,
    }
    line = next(n for n in site_grid(sites).notes if n.startswith("Heterogeneity"))
    assert ("p < 0.001" in line) == (p < 0.001)
    assert ("p = 0.042" in line) == (p >= 0.001)


def _frame(values: dict[str, list[float]]) -> pl.DataFrame:
    return pl.DataFrame(
        {
            SITE.name: [site for site, vs in values.items() for _ in vs],
            RELIEF_COLUMN.name: [v for vs in values.values() for v in vs],
        }
    )


def _heterogeneous(sites: int, seed: int) -> dict[str, list[float]]:
    """Site means far apart (Q well above its df, so that tau² > 0)."""
    rng = np.random.default_rng(seed)
    return {
        f"S{i}": [
            round(float(v), 1)
            for v in np.clip(rng.normal(rng.uniform(30, 90), 12, rng.integers(3, 25)), 0, 100)
        ]
        for i in range(sites)
    }


@pytest.mark.parametrize("method", list(PoolingMethod))
@pytest.mark.parametrize(("sites", "seed"), [(3, 1), (4, 2), (7, 3), (25, 4)])
def test_pooling_matches_statsmodels_combine_effects(
    method: PoolingMethod, sites: int, seed: int
) -> None:
    values = _heterogeneous(sites, seed)
    h = by_site(_frame(values), method).heterogeneity
    assert h is not None
    assert h.method is method
    means = np.array([np.mean(v) for v in values.values()])
    variances = np.array([np.var(v, ddof=1) / len(v) for v in values.values()])
    ref = combine_effects(means, variances, method_re="dl")
    assert ref.tau2 > 0  # the truncation at 0 is not in play
    assert h.tau_squared == pytest.approx(ref.tau2, rel=1e-9)
    assert h.p == stats.chi2.sf(h.q, h.df)  # from scipy.special, the same bits
    assert h.random.estimate == pytest.approx(ref.mean_effect_re, rel=1e-12)
    _, dl, _, hksj = ref.conf_int(alpha=0.05, use_t=method is PoolingMethod.HKSJ)
    low, high = hksj if method is PoolingMethod.HKSJ else dl
    assert h.random.low == pytest.approx(low, rel=1e-9)
    assert h.random.high == pytest.approx(high, rel=1e-9)
    se = math.sqrt(ref.var_hksj_re) if method is PoolingMethod.HKSJ else ref.sd_eff_w_re
    assert h.random.se == pytest.approx(se, rel=1e-9)
    # Prediction interval by hand (Riley et al. 2011, eq. 12): t with k - 2 df.
    assert h.prediction is not None
    half = stats.t.ppf(0.975, sites - 2) * math.sqrt(ref.tau2 + se**2)
    assert h.prediction.df == sites - 2
    assert h.prediction.low == pytest.approx(ref.mean_effect_re - half, rel=1e-9)
    assert h.prediction.high == pytest.approx(ref.mean_effect_re + half, rel=1e-9)
    assert h.prediction.low < h.random.low < h.random.high < h.prediction.high


def test_two_sites_have_no_prediction_interval() -> None:
    h = by_site(_frame(_heterogeneous(2, 5)), PoolingMethod.HKSJ).heterogeneity
    assert h is not None
    assert h.sites == 2
    assert h.prediction is None


def test_statsmodels_stays_out_of_the_report(tmp_path: Path) -> None:
    """A whole report (demo) with --pooling hksj, in a fresh interpreter, never loads it,
    nor scipy.stats, scipy.optimize or scipy.sparse (most of a small report's CPU time)."""
    script = (
        "import sys, json\n"
        "from typer.testing import CliRunner\n"
        "from sijreg.cli.app import app\n"
        f"db, out = {str(tmp_path / 'r.db')!r}, {str(tmp_path / 'out')!r}\n"
        "r = CliRunner().invoke(app, ['demo', '-d', db, '-o', out + '0', '-q'])\n"
        "assert r.exit_code == 0, r.output\n"
        "r = CliRunner().invoke(app, ['report', '-d', db, '-o', out, '-q', '--pooling', 'hksj'])\n"
        "assert r.exit_code == 0, r.output\n"
        "heavy = ('statsmodels', 'scipy.stats', 'scipy.optimize', 'scipy.sparse')\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    document = json.loads((tmp_path / "out" / "tables.json").read_text())
    assert document["settings"]["pooling"] == "hksj"
    assert document["sites"]["heterogeneity"]["random"]["ci_method"] == "hksj"
    assert document["sites"]["mixed_model"] is not None
