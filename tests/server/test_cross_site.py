"""Cross-site access through every API route: a forged id answers exactly like a missing one.

Hypothesis picks a route and an id of another site's record; the answer must be the
answer for an id that exists nowhere, and nothing may change.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from server_support import PASSWORD, People, bearer

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import parse_form
from sijreg.server.api import PLURAL, router
from sijreg.server.models import MAX_ID
from sijreg.store import audit
from sijreg.store.scope import SiteScope

TABLE_OF = {plural: name for name, plural in PLURAL.items()}
VALID: dict[str, dict[str, object]] = {
    "patient": {"study_id": "FORGED-1"},
    "prior_procedure": {"procedure": "scs"},
    "fusion": {"fusion_date": "2024-03-01"},
    "visit": {"visit_date": "2024-09-01"},
    "adverse_event": {"event_date": "2024-04-01", "event_kind": "other"},
}


ROUTES = [r for r in router.routes if isinstance(r, APIRoute) and "{" in r.path]
"""Every API route that takes a record id."""


def _method(route: APIRoute) -> str:
    assert route.methods
    return next(iter(route.methods))


def _target(route: APIRoute) -> str:
    """The table whose id the route's path parameter names."""
    first = route.path.split("/")[3]
    return "patient" if "{patient_id}" in route.path else TABLE_OF[first]


def _body(route: APIRoute) -> dict[str, object] | None:
    method = _method(route)
    if method == "DELETE":
        return {"version": 1, "reason": "forged"}
    if route.path.endswith("/signature"):
        return {"password": PASSWORD, "meaning": "review"}
    if method == "PUT":
        return {**VALID[_target(route)], "version": 1, "reason": "forged"}
    if method == "POST":
        return VALID[TABLE_OF[route.path.rsplit("/", 1)[1]]]
    return None


@pytest.fixture
def site_one(engine: sa.Engine, people: People) -> dict[str, int]:
    """A patient of S01 with one record of every form: the ids S02 will forge."""
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        ids = {"patient": scope.create("patient", {"study_id": "S01-7", "age": 70})["id"]}
        for name, values in VALID.items():
            if name != "patient":
                parsed = parse_form(dd.form(name), values)
                ids[name] = scope.create(name, parsed, ids["patient"])["id"]
    return ids


def _state(engine: sa.Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok
    return result.entries, result.head


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_another_sites_record_is_indistinguishable_from_a_missing_one(
    server: TestClient,
    engine: sa.Engine,
    tokens: dict[str, str],
    site_one: dict[str, int],
    data: st.DataObject,
) -> None:
    before = _state(engine)
    route = data.draw(st.sampled_from(ROUTES), label="route")
    method = _method(route)
    forged = site_one[_target(route)]
    missing = data.draw(st.integers(max(site_one.values()) + 1, MAX_ID), label="missing id")
    param = "{patient_id}" if "{patient_id}" in route.path else "{record_id}"
    answers = []
    for record_id in (forged, missing):
        path = route.path.replace(param, str(record_id))
        answer = server.request(method, path, json=_body(route), headers=bearer(tokens["coord2"]))
        answers.append((answer.status_code, answer.content))
    assert answers[0] == answers[1], route.path
    # 404, or 403 where the role may not do this anywhere (signing is for investigators)
    assert answers[0][0] == (403 if route.path.endswith("/signature") else 404)
    assert _state(engine) == before


def test_listings_show_only_the_own_sites_patients(
    server: TestClient, tokens: dict[str, str], site_one: dict[str, int]
) -> None:
    assert server.get("/api/v1/patients", headers=bearer(tokens["coord2"])).json() == []
    assert server.get("/api/v1/worklist", headers=bearer(tokens["coord2"])).json() == []
    mine = server.get("/api/v1/patients", headers=bearer(tokens["coord1"])).json()
    assert [p["id"] for p in mine] == [site_one["patient"]]
