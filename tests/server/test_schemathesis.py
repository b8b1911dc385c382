"""Schemathesis over the OpenAPI document: no 5xx answer, no stack trace in any body.

Requests carry a coordinator's token so that they reach the handlers, over a
registry holding records of that site; examples are bounded to keep the run short.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import schemathesis
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.core.result import Ok

from sijreg.store.scope import SiteScope
from tests.server.server_support import People, bearer

TRACE_MARKERS = ("Traceback", 'File "', "sqlalchemy", "psycopg", "sqlite3")


@pytest.fixture
def seeded(engine: sa.Engine, people: People) -> None:
    """Records of the token's site, so that generated small ids often exist."""
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        for n in range(1, 4):
            pid = scope.create("patient", {"study_id": f"P-{n}"})["id"]
            scope.create("fusion", {"fusion_date": date(2025, 1, n)}, pid)
            scope.create("visit", {"visit_date": date(2025, 5, n)}, pid)
            scope.create("screening", {"screening_number": f"S-{n}", "patient_id": pid})


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_fuzzed_requests_never_fail_on_the_server(
    server: TestClient, tokens: dict[str, str], seeded: None, mode: GenerationMode
) -> None:
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", server.app)
    operations = []
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result  # every operation of the document loads
        operations.append(result.ok())
    assert len(operations) > 25
    paths = {(o.method.upper(), o.path) for o in operations}
    assert ("POST", "/api/v1/screenings/evaluate") in paths
    assert ("PUT", "/api/v1/screenings/{record_id}") in paths

    statuses: list[int] = []
    for operation in operations:

        @settings(
            max_examples=25,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case: schemathesis.Case[Any]) -> None:
            response = case.call(headers=bearer(tokens["coord1"]))
            statuses.append(response.status_code)
            assert response.status_code < 500, (case.method, case.path, response.text[:300])
            for marker in TRACE_MARKERS:
                assert marker not in response.text

        try:
            run()
        except Unsatisfiable:  # no invalid input exists (e.g. a GET without parameters)
            assert mode is GenerationMode.NEGATIVE
    if mode is GenerationMode.POSITIVE:
        assert any(s < 300 for s in statuses)  # the fuzzing reached the handlers
    assert any(400 <= s < 500 for s in statuses)
