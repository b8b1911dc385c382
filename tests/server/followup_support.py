"""A site-A and a site-B patient fused a year ago, with invitations whose links are known."""

from __future__ import annotations

import email
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from sijreg.domain.schedule import DEFAULT_WINDOWS, add_months
from sijreg.interop.instrument_file import default_instruments
from sijreg.server.web import today
from sijreg.store import followup, schema
from tests.server.server_support import People

KEY = bytes(range(32))

# Half of the questions: the first pages; then the rest, ODI scored 2,2,1,1,0,0,3,-,2,1 -> 26.7
FIRST_HALF = {
    "pain_relief_pct": "70",
    "nrs_pain": "3",
    "nrs_pain_week": "4",
    "pgic": "much_improved",
    "opioid_use": "no",
}
ODI_SCORES = [2, 2, 1, 1, 0, 0, 3, None, 2, 1]
ODI_EXPECTED = "26.7"


@dataclass
class FollowUpPatient:
    patient_id: int
    token: str
    other_site_token: str


def seed_followup(engine: sa.Engine, people: People) -> FollowUpPatient:
    """Patients P1 (S01) and Q1 (S02) fused 12 months ago; invitations issued at both sites."""
    fused = add_months(today(), -12)
    ids = {}
    with engine.begin() as conn:
        for site, study_id in (("S01", "P1"), ("S02", "Q1")):
            site_id = people.sites[site]
            ids[site] = conn.execute(
                sa.insert(schema.patient)
                .values(site_id=site_id, study_id=study_id)
                .returning(schema.patient.c.id)
            ).scalar_one()
            conn.execute(
                sa.insert(schema.fusion).values(
                    site_id=site_id, patient_id=ids[site], fusion_date=fused
                )
            )
            followup.issue(conn, site_id, KEY, today(), DEFAULT_WINDOWS, default_instruments())
    return FollowUpPatient(
        ids["S01"], link_token(engine, ids["S01"]), link_token(engine, ids["S02"])
    )


def link_token(engine: sa.Engine, patient_id: int, months: int = 12) -> str:
    inv = schema.invitation
    with engine.connect() as conn:
        salt = conn.execute(
            sa.select(inv.c.salt).where(inv.c.patient_id == patient_id, inv.c.months == months)
        ).scalar_one()
    return followup.token_for(KEY, salt)


def odi_answers() -> dict[str, str]:
    return {f"odi_{n}_answer": f"s{s}" for n, s in enumerate(ODI_SCORES, 1) if s is not None}


class Inbox:
    """An aiosmtpd handler keeping every message it receives."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"


@pytest.fixture
def smtp_server() -> Iterator[tuple[Inbox, int]]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()
