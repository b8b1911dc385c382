"""The patient's link: pages, saving as they go, resuming, one submission, one plain refusal."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.store import schema
from tests.server.followup_support import FIRST_HALF, ODI_EXPECTED, odi_answers, seed_followup
from tests.server.server_support import People, sign_in


def _answer_page(client: TestClient, token: str, answers: dict[str, str]) -> None:
    """Post the page the link opens on with the answers its questions take."""
    page = client.get(f"/f/{token}")
    assert page.status_code == 200, page.text
    index = re.search(r'name="page" value="(\d+)"', page.text)
    assert index
    names = set(re.findall(r'name="([a-z0-9_]+)"', page.text)) - {"page", "go"}
    assert names, "a page asks something"
    data = {n: answers[n] for n in names if n in answers}
    saved = client.post(
        f"/f/{token}", data={"page": index.group(1), "go": "next", **data}, follow_redirects=False
    )
    assert saved.status_code == 303, saved.text


def test_a_patient_answers_resumes_submits_and_the_link_then_refuses(
    server: TestClient, engine: sa.Engine, app_engine: sa.Engine, people: People
) -> None:
    seeded = seed_followup(engine, people)
    token = seeded.token
    first = server.get(f"/f/{token}")
    assert "Page 1 of 14" in first.text
    for _ in range(3):  # relief, pain, change
        _answer_page(server, token, FIRST_HALF)
    resumed = server.get(f"/f/{token}")  # reopening goes to the first unanswered page
    assert "Page 4 of 14" in resumed.text
    assert "opioid" in resumed.text
    everything = {**FIRST_HALF, **odi_answers()}
    for _ in range(11):
        _answer_page(server, token, everything)
    review = server.get(f"/f/{token}")
    assert "Check your answers" in review.text
    assert "Much improved" in review.text
    sent = server.post(f"/f/{token}/submit")
    assert sent.status_code == 200
    assert "Thank you" in sent.text
    with engine.connect() as conn:
        visit = (
            conn.execute(
                sa.select(schema.visit).where(schema.visit.c.patient_id == seeded.patient_id)
            )
            .mappings()
            .one()
        )
        inv = (
            conn.execute(
                sa.select(schema.invitation).where(schema.invitation.c.visit_id == visit["id"])
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
    assert f"{visit['odi']:.1f}" == ODI_EXPECTED
    assert visit["source"] == "patient_web"
    assert visit["nrs_pain"] == 3
    assert visit["pgic"] == "much_improved"
    assert visit["opioid_use"] is False
    assert inv["opened_at"] is not None
    assert inv["completed_at"] is not None
    assert entry["user_id"] is None
    assert f"invitation {inv['id']}" in entry["reason"]
    again = server.get(f"/f/{token}")
    assert again.status_code == 404
    assert "This link does not work" in again.text
    sign_in(server, "coord1")
    shown = server.get(f"/patients/{seeded.patient_id}")
    assert ODI_EXPECTED in shown.text
    assert "patient_web" in shown.text or "Patient, on the web link" in shown.text  # code or label


def _body(html: str) -> str:
    return re.sub(r"\s+", " ", html)


def test_wrong_used_and_expired_links_get_the_same_answer(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    seeded = seed_followup(engine, people)
    inv = schema.invitation
    with engine.begin() as conn:  # the 24-month link is not open yet; close the 12-month one
        conn.execute(
            sa.update(inv)
            .where(inv.c.patient_id == seeded.patient_id, inv.c.months == 12)
            .values(completed_at=sa.func.current_timestamp())
        )
    from tests.server.followup_support import link_token

    answers = [
        server.get("/f/" + "x" * 43),
        server.get(f"/f/{seeded.token}"),
        server.get(f"/f/{link_token(engine, seeded.patient_id, 24)}"),
    ]
    assert {a.status_code for a in answers} == {404}
    assert len({_body(a.text) for a in answers}) == 1


def test_guessing_is_throttled(server: TestClient, engine: sa.Engine, people: People) -> None:
    seeded = seed_followup(engine, people)
    for n in range(4):
        server.get(f"/f/{'y' * 40}{n:03d}")
    # after repeated failures even the right link waits, with the same plain answer
    assert server.get(f"/f/{seeded.token}").status_code == 404


def test_a_site_a_link_touches_nothing_of_site_b(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    seeded = seed_followup(engine, people)
    page = server.get(f"/f/{seeded.token}")
    assert "S01" in page.text
    assert "S02" not in page.text
    everything = {**FIRST_HALF, **odi_answers()}
    for _ in range(14):
        _answer_page(server, seeded.token, everything)
    assert server.post(f"/f/{seeded.token}/submit").status_code == 200
    with engine.connect() as conn:
        visits = conn.execute(sa.select(schema.visit.c.site_id, schema.visit.c.patient_id)).all()
        b_invitation = conn.execute(
            sa.select(schema.invitation.c.answers, schema.invitation.c.opened_at).where(
                schema.invitation.c.site_id == people.sites["S02"]
            )
        ).all()
    assert visits == [(people.sites["S01"], seeded.patient_id)]
    assert all(row.answers is None and row.opened_at is None for row in b_invitation)


def test_a_bad_answer_is_refused_on_its_page_and_nothing_saved(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    seeded = seed_followup(engine, people)
    bad = server.post(f"/f/{seeded.token}", data={"page": "0", "pain_relief_pct": "150"})
    assert bad.status_code == 422
    assert "Please give a number from 0 to 100." in bad.text
    with engine.connect() as conn:
        saved = conn.execute(
            sa.select(schema.invitation.c.answers).where(
                schema.invitation.c.patient_id == seeded.patient_id,
                schema.invitation.c.months == 12,
            )
        ).scalar_one()
    assert saved is None


def test_a_locked_patients_answers_wait_on_the_invitation(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    from sijreg.store.scope import SiteScope
    from tests.server.server_support import PASSWORD

    seeded = seed_followup(engine, people)
    with engine.begin() as conn:
        SiteScope(conn, people.actor(conn, "inv1")).sign(seeded.patient_id, PASSWORD, "review")
    everything = {**FIRST_HALF, **odi_answers()}
    for _ in range(14):
        _answer_page(server, seeded.token, everything)
    held = server.post(f"/f/{seeded.token}/submit")
    assert held.status_code == 200
    assert "The clinic will add them" in held.text
    with engine.connect() as conn:
        visits = conn.execute(sa.select(schema.visit.c.id)).all()
    assert visits == []
    assert server.get(f"/f/{seeded.token}").status_code == 200  # still open, answers kept
