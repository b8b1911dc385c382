"""In Chromium: a monitor raises a query, the coordinator answers it, the monitor closes it,
and the record's history shows all three (issue 13, "How we will check it")."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page, expect

from sijreg.store.scope import SiteScope
from tests.server.browser_support import sign_in
from tests.server.server_support import People, add_monitors

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def monitors(engine: sa.Engine, people: People) -> None:
    """mon1 at S01 and mon2 at S02, before the tokens are issued."""
    add_monitors(engine, people)


def _signed_in(browser: Browser, live_server: str, username: str) -> Page:
    page = browser.new_context().new_page()
    sign_in(page, live_server, username)
    return page


def test_raise_answer_close_in_chromium(
    browser: Browser, live_server: str, engine: sa.Engine, people: People
) -> None:
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        pid = scope.create("patient", {"study_id": "BR-1", "age": 58})["id"]

    monitor = _signed_in(browser, live_server, "mon1")
    monitor.goto(f"{live_server}/patients/{pid}")
    monitor.get_by_role("link", name="Raise a query on patient BR-1").click()
    monitor.get_by_label("Field").select_option(label="Age at fusion: 58 years")
    monitor.get_by_label("Message").fill("Please confirm the age at fusion.")
    monitor.get_by_role("button", name="Raise the query").click()
    expect(monitor.locator("#query-state")).to_have_text("Open")
    query_url = monitor.url

    coordinator = _signed_in(browser, live_server, "coord1")
    coordinator.get_by_role("link", name="Queries").click()
    coordinator.get_by_role("link", name="Query 1 on Age at fusion of BR-1").click()
    coordinator.get_by_label("Your answer").fill("Confirmed in the operation note.")
    coordinator.get_by_role("button", name="Send the answer").click()
    expect(coordinator.get_by_role("status")).to_have_text("Saved: the query is answered.")
    expect(coordinator.locator("#query-state")).to_have_text("Answered")
    expect(coordinator.get_by_role("button", name="Close the query")).to_have_count(0)

    monitor.goto(query_url)
    monitor.get_by_role("button", name="Close the query").click()
    expect(monitor.locator("#query-state")).to_have_text("Closed")

    coordinator.goto(f"{live_server}/records/patient/{pid}/history")
    steps = coordinator.locator("#query-history tbody tr")
    expect(steps).to_have_count(3)
    expect(steps.nth(0)).to_contain_text("Query raised")
    expect(steps.nth(0)).to_contain_text("Dr Mon1")
    expect(steps.nth(1)).to_contain_text("Confirmed in the operation note.")
    expect(steps.nth(1)).to_contain_text("Dr Coord1")
    expect(steps.nth(2)).to_contain_text("Query closed")
