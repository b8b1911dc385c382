"""As a patient, in Chromium at a phone's size: the link from a real e-mail, to the end.

The e-mail is sent by `sijreg invitations send` to a local aiosmtpd server; the
patient answers half, closes the browser, reopens the link, finishes and sends; the
link then refuses; the site's patient page shows the visit with its ODI score.
Every page the patient sees is checked by axe-core (no serious or critical
violation) and photographed (SIJREG_SCREENSHOTS=folder keeps the pictures).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import sqlalchemy as sa
from axe_playwright_python import sync_playwright as axe_module
from playwright.sync_api import (
    Browser,
    BrowserContext,
    Page,
    ViewportSize,
    expect,
)
from typer.testing import CliRunner

from sijreg.cli.app import app
from tests.server.browser_support import sign_in
from tests.server.followup_support import (
    FIRST_HALF,
    KEY,
    ODI_EXPECTED,
    Inbox,
    odi_answers,
    seed_followup,
    smtp_server,
)
from tests.server.server_support import People

pytestmark = pytest.mark.browser
__all__ = ["smtp_server"]  # the fixture, used by name

PHONE: ViewportSize = {"width": 390, "height": 844}
AXE = (Path(axe_module.__file__).parent / "axe.min.js").read_text()


def _phone(browser: Browser) -> BrowserContext:
    return browser.new_context(
        viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True
    )


def _check(page: Page, name: str) -> None:
    """axe-core finds no serious or critical violation; the page is photographed."""
    page.evaluate(AXE)
    results = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    bad = [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
        for v in results["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert bad == [], f"{name}: {bad}"
    folder = os.environ.get("SIJREG_SCREENSHOTS")
    if folder:
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


def _answer(page: Page, answers: dict[str, str]) -> None:
    """Answer every question of the page shown, then save and go on."""
    for name in page.eval_on_selector_all(
        "form input[type=radio], form input[type=text]", "els => els.map(e => e.name)"
    ):
        value = answers.get(name)
        if value is None:
            continue
        if page.locator(f"input[type=text][name={name}]").count():
            page.fill(f"input[name={name}]", value)
        else:
            page.check(f'input[name="{name}"][value="{value}"]')
    _save_and_continue(page)


def _save_and_continue(page: Page) -> None:
    """Send the page and wait for the next one: without the wait, the next step could read
    and send the page still shown (an answer lost or given twice)."""
    with page.expect_navigation():
        page.get_by_role("button", name="Save and continue").click()


def test_a_patient_answers_from_the_e_mail_on_a_phone(
    browser: Browser,
    live_server: str,
    engine: sa.Engine,
    database_url: str,
    people: People,
    smtp_server: tuple[Inbox, int],
    tmp_path: Path,
) -> None:
    inbox, port = smtp_server
    seeded = seed_followup(engine, people)
    contacts, key = tmp_path / "contacts.csv", tmp_path / "links.key"
    contacts.write_text("study_id,email\nP1,p1@example.org\n")
    key.write_text(KEY.hex())
    sent = CliRunner().invoke(
        app,
        [
            "invitations",
            "send",
            "--site",
            "S01",
            "--base-url",
            live_server,
            "--key",
            str(key),
            "--contacts",
            str(contacts),
            "--smtp",
            f"smtp://127.0.0.1:{port}",
            "--database",
            database_url,
        ],
    )
    assert sent.exit_code == 0, sent.output
    body = inbox.messages[0].get_payload(decode=True)
    assert isinstance(body, bytes)
    link = next(w for w in body.decode().split() if w.startswith(f"{live_server}/f/"))

    first = _phone(browser)
    page = first.new_page()
    page.goto(link)
    expect(page.get_by_text("Page 1 of 14")).to_be_visible()
    _check(page, "01-first-page")
    everything = {**FIRST_HALF, **odi_answers()}
    for n in range(7):
        _answer(page, everything)
        if n == 0:
            _check(page, "02-scale-page")
    expect(page.get_by_text("Page 8 of 14")).to_be_visible()
    _save_and_continue(page)  # nothing chosen: seen, blank
    first.close()  # the patient closes the browser half-way

    again = _phone(browser)
    page = again.new_page()
    page.goto(link)
    expect(page.get_by_text("Page 9 of 14")).to_be_visible()  # resumes where they stopped
    page.get_by_role("button", name="Back").click()
    expect(page.get_by_text("Page 8 of 14")).to_be_visible()
    _answer(page, everything)  # the skipped page answered after all (section 4)
    while page.get_by_role("button", name="Save and continue").count():
        _answer(page, everything)
    expect(page.get_by_role("heading", name="Check your answers and send them")).to_be_visible()
    _check(page, "03-review")
    page.get_by_role("button", name="Send my answers").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    _check(page, "04-thanks")
    page.goto(link)
    expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
    _check(page, "05-link-refused")
    again.close()

    site = browser.new_context()
    page = site.new_page()
    sign_in(page, live_server, "coord1")
    page.goto(f"{live_server}/patients/{seeded.patient_id}")
    expect(page.locator("#visit")).to_contain_text(ODI_EXPECTED)
    page.goto(f"{live_server}/follow-up")
    expect(page.locator("#completeness")).to_contain_text("12 months")
    _check(page, "06-call-list")
    page.goto(f"{live_server}/follow-up/{seeded.patient_id}/24/answers")
    expect(page.get_by_label("Answers given by")).to_be_visible()
    _check(page, "07-paper-entry")
    site.close()
