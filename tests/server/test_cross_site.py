"""Cross-site access through every API route: a forged id answers exactly like a missing one.

Hypothesis picks a route and an id of another site's record; the answer must be the
answer for an id that exists nowhere, and nothing may change.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import parse_form
from sijreg.server import screenings
from sijreg.server.api import PLURAL, router
from sijreg.server.models import MAX_ID
from sijreg.store import accounts, audit
from sijreg.store.accounts import Role
from sijreg.store.scope import SiteScope
from tests.server.server_support import PASSWORD, People, bearer

TABLE_OF = {plural: name for name, plural in PLURAL.items()} | {"screenings": "screening"}
VALID: dict[str, dict[str, object]] = {
    "patient": {"study_id": "FORGED-1"},
    "prior_procedure": {"procedure": "scs"},
    "fusion": {"fusion_date": "2024-03-01"},
    "visit": {"visit_date": "2024-09-01"},
    "adverse_event": {"event_date": "2024-04-01", "event_kind": "other"},
    "screening": {"screening_number": "FORGED-S", "block_relief_pct": "80"},
}


ROUTES = [
    r
    for r in (*router.routes, *screenings.router.routes)
    if isinstance(r, APIRoute) and "{" in r.path
]
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
                owner = None if name == "screening" else ids["patient"]
                ids[name] = scope.create(name, parsed, owner)["id"]
    return ids


def _state(engine: sa.Engine) -> tuple[int, str]:
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok
    return result.entries, result.head


@pytest.fixture
def intruder(engine: sa.Engine, people: People) -> dict[str, str]:
    """An investigator of S02 (who may do everything, signing included, at S02)."""
    with engine.begin() as conn:
        user = accounts.add_user(conn, "inv2", "Dr Inv2", Role.INVESTIGATOR, PASSWORD, "S02")
        return bearer(accounts.issue_token(conn, user, 1, "intruder")[1])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(missing=st.integers(1, MAX_ID))
def test_another_sites_record_is_indistinguishable_from_a_missing_one(
    server: TestClient,
    engine: sa.Engine,
    intruder: dict[str, str],
    site_one: dict[str, int],
    missing: int,
) -> None:
    """Every API route that takes an id, with a forged id and with one that exists nowhere."""
    assume(missing not in site_one.values())
    before = _state(engine)
    for route in ROUTES:
        param = "{patient_id}" if "{patient_id}" in route.path else "{record_id}"
        answers = []
        for record_id in (site_one[_target(route)], missing):
            path = route.path.replace(param, str(record_id))
            answer = server.request(_method(route), path, json=_body(route), headers=intruder)
            answers.append((answer.status_code, answer.content))
        assert answers[0] == answers[1], route.path
        assert answers[0][0] == 404, route.path
    assert _state(engine) == before


def test_listings_show_only_the_own_sites_patients(
    server: TestClient, tokens: dict[str, str], site_one: dict[str, int]
) -> None:
    assert server.get("/api/v1/patients", headers=bearer(tokens["coord2"])).json() == []
    assert server.get("/api/v1/worklist", headers=bearer(tokens["coord2"])).json() == []
    mine = server.get("/api/v1/patients", headers=bearer(tokens["coord1"])).json()
    assert [p["id"] for p in mine] == [site_one["patient"]]
    assert server.get("/api/v1/screenings", headers=bearer(tokens["coord2"])).json() == []
    ours = server.get("/api/v1/screenings", headers=bearer(tokens["coord1"])).json()
    assert [s["id"] for s in ours] == [site_one["screening"]]
