"""The pages as a site coordinator meets them (issue 13): context, words, no typed work lost."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.store import accounts, schema
from tests.server.server_support import PASSWORD, People, csrf_of, sign_in


def _post(client: TestClient, url: str, csrf: str, **data: str) -> tuple[int, str, str]:
    answer = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
    return answer.status_code, answer.headers.get("location", ""), answer.text


def test_the_site_report_names_the_site_and_has_the_navigation(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.site)
            .where(schema.site.c.id == people.sites["S01"])
            .values(site_name="Riverside Pain Centre")
        )
    sign_in(server, "coord1")
    report = server.get("/report").text
    assert "<h1>Report of site S01 (Riverside Pain Centre)</h1>" in report
    assert re.search(r'<nav>.*href="/patients".*href="/worklist".*Sign out', report, re.S)
    sign_in(server, "analyst")
    assert "<h1>Pooled report, all sites</h1>" in server.get("/report").text


def _enrol_fused(client: TestClient, csrf: str, study_id: str = "P-001") -> str:
    status, location, text = _post(client, "/patients/new", csrf, study_id=study_id, age="70")
    assert status == 303, text
    pid = location.rsplit("/", 1)[1]
    status, _, text = _post(
        client,
        f"/patients/{pid}/fusion/new",
        csrf,
        fusion_date="2024-03-01",
        anaesthesia="sedation_local",
        intraop_complication="0",
    )
    assert status == 303, text
    return pid


def test_pages_speak_in_words_and_confirm_what_was_saved(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    status, location, _ = _post(server, "/patients/new", csrf, study_id="P-001", sex="F")
    assert status == 303
    assert '<p class="saved" role="status">Saved: Patient.</p>' in server.get(location).text
    assert "Saved:" not in server.get(location).text  # said once
    pid = location.rsplit("/", 1)[1]
    _post(
        server,
        f"/patients/{pid}/fusion/new",
        csrf,
        fusion_date="2024-03-01",
        anaesthesia="sedation_local",
        intraop_complication="1",
    )
    shown = server.get(f"/patients/{pid}").text
    assert "<td>Conscious sedation with local anaesthetic</td>" in shown
    assert "<td>Yes</td>" in shown
    assert "<td>Female</td>" in shown
    assert "sedation_local<" not in shown
    form = server.get(f"/patients/{pid}/visit/new").text
    assert "for patient P-001 (site S01)" in form
    assert f'<a href="/patients/{pid}">Back to patient P-001</a>' in form
    assert 'type="date" id="visit_date"' in form
    assert 'type="number" id="nrs_pain" name="nrs_pain" value="" step="1"' in form
    assert 'type="number" id="pain_relief_pct" name="pain_relief_pct" value="" step="0.1"' in form
    status, _, text = _post(
        server, f"/patients/{pid}/visit/new", csrf, visit_date="2024-06-01", nrs_pain="11"
    )
    assert status == 422
    assert 'id="nrs_pain-error">must be a whole number from 0 to 10<' in text
    fusion_id = re.search(r'href="/records/fusion/(\d+)/history"', shown)
    assert fusion_id
    history = server.get(f"/records/fusion/{fusion_id[1]}/history").text
    assert "<h1>History of Index SIJ fusion 2024-03-01, patient P-001</h1>" in history
    assert "Intra-operative complication: (empty) → Yes" in history
    assert "True" not in history
    patients = server.get("/patients").text
    assert "<td>2024-03-01</td>" in patients
    _post(server, "/patients/new", csrf, study_id="Q-002")
    assert "Q-002" in server.get("/patients").text
    found = server.get("/patients", params={"q": "q-0"}).text
    assert "Q-002" in found
    assert "P-001" not in found


def test_a_locked_patient_is_read_only_and_says_who_signed(
    server: TestClient, engine: sa.Engine
) -> None:
    csrf = sign_in(server, "coord1")
    pid = _enrol_fused(server, csrf)
    with TestClient(server.app, base_url="https://testserver") as investigator:
        token = sign_in(investigator, "inv1")
        status, _, text = _post(
            investigator, f"/patients/{pid}/sign", token, password=PASSWORD, meaning="review"
        )
        assert status == 303, text
    shown = server.get(f"/patients/{pid}").text
    assert "Signed and locked</strong> by Dr Inv1 (review) on " in shown
    assert "ask the site's investigator to unlock" in shown
    assert "/edit" not in shown
    assert "Add: Visit" not in shown
    edit = server.get(f"/records/patient/{pid}/edit").text
    assert 'id="read-only"' in edit
    assert 'action="/records/patient/' not in edit  # no form to save or delete
    status, _, text = _post(
        server,
        f"/records/patient/{pid}/edit",
        csrf,
        study_id="P-001",
        age="71",
        version="1",
        reason="age corrected",
    )
    assert status == 409
    assert '<th scope="row">Age at fusion</th><td>70 years</td><td>71 years</td>' in text
    status, _, text = _post(
        server, f"/records/patient/{pid}/delete", csrf, version="1", reason="duplicate"
    )
    assert status == 409
    assert 'id="read-only"' in text
    with engine.connect() as conn:
        assert conn.execute(sa.select(schema.patient.c.age)).scalar_one() == 70


def test_a_conflict_shows_both_versions_and_keeps_what_was_typed(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    pid = _enrol_fused(server, csrf)
    edit = f"/records/patient/{pid}/edit"
    status, _, _ = _post(server, edit, csrf, study_id="P-001", age="72", version="1", reason="x")
    assert status == 303  # someone else's change: version 2
    status, _, text = _post(
        server, edit, csrf, study_id="P-001", age="75", sex="M", version="1", reason="typo"
    )
    assert status == 409
    assert re.search(
        r'<tr class="differs"><th scope="row">Age at fusion</th><td>75 years</td>'
        r"<td>72 years</td></tr>",
        text,
    )
    assert "<td>Male</td><td></td>" in text
    assert 'id="age" name="age" value="75"' in text  # the form keeps what was typed
    assert ">typo</textarea>" in text
    assert 'name="version" value="2"' in text


def test_a_form_sent_after_the_session_ended_comes_back_filled_after_signing_in(
    server: TestClient, engine: sa.Engine
) -> None:
    csrf = sign_in(server, "coord1")
    pid = _enrol_fused(server, csrf)
    with engine.begin() as conn:  # 31 idle minutes later
        conn.execute(
            sa.update(schema.app_session).values(
                last_seen_at=accounts.now() - timedelta(minutes=31)
            )
        )
    form_page = f"/patients/{pid}/visit/new"
    status, location, _ = _post(
        server, form_page, csrf, visit_date="2024-06-01", pain_relief_pct="65", odi="22"
    )
    assert (status, location) == (303, "/sign-in")
    sign_in_page = server.get("/sign-in").text
    assert "Your session ended before the form was saved" in sign_in_page
    answer = server.post(
        "/sign-in",
        data={"username": "coord1", "password": PASSWORD, "csrf_token": csrf_of(sign_in_page)},
        follow_redirects=False,
    )
    assert answer.headers["location"] == form_page
    filled = server.get(form_page).text
    assert "here is what you typed, not saved yet" in filled
    assert 'id="visit_date" name="visit_date" value="2024-06-01"' in filled
    assert 'id="pain_relief_pct" name="pain_relief_pct" value="65"' in filled
    assert 'id="odi" name="odi" value="22"' in filled
    assert 'value="2024-06-01"' not in server.get(form_page).text  # handed back once
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.visit)).scalar() == 0
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.kept_form)).scalar() == 0


def test_a_kept_form_goes_back_to_its_own_user_only(server: TestClient, engine: sa.Engine) -> None:
    csrf = sign_in(server, "coord1")
    pid = _enrol_fused(server, csrf)
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.app_session).values(
                last_seen_at=accounts.now() - timedelta(minutes=31)
            )
        )
    _post(server, f"/patients/{pid}/visit/new", csrf, visit_date="2024-06-01", odi="22")
    sign_in_page = server.get("/sign-in").text
    answer = server.post(
        "/sign-in",
        data={"username": "inv1", "password": PASSWORD, "csrf_token": csrf_of(sign_in_page)},
        follow_redirects=False,
    )
    assert answer.headers["location"] == "/"
    assert 'value="2024-06-01"' not in server.get(f"/patients/{pid}/visit/new").text


def test_the_screening_form_is_grouped_as_the_protocol_and_its_decision_names_fields(
    server: TestClient,
) -> None:
    sign_in(server, "coord1")
    form = server.get("/screenings/new").text
    legends = re.findall(r"<legend>([^<]+)</legend>", form)
    assert legends == [
        "Screening",
        "Pain",
        "Provocative manoeuvres (at least 3 of 5 positive)",
        "Diagnostic SIJ block",
        "Conservative care",
        "Prior advanced interventions",
    ]
    manoeuvres = form.split("<legend>Provocative")[1].split("</fieldset>")[0]
    assert re.findall(r'<select id="(test_[a-z_]+)"', manoeuvres) == [
        "test_distraction",
        "test_thigh_thrust",
        "test_faber",
        "test_compression",
        "test_gaenslen",
    ]
    assert "missing: Pain primarily below the belt line, Pain character" in form
    assert "pain_below_belt_line," not in form


def test_the_data_checks_page_lists_look_alike_patients_as_warnings(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    for study_id in ("P-001", "P-002"):
        pid = _enrol_fused(server, csrf, study_id)
        _post(
            server,
            f"/records/patient/{pid}/edit",
            csrf,
            study_id=study_id,
            age="70",
            sex="F",
            version="1",
            reason="sex added",
        )
    _enrol_fused(server, csrf, "P-003")  # no sex recorded: cannot look alike
    doubts = server.get("/checks").text.split('id="doubts"')[1]
    assert "looks like P-002: same sex, age, year of birth and fusion date" in doubts
    assert "looks like P-001: same sex, age, year of birth and fusion date" in doubts
    assert "looks like P-003" not in doubts
    assert "no follow-up since the fusion on 2024-03-01, more than 12 months ago" in doubts


def test_the_screening_script_gets_401_after_the_session_ended_and_no_new_session(
    server: TestClient, engine: sa.Engine
) -> None:
    csrf = sign_in(server, "coord1")
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.app_session).values(
                last_seen_at=accounts.now() - timedelta(minutes=31)
            )
        )
    answer = server.post("/screenings/evaluate", data={"csrf_token": csrf}, follow_redirects=False)
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
