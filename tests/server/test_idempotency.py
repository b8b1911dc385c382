"""Idempotency-Key: an API write retried with the same key is stored once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.server.idempotency import MAX_KEY
from sijreg.store import schema
from sijreg.store.scope import set_database_scope
from tests.server.server_support import People, bearer

EVENT = {"event_date": "2024-04-01", "event_kind": "other"}


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:  # the owner's view, past row-level security
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def _patient(server: TestClient, token: str) -> int:
    answer = server.post(
        "/api/v1/patients", json={"study_id": "P-1", "sex": "F", "age": 64}, headers=bearer(token)
    )
    assert answer.status_code == 201, answer.text
    return int(answer.json()["id"])


def test_an_adverse_event_posted_twice_with_one_key_is_stored_once(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    pid = _patient(server, tokens["coord1"])
    url = f"/api/v1/patients/{pid}/adverse-events"
    headers = {**bearer(tokens["coord1"]), "Idempotency-Key": "retry-me-1"}
    first = server.post(url, json=EVENT, headers=headers)
    again = server.post(url, json=EVENT, headers=headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    assert _count(engine, schema.adverse_event) == 1
    # A different body under the same key is refused and writes nothing.
    other = server.post(url, json={**EVENT, "event_date": "2024-04-02"}, headers=headers)
    assert other.status_code == 422
    assert _count(engine, schema.adverse_event) == 1
    # Without a key, or with another key, a POST writes again.
    assert server.post(url, json=EVENT, headers=bearer(tokens["coord1"])).status_code == 201
    fresh = {**bearer(tokens["coord1"]), "Idempotency-Key": "retry-me-2"}
    assert server.post(url, json=EVENT, headers=fresh).status_code == 201
    assert _count(engine, schema.adverse_event) == 3


def test_keys_are_per_user_and_failures_release_the_key(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    pid = _patient(server, tokens["coord1"])
    url = f"/api/v1/patients/{pid}/adverse-events"
    key = {"Idempotency-Key": "shared-key"}
    mine = {**bearer(tokens["coord1"]), **key}
    bad = server.post(url, json={"event_kind": "other"}, headers=mine)
    assert bad.status_code == 422
    good = server.post(url, json=EVENT, headers=mine)
    assert good.status_code == 201, good.text
    # Another user's same key is theirs alone: coord2 is at another site, so it is not found.
    theirs = server.post(url, json=EVENT, headers={**bearer(tokens["coord2"]), **key})
    assert theirs.status_code == 404
    assert "idempotent-replayed" not in theirs.headers
    # No valid token: refused, and no key row is written for nobody.
    assert server.post(url, json=EVENT, headers={**bearer("sijreg_x"), **key}).status_code == 401
    assert _count(engine, schema.adverse_event) == 1
    assert _count(engine, schema.idempotency_key) == 1


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_stored_answers_are_under_each_sites_row_level_security(
    server: TestClient, app_engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    """A stored first answer holds the record it returned: the app role acting for one
    site reads none of another site's, and cannot file one under another site."""
    for user in ("coord1", "coord2"):
        answer = server.post(
            "/api/v1/patients",
            json={"study_id": f"{user}-P", "sex": "F", "age": 64},
            headers={**bearer(tokens[user]), "Idempotency-Key": f"{user}-key"},
        )
        assert answer.status_code == 201, answer.text
    k = schema.idempotency_key
    with app_engine.begin() as conn:
        assert conn.execute(sa.select(k)).all() == []  # no scope, no rows
        set_database_scope(conn, people.sites["S01"])
        seen = conn.execute(sa.select(k.c.user_id, k.c.site_id, k.c.body)).all()
        assert [(r.user_id, r.site_id) for r in seen] == [
            (people.ids["coord1"], people.sites["S01"])
        ]
        assert "coord1-P" in seen[0].body
        assert "coord2-P" not in seen[0].body
        hidden = conn.execute(sa.delete(k).where(k.c.user_id == people.ids["coord2"]))
        assert hidden.rowcount == 0
    filed_elsewhere = sa.insert(k).values(
        user_id=people.ids["coord1"],
        key_hash="f" * 64,
        site_id=people.sites["S02"],
        fingerprint="0" * 64,
        created_at=sa.func.now(),
    )
    with app_engine.begin() as conn:
        set_database_scope(conn, people.sites["S01"])
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            conn.execute(filed_elsewhere)


def test_the_openapi_document_states_the_header_on_every_api_post(server: TestClient) -> None:
    document = server.get("/api/v1/openapi.json").json()
    posts = [path for path, item in document["paths"].items() if "post" in item]
    assert {"/api/v1/patients", "/api/v1/queries", "/api/v1/screenings/evaluate"} <= set(posts)
    for path, item in document["paths"].items():
        for method, operation in item.items():
            named = [p for p in operation.get("parameters", []) if p["name"] == "Idempotency-Key"]
            if method == "post" and path.startswith("/api/"):
                assert len(named) == 1, path
                assert named[0]["in"] == "header"
                assert named[0]["required"] is False
                assert named[0]["schema"]["maxLength"] == MAX_KEY
            else:
                assert named == [], (method, path)
