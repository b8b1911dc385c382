"""Screening through the API: saved and judged decisions, as-you-type evaluation, versions.

Every decision the API gives is compared with the domain's own evaluate() on the
same values; the boundaries are the protocol's (50% relief is not more than 50%;
3 of 5 manoeuvres suffice).
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.domain.screening import evaluate
from sijreg.interop.protocol_file import load_protocol
from sijreg.store import audit, schema
from tests.server.server_support import bearer
from tests.test_protocol_file import CANDIDATE

ELIGIBLE: dict[str, Any] = {
    "screening_number": "SCR-1",
    "screening_date": "2025-02-01",
    **{k: str(v) if isinstance(v, Decimal) else v for k, v in CANDIDATE.items()},
}


def _criteria(answer: dict[str, Any]) -> dict[str, str]:
    return {c["key"]: c["status"] for c in answer["criteria"]}


def _expected(values: dict[str, Any]) -> dict[str, Any]:
    """The domain's decision on ``values``, as the API shows it."""
    decision = evaluate(load_protocol(), values)
    return {"decision": decision.verdict.value, **{"criteria": decision.as_dict()["criteria"]}}


def test_evaluate_agrees_with_the_domain_at_the_boundaries(
    server: TestClient, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    cases = [
        ELIGIBLE,
        {**ELIGIBLE, "block_relief_pct": "50"},
        {**ELIGIBLE, "block_relief_pct": 50.1},
        {**ELIGIBLE, "test_faber": "negative"},
        {**ELIGIBLE, "test_faber": "not_done"},
        {**ELIGIBLE, "block_relief_pct": "fifty"},
        {"screening_number": "SCR-2"},
    ]
    for values in cases:
        answer = server.post("/api/v1/screenings/evaluate", json=values, headers=auth)
        assert answer.status_code == 200, answer.text
        body = answer.json()
        expected = _expected(values)
        assert body["decision"] == expected["decision"]
        assert body["criteria"] == expected["criteria"]
        assert body["protocol"]["sha256"] == load_protocol().sha256
    first, fifty, just_over, two, pending = (
        server.post("/api/v1/screenings/evaluate", json=v, headers=auth).json() for v in cases[:5]
    )
    assert first["decision"] == "eligible"
    assert _criteria(fifty)["block_relief"] == "not_met"
    assert fifty["decision"] == "not_eligible"
    relief = next(c for c in fifty["criteria"] if c["key"] == "block_relief")
    assert relief["found"] == "50.0%"
    assert relief["required"] == "more than 50%"
    assert _criteria(just_over)["block_relief"] == "met"
    assert _criteria(two)["provocative_manoeuvres"] == "not_met"
    assert _criteria(pending)["provocative_manoeuvres"] == "missing"
    assert pending["missing"] == ["test_faber"]


def test_evaluating_saves_nothing(
    server: TestClient, engine: sa.Engine, tokens: dict[str, str]
) -> None:
    answer = server.post(
        "/api/v1/screenings/evaluate", json=ELIGIBLE, headers=bearer(tokens["coord1"])
    )
    assert answer.status_code == 200
    with engine.connect() as conn:
        for table in (schema.screening, schema.screening_result):
            assert conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one() == 0


def test_a_saved_screening_stores_its_decision_with_the_protocol_version(
    server: TestClient, engine: sa.Engine, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    protocol = load_protocol()
    created = server.post(
        "/api/v1/screenings", json={**ELIGIBLE, "block_relief_pct": "50"}, headers=auth
    )
    assert created.status_code == 201, created.text
    body = created.json()
    sid = body["id"]
    assert body["version"] == 1
    assert body["patient_id"] is None
    assert body["decision"]["decision"] == "not_eligible"
    assert body["decision"]["protocol"] == {
        "id": protocol.id,
        "version": protocol.version,
        "sha256": protocol.sha256,
    }
    assert body["decision"]["screening_version"] == 1

    # A correction needs the version read and a reason; a stale version is refused.
    patient = server.post("/api/v1/patients", json={"study_id": "P-9"}, headers=auth).json()
    change = {**ELIGIBLE, "patient_id": patient["id"], "version": 1, "reason": "typo"}
    updated = server.put(f"/api/v1/screenings/{sid}", json=change, headers=auth)
    assert updated.status_code == 200, updated.text
    assert updated.json()["decision"]["decision"] == "eligible"
    assert updated.json()["decision"]["screening_version"] == 2
    assert updated.json()["patient_id"] == patient["id"]
    stale = server.put(f"/api/v1/screenings/{sid}", json=change, headers=auth)
    assert stale.status_code == 409
    assert stale.json()["current"]["version"] == 2
    no_reason = {**change, "version": 2, "reason": " "}
    assert server.put(f"/api/v1/screenings/{sid}", json=no_reason, headers=auth).status_code == 422

    read = server.get(f"/api/v1/screenings/{sid}", headers=auth).json()
    assert read == updated.json()
    listed = server.get("/api/v1/screenings", headers=auth).json()
    assert [s["screening_number"] for s in listed] == ["SCR-1"]
    with engine.connect() as conn:
        results = conn.execute(
            sa.select(
                schema.screening_result.c.screening_version, schema.screening_result.c.decision
            ).order_by(schema.screening_result.c.id)
        ).all()
        assert [tuple(r) for r in results] == [(1, "not_eligible"), (2, "eligible")]
        actions = conn.execute(
            sa.select(schema.audit_log.c.action, schema.audit_log.c.reason).where(
                schema.audit_log.c.table_name == "screening"
            )
        ).all()
        assert [tuple(a) for a in actions] == [("create", None), ("update", "typo")]
        assert audit.verify(conn).ok


def test_the_dictionary_and_the_link_rules_answer_422(
    server: TestClient, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    bad = server.post(
        "/api/v1/screenings",
        json={"screening_number": "S 1", "block_relief_pct": 101, "test_faber": "maybe"},
        headers=auth,
    )
    assert bad.status_code == 422
    assert {d["loc"][-1] for d in bad.json()["detail"]} == {
        "screening_number",
        "block_relief_pct",
        "test_faber",
    }
    other = server.post(
        "/api/v1/patients", json={"study_id": "P-2"}, headers=bearer(tokens["coord2"])
    )
    foreign = {"screening_number": "SCR-5", "patient_id": other.json()["id"]}
    answer = server.post("/api/v1/screenings", json=foreign, headers=auth)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"][-1] == "patient_id"
    assert (
        server.post(
            "/api/v1/screenings", json={"screening_number": "SCR-5"}, headers=auth
        ).status_code
        == 201
    )
    twice = server.post("/api/v1/screenings", json={"screening_number": "SCR-5"}, headers=auth)
    assert twice.status_code == 422
    assert twice.json()["detail"][0]["loc"][-1] == "screening_number"


def test_deleting_a_patient_keeps_the_screening_unlinked_and_audited(
    server: TestClient, engine: sa.Engine, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    patient = server.post("/api/v1/patients", json={"study_id": "P-3"}, headers=auth).json()
    screening = server.post(
        "/api/v1/screenings", json={**ELIGIBLE, "patient_id": patient["id"]}, headers=auth
    ).json()
    gone = server.request(
        "DELETE",
        f"/api/v1/patients/{patient['id']}",
        json={"version": 1, "reason": "withdrew consent"},
        headers=auth,
    )
    assert gone.status_code == 204
    kept = server.get(f"/api/v1/screenings/{screening['id']}", headers=auth).json()
    assert kept["patient_id"] is None
    assert kept["version"] == 2
    with engine.connect() as conn:
        verified = audit.verify(conn)
        assert verified.ok
        assert verified.records == []
        with engine.begin() as writer:  # a change outside sijreg is found
            writer.execute(sa.update(schema.screening).values(block_relief_pct=10))
        assert audit.verify(conn).records != []
