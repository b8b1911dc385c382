"""A first run works without internet and says what to do next (issue 13, item 6)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Route, expect

from sijreg.cli.app import app  # noqa: F401  (the command modules import the app first)
from sijreg.cli.server import _first_run_hint
from sijreg.store import accounts
from sijreg.store.accounts import Role
from sijreg.store.database import open_database


@pytest.mark.browser
def test_the_api_docs_render_with_no_internet(browser: Browser, live_server: str) -> None:
    outside: list[str] = []

    def offline(route: Route) -> None:
        if route.request.url.startswith(live_server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page = browser.new_page()
    page.route("**/*", offline)
    page.goto(f"{live_server}/api/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("sijreg registry API")
    expect(page.get_by_text("/api/v1/patients/{patient_id}/visits").first).to_be_visible()
    assert outside == []


def test_serve_on_a_registry_without_users_says_how_to_add_the_first_admin(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    engine: sa.Engine = open_database(str(tmp_path / "new.db"))
    _first_run_hint(engine)
    said = " ".join(capsys.readouterr().out.split())
    assert "No user can sign in yet" in said
    assert "sijreg user add admin --role admin --name" in said
    assert str(tmp_path / "new.db") in said
    with engine.begin() as conn:
        accounts.add_user(conn, "admin", "Ada Admin", Role.ADMIN, "mauve staple orbit 42", None)
    _first_run_hint(engine)
    assert capsys.readouterr().out == ""
