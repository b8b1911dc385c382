"""Effect estimates, quartiles, Holm and the prespecified test choice against statsmodels,
SciPy, NumPy and published worked examples."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep
from statsmodels.stats.weightstats import CompareMeans, DescrStatsW

from sijreg.analysis import describe, effects, inference
from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.inference import StatTest
from sijreg.analysis.methods import Adjustment, ContinuousTests
from sijreg.analysis.tables import Settings, study_tables
from sijreg.report.document import build
from sijreg.report.options import Options
from tests.cohorts import random_registry, store

samples = st.lists(st.integers(0, 1000), min_size=2, max_size=40).map(
    lambda v: np.array(v, dtype=float) / 10
)
two_counts = st.tuples(st.integers(1, 300), st.integers(1, 300)).flatmap(
    lambda n: st.tuples(st.integers(0, n[0]), st.just(n[0]), st.integers(0, n[1]), st.just(n[1]))
)


@pytest.mark.filterwarnings("ignore:Precision loss:RuntimeWarning")  # nearly equal values
@given(samples, samples)
def test_mean_difference_is_welchs_interval(a: np.ndarray, b: np.ndarray) -> None:
    estimate = effects.mean_difference(a, b)
    assert estimate is not None
    assert estimate.value == pytest.approx(a.mean() - b.mean(), abs=1e-9)
    if a.var() + b.var() == 0:
        assert estimate.low is None
        assert estimate.high is None
        return
    low, high = CompareMeans(DescrStatsW(a), DescrStatsW(b)).tconfint_diff(usevar="unequal")
    assert estimate.low == pytest.approx(low, abs=1e-9)
    assert estimate.high == pytest.approx(high, abs=1e-9)
    scipy_ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert estimate.low == pytest.approx(scipy_ci.low, abs=1e-9)


def test_mean_difference_needs_two_values_a_group() -> None:
    assert effects.mean_difference(np.array([1.0]), np.array([1.0, 2.0])) is None


@given(two_counts)
def test_risk_difference_is_newcombes_hybrid_score_interval(case: tuple[int, ...]) -> None:
    estimate = effects.risk_difference(*case)
    assert estimate is not None
    low, high = confint_proportions_2indep(*case, method="newcomb", compare="diff")
    assert estimate.value == pytest.approx(case[0] / case[1] - case[2] / case[3], abs=1e-12)
    assert estimate.low == pytest.approx(low, abs=1e-9)
    assert estimate.high == pytest.approx(high, abs=1e-9)


# Newcombe RG. Interval estimation for the difference between independent proportions:
# comparison of eleven methods. Stat Med 1998;17:873-890, Table II, method 10.
NEWCOMBE_1998 = [
    ((56, 70, 48, 80), (0.0524, 0.3339)),
    ((9, 10, 3, 10), (0.1705, 0.8090)),
    ((6, 7, 2, 7), (0.0582, 0.8062)),
    ((5, 56, 0, 29), (-0.0381, 0.1926)),
    ((0, 10, 0, 20), (-0.1611, 0.2775)),
    ((0, 10, 0, 10), (-0.2775, 0.2775)),
    ((10, 10, 0, 20), (0.6791, 1.0000)),
    ((10, 10, 0, 10), (0.6075, 1.0000)),
]


@pytest.mark.parametrize(("counts", "published"), NEWCOMBE_1998)
def test_risk_difference_reproduces_newcombes_worked_examples(
    counts: tuple[int, int, int, int], published: tuple[float, float]
) -> None:
    estimate = effects.risk_difference(*counts)
    assert estimate is not None
    assert estimate.low is not None
    assert estimate.high is not None
    assert (round(estimate.low, 4), round(estimate.high, 4)) == published


def test_risk_difference_of_an_empty_group_is_none() -> None:
    assert effects.risk_difference(0, 0, 3, 10) is None


@given(two_counts)
def test_relative_risk_is_the_log_interval(case: tuple[int, ...]) -> None:
    estimate = effects.relative_risk(*case)
    if case[0] == 0 or case[2] == 0:
        assert estimate is None
        return
    assert estimate is not None
    low, high = confint_proportions_2indep(*case, method="log", compare="ratio")
    assert estimate.value == pytest.approx((case[0] / case[1]) / (case[2] / case[3]), rel=1e-12)
    assert estimate.low == pytest.approx(low, rel=1e-9)
    assert estimate.high == pytest.approx(high, rel=1e-9)


def test_smd_interval_reproduces_borensteins_worked_example() -> None:
    """Borenstein et al., Introduction to Meta-Analysis (2009), section 4.2: means 103 and
    100, SDs 5.5 and 4.5, n 50 each: d = 0.5970, V(d) = 0.0418, SE(d) = 0.2045."""
    a_sd, b_sd = 5.5, 4.5
    d = (103 - 100) / np.sqrt((a_sd**2 + b_sd**2) / 2)
    assert round(d, 4) == 0.5970
    estimate = effects.smd_interval(float(d), 50, 50)
    assert estimate.low is not None
    assert estimate.high is not None
    se = (estimate.high - estimate.low) / 2 / stats.norm.ppf(0.975)
    assert round(se**2, 4) == 0.0418
    assert round(se, 3) == 0.204
    assert estimate.value == d


@given(st.lists(st.integers(-500, 3000), min_size=1, max_size=60), st.sampled_from([1, 10]))
def test_quartiles_are_spss_haverage_as_numpy_weibull(values: list[int], scale: int) -> None:
    ordered = np.sort(np.array(values, dtype=np.int64))
    q = describe.quartiles(ordered, scale)
    assert q is not None
    expected = np.percentile(ordered / scale, [25, 50, 75], method="weibull")
    assert [float(q.q1), float(q.median), float(q.q3)] == pytest.approx(expected, abs=1e-9)
    assert q.median == Fraction(int(np.median(ordered) * 2), 2 * scale)  # HAVERAGE's median


def test_haverage_worked_example() -> None:
    """Ten values 1..10: (n + 1) / 4 = 2.75, so Q1 = 2 + 0.75 = 2.75 and Q3 = 8.25 (SPSS)."""
    q = describe.quartiles(np.arange(1, 11), 1)
    assert q == describe.Quartiles(Fraction(11, 4), Fraction(11, 2), Fraction(33, 4))
    assert describe.quartiles(np.array([], dtype=np.int64)) is None


@given(st.lists(st.floats(0, 1, allow_nan=False), max_size=30))
def test_holm_matches_statsmodels(pvalues: list[float]) -> None:
    adjusted = inference.holm(pvalues)
    if not pvalues:
        assert adjusted == []
        return
    expected = multipletests(pvalues, method="holm")[1]
    assert adjusted == pytest.approx(list(expected), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("groups", [2, 3])
def test_prespecified_tests_are_used_whatever_the_data(seed: int, groups: int) -> None:
    rng = np.random.default_rng(seed)
    data = [rng.normal(50, 10, 30) if seed % 2 else rng.exponential(20, 30) for _ in range(groups)]
    parametric = inference.compare_continuous(data, ContinuousTests.PARAMETRIC)
    rank = inference.compare_continuous(data, ContinuousTests.RANK)
    auto = inference.compare_continuous(data, ContinuousTests.AUTO)
    assert parametric is not None
    assert rank is not None
    assert auto is not None
    if groups == 2:
        assert parametric.test is StatTest.WELCH
        assert parametric.p == pytest.approx(stats.ttest_ind(*data, equal_var=False).pvalue)
        assert rank.test is StatTest.MANN_WHITNEY
        assert rank.p == pytest.approx(stats.mannwhitneyu(*data).pvalue)
    else:
        assert parametric.test is StatTest.ANOVA
        assert parametric.p == pytest.approx(stats.f_oneway(*data).pvalue)
        assert rank.test is StatTest.KRUSKAL
        assert rank.p == pytest.approx(stats.kruskal(*data).pvalue)
    normal = all(stats.shapiro(g).pvalue >= 0.05 for g in data)
    assert auto == (parametric if normal else rank)


def test_suppressed_groups_publish_no_effects_medians_or_holm(engine: sa.Engine) -> None:
    """Under small-cell suppression the new figures go with the counts they come from: a
    row with a hidden group publishes no effect, SMD interval or Holm p, and a hidden
    group no median or quartiles."""
    store(engine, random_registry(7, n=30, sites=2))
    settings = Settings(compare=("prior_idds",), adjust=Adjustment.HOLM)
    doc = build(study_tables(build_cohort(engine), settings), "test", Options(min_cell=11))
    comparison = doc["comparisons"]["prior_idds"]
    assert isinstance(comparison["groups"]["yes"]["n"], str)  # a small group, hidden
    hidden_rows = 0
    for row in comparison["rows"].values():
        cells = row["groups"].values()
        if not any(isinstance(cell["n"], str) for cell in cells):
            continue
        hidden_rows += 1
        assert row["effects"] == {}
        assert row["smd_ci_low"] is row["smd_ci_high"] is row["smd_ci_display"] is None
        assert row["p"] is row["p_holm"] is None
        for cell in cells:
            if cell["type"] == "continuous" and isinstance(cell["n"], str):
                assert cell["median"] is cell["q1"] is cell["q3"] is cell["median_display"] is None
    assert hidden_rows
