"""The administration commands: users and tokens, audit verification, the app role."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sijreg.cli.app import app
from sijreg.store import accounts, schema
from sijreg.store.database import resolve_url

runner = CliRunner()
PASSWORD = "granite owls sing twice"


def _run(database_url: str, *args: str, password: str = PASSWORD) -> tuple[int, str]:
    result = runner.invoke(
        app, [*args, "--database", database_url], env={"SIJREG_PASSWORD": password}
    )
    return result.exit_code, result.output


def test_the_first_admin_and_a_coordinator_are_created_from_the_command_line(
    database_url: str,
) -> None:
    assert (
        _run(database_url, "user", "add", "root", "--role", "admin", "--name", "Ann Admin")[0] == 0
    )
    code, output = _run(
        database_url,
        "user",
        "add",
        "cora",
        "--role",
        "coordinator",
        "--name",
        "Cora",
        "--site",
        "S9",
    )
    assert code == 1
    assert "there is no site 'S9'" in output
    code, output = _run(
        database_url,
        "user",
        "add",
        "weak",
        "--role",
        "admin",
        "--name",
        "W",
        password="password1234",
    )
    assert code == 1
    assert "too common" in output
    code, output = _run(database_url, "user", "list")
    assert code == 0
    assert re.search(r"root\s+admin\s+-\s+active\s+Ann Admin", output)
    code, output = _run(database_url, "user", "token", "root", "--days", "7")
    assert code == 0
    assert "Bearer sijreg_" in output
    assert _run(database_url, "user", "revoke-token", "1")[0] == 0
    code, output = _run(database_url, "user", "revoke-token", "1")
    assert (code, "no active token 1" in output) == (1, True)
    assert _run(database_url, "user", "password", "root", password="short")[0] == 1
    assert _run(database_url, "user", "password", "root", password="quiet amber fields")[0] == 0
    engine = sa.create_engine(resolve_url(database_url))
    with engine.connect() as conn:
        _, stored = accounts.credentials(conn, "root")
    engine.dispose()
    assert accounts.password_matches(stored, "quiet amber fields")
    assert not accounts.password_matches(stored, PASSWORD)
    assert _run(database_url, "user", "disable", "root")[0] == 0
    assert "disabled" in _run(database_url, "user", "list")[1]


def test_audit_verify_reports_a_direct_edit(database_url: str) -> None:
    _run(database_url, "user", "add", "root", "--role", "admin", "--name", "Ann Admin")
    _run(database_url, "user", "token", "root")
    code, output = _run(database_url, "audit", "verify")
    assert code == 0
    assert "Audit trail intact: 2 entries" in output
    engine = sa.create_engine(resolve_url(database_url))
    with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
        else:
            conn.execute(sa.text("DROP TRIGGER audit_log_no_update"))
        conn.execute(
            sa.update(schema.audit_log)
            .where(schema.audit_log.c.id == 2)
            .values(new_values='{"token": 1, "role": "coordinator"}')
        )
    engine.dispose()
    code, output = _run(database_url, "audit", "verify")
    assert code == 1
    assert "broken at entry 2: entry 2 was altered" in output


def test_the_app_role_is_refused_on_sqlite(tmp_path: Path) -> None:
    code, output = _run(str(tmp_path / "x.db"), "db", "grant-app-role")
    assert code == 1
    assert "PostgreSQL only" in output


def test_serve_answers_over_http_and_logs_no_url(tmp_path: Path) -> None:
    """``sijreg serve`` as a user starts it: a process on a port, the pages and the API up."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    database = str(tmp_path / "served.db")
    process = subprocess.Popen(
        [
            str(Path(sys.executable).with_name("sijreg")),
            "serve",
            "-d",
            database,
            "--port",
            str(port),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(f"http://127.0.0.1:{port}/sign-in?next=secret-value")
                break
            except httpx.ConnectError:
                assert time.monotonic() < deadline, "sijreg serve did not start"
                time.sleep(0.2)
        assert page.status_code == 200
        assert "csrf_token" in page.text
        assert httpx.get(f"http://127.0.0.1:{port}/api/v1/me").status_code == 401
        assert "server" not in page.headers
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert "GET /sign-in 200" in output
    assert "secret-value" not in output


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_serve_refuses_an_unmigrated_postgresql_schema(database_url: str) -> None:
    code, output = _run(database_url, "serve")  # an empty schema: nothing migrated
    assert code == 1
    assert "run `sijreg db upgrade` as the tables' owner" in " ".join(output.split())


def test_serve_refuses_a_broken_protocol_file(tmp_path: Path) -> None:
    broken = tmp_path / "study.toml"
    broken.write_text("[protocol]\nid = 'x'\n")
    code, output = _run(str(tmp_path / "r.db"), "serve", "--protocol", str(broken))
    assert code == 1
    assert str(broken) in " ".join(output.split())
    assert "Traceback" not in output
