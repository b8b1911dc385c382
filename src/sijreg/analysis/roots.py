"""Brent's root finder, SciPy's ``optimize.brentq`` transcribed step for step.

The REML fit (random_intercept.py) needs one bracketed root of a smooth function, a few
dozen evaluations; importing ``scipy.optimize`` for it costs about 0.35 CPU-s (it pulls
in scipy.linalg and scipy.sparse), more than the rest of the site analysis at a million
patients. This is the algorithm of SciPy's C source (``Zeros/brentq.c``, Charles
Harris's), the same operations in the same order, so it returns the same float;
tests/test_roots.py checks that against ``scipy.optimize.brentq`` bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable


def brentq(
    f: Callable[[float], float], a: float, b: float, xtol: float, rtol: float, maxiter: int
) -> float:
    """A root of ``f`` in [a, b], where f(a) and f(b) differ in sign, to within
    xtol + rtol |x| (as ``scipy.optimize.brentq(f, a, b, xtol, rtol, maxiter)``).

    ValueError when f(a) and f(b) have the same sign, RuntimeError without convergence
    in ``maxiter`` iterations (SciPy raises the same).
    """
    xpre, xcur = float(a), float(b)
    xblk = fblk = spre = scur = 0.0
    fpre, fcur = float(f(xpre)), float(f(xcur))
    if fpre == 0:
        return xpre
    if fcur == 0:
        return xcur
    if math.copysign(1.0, fpre) == math.copysign(1.0, fcur):
        raise ValueError("f(a) and f(b) must have different signs")
    for _ in range(maxiter):
        if fpre != 0 and fcur != 0 and math.copysign(1.0, fpre) != math.copysign(1.0, fcur):
            xblk, fblk = xpre, fpre
            spre = scur = xcur - xpre
        if abs(fblk) < abs(fcur):
            xpre, xcur, xblk = xcur, xblk, xcur
            fpre, fcur, fblk = fcur, fblk, fcur
        delta = (xtol + rtol * abs(xcur)) / 2
        sbis = (xblk - xcur) / 2
        if fcur == 0 or abs(sbis) < delta:
            return xcur
        if abs(spre) > delta and abs(fcur) < abs(fpre):
            if xpre == xblk:  # interpolate
                stry = -fcur * (xcur - xpre) / (fcur - fpre)
            else:  # extrapolate (inverse quadratic)
                dpre = (fpre - fcur) / (xpre - xcur)
                dblk = (fblk - fcur) / (xblk - xcur)
                stry = -fcur * (fblk * dblk - fpre * dpre) / (dblk * dpre * (fblk - fpre))
            if 2 * abs(stry) < min(abs(spre), 3 * abs(sbis) - delta):
                spre, scur = scur, stry  # a good short step
            else:
                spre = scur = sbis  # bisect
        else:
            spre = scur = sbis  # bisect
        xpre, fpre = xcur, fcur
        xcur += scur if abs(scur) > delta else (delta if sbis > 0 else -delta)
        fcur = float(f(xcur))
    raise RuntimeError(f"no convergence in {maxiter} iterations")
