"""Effect estimates of a two-group comparison, each with its 95% confidence interval.

First group minus (or over) the second, as the comparison tables order them. The
methods are the ones a reviewer expects (docs/analysis.md names them and their sources):
Welch's interval for a difference of means, Newcombe's hybrid score interval (his
method 10, from two Wilson intervals) for a difference of proportions, the log method
for a ratio of proportions, and the large-sample normal interval for a standardized
difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from sijreg.analysis.inference import proportion_interval, t_critical, z_critical
from sijreg.analysis.methods import ProportionMethod


@dataclass(frozen=True)
class Estimate:
    """An effect and its interval; the interval is None when it is undefined."""

    value: float
    low: float | None
    high: float | None
    method: str


def _z() -> float:
    return z_critical()


def mean_difference(a: NDArray[np.float64], b: NDArray[np.float64]) -> Estimate | None:
    """mean a - mean b with Welch's t interval (Welch-Satterthwaite df); None below 2 values
    a group. Two constant groups have a difference but no interval."""
    if len(a) < 2 or len(b) < 2:
        return None
    difference = float(np.mean(a)) - float(np.mean(b))
    va, vb = float(np.var(a, ddof=1)) / len(a), float(np.var(b, ddof=1)) / len(b)
    if va + vb == 0:
        return Estimate(difference, None, None, "Welch")
    df = (va + vb) ** 2 / (va**2 / (len(a) - 1) + vb**2 / (len(b) - 1))
    half = t_critical(df) * math.sqrt(va + vb)
    return Estimate(difference, difference - half, difference + half, "Welch")


def risk_difference(yes_a: int, n_a: int, yes_b: int, n_b: int) -> Estimate | None:
    """p a - p b with Newcombe's hybrid score interval (1998, method 10); None if a group is
    empty. With Wilson limits (l, u) of each proportion, the interval is
    d - sqrt((p a - l a)² + (u b - p b)²) to d + sqrt((u a - p a)² + (p b - l b)²)."""
    wa = proportion_interval(yes_a, n_a, ProportionMethod.WILSON)
    wb = proportion_interval(yes_b, n_b, ProportionMethod.WILSON)
    if wa is None or wb is None:
        return None
    pa, pb = yes_a / n_a, yes_b / n_b
    d = pa - pb
    low = d - math.sqrt((pa - wa.low) ** 2 + (wb.high - pb) ** 2)
    high = d + math.sqrt((wa.high - pa) ** 2 + (pb - wb.low) ** 2)
    return Estimate(d, low, high, "Newcombe hybrid score")


def relative_risk(yes_a: int, n_a: int, yes_b: int, n_b: int) -> Estimate | None:
    """(yes a / n a) / (yes b / n b) with the log interval,
    exp(log RR ± z √(1/yes a - 1/n a + 1/yes b - 1/n b)); None when either count is 0."""
    if yes_a == 0 or yes_b == 0 or n_a == 0 or n_b == 0:
        return None
    ratio = (yes_a / n_a) / (yes_b / n_b)
    se = math.sqrt(1 / yes_a - 1 / n_a + 1 / yes_b - 1 / n_b)
    half = _z() * se
    return Estimate(ratio, ratio * math.exp(-half), ratio * math.exp(half), "log")


def smd_interval(smd: float, n_a: int, n_b: int) -> Estimate:
    """The standardized difference with smd ± z √((n a + n b) / (n a n b) + smd² / (2 (n a + n b)))
    (Hedges and Olkin's large-sample variance; the same for proportions)."""
    se = math.sqrt((n_a + n_b) / (n_a * n_b) + smd * smd / (2 * (n_a + n_b)))
    half = _z() * se
    return Estimate(smd, smd - half, smd + half, "normal")
