"""Interval and test functions against statsmodels/SciPy, over random inputs."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from sijreg.analysis import inference
from sijreg.analysis.inference import StatTest
from sijreg.analysis.methods import ProportionMethod
from sijreg.report.spss import p_value

counts = st.integers(1, 400).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n)))


@given(counts, st.sampled_from(list(ProportionMethod)))
def test_proportion_intervals_match_statsmodels(
    case: tuple[int, int], method: ProportionMethod
) -> None:
    count, n = case
    interval = inference.proportion_interval(count, n, method)
    assert interval is not None
    name = "wilson" if method is ProportionMethod.WILSON else "beta"
    low, high = proportion_confint(count, n, alpha=0.05, method=name)
    assert interval.low == pytest.approx(low, abs=1e-10)
    assert interval.high == pytest.approx(high, abs=1e-10)


@given(st.lists(st.floats(-1e3, 1e3, allow_nan=False), min_size=2, max_size=60))
def test_mean_interval_matches_scipy(values: list[float]) -> None:
    a = np.array(values)
    sd = float(a.std(ddof=1))
    interval = inference.mean_interval(len(a), float(a.mean()), sd)
    assert interval is not None
    if sd == 0:
        assert interval.low == interval.high
        return
    low, high = stats.t.interval(0.95, len(a) - 1, loc=a.mean(), scale=stats.sem(a))
    assert interval.low == pytest.approx(low, abs=1e-9)
    assert interval.high == pytest.approx(high, abs=1e-9)


@given(st.floats(0.5, 1e6, allow_nan=False))
def test_critical_values_are_scipy_stats_own(df: float) -> None:
    """From scipy.special (scipy.stats is not imported by a plain report), the same bits."""
    assert inference.z_critical() == stats.norm.ppf(0.975)
    assert inference.t_critical(df) == stats.t.ppf(0.975, df)


@given(
    st.lists(st.integers(-100, 100), min_size=2, max_size=80),
    st.sampled_from([1, 10]),
    st.booleans(),
)
def test_paired_t_is_scipy_ttest_1samp_to_the_bit(
    values: list[int], scale: int, constant: bool
) -> None:
    """Constant differences (zero or not) included: t is then infinite or NaN, as SciPy's."""
    differences = np.array(values, dtype=np.float64) / scale
    if constant:
        differences = np.full(len(values), differences[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SciPy warns of catastrophic cancellation
        expected = float(stats.ttest_1samp(differences, 0.0).pvalue)
    p = inference.paired_t_p(differences)
    assert p == expected or (np.isnan(p) and np.isnan(expected))


samples = st.lists(st.integers(-1000, 1000), min_size=2, max_size=60).map(
    lambda v: np.array(v, dtype=np.float64) / 10
)


@given(samples, samples, st.booleans())
def test_welch_is_scipy_ttest_ind_to_the_bit(a: np.ndarray, b: np.ndarray, constant: bool) -> None:
    if constant:  # one or both groups constant: an infinite t, or no t at all
        a = np.full(len(a), a[0])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = float(stats.ttest_ind(a, b, equal_var=False).pvalue)
    p = inference.welch_p(a, b)
    assert p == expected or (np.isnan(p) and np.isnan(expected))


@given(st.integers(2, 4), st.integers(2, 5), st.data())
def test_chi_square_is_scipy_chi2_contingency_to_the_bit(
    rows: int, columns: int, data: st.DataObject
) -> None:
    cells = data.draw(
        st.lists(st.integers(1, 500), min_size=rows * columns, max_size=rows * columns)
    )
    table = np.array(cells, dtype=np.int64).reshape(rows, columns)
    result = inference.compare_counts(table)
    assert result is not None
    if result.test is StatTest.CHI_SQUARE:
        assert result.p == stats.chi2_contingency(table, correction=False).pvalue


@settings(max_examples=60)
@given(st.lists(st.integers(0, 30), min_size=4, max_size=4))
def test_two_by_two_uses_fisher_only_for_small_expected_counts(cells: list[int]) -> None:
    table = np.array(cells, dtype=np.int64).reshape(2, 2)
    result = inference.compare_counts(table)
    if (table.sum(axis=0) == 0).any() or (table.sum(axis=1) == 0).any():
        assert result is None
        return
    assert result is not None
    expected = stats.contingency.expected_freq(table)
    if (expected < 5).any():
        assert result.test is StatTest.FISHER
        assert result.p == pytest.approx(stats.fisher_exact(table).pvalue, rel=1e-12)
    else:
        assert result.test is StatTest.CHI_SQUARE
        chi2 = stats.chi2_contingency(table, correction=False)
        assert result.p == pytest.approx(chi2.pvalue, rel=1e-12)


@pytest.mark.parametrize("size", [4000, 5000, 5001, 60000])
def test_normality_is_tested_up_to_5000_values_only(size: int) -> None:
    rng = np.random.default_rng(size)
    skewed = [rng.exponential(1.0, size), rng.exponential(1.2, size)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "p-value may not be accurate" from SciPy
        result = inference.compare_continuous(skewed)
    assert result is not None
    assert stats.shapiro(skewed[0][:5000]).pvalue < 0.05  # clearly not normal
    if size > 5000:
        assert result.test is StatTest.WELCH
        assert result.p == pytest.approx(
            stats.ttest_ind(*skewed, equal_var=False).pvalue, rel=1e-12
        )
    else:
        assert result.test is StatTest.MANN_WHITNEY
        assert result.p == pytest.approx(stats.mannwhitneyu(*skewed).pvalue, rel=1e-12)


@pytest.mark.parametrize(
    ("p", "shown"),
    [
        (0.0004, "<0.001"),
        (0.000999, "<0.001"),
        (0.001, "0.001"),
        (0.0456, "0.046"),
        (0.0625, "0.063"),
        (0.05, "0.050"),
        (1.0, "1.000"),
    ],
)
def test_p_values_are_printed_as_journals_do(p: float, shown: str) -> None:
    assert p_value(p) == shown
