"""The REML random-intercept fit from site summaries against statsmodels' MixedLM on the
patients themselves, and against a dense-matrix REML likelihood where MixedLM is unreliable
(the between-site variance on its bound 0)."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from numpy.typing import NDArray
from statsmodels.regression.mixed_linear_model import MixedLM

from sijreg.analysis import random_intercept
from sijreg.analysis.random_intercept import Fit, NotFitted

Data = tuple[NDArray[np.float64], NDArray[np.int64]]


def summaries(y: NDArray[np.float64], groups: NDArray[np.int64]) -> Fit | NotFitted:
    """The fit from each group's n, mean and within-group sum of squares."""
    codes = np.unique(groups)
    parts = [y[groups == g] for g in codes]
    n = np.array([len(p) for p in parts], dtype=np.float64)
    mean = np.array([p.mean() for p in parts])
    within = float(sum(((p - p.mean()) ** 2).sum() for p in parts))
    return random_intercept.fit(n, mean, within)


def mixedlm(y: NDArray[np.float64], groups: NDArray[np.int64]):  # type: ignore[no-untyped-def]
    """MixedLM (REML), optimised to a tight gradient so that its digits can be compared."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MixedLM(y, np.ones((len(y), 1)), groups=groups).fit(
            reml=True, method=["bfgs"], gtol=1e-12, maxiter=5000
        )


def dense_reml(y: NDArray[np.float64], groups: NDArray[np.int64], ratio: float) -> float:
    """-2 REML log-likelihood (scale profiled out, constants dropped) from the full V."""
    ones = np.ones(len(y))
    v = np.eye(len(y)) + ratio * (groups[:, None] == groups[None, :])
    vi = np.linalg.inv(v)
    xvx = ones @ vi @ ones
    mu = ones @ vi @ y / xvx
    r = y - mu
    return float((len(y) - 1) * math.log(r @ vi @ r) + np.linalg.slogdet(v)[1] + math.log(xvx))


def cohort(seed: int, sites: int, tau: float, largest: int = 40) -> Data:
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, largest, sites)
    groups = np.repeat(np.arange(sites), sizes)
    y = 60 + rng.normal(0, tau, sites)[groups] + rng.normal(0, 15, len(groups))
    return np.round(np.clip(y, 0, 100), 1).astype(np.float64), groups.astype(np.int64)


@pytest.mark.parametrize(
    ("seed", "sites", "tau", "largest"),
    [
        (2, 16, 5, 40),
        (3, 16, 20, 40),
        (6, 22, 5, 40),
        (7, 23, 20, 40),
        (11, 8, 20, 40),
        (5, 60, 8, 330),
    ],  # the last about 10,000 patients
)
def test_interior_fit_matches_mixedlm(seed: int, sites: int, tau: float, largest: int) -> None:
    y, groups = cohort(seed, sites, tau, largest)
    ours, theirs = summaries(y, groups), mixedlm(y, groups)
    assert theirs.converged
    assert isinstance(ours, Fit)
    assert not ours.boundary
    site_variance = float(np.asarray(theirs.cov_re)[0, 0])
    assert ours.estimate == pytest.approx(float(theirs.fe_params[0]), rel=1e-6)
    assert ours.se == pytest.approx(float(theirs.bse_fe[0]), rel=1e-6)
    assert ours.site_variance == pytest.approx(site_variance, rel=1e-6)
    assert ours.residual_variance == pytest.approx(float(theirs.scale), rel=1e-6)
    assert ours.icc == pytest.approx(site_variance / (site_variance + theirs.scale), rel=1e-6)
    low, high = theirs.conf_int(alpha=0.05)[0]
    assert ours.low == pytest.approx(low, rel=1e-6)
    assert ours.high == pytest.approx(high, rel=1e-6)


@pytest.mark.parametrize("seed", [0, 1, 4, 9])
def test_no_between_site_variation_is_on_the_boundary(seed: int) -> None:
    y, groups = cohort(seed, 12, 0.0)
    ours = summaries(y, groups)
    assert isinstance(ours, Fit)
    assert ours.boundary
    assert ours.site_variance == 0
    assert ours.icc == 0
    # At g = 0 the model is one normal sample: its mean and sample variance.
    assert ours.estimate == pytest.approx(float(y.mean()), rel=1e-12)
    assert ours.residual_variance == pytest.approx(float(y.var(ddof=1)), rel=1e-12)
    assert ours.se == pytest.approx(float(y.std(ddof=1) / math.sqrt(len(y))), rel=1e-12)
    # g = 0 minimises the REML objective computed from the full covariance matrix.
    at_zero = dense_reml(y, groups, 0.0)
    for ratio in (1e-6, 1e-4, 1e-3, 1e-2, 0.1, 1.0):
        assert dense_reml(y, groups, ratio) > at_zero


def test_an_interior_minimum_is_where_the_dense_objective_is_least() -> None:
    y, groups = cohort(8, 5, 3.0)
    ours = summaries(y, groups)
    assert isinstance(ours, Fit)
    ratio = ours.site_variance / ours.residual_variance
    best = dense_reml(y, groups, ratio)
    for factor in (0.9, 0.99, 1.01, 1.1):
        assert dense_reml(y, groups, ratio * factor) > best


@pytest.mark.parametrize(
    ("y", "groups", "reason"),
    [
        ([50.0, 60.0, 70.0], [1, 1, 1], "fewer than two sites"),
        ([50.0, 60.0, 70.0], [1, 2, 3], "no site has two different relief values"),
        ([50.0, 50.0, 70.0, 70.0], [1, 1, 2, 2], "no site has two different relief values"),
        ([0.0, 0.1, 1e6, 1e6 + 0.1], [1, 1, 2, 2], "did not converge"),
    ],
)
def test_unpublished_fits_say_why(y: list[float], groups: list[int], reason: str) -> None:
    fit = summaries(np.array(y), np.array(groups))
    assert isinstance(fit, NotFitted)
    assert reason in fit.reason


def test_where_mixedlm_stops_short_the_fit_is_the_reml_minimum() -> None:
    """MixedLM does not converge on these 1,000 patients; the dense REML objective is lower
    at this fit's ratio than at MixedLM's, and lower than on either side of it."""
    rng = np.random.default_rng(0)
    groups = rng.integers(0, 10, 1000)
    noise = rng.normal(0, 5, 10)[groups] + rng.normal(0, 25, 1000)
    y = np.round(np.clip(60 + noise, 0, 100), 1).astype(np.float64)
    theirs = mixedlm(y, groups)
    assert not theirs.converged
    ours = summaries(y, groups)
    assert isinstance(ours, Fit)
    ratio = ours.site_variance / ours.residual_variance
    best = dense_reml(y, groups, ratio)
    assert best < dense_reml(y, groups, float(np.asarray(theirs.cov_re)[0, 0] / theirs.scale))
    assert best < min(dense_reml(y, groups, ratio * f) for f in (0.98, 1.02))
