"""A forged Host header never gets a redirect to another host (issue 15, item 8)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("path", ["/patients/", "/sign-in/", "/api/v1/patients/", "/"])
def test_no_redirect_names_the_forged_host(server: TestClient, path: str) -> None:
    answer = server.get(path, headers={"Host": "evil.example"}, follow_redirects=False)
    assert "evil.example" not in answer.headers.get("location", "")
    assert answer.status_code in (303, 401, 404)
