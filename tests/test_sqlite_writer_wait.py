"""SQLite writers of one process queue for the write lock, and wait at most the limit in all."""

from __future__ import annotations

import sqlite3
import threading
import time
from functools import partial
from pathlib import Path

import pytest
import sqlalchemy as sa

from sijreg.store import database
from sijreg.store.database import open_database


def _write(engine: sa.Engine, took: list[float], errors: list[str]) -> None:
    """One write through ``engine``: its time goes to ``took``, its refusal to ``errors``."""
    started = time.monotonic()
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM sign_in_throttle WHERE 0"))
    except sa.exc.OperationalError as error:
        errors.append(str(error.orig))
    took.append(time.monotonic() - started)


def test_queued_writers_are_told_busy_within_the_wait_however_many_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (a sheet import) holds the write lock: each of three writers of the
    server's engine is told "database is locked" within one wait, not one wait per writer
    ahead of it in the queue."""
    monkeypatch.setattr(database, "WRITER_WAIT_SECONDS", 1.0)
    path = tmp_path / "registry.db"
    engine = open_database(str(path), connections=4)
    importer = sqlite3.connect(path, isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")
    took: list[float] = []
    errors: list[str] = []
    write = partial(_write, engine, took, errors)

    writers = [threading.Thread(target=write) for _ in range(3)]
    for writer in writers:
        writer.start()
    for writer in writers:
        writer.join()
    importer.rollback()
    assert errors == ["database is locked"] * 3
    assert max(took) < 1.6, took  # queued one after another, they took 2 s and more
    with engine.begin() as conn:  # the lock is free again: writing works, the wait restored
        conn.execute(sa.text("DELETE FROM sign_in_throttle WHERE 0"))
    engine.dispose()


def test_writers_behind_one_waiting_for_another_process_are_told_busy_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process holds the write lock: the first writer waits the whole limit for it,
    the ones queued behind it are told busy once it has waited OUTSIDE_WAIT_SECONDS, the
    ones arriving later at once (each would hold one of the server's request threads
    meanwhile); then a writer goes through at once."""
    monkeypatch.setattr(database, "WRITER_WAIT_SECONDS", 3.0)
    monkeypatch.setattr(database, "OUTSIDE_WAIT_SECONDS", 0.5)
    path = tmp_path / "registry.db"
    engine = open_database(str(path), connections=4)
    importer = sqlite3.connect(path, isolation_level=None)
    importer.execute("BEGIN IMMEDIATE")
    took: list[float] = []
    errors: list[str] = []
    write = partial(_write, engine, took, errors)

    first = threading.Thread(target=write)
    first.start()
    time.sleep(0.2)  # the first takes the queue, then waits on SQLite's lock
    behind = [threading.Thread(target=write) for _ in range(3)]
    for writer in behind:
        writer.start()
    for writer in behind:
        writer.join()
    assert errors == ["database is locked"] * 3
    assert max(took) < 0.6, took  # told after about 0.3 s, not after the first's 3 s
    late = threading.Thread(target=write)
    late.start()
    late.join()
    assert took[-1] < 0.1, took  # arriving after the first had waited 0.5 s: told at once
    first.join()
    importer.rollback()
    assert errors == ["database is locked"] * 5
    assert took[-1] >= 2.5, took  # the first waited its whole limit
    started = time.monotonic()
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM sign_in_throttle WHERE 0"))
    assert time.monotonic() - started < 0.5
    engine.dispose()
