"""One statistic as JSON keys: the exact values, the display, the 95% interval.

Shared by Tables 1-3 and the added sections, so a count is hidden the same way
everywhere under suppression, and a small group's statistics are withheld the same way
(:meth:`~sijreg.report.disclosure.Cells.described`). Under suppression the mean, SD and
percentage are published as displayed, rounded from the exact fractions.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING, Any

from sijreg.analysis.describe import Continuous, Count
from sijreg.analysis.inference import Interval, mean_interval, proportion_interval
from sijreg.report.disclosure import Cells, Weight
from sijreg.report.spss import (
    display,
    interval,
    mean_sd,
    round_half_away,
    round_sqrt_half_away,
)

if TYPE_CHECKING:
    from sijreg.analysis.tables import StudyTables


def ci_fields(ci: Interval | None, scale: float = 1.0) -> dict[str, Any]:
    """ci_low, ci_high, ci_method and ci_display of an interval (None when there is none)."""
    if ci is None:
        return {"ci_low": None, "ci_high": None, "ci_method": None, "ci_display": None}
    low, high = ci.low * scale, ci.high * scale
    return {
        "ci_low": low,
        "ci_high": high,
        "ci_method": ci.method,
        "ci_display": interval(low, high),
    }


def stat_interval(stat: Continuous | Count, tables: StudyTables) -> Interval | None:
    """The 95% interval of a row's mean (t) or percentage (settings' method)."""
    if isinstance(stat, Continuous):
        return mean_interval_of(stat)
    return proportion_interval(stat.count, stat.n, tables.settings.ci_method)


def row_fields(
    stat: Continuous | Count, suffix: str, tables: StudyTables, cells: Cells
) -> dict[str, Any]:
    """A statistic's JSON keys; hidden counts become markers and take what reveals them along."""
    out: dict[str, Any]
    ci = stat_interval(stat, tables)
    if isinstance(stat, Continuous):
        out = {
            "type": "continuous",
            "n": cells.count(stat.members, stat.n),
            "missing": cells.count(stat.missing_members, stat.missing),
            **_mean_sd(stat, cells),
        }
        if not cells.shown(stat.members):
            ci = None
        out["display"] = display(stat, suffix)
    else:
        out = {
            "type": "count",
            "count": cells.count(stat.members, stat.count),
            "n": cells.count(stat.group, stat.n),
            "missing": cells.count(stat.missing_members, stat.missing),
            "percent": _exact(stat.percent, cells),
        }
        out["display"] = display(stat, suffix)
        if not (cells.shown(stat.members) and cells.shown(stat.group)):
            out["percent"] = None
            ci = None
            out["display"] = str(out["count"])
    out |= ci_fields(ci, 1.0 if isinstance(stat, Continuous) else 100.0)
    return cells.described(stat.members if isinstance(stat, Continuous) else stat.group, out)


def _exact(value: Fraction | None, cells: Cells) -> float | None:
    """An exact figure: unrounded, or under suppression as displayed."""
    if value is None:
        return None
    return float(value) if cells.min_cell is None else float(round_half_away(value))


def _mean_sd(stat: Continuous, cells: Cells) -> dict[str, float | None]:
    """The mean and SD: unrounded, or under suppression as displayed (decided exactly)."""
    sd = stat.sd
    if cells.min_cell is not None and stat.variance is not None:
        sd = float(round_sqrt_half_away(stat.variance))
    return {"mean": _exact(stat.mean, cells), "sd": sd}


def mean_interval_of(stat: Continuous) -> Interval | None:
    return None if stat.mean is None else mean_interval(stat.n, float(stat.mean), stat.sd)


def continuous_fields(stat: Continuous, ci: Interval | None, cells: Cells) -> dict[str, Any]:
    """n, mean, SD, display and the interval; the interval goes when n is hidden."""
    fields = {
        "n": cells.count(stat.members, stat.n, Weight.DETAIL),
        **_mean_sd(stat, cells),
        "display": mean_sd(stat),
        **ci_fields(ci if cells.shown(stat.members) else None),
    }
    return cells.described(stat.members, fields)
