"""Exact descriptive statistics over Polars columns.

Values with a known number of decimals are scaled to whole numbers and summed as
integers, so means, variances and percentages come out as exact fractions. The
renderers can then round half away from zero exactly as SPSS displays them, even
for a mean of 12.25 that floating point would hold as 12.2499999.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np
import polars as pl

PATIENT_KEY = "patient_id"
"""The column that names a patient in every analysis frame."""

TRACKING_MEMBERS: ContextVar[bool] = ContextVar("sijreg_tracking_members", default=True)
"""Whether statistics record who they count (see :func:`members`)."""


@contextmanager
def without_members() -> Iterator[None]:
    """Compute without the patient bit sets: only small-cell suppression reads them, and
    at a million patients a report's thousand sets cost seconds."""
    token = TRACKING_MEMBERS.set(False)
    try:
        yield
    finally:
        TRACKING_MEMBERS.reset(token)


@dataclass(frozen=True)
class Continuous:
    """Mean and sample SD (n - 1) of the non-missing values; missing ones counted."""

    n: int
    missing: int
    mean: Fraction | None
    variance: Fraction | None
    members: int = field(default=0, compare=False, repr=False)
    """Who has a value, as a bit set of patient ids (see :func:`members`)."""
    missing_members: int = field(default=0, compare=False, repr=False)

    @property
    def sd(self) -> float | None:
        return None if self.variance is None else math.sqrt(self.variance)


@dataclass(frozen=True)
class Count:
    """A count and its percentage of the group's n (missing values stay in n)."""

    count: int
    n: int
    missing: int = 0
    members: int = field(default=0, compare=False, repr=False)
    """Who is counted, as a bit set of patient ids; disclosure control reads it."""
    group: int = field(default=0, compare=False, repr=False)
    missing_members: int = field(default=0, compare=False, repr=False)

    @property
    def percent(self) -> Fraction | None:
        return Fraction(100 * self.count, self.n) if self.n else None


def members(frame: pl.DataFrame, condition: pl.Expr | None = None) -> int:
    """The patients of ``frame`` meeting ``condition`` as a bit set (bit i = patient id i).

    Published counts are sizes of such sets; disclosure control compares the sets to
    find counts one could recover by subtraction. Frames without patient ids give 0.
    """
    if PATIENT_KEY not in frame.columns or not TRACKING_MEMBERS.get():
        return 0
    ids_column = pl.col(PATIENT_KEY).cast(pl.Int64)
    if condition is not None:  # with_columns broadcasts a constant condition to every row
        chosen = frame.with_columns(condition.fill_null(False).alias("_in"))
        ids = chosen.filter(pl.col("_in")).select(ids_column).to_series().to_numpy()
    else:
        ids = frame.select(ids_column).to_series().to_numpy()
    if len(ids) == 0:
        return 0
    bits = np.zeros(int(ids.max()) + 1, dtype=bool)
    bits[ids] = True
    return int.from_bytes(np.packbits(bits, bitorder="little").tobytes(), "little")


def _scaled(column: pl.Expr, scale: int, dtype: type[pl.DataType] = pl.Int64) -> pl.Expr:
    """Values as whole numbers of 1/scale (sums of squares may need Int128: ``_sums``)."""
    return (column * scale).round().cast(dtype)


def _sums(frame: pl.DataFrame, column: str, scale: int) -> list[pl.Expr]:
    """The count, missing count, sum and sum of squares of the scaled values: summed in
    Int64 when no sum of squares over the frame can overflow it (its largest value looked
    up first, a fraction of the cost), in Int128 otherwise (half as fast)."""
    top = frame.select(_scaled(pl.col(column).abs().max(), scale)).item()
    wide = top is not None and frame.height * (top + 1) ** 2 >= 2**62
    dtype = pl.Int128 if wide else pl.Int64
    return [
        pl.col(column).is_not_null().sum().alias("n"),
        pl.col(column).is_null().sum().alias("missing"),
        _scaled(pl.col(column), scale, dtype).sum().alias("total"),
        (_scaled(pl.col(column), scale, dtype) ** 2).sum().alias("squares"),
    ]


def _summary(sums: tuple[Any, ...], scale: int, members: int, missing: int) -> Continuous:
    n, unknown, total, squares = (int(x or 0) for x in sums)
    mean = Fraction(total, n * scale) if n else None
    variance = Fraction(n * squares - total * total, n * (n - 1) * scale * scale) if n > 1 else None
    return Continuous(n, unknown, mean, variance, members, missing)


def continuous(frame: pl.DataFrame, column: str, scale: int = 1) -> Continuous:
    """Summarise a numeric column holding values with at most log10(scale) decimals."""
    return _summary(
        frame.select(_sums(frame, column, scale)).row(0),
        scale,
        members(frame, pl.col(column).is_not_null()),
        members(frame, pl.col(column).is_null()),
    )


@dataclass(frozen=True)
class GroupSummary:
    """One group's number of rows, who they are (see :func:`members`) and a column's summary."""

    rows: int
    members: int
    summary: Continuous


def continuous_by(
    frame: pl.DataFrame, column: str, scale: int, by: str
) -> dict[object, GroupSummary]:
    """:func:`continuous` of each group of ``by`` (rows where it is null left out): the
    sums in one pass over the frame however many groups there are; the patient sets, when
    tracked, from each group's own rows."""
    grouped = frame.filter(pl.col(by).is_not_null())
    sums = grouped.group_by(by).agg(pl.len().alias("_rows"), *_sums(grouped, column, scale))
    parts = grouped.partition_by(by, as_dict=True) if TRACKING_MEMBERS.get() else {}
    known, untracked = pl.col(column).is_not_null(), grouped.clear()
    out: dict[object, GroupSummary] = {}
    for key, size, *totals in sums.iter_rows():
        part = parts.get((key,), untracked)
        summary = _summary(tuple(totals), scale, members(part, known), members(part, ~known))
        out[key] = GroupSummary(size, members(part), summary)
    return out


def count(frame: pl.DataFrame, condition: pl.Expr, known: pl.Expr) -> Count:
    """How many rows meet ``condition`` among all rows; rows where ``known`` fails are missing."""
    hits, missing = frame.select(
        (condition & known).fill_null(False).sum().alias("hits"), (~known).sum().alias("missing")
    ).row(0)
    return Count(
        int(hits),
        frame.height,
        int(missing),
        members(frame, condition & known),
        members(frame),
        members(frame, ~known),
    )


def scaled_values(frame: pl.DataFrame, column: str, scale: int) -> np.ndarray:
    """The known values of ``column`` as whole scaled numbers, sorted (see :func:`at_least`)."""
    values = frame.select(_scaled(pl.col(column), scale)).to_series()
    return np.sort(values.drop_nulls().to_numpy())


def count_at_least(sorted_values: np.ndarray, threshold: Fraction, scale: int) -> int:
    """How many ``scaled_values`` are >= ``threshold`` (:func:`at_least`, by bisection)."""
    bound = math.ceil(threshold * scale)
    return int(len(sorted_values) - np.searchsorted(sorted_values, bound, side="left"))


def at_least(column: str, threshold: Fraction, scale: int) -> pl.Expr:
    """``column >= threshold``, inclusive and exact: compared as whole scaled numbers."""
    bound = math.ceil(threshold * scale)
    return _scaled(pl.col(column), scale) >= bound


@dataclass(frozen=True)
class Quartiles:
    """Median and quartiles by SPSS's default (HAVERAGE) definition, exact."""

    q1: Fraction
    median: Fraction
    q3: Fraction


def haverage(sorted_values: np.ndarray, share: Fraction, scale: int = 1) -> Fraction:
    """The ``share`` percentile (0-1) of sorted whole scaled numbers, by SPSS's HAVERAGE:
    at position w = (n + 1) share, x(k) + (w - k)(x(k+1) - x(k)) with k = floor(w), the
    smallest value below position 1 and the largest above n (numpy's 'weibull')."""
    n = len(sorted_values)
    position = (n + 1) * share
    k = math.floor(position)
    if k < 1:
        return Fraction(int(sorted_values[0]), scale)
    if k >= n:
        return Fraction(int(sorted_values[-1]), scale)
    low, high = int(sorted_values[k - 1]), int(sorted_values[k])
    return (low + (position - k) * (high - low)) / scale


def quartiles(sorted_values: np.ndarray, scale: int = 1) -> Quartiles | None:
    """Quartiles of sorted whole scaled numbers (:func:`scaled_values`); None without values."""
    if len(sorted_values) == 0:
        return None
    q1, median, q3 = (haverage(sorted_values, Fraction(k, 4), scale) for k in (1, 2, 3))
    return Quartiles(q1, median, q3)
