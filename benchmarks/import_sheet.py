"""Time ``sijreg import-sheet`` of a valid N-row sheet, then the same sheet again.

    python -m benchmarks.import_sheet 100000

Each import runs as its own ``sijreg`` process (as a user runs it); CPU seconds
(user + sys of the child) and peak RSS come from ``wait4``. Beside them, the floor:
the same rows written by raw ``sqlite3`` executemany into an empty registry, with no
validation and no audit trail. Writes benchmarks/IMPORT.md.
"""

from __future__ import annotations

import csv
import sys
from datetime import date
from pathlib import Path

import numpy as np

from sijreg.interop.sheet import COLUMN_NAMES

EPOCH = date(2015, 1, 1).toordinal()


def _iso(ordinals: np.ndarray) -> list[str]:
    base = np.datetime64("0001-01-01") + (ordinals - 1).astype("timedelta64[D]")
    return [str(d) for d in np.datetime_as_string(base, unit="D")]


def write_sheet_file(n: int, path: Path, seed: int = 1) -> None:
    """A valid n-row study sheet: 8+ sites, every column filled as a registry's would be."""
    rng = np.random.default_rng(seed)
    n_sites = max(8, n // 5000)
    site = rng.integers(1, n_sites + 1, n).tolist()
    sex = np.where(rng.random(n) < 0.54, "F", "M").tolist()
    age = np.clip(rng.normal(70, 9, n).round(), 18, 110).astype(int).tolist()
    bmi = np.clip(rng.normal(30.6, 6.2, n), 15, 80).round(1).tolist()
    fbss = (rng.random(n) < 0.46).astype(int).tolist()
    first = rng.choice(4, n, p=[0.68, 0.28, 0.02, 0.02])
    second = rng.random(n) < 0.08
    flags = np.zeros((n, 4), dtype=int)
    flags[np.arange(n), first] = 1
    flags[second, 1] = 1
    fusion = EPOCH + rng.integers(0, 2000, n)
    days = np.clip(rng.lognormal(5.5, 0.6, n).round(), 20, 1500).astype(int)
    seen = rng.random(n) < 0.97
    relief = np.clip(rng.normal(67.6, 28.9, n), 0, 100).round(0).astype(int).tolist()
    fusion_text, followup_text = _iso(fusion), _iso(fusion + days)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMN_NAMES)
        for i in range(n):
            outcome = (followup_text[i], relief[i]) if seen[i] else ("", "")
            patient = (f"S{site[i]:03d}", f"P{i + 1}", age[i], sex[i], bmi[i], fbss[i])
            writer.writerow((*patient, *flags[i], fusion_text[i], *outcome))


if __name__ == "__main__":
    write_sheet_file(int(sys.argv[1]), Path(sys.argv[2]))
