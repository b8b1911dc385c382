"""Time ``sijreg import-sheet`` of a valid N-row sheet, then the same sheet again.

    python -m benchmarks.import_sheet 100000
    python -m benchmarks.import_sheet 100000 --postgres postgresql://postgres@127.0.0.1/bench

Each import runs as its own ``sijreg`` process (as a user runs it); CPU seconds
(user + sys of the child) and peak RSS come from ``wait4``. Meanwhile a probe tries,
every 10 ms and without waiting, to take what a concurrent save needs (SQLite's write
lock; on PostgreSQL the audit chain's lock): the longest stretch it could not is the
longest a save would have waited. Beside them, the floor: the same rows written by raw
``sqlite3`` executemany into an empty registry, with no validation and no audit trail.
The PostgreSQL database given is emptied first. Writes benchmarks/IMPORT.md.
"""

from __future__ import annotations

import argparse
import csv
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the floor's process imports nothing it does not use
    import numpy as np

HERE = Path(__file__).parent
DATA = HERE / "data"

EPOCH = date(2015, 1, 1).toordinal()


def _iso(ordinals: np.ndarray) -> list[str]:
    import numpy as np

    base = np.datetime64("0001-01-01") + (ordinals - 1).astype("timedelta64[D]")
    return [str(d) for d in np.datetime_as_string(base, unit="D")]


def write_sheet_file(n: int, path: Path, seed: int = 1) -> None:
    """A valid n-row study sheet: 8+ sites, every column filled as a registry's would be."""
    import numpy as np

    from sijreg.interop.sheet import COLUMN_NAMES

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


@dataclass(frozen=True)
class Run:
    """One command in a new process, with the longest a concurrent writer was kept out."""

    cpu: float
    seconds: float
    peak_mib: float
    held: float
    waited: float
    """The longest one concurrent save took (to commit, or to be told "busy, retry")."""
    busy: int
    """Concurrent saves told "busy, retry"."""
    saved: int


class _Probe(threading.Thread):
    """Tries to take a concurrent save's lock every 10 ms, never waiting for it."""

    def __init__(self, target: str) -> None:
        super().__init__(daemon=True)
        self.target, self.longest, self.stop = target, 0.0, threading.Event()

    def _postgres(self) -> None:
        import psycopg

        with psycopg.connect(self.target.replace("+psycopg", "")) as con:

            def free() -> bool:
                taken = con.execute("SELECT pg_try_advisory_xact_lock(7301203)").fetchone()
                con.rollback()
                return bool(taken and taken[0])

            self._watch(free)

    def _sqlite(self) -> None:
        con = sqlite3.connect(self.target, timeout=0, isolation_level=None)

        def free() -> bool:
            try:
                con.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError:
                return False
            con.execute("ROLLBACK")
            return True

        self._watch(free)
        con.close()

    def _watch(self, free: Callable[[], bool]) -> None:
        since: float | None = None
        while not self.stop.is_set():
            now = time.perf_counter()
            if free():
                since = None
            else:
                since = now if since is None else since
                self.longest = max(self.longest, now - since)
            time.sleep(0.01)

    def run(self) -> None:
        self._postgres() if "://" in self.target else self._sqlite()


class _Writer(threading.Thread):
    """A concurrent save every 50 ms, as the server makes one: an audit entry appended in
    its own transaction; how long each took, and how many were told "busy, retry"."""

    def __init__(self, target: str) -> None:
        super().__init__(daemon=True)
        self.target, self.stop = target, threading.Event()
        self.longest, self.busy, self.saved = 0.0, 0, 0

    def run(self) -> None:
        import sqlalchemy as sa

        from sijreg.store import audit
        from sijreg.store.database import open_database

        engine = open_database(self.target)
        while not self.stop.is_set():
            start = time.perf_counter()
            try:
                with engine.begin() as conn:
                    audit.append(conn, audit.Entry(audit.Action.EXPORT, reason="benchmark"))
                self.saved += 1
            except (audit.ChainBusy, sa.exc.OperationalError):
                self.busy += 1
            self.longest = max(self.longest, time.perf_counter() - start)
            time.sleep(0.05)
        engine.dispose()


def _measure(command: list[str], target: str, write: bool = True) -> Run:
    """Run ``command`` under GNU time (a small parent: Linux keeps the largest resident
    set across exec, so a child forked from this process would report this one's)."""
    probe, writer = _Probe(target), _Writer(target)
    probe.start()
    if write:
        writer.start()
    with tempfile.NamedTemporaryFile("r") as report, tempfile.TemporaryFile() as errors:
        timed = ["/usr/bin/time", "-f", "%e %U %S %M", "-o", report.name, *command]
        status = subprocess.run(timed, stdout=subprocess.DEVNULL, stderr=errors, check=False)
        probe.stop.set()
        writer.stop.set()
        probe.join()
        if write:
            writer.join()
        if status.returncode != 0:
            errors.seek(0)
            raise SystemExit(f"{' '.join(command)} failed:\n{errors.read().decode()}")
        wall, user, system, peak_kib = report.read().split()[-4:]
    return Run(
        float(user) + float(system),
        float(wall),
        int(peak_kib) / 1024,
        probe.longest,
        writer.longest,
        writer.busy,
        writer.saved,
    )


def _sijreg(*args: str) -> list[str]:
    return [str(Path(sys.executable).with_name("sijreg")), *args]


def raw_floor(sheet: Path, database: Path) -> None:
    """The sheet's rows into an empty registry by plain sqlite3 executemany: no checks,
    no merge, no audit trail (what any import of these rows costs at least)."""
    with sheet.open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    con = sqlite3.connect(database)
    sites = sorted({r["site"] for r in rows})
    con.executemany("INSERT INTO site (id, site_code) VALUES (?, ?)", enumerate(sites, 1))
    site_id = {code: i for i, code in enumerate(sites, 1)}
    ids = range(1, len(rows) + 1)
    con.executemany(
        "INSERT INTO patient (id, site_id, study_id, sex, age, bmi, fbss) VALUES (?,?,?,?,?,?,?)",
        (
            (i, site_id[r["site"]], r["study_id"], r["sex"], r["age"], r["bmi"], r["fbss"])
            for i, r in zip(ids, rows, strict=True)
        ),
    )
    con.executemany(
        "INSERT INTO fusion (site_id, patient_id, fusion_date) VALUES (?, ?, ?)",
        ((site_id[r["site"]], i, r["fusion_date"]) for i, r in zip(ids, rows, strict=True)),
    )
    con.executemany(
        "INSERT INTO prior_procedure (site_id, patient_id, procedure) VALUES (?, ?, ?)",
        (
            (site_id[r["site"]], i, code)
            for i, r in zip(ids, rows, strict=True)
            for code in ("scs", "iss", "idds", "mild")
            if r[f"prior_{code}"] == "1"
        ),
    )
    con.executemany(
        "INSERT INTO visit (site_id, patient_id, visit_date, pain_relief_pct) VALUES (?,?,?,?)",
        (
            (site_id[r["site"]], i, r["last_followup_date"], r["pain_relief_pct"] or None)
            for i, r in zip(ids, rows, strict=True)
            if r["last_followup_date"]
        ),
    )
    con.commit()
    con.close()


def _empty_sqlite(path: Path) -> Path:
    from sijreg.store.database import open_database

    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    open_database(str(path)).dispose()
    return path


def _empty_postgres(url: str) -> str:
    import sqlalchemy as sa

    from sijreg.store.database import open_database

    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    with engine.begin() as conn:
        conn.execute(sa.text("DROP SCHEMA public CASCADE"))
        conn.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()
    open_database(url).dispose()
    return url


def _postgres_version(url: str) -> str:
    from importlib.metadata import version

    import sqlalchemy as sa

    engine = sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"))
    with engine.connect() as conn:
        server = conn.execute(sa.text("SHOW server_version")).scalar_one()
    engine.dispose()
    return f"PostgreSQL {server}, psycopg {version('psycopg')}"


HISTORY = [
    "Before the bulk path (issue 12, same machine): import 200-290 CPU-s, the same sheet again",
    "56 CPU-s; on SQLite every write request answered 500 for the whole import, on PostgreSQL",
    "a save hung over 90 s during its audit phase. Goals: <= 40 CPU-s and <= 1.5 GB; <= 10.",
    "",
    "Issue 15, PostgreSQL, before the import took the chain as a bulk save (same machine,",
    "2026-11-30 06:40, load 13): import 63.5 CPU-s, 200 s, 510 MiB; kept out 38.5 s; the",
    "longest concurrent save 10.0 s (it waited the chain's whole wait, then was told busy;",
    "3 of 2,129 saves). Since: a save behind the import is told busy at once.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("rows", type=int, nargs="?", default=100_000)
    parser.add_argument("--postgres", help="an expendable PostgreSQL database URL (emptied)")
    parser.add_argument("--only-postgres", action="store_true", help="skip SQLite and the floor")
    parser.add_argument("--output", type=Path, default=HERE / "IMPORT.md")
    parser.add_argument("--floor", nargs=2, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.floor:
        raw_floor(*args.floor)
        return
    from benchmarks.run import _machine

    DATA.mkdir(exist_ok=True)
    sheet = DATA / f"sheet-{args.rows}.csv"
    write_sheet_file(args.rows, sheet)
    lines = [f"# Importing a {args.rows:,}-row study sheet", "", *_machine(), ""]
    lines += [
        "CPU = user + system seconds of the command's process; peak = its largest resident set;",
        "kept out = the longest stretch a concurrent save could not take what it needs",
        "(SQLite: the write lock; PostgreSQL: the audit chain's lock), probed every 10 ms;",
        "longest save = the longest a concurrent save (an audit entry in its own transaction,",
        'every 50 ms) took to commit or to be told "busy, retry"; saves = committed / told busy.',
        "",
        "| database | what | CPU s | wall s | peak MiB | kept out s | longest save s | saves |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    targets: list[tuple[str, str]] = []
    if not args.only_postgres:
        targets.append(("SQLite", str(_empty_sqlite(DATA / "import.db"))))
    if args.postgres:
        targets.append(("PostgreSQL", _empty_postgres(args.postgres)))
        lines[5:5] = [f"- {_postgres_version(args.postgres)}"]
    for name, target in targets:
        for what in ("import", "the same sheet again", "audit verify"):
            command = (
                _sijreg("audit", "verify", "-d", target)
                if what == "audit verify"
                else _sijreg("import-sheet", str(sheet), "-d", target)
            )
            run = _measure(command, target, write=what != "audit verify")
            saves = f"{run.saved} / {run.busy}" if what != "audit verify" else "-"
            lines.append(
                f"| {name} | {what} | {run.cpu:.1f} | {run.seconds:.1f} | {run.peak_mib:.0f} "
                f"| {run.held:.1f} | {run.waited:.1f} | {saves} |"
            )
            print(lines[-1], flush=True)
    if not args.only_postgres:
        lines.append(_floor(sheet))
        print(lines[-1], flush=True)
    lines += ["", *HISTORY]
    args.output.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _floor(sheet: Path) -> str:
    floor_db = _empty_sqlite(DATA / "floor.db")
    floor = _measure(
        [sys.executable, "-m", "benchmarks.import_sheet", "--floor", str(sheet), str(floor_db)],
        str(floor_db),
        write=False,
    )
    return (
        f"| SQLite | raw sqlite3 executemany, no checks, no audit (floor) | {floor.cpu:.1f} "
        f"| {floor.seconds:.1f} | {floor.peak_mib:.0f} | {floor.held:.1f} | - | - |"
    )


if __name__ == "__main__":
    main()
