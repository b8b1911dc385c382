"""The steps the server's browser tests share (the ``browser`` fixture is in tests/conftest.py)."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.server.server_support import PASSWORD


def fill_sign_in(page: Page, username: str) -> None:
    """Sign in on the sign-in form the page shows."""
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def sign_in(page: Page, live_server: str, username: str) -> None:
    """Open the sign-in page, sign in, and wait until signed in."""
    page.goto(f"{live_server}/sign-in")
    fill_sign_in(page, username)
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def fill(page: Page, values: dict[str, str]) -> None:
    """Type or choose each value into the form field of that id."""
    for name, value in values.items():
        field = page.locator(f"#{name}")
        if field.evaluate("e => e.tagName") == "SELECT":
            field.select_option(value)
        else:
            field.fill(value)
