"""Invitations out without identifiers: CSV, PDF letters with QR codes, e-mail through real SMTP."""

from __future__ import annotations

import csv
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from sijreg.cli.app import app
from sijreg.store import schema
from tests.server.followup_support import KEY, Inbox, seed_followup, smtp_server
from tests.server.server_support import People

runner = CliRunner()
__all__ = ["smtp_server"]  # the fixture, used by name
ADDRESSES = ("patient.one@example.org", "quentin.q@example.net")


def _key(tmp_path: Path) -> Path:
    path = tmp_path / "links.key"
    path.write_text(KEY.hex())
    return path


def _invoke(database_url: str, *args: str) -> str:
    result = runner.invoke(app, [*args, "--database", database_url])
    assert result.exit_code == 0, result.output
    return result.output


def _everything_stored(engine: sa.Engine) -> str:
    """Every row of every table, as text."""
    with engine.connect() as conn:
        return "\n".join(
            repr(row) for t in schema.metadata.sorted_tables for row in conn.execute(sa.select(t))
        )


def test_invitations_are_mailed_and_the_link_in_the_mail_opens_the_questions(
    engine: sa.Engine,
    database_url: str,
    people: People,
    server: TestClient,
    smtp_server: tuple[Inbox, int],
    tmp_path: Path,
) -> None:
    inbox, port = smtp_server
    seed_followup(engine, people)
    contacts = tmp_path / "contacts.csv"
    contacts.write_text(f"study_id,email\nP1,{ADDRESSES[0]}\nQ1,{ADDRESSES[1]}\n")
    args = ("--site", "S01", "--base-url", "https://testserver", "--key", str(_key(tmp_path)))
    out = _invoke(
        database_url,
        "invitations",
        "send",
        *args,
        "--contacts",
        str(contacts),
        "--smtp",
        f"smtp://127.0.0.1:{port}",
    )
    assert "1 messages sent" in out
    assert len(inbox.messages) == 1
    mail = inbox.messages[0]
    assert mail["To"] == ADDRESSES[0]
    body = mail.get_payload(decode=True)
    assert isinstance(body, bytes)
    link = next(w for w in body.decode().split() if w.startswith("https://testserver/f/"))
    page = server.get(link.removeprefix("https://testserver"))
    assert page.status_code == 200
    assert "Page 1 of 14" in page.text
    # sent again the same day: nothing due (the first reminder is due 14 days after opening)
    out = _invoke(
        database_url,
        "invitations",
        "send",
        *args,
        "--contacts",
        str(contacts),
        "--smtp",
        f"smtp://127.0.0.1:{port}",
    )
    assert "0 messages sent" in out
    assert len(inbox.messages) == 1
    with engine.connect() as conn:
        sent = conn.execute(
            sa.select(schema.invitation.c.messages_sent, schema.invitation.c.first_sent_at).where(
                schema.invitation.c.months == 12, schema.invitation.c.site_id == people.sites["S01"]
            )
        ).one()
    assert sent.messages_sent == 1
    assert sent.first_sent_at is not None
    stored = _everything_stored(engine)
    for address in ADDRESSES:
        assert address not in stored
        assert address.split("@")[0] not in stored


def test_a_sites_letters_and_mail_merge_file_carry_live_links_only(
    engine: sa.Engine, database_url: str, people: People, server: TestClient, tmp_path: Path
) -> None:
    seed_followup(engine, people)
    args = ("--site", "S01", "--base-url", "https://testserver", "--key", str(_key(tmp_path)))
    _invoke(database_url, "invitations", "export", *args, "--out", str(tmp_path))
    with (tmp_path / "invitations-S01.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [(r["study_id"], r["months"]) for r in rows] == [("P1", "12"), ("P1", "24")]
    assert rows[0]["reminder_due"] == rows[0]["valid_from"]  # nothing sent yet: day 0
    assert server.get(rows[0]["link"].removeprefix("https://testserver")).status_code == 200
    assert server.get(rows[1]["link"].removeprefix("https://testserver")).status_code == 404
    pdf = (tmp_path / "letters-S01.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    assert (
        pdf.count(b"/Type /Page\n") + pdf.count(b"/Type /Page ") + pdf.count(b"/Type /Page/") >= 2
    )
