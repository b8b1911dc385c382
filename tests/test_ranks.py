"""Ranks by counting and the rank tests built on them against SciPy, on random samples
with ties and zeros (Hypothesis)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from sijreg.analysis import ranks

scales = st.sampled_from([1, 10])


def _sample(size: tuple[int, int], span: int) -> st.SearchStrategy[np.ndarray]:
    return st.lists(st.integers(-span, span), min_size=size[0], max_size=size[1]).map(
        lambda v: np.array(v, dtype=np.float64)
    )


@given(_sample((1, 200), 300), scales)
def test_midranks_by_counting_equal_rankdata(values: np.ndarray, scale: int) -> None:
    scaled = values / scale
    got, sizes = ranks.midranks(scaled, scale)
    assert np.array_equal(got, stats.rankdata(scaled))  # identical, not merely close
    assert np.array_equal(sizes, np.unique(scaled, return_counts=True)[1])


def test_midranks_fall_back_to_sorting_for_other_values() -> None:
    """Values that are not whole numbers of 1/scale, and values spread thinly, by sorting."""
    for values, scale in (
        (np.array([0.25, 0.5, 0.25, 3.0]), 10),
        (np.array([0.0, 1e12, 5.0, 5.0]), 1),
    ):
        got, sizes = ranks.midranks(values, scale)
        assert np.array_equal(got, stats.rankdata(values))
        assert np.array_equal(sizes, np.unique(values, return_counts=True)[1])


@given(_sample((1, 40), 30), _sample((1, 40), 30), scales)
def test_mann_whitney_equals_scipy(a: np.ndarray, b: np.ndarray, scale: int) -> None:
    a, b = a / scale, b / scale
    if np.ptp(np.concatenate([a, b])) == 0:
        return  # compare_continuous never tests constant data
    expected = stats.mannwhitneyu(a, b, alternative="two-sided").pvalue
    assert ranks.mann_whitney_p(a, b, scale) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@given(st.lists(_sample((1, 30), 20), min_size=2, max_size=5), scales)
def test_kruskal_equals_scipy(groups: list[np.ndarray], scale: int) -> None:
    groups = [g / scale for g in groups]
    if np.ptp(np.concatenate(groups)) == 0:
        return
    expected = stats.kruskal(*groups).pvalue
    assert ranks.kruskal_p(groups, scale) == pytest.approx(expected, rel=1e-12, abs=1e-300)


@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(90, 800)), min_size=3, max_size=80))
def test_spearman_equals_scipy(pairs: list[tuple[int, int]]) -> None:
    relief = np.array([a for a, _ in pairs], dtype=np.float64) / 10
    days = np.array([b for _, b in pairs], dtype=np.float64)
    if np.ptp(relief) == 0 or np.ptp(days) == 0:
        return
    rho, p = ranks.spearman(relief, days, 10, 1)
    expected = stats.spearmanr(relief, days)
    assert rho == pytest.approx(expected.statistic, rel=1e-12, abs=1e-15)
    assert p == pytest.approx(expected.pvalue, rel=1e-12, abs=1e-15)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.integers(-4, 4), min_size=2, max_size=13))
def test_exact_wilcoxon_with_ties_and_zeros_equals_scipys_permutation_test(
    differences: list[int],
) -> None:
    d = np.array(differences, dtype=np.float64)
    if not d.any():
        return  # compare_paired answers p = 1 for all-zero changes without a test
    expected = stats.wilcoxon(d).pvalue
    assert ranks.wilcoxon_p(d) == expected  # the same exact fraction of 2^n


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(-30, 30), min_size=14, max_size=80))
def test_wilcoxon_beyond_the_permutation_case_is_scipys(differences: list[int]) -> None:
    d = np.array(differences, dtype=np.float64)
    if not d.any():
        return
    assert ranks.wilcoxon_p(d) == stats.wilcoxon(d).pvalue


def test_exact_wilcoxon_worked_example() -> None:
    """Differences 1, 1, 2, 0, -3: zero dropped, midranks 1.5, 1.5, 3, 4 (doubled 3, 3, 6, 8);
    2 R+ = 3 + 3 + 6 = 12. Of the 16 equally likely subsets, the sums >= 12 are 12, 14, 14,
    17, 17, 20 (6) and those <= 12 are 11, so p = 2 * 6 / 16 = 0.75."""
    assert ranks.wilcoxon_p(np.array([1.0, 1.0, 2.0, 0.0, -3.0])) == 0.75


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1000), st.integers(0, 1000)), min_size=2, max_size=120))
def test_wilcoxon_of_odi_changes_in_tenths_is_scipys(pairs: list[tuple[int, int]]) -> None:
    """Differences of one-decimal values are not always the nearest float to a tenth
    (34.2 - 20.1): those are ranked by sorting, exactly as SciPy ranks them."""
    d = np.array([a / 10 - b / 10 for a, b in pairs])
    if not d.any():
        return
    assert ranks.wilcoxon_p(d) == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-12)
