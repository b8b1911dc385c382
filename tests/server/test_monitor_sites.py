"""A monitor of several sites (or of all): every covered site's queries and checks in one
list, with a site column and filter; queries raised and closed at any covered site; no
record changed; nothing of a site not covered (issue 13, item 4).

Both databases; on PostgreSQL the server runs as the application role, so row-level
security answers each site's reads too.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from playwright.sync_api import Browser

from sijreg.store import accounts, audit, queries, schema
from sijreg.store.accounts import Role
from sijreg.store.scope import SiteScope
from tests.helpers import run
from tests.server.browser_support import sign_in
from tests.server.server_support import PASSWORD, People, add_monitors, csrf_of


@pytest.fixture
def world(engine: sa.Engine, people: People) -> dict[str, int]:
    """Site S03 with its coordinator; at each of S01, S02, S03 a patient with an open query
    (raised by the site's own monitor); the monitors cra (S01, S02) and cra_all (every site).
    Returns the patients' ids by study id, the queries' by site code."""
    add_monitors(engine, people)  # mon1 at S01, mon2 at S02
    found: dict[str, int] = {}
    with engine.begin() as conn:
        people.sites["S03"] = conn.execute(
            sa.insert(schema.site).values(site_code="S03").returning(schema.site.c.id)
        ).scalar_one()
        for name, role in (("coord3", Role.COORDINATOR), ("mon3", Role.MONITOR)):
            people.ids[name] = accounts.add_user(conn, name, name, role, PASSWORD, "S03")
        people.ids["cra"] = accounts.add_user(
            conn, "cra", "Dr Cra", Role.MONITOR, PASSWORD, monitors=["S01", "S02"]
        )
        people.ids["cra_all"] = accounts.add_user(
            conn, "cra_all", "Dr All", Role.MONITOR, PASSWORD, monitors=[]
        )
        for n, (coordinator, monitor) in enumerate(
            (("coord1", "mon1"), ("coord2", "mon2"), ("coord3", "mon3")), start=1
        ):
            study_id = f"SITE{n}-P1"
            scope = SiteScope(conn, people.actor(conn, coordinator))
            pid = int(scope.create("patient", {"study_id": study_id, "age": 60 + n})["id"])
            found[study_id] = pid
            watcher = SiteScope(conn, people.actor(conn, monitor))
            found[f"S0{n}"] = queries.raise_query(
                watcher, "patient", pid, "sex", f"Sex missing at site {n}"
            )
    return found


def _as(client: TestClient, username: str) -> str:
    client.cookies.clear()
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/queries").text)


def _sites_listed(html: str) -> list[str]:
    """The site column of the query list, row by row."""
    body = html.split('<table id="queries">', 1)[1].split("</table>", 1)[0]
    return re.findall(r"<tr><td>(S0\d)</td>", body)


def test_a_monitor_of_two_sites_lists_both_and_nothing_of_a_third(
    server: TestClient, world: dict[str, int]
) -> None:
    _as(server, "cra")
    home = server.get("/", follow_redirects=False)
    assert (home.status_code, home.headers["location"]) == (303, "/queries")
    listed = server.get("/queries").text
    assert "Data queries of your sites" in listed
    assert sorted(_sites_listed(listed)) == ["S01", "S02"]
    assert "Sex missing at site 1" in listed
    assert "Sex missing at site 2" in listed
    assert "SITE3" not in listed
    assert "site 3" not in listed
    assert f'href="/sites/S02/enter?next=/queries/{world["S02"]}"' in listed
    only = server.get("/queries?site=S02").text
    assert _sites_listed(only) == ["S02"]
    assert server.get("/queries?site=S03").text.count("<tr><td>S0") == 2  # not covered: ignored
    checks = server.get("/checks").text
    assert "Data checks of your sites" in checks
    assert "SITE3" not in checks


def test_a_monitor_of_two_sites_raises_and_closes_at_either_changes_no_record(
    server: TestClient, engine: sa.Engine, people: People, world: dict[str, int]
) -> None:
    csrf = _as(server, "cra")
    pid = world["SITE2-P1"]
    entered = server.get(f"/sites/S02/enter?next=/patients/{pid}", follow_redirects=False)
    assert (entered.status_code, entered.headers["location"]) == (303, f"/patients/{pid}")
    record = server.get(f"/patients/{pid}").text
    assert f'href="/records/patient/{pid}/queries/new"' in record
    assert f'href="/records/patient/{pid}/edit"' not in record
    raised = server.post(
        f"/records/patient/{pid}/queries/new",
        data={"csrf_token": csrf, "field_name": "age", "message": "Age at fusion?"},
        follow_redirects=False,
    )
    assert raised.status_code == 303, raised.text
    query_id = int(raised.headers["location"].rsplit("/", 1)[1])
    with engine.begin() as conn:
        queries.answer(SiteScope(conn, people.actor(conn, "coord2")), query_id, "Checked: 62")
    closed = server.post(
        f"/queries/{query_id}/close", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert closed.status_code == 303, closed.text
    edit = server.post(
        f"/records/patient/{pid}/edit",
        data={"csrf_token": csrf, "study_id": "SITE2-P1", "age": "70", "version": "1"}
        | {"reason": "monitor's try"},
        follow_redirects=False,
    )
    assert edit.status_code == 403
    server.get("/sites/S01/enter?next=/queries")  # and at the other site too
    url = f"/queries/{world['S01']}"
    assert server.get(url).status_code == 200
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(schema.data_query.c.id, schema.data_query.c.state, schema.patient.c.age)
            .join(schema.patient, schema.patient.c.id == schema.data_query.c.patient_id)
            .where(schema.data_query.c.id == query_id)
        ).all()
        assert rows == [(query_id, "closed", 62)]
        assert audit.verify(conn).ok


def test_a_monitor_of_two_sites_reaches_nothing_of_the_third(
    server: TestClient, world: dict[str, int]
) -> None:
    csrf = _as(server, "cra")
    pid, query_id = world["SITE3-P1"], world["S03"]
    assert server.get(f"/sites/S03/enter?next=/patients/{pid}").status_code == 404
    server.cookies.set("sijreg_site", "S03", domain="testserver")  # forged: not covered
    assert server.get(f"/patients/{pid}").status_code == 403  # works at no site
    assert server.get(f"/queries/{query_id}").status_code == 403
    assert "SITE3" not in server.get("/queries").text
    server.get("/sites/S01/enter?next=/")
    assert server.get(f"/patients/{pid}").status_code == 404  # at S01: S03's is missing
    assert server.get(f"/queries/{query_id}").status_code == 404
    step = server.post(
        f"/queries/{query_id}/close", data={"csrf_token": csrf}, follow_redirects=False
    )
    assert step.status_code == 404
    assert _as(server, "mon1")
    assert "SITE2" not in server.get("/queries").text


def test_a_monitor_of_all_sites_sees_a_site_added_later(
    server: TestClient, engine: sa.Engine, world: dict[str, int]
) -> None:
    with engine.begin() as conn:
        conn.execute(sa.insert(schema.site).values(site_code="S04"))
    _as(server, "cra_all")
    listed = server.get("/queries").text
    assert sorted(_sites_listed(listed)) == ["S01", "S02", "S03"]
    assert 'href="/queries?site=S04"' in listed
    assert server.get("/sites/S04/enter?next=/patients", follow_redirects=False).is_redirect


def test_the_command_line_adds_monitors_of_several_or_all_sites(
    database_url: str, engine: sa.Engine, people: People, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SIJREG_PASSWORD", PASSWORD)
    base = ["user", "add", "--role", "monitor", "--name", "Dr Two", "--database", database_url]
    made = run(*base[:2], "cra2", *base[2:], "--sites", "S01,S02")
    assert made.exit_code == 0, made.output
    assert "sites: S01, S02" in made.output
    assert run(*base[:2], "cra3", *base[2:], "--all-sites").exit_code == 0
    both = run(*base[:2], "cra4", *base[2:], "--sites", "S01", "--all-sites")
    assert both.exit_code == 1
    assert "not both" in both.output
    coordinator = run(
        "user",
        "add",
        "c9",
        "--role",
        "coordinator",
        "--name",
        "C",
        "--sites",
        "S01",
        "--database",
        database_url,
    )
    assert coordinator.exit_code == 1
    listed = run("user", "list", "--database", database_url).output
    assert re.search(r"cra2\s+monitor\s+S01,S02\s+active", listed)
    assert re.search(r"cra3\s+monitor\s+S01,S02\s+active", listed)  # every site there is
    with engine.connect() as conn:
        assert audit.verify(conn).ok


@pytest.mark.browser
def test_the_query_list_of_several_sites_fits_a_tablet_and_a_phone(
    live_server: str, world: dict[str, int], browser: Browser
) -> None:
    """No sideways scrolling of the page at 768 and 390 px (the table scrolls in its box).
    ``SIJREG_SCREENSHOTS=<folder>`` keeps a screenshot of each."""
    shots = os.environ.get("SIJREG_SCREENSHOTS")
    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, live_server, "cra")
    page.get_by_role("heading", name="Data queries of your sites").wait_for()
    for width in (768, 390):
        page.set_viewport_size({"width": width, "height": 900})
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert wider <= 0, f"{wider} px wider than a {width} px window"
        if shots:
            Path(shots).mkdir(parents=True, exist_ok=True)
            page.screenshot(path=f"{shots}/queries-of-sites-{width}.png", full_page=True)
    page.get_by_role("link", name="Site S02", exact=True).click()
    page.wait_for_url("**/queries?site=S02")
    assert page.locator("#queries tbody tr").count() == 1
