"""Everything the report shows beyond Tables 1-3, computed from the same cohort."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from sijreg.analysis import followup, ranks, responders, sites, visits
from sijreg.analysis.compare import Comparison, compare
from sijreg.analysis.describe import Continuous, members
from sijreg.analysis.missing import MissingRow, missing_table
from sijreg.analysis.responders import Curve, Histogram
from sijreg.analysis.tables import StudyTables, groups
from sijreg.analysis.variables import FOLLOWUP_DAYS, RELIEF, grouping_variable


@dataclass(frozen=True)
class Correlation:
    """Spearman's rank correlation of relief with follow-up time (last visit)."""

    n: int
    members: int
    rho: float | None
    p: float | None


@dataclass(frozen=True)
class Extended:
    comparisons: tuple[Comparison, ...]
    curve: Curve
    subgroup_curves: tuple[tuple[str, str, Curve], ...]
    histogram: Histogram
    subgroup_histograms: tuple[tuple[str, str, Histogram], ...]
    over_time: tuple[visits.WindowResult, ...]
    baseline: dict[str, Continuous]
    relief_vs_time: Correlation
    sites: sites.SiteAnalysis
    missing_sites: tuple[str, ...]
    missing: tuple[MissingRow, ...]
    person_time: followup.PersonTime
    sensitivity: followup.Sensitivity
    outcome_at: followup.OutcomeAt | None = None


def correlation(frame: pl.DataFrame) -> Correlation:
    """Does relief depend on how long after the fusion it was asked? (last follow-up)"""
    both = pl.col(RELIEF.name).is_not_null() & pl.col(FOLLOWUP_DAYS.name).is_not_null()
    data = frame.filter(both)
    relief = data.get_column(RELIEF.name).to_numpy()
    days = data.get_column(FOLLOWUP_DAYS.name).to_numpy()
    if data.height < 3 or np.ptp(relief) == 0 or np.ptp(days) == 0:  # rho undefined
        return Correlation(data.height, members(frame, both), None, None)
    rho, p = ranks.spearman(relief, days, RELIEF.scale, FOLLOWUP_DAYS.scale)
    return Correlation(data.height, members(frame, both), rho, p)


def _over_time(
    cohort_visits: pl.DataFrame, months: tuple[int, ...]
) -> tuple[tuple[visits.WindowResult, ...], dict[str, Continuous]]:
    """The outcomes per visit window and at baseline (none without visits)."""
    if not cohort_visits.height:
        return (), {}
    base = visits.baseline(cohort_visits)
    return visits.over_time(cohort_visits, months, base), visits.baseline_measures(base)


def extended(tables: StudyTables) -> Extended:
    settings = tables.settings
    frame = tables.cohort.frame
    method = settings.ci_method
    missing_sites, missing = missing_table(frame)
    over_time, baseline = _over_time(tables.cohort.visits, settings.windows)
    return Extended(
        comparisons=tuple(
            compare(frame, grouping_variable(name), settings.thresholds, settings.tests)
            for name in settings.compare
        ),
        curve=responders.curve(frame, method),
        subgroup_curves=tuple(
            (code, label, responders.curve(frame.filter(cond), method))
            for code, label, cond in groups(frame, tables.subgroup)
        ),
        histogram=responders.histogram(frame),
        subgroup_histograms=tuple(
            (code, label, responders.histogram(frame.filter(cond)))
            for code, label, cond in groups(frame, tables.subgroup)
        ),
        over_time=over_time,
        baseline=baseline,
        relief_vs_time=correlation(frame),
        sites=sites.by_site(frame, settings.pooling),
        missing_sites=missing_sites,
        missing=missing,
        person_time=followup.person_time(frame),
        sensitivity=followup.sensitivity(frame, settings.thresholds),
        outcome_at=None
        if settings.outcome_at is None
        else followup.outcome_at(
            tables.cohort, settings.outcome_at, settings.windows, settings.thresholds
        ),
    )
