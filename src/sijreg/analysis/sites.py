"""Between-site variation of pain relief: per-site means, pooled estimates, heterogeneity.

Sites with fewer than two relief values have no SD and stay out of the pooling (but
keep their row). Fixed-effect pooling weights each site by n / SD²; Cochran's Q and
I² = max(0, (Q - df) / Q) measure heterogeneity; the random-effects estimate uses the
DerSimonian-Laird tau². A random-intercept model (statsmodels MixedLM, REML) over the
patients gives the overall mean and the between-site variance directly.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import polars as pl
from scipy import stats

from sijreg.analysis import describe, inference
from sijreg.analysis.describe import Continuous
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


@dataclass(frozen=True)
class MixedModel:
    overall: Pooled
    """The intercept: the overall mean, with its 95% interval."""
    site_variance: float
    residual_variance: float

    @property
    def icc(self) -> float:
        total = self.site_variance + self.residual_variance
        return self.site_variance / total if total else math.nan


@dataclass(frozen=True)
class SiteAnalysis:
    rows: tuple[SiteRow, ...]
    heterogeneity: Heterogeneity | None
    mixed: MixedModel | None


def _row(site: str, n: int, members: int, relief: Continuous) -> SiteRow:
    ci = (
        inference.mean_interval(relief.n, float(relief.mean), relief.sd)
        if relief.mean is not None
        else None
    )
    return SiteRow(site, n, members, relief, ci)


def heterogeneity(rows: tuple[SiteRow, ...]) -> Heterogeneity | None:
    """Inverse-variance pooling of site means; None with fewer than two usable sites."""
    usable = [r.relief for r in rows if r.relief.n >= 2 and r.relief.variance]
    if len(usable) < 2:
        return None
    means = [float(r.mean) for r in usable if r.mean is not None]
    variances = [float(r.variance) / r.n for r in usable if r.variance is not None]
    weights = [1 / v for v in variances]
    fixed = sum(w * m for w, m in zip(weights, means, strict=True)) / sum(weights)
    q = sum(w * (m - fixed) ** 2 for w, m in zip(weights, means, strict=True))
    df = len(usable) - 1
    c = sum(weights) - sum(w * w for w in weights) / sum(weights)
    tau2 = max(0.0, (q - df) / c)
    random_weights = [1 / (v + tau2) for v in variances]
    random = sum(w * m for w, m in zip(random_weights, means, strict=True)) / sum(random_weights)
    z = float(stats.norm.ppf((1 + inference.CONFIDENCE) / 2))
    fixed_se, random_se = math.sqrt(1 / sum(weights)), math.sqrt(1 / sum(random_weights))
    return Heterogeneity(
        len(usable),
        q,
        df,
        float(stats.chi2.sf(q, df)),
        max(0.0, (q - df) / q) if q > 0 else 0.0,
        tau2,
        Pooled(fixed, fixed - z * fixed_se, fixed + z * fixed_se),
        Pooled(random, random - z * random_se, random + z * random_se),
    )


MIXED_MODEL_MAX_PATIENTS = 50_000
"""statsmodels' MixedLM takes seconds per 100,000 patients; above this the report keeps
the DerSimonian-Laird random-effects pooling, which needs only the site summaries."""


def mixed_model(frame: pl.DataFrame) -> MixedModel | None:
    """Relief ~ 1 with a random intercept per site (REML); None if it cannot be fitted, does
    not converge, or the cohort is larger than MIXED_MODEL_MAX_PATIENTS."""
    data = frame.select(SITE.name, RELIEF.name).drop_nulls()
    if data.get_column(SITE.name).n_unique() < 2 or data.height > MIXED_MODEL_MAX_PATIENTS:
        return None
    from statsmodels.regression.mixed_linear_model import MixedLM  # slow to import: only now

    y = data.get_column(RELIEF.name).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = MixedLM(
                y, np.ones((len(y), 1)), groups=data.get_column(SITE.name).to_numpy()
            ).fit(reml=True)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            return None
    if not fit.converged:
        return None  # statsmodels' estimates of a failed optimisation are not published
    low, high = (float(x) for x in fit.conf_int(alpha=1 - inference.CONFIDENCE)[0])
    if not all(math.isfinite(x) for x in (low, high, fit.scale, fit.cov_re[0][0])):
        return None  # a degenerate fit (e.g. no within-site variation) reports nothing
    overall = Pooled(float(fit.fe_params[0]), low, high)
    return MixedModel(overall, float(fit.cov_re[0][0]), float(fit.scale))


def by_site(frame: pl.DataFrame) -> SiteAnalysis:
    summaries = describe.continuous_by(frame, RELIEF.name, RELIEF.scale, SITE.name)
    rows = tuple(
        _row(str(site), group.rows, group.members, group.summary)
        for site, group in sorted(summaries.items(), key=lambda item: str(item[0]))
    )
    return SiteAnalysis(rows, heterogeneity(rows), mixed_model(frame))
