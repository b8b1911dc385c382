"""Named choices of statistical method and the analysis defaults, kept apart from the
statistics themselves.

The command line parses these before any data is read; importing them must not
load SciPy (a second of start-up the report spends reading the database instead).
"""

from __future__ import annotations

from enum import StrEnum

DEFAULT_MIN_FOLLOWUP_DAYS = 90
"""Patients are analysed from this many days after the fusion (the seed study's 3 months)."""
DEFAULT_SUBGROUP = "fbss"
"""Table 3's subgroup: the FBSS patients, as in the seed paper."""


class ProportionMethod(StrEnum):
    """How a proportion's confidence interval is computed."""

    WILSON = "wilson"
    """Wilson score interval without continuity correction (the default)."""
    CLOPPER_PEARSON = "clopper-pearson"
    """The exact (conservative) binomial interval from beta quantiles."""


class PoolingMethod(StrEnum):
    """How the random-effects pooled site mean's 95% interval is computed (tau²: DL)."""

    DL = "dl"
    """DerSimonian-Laird: normal interval from the inverse-variance weights (the default)."""
    HKSJ = "hksj"
    """Hartung-Knapp-Sidik-Jonkman: t interval (k - 1 df) from the weighted residual
    variance, better calibrated with few sites."""


class ContinuousTests(StrEnum):
    """How a comparison's continuous rows choose their test (stated before the data are seen)."""

    AUTO = "auto"
    """Shapiro-Wilk decides per row: Welch / ANOVA when no group rejects normality, else ranks."""
    PARAMETRIC = "parametric"
    """Welch t-test (two groups) or one-way ANOVA for every continuous row."""
    RANK = "rank"
    """Mann-Whitney U (two groups) or Kruskal-Wallis for every continuous row."""


class Adjustment(StrEnum):
    """Multiplicity adjustment of a comparison table's p-values."""

    NONE = "none"
    """p-values are descriptive, unadjusted."""
    HOLM = "holm"
    """Holm's step-down adjustment over the p-values one comparison table publishes."""
