"""Displayed numbers round half away from zero, exactly, as SPSS shows them."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, localcontext
from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from sijreg.report.spss import round_half_away, round_sqrt_half_away


def test_published_example() -> None:
    assert round_half_away(Fraction(625, 100)) == "6.3"  # Python's format gives 6.2
    assert format(6.25, ".1f") == "6.2"
    assert round_half_away(Fraction(-625, 100)) == "-6.3"
    assert round_half_away(Fraction(1225, 100)) == "12.3"
    assert round_half_away(Fraction(0)) == "0.0"
    assert round_half_away(Fraction(-1, 100)) == "0.0"


def _decimal_reference(value: Fraction, places: int) -> str:
    with localcontext() as ctx:
        ctx.prec = 60
        exact = Decimal(value.numerator) / Decimal(value.denominator)
        text = str(exact.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))
    return "0.0" if text == "-0.0" else text


@given(
    st.fractions(min_value=-10_000, max_value=10_000, max_denominator=10_000),
    st.integers(min_value=1, max_value=3),
)
def test_matches_decimal_half_up(value: Fraction, places: int) -> None:
    expected = _decimal_reference(value, places)
    got = round_half_away(value, places)
    assert got == expected or (got.lstrip("-") == expected.lstrip("-") and float(got) == 0)


@given(st.fractions(min_value=0, max_value=1_000_000, max_denominator=1000))
def test_square_roots_round_like_high_precision_decimal(square: Fraction) -> None:
    with localcontext() as ctx:
        ctx.prec = 80
        root = (Decimal(square.numerator) / Decimal(square.denominator)).sqrt()
        expected = str(root.quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    assert round_sqrt_half_away(square) == expected


def test_square_root_exactly_on_the_half() -> None:
    assert round_sqrt_half_away(Fraction(390625, 10000)) == "6.3"  # sqrt = 6.25 exactly
