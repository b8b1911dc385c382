"""A change to a signed, locked record answers the documented 409 body (issue 15, item 8)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.server_support import PASSWORD, bearer


def test_updating_or_deleting_a_locked_record_answers_the_conflict_body(
    server: TestClient, tokens: dict[str, str]
) -> None:
    coord = bearer(tokens["coord1"])
    patient = server.post("/api/v1/patients", json={"study_id": "P-001"}, headers=coord).json()
    signed = server.post(
        f"/api/v1/patients/{patient['id']}/signature",
        json={"password": PASSWORD, "meaning": "approval"},
        headers=bearer(tokens["inv1"]),
    )
    assert signed.status_code == 204
    change = {"study_id": "P-002", "version": patient["version"], "reason": "typo"}
    for answer in (
        server.put(f"/api/v1/patients/{patient['id']}", json=change, headers=coord),
        server.request(
            "DELETE",
            f"/api/v1/patients/{patient['id']}",
            json={"version": patient["version"], "reason": "duplicate"},
            headers=coord,
        ),
    ):
        assert answer.status_code == 409
        body = answer.json()
        assert set(body) == {"detail", "yours", "current"}
        assert "signed and locked" in body["detail"]
        assert body["current"]["study_id"] == "P-001"
        assert body["yours"]["version"] == patient["version"]
    schema = server.get("/api/v1/openapi.json").json()
    put = schema["paths"]["/api/v1/patients/{record_id}"]["put"]["responses"]["409"]
    assert "locked" in put["description"]
