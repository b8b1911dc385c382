"""Validated writes and reads against ``sijreg serve`` as deployed, beside a trivial app's floor.

    python -m benchmarks.load                    # SQLite in a temporary directory
    python -m benchmarks.load --postgres postgresql://postgres@127.0.0.1/bench
    python -m benchmarks.load --seconds 5 --clients 1,8,32,64 --workers 2

The server runs as its own process (``sijreg serve`` on 127.0.0.1, a free port; on
PostgreSQL connected as the restricted app role, so row-level security is in the path).
Each client is a thread with its own keep-alive connection (the standard library's
``http.client``: the client shares the machine's cores with the server, so it is kept
light, and its own CPU is measured) and bearer token. Writes enrol patients through
``POST /api/v1/patients`` (validated by the dictionary, audited); reads fetch a patient.
Each phase runs a fixed time. Before sijreg, the same client runs against a trivial
FastAPI app (benchmarks/trivial_app.py: no database) for the floor this machine gives.
Afterwards the patient rows must equal the acknowledged (201) writes and ``sijreg audit
verify`` must pass. Loopback only. The PostgreSQL database given is emptied first.
Appends to benchmarks/LOAD.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import fastapi
import sqlalchemy as sa
import uvicorn

from benchmarks.served import serving
from sijreg import __version__
from sijreg.store import accounts, schema
from sijreg.store.accounts import Role
from sijreg.store.app_role import grant_app_role
from sijreg.store.database import create_engine, resolve_url, upgrade

HERE = Path(__file__).parent
PASSWORD = "mauve staple orbit 42"
APP_ROLE = "sijreg_bench_app"
"""The restricted role the PostgreSQL server connects as (cluster-wide; left in place)."""
TICK = os.sysconf("SC_CLK_TCK")
EARLIER = "## Earlier runs"
"""LOAD.md's section of runs before the present load client; new runs go above it."""


def prepare(database: str, clients: int) -> list[str]:
    """An empty registry with a site and one coordinator token per client; on PostgreSQL
    the app role may serve it."""
    engine = create_engine(resolve_url(database))
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(sa.text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    upgrade(engine)
    tokens = []
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            grant_app_role(conn, APP_ROLE)
        conn.execute(sa.insert(schema.site).values(site_code="S01"))
        user = accounts.add_user(conn, "coord1", "Dr Load", Role.COORDINATOR, PASSWORD, "S01")
        for i in range(clients):
            tokens.append(accounts.issue_token(conn, user, 1, f"load {i}")[1])
    engine.dispose()
    return tokens


def server_database(database: str) -> str:
    """What the server connects to: on PostgreSQL the app role, never the tables' owner."""
    url = resolve_url(database)
    if url.get_backend_name() != "postgresql":
        return database
    return url.set(username=APP_ROLE, password=None).render_as_string(hide_password=False)


def _cpu_and_parent(pid: int) -> tuple[float, int]:
    """CPU seconds (user + system) so far of process ``pid``, and its parent's id."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0
    return (int(fields[11]) + int(fields[12])) / TICK, int(fields[1])


def tree_cpu(pid: int) -> float:
    """CPU seconds so far of process ``pid`` and its live children."""
    found = (_cpu_and_parent(int(e.name)) for e in Path("/proc").iterdir() if e.name.isdigit())
    return _cpu_and_parent(pid)[0] + sum(cpu for cpu, parent in found if parent == pid)


Backends = Callable[[], dict[int, float]]


def backends(database: str | None) -> Backends:
    """CPU seconds so far of each PostgreSQL backend serving ``database`` (same machine), or
    nothing for SQLite (its work is in the server's process)."""
    if database is None:
        return dict
    engine = sa.create_engine(resolve_url(database), poolclass=sa.NullPool)
    query = sa.text(
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )

    def cpu() -> dict[int, float]:
        with engine.connect() as conn:
            pids = conn.execute(query).scalars().all()
        return {pid: _cpu_and_parent(pid)[0] for pid in pids}

    return cpu


def machine_busy() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine so far."""
    ticks = [int(t) for t in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]
    return sum(ticks) - idle, sum(ticks)


@dataclass
class Phase:
    label: str
    kind: str
    clients: int
    seconds: float
    done: int
    latencies: list[float]
    failed: int
    server_cpu: float
    database_cpu: float
    client_cpu: float
    busy: float
    """The machine's busy share of all cores during the phase (everyone's work)."""

    def row(self) -> str:
        lat = self.latencies or [0.0]
        cuts = statistics.quantiles(lat, n=100) if len(lat) > 1 else [lat[0]] * 99
        per = max(self.done + self.failed, 1)
        return (
            f"| {self.label} | {self.kind} | {self.clients} | {self.done / self.seconds:.0f} | "
            f"{cuts[49] * 1000:.1f} | {cuts[98] * 1000:.1f} | {self.done} | {self.failed} | "
            f"{self.server_cpu / per * 1000:.2f} | {self.database_cpu / per * 1000:.2f} | "
            f"{self.client_cpu / per * 1000:.2f} | "
            f"{self.busy * 100:.0f} |"
        )


def run_phase(
    label: str,
    port: int,
    server: int,
    database: Backends,
    tokens: list[str],
    clients: int,
    seconds: float,
    kind: str,
    ids: list[int],
) -> Phase:
    """``clients`` threads writing or reading for ``seconds``."""
    latencies: list[float] = []
    counts = [0, 0]
    lock = threading.Lock()
    start_line = threading.Barrier(clients + 1)
    stop = [0.0]

    def run(n: int) -> None:
        mine: list[float] = []
        made: list[int] = []
        ok = bad = 0
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        headers = {"Authorization": f"Bearer {tokens[n]}", "Content-Type": "application/json"}
        start_line.wait()
        i = 0
        while time.monotonic() < stop[0]:
            i += 1
            start = time.perf_counter()
            if kind == "write":
                body = json.dumps({"study_id": f"L{clients}-{n}-{i}", "sex": "F", "age": 64})
                conn.request("POST", "/api/v1/patients", body, headers)
            else:
                conn.request(
                    "GET", f"/api/v1/patients/{ids[(n * 7919 + i) % len(ids)]}", None, headers
                )
            answer = conn.getresponse()
            data = answer.read()
            mine.append(time.perf_counter() - start)
            good = answer.status == (201 if kind == "write" else 200)
            if good and kind == "write":
                made.append(int(json.loads(data)["id"]))
            ok, bad = (ok + 1, bad) if good else (ok, bad + 1)
        conn.close()
        with lock:
            latencies.extend(mine)
            ids.extend(made)
            counts[0] += ok
            counts[1] += bad

    threads = [threading.Thread(target=run, args=(n,)) for n in range(clients)]
    for t in threads:
        t.start()
    database_before = database()
    server_before, client_before, busy_before = (
        tree_cpu(server),
        time.process_time(),
        machine_busy(),
    )
    stop[0] = time.monotonic() + seconds
    start_line.wait()
    for t in threads:
        t.join()
    busy_after = machine_busy()
    busy = (busy_after[0] - busy_before[0]) / max(busy_after[1] - busy_before[1], 1)
    return Phase(
        label,
        kind,
        clients,
        seconds,
        counts[0],
        latencies,
        counts[1],
        tree_cpu(server) - server_before,
        sum(cpu - database_before.get(pid, 0.0) for pid, cpu in database().items()),
        time.process_time() - client_before,
        busy,
    )


def run_levels(
    label: str,
    port: int,
    server: int,
    database: Backends,
    tokens: list[str],
    levels: list[int],
    seconds: float,
) -> list[Phase]:
    """A phase of writes then one of reads at each client count, after a warm-up (each
    worker's first requests load and compile what later ones reuse) that is not reported;
    its writes count among the acknowledged."""
    warm: list[int] = []
    phases = [run_phase("warm-up", port, server, database, tokens, 4, 1.0, "write", warm)]
    run_phase("warm-up", port, server, database, tokens, 4, 1.0, "read", warm)
    for clients in levels:
        ids: list[int] = []
        for kind in ("write", "read"):
            phase = run_phase(label, port, server, database, tokens, clients, seconds, kind, ids)
            phases.append(phase)
            print(phases[-1].row(), flush=True)
    return phases


def _floor(levels: list[int], seconds: float, workers: int) -> list[Phase]:
    command = [sys.executable, "-m", "benchmarks.trivial_app", "--workers", str(workers)]
    tokens = ["floor"] * max(levels)
    with serving(command) as (port, process):
        return run_levels("floor", port, process.pid, dict, tokens, levels, seconds)


def _ratios(sijreg: list[Phase], floor: list[Phase]) -> list[str]:
    by = {(p.kind, p.clients): p for p in floor if p.label != "warm-up"}
    lines = []
    for p in sijreg:
        f = by.get((p.kind, p.clients))
        if f and f.done and p.label != "warm-up":
            lines.append(
                f"| {p.kind} | {p.clients} | {p.done / p.seconds:.0f} | {f.done / f.seconds:.0f} "
                f"| {p.done / f.done:.2f} |"
            )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", help="a PostgreSQL URL (its database is emptied)")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--clients", default="1,8,32,64")
    parser.add_argument("--workers", type=int, default=1, help="sijreg serve --workers")
    parser.add_argument("--threads", type=int, help="sijreg serve --threads (default: its own)")
    parser.add_argument("--no-floor", action="store_true", help="skip the trivial app's floor")
    parser.add_argument("--note", default="", help="a line about this run for the results")
    args = parser.parse_args()
    levels = [int(c) for c in args.clients.split(",")]
    load_before = os.getloadavg()
    floor = [] if args.no_floor else _floor(levels, args.seconds, args.workers)
    with tempfile.TemporaryDirectory() as tmp:
        database = args.postgres or str(Path(tmp) / "load.db")
        tokens = prepare(database, max(levels))
        sijreg = str(Path(sys.executable).with_name("sijreg"))
        command = [sijreg, "serve", "-d", server_database(database)]
        command += ["--workers", str(args.workers)] if args.workers > 1 else []
        command += ["--threads", str(args.threads)] if args.threads else []
        with serving(command) as (port, process):
            phases = run_levels(
                "sijreg", port, process.pid, backends(args.postgres), tokens, levels, args.seconds
            )
        acknowledged = sum(p.done for p in phases if p.kind == "write")
        engine = create_engine(resolve_url(database))
        with engine.connect() as conn:
            stored = conn.execute(sa.select(sa.func.count()).select_from(schema.patient)).scalar()
        engine.dispose()
        verify = subprocess.run(
            [sijreg, "audit", "verify", "-d", database], capture_output=True, text=True
        )
    label = (
        "PostgreSQL (server as the app role, row-level security on)" if args.postgres else "SQLite"
    )
    load = os.getloadavg()
    report = [
        f"### {label}, {args.workers} worker(s), "
        f"{args.threads or 'default'} threads each, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        "",
        f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
        f"{platform.release()}; load average {load_before[0]:.1f} before, {load[0]:.1f} after "
        "(a shared machine: other jobs ran meanwhile).",
        f"Versions: sijreg {__version__}, Python {platform.python_version()}, "
        f"SQLAlchemy {sa.__version__}, FastAPI {fastapi.__version__}, uvicorn "
        f"{uvicorn.__version__}; client: http.client keep-alive threads in one process.",
        f"Each phase {args.seconds:g} s; writes = `POST /api/v1/patients`, reads = "
        "`GET /api/v1/patients/{id}`; `floor` = benchmarks/trivial_app.py (no database), "
        "same client. CPU columns: ms of CPU per request in the server's processes, in the "
        "PostgreSQL backends serving the database (SQLite: in the server) and in "
        "the client; busy = the machine's busy share of both cores (everyone's work).",
        *([args.note] if args.note else []),
        "",
        "| server | phase | clients | per second | p50 ms | p99 ms | acknowledged | failed "
        "| server CPU ms | database CPU ms | client CPU ms | busy % |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *(p.row() for p in [*floor, *phases] if p.label != "warm-up"),
        "",
        f"Rows: {stored} patient rows, {acknowledged} acknowledged writes "
        f"({'equal' if stored == acknowledged else 'NOT EQUAL'}). "
        f"`sijreg audit verify`: exit {verify.returncode} "
        f"({'passes' if verify.returncode == 0 else verify.stdout.strip()[-200:]}).",
        "",
    ]
    if floor:
        report += [
            "sijreg / floor (throughput):",
            "",
            "| phase | clients | sijreg per s | floor per s | ratio |",
            "|---|---|---|---|---|",
            *_ratios(phases, floor),
            "",
        ]
    out = HERE / "LOAD.md"
    head = "# Load: validated writes and reads against `sijreg serve`\n\n"
    before = out.read_text() if out.exists() else head
    cut = before.find(EARLIER) if EARLIER in before else len(before)  # newest runs go above
    out.write_text(before[:cut] + "\n".join(report) + "\n" + before[cut:])
    print("\n".join(report))


if __name__ == "__main__":
    main()
