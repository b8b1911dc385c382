"""Rank tests with SciPy's results, ranked by counting and with an exact small-n Wilcoxon.

Every ranked variable is a whole number after scaling (relief x 10, NRS, ODI, days, age,
BMI x 10), so average ranks come from one count per value (a bincount and a cumulative
sum) instead of a sort: the same ranks as ``scipy.stats.rankdata`` (half-integers, exact
in floating point), then the statistic and p-value by SciPy's own formulas, so the
p-values agree with SciPy's. Values that are not whole numbers of 1/scale, or spread too
thinly for a count per value, are ranked by ``rankdata``.

SciPy's Wilcoxon signed-rank test of up to 13 differences with ties or zeros runs a
permutation test over all 2^n sign patterns (about 0.2 s each); the same exact p-value
is the tail of the distribution of the sum of doubled midranks over subsets, counted by
a subset-sum recurrence (:func:`wilcoxon_p`). Tests over empty or constant data are the
caller's to avoid (``inference`` does).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import special

SPAN_PER_VALUE = 8
"""Rank by counting when the values span at most this many times their number (plus
MIN_SPAN): a count per possible value stays cheaper than a sort."""
MIN_SPAN = 1 << 16
WILCOXON_PERMUTATION_MAX = 13
"""SciPy's ``wilcoxon`` (method 'auto') runs an exact permutation test up to this many
differences when some are tied or zero; beyond it, or without ties, it does not."""
MANN_WHITNEY_EXACT_MAX = 8
"""SciPy's ``mannwhitneyu`` is exact when a sample is at most this large and nothing is tied."""

Float = NDArray[np.float64]


def _whole(values: Float, scale: int) -> NDArray[np.int64] | None:
    """``values`` as whole numbers of 1/scale, or None when they are not."""
    if len(values) == 0:
        return np.zeros(0, dtype=np.int64)
    scaled = np.rint(values * scale)
    if not np.array_equal(scaled / scale, values):
        return None
    return scaled.astype(np.int64)


def midranks(values: Float, scale: int = 1) -> tuple[Float, Float]:
    """Average ranks (1-based) of ``values`` and the size of each group of equal values.

    The ranks equal ``scipy.stats.rankdata(values)``; the sizes (one per distinct value,
    in order) give the tie corrections. ``values`` hold whole numbers of 1/scale."""
    whole = _whole(values, scale)
    if whole is None or len(whole) == 0 or np.ptp(whole) > SPAN_PER_VALUE * len(whole) + MIN_SPAN:
        from scipy import stats

        ranks = stats.rankdata(values)
        _, sizes = np.unique(values, return_counts=True)
        return ranks, sizes.astype(np.float64)
    low = int(whole.min())
    counts = np.bincount(whole - low)
    ends = np.cumsum(counts)
    mid = ends - (counts - 1) / 2.0
    return mid[whole - low], counts[counts > 0].astype(np.float64)


def mann_whitney_p(a: Float, b: Float, scale: int = 1) -> float:
    """Two-sided p-value of ``scipy.stats.mannwhitneyu(a, b)`` (method 'auto')."""
    ranks, sizes = midranks(np.concatenate([a, b]), scale)
    n1, n2 = len(a), len(b)
    tied = bool((sizes > 1).any())
    if min(n1, n2) <= MANN_WHITNEY_EXACT_MAX and not tied:
        from scipy import stats

        return float(stats.mannwhitneyu(a, b).pvalue)  # SciPy's exact distribution
    r1 = np.sum(ranks[:n1])
    u1 = r1 - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    n = n1 + n2
    tie_term = np.sum(sizes**3 - sizes)
    s = np.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    z = (u - n1 * n2 / 2 - 0.5) / s
    return float(np.clip(2 * special.ndtr(-z), 0.0, 1.0))


def kruskal_p(groups: list[Float], scale: int = 1) -> float:
    """p-value of ``scipy.stats.kruskal(*groups)``."""
    sizes_n = [len(g) for g in groups]
    total = sum(sizes_n)
    ranks, sizes = midranks(np.concatenate(groups), scale)
    ties = 1 - np.sum(sizes**3 - sizes) / (total**3 - total)
    bounds = np.cumsum([0, *sizes_n])
    ssbn = sum(
        np.sum(ranks[bounds[i] : bounds[i + 1]]) ** 2 / sizes_n[i] for i in range(len(groups))
    )
    h = 12.0 / (total * (total + 1)) * ssbn - 3 * (total + 1)
    h /= ties
    return float(special.chdtrc(len(groups) - 1, h))


def spearman(x: Float, y: Float, x_scale: int = 1, y_scale: int = 1) -> tuple[float, float]:
    """rho and two-sided p of ``scipy.stats.spearmanr(x, y)`` (neither constant, n >= 3)."""
    rx, _ = midranks(x, x_scale)
    ry, _ = midranks(y, y_scale)
    rho = np.atleast_2d(np.corrcoef(np.column_stack((rx, ry)), rowvar=False))[1, 0]
    dof = len(x) - 2
    with np.errstate(divide="ignore"):  # rho = ±1: t is infinite, p is 0
        t = rho * np.sqrt(np.clip(dof / ((rho + 1.0) * (1.0 - rho)), 0, None))
    return float(rho), float(2 * special.stdtr(dof, -np.abs(t)))


WILCOXON_EXACT_MAX = 50
"""SciPy's ``wilcoxon`` uses its exact null distribution up to this many differences
without ties or zeros, and the normal approximation above it."""


def wilcoxon_p(differences: Float, scale: int = 10) -> float:
    """Two-sided p-value of ``scipy.stats.wilcoxon(differences)`` (SciPy's defaults: zeros
    dropped, no continuity correction, method 'auto'); ``differences`` are whole numbers of
    1/``scale`` (NRS and ODI changes are tenths at most).

    Up to 13 differences with ties or zeros, SciPy runs a permutation test over all 2^n
    sign patterns. Under the null hypothesis each of the m non-zero differences is
    positive or negative with probability 1/2, so the doubled rank sum of the positive
    ones, 2 R+, is the sum of a random subset of the doubled midranks: counting subsets
    by their sum (a polynomial product) gives its exact distribution, and
    p = min(1, 2 min(P(2 R+ <= t), P(2 R+ >= t))), as ``permutation_test`` computes it.
    Beyond 50 differences, or 13 with ties or zeros, the tie-corrected normal
    approximation, with ranks by counting; otherwise SciPy's exact distribution.
    """
    n = len(differences)
    nonzero = differences[differences != 0]
    magnitudes, sizes = midranks(np.abs(nonzero), scale)
    irregular = bool((sizes > 1).any()) or len(nonzero) < n
    if n <= WILCOXON_PERMUTATION_MAX and irregular:
        return _wilcoxon_exact(magnitudes, nonzero > 0)
    if n <= WILCOXON_EXACT_MAX and not irregular:
        from scipy import stats

        return float(stats.wilcoxon(differences).pvalue)
    count = float(len(nonzero))
    r_plus = np.sum(magnitudes[nonzero > 0])
    mean = count * (count + 1.0) * 0.25
    se = count * (count + 1.0) * (2.0 * count + 1.0)
    se = np.sqrt((se - np.sum(sizes**3 - sizes) / 2) / 24)
    z = (r_plus - mean) / se
    return float(2 * special.ndtr(-np.abs(z)))


def _wilcoxon_exact(midranks_: Float, positive: NDArray[np.bool_]) -> float:
    doubled = np.rint(2 * midranks_).astype(np.int64)
    observed = int(doubled[positive].sum())
    ways = np.zeros(int(doubled.sum()) + 1, dtype=np.int64)
    ways[0] = 1
    for r in doubled:
        ways[r:] = ways[r:] + ways[: len(ways) - r]  # the right side is computed first
    total = 1 << len(doubled)
    at_most, at_least = int(ways[: observed + 1].sum()), int(ways[observed:].sum())
    return min(1.0, 2 * min(at_most, at_least) / total)
