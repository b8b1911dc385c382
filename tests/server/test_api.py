"""The JSON API as a script would use it: tokens, site scope, versions, reasons, history."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from tests.helpers import run
from tests.server.server_support import People, bearer


def _enrol(server: TestClient, token: str, study_id: str = "P-001") -> dict[str, object]:
    answer = server.post(
        "/api/v1/patients",
        json={"study_id": study_id, "sex": "F", "age": 64},
        headers=bearer(token),
    )
    assert answer.status_code == 201, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_a_coordinator_enrols_and_follows_a_patient(
    server: TestClient, people: People, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    patient = _enrol(server, tokens["coord1"])
    pid = patient["id"]
    assert patient["version"] == 1
    fusion = server.post(
        f"/api/v1/patients/{pid}/fusions",
        json={"fusion_date": "2025-01-10", "side": "left"},
        headers=auth,
    )
    assert fusion.status_code == 201, fusion.text
    visit = server.post(
        f"/api/v1/patients/{pid}/visits",
        json={"visit_date": "2025-04-12", "pain_relief_pct": "62.5", "nrs_pain": 3},
        headers=auth,
    )
    assert visit.status_code == 201, visit.text
    assert visit.json()["pain_relief_pct"] == "62.5"
    listed = server.get(f"/api/v1/patients/{pid}/visits", headers=auth).json()
    assert [v["visit_date"] for v in listed] == ["2025-04-12"]
    assert [p["study_id"] for p in server.get("/api/v1/patients", headers=auth).json()] == ["P-001"]


def test_the_dictionary_rules_answer_422_naming_the_field(
    server: TestClient, tokens: dict[str, str]
) -> None:
    answer = server.post(
        "/api/v1/patients",
        json={"study_id": "P 1", "age": 17, "bmi": "30.55"},
        headers=bearer(tokens["coord1"]),
    )
    assert answer.status_code == 422
    problems = {tuple(d["loc"])[-1]: d["msg"] for d in answer.json()["detail"]}
    assert set(problems) == {"study_id", "age", "bmi"}
    assert "must be a whole number from 18 to 110 years" in problems["age"]
    assert "at most 1 decimal places" in problems["bmi"]


def test_a_second_patient_with_the_same_study_id_is_refused(
    server: TestClient, tokens: dict[str, str]
) -> None:
    _enrol(server, tokens["coord1"])
    again = server.post(
        "/api/v1/patients", json={"study_id": "P-001"}, headers=bearer(tokens["coord1"])
    )
    assert again.status_code == 422
    assert again.json()["detail"][0]["loc"] == ["body", "study_id"]
    # Another site may use the same code: study ids are site-local.
    assert _enrol(server, tokens["coord2"])["study_id"] == "P-001"


def test_saving_over_a_newer_version_answers_409_with_both_and_writes_nothing(
    server: TestClient, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    pid = _enrol(server, tokens["coord1"])["id"]
    first = server.put(
        f"/api/v1/patients/{pid}",
        json={"study_id": "P-001", "age": 65, "version": 1, "reason": "age corrected"},
        headers=auth,
    )
    assert first.status_code == 200, first.text
    assert first.json()["version"] == 2
    stale = server.put(
        f"/api/v1/patients/{pid}",
        json={"study_id": "P-001", "age": 70, "version": 1, "reason": "my edit"},
        headers=auth,
    )
    assert stale.status_code == 409
    body = stale.json()
    assert body["yours"]["age"] == 70
    assert body["current"]["age"] == 65
    assert body["current"]["version"] == 2
    assert server.get(f"/api/v1/patients/{pid}", headers=auth).json()["age"] == 65


def test_changes_after_the_first_save_and_deletions_need_a_reason(
    server: TestClient, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    pid = _enrol(server, tokens["coord1"])["id"]
    no_reason = server.put(
        f"/api/v1/patients/{pid}",
        json={"study_id": "P-001", "version": 1, "reason": "  "},
        headers=auth,
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["detail"][0]["loc"] == ["body", "reason"]
    missing = server.request("DELETE", f"/api/v1/patients/{pid}", json={"version": 1}, headers=auth)
    assert missing.status_code == 422
    deleted = server.request(
        "DELETE",
        f"/api/v1/patients/{pid}",
        json={"version": 1, "reason": "enrolled twice"},
        headers=auth,
    )
    assert deleted.status_code == 204
    assert server.get(f"/api/v1/patients/{pid}", headers=auth).status_code == 404
    history = server.get(f"/api/v1/patients/{pid}/history", headers=auth).json()
    assert [(h["action"], h["reason"]) for h in history] == [
        ("create", None),
        ("delete", "enrolled twice"),
    ]


@pytest.mark.parametrize("header", ["", "Bearer", "Bearer sijreg_nope", "Basic abc"])
def test_requests_without_a_valid_token_answer_401(server: TestClient, header: str) -> None:
    answer = server.get("/api/v1/patients", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"] == "Bearer"


def test_a_token_in_the_url_is_not_accepted(server: TestClient, tokens: dict[str, str]) -> None:
    assert server.get(f"/api/v1/patients?access_token={tokens['coord1']}").status_code == 401
    assert server.get(f"/api/v1/patients?token={tokens['coord1']}").status_code == 401


def test_an_investigator_signs_and_the_records_lock(
    server: TestClient, tokens: dict[str, str]
) -> None:
    pid = _enrol(server, tokens["coord1"])["id"]
    coordinator = server.post(
        f"/api/v1/patients/{pid}/signature",
        json={"password": "mauve staple orbit 42", "meaning": "approval"},
        headers=bearer(tokens["coord1"]),
    )
    assert coordinator.status_code == 403
    wrong = server.post(
        f"/api/v1/patients/{pid}/signature",
        json={"password": "not my password", "meaning": "approval"},
        headers=bearer(tokens["inv1"]),
    )
    assert wrong.status_code == 422
    signed = server.post(
        f"/api/v1/patients/{pid}/signature",
        json={"password": "mauve staple orbit 42", "meaning": "approval"},
        headers=bearer(tokens["inv1"]),
    )
    assert signed.status_code == 204
    locked = server.post(
        f"/api/v1/patients/{pid}/visits",
        json={"visit_date": "2025-04-12"},
        headers=bearer(tokens["coord1"]),
    )
    assert locked.status_code == 409
    actions = [
        h["action"]
        for h in server.get(
            f"/api/v1/patients/{pid}/history", headers=bearer(tokens["inv1"])
        ).json()
    ]
    assert actions == ["create", "sign", "lock"]


@pytest.mark.parametrize("user", ["analyst", "admin"])
def test_central_roles_have_no_record_level_access(
    server: TestClient, tokens: dict[str, str], user: str
) -> None:
    pid = _enrol(server, tokens["coord1"])["id"]
    for path in ("/api/v1/patients", f"/api/v1/patients/{pid}", "/api/v1/worklist"):
        assert server.get(path, headers=bearer(tokens[user])).status_code == 403


def _followed(
    server: TestClient, token: str, study_id: str, age: int, course: tuple[str, str, int]
) -> None:
    """Enrol a patient with ``course``: (fusion date, visit date, pain relief at that visit)."""
    auth = bearer(token)
    fusion, visit, relief = course
    pid = server.post(
        "/api/v1/patients", json={"study_id": study_id, "age": age}, headers=auth
    ).json()["id"]
    server.post(f"/api/v1/patients/{pid}/fusions", json={"fusion_date": fusion}, headers=auth)
    server.post(
        f"/api/v1/patients/{pid}/visits",
        json={"visit_date": visit, "pain_relief_pct": relief},
        headers=auth,
    )


def test_the_analyst_exports_pooled_de_identified_rows(
    server: TestClient, tokens: dict[str, str]
) -> None:
    for user, age in (("coord1", 95), ("coord2", 61)):
        _followed(server, tokens[user], f"SECRET-{user}", age, ("2024-02-03", "2024-08-01", 70))
    assert server.get("/api/v1/export", headers=bearer(tokens["coord1"])).status_code == 403
    answer = server.get("/api/v1/export", headers=bearer(tokens["analyst"]))
    assert answer.status_code == 200
    rows = answer.json()
    assert "SECRET" not in answer.text
    assert "2024-" not in answer.text  # no date finer than a year
    assert sorted(r["analysis_id"] for r in rows) == [1, 2]
    assert sorted((r["site"], r["age"], r["fusion_year"], r["followup_days"]) for r in rows) == [
        ("S01", "90+", 2024, 180),
        ("S02", "61", 2024, 180),
    ]
    assert not {"patient_id", "study_id", "fusion_date", "last_followup_date"} & set(rows[0])


def test_the_pooled_export_is_the_cli_analysis_file(
    server: TestClient, tokens: dict[str, str], engine: sa.Engine, tmp_path: Path
) -> None:
    """One de-identification policy: the server's rows are `sijreg export data`'s CSV rows."""
    for user, age in (("coord1", 93), ("coord2", 47), ("coord2", 58)):
        _followed(server, tokens[user], f"P-{age}", age, ("2023-05-06", "2024-01-02", age - 20))
    answer = server.get("/api/v1/export", headers=bearer(tokens["analyst"]))
    assert answer.status_code == 200
    target = tmp_path / "analysis.csv"
    url = engine.url.render_as_string(hide_password=False)
    result = run("export", "data", "-f", "csv", "-d", url, "-o", str(target))
    assert result.exit_code == 0, result.output
    with target.open(encoding="utf-8", newline="") as handle:
        written = list(csv.DictReader(handle))
    served = [{k: "" if v is None else str(v) for k, v in row.items()} for row in answer.json()]
    assert served == written
    assert {row["age"] for row in written} == {"90+", "47", "58"}
    assert {row["fusion_year"] for row in written} == {"2023"}
