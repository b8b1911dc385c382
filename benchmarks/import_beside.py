"""A 100,000-row ``sijreg import-sheet`` while clients write and read through ``sijreg serve``.

    python -m benchmarks.import_beside                      # SQLite, one worker
    python -m benchmarks.import_beside --postgres postgresql://postgres@127.0.0.1/bench

Issue 15's check: an import of any size never makes the server answer 500 or hang, and
every acknowledged write is stored. 32 client threads enrol patients (``POST
/api/v1/patients``, a new request 20 ms after each answer, "busy, retry" answers included,
which real clients would space out) and 8 ask ``GET /healthz`` (which queries the database)
from before the import starts until after it ends. Counts the answers by status, the slowest
of each kind, then checks that every acknowledged patient is stored and that ``sijreg audit
verify`` passes. The PostgreSQL database given is emptied first. Appends to
benchmarks/IMPORT_BESIDE.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import sqlalchemy as sa

from benchmarks.import_sheet import write_sheet_file
from benchmarks.load import prepare, server_database
from benchmarks.run import _machine
from benchmarks.served import sijreg_serve
from sijreg.store import schema
from sijreg.store.database import create_engine, resolve_url

HERE = Path(__file__).parent
WRITERS, READERS, ROWS = 32, 8, 100_000


class Tally:
    """Answers by (kind, status), the slowest per kind, and the acknowledged patient ids."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.slowest: dict[str, float] = {"write": 0.0, "read": 0.0}
        self.acknowledged: list[int] = []

    def add(self, kind: str, status: int, seconds: float, body: bytes) -> None:
        with self.lock:
            self.statuses[(kind, status)] += 1
            self.slowest[kind] = max(self.slowest[kind], seconds)
            if status == 201:
                self.acknowledged.append(json.loads(body)["id"])


def _client(port: int, token: str, kind: str, n: int, stop: threading.Event, tally: Tally) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    i = 0
    while not stop.is_set():
        started = time.perf_counter()
        if kind == "write":
            body = json.dumps({"study_id": f"B{n}-{i}", "sex": "F", "age": 60})
            connection.request("POST", "/api/v1/patients", body, headers)
        else:
            connection.request("GET", "/healthz", headers=headers)
        answer = connection.getresponse()
        tally.add(kind, answer.status, time.perf_counter() - started, answer.read())
        i += 1
        time.sleep(0.02)


def measure(database: str, workers: int) -> list[str]:
    """Serve ``database``, import a sheet beside the clients; the report's lines."""
    sijreg = str(Path(sys.executable).with_name("sijreg"))
    tally, stop = Tally(), threading.Event()
    with tempfile.TemporaryDirectory() as tmp:
        sheet = Path(tmp) / "sheet.csv"
        write_sheet_file(ROWS, sheet)
        tokens = prepare(database, WRITERS + READERS)
        options = ["--workers", str(workers)] if workers > 1 else []
        with sijreg_serve(server_database(database), *options) as port:
            kinds = ["write"] * WRITERS + ["read"] * READERS
            clients = [
                threading.Thread(target=_client, args=(port, tokens[n], kind, n, stop, tally))
                for n, kind in enumerate(kinds)
            ]
            for client in clients:
                client.start()
            time.sleep(2)
            started = time.perf_counter()
            imported = subprocess.run(
                [sijreg, "import-sheet", str(sheet), "-d", database], capture_output=True
            )
            took = time.perf_counter() - started
            time.sleep(2)
            stop.set()
            for client in clients:
                client.join()
    engine = create_engine(resolve_url(database))
    with engine.connect() as conn:
        stored = set(conn.execute(sa.select(schema.patient.c.id)).scalars())
    engine.dispose()
    verify = subprocess.run([sijreg, "audit", "verify", "-d", database], capture_output=True)
    missing = [i for i in tally.acknowledged if i not in stored]
    label = "PostgreSQL" if database.startswith("postgresql") else "SQLite"
    statuses = ", ".join(
        f"{kind} {status}: {count}" for (kind, status), count in sorted(tally.statuses.items())
    )
    return [
        f"| {label}, {workers} worker(s) | {imported.returncode} | {took:.1f} | {statuses} | "
        f"{tally.slowest['write']:.1f} | {tally.slowest['read']:.1f} | "
        f"{len(tally.acknowledged) - len(missing)} of {len(tally.acknowledged)} | "
        f"{'passes' if verify.returncode == 0 else 'FAILS'} |"
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="an expendable PostgreSQL database URL (emptied)")
    parser.add_argument("--workers", type=int, default=None, help="default: 2 on PostgreSQL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = args.postgres or str(Path(tmp) / "registry.db")
        workers = args.workers or (2 if args.postgres else 1)
        rows = measure(database, workers)
    lines = [
        "",
        f"## {ROWS:,}-row import beside {WRITERS} writing and {READERS} reading clients",
        "",
        *_machine(),
        "",
        "| server | import exit | import s | answers (kind status: count) | slowest write s | "
        "slowest read s | acknowledged writes stored | audit verify |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
        *rows,
    ]
    out = HERE / "IMPORT_BESIDE.md"
    if not out.exists():
        out.write_text(
            "# An import beside the live server\n\nWritten by `benchmarks/import_beside.py`.\n",
            encoding="utf-8",
        )
    with out.open("a", encoding="utf-8") as results:
        results.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
