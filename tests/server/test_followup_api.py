"""Follow-up in the JSON API: states, invitations, phone answers and completeness, per site."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.server.web import today
from sijreg.store import schema
from tests.server.followup_support import FIRST_HALF, odi_answers, seed_followup
from tests.server.server_support import People, bearer


def test_states_invitations_and_phone_answers_per_site(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    seeded = seed_followup(engine, people)
    coord1, coord2 = bearer(tokens["coord1"]), bearer(tokens["coord2"])
    states = server.get("/api/v1/follow-up/states", headers=coord1).json()
    assert [(s["study_id"], s["months"], s["state"]) for s in states] == [
        ("P1", 3, "missed"),
        ("P1", 6, "missed"),
        ("P1", 12, "due"),
        ("P1", 24, "not_yet_due"),
    ]
    invitations = server.get("/api/v1/follow-up/invitations", headers=coord1).json()
    assert [(i["study_id"], i["months"]) for i in invitations] == [("P1", 12), ("P1", 24)]
    assert all("token" not in k and "salt" not in k for k in invitations[0])

    body = {
        "source": "phone",
        "visit_date": today().isoformat(),
        "answers": {**FIRST_HALF, **odi_answers()},
    }
    url = f"/api/v1/follow-up/{seeded.patient_id}/12/answers"
    assert server.post(url, json=body, headers=coord2).status_code == 404  # site B: no such
    bad = server.post(url, json={**body, "answers": {"nrs_pain": "12"}}, headers=coord1)
    assert bad.status_code == 422
    assert "from 0 to 10" in bad.text
    made = server.post(url, json=body, headers=coord1)
    assert made.status_code == 201, made.text
    with engine.connect() as conn:
        visit = (
            conn.execute(
                sa.select(schema.visit).where(schema.visit.c.id == made.json()["visit_id"])
            )
            .mappings()
            .one()
        )
    assert visit["source"] == "phone"
    assert f"{visit['odi']:.1f}" == "26.7"
    states = server.get("/api/v1/follow-up/states", headers=coord1).json()
    assert states[2]["state"] == "answered"
    rows = server.get("/api/v1/follow-up/completeness", headers=coord1).json()
    twelve = next(r for r in rows if r["site"] == "S01" and r["months"] == 12)
    assert (twelve["due"], twelve["answered"], twelve["percent"]) == (1, 1, 100.0)
    three = next(r for r in rows if r["site"] == "S01" and r["months"] == 3)
    assert (three["due"], three["answered"]) == (1, 0)
    assert server.get("/api/v1/follow-up/invitations", headers=coord2).json()[0]["study_id"] == "Q1"
