"""Outcomes over time: visits in windows after the fusion, and paired change from baseline.

Window rule: window centres are months after the fusion (default 3, 6, 12, 24; a
month is 30.4375 days). A window runs from the midpoint with the previous centre
(half the first centre, for the first window) up to, not including, the midpoint
with the next centre (for the last: the centre plus half the gap to the previous).
Visits fall on whole days: day d is inside [lo, hi) when ceil(lo) <= d < ceil(hi)
(``first_day``). When a patient has several visits in one window, the one closest
to the centre is taken; of two equally close, the earlier. Baseline is the
patient's last visit marked baseline (the rules keep it on or before the fusion date);
a visit in a window is a follow-up, never a baseline visit.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl
from numpy.typing import NDArray

from sijreg.analysis import describe, inference
from sijreg.analysis.cohort import FOLLOW_UP, rows_of
from sijreg.analysis.describe import Continuous
from sijreg.analysis.inference import TestResult
from sijreg.domain import dictionary as dd

DAYS_PER_MONTH = 30.4375
_MONTH = Fraction(DAYS_PER_MONTH)  # 487/16, exact
MEASURES = ("pain_relief_pct", "nrs_pain", "odi")
"""Measures followed over time; relief has no baseline (it is itself a change)."""


@dataclass(frozen=True)
class Window:
    months: int
    start_day: int
    end_day: int
    """Days since fusion: start inclusive, end exclusive."""

    @property
    def key(self) -> str:
        return f"m{self.months}"


def first_day(months: Fraction) -> int:
    """The first whole day at or after ``months`` months since the fusion: a boundary of
    [lo, hi) on whole days (day d is inside when first_day(lo) <= d < first_day(hi))."""
    return math.ceil(months * _MONTH)


def windows(months: tuple[int, ...]) -> tuple[Window, ...]:
    """The windows around each centre, by the rule in the module docstring."""
    centres = sorted(set(months))
    if not centres or centres[0] <= 0:
        raise ValueError("visit windows must be positive numbers of months")
    bounds = [Fraction(centres[0], 2)]
    bounds += [Fraction(a + b, 2) for a, b in itertools.pairwise(centres)]
    bounds.append(centres[-1] + (centres[-1] - bounds[-1]))
    return tuple(
        Window(m, first_day(lo), first_day(hi))
        for m, lo, hi in zip(centres, bounds, bounds[1:], strict=False)
    )


@dataclass(frozen=True)
class Paired:
    """Change from baseline in one window, among patients with both values."""

    change: Continuous
    ci: inference.Interval | None
    t_test: TestResult | None
    wilcoxon: TestResult | None


@dataclass(frozen=True)
class WindowResult:
    window: Window
    measures: dict[str, Continuous]
    paired: dict[str, Paired]


def _first_per_key(frame: pl.DataFrame, key: pl.Expr, rank: pl.Expr) -> pl.DataFrame:
    """The row of least ``rank`` (a whole number >= 0) for each ``key`` (a whole number >= 0),
    in order of key: one sort on one Int64 made of both, instead of a sort on several
    columns and a group-by (the same rows, several times faster at 1M patients). Keys too
    large to share an Int64 with their ranks sort on the two columns."""
    keyed = frame.with_columns(key.cast(pl.Int64).alias("_key"), rank.cast(pl.Int64).alias("_rank"))
    most = keyed.select(pl.col("_key").max(), pl.col("_rank").max()).row(0)
    span = (most[1] or 0) + 1
    if (most[0] or 0) < (1 << 62) // span:
        ordered = keyed.sort(pl.col("_key") * span + pl.col("_rank"))
    else:
        ordered = keyed.sort("_key", "_rank")
    first = pl.col("_key").ne_missing(pl.col("_key").shift(1))
    return ordered.filter(first).drop("_key", "_rank")


def baseline(visits: pl.DataFrame) -> pl.DataFrame:
    """Each patient's last visit marked baseline (on or before the fusion, by the rules),
    in order of patient."""
    days = pl.col("days_since_fusion")
    marked = visits.filter(pl.col("baseline") == 1)
    latest = marked.select(days.max()).item()
    return _first_per_key(marked, pl.col("patient_id"), (latest or 0) - days)


def _closeness(window: Window) -> pl.Expr:
    """How far a visit lies from the window's centre, as a whole number that orders the
    visits by the rule: 16 x |days - centre| is whole (the centre is months x 487/16 days,
    ``_MONTH``), doubled, plus one after the centre, so the closer comes first and, of two
    as close, the earlier."""
    offset = pl.col("days_since_fusion") * _MONTH.denominator - window.months * _MONTH.numerator
    return offset.abs() * 2 + (offset > 0).cast(pl.Int64)


def in_windows(visits: pl.DataFrame, months: tuple[int, ...]) -> pl.DataFrame:
    """Per patient and window the visit of the window closest to its centre (the earlier on
    a tie), in order of patient then window, with the window's position in ``windows(months)``
    in column "window": every window in one pass (the windows follow one another)."""
    bounds = windows(months)
    days = pl.col("days_since_fusion")
    inside = days.is_between(bounds[0].start_day, bounds[-1].end_day, closed="left")
    position = pl.lit(0, pl.Int64)
    for i, window in enumerate(bounds[1:], start=1):
        position = pl.when(days >= window.start_day).then(i).otherwise(position)
    closeness = pl.lit(0, pl.Int64)
    for i, window in enumerate(bounds):
        closeness = pl.when(pl.col("window") == i).then(_closeness(window)).otherwise(closeness)
    chosen = visits.filter(FOLLOW_UP & inside).with_columns(position.alias("window"))
    return _first_per_key(chosen, pl.col("patient_id") * len(bounds) + pl.col("window"), closeness)


def in_window(visits: pl.DataFrame, window: Window) -> pl.DataFrame:
    """Per patient the visit of the window closest to its centre (the earlier on a tie)."""
    days = pl.col("days_since_fusion")
    inside = FOLLOW_UP & (days >= window.start_day) & (days < window.end_day)
    return _first_per_key(visits.filter(inside), pl.col("patient_id"), _closeness(window))


def _paired(change: Continuous, differences: NDArray[np.float64]) -> Paired:
    """The change from baseline: its summary, interval and tests."""
    tests = inference.compare_paired(differences)
    ci = (
        inference.mean_interval(change.n, float(change.mean), change.sd)
        if change.mean is not None
        else None
    )
    return Paired(change, ci, *(tests if tests else (None, None)))


PAIRED = tuple(m for m in MEASURES if m != "pain_relief_pct")


def _per_window(frame: pl.DataFrame, column: str, scale: int, count: int) -> list[Continuous]:
    """:func:`describe.continuous` of ``column`` in each of ``count`` windows, in one pass."""
    summaries = describe.continuous_by(frame, column, scale, "window")
    empty = describe.continuous(frame.clear(), column, scale)
    return [summaries[i].summary if i in summaries else empty for i in range(count)]


def _with_baselines(chosen: pl.DataFrame, base: pl.DataFrame) -> pl.DataFrame:
    """``chosen`` with each patient's baseline NRS and ODI (``_base_<measure>``, null
    without a baseline): looked up by position where ids allow (``rows_of``), else joined."""
    rows = rows_of(base.get_column("patient_id"), chosen.get_column("patient_id"))
    if rows is None or base.is_empty():
        starts = base.select("patient_id", *(pl.col(m).alias(f"_base_{m}") for m in PAIRED))
        return chosen.join(starts, on="patient_id", how="left", maintain_order="left")
    found = pl.Series(rows >= 0)
    at = pl.Series(np.maximum(rows, 0))
    return chosen.with_columns(
        pl.when(found).then(base.get_column(m).gather(at)).alias(f"_base_{m}") for m in PAIRED
    )


def over_time(
    visits: pl.DataFrame, months: tuple[int, ...], base: pl.DataFrame | None = None
) -> tuple[WindowResult, ...]:
    """Each measure per window and, where a baseline exists, the paired change (``base``:
    the patients' baselines, when already chosen). Each summary is one pass over every
    window's visits (grouped by window), not a pass per window."""
    bounds = windows(months)
    base = baseline(visits) if base is None else base
    chosen = _with_baselines(in_windows(visits, months), base)
    measures = {m: _per_window(chosen, m, dd.field(m).scale, len(bounds)) for m in MEASURES}
    paired: dict[str, list[Paired]] = {}
    for m in PAIRED:
        change = (pl.col(m) - pl.col(f"_base_{m}")).alias("change")  # null unless both known
        both = chosen.select("patient_id", "window", change).drop_nulls("change")
        summaries = _per_window(both, "change", dd.field(m).scale, len(bounds))
        window = both.get_column("window").to_numpy()
        differences = both.get_column("change").to_numpy().astype(np.float64)
        paired[m] = [
            _paired(summary, differences[window == i]) for i, summary in enumerate(summaries)
        ]
    return tuple(
        WindowResult(w, {m: measures[m][i] for m in MEASURES}, {m: paired[m][i] for m in PAIRED})
        for i, w in enumerate(bounds)
    )


def baseline_measures(base: pl.DataFrame) -> dict[str, Continuous]:
    """NRS and ODI at baseline (the denominators of the paired changes' starting point),
    from the patients' baselines (:func:`baseline`)."""
    return {m: describe.continuous(base, m, dd.field(m).scale) for m in PAIRED}
