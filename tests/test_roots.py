"""Brent's root finder against scipy.optimize.brentq: the same float, bit for bit."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy import optimize

from sijreg.analysis.roots import brentq

SHAPES: dict[str, Callable[[float, float, float], float]] = {
    "polynomial": lambda x, r, c: (x - r) * (1 + c * c + (x * c) ** 2),
    "tanh": lambda x, r, c: math.tanh(x - r) + c * 1e-3 * (x - r) ** 3,
    "exp": lambda x, r, c: math.exp(x - r) - 1,
    "flat cubic": lambda x, r, c: (x - r) ** 3 * abs(c) + (x - r) * 1e-6,
}
TOLERANCES = [(1e-300, 4 * float(np.finfo(float).eps)), (2e-12, 8.9e-16), (1e-3, 1e-3)]


@given(
    st.sampled_from(sorted(SHAPES)),
    st.floats(-3, 3),
    st.floats(-2, 2),
    st.floats(0.01, 5),
    st.floats(0.01, 5),
    st.sampled_from(TOLERANCES),
    st.booleans(),
)
def test_brentq_is_scipys_to_the_bit(
    shape: str,
    root: float,
    c: float,
    left: float,
    right: float,
    tolerances: tuple[float, float],
    swapped: bool,
) -> None:
    def f(x: float) -> float:
        return float(SHAPES[shape](x, root, c))

    a, b = (root + right, root - left) if swapped else (root - left, root + right)
    xtol, rtol = tolerances
    ours = brentq(f, a, b, xtol, rtol, 500)
    assert ours == optimize.brentq(f, a, b, xtol=xtol, rtol=rtol, maxiter=500)


def test_same_signs_and_no_convergence_are_errors_as_in_scipy() -> None:
    with pytest.raises(ValueError, match="different signs"):
        brentq(lambda x: x * x + 1, -1.0, 1.0, 1e-12, 1e-15, 100)
    with pytest.raises(RuntimeError, match="convergence"):
        brentq(lambda x: x**3 - 2, 0.0, 5.0, 1e-300, 1e-15, 3)
    with pytest.raises(RuntimeError):
        optimize.brentq(lambda x: x**3 - 2, 0.0, 5.0, xtol=1e-300, rtol=1e-15, maxiter=3)
