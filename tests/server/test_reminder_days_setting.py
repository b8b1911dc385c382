"""One set of reminder days for every door: stored in the registry (audited), set by
``sijreg settings reminder-days``, read by the server's states and worklist per request and
by ``sijreg invitations``; no command takes them as an option any more."""

from __future__ import annotations

import csv
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.domain.followup import DEFAULT_REMINDER_DAYS
from sijreg.store import audit, schema
from sijreg.store.registry_settings import (
    reminder_days,
    set_reminder_days,
    set_visit_windows,
    visit_windows,
)
from tests.helpers import run
from tests.server.followup_support import KEY, seed_followup
from tests.server.server_support import People, bearer


def test_the_days_are_stored_canonical_audited_and_refused_when_bad(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        assert reminder_days(conn) == DEFAULT_REMINDER_DAYS
        set_reminder_days(conn, " 21, 0,7", "test")
        set_reminder_days(conn, "0,7,21", "test")  # the same days: no second entry
        set_visit_windows(conn, "12:30:60", "test")  # the other setting: a row of its own
    with engine.begin() as conn:
        assert reminder_days(conn) == (0, 7, 21)
        t = schema.registry_setting
        stored = conn.execute(sa.select(t.c.value).where(t.c.name == "reminder_days")).scalar()
        assert stored == "0,7,21"
        entries = conn.execute(
            sa.select(schema.audit_log.c.action).where(
                schema.audit_log.c.table_name == "registry_setting"
            )
        ).all()
        assert [e.action for e in entries] == ["create", "create"]
        set_reminder_days(conn, "0,10", "test")
        assert audit.verify(conn).ok
    for bad in ("0,14,x", "", "-1,14"):
        with engine.begin() as conn, pytest.raises(ValueError, match="is not a list of days"):
            set_reminder_days(conn, bad, "test")
    with engine.connect() as conn:
        assert reminder_days(conn) == (0, 10)
        assert [w.months for w in visit_windows(conn)] == [12]
    with engine.begin() as conn:  # a change made behind sijreg's back is found
        conn.execute(
            sa.update(schema.registry_setting)
            .where(schema.registry_setting.c.name == "reminder_days")
            .values(value="0,1")
        )
    with engine.connect() as conn:
        assert not audit.verify(conn).ok


def test_the_command_shows_sets_and_refuses_with_a_reason(tmp_path: Path) -> None:
    database = str(tmp_path / "r.db")
    shown = run("settings", "reminder-days", "-d", database)
    assert shown.exit_code == 0
    assert "are: 0,14,28" in " ".join(shown.output.split())
    changed = run("settings", "reminder-days", "21,0,7", "-d", database)
    assert changed.exit_code == 0
    assert "are now: 0,7,21" in " ".join(changed.output.split())
    refused = run("settings", "reminder-days", "0,14,x", "-d", database)
    assert refused.exit_code == 1
    assert "reminder days refused: '0,14,x' is not a list of days" in " ".join(
        refused.output.split()
    )
    assert "0,7,21" in run("settings", "reminder-days", "-d", database).output
    for command in (("serve",), ("invitations", "export", "--site", "S01", "--base-url", "x")):
        gone = run(*command, "--reminder-days", "0,14", "-d", database)
        assert gone.exit_code == 2
        assert "No such option" in gone.output


def test_the_servers_states_and_worklist_follow_the_registrys_days(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    seed_followup(engine, people)  # P1 fused 12 months ago: the 11-month target about 30 days ago
    with engine.begin() as conn:
        set_visit_windows(conn, "11:10:60", "test")  # opened about 40 days ago
    coord1 = bearer(tokens["coord1"])

    def eleven_months() -> tuple[str, bool]:
        states = server.get("/api/v1/follow-up/states", headers=coord1).json()
        worklist = server.get("/api/v1/worklist", headers=coord1).json()
        (state,) = (s["state"] for s in states if s["study_id"] == "P1" and s["months"] == 11)
        (due,) = (d for d in worklist if d["study_id"] == "P1" and d["months"] == 11)
        return state, due["overdue"]

    assert eleven_months() == ("overdue", True)  # past the last default day, 28
    with engine.begin() as conn:
        set_reminder_days(conn, "0,14,60", "test")  # the last reminder still to come
    assert eleven_months() == ("due", False)


def test_the_invitations_follow_the_registrys_days(
    engine: sa.Engine, database_url: str, people: People, tmp_path: Path
) -> None:
    seed_followup(engine, people)  # the 12-month window of P1 opened 30 days ago
    key = tmp_path / "links.key"
    key.write_text(KEY.hex())
    with engine.begin() as conn:
        set_reminder_days(conn, "40,50", "test")
    site = ("--site", "S01", "--base-url", "https://testserver", "--key", str(key))
    exported = run("invitations", "export", *site, "--out", str(tmp_path), "-d", database_url)
    assert exported.exit_code == 0, exported.output
    with (tmp_path / "invitations-S01.csv").open() as f:
        row = next(r for r in csv.DictReader(f) if r["months"] == "12")
    due = date.fromisoformat(row["valid_from"]) + timedelta(days=40)
    assert row["reminder_due"] == due.isoformat()
    contacts = tmp_path / "contacts.csv"
    contacts.write_text("study_id,email\nP1,patient.one@example.org\n")
    # nothing is due before day 40, so no mail server is needed (port 1 listens to nobody)
    sent = run(
        "invitations", "send", *site, "--contacts", str(contacts), "--smtp", "smtp://127.0.0.1:1",
        "-d", database_url,
    )  # fmt: skip
    assert sent.exit_code == 0, sent.output
    assert "0 messages sent" in sent.output
