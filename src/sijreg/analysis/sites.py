"""Between-site variation of pain relief: per-site means, pooled estimates, heterogeneity.

Inverse-variance pooling weights each site by n / SD², so it needs a positive SD: sites
with fewer than two relief values and sites whose values are all equal (SD 0) stay out
of it (counted in ``NotPooled``) but keep their row. Cochran's Q and
I² = max(0, (Q - df) / Q) measure heterogeneity; the random-effects estimate uses the
DerSimonian-Laird tau², with a normal interval or, by choice, the Hartung-Knapp-Sidik-
Jonkman t interval; with three or more sites, a 95% prediction interval for a new
site's mean (Higgins, Thompson & Spiegelhalter 2009; Riley et al. 2011):
estimate ± t(k - 2) * sqrt(tau² + SE²), SE that of the random-effects interval.
The random-intercept model (REML, analysis.random_intercept) uses every patient with a
relief value, those of unpooled sites too.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl
from scipy import special

from sijreg.analysis import describe, inference, random_intercept
from sijreg.analysis.describe import Continuous
from sijreg.analysis.methods import PoolingMethod
from sijreg.analysis.variables import RELIEF, SITE


@dataclass(frozen=True)
class SiteRow:
    site: str
    n: int
    members: int
    relief: Continuous
    ci: inference.Interval | None


@dataclass(frozen=True)
class Pooled:
    estimate: float
    low: float
    high: float
    se: float


@dataclass(frozen=True)
class Prediction:
    """Where a new site's mean is expected to lie (95%), on ``df`` = k - 2."""

    low: float
    high: float
    df: int


@dataclass(frozen=True)
class Heterogeneity:
    sites: int
    q: float
    df: int
    p: float
    i_squared: float
    tau_squared: float
    fixed: Pooled
    random: Pooled
    method: PoolingMethod
    """How ``random``'s interval was computed."""
    prediction: Prediction | None
    """None with fewer than three pooled sites (no degrees of freedom left)."""


@dataclass(frozen=True)
class NotPooled:
    """How many sites inverse-variance pooling leaves out, by reason."""

    fewer_than_two: int
    """Sites with fewer than two relief values (no SD)."""
    sd_zero: int
    """Sites whose relief values are all equal (SD 0: an infinite weight)."""


@dataclass(frozen=True)
class MixedModel:
    overall: Pooled
    """The intercept: the overall mean, with its 95% interval."""
    site_variance: float
    residual_variance: float
    boundary: bool
    """The between-site variance is estimated as 0 (see analysis.random_intercept)."""

    @property
    def icc(self) -> float:
        total = self.site_variance + self.residual_variance
        return self.site_variance / total if total else math.nan


@dataclass(frozen=True)
class SiteAnalysis:
    rows: tuple[SiteRow, ...]
    not_pooled: NotPooled
    heterogeneity: Heterogeneity | None
    mixed: MixedModel | None
    mixed_not_fitted: str | None
    """Why no random-intercept model is published (None when one is)."""


def _row(site: str, n: int, members: int, relief: Continuous) -> SiteRow:
    ci = (
        inference.mean_interval(relief.n, float(relief.mean), relief.sd)
        if relief.mean is not None
        else None
    )
    return SiteRow(site, n, members, relief, ci)


def _poolable(relief: Continuous) -> bool:
    return relief.n >= 2 and bool(relief.variance)


def not_pooled(rows: tuple[SiteRow, ...]) -> NotPooled:
    few = sum(r.relief.n < 2 for r in rows)
    return NotPooled(few, sum(r.relief.n >= 2 and not _poolable(r.relief) for r in rows))


def heterogeneity(
    rows: tuple[SiteRow, ...], method: PoolingMethod = PoolingMethod.DL
) -> Heterogeneity | None:
    """Inverse-variance pooling of site means; None with fewer than two poolable sites."""
    usable = [r.relief for r in rows if _poolable(r.relief)]
    if len(usable) < 2:
        return None
    means = np.array([float(r.mean) for r in usable if r.mean is not None])
    variances = np.array([float(r.variance) / r.n for r in usable if r.variance is not None])
    weights = 1 / variances
    fixed = float(weights @ means / weights.sum())
    q = float(weights @ (means - fixed) ** 2)
    k = len(usable)
    df = k - 1
    c = float(weights.sum() - (weights * weights).sum() / weights.sum())
    tau2 = max(0.0, (q - df) / c)
    random_weights = 1 / (variances + tau2)
    random = float(random_weights @ means / random_weights.sum())
    z = inference.z_critical()
    fixed_se = math.sqrt(1 / weights.sum())
    if method is PoolingMethod.HKSJ:
        residual = float(random_weights @ (means - random) ** 2)
        random_se = math.sqrt(residual / (df * float(random_weights.sum())))
        crit = inference.t_critical(df)
    else:
        random_se, crit = math.sqrt(1 / random_weights.sum()), z
    prediction = None
    if k >= 3:
        half = inference.t_critical(k - 2)
        half *= math.sqrt(tau2 + random_se**2)
        prediction = Prediction(random - half, random + half, k - 2)
    return Heterogeneity(
        k,
        q,
        df,
        float(special.chdtrc(df, q)),
        max(0.0, (q - df) / q) if q > 0 else 0.0,
        tau2,
        Pooled(fixed, fixed - z * fixed_se, fixed + z * fixed_se, fixed_se),
        Pooled(random, random - crit * random_se, random + crit * random_se, random_se),
        method,
        prediction,
    )


def mixed_model(rows: tuple[SiteRow, ...]) -> MixedModel | str:
    """Relief ~ 1 with a random intercept per site (REML) from the site summaries; the
    reason in words when none is published (the rule: analysis.random_intercept)."""
    valued = [r.relief for r in rows if r.relief.n and r.relief.mean is not None]
    within = sum((r.variance * (r.n - 1) for r in valued if r.variance is not None), Fraction(0))
    fit = random_intercept.fit(
        np.array([r.n for r in valued], dtype=np.float64),
        np.array([float(r.mean) for r in valued if r.mean is not None]),
        float(within),
    )
    if isinstance(fit, random_intercept.NotFitted):
        return fit.reason
    overall = Pooled(fit.estimate, fit.low, fit.high, fit.se)
    return MixedModel(overall, fit.site_variance, fit.residual_variance, fit.boundary)


def by_site(frame: pl.DataFrame, method: PoolingMethod = PoolingMethod.DL) -> SiteAnalysis:
    summaries = describe.continuous_by(frame, RELIEF.name, RELIEF.scale, SITE.name)
    rows = tuple(
        _row(str(site), group.rows, group.members, group.summary)
        for site, group in sorted(summaries.items(), key=lambda item: str(item[0]))
    )
    mixed = mixed_model(rows)
    return SiteAnalysis(
        rows,
        not_pooled(rows),
        heterogeneity(rows, method),
        None if isinstance(mixed, str) else mixed,
        mixed if isinstance(mixed, str) else None,
    )
