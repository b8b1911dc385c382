"""The random-intercept model relief ~ 1 + (1 | site), fitted by REML from site summaries.

y_ij = mu + u_i + e_ij with u_i ~ N(0, s_u²), e_ij ~ N(0, s²). With the ratio
g = s_u² / s² the REML likelihood depends on the data only through each site's n_i,
mean m_i and within-site sum of squares W_i: with w_i = n_i / (1 + n_i g), the GLS mean
mu(g) = sum w_i m_i / sum w_i and R(g) = sum W_i + sum w_i (m_i - mu)², profiling s² out
(s² = R / (N - 1)) leaves the one-dimensional objective

    f(g) = (N - 1) log R(g) + sum log(1 + n_i g) + log sum w_i   (-2 REML log-likelihood),

minimised over 0 <= g <= RATIO_MAX: a grid brackets the minimum, then Brent's method
finds the root of f' (the REML score) inside it (SciPy's brentq, see roots.py). The
intercept's standard error is statsmodels MixedLM's: the inverse of the observed
information in (mu, g) at the estimate, so the two agree (tests/test_random_intercept.py
checks it against MixedLM).

Whether a fit is published (the rule, stated once):
* fewer than two sites with a relief value, or no within-site variation (every site's
  values equal, or one patient each): not fitted, the variance components cannot be
  told apart;
* the minimum on the upper bound RATIO_MAX (the residual variance vanishing beside the
  between-site variance): not converged, not published;
* the information matrix not positive definite: no standard error, not published;
* the minimum at g = 0 is published: the between-site variance is 0, on the boundary
  of the parameter space (``boundary`` says so); the intercept's SE is then s / sqrt(N),
  the ratio held at its bound (MixedLM's optimiser is unreliable there, see the tests).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sijreg.analysis.roots import brentq

RATIO_MAX = 1e8
"""The search's upper bound on s_u² / s² (an ICC of 1 - 1e-8)."""

_GRID = np.concatenate([[0.0], np.logspace(-8, 8, 161)])


@dataclass(frozen=True)
class Fit:
    estimate: float
    se: float
    low: float
    high: float
    site_variance: float
    residual_variance: float
    boundary: bool
    """The between-site variance is estimated as 0 (the lower bound)."""

    @property
    def icc(self) -> float:
        return self.site_variance / (self.site_variance + self.residual_variance)


@dataclass(frozen=True)
class NotFitted:
    reason: str
    """Why no model is published, in words for the report."""


@dataclass(frozen=True)
class _Sites:
    n: NDArray[np.float64]
    mean: NDArray[np.float64]
    within: float
    """The pooled within-site sum of squares, sum of W_i."""

    def weights(self, ratio: float) -> NDArray[np.float64]:
        return self.n / (1 + self.n * ratio)

    def parts(self, ratio: float) -> tuple[NDArray[np.float64], float, NDArray[np.float64], float]:
        """w, mu, the deviations m_i - mu and R at ``ratio``."""
        w = self.weights(ratio)
        mu = float(w @ self.mean / w.sum())
        d = self.mean - mu
        return w, mu, d, self.within + float(w @ (d * d))

    def objective(self, ratio: float) -> float:
        w, _, _, r = self.parts(ratio)
        total = float(self.n.sum())
        return (total - 1) * math.log(r) + float(np.log1p(self.n * ratio).sum()) + math.log(w.sum())

    def score(self, ratio: float) -> float:
        """f'(g): -(N - 1) sum w² d² / R + sum w - sum w² / sum w."""
        w, _, d, r = self.parts(ratio)
        w2 = w * w
        total = float(self.n.sum())
        return -(total - 1) * float(w2 @ (d * d)) / r + float(w.sum() - w2.sum() / w.sum())


def fit(n: NDArray[np.float64], mean: NDArray[np.float64], within: float) -> Fit | NotFitted:
    """REML fit from the sites' value counts, means and summed within-site sum of squares
    (sites without a value left out by the caller); confidence from inference's level."""
    from sijreg.analysis.inference import z_critical

    if len(n) < 2:
        return NotFitted("fewer than two sites have a relief value")
    if not within > 0:
        return NotFitted(
            "no site has two different relief values, so the within-site and between-site "
            "variances cannot be told apart"
        )
    sites = _Sites(n, mean, within)
    ratio = _minimum(sites)
    if ratio is None:
        return NotFitted(
            f"the REML search did not converge: the between-site variance is more than "
            f"{RATIO_MAX:.0e} times the residual variance (the search's bound)"
        )
    se = _standard_error(sites, ratio)
    if se is None:
        return NotFitted("the information matrix at the estimate is not positive definite")
    _, mu, _, r = sites.parts(ratio)
    residual = r / (float(n.sum()) - 1)
    z = z_critical()
    between = float(ratio * residual)
    return Fit(mu, se, mu - z * se, mu + z * se, between, float(residual), ratio == 0)


def _minimum(sites: _Sites) -> float | None:
    """The ratio minimising f on [0, RATIO_MAX]; None when that is RATIO_MAX."""
    values = [sites.objective(g) for g in _GRID]
    best = int(np.argmin(values))
    if best == len(_GRID) - 1:
        return None
    if best == 0 and sites.score(0.0) >= 0:
        return 0.0
    at = sites.score(_GRID[best])
    if at == 0:
        return float(_GRID[best])
    low, high = (_GRID[best - 1], _GRID[best]) if at > 0 else (_GRID[best], _GRID[best + 1])
    return brentq(
        sites.score, low, high, xtol=1e-300, rtol=4 * float(np.finfo(float).eps), maxiter=500
    )


def _standard_error(sites: _Sites, ratio: float) -> float | None:
    """The intercept's SE from the observed information of the profiled REML log-likelihood
    l(mu, g) = -(N - 1)/2 log Q - 1/2 sum log(1 + n_i g) - 1/2 log sum w_i (as MixedLM);
    at g = 0, on the boundary, from the information about mu alone."""
    w, _, d, q = sites.parts(ratio)
    fac = float(sites.n.sum()) - 1
    w2, w3 = w * w, w * w * w
    s1, s2, s3 = float(w.sum()), float(w2.sum()), float(w3.sum())
    h_mm = -fac * s1 / q
    if ratio == 0:  # g is held at its bound, not estimated: s² / N (as lme4 gives)
        return math.sqrt(-1 / h_mm)
    a = float(w2 @ (d * d))
    h_mg = -fac * float(w2 @ d) / q
    h_gg = fac * (a * a - 2 * float(w3 @ (d * d)) * q) / (2 * q * q)
    h_gg += s2 / 2 + (s2 * s2 - 2 * s1 * s3) / (2 * s1 * s1)
    det = h_mm * h_gg - h_mg * h_mg
    if not (h_mm < 0 and det > 0):
        return None
    return math.sqrt(-h_gg / det)
