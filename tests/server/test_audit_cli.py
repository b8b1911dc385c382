"""``sijreg audit keygen | checkpoint | verify --checkpoints`` as an operator runs them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import sqlalchemy as sa
from benchmarks.served import sijreg_serve

from sijreg.cli.app import app
from sijreg.store import schema
from sijreg.store.database import resolve_url
from tests.server.test_cli import _run, runner


def test_checkpoints_sign_the_head_and_verify_catches_a_truncated_trail(
    database_url: str, tmp_path: Path
) -> None:
    key, public, points = tmp_path / "key.pem", tmp_path / "key.pub", tmp_path / "points.jsonl"
    assert _run(database_url, "user", "add", "root", "--role", "admin", "--name", "Ann")[0] == 0
    keygen = ["audit", "keygen", "--key", str(key), "--public-key", str(public)]
    assert runner.invoke(app, keygen).exit_code == 0
    assert key.stat().st_mode & 0o777 == 0o600
    again = runner.invoke(app, keygen)
    code, output = again.exit_code, again.output
    assert (code, "never overwritten" in output) == (1, True)
    assert _run(database_url, "audit", "checkpoint", "--key", str(key), "--to", str(points))[0] == 0
    _run(database_url, "user", "token", "root")
    code, output = _run(database_url, "audit", "checkpoint", "--key", str(key), "--to", str(points))
    assert (code, "Checkpoint: entry 2" in output) == (0, True)
    lines = [json.loads(line) for line in points.read_text().splitlines()]
    assert [line["entry_id"] for line in lines] == [1, 2]
    assert set(lines[0]) == {"entry_id", "head", "at", "signature"}
    with_points = ("--checkpoints", str(points), "--public-key", str(public))
    code, output = _run(database_url, "audit", "verify", *with_points)
    assert code == 0, output
    assert "2 checkpoints match (up to entry 2)" in output
    engine = sa.create_engine(resolve_url(database_url))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_delete"))
        conn.execute(sa.delete(schema.audit_log).where(schema.audit_log.c.id == 2))
        conn.execute(sa.delete(schema.api_token))
    engine.dispose()
    assert _run(database_url, "audit", "verify")[0] == 0  # the chain alone cannot tell
    code, output = _run(database_url, "audit", "verify", *with_points)
    assert code == 1
    assert "checkpoint 2 (entry 2," in output
    assert "the entry is gone (trail truncated)" in output


def test_serve_signs_checkpoints_on_a_schedule(tmp_path: Path) -> None:
    database = str(tmp_path / "served.db")
    key, public, points = tmp_path / "key.pem", tmp_path / "key.pub", tmp_path / "points.jsonl"
    assert (
        runner.invoke(
            app, ["audit", "keygen", "--key", str(key), "--public-key", str(public)]
        ).exit_code
        == 0
    )
    assert _run(database, "user", "add", "root", "--role", "admin", "--name", "Ann")[0] == 0
    every = ("--checkpoint-key", str(key), "--checkpoint-file", str(points))
    with sijreg_serve(database, *every, "--checkpoint-minutes", "0.01"):
        deadline = time.monotonic() + 30
        while not points.exists() or len(points.read_text().splitlines()) < 2:
            assert time.monotonic() < deadline, "no checkpoints written"
            time.sleep(0.2)
    code, output = _run(
        database, "audit", "verify", "--checkpoints", str(points), "--public-key", str(public)
    )
    assert code == 0, output
    assert "checkpoints match (up to entry 1)" in output
