"""The server-rendered pages, driven like a browser without JavaScript would drive them."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from sijreg.domain.schedule import add_months
from sijreg.server.web import today
from tests.server.server_support import PASSWORD, People, sign_in


def _post(client: TestClient, url: str, csrf: str, **data: str) -> tuple[int, str, str]:
    answer = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
    return answer.status_code, answer.headers.get("location", ""), answer.text


def _field_error(html: str, name: str) -> str:
    found = re.search(rf'id="{name}-error">([^<]*)<', html)
    return found.group(1) if found else ""


def _enrol(client: TestClient, csrf: str, study_id: str = "P-001", **values: str) -> str:
    status, location, text = _post(client, "/patients/new", csrf, study_id=study_id, **values)
    assert status == 303, text
    return location


def test_a_validation_error_is_shown_next_to_its_field_with_the_rule(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    form = server.get("/patients/new").text
    assert "a whole number from 18 to 110 years" in form  # Field.describe_rule()
    status, _, text = _post(server, "/patients/new", csrf, study_id="P-001", age="17", bmi="x")
    assert status == 422
    assert _field_error(text, "age") == "must be a whole number from 18 to 110 years"
    assert _field_error(text, "bmi") == "expected a number"
    assert _field_error(text, "study_id") == ""
    assert 'value="17"' in text  # what was typed is kept
    location = _enrol(server, csrf, age="71")
    assert re.fullmatch(r"/patients/\d+", location)
    assert "P-001" in server.get("/patients").text


def test_a_change_needs_a_reason_and_appears_in_the_history(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    pid = _enrol(server, csrf, age="70").rsplit("/", 1)[1]
    edit = f"/records/patient/{pid}/edit"
    status, _, text = _post(server, edit, csrf, study_id="P-001", age="72", version="1")
    assert status == 422
    assert "required" in _field_error(text, "reason")
    status, _, _ = _post(
        server, edit, csrf, study_id="P-001", age="72", version="1", reason="typo in age"
    )
    assert status == 303
    history = server.get(f"/records/patient/{pid}/history").text
    assert "typo in age" in history
    assert "Age at fusion: 70 years → 72 years" in history
    assert "Dr Coord1" in history


def test_saving_over_a_newer_version_shows_both_and_saves_nothing(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    pid = _enrol(server, csrf, age="70").rsplit("/", 1)[1]
    edit = f"/records/patient/{pid}/edit"
    _post(server, edit, csrf, study_id="P-001", age="71", version="1", reason="first")
    status, _, text = _post(
        server, edit, csrf, study_id="P-001", age="75", version="1", reason="stale"
    )
    assert status == 409
    conflict = re.search(r'<table id="conflict">(.*?)</table>', text, re.S)
    assert conflict
    assert re.search(
        r'<th scope="row">Age at fusion</th><td>75 years</td><td>71 years</td>', conflict.group(1)
    )
    assert 'name="version" value="2"' in text  # saving again goes over the current version
    assert "<td>71 years</td>" in server.get(f"/patients/{pid}").text


def test_the_worklist_shows_the_visit_due_and_the_report_counts_the_patient(
    server: TestClient, people: People
) -> None:
    csrf = sign_in(server, "coord1")
    location = _enrol(server, csrf, sex="F", age="66")
    pid = location.rsplit("/", 1)[1]
    fused = add_months(today(), -3)
    status, _, text = _post(
        server, f"/patients/{pid}/fusion/new", csrf, fusion_date=fused.isoformat()
    )
    assert status == 303, text
    worklist = server.get("/worklist").text
    assert re.search(r"P-001</a></td><td>3 months</td>", worklist)
    assert "<td>due</td>" in worklist
    visit = (today() - timedelta(days=1)).isoformat()
    status, _, text = _post(
        server, f"/patients/{pid}/visit/new", csrf, visit_date=visit, pain_relief_pct="55"
    )
    assert status == 303, text
    assert "No visit is due." in server.get("/worklist").text
    report = server.get("/report").text
    assert "Analysed: 1 of 1 registered patients" in report


def test_the_analyst_sees_the_pooled_report_and_no_patient_page(server: TestClient) -> None:
    for user in ("coord1", "coord2"):
        with TestClient(server.app, base_url="https://testserver") as coordinator:
            _enrol(coordinator, sign_in(coordinator, user))
    sign_in(server, "analyst")
    report = server.get("/report").text
    assert "Analysed: 0 of 2 registered patients" in report
    assert "P-001" not in report
    rows = server.get("/export.csv")
    assert rows.headers["content-type"].startswith("text/csv")
    assert rows.text.splitlines()[0].startswith("analysis_id,site,")
    assert len(rows.text.splitlines()) == 1  # nobody analysed yet
    assert server.get("/patients").status_code == 403
    assert server.get("/admin").status_code == 403


def test_the_admin_manages_sites_and_users(server: TestClient) -> None:
    csrf = sign_in(server, "admin")
    assert _post(server, "/admin/sites", csrf, site_code="S03", site_name="Third")[0] == 303
    newcomer = {
        "username": "coord3",
        "printed_name": "C Three",
        "role": "coordinator",
        "site": "S03",
    }
    status, _, text = _post(server, "/admin/users", csrf, **newcomer, password="password1234")
    assert status == 422
    assert "too common" in text
    status, _, _ = _post(
        server, "/admin/users", csrf, **newcomer, password="lilac rivers hum slowly"
    )
    assert status == 303
    page = server.get("/admin").text
    assert re.search(r"<td>coord3</td><td>C Three</td><td>coordinator</td><td>S03</td>", page)
    with TestClient(server.app, base_url="https://testserver") as newcomer:
        sign_in(newcomer, "coord3", "lilac rivers hum slowly")
        assert "Patients of site S03" in newcomer.get("/patients").text


@pytest.mark.parametrize(
    "path",
    [
        "/patients/{pid}",
        "/records/patient/{pid}/edit",
        "/records/patient/{pid}/history",
        "/patients/{pid}/visit/new",
    ],
)
def test_another_sites_patient_is_not_found_on_any_page(server: TestClient, path: str) -> None:
    with TestClient(server.app, base_url="https://testserver") as owner:
        pid = _enrol(owner, sign_in(owner, "coord1")).rsplit("/", 1)[1]
    csrf = sign_in(server, "coord2")
    missing = server.get(path.format(pid=999999))
    forged = server.get(path.format(pid=pid))
    assert forged.status_code == missing.status_code == 404
    assert forged.text == missing.text
    posted = _post(
        server, f"/records/patient/{pid}/edit", csrf, study_id="X", version="1", reason="forged"
    )
    assert posted[0] == 404
    assert "P-001" not in server.get("/patients").text


def test_an_investigator_signs_with_the_password_and_unlocks_with_a_reason(
    server: TestClient,
) -> None:
    with TestClient(server.app, base_url="https://testserver") as coordinator:
        coordinator_csrf = sign_in(coordinator, "coord1")
        pid = _enrol(coordinator, coordinator_csrf).rsplit("/", 1)[1]
    csrf = sign_in(server, "inv1")
    _post(server, f"/patients/{pid}/sign", csrf, meaning="approval", password="wrong one")
    assert "Signed and locked" not in server.get(f"/patients/{pid}").text
    _post(server, f"/patients/{pid}/sign", csrf, meaning="approval", password=PASSWORD)
    page = server.get(f"/patients/{pid}").text
    assert "Signed and locked</strong> by Dr Inv1 (approval)" in page
    edit = f"/records/patient/{pid}/edit"
    assert (
        _post(
            coordinator, edit, coordinator_csrf, study_id="P-1", version="1", reason="after lock"
        )[0]
        == 409
    )
    _post(server, f"/patients/{pid}/unlock", csrf, reason="")
    assert "Signed and locked" in server.get(f"/patients/{pid}").text
    _post(server, f"/patients/{pid}/unlock", csrf, reason="query from monitor")
    assert "Signed and locked" not in server.get(f"/patients/{pid}").text
    history = server.get(f"/records/patient/{pid}/history").text
    assert "query from monitor" in history
    assert history.count("<td>Locked</td>") == 1
    assert history.count("<td>Unlocked</td>") == 1
    assert history.count("<td>Signed</td>") == 1
