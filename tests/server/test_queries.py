"""Data queries over HTTP: a monitor raises, the site answers or corrects, the monitor closes.

Both databases (the ``engine`` fixture's params); every step audited and in the
record's history; wrong steps refused with the reason; another site's monitor sees
nothing of site S01 (issue 13, item 2).
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.server.web import today
from sijreg.store import audit, queries, schema
from sijreg.store.scope import SiteScope, set_database_scope
from tests.server.server_support import People, add_monitors, bearer, sign_in


@pytest.fixture(autouse=True)
def monitors(engine: sa.Engine, people: People) -> None:
    """mon1 at S01 and mon2 at S02, before the tokens are issued."""
    add_monitors(engine, people)


def _patient(engine: sa.Engine, people: People, study_id: str = "P-7", age: int = 61) -> int:
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        return int(scope.create("patient", {"study_id": study_id, "age": age})["id"])


def _step(client: TestClient, url: str, csrf: str, **data: str) -> tuple[int, str]:
    answer = client.post(url, data={"csrf_token": csrf, **data}, follow_redirects=False)
    return answer.status_code, answer.text


def _as(client: TestClient, username: str) -> str:
    client.cookies.clear()
    return sign_in(client, username)


def _state(client: TestClient, query_url: str) -> str:
    found = re.search(r'<td id="query-state">([^<]+)</td>', client.get(query_url).text)
    assert found
    return found.group(1)


def test_raise_answer_correct_close_with_history(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    pid = _patient(engine, people)
    csrf = _as(server, "mon1")
    form = server.get(f"/patients/{pid}").text
    assert f'href="/records/patient/{pid}/queries/new"' in form
    assert f'href="/records/patient/{pid}/edit"' not in form  # a monitor changes no record
    raised = server.post(
        f"/records/patient/{pid}/queries/new",
        data={"csrf_token": csrf, "field_name": "age", "message": "Age 61 with retirement noted?"},
        follow_redirects=False,
    )
    assert raised.status_code == 303
    url = raised.headers["location"]
    assert _state(server, url) == "Open"
    shown = server.get(f"/patients/{pid}").text
    assert "A query on this patient's record is pending." in shown
    assert "Age at fusion" in shown
    assert "Age 61 with retirement noted?" in shown
    assert "age</td>" not in shown  # the field by its label, never its code

    # The site: a coordinator cannot close, answers, is re-opened, then corrects.
    csrf = _as(server, "coord1")
    assert "Age 61 with retirement noted?" in server.get("/queries?state=open").text
    status, text = _step(server, url + "/close", csrf)
    assert status == 403
    assert "This role cannot close a query." in text
    status, text = _step(server, url + "/answer", csrf, message="")
    assert status == 422
    assert "is required" in text
    assert _step(server, url + "/answer", csrf, message="Checked the chart: 61.")[0] == 303
    assert _state(server, url) == "Answered"
    status, text = _step(server, url + "/answer", csrf, message="Again")
    assert status == 409
    assert "A query that is answered cannot be answered." in text

    csrf = _as(server, "mon1")
    assert _step(server, url + "/reopen", csrf, message="The chart says 16 at surgery?")[0] == 303
    assert _state(server, url) == "Open"

    csrf = _as(server, "coord1")
    page = server.get(url).text
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    status, text = _step(server, url + "/correct", csrf, age="200", reason="typo", version="1")
    assert status == 422
    assert "200" in text
    status, text = _step(server, url + "/correct", csrf, age="66", reason="", version="1")
    assert status == 422
    assert _state(server, url) == "Open"  # a refused correction leaves the query as it was
    status, _ = _step(
        server, url + "/correct", csrf, age="66", reason="typo in the chart", version="1"
    )
    assert status == 303
    assert _state(server, url) == "Answered"
    assert "Corrected Age at fusion: 61 years → 66 years" in server.get(url).text

    csrf = _as(server, "mon1")
    assert _step(server, url + "/close", csrf)[0] == 303
    assert _state(server, url) == "Closed"
    assert "is pending" not in server.get(f"/patients/{pid}").text
    status, text = _step(server, url + "/close", csrf)
    assert status == 409
    assert "A query that is closed cannot be closed." in text

    history = server.get(f"/records/patient/{pid}/history").text
    steps = re.search(r'<table id="query-history">.*?</table>', history, re.S)
    assert steps
    order = re.findall(
        r"<td>(Query raised|Query answered|Query re-opened|Value corrected|Query closed)</td>",
        steps.group(0),
    )
    assert order == [
        "Query raised",
        "Query answered",
        "Query re-opened",
        "Value corrected",
        "Query closed",
    ]
    assert "typo in the chart" in steps.group(0)
    assert "Age at fusion: 61 years → 66 years" in history  # the record's own change
    with engine.connect() as conn:
        stored = conn.execute(sa.select(schema.patient.c.age).where(schema.patient.c.id == pid))
        assert stored.scalar_one() == 66
        a = schema.audit_log
        entries = conn.execute(
            sa.select(a.c.action, a.c.new_values, a.c.user_id)
            .where(a.c.table_name == "data_query")
            .order_by(a.c.id)
        ).all()
        assert [json.loads(e.new_values)["step"] for e in entries] == [
            "raise",
            "answer",
            "reopen",
            "correct",
            "close",
        ]
        assert entries[0].user_id == people.ids["mon1"]
        assert entries[1].user_id == people.ids["coord1"]
        assert audit.verify(conn).ok


def test_a_correction_keeps_every_rule(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    """A corrected fusion date in the future is refused as every door refuses it."""
    pid = _patient(engine, people)
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        fusion = scope.create("fusion", {"fusion_date": today()}, pid)
    csrf = _as(server, "mon1")
    raised = server.post(
        f"/records/fusion/{fusion['id']}/queries/new",
        data={"csrf_token": csrf, "field_name": "fusion_date", "message": "Date right?"},
        follow_redirects=False,
    )
    url = raised.headers["location"]
    csrf = _as(server, "coord1")
    status, text = _step(
        server, url + "/correct", csrf, fusion_date="2099-01-01", reason="x", version="1"
    )
    assert status == 422
    assert "is in the future" in text
    assert _state(server, url) == "Open"


def test_another_sites_monitor_sees_nothing(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    pid = _patient(engine, people)
    csrf = _as(server, "mon1")
    url = server.post(
        f"/records/patient/{pid}/queries/new",
        data={"csrf_token": csrf, "field_name": "sex", "message": "Sex missing"},
        follow_redirects=False,
    ).headers["location"]
    query_id = int(url.rsplit("/", 1)[1])

    csrf = _as(server, "mon2")
    assert server.get(url).status_code == 404
    assert server.get(f"/patients/{pid}").status_code == 404
    assert "Sex missing" not in server.get("/queries").text
    refused = server.post(
        f"/records/patient/{pid}/queries/new",
        data={"csrf_token": csrf, "field_name": "sex", "message": "Mine?"},
    )
    assert refused.status_code == 404
    assert _step(server, url + "/close", csrf)[0] == 404

    api = "/api/v1/queries"
    assert server.get(api, headers=bearer(tokens["mon2"])).json() == []
    assert server.get(f"{api}/{query_id}", headers=bearer(tokens["mon2"])).status_code == 404
    mine = server.get(api, headers=bearer(tokens["coord1"])).json()
    assert [(q["id"], q["field_label"], q["state_label"]) for q in mine] == [
        (query_id, "Sex", "Open")
    ]
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.data_query)).scalar_one()
            == 1
        )


def test_the_api_workflow(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    pid = _patient(engine, people)
    api = "/api/v1/queries"
    body = {"form": "patient", "record_id": pid, "field_name": "age", "message": "Check age"}
    assert server.post(api, json=body, headers=bearer(tokens["coord1"])).status_code == 403
    assert server.post(api, json=body, headers=bearer(tokens["mon2"])).status_code == 404
    bad = server.post(api, json={**body, "field_name": "nope"}, headers=bearer(tokens["mon1"]))
    assert bad.status_code == 422
    raised = server.post(api, json=body, headers=bearer(tokens["mon1"]))
    assert raised.status_code == 201
    query = raised.json()
    assert (query["state"], query["record_label"], query["study_id"]) == ("open", "Patient", "P-7")
    qurl = f"{api}/{query['id']}"
    coord, mon = bearer(tokens["coord1"]), bearer(tokens["mon1"])
    corrected = server.post(
        qurl + "/correct", json={"value": "62", "version": 1, "reason": "chart"}, headers=coord
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["state"] == "answered"
    stale = server.post(qurl + "/reopen", json={"message": "Still?"}, headers=mon).json()
    assert stale["state"] == "open"
    again = server.post(
        qurl + "/correct", json={"value": "63", "version": 1, "reason": "chart"}, headers=coord
    )
    assert again.status_code == 409  # the record is at version 2 now: nothing written
    assert server.post(qurl + "/close", headers=coord).status_code == 403
    assert server.post(qurl + "/close", headers=mon).json()["state_label"] == "Closed"
    closed = server.post(qurl + "/close", headers=mon)
    assert closed.status_code == 409
    assert closed.json()["detail"] == "a query that is closed cannot be closed"
    listed = server.get(api, params={"patient_id": pid, "state": "closed"}, headers=coord)
    assert [q["id"] for q in listed.json()] == [query["id"]]


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_row_level_security_keeps_queries_at_their_site(
    engine: sa.Engine, app_engine: sa.Engine, people: People
) -> None:
    """As the app role, around the scope: no site, no query; another site's query, no row."""
    with engine.begin() as conn:
        for coord, monitor in (("coord1", "mon1"), ("coord2", "mon2")):
            scope = SiteScope(conn, people.actor(conn, coord))
            pid = scope.create("patient", {"study_id": f"{coord}-P"})["id"]
            queries.raise_query(
                SiteScope(conn, people.actor(conn, monitor)), "patient", pid, "age", "Age?"
            )
    q = schema.data_query
    count = sa.select(sa.func.count()).select_from(q)
    with app_engine.begin() as conn:
        assert conn.execute(count).scalar_one() == 0
        set_database_scope(conn, people.sites["S01"])
        assert conn.execute(sa.select(q.c.site_id)).scalars().all() == [people.sites["S01"]]
        moved = conn.execute(sa.update(q).values(state="closed")).rowcount
        assert moved == 1  # its own only
    with app_engine.connect() as conn:
        set_database_scope(conn, people.sites["S01"])
        moving = sa.update(q).values(site_id=people.sites["S02"])
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            conn.execute(moving)
