"""Generate a synthetic N-patient registry quickly, for benchmarks.

The data are random but shaped like the registry's: 8+ sites, 1-2 advanced prior
procedures and conservative care, one fusion, a baseline visit and 1-3 follow-ups.
Rows go in through sqlite3/psycopg bulk inserts into a schema made by sijreg's own
migrations, so the report reads exactly what a real registry would hold.

    python -m benchmarks.generate 100000 benchmarks/data/registry-100000.db
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import numpy as np

from sijreg.store.database import open_database

ADVANCED = np.array(["scs", "iss", "idds", "mild"])
CONSERVATIVE = np.array(["physical_therapy", "medications", "sij_steroid_injection", "rfa"])
EPOCH = date(2015, 1, 1).toordinal()


def _iso(ordinals: np.ndarray) -> list[str]:
    base = np.datetime64("0001-01-01") + (ordinals - 1).astype("timedelta64[D]")
    return list(np.datetime_as_string(base, unit="D"))


def _rows(*columns: object) -> Iterator[tuple[object, ...]]:
    return zip(*(c.tolist() if isinstance(c, np.ndarray) else c for c in columns), strict=True)


def generate(n: int, path: Path, seed: int = 1, sites: int | None = None) -> None:
    """Write an n-patient registry to the SQLite file ``path`` (replaced if present), over
    ``sites`` sites (default: one per 5,000 patients, at least 8)."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    open_database(str(path)).dispose()
    rng = np.random.default_rng(seed)
    ids = np.arange(1, n + 1)
    n_sites = sites or max(8, n // 5000)
    site = rng.integers(1, n_sites + 1, n)
    sex = np.where(rng.random(n) < 0.54, "F", "M")
    age = np.clip(rng.normal(70, 9, n).round(), 18, 110).astype(int)
    bmi = np.clip(rng.normal(30.6, 6.2, n), 15, 80).round(1)
    bmi_cells: list[object] = [
        None if missing else value
        for value, missing in zip(bmi.tolist(), (rng.random(n) < 0.02).tolist(), strict=True)
    ]
    fbss = rng.random(n) < 0.46
    fusion = EPOCH + rng.integers(0, 2000, n)
    days = np.clip(rng.lognormal(5.5, 0.6, n).round(), 20, 1500).astype(int)
    relief = np.clip(rng.normal(67.6, 28.9, n), 0, 100).round(0)

    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous=OFF")
    con.executemany(
        "INSERT INTO site (id, site_code) VALUES (?, ?)",
        ((s, f"S{s:04d}") for s in range(1, n_sites + 1)),
    )
    con.executemany(
        "INSERT INTO patient (id, site_id, study_id, sex, age, bmi, fbss) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        _rows(ids, site, [f"P{i}" for i in ids.tolist()], sex, age, bmi_cells, fbss),
    )
    con.executemany(
        "INSERT INTO fusion (site_id, patient_id, fusion_date, side, approach) "
        "VALUES (?, ?, ?, ?, 'posterior')",
        _rows(site, ids, _iso(fusion), rng.choice(["left", "right", "bilateral"], n)),
    )
    first = rng.choice(ADVANCED, n, p=[0.68, 0.28, 0.02, 0.02])
    second = rng.random(n) < 0.08
    care = rng.choice(CONSERVATIVE, n)
    for who, what in ((ids, first), (ids[second], np.full(second.sum(), "iss")), (ids, care)):
        con.executemany(
            "INSERT INTO prior_procedure (site_id, patient_id, procedure) VALUES (?, ?, ?)",
            _rows(site[who - 1], who, what),
        )
    visits: list[tuple[np.ndarray, np.ndarray, np.ndarray | None]] = [(ids, fusion - 14, None)]
    visits.append((ids, fusion + np.minimum(42, days - 1), np.clip(relief - 10, 0, 100)))
    later = days > 200
    visits.append((ids[later], fusion[later] + 180, np.clip(relief[later] - 5, 0, 100)))
    visits.append((ids, fusion + days, relief))
    for who, when, value in visits:
        cells = [None] * len(who) if value is None else value
        con.executemany(
            "INSERT OR IGNORE INTO visit (site_id, patient_id, visit_date, baseline, "
            "pain_relief_pct, nrs_pain) VALUES (?, ?, ?, ?, ?, ?)",
            _rows(
                site[who - 1],
                who,
                _iso(when),
                [value is None] * len(who),  # the visit before the fusion is the baseline
                cells,
                rng.integers(0, 11, len(who)),
            ),
        )
    con.commit()
    con.close()


if __name__ == "__main__":
    generate(int(sys.argv[1]), Path(sys.argv[2]))
