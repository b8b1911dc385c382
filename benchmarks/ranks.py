"""Rank tests: sijreg's (ranks by counting, exact small-n Wilcoxon) against SciPy's.

Both compute the same p-values (tests/test_ranks.py); this measures the processor time
of each on the data a report ranks: relief in tenths (0-1000) and follow-up days, split
into two or four groups, and small paired changes with ties and zeros. Results go to
benchmarks/RANKS.md.

    python -m benchmarks.ranks                  # 100,000 and 1,000,000 values
    python -m benchmarks.ranks 20000
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

from sijreg.analysis import ranks

HERE = Path(__file__).parent
REPEATS = 5


def _cpu(action: Callable[[], object]) -> float:
    """The least processor time of REPEATS runs, in seconds."""
    best = float("inf")
    for _ in range(REPEATS):
        start = time.process_time()
        action()
        best = min(best, time.process_time() - start)
    return best


def _cases(
    n: int, rng: np.random.Generator
) -> list[tuple[str, Callable[[], object], Callable[[], object]]]:
    relief = np.round(rng.beta(3, 1.5, n) * 1000) / 10
    days = rng.integers(90, 1500, n).astype(np.float64)
    a, b = relief[: n // 2], relief[n // 2 :]
    four = np.array_split(relief, 4)
    nrs = rng.integers(-10, 11, n).astype(np.float64)
    return [
        (
            f"ranks of {n:,} reliefs",
            lambda: stats.rankdata(relief),
            lambda: ranks.midranks(relief, 10),
        ),
        (
            f"Mann-Whitney U, 2 x {n // 2:,}",
            lambda: stats.mannwhitneyu(a, b),
            lambda: ranks.mann_whitney_p(a, b, 10),
        ),
        (
            f"Kruskal-Wallis, 4 x {n // 4:,}",
            lambda: stats.kruskal(*four),
            lambda: ranks.kruskal_p(four, 10),
        ),
        (
            f"Wilcoxon signed-rank, {n:,} NRS changes",
            lambda: stats.wilcoxon(nrs),
            lambda: ranks.wilcoxon_p(nrs),
        ),
        (
            f"Spearman, {n:,} pairs",
            lambda: stats.spearmanr(relief, days),
            lambda: ranks.spearman(relief, days, 10, 1),
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[100_000, 1_000_000])
    args = parser.parse_args()
    from benchmarks.run import _machine

    rng = np.random.default_rng(2026)
    rows = []
    changes = [rng.integers(-3, 4, 12).astype(np.float64) for _ in range(REPEATS)]
    changes = [c for c in changes if c.any()]
    rows.append(
        (
            "Wilcoxon signed-rank, 12 NRS changes with ties and zeros (exact)",
            _cpu(lambda: [stats.wilcoxon(c) for c in changes]) / len(changes),
            _cpu(lambda: [ranks.wilcoxon_p(c) for c in changes]) / len(changes),
        )
    )
    for n in args.sizes:
        for name, scipy_way, ours in _cases(n, rng):
            rows.append((name, _cpu(scipy_way), _cpu(ours)))
    lines = [
        "# Rank tests: SciPy and sijreg",
        "",
        "Written by `benchmarks/ranks.py` (`python -m benchmarks.ranks`).",
        "",
        *_machine(),
        "",
        f"Processor time (user + system), the least of {REPEATS} runs; the same p-values "
        "either way (tests/test_ranks.py).",
        "",
        "| what | SciPy (CPU ms) | sijreg (CPU ms) | faster |",
        "| --- | ---: | ---: | ---: |",
        *(f"| {name} | {1000 * s:.2f} | {1000 * o:.2f} | {s / o:.0f}x |" for name, s, o in rows),
    ]
    (HERE / "RANKS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
