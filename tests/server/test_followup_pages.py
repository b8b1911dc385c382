"""The site's call list, a call attempt, and answers taken on paper on the same questionnaire."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.server.web import today
from sijreg.store import schema
from tests.server.followup_support import FIRST_HALF, odi_answers, seed_followup
from tests.server.server_support import People, sign_in


def test_call_list_calls_and_paper_answers(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    seeded = seed_followup(engine, people)
    csrf = sign_in(server, "coord1")
    listed = server.get("/follow-up").text
    row = re.search(r'<table id="call-list">.*?</table>', listed, re.S)
    assert row
    assert "P1" in row.group(0)
    assert "Q1" not in listed  # site B's patient
    assert "12 months" in row.group(0)
    assert "due, not invited yet" in row.group(0)
    assert re.search(r"<td>3 months</td><td>1</td><td>0</td><td>0.0</td>", listed)  # missed
    saved = server.post(
        "/follow-up/calls",
        data={
            "csrf_token": csrf,
            "patient_id": str(seeded.patient_id),
            "months": "12",
            "outcome": "left_message",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert "Left a message" in server.get("/follow-up").text

    url = f"/follow-up/{seeded.patient_id}/12/answers"
    form = server.get(url).text
    assert "[Placeholder] Section 1" in form
    data = {
        "csrf_token": csrf,
        "source": "paper",
        "visit_date": today().isoformat(),
        **FIRST_HALF,
        **odi_answers(),
    }
    refused = server.post(url, data={**data, "nrs_pain": "12"})
    assert refused.status_code == 422
    assert "Please give a number from 0 to 10." in refused.text
    assert server.post(url, data=data, follow_redirects=False).status_code == 303
    with engine.connect() as conn:
        visit = (
            conn.execute(
                sa.select(schema.visit).where(schema.visit.c.patient_id == seeded.patient_id)
            )
            .mappings()
            .one()
        )
        entry = (
            conn.execute(
                sa.select(schema.audit_log).where(
                    schema.audit_log.c.table_name == "visit",
                    schema.audit_log.c.record_id == visit["id"],
                )
            )
            .mappings()
            .one()
        )
    assert visit["source"] == "paper"
    assert f"{visit['odi']:.1f}" == "26.7"
    assert entry["user_id"] == people.ids["coord1"]
    listed = server.get("/follow-up").text
    assert re.search(r"<td>12 months</td><td>1</td><td>1</td><td>100.0</td>", listed)
    # the link of an answered follow-up stops working
    from tests.server.followup_support import link_token

    assert server.get(f"/f/{link_token(engine, seeded.patient_id)}").status_code == 404
