"""A backup taken while threads write restores, verifies and holds every write acknowledged
before it began (SQLite through the online backup API, PostgreSQL through pg_dump)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from sijreg.cli.app import app
from sijreg.store import schema
from sijreg.store.database import open_database
from sijreg.store.scope import SiteScope
from tests.conftest import ADMIN_URL
from tests.server.server_support import People
from tests.server.test_cli import runner

WRITERS = 4


@pytest.fixture
def restore_url(database_url: str, tmp_path: Path) -> Iterator[str]:
    """Where to restore: a new SQLite file, or a new empty PostgreSQL database."""
    if not database_url.startswith("postgresql"):
        yield str(tmp_path / "restored.db")
        return
    name = f"sijreg_restore_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield sa.make_url(database_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _write(
    engine: sa.Engine, people: People, writer: int, stop: threading.Event, acknowledged: list[str]
) -> None:
    """Enrol patients one transaction each; a study id is acknowledged once committed."""
    n = 0
    while not stop.is_set():
        n += 1
        study_id = f"W{writer}-{n:05d}"
        with engine.begin() as conn:
            SiteScope(conn, people.actor(conn, "coord1")).create(
                "patient", {"study_id": study_id, "sex": "F", "age": 50}
            )
        acknowledged.append(study_id)


def test_a_backup_under_write_load_restores_verified_with_every_acknowledged_write(
    engine: sa.Engine, people: People, database_url: str, restore_url: str, tmp_path: Path
) -> None:
    stop = threading.Event()
    acknowledged: list[list[str]] = [[] for _ in range(WRITERS)]
    threads = [
        threading.Thread(target=_write, args=(engine, people, i, stop, acknowledged[i]))
        for i in range(WRITERS)
    ]
    for thread in threads:
        thread.start()
    try:
        while sum(map(len, acknowledged)) < 40:
            stop.wait(0.05)
        before = {study_id for writes in acknowledged for study_id in writes}
        dump = tmp_path / "registry.backup"
        made = runner.invoke(app, ["backup", str(dump), "--database", database_url])
        during = sum(map(len, acknowledged)) - len(before)
    finally:
        stop.set()
        for thread in threads:
            thread.join()
    assert made.exit_code == 0, made.output
    assert during > 0, "the writers kept writing while the backup ran"
    again = runner.invoke(app, ["backup", str(dump), "--database", database_url])
    assert (again.exit_code, "never overwrites" in again.output) == (1, True)
    restored = runner.invoke(app, ["restore", str(dump), "--database", restore_url])
    assert restored.exit_code == 0, restored.output
    assert "Audit trail intact" in restored.output
    copy = open_database(restore_url)
    try:
        with copy.connect() as conn:
            stored = set(conn.execute(sa.select(schema.patient.c.study_id)).scalars())
    finally:
        copy.dispose()
    assert before <= stored
    assert stored <= {study_id for writes in acknowledged for study_id in writes}


def test_a_restore_that_does_not_verify_says_so(
    engine: sa.Engine, people: People, database_url: str, restore_url: str, tmp_path: Path
) -> None:
    with engine.begin() as conn:
        conn.execute(sa.update(schema.app_user).values(role="admin", site_id=None))
    dump = tmp_path / "registry.backup"
    assert runner.invoke(app, ["backup", str(dump), "--database", database_url]).exit_code == 0
    restored = runner.invoke(app, ["restore", str(dump), "--database", restore_url])
    assert restored.exit_code == 1
    assert "does not verify: do not serve it" in restored.output
    assert f"app_user {people.ids['coord1']} (audit entry" in restored.output
