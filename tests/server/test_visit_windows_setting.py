"""One set of visit windows for every door: stored in the registry (audited), set by
``sijreg settings visit-windows``, read by the API's states and completeness, the worklist,
the server's report, ``sijreg report`` and a freeze of the registry."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.domain.schedule import DEFAULT_WINDOWS, Window
from sijreg.interop.freeze import read_freeze, write_freeze
from sijreg.server.reporting import study_report
from sijreg.store import accounts, audit, schema
from sijreg.store.registry_settings import set_visit_windows, visit_windows
from tests.helpers import read_tables, run
from tests.server.followup_support import seed_followup
from tests.server.server_support import People, bearer

STUDY = "9:20:20, 12:30:60"
"""A study's own windows: 9 and 12 months (the defaults have 3, 6, 12 and 24)."""


def test_the_windows_are_stored_audited_and_refused_when_bad(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        assert visit_windows(conn) == DEFAULT_WINDOWS
        set_visit_windows(conn, STUDY, "test")
        set_visit_windows(conn, STUDY, "test")  # unchanged: no second entry
    with engine.begin() as conn:
        assert visit_windows(conn) == (Window(9, 20, 20), Window(12, 30, 60))
        entries = conn.execute(
            sa.select(schema.audit_log.c.action).where(
                schema.audit_log.c.table_name == "registry_setting"
            )
        ).all()
        assert [e.action for e in entries] == ["create"]
        assert audit.verify(conn).ok
    for bad, reason in (
        ("3:14", "is not months:days-before:days-after"),
        ("0:1:1", "at least 1 month"),
        ("12:30:60,12:10:10", "names a follow-up month twice"),
    ):
        with engine.begin() as conn, pytest.raises(ValueError, match=reason):
            set_visit_windows(conn, bad, "test")
    with engine.connect() as conn:
        assert visit_windows(conn) == (Window(9, 20, 20), Window(12, 30, 60))
    with engine.begin() as conn:  # a change made behind sijreg's back is found
        conn.execute(sa.update(schema.registry_setting).values(value="3:1:1"))
    with engine.connect() as conn:
        assert not audit.verify(conn).ok


def test_the_command_shows_sets_and_refuses_with_a_reason(tmp_path: Path) -> None:
    database = str(tmp_path / "r.db")
    shown = run("settings", "visit-windows", "-d", database)
    assert shown.exit_code == 0
    assert "3:14:30,6:30:30,12:30:60,24:60:90" in shown.output
    changed = run("settings", "visit-windows", STUDY, "-d", database)
    assert changed.exit_code == 0
    assert "are now: 9:20:20,12:30:60" in " ".join(changed.output.split())
    refused = run("settings", "visit-windows", "12:x:60", "-d", database)
    assert refused.exit_code == 1
    assert "visit windows refused: '12:x:60' is not months:days-before:days-after" in (
        " ".join(refused.output.split())
    )
    assert "9:20:20,12:30:60" in run("settings", "visit-windows", "-d", database).output


def test_every_door_counts_with_the_registrys_windows(
    server: TestClient,
    engine: sa.Engine,
    people: People,
    tokens: dict[str, str],
    tmp_path: Path,
    database_url: str,
) -> None:
    seed_followup(engine, people)  # P1 fused 12 months ago
    with engine.begin() as conn:
        set_visit_windows(conn, STUDY, "test")
    coord1 = bearer(tokens["coord1"])
    states = server.get("/api/v1/follow-up/states", headers=coord1).json()
    assert [(s["months"], s["state"]) for s in states] == [(9, "missed"), (12, "due")]
    rows = server.get("/api/v1/follow-up/completeness", headers=coord1).json()
    assert {r["months"] for r in rows} == {9, 12}
    nine = next(r for r in rows if r["site"] == "S01" and r["months"] == 9)
    assert (nine["due"], nine["answered"]) == (1, 0)
    worklist = server.get("/api/v1/worklist", headers=coord1).json()
    assert [d["months"] for d in worklist] == [12]

    with engine.begin() as conn:
        actor = accounts.actor_for(conn, people.ids["coord1"])
        assert actor is not None
        document, _ = study_report(engine, conn, actor)
    assert [w["months"] for w in document["completeness"]["windows"]] == [9, 12]

    out = tmp_path / "report"
    assert run("report", "-d", database_url, "-o", str(out), "-q").exit_code == 0
    written = read_tables(out)["completeness"]
    assert [w["months"] for w in written["windows"]] == [9, 12]
    write_freeze(engine, tmp_path / "freeze", "test")
    frozen = read_freeze(tmp_path / "freeze")
    assert frozen.manifest["visit_windows"] == "9:20:20,12:30:60"
    assert frozen.snapshot.visit_windows == (Window(9, 20, 20), Window(12, 30, 60))
