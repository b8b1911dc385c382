"""A large sheet import while the real server takes writes: no 500, nothing acknowledged lost."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from benchmarks.import_sheet import write_sheet_file

from sijreg.interop.sheet import import_sheet
from sijreg.store import audit, schema
from sijreg.store.writer import SaveSummary
from tests.server.server_support import bearer

ROWS = {"sqlite": 15_000, "postgresql": 50_000}
"""On PostgreSQL large enough that writing its audit entries holds the chain for seconds."""
Answer = tuple[str, int, str | None, float]


def _stored_ids(engine: sa.Engine, prefix: str) -> set[str]:
    p = schema.patient
    with engine.connect() as conn:
        found = conn.execute(sa.select(p.c.study_id).where(p.c.study_id.like(f"{prefix}%")))
        return set(found.scalars())


def test_writes_during_an_import_are_answered_and_kept(
    live_server: str, engine: sa.Engine, tokens: dict[str, str], tmp_path: Path
) -> None:
    """No 500, no request waiting longer than a busy database's bounded wait (SQLite's busy
    timeout; on PostgreSQL a save never waits for an import's entries), every acknowledged
    write stored, and the trail intact."""
    rows = ROWS[engine.dialect.name]
    sheet = tmp_path / "big.csv"
    write_sheet_file(rows, sheet)
    done = threading.Event()
    imported: list[SaveSummary] = []

    def run_import() -> None:
        try:
            imported.append(import_sheet(engine, sheet))
        finally:
            done.set()

    def write_until_done(client_number: int) -> list[Answer]:
        user = "coord1" if client_number % 2 else "coord2"
        answers: list[Answer] = []
        with httpx.Client(base_url=live_server, headers=bearer(tokens[user]), timeout=60) as client:
            while not done.is_set():
                study_id = f"W{client_number}-{len(answers)}"
                start = time.perf_counter()
                answer = client.post("/api/v1/patients", json={"study_id": study_id})
                took = time.perf_counter() - start
                retry = answer.headers.get("retry-after")
                answers.append((study_id, answer.status_code, retry, took))
        return answers

    importer = threading.Thread(target=run_import)
    importer.start()
    with ThreadPoolExecutor(4) as pool:
        answers = [a for batch in pool.map(write_until_done, range(4)) for a in batch]
    importer.join()

    assert len(imported[0].created) == rows
    statuses = Counter(status for _, status, _, _ in answers)
    assert set(statuses) <= {201, 503}, statuses
    assert statuses[201] > 0
    assert all(retry == "5" for _, status, retry, _ in answers if status == 503)
    assert max(took for *_, took in answers) < audit.LOCK_WAIT_SECONDS + 5
    assert _stored_ids(engine, "W") == {s for s, status, _, _ in answers if status == 201}
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok
    assert result.unaudited == []


def _hold_the_lock(conn: sa.Connection) -> None:
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    else:
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(7301203)"))


def test_a_write_that_waits_too_long_is_told_to_retry(
    live_server: str, engine: sa.Engine, tokens: dict[str, str]
) -> None:
    """Longer than the wait (SQLite's busy timeout, the chain's on PostgreSQL): 503."""
    with httpx.Client(base_url=live_server, headers=bearer(tokens["coord1"]), timeout=60) as client:
        with engine.begin() as holder:
            _hold_the_lock(holder)
            answer = client.post("/api/v1/patients", json={"study_id": "LATE-1"})
            page = client.get("/sign-in")
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert "retry" in answer.json()["detail"]
        assert page.status_code in (200, 503)
        assert _stored_ids(engine, "LATE") == set()
        again = client.post("/api/v1/patients", json={"study_id": "LATE-1"})
        assert again.status_code == 201
    assert _stored_ids(engine, "LATE") == {"LATE-1"}


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_a_write_behind_a_bulk_save_is_told_to_retry_at_once(
    live_server: str, engine: sa.Engine, tokens: dict[str, str]
) -> None:
    """While a bulk save (an import's entries) holds the chain, a write does not wait the
    chain's whole wait for it: 503 at once, nothing saved; then it goes through."""
    with httpx.Client(base_url=live_server, headers=bearer(tokens["coord1"]), timeout=60) as client:
        with engine.begin() as importer:
            entry = audit.stage(audit.Entry(audit.Action.EXPORT, reason="a bulk save"))
            audit.append_many(importer, [entry], bulk=True)
            start = time.perf_counter()
            answer = client.post("/api/v1/patients", json={"study_id": "BEHIND-1"})
            took = time.perf_counter() - start
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "5"
        assert took < audit.LOCK_WAIT_SECONDS / 2
        assert _stored_ids(engine, "BEHIND") == set()
        again = client.post("/api/v1/patients", json={"study_id": "BEHIND-1"})
        assert again.status_code == 201
    assert _stored_ids(engine, "BEHIND") == {"BEHIND-1"}
    with engine.connect() as conn:
        assert audit.verify(conn).ok
