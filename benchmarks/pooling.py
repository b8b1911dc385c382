"""Time the site analysis (``sites.by_site``) and its REML fit from site summaries against
statsmodels' MixedLM on the patients (the report's former path, capped at 50,000).

Synthetic relief values (one decimal, 0-100, a between-site SD of 5 and a residual SD of
25), one site per 100 patients; CPU seconds of this process. Results go to
benchmarks/POOLING.md.

    python -m benchmarks.pooling                       # 1k, 10k, 50k and 100k patients
    python -m benchmarks.pooling 10000 --mixedlm-max 0  # without MixedLM
"""

from __future__ import annotations

import argparse
import resource
import warnings
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import polars as pl

from benchmarks.run import HERE, _machine
from sijreg.analysis.sites import MixedModel, by_site, mixed_model
from sijreg.analysis.variables import RELIEF, SITE


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _timed(call: Callable[[], Any]) -> tuple[Any, float]:
    start = _cpu()
    result = call()
    return result, _cpu() - start


def _data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    sites = max(2, n // 100)
    groups = rng.integers(0, sites, n)
    y = 60 + rng.normal(0, 5, sites)[groups] + rng.normal(0, 25, n)
    return np.round(np.clip(y, 0, 100), 1), groups


def _mixedlm(y: np.ndarray, groups: np.ndarray, **options: Any) -> Any:
    from statsmodels.regression.mixed_linear_model import MixedLM

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return MixedLM(y, np.ones((len(y), 1)), groups=groups).fit(reml=True, **options)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1_000, 10_000, 50_000, 100_000])
    parser.add_argument("--mixedlm-max", type=int, default=50_000)
    args = parser.parse_args()
    lines = [
        "# Pooling over sites benchmark",
        "",
        "Written by `benchmarks/pooling.py` (`python -m benchmarks.pooling`).",
        "",
        *_machine(),
        "",
        "CPU seconds (user + sys) of one run in this process. `by_site`: the whole site "
        "analysis (per-site summaries, pooling, REML fit); `REML`: the fit from the site "
        "summaries alone; `MixedLM`: statsmodels on the patients with default options (as the "
        "report ran it before), and its convergence flag (in brackets: refitted with BFGS to "
        "a gradient of 1e-12); max rel. diff.: the largest relative difference of estimate, "
        "SE and the two variances between the REML fit and the refitted MixedLM. Where "
        "MixedLM does not converge the difference is its optimiser's: the REML objective "
        "is lower at sijreg's fit (tests/test_random_intercept.py checks such a case).",
        "",
        "| patients | sites | by_site | REML | MixedLM | MixedLM converged | max rel. diff. |",
        "| ---: | ---: | ---: | ---: | ---: | --- | ---: |",
    ]
    for n in args.sizes:
        y, groups = _data(n)
        frame = pl.DataFrame({SITE.name: [f"S{g}" for g in groups], RELIEF.name: y})
        analysis, whole = _timed(partial(by_site, frame))
        fit, alone = _timed(partial(mixed_model, analysis.rows))
        assert isinstance(fit, MixedModel)
        row = f"| {n:,} | {groups.max() + 1:,} | {whole:.3f} | {alone * 1000:.1f} ms |"
        if n <= args.mixedlm_max:
            default, seconds = _timed(partial(_mixedlm, y, groups))
            theirs = _mixedlm(y, groups, method=["bfgs"], gtol=1e-12, maxiter=5000)
            ours = (fit.overall.estimate, fit.overall.se, fit.site_variance, fit.residual_variance)
            reference = (
                theirs.fe_params[0],
                theirs.bse_fe[0],
                np.asarray(theirs.cov_re)[0, 0],
                theirs.scale,
            )
            diff = max(abs(a - b) / abs(b) for a, b in zip(ours, reference, strict=True))
            row += f" {seconds:.2f} | {default.converged} ({theirs.converged}) | {diff:.1e} |"
        else:
            row += " not run | | |"
        lines.append(row)
        print(row, flush=True)
    (HERE / "POOLING.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
