"""Real Chromium: a coordinator types a screening, sees the decision change as they type, saves,
and finds the care pathway on the enrolled patient's page.
"""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from sijreg.store.scope import SiteScope
from tests.server.browser_support import fill, sign_in
from tests.server.server_support import People
from tests.server.test_screening_pages import FORM

pytestmark = pytest.mark.browser

INJECTIONS = (date(2023, 1, 10), date(2023, 4, 10), date(2023, 7, 10), date(2023, 10, 10))
RFAS = (date(2023, 11, 1), date(2024, 5, 1))


@pytest.fixture
def enrolled(engine: sa.Engine, people: People) -> int:
    """A fused S01 patient with four steroid injections in a year and a repeated RFA."""
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        pid = int(scope.create("patient", {"study_id": "PW-1", "age": 58})["id"])
        for when in INJECTIONS:
            scope.create(
                "prior_procedure",
                {"procedure": "sij_steroid_injection", "procedure_date": when},
                pid,
            )
        for when in RFAS:
            scope.create("prior_procedure", {"procedure": "rfa", "procedure_date": when}, pid)
        scope.create("prior_procedure", {"procedure": "scs", "procedure_year": 2021}, pid)
        scope.create("fusion", {"fusion_date": date(2024, 9, 2), "side": "left"}, pid)
        scope.create("visit", {"visit_date": date(2024, 12, 3), "nrs_pain": 3}, pid)
    return pid


def test_a_coordinator_sees_the_decision_as_they_type_and_the_pathway(
    browser: Browser, live_server: str, enrolled: int
) -> None:
    page = browser.new_context().new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))  # the script fails nowhere
    sign_in(page, live_server, "coord1")
    page.get_by_role("navigation").get_by_role("link", name="Screening log").click()
    page.get_by_role("link", name="Record a screening").click()
    expect(page.locator("#block_relief_pct-rule")).to_contain_text("0 to 100")
    fill(page, {k: v for k, v in FORM.items() if k != "block_relief_pct"})
    relief = page.locator("#criteria li[data-key=block_relief]")
    expect(relief).to_have_class("missing")
    expect(page.locator("#decision h2")).to_have_text("Decision as typed (not saved yet)")

    page.locator("#block_relief_pct").fill("50")
    expect(relief).to_have_class("not_met")
    expect(relief).to_contain_text("50.0%; required: more than 50%")
    expect(page.locator("#decision .verdict")).to_contain_text("not eligible")

    page.locator("#block_relief_pct").fill("51")
    expect(relief).to_have_class("met")
    expect(page.locator("#decision .verdict")).to_have_text("eligible: all 7 criteria met")

    page.locator("#patient_id").select_option(label="PW-1")
    page.get_by_role("button", name="Save").click()
    expect(page.locator("#decision h2")).to_have_text("Stored decision")
    expect(page.locator("#decision .verdict")).to_contain_text("eligible")
    expect(page.locator("#decision")).to_contain_text("Protocol seed-study-2021 version 1")
    expect(page.locator("#block_relief_pct")).to_have_value("51.0")

    page.get_by_role("navigation").get_by_role("link", name="Screening log").click()
    row = page.locator("#screenings tr", has_text="SCR-1")
    expect(row).to_contain_text("eligible")
    row.get_by_role("link", name="PW-1").click()

    pathway = page.locator("#pathway")
    expect(pathway.get_by_role("heading")).to_have_text("Care pathway (protocol screening support)")
    expect(pathway).to_contain_text("not medical advice")
    expect(page.locator("#standing")).to_contain_text("Screening S01/SCR-1")
    expect(page.locator("#standing")).to_contain_text("eligible: all 7 criteria met")
    expect(page.locator("#pathway-flags")).to_contain_text(
        "4 steroid SIJ injections within 365 days"
    )
    expect(page.locator("#pathway-flags")).to_contain_text(
        "RFA repeated: 2 treatments, 182 days apart"
    )
    timeline = page.locator("#timeline tbody tr")
    expect(timeline.first).to_contain_text("2021")
    expect(timeline.first).to_contain_text("advanced intervention")
    expect(page.locator("#timeline")).to_contain_text("Index SIJ fusion")
    expect(page.locator("#timeline")).to_contain_text("Follow-up, day 92")
    pathway.get_by_role("link", name="Screening SCR-1").click()
    expect(page.locator("#patient_id")).to_have_value(str(enrolled))
    assert errors == []
