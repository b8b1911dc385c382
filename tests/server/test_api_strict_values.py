"""JSON cannot smuggle a boolean in as a study id, nor "1_000" in as a number (issue 15)."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.server.server_support import bearer


def test_json_false_and_underscored_numbers_answer_422(
    server: TestClient, tokens: dict[str, str]
) -> None:
    answer = server.post(
        "/api/v1/patients",
        json={"study_id": False, "age": "1_000", "bmi": "3e1"},
        headers=bearer(tokens["coord1"]),
    )
    assert answer.status_code == 422, answer.text
    problems = {tuple(d["loc"])[-1]: d["msg"] for d in answer.json()["detail"]}
    assert set(problems) == {"study_id", "age", "bmi"}
    assert "expected a text value" in problems["study_id"]
    assert "expected a number" in problems["age"]
