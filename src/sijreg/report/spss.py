"""Displayed numbers as SPSS shows them: rounded half away from zero, exactly.

Python's ``format(6.25, '.1f')`` gives 6.2 (half to even, on a binary float); SPSS
shows 6.3. We round the exact fractions the analysis computed, so a mean of
12.25 shows as 12.3 however it would be stored as a float.
"""

from __future__ import annotations

import math
from fractions import Fraction

from sijreg.analysis.describe import Continuous, Count


def round_half_away(value: Fraction, places: int = 1) -> str:
    """``value`` rounded half away from zero to ``places`` decimals."""
    scaled = abs(value) * 10**places
    whole = math.floor(scaled)
    if scaled - whole >= Fraction(1, 2):
        whole += 1
    return _decimal_text(whole, places, negative=value < 0 and whole != 0)


def round_sqrt_half_away(square: Fraction, places: int = 1) -> str:
    """The square root of ``square`` (>= 0) rounded half away from zero, decided exactly."""
    scaled = square * 10 ** (2 * places)
    whole = math.isqrt(math.floor(scaled))
    if 4 * scaled >= (2 * whole + 1) ** 2:
        whole += 1
    return _decimal_text(whole, places, negative=False)


def _decimal_text(whole: int, places: int, *, negative: bool) -> str:
    digits = str(whole).rjust(places + 1, "0")
    text = f"{digits[:-places]}.{digits[-places:]}" if places else digits
    return f"-{text}" if negative else text


def mean_sd(stat: Continuous, suffix: str = "", places: int = 1) -> str:
    """'69.8 ± 9.0'; with suffix '%': '67.6% ± 28.9%'. Dashes where there is no value."""
    if stat.mean is None:
        return "–"
    mean = round_half_away(stat.mean, places) + suffix
    if stat.variance is None:
        return mean
    return f"{mean} ± {round_sqrt_half_away(stat.variance, places)}{suffix}"


def count_percent(stat: Count, places: int = 1) -> str:
    """'60 (54.1%)': the count and its percentage of the group's n."""
    if stat.percent is None:
        return f"{stat.count}"
    return f"{stat.count} ({round_half_away(stat.percent, places)}%)"


def display(stat: Continuous | Count, suffix: str = "") -> str:
    """The table cell for a statistic."""
    return mean_sd(stat, suffix) if isinstance(stat, Continuous) else count_percent(stat)


def p_value(p: float) -> str:
    """A p-value as journals print it: '<0.001', else three decimals ('0.046', '1.000')."""
    if p < 0.001:
        return "<0.001"
    return round_half_away(Fraction(p), 3)


def number(value: float, places: int = 1) -> str:
    """A float shown like every other figure: rounded half away from zero."""
    return round_half_away(Fraction(value), places)


def interval(low: float, high: float, places: int = 1) -> str:
    """'62.2 to 73.0': a confidence interval (an en dash would be ambiguous with negatives)."""
    return f"{number(low, places)} to {number(high, places)}"
