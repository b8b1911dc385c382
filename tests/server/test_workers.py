"""``sijreg serve --workers 2`` on both databases (PostgreSQL as the restricted app role): two
processes answer one port, every write acknowledged to parallel clients is stored exactly once,
each patient reads back from any worker, and the audit trail verifies."""

from __future__ import annotations

import threading

import httpx
import sqlalchemy as sa
from benchmarks.served import sijreg_serve

from sijreg.store import audit, schema
from tests.server.server_support import People

CLIENTS = 8
WRITES = 6


def test_two_workers_store_every_acknowledged_write_once(
    engine: sa.Engine, app_engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    served = app_engine.url.render_as_string(hide_password=False)
    acknowledged: list[int] = []
    statuses: list[int] = []
    lock = threading.Lock()
    with sijreg_serve(served, "--workers", "2") as port:
        start = threading.Barrier(CLIENTS)

        def client(n: int) -> None:
            headers = {"Authorization": f"Bearer {tokens['coord1']}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
                start.wait()
                for i in range(WRITES):
                    body = {"study_id": f"W{n}-{i}", "sex": "F", "age": 60 + i}
                    answer = c.post("/api/v1/patients", json=body)
                    with lock:
                        statuses.append(answer.status_code)
                        if answer.status_code == 201:
                            acknowledged.append(answer.json()["id"])

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        headers = {"Authorization": f"Bearer {tokens['coord1']}"}
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers) as c:
            read = [c.get(f"/api/v1/patients/{i}").status_code for i in acknowledged]
    assert statuses == [201] * CLIENTS * WRITES
    assert read == [200] * len(acknowledged)
    with engine.connect() as conn:
        stored = conn.execute(sa.select(schema.patient.c.id)).scalars().all()
        verification = audit.verify(conn)
    assert sorted(stored) == sorted(acknowledged)
    assert len(set(acknowledged)) == CLIENTS * WRITES
    assert verification.ok, (verification.chain, verification.records)


def test_one_request_thread_serves_writes_beside_reports(
    engine: sa.Engine, app_engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    # `--threads 1`: requests take turns in the one thread (the idempotency check, the
    # route and the stored answer each take it in turn, never one inside another), while
    # reports and exports run in their own pool: all answer, none waits on another forever.
    served = app_engine.url.render_as_string(hide_password=False)
    statuses: list[tuple[str, int]] = []
    lock = threading.Lock()
    with sijreg_serve(served, "--threads", "1") as port:
        start = threading.Barrier(CLIENTS + 2)

        def client(n: int) -> None:
            headers = {"Authorization": f"Bearer {tokens['coord1']}", "Idempotency-Key": ""}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
                start.wait()
                for i in range(WRITES):
                    body = {"study_id": f"T{n}-{i}", "sex": "M", "age": 50 + i}
                    headers["Idempotency-Key"] = f"t{n}-{i}"
                    answer = c.post("/api/v1/patients", json=body, headers=headers)
                    with lock:
                        statuses.append(("write", answer.status_code))

        def analyst(path: str) -> None:
            headers = {"Authorization": f"Bearer {tokens['analyst']}"}
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as c:
                start.wait()
                answer = c.get(path, headers=headers)
                with lock:
                    statuses.append((path, answer.status_code))

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        threads += [
            threading.Thread(target=analyst, args=(path,))
            for path in ("/api/v1/report", "/api/v1/export")
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert sorted(statuses) == sorted(
        [("write", 201)] * CLIENTS * WRITES + [("/api/v1/report", 200), ("/api/v1/export", 200)]
    )
    with engine.connect() as conn:
        stored = conn.execute(sa.select(sa.func.count()).select_from(schema.patient)).scalar()
    assert stored == CLIENTS * WRITES
