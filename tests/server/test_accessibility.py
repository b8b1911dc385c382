"""Every page in real Chromium: axe-core finds no serious or critical violation, and nothing
is wider than a 768 px tablet (issue 13, item 7).

axe-core's own build comes with the ``axe-playwright-python`` package. Set
``SIJREG_SCREENSHOTS=<folder>`` to keep a full-page screenshot of every page and size.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, Page

from sijreg.server.web import today
from sijreg.store import accounts
from sijreg.store.accounts import Role
from tests.server.browser_support import fill, sign_in
from tests.server.server_support import PASSWORD, People, add_monitors

pytestmark = pytest.mark.browser

SIZES = {"desktop": (1280, 900), "tablet": (768, 1024)}
BLOCKING = ("serious", "critical")


def _save(page: Page, url: str, values: dict[str, str]) -> str:
    page.goto(url)
    fill(page, values)
    page.get_by_role("button", name="Save").click()
    page.wait_for_load_state()
    return page.url


def _a_followed_patient(page: Page, live_server: str) -> dict[str, str]:
    """A patient from enrolment to a follow-up, a screening and a stored rule breach."""
    patient = _save(page, f"{live_server}/patients/new", {"study_id": "AX-1", "age": "66"})
    pid = patient.rsplit("/", 1)[1]
    fused = today() - timedelta(days=200)
    _save(
        page,
        f"{live_server}/patients/{pid}/fusion/new",
        {"fusion_date": fused.isoformat(), "side": "left", "anaesthesia": "sedation_local"},
    )
    _save(
        page,
        f"{live_server}/patients/{pid}/visit/new",
        {"visit_date": (fused + timedelta(days=95)).isoformat(), "pain_relief_pct": "60"},
    )
    _save(page, f"{live_server}/patients/{pid}/prior_procedure/new", {"procedure": "scs"})
    screening = _save(page, f"{live_server}/screenings/new", {"screening_number": "SCR-1"})
    page.goto(f"{live_server}/patients/{pid}")
    fusion_edit = page.locator("#fusion a", has_text="Edit").get_attribute("href")
    return {
        "pid": pid,
        "fusion_edit": str(fusion_edit),
        "screening": screening.removeprefix(live_server),
    }


def _check(page: Page, url: str, label: str, shots: Path | None) -> list[str]:
    """The blocking axe violations and any sideways overflow of one page at every size."""
    found = []
    page.goto(url)
    for size, (width, height) in SIZES.items():
        page.set_viewport_size({"width": width, "height": height})
        results = Axe().run(page)
        for violation in results.response["violations"]:
            if violation["impact"] in BLOCKING:
                targets = [n["target"] for n in violation["nodes"]][:3]
                found.append(f"{label} ({size}): {violation['id']}: {violation['help']} {targets}")
        wider = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        if wider > 0:
            found.append(f"{label} ({size}): {wider} px wider than the window")
        if shots is not None:
            page.screenshot(path=str(shots / f"{label}-{size}.png"), full_page=True)
    return found


def test_every_page_passes_axe_at_desktop_and_tablet_sizes(
    browser: Browser, live_server: str, engine: sa.Engine, people: People
) -> None:
    shots = Path(os.environ["SIJREG_SCREENSHOTS"]) if "SIJREG_SCREENSHOTS" in os.environ else None
    if shots is not None:
        shots.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    anonymous = browser.new_context(bypass_csp=True).new_page()
    problems += _check(anonymous, f"{live_server}/sign-in", "sign-in", shots)

    page = browser.new_context(bypass_csp=True).new_page()
    sign_in(page, live_server, "coord1")
    made = _a_followed_patient(page, live_server)
    pid = made["pid"]
    for label, path in {
        "patients": "/patients",
        "enrol": "/patients/new",
        "patient": f"/patients/{pid}",
        "visit-form": f"/patients/{pid}/visit/new",
        "fusion-edit": made["fusion_edit"],
        "history": f"/records/patient/{pid}/history",
        "worklist": "/worklist",
        "screenings": "/screenings",
        "screening-new": "/screenings/new",
        "screening": made["screening"],
        "site-report": "/report",
        "checks": "/checks",
        "not-found": "/patients/999999",
    }.items():
        problems += _check(page, live_server + path, label, shots)

    add_monitors(engine, people)
    monitor = browser.new_context(bypass_csp=True).new_page()
    sign_in(monitor, live_server, "mon1")
    raising = f"{live_server}/records/patient/{pid}/queries/new"
    problems += _check(monitor, raising, "query-new", shots)
    monitor.get_by_label("Message").fill("Please confirm.")
    monitor.get_by_role("button", name="Raise the query").click()
    monitor.locator("#query-state").wait_for()
    query = monitor.url.removeprefix(live_server)
    problems += _check(monitor, live_server + query, "query-monitor", shots)
    problems += _check(page, live_server + query, "query-site", shots)
    problems += _check(page, f"{live_server}/queries", "queries", shots)
    with engine.begin() as conn:  # a monitor of both sites: the lists of every covered site
        accounts.add_user(conn, "cra", "Dr Cra", Role.MONITOR, PASSWORD, monitors=["S01", "S02"])
    several = browser.new_context(bypass_csp=True).new_page()
    sign_in(several, live_server, "cra")
    problems += _check(several, f"{live_server}/queries", "queries-of-sites", shots)
    problems += _check(several, f"{live_server}/checks", "checks-of-sites", shots)

    investigator = browser.new_context(bypass_csp=True).new_page()
    sign_in(investigator, live_server, "inv1")
    problems += _check(investigator, f"{live_server}/patients/{pid}", "patient-to-sign", shots)
    investigator.locator("#sign-password").fill(PASSWORD)
    investigator.get_by_role("button", name="Sign", exact=True).click()
    problems += _check(investigator, f"{live_server}/patients/{pid}", "patient-locked", shots)
    problems += _check(page, live_server + made["fusion_edit"], "fusion-locked", shots)

    for username, paths in {"admin": ["/admin"], "analyst": ["/", "/report"]}.items():
        other = browser.new_context(bypass_csp=True).new_page()
        sign_in(other, live_server, username)
        for path in paths:
            problems += _check(
                other, live_server + path, f"{username}{path.replace('/', '-')}", shots
            )
    assert problems == []
