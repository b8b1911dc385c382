"""The screening pages without JavaScript: saving judges and shows the decision; scope and CSP."""

from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient

from sijreg.domain.dictionary import SCREENING
from sijreg.domain.screening import evaluate
from sijreg.domain.types import Kind
from sijreg.interop.protocol_file import load_protocol
from tests.server.server_support import sign_in
from tests.server.test_pages import _enrol, _field_error, _post
from tests.server.test_screening_api import ELIGIBLE

FORM: dict[str, str] = {
    k: ("1" if v else "0") if isinstance(v, bool) else str(v) for k, v in ELIGIBLE.items()
}


def _criteria(page: str) -> dict[str, tuple[str, str]]:
    """Each criterion's status and text as the page shows it."""
    found = re.findall(r'<li class="(\w+)" data-key="(\w+)">([^<]*)</li>', page)
    return {key: (status, html.unescape(text)) for status, key, text in found}


def test_saving_without_javascript_shows_the_stored_decision(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    form = server.get("/screenings/new").text
    rules = {
        name: html.unescape(rule) for name, rule in re.findall(r'id="(\w+)-rule">([^<]*)<', form)
    }
    for f in SCREENING.fields:  # a list needs no rule: its choices are the words
        rule = {
            Kind.CHOICE: "Choose from the list.",
            Kind.BOOLEAN: "Choose from the list.",
            Kind.DATE: "A date, not in the future.",  # a date picker shows dates its own way
        }.get(f.kind, f.describe_rule())
        assert rules[f.name] == rule
    status, location, text = _post(
        server, "/screenings/new", csrf, **{**FORM, "block_relief_pct": "50"}
    )
    assert status == 303, text
    page = server.get(location).text
    assert "Stored decision" in page
    expected = evaluate(load_protocol(), {**ELIGIBLE, "block_relief_pct": "50"})
    shown = _criteria(page)
    assert {k: s for k, (s, _) in shown.items()} == {
        c.key: c.status.value for c in expected.criteria
    }
    assert "50.0%; required: more than 50%" in shown["block_relief"][1]

    # A change needs its reason; then it is judged again.
    version = re.search(r'name="version" value="(\d+)"', page)
    assert version
    changed = {**FORM, "block_relief_pct": "51", "version": version.group(1)}
    status, _, text = _post(server, location, csrf, **changed)
    assert status == 422
    assert _field_error(text, "reason") == "a value is required"
    assert "Decision as entered (not saved)" in text
    assert _criteria(text)["block_relief"][0] == "met"
    status, _, text = _post(server, location, csrf, **changed, reason="relief misread")
    assert status == 303, text
    assert {s for s, _ in _criteria(server.get(location).text).values()} == {"met"}
    history = server.get(f"/records/screening/{location.rsplit('/', 1)[1]}/history").text
    assert "relief misread" in history
    assert server.get(f"/records/screening/{location.rsplit('/', 1)[1]}/edit").status_code == 404
    log = server.get("/screenings").text
    assert re.search(r"SCR-1</a></td><td>2025-02-01</td>\s*<td>eligible</td>", log)


def test_a_bad_value_is_named_and_the_link_must_be_the_sites(server: TestClient) -> None:
    other_csrf = sign_in(server, "coord2")
    theirs = _enrol(server, other_csrf, "P-OTHER").rsplit("/", 1)[1]
    csrf = sign_in(server, "coord1")
    status, _, text = _post(
        server, "/screenings/new", csrf, screening_number="S-2", block_relief_pct="120"
    )
    assert status == 422
    assert _field_error(text, "block_relief_pct") == "must be a number from 0 to 100 %"
    status, _, text = _post(
        server, "/screenings/new", csrf, screening_number="S-2", patient_id=theirs
    )
    assert status == 422
    assert _field_error(text, "patient_id") == "no such patient at this site"
    assert 'value="S-2"' in text
    assert "No screening recorded yet." in server.get("/screenings").text


def test_evaluate_judges_as_typed_needs_the_csrf_token_and_saves_nothing(
    server: TestClient,
) -> None:
    csrf = sign_in(server, "coord1")
    answer = server.post("/screenings/evaluate", data={**FORM, "csrf_token": csrf})
    assert answer.status_code == 200
    assert answer.json()["decision"] == "eligible"
    refused = server.post("/screenings/evaluate", data=FORM)
    assert refused.status_code == 403
    assert "No screening recorded yet." in server.get("/screenings").text


def test_only_the_screening_pages_may_run_their_script(server: TestClient) -> None:
    sign_in(server, "coord1")
    policy = server.get("/screenings/new").headers["content-security-policy"]
    assert re.search(r"script-src 'sha256-[A-Za-z0-9+/]+=*'; connect-src 'self'$", policy)
    assert "script-src" not in server.get("/patients").headers["content-security-policy"]


def test_another_sites_screening_is_not_found(server: TestClient) -> None:
    csrf = sign_in(server, "coord1")
    status, location, _ = _post(server, "/screenings/new", csrf, screening_number="S-3")
    assert status == 303
    other = sign_in(server, "coord2")
    assert server.get(location).status_code == 404
    assert _post(server, location, other, screening_number="S-3", version="1", reason="x")[0] == 404
    assert "S-3" not in server.get("/screenings").text
