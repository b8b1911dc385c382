"""In Chromium: the session ends while the screening form is half filled, and nothing typed is
lost (issue 13, "How we will check it").
"""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, expect

from sijreg.store import accounts, schema
from tests.server.browser_support import fill, fill_sign_in

pytestmark = pytest.mark.browser

TYPED = {
    "screening_number": "SCR-77",
    "screening_date": "2024-05-02",
    "pain_below_belt_line": "1",
    "test_distraction": "positive",
    "test_thigh_thrust": "positive",
    "block_relief_pct": "75",
}


def test_a_half_filled_screening_survives_the_end_of_the_session(
    browser: Browser, live_server: str, engine: sa.Engine
) -> None:
    page = browser.new_context().new_page()
    page.goto(f"{live_server}/sign-in")
    fill_sign_in(page, "coord1")
    page.goto(f"{live_server}/screenings/new")
    fill(page, TYPED)
    expect(page.locator("#decision h2")).to_have_text("Decision as typed (not saved yet)")
    page.wait_for_load_state("networkidle")  # the last as-you-type decision is in
    with engine.begin() as conn:  # the coordinator answered the phone for 31 minutes
        conn.execute(
            sa.update(schema.app_session).values(
                last_seen_at=accounts.now() - timedelta(minutes=31)
            )
        )
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("status")).to_contain_text("What you typed is kept")
    fill_sign_in(page, "coord1")
    expect(page).to_have_url(f"{live_server}/screenings/new")
    expect(page.get_by_role("status")).to_contain_text("here is what you typed")
    for name, value in TYPED.items():
        expect(page.locator(f"#{name}")).to_have_value(value)
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Screening SCR-77")).to_be_visible()
    with engine.connect() as conn:
        stored = conn.execute(sa.select(schema.screening)).mappings().one()
    assert stored["block_relief_pct"] == 75
    assert stored["test_thigh_thrust"] == "positive"
