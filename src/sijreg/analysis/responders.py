"""The cumulative responder curve and the relief histogram.

The curve gives, for every threshold x = 0, 1, …, 100, the share of patients whose
relief is at least x (inclusive, exact), with a pointwise 95% band. Its denominator
is the patients with a recorded relief (stated with the curve).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from sijreg.analysis import describe, inference
from sijreg.analysis.methods import ProportionMethod
from sijreg.analysis.variables import RELIEF

CURVE_POINTS = tuple(range(101))
BIN_WIDTH = 10


@dataclass(frozen=True)
class Curve:
    n: int
    """Patients with a recorded relief: the denominator of every share."""
    counts: tuple[int, ...]
    members: tuple[int, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    n_members: int
    method: str

    @property
    def shares(self) -> tuple[float, ...]:
        return tuple(c / self.n if self.n else float("nan") for c in self.counts)


@dataclass(frozen=True)
class Histogram:
    edges: tuple[int, ...]
    counts: tuple[int, ...]
    members: tuple[int, ...]


def curve(frame: pl.DataFrame, method: ProportionMethod) -> Curve:
    """Share with relief >= x for every x in CURVE_POINTS, with the pointwise band."""
    known = frame.filter(pl.col(RELIEF.name).is_not_null())
    conditions = [describe.at_least(RELIEF.name, Fraction(x), RELIEF.scale) for x in CURVE_POINTS]
    values = describe.scaled_values(known, RELIEF.name, RELIEF.scale)
    counts_array = np.array(
        [describe.count_at_least(values, Fraction(x), RELIEF.scale) for x in CURVE_POINTS],
        dtype=np.int64,
    )
    low, high = inference.proportion_band(counts_array, known.height, method)
    return Curve(
        known.height,
        tuple(int(c) for c in counts_array),
        tuple(describe.members(known, c) for c in conditions),
        tuple(low),
        tuple(high),
        describe.members(known),
        method.value,
    )


def histogram(frame: pl.DataFrame) -> Histogram:
    """Patients per 10-point band of relief; the last band, 90-100, includes 100."""
    edges = tuple(range(0, 101, BIN_WIDTH))

    def at_least(x: int) -> pl.Expr:
        return describe.at_least(RELIEF.name, Fraction(x), RELIEF.scale)

    conditions = [
        at_least(lo) & ~at_least(hi) if hi < edges[-1] else at_least(lo)
        for lo, hi in itertools.pairwise(edges)
    ]
    counts = frame.select([c.sum().alias(str(i)) for i, c in enumerate(conditions)]).row(0)
    return Histogram(
        edges,
        tuple(int(c or 0) for c in counts),
        tuple(describe.members(frame, c) for c in conditions),
    )
