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
