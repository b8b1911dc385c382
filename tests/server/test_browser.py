"""Real Chromium against a real server: what a coordinator does, and what another site cannot see.

The server runs in a thread (uvicorn on a free localhost port) over the test
registry; the browser is Debian's /usr/bin/chromium, driven by Playwright.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from sijreg.domain.schedule import add_months
from sijreg.server.web import today
from sijreg.store import accounts
from tests.server.browser_support import fill, sign_in
from tests.server.server_support import People

pytestmark = pytest.mark.browser


def _fill_and_save(page: Page, values: dict[str, str]) -> None:
    fill(page, values)
    page.get_by_role("button", name="Save").click()


def test_a_coordinator_records_a_patient_and_another_site_cannot_find_it(
    browser: Browser, live_server: str, engine: sa.Engine, people: People
) -> None:
    page = browser.new_context().new_page()
    sign_in(page, live_server, "coord1")

    # Enrol, with a validation error fixed on the way.
    page.get_by_role("navigation").get_by_role("link", name="Enrol a patient").click()
    expect(page.locator("#age-rule")).to_have_text("a whole number from 18 to 110 years")
    _fill_and_save(page, {"study_id": "BRW-1", "sex": "F", "age": "17", "bmi": "31.4"})
    expect(page.locator("#age-error")).to_have_text("must be a whole number from 18 to 110 years")
    expect(page.locator("#study_id")).to_have_value("BRW-1")
    _fill_and_save(page, {"age": "67"})
    expect(page.get_by_role("heading", name="Patient BRW-1")).to_be_visible()
    patient_url = page.url
    patient_id = patient_url.rsplit("/", 1)[1]

    # The fusion six months ago and the three-month follow-up.
    fused = add_months(today(), -6)
    page.get_by_role("link", name="Add: Index SIJ fusion").click()
    _fill_and_save(page, {"fusion_date": fused.isoformat(), "side": "left", "device": "linq"})
    expect(page.locator("#fusion")).to_contain_text(fused.isoformat())
    page.get_by_role("link", name="Add: Visit").click()
    visit = add_months(fused, 3) + timedelta(days=2)
    _fill_and_save(
        page,
        {
            "visit_date": visit.isoformat(),
            "pain_relief_pct": "62.5",
            "nrs_pain": "3",
            "odi": "30",
            "medd": "0",
        },
    )
    expect(page.locator("#visit")).to_contain_text("62.5")

    # The six-month visit is due; the report counts the patient.
    page.get_by_role("navigation").get_by_role("link", name="Worklist").click()
    row = page.locator("#worklist tr", has_text="BRW-1")
    expect(row).to_contain_text("6 months")
    expect(row).to_contain_text("due")
    page.get_by_role("navigation").get_by_role("link", name="Site report").click()
    expect(page.locator("body")).to_contain_text("Analysed: 1 of 1 registered patients")

    # A coordinator of another site: no page and no API route finds the patient.
    other = browser.new_context().new_page()
    sign_in(other, live_server, "coord2")
    expect(other.locator("main")).not_to_contain_text("BRW-1")
    for path in (
        f"/patients/{patient_id}",
        f"/records/patient/{patient_id}/edit",
        f"/records/patient/{patient_id}/history",
        f"/patients/{patient_id}/visit/new",
    ):
        answer = other.goto(live_server + path)
        assert answer is not None
        assert answer.status == 404
        expect(other.get_by_role("heading", name="Not found")).to_be_visible()
    other.goto(f"{live_server}/worklist")
    expect(other.locator("main")).not_to_contain_text("BRW-1")
    other.goto(f"{live_server}/report")
    expect(other.locator("body")).to_contain_text("Analysed: 0 of 0 registered patients")
    with engine.begin() as conn:
        token = accounts.issue_token(conn, people.ids["coord2"], 1, "browser test")[1]
    auth = {"Authorization": f"Bearer {token}"}
    for path in ("patients", "fusions", "visits"):
        listing = other.request.get(f"{live_server}/api/v1/{path}/{patient_id}", headers=auth)
        assert listing.status == 404
    assert "BRW-1" not in other.request.get(f"{live_server}/api/v1/patients", headers=auth).text()
    assert re.search(r"/patients/\d+$", patient_url)
