"""Confidence intervals, two-group tests and standardized differences.

Pure functions over numbers and NumPy arrays; the rules that choose a test are
stated here once (docs/analysis.md repeats them for readers).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

import numpy as np
from numpy.typing import NDArray
from scipy import special

from sijreg.analysis import ranks
from sijreg.analysis.methods import ContinuousTests, ProportionMethod

CONFIDENCE = 0.95
NORMALITY_ALPHA = 0.05
"""Shapiro-Wilk p below this in any group sends a continuous comparison to a rank test."""
SHAPIRO_MAX = 5000
"""Groups with more values than this are not tested for normality (see looks_normal)."""
MIN_EXPECTED = 5
"""An expected cell count below this sends a 2 x 2 comparison to Fisher's exact test."""


def z_critical() -> float:
    """The standard normal quantile of a two-sided CONFIDENCE interval (1.96), as
    ``scipy.stats.norm.ppf`` computes it, from ``scipy.special`` (``scipy.stats`` costs most
    of a small report's start-up, so it is imported only by the tests that need it)."""
    return float(special.ndtri((1 + CONFIDENCE) / 2))


def t_critical(df: float) -> float:
    """Student's t quantile of a two-sided CONFIDENCE interval, as ``scipy.stats.t.ppf``."""
    return float(special.stdtrit(df, (1 + CONFIDENCE) / 2))


@dataclass(frozen=True)
class Interval:
    low: float
    high: float
    method: str


def mean_interval(n: int, mean: float, sd: float | None) -> Interval | None:
    """The t interval of a mean: mean ± t(0.975, n - 1) · sd / √n; none below n = 2."""
    if n < 2 or sd is None:
        return None
    half = t_critical(n - 1) * sd / math.sqrt(n)
    return Interval(mean - half, mean + half, "t")


def proportion_interval(
    count: int, n: int, method: ProportionMethod = ProportionMethod.WILSON
) -> Interval | None:
    """The interval of count / n as a proportion (0-1); none when n is 0."""
    if n == 0:
        return None
    if method is ProportionMethod.CLOPPER_PEARSON:
        from scipy import stats

        alpha = 1 - CONFIDENCE
        low = 0.0 if count == 0 else float(stats.beta.ppf(alpha / 2, count, n - count + 1))
        high = 1.0 if count == n else float(stats.beta.ppf(1 - alpha / 2, count + 1, n - count))
        return Interval(low, high, method.value)
    z = z_critical()
    p = count / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return Interval(max(0.0, centre - half), min(1.0, centre + half), method.value)


def proportion_band(
    counts: NDArray[np.int64], n: int, method: ProportionMethod = ProportionMethod.WILSON
) -> tuple[list[float], list[float]]:
    """Pointwise intervals (0-1) for several counts of the same n, as two lists."""
    intervals = [proportion_interval(int(c), n, method) for c in counts]
    return (
        [i.low if i else math.nan for i in intervals],
        [i.high if i else math.nan for i in intervals],
    )


class StatTest(StrEnum):
    """The tests a comparison can use; the value is the name shown in a table."""

    WELCH = "Welch t-test"
    MANN_WHITNEY = "Mann-Whitney U"
    ANOVA = "one-way ANOVA"
    KRUSKAL = "Kruskal-Wallis"
    CHI_SQUARE = "chi-square"
    FISHER = "Fisher's exact"
    PAIRED_T = "paired t-test"
    WILCOXON = "Wilcoxon signed-rank"


@dataclass(frozen=True)
class TestResult:
    test: StatTest
    p: float


def looks_normal(values: NDArray[np.float64]) -> bool:
    """Shapiro-Wilk does not reject normality (needs 3 values; constant data are not normal).

    Above SHAPIRO_MAX values the mean is normal enough for Welch's t by the central
    limit theorem, and Shapiro-Wilk's p-value is no longer accurate (SciPy warns).
    """
    if len(values) < 3 or np.ptp(values) == 0:
        return False
    if len(values) > SHAPIRO_MAX:
        return True
    from scipy import stats

    return bool(stats.shapiro(values).pvalue >= NORMALITY_ALPHA)


def compare_continuous(
    groups: list[NDArray[np.float64]],
    choice: ContinuousTests = ContinuousTests.AUTO,
    scale: int = 1,
) -> TestResult | None:
    """Welch (two groups) or ANOVA, or Mann-Whitney / Kruskal-Wallis, as ``choice`` says:
    with AUTO, the former when every group looks normal (:func:`looks_normal`).

    Groups without values are left out; None when fewer than two groups remain or
    every value is the same (no test can tell the groups apart). Values are whole numbers
    of 1/``scale`` (ranked by counting, see :mod:`sijreg.analysis.ranks`).
    """
    groups = [g for g in groups if len(g) > 0]
    if len(groups) < 2 or np.ptp(np.concatenate(groups)) == 0:
        return None
    if choice is ContinuousTests.AUTO:
        normal = all(looks_normal(g) for g in groups)
    else:
        normal = choice is ContinuousTests.PARAMETRIC
    if len(groups) == 2:
        if normal:
            return TestResult(StatTest.WELCH, welch_p(groups[0], groups[1]))
        return TestResult(StatTest.MANN_WHITNEY, ranks.mann_whitney_p(groups[0], groups[1], scale))
    if normal:
        from scipy import stats

        return TestResult(StatTest.ANOVA, float(stats.f_oneway(*groups).pvalue))
    return TestResult(StatTest.KRUSKAL, ranks.kruskal_p(groups, scale))


RANK_TESTS = frozenset({StatTest.MANN_WHITNEY, StatTest.KRUSKAL})


def holm(pvalues: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values, in the order given.

    Sorted ascending, the i-th of m (from 0) becomes max over j <= i of (m - j) p(j),
    capped at 1: the family-wise error rate is controlled under any dependence.
    """
    m = len(pvalues)
    adjusted = [0.0] * m
    running = 0.0
    for rank, index in enumerate(sorted(range(m), key=lambda i: pvalues[i])):
        running = max(running, min(1.0, (m - rank) * pvalues[index]))
        adjusted[index] = running
    return adjusted


def compare_counts(table: NDArray[np.int64]) -> TestResult | None:
    """Groups in columns, outcome yes/no (or levels) in rows.

    A 2 x 2 table with an expected count below 5 gets Fisher's exact test, any other
    table Pearson's chi-square without Yates' correction. Groups without known values
    are left out; None when fewer than two remain or an outcome row is empty.
    """
    table = table[:, table.sum(axis=0) > 0]
    if table.shape[0] < 2 or table.shape[1] < 2 or (table.sum(axis=1) == 0).any():
        return None
    observed = table.astype(np.float64)
    total = observed.sum()
    expected = observed.sum(axis=1, keepdims=True) * observed.sum(axis=0, keepdims=True) / total
    if table.shape == (2, 2) and (expected < MIN_EXPECTED).any():
        from scipy import stats

        return TestResult(StatTest.FISHER, float(stats.fisher_exact(table).pvalue))
    return TestResult(StatTest.CHI_SQUARE, chi_square_p(observed, expected))


def chi_square_p(observed: NDArray[np.float64], expected: NDArray[np.float64]) -> float:
    """p of Pearson's chi-square, as ``scipy.stats.chi2_contingency(observed,
    correction=False)`` computes it (its expected counts, its sum, its order)."""
    terms = ((observed - expected) ** 2 / expected).ravel()
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    return float(special.chdtrc(dof, np.sum(terms)))


def _variance(values: NDArray[np.float64]) -> np.float64:
    """The sample variance (n - 1) as SciPy's tests compute it, to the last bit."""
    n = len(values)
    return np.float64(np.mean((values - np.mean(values)) ** 2) * (n / (n - 1)))


def welch_p(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Two-sided p of Welch's t-test, ``scipy.stats.ttest_ind(a, b, equal_var=False)``, by
    SciPy's operations in its order (two or more values a group)."""
    n1, n2 = len(a), len(b)
    with np.errstate(divide="ignore", invalid="ignore"):
        vn1, vn2 = _variance(a) / n1, _variance(b) / n2
        df = (vn1 + vn2) ** 2 / (vn1**2 / (n1 - 1) + vn2**2 / (n2 - 1))
        df = np.float64(1.0) if np.isnan(df) else df  # both constant: any df will do
        t = (np.mean(a) - np.mean(b)) / np.sqrt(vn1 + vn2)
    return float(2 * special.stdtr(df, -np.abs(t)))


def compare_paired(differences: NDArray[np.float64]) -> tuple[TestResult, TestResult] | None:
    """Paired t-test and Wilcoxon signed-rank test of within-patient changes."""
    if len(differences) < 2:
        return None
    t = paired_t_p(differences)
    if np.all(differences == 0):
        return TestResult(StatTest.PAIRED_T, t), TestResult(StatTest.WILCOXON, 1.0)
    w = ranks.wilcoxon_p(differences)
    return TestResult(StatTest.PAIRED_T, t), TestResult(StatTest.WILCOXON, w)


def paired_t_p(differences: NDArray[np.float64]) -> float:
    """Two-sided p-value of ``scipy.stats.ttest_1samp(differences, 0.0)`` (n >= 2), by
    SciPy's own operations in its order, so the value is the same to the last bit."""
    n = len(differences)
    with np.errstate(divide="ignore", invalid="ignore"):  # constant: t is infinite or NaN
        t = np.mean(differences) / np.sqrt(_variance(differences) / n)
    return float(2 * special.stdtr(n - 1, -np.abs(t)))


def smd_continuous(a: NDArray[np.float64], b: NDArray[np.float64]) -> float | None:
    """(mean a - mean b) / √((sd a² + sd b²) / 2), sample SDs; none if undefined."""
    if len(a) < 2 or len(b) < 2:
        return None
    pooled = math.sqrt((float(np.var(a, ddof=1)) + float(np.var(b, ddof=1))) / 2)
    if pooled == 0:
        return None
    return (float(np.mean(a)) - float(np.mean(b))) / pooled


def smd_proportion(p_a: float, p_b: float) -> float | None:
    """(p a - p b) / √((p a (1 - p a) + p b (1 - p b)) / 2); none if both are 0 or 1."""
    pooled = math.sqrt((p_a * (1 - p_a) + p_b * (1 - p_b)) / 2)
    return None if pooled == 0 else (p_a - p_b) / pooled
