"""Nudging whole-number samples until their displayed mean and SD equal published ones.

A random sample never has exactly the mean and SD a paper prints. ``tune`` moves
values one unit at a time, each within its own bounds (so responder counts and
minimum follow-up are kept), until mean and SD, rounded as the report rounds
them, read as the targets.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction

from sijreg.report.spss import round_half_away, round_sqrt_half_away


@dataclass(frozen=True)
class Target:
    """The displayed figures to reach: mean and SD as text, values divided by ``scale``."""

    mean: str
    sd: str
    scale: int = 1

    def reads(self, values: Sequence[int]) -> bool:
        n, total = len(values), sum(values)
        squares = sum(v * v for v in values)
        mean = Fraction(total, n * self.scale)
        variance = Fraction(n * squares - total * total, n * (n - 1) * self.scale**2)
        return round_half_away(mean) == self.mean and round_sqrt_half_away(variance) == self.sd


def tune(
    values: list[int],
    low: Sequence[int],
    high: Sequence[int],
    target: Target,
    rng: random.Random,
    movable: Sequence[bool] | None = None,
    max_steps: int = 200_000,
) -> list[int]:
    """Return a copy of ``values`` whose displayed mean and SD equal ``target``.

    Only positions where ``movable`` is true change (all by default); each stays in
    ``[low[i], high[i]]``. Raises RuntimeError if the target cannot be reached.
    """
    out = list(values)
    movable = movable if movable is not None else [True] * len(out)
    mean_goal = float(target.mean) * target.scale
    sd_goal = float(target.sd) * target.scale
    indices = [i for i, m in enumerate(movable) if m]
    for _ in range(max_steps):
        if target.reads(out):
            return out
        n = len(out)
        mean = sum(out) / n
        sd = math.sqrt(sum((v - mean) ** 2 for v in out) / (n - 1))
        mean_gap, sd_gap = mean_goal - mean, sd_goal - sd
        i = rng.choice(indices)
        if abs(mean_gap) * 20 > abs(sd_gap) or rng.random() < 0.3:
            step = 1 if mean_gap > 0 else -1
            if low[i] <= out[i] + step <= high[i]:
                out[i] += step
            continue
        j = rng.choice(indices)
        upper, lower = (i, j) if out[i] >= out[j] else (j, i)
        spread = 1 if sd_gap > 0 else -1
        if (
            upper != lower
            and low[upper] <= out[upper] + spread <= high[upper]
            and low[lower] <= out[lower] - spread <= high[lower]
        ):
            out[upper] += spread
            out[lower] -= spread
    raise RuntimeError(f"could not tune values to mean {target.mean} and SD {target.sd}")
