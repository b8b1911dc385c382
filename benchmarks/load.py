"""Validated writes and reads against ``sijreg serve`` as deployed, at 1, 8 and 32 clients.

    python -m benchmarks.load                    # SQLite in a temporary directory
    python -m benchmarks.load --postgres postgresql://postgres@127.0.0.1/bench
    python -m benchmarks.load --seconds 5 --clients 1,8,32

The server runs as its own process (``sijreg serve`` on 127.0.0.1, a free port); each
client is a thread with its own keep-alive connection and bearer token. Writes enrol
patients through ``POST /api/v1/patients`` (validated by the dictionary, audited); reads
fetch a patient. Each phase runs a fixed time. Afterwards the patient rows must equal the
acknowledged (201) writes and ``sijreg audit verify`` must pass. Loopback only. The
PostgreSQL database given is emptied first. Writes benchmarks/LOAD.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import sqlalchemy as sa
from tests.server.served import sijreg_serve

from sijreg import __version__
from sijreg.store import accounts, schema
from sijreg.store.accounts import Role
from sijreg.store.database import create_engine, resolve_url, upgrade

HERE = Path(__file__).parent
PASSWORD = "mauve staple orbit 42"


def _prepare(database: str, clients: int) -> list[str]:
    """A site and one coordinator token per client."""
    engine = create_engine(resolve_url(database))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    tokens = []
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.site).values(site_code="S01"))
        user = accounts.add_user(conn, "coord1", "Dr Load", Role.COORDINATOR, PASSWORD, "S01")
        for i in range(clients):
            tokens.append(accounts.issue_token(conn, user, 1, f"load {i}")[1])
    engine.dispose()
    return tokens


def _phase(
    port: int, tokens: list[str], clients: int, seconds: float, kind: str, ids: list[int]
) -> tuple[int, list[float], int]:
    """(acknowledged, latencies in s, failures) of ``clients`` threads for ``seconds``."""
    latencies: list[float] = []
    acknowledged = [0]
    failures = [0]
    lock = threading.Lock()
    stop = time.monotonic() + seconds

    def run(n: int) -> None:
        mine: list[float] = []
        ok = bad = 0
        with httpx.Client(
            base_url=f"http://127.0.0.1:{port}",
            headers={"Authorization": f"Bearer {tokens[n]}"},
            timeout=30,
        ) as client:
            i = 0
            while time.monotonic() < stop:
                i += 1
                start = time.perf_counter()
                if kind == "write":
                    body = {"study_id": f"L{clients}-{n}-{i}", "sex": "F", "age": 64}
                    answer = client.post("/api/v1/patients", json=body)
                    good = answer.status_code == 201
                    if good:
                        with lock:
                            ids.append(int(answer.json()["id"]))
                else:
                    pid = ids[(n * 7919 + i) % len(ids)]
                    good = client.get(f"/api/v1/patients/{pid}").status_code == 200
                mine.append(time.perf_counter() - start)
                ok, bad = (ok + 1, bad) if good else (ok, bad + 1)
        with lock:
            latencies.extend(mine)
            acknowledged[0] += ok
            failures[0] += bad

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return acknowledged[0], latencies, failures[0]


def _row(label: str, clients: int, done: int, lat: list[float], fails: int, secs: float) -> str:
    cuts = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
    return (
        f"| {label} | {clients} | {done / secs:.0f} | {cuts[49] * 1000:.0f} | "
        f"{cuts[98] * 1000:.0f} | {done} | {fails} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is emptied)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,8,32")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    with tempfile.TemporaryDirectory() as tmp:
        database = args.postgres or str(Path(tmp) / "load.db")
        tokens = _prepare(database, max(levels))
        rows, acknowledged = [], 0
        with sijreg_serve(database) as port:
            for clients in levels:
                ids: list[int] = []
                done, lat, fails = _phase(port, tokens, clients, args.seconds, "write", ids)
                acknowledged += done
                rows.append(_row("write", clients, done, lat, fails, args.seconds))
                done, lat, fails = _phase(port, tokens, clients, args.seconds, "read", ids)
                rows.append(_row("read", clients, done, lat, fails, args.seconds))
                print(rows[-2], rows[-1], sep="\n", flush=True)
        engine = create_engine(resolve_url(database))
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(schema.patient)).scalar()
        engine.dispose()
        sijreg = str(Path(sys.executable).with_name("sijreg"))
        verify = subprocess.run(
            [sijreg, "audit", "verify", "-d", database], capture_output=True, text=True
        )
    label = "PostgreSQL" if args.postgres else "SQLite"
    load = os.getloadavg()
    report = [
        f"## {label}, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; load average before writing this {load[0]:.1f} "
        "(a shared, busy machine: other jobs ran meanwhile, so these figures are low bounds).",
        f"Versions: sijreg {__version__}, Python {platform.python_version()}, "
        f"SQLAlchemy {sa.__version__}, httpx {httpx.__version__}; one `sijreg serve` process.",
        f"Each phase {args.seconds:.0f} s; writes = `POST /api/v1/patients`, reads = "
        "`GET /api/v1/patients/{id}`.",
        "",
        "| phase | clients | per second | p50 ms | p99 ms | acknowledged | failed |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        f"Rows: {stored} patient rows, {acknowledged} acknowledged writes "
        f"({'equal' if stored == acknowledged else 'NOT EQUAL'}). "
        f"`sijreg audit verify`: exit {verify.returncode} "
        f"({'passes' if verify.returncode == 0 else verify.stdout.strip()[-200:]}).",
        "",
    ]
    out = HERE / "LOAD.md"
    head = "# Load: validated writes and reads against `sijreg serve`\n\n"
    before = out.read_text() if out.exists() else head
    out.write_text(before + "\n".join(report) + "\n")
    print("\n".join(report))


if __name__ == "__main__":
    main()
