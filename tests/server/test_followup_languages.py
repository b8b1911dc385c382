"""The patient's page in the language of the browser, from the instrument's FHIR translations:
questions and their answer options; the page's own text stays in a shipped catalogue's
language, and every question in another language says so (``lang``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.interop.instrument_file import shipped
from sijreg.server.app import create_app
from sijreg.server.patient_link import accepted
from sijreg.server.web import ServerSettings
from sijreg.store import schema
from tests.server.followup_support import FIRST_HALF, seed_followup
from tests.server.server_support import People
from tests.translated import GERMAN, german_followup

CHANGE_PAGE = 2
"""The page of the Patient Global Impression of Change, which the test file translates."""


@pytest.fixture
def german_server(app_engine: sa.Engine, people: People) -> Iterator[TestClient]:
    settings = ServerSettings(instruments=(german_followup(), shipped("odi")))
    with TestClient(create_app(app_engine, settings), base_url="https://testserver") as client:
        yield client


def test_the_page_speaks_the_browsers_language_where_the_instrument_does(
    german_server: TestClient, engine: sa.Engine, people: People
) -> None:
    token = seed_followup(engine, people).token
    german = {"Accept-Language": "de-CH, de;q=0.9, en;q=0.5"}
    page = german_server.get(f"/f/{token}?page={CHANGE_PAGE}", headers=german)
    assert page.status_code == 200
    assert '<html lang="en">' in page.text  # the page's own text: English, the one catalogue
    assert f'<h1 lang="de">{GERMAN["change"]}</h1>' in page.text
    assert f'<span lang="de">{GERMAN["pgic"]}</span>' in page.text
    options = re.findall(r'value="([a-z_]+)"> <span lang="de">([^<]+)</span>', page.text)
    assert dict(options) == {k: v for k, v in GERMAN.items() if k not in ("change", "pgic")}
    assert "Much improved" not in page.text

    english = german_server.get(
        f"/f/{token}?page={CHANGE_PAGE}", headers={"Accept-Language": "fr, en"}
    )
    assert "Much improved" in english.text
    assert 'lang="de"' not in english.text
    assert GERMAN["much_improved"] not in english.text

    # Answered in German, the review lists the German answer; the visit stores the code.
    saved = german_server.post(
        f"/f/{token}",
        data={"page": str(CHANGE_PAGE), "go": "next", "pgic": "much_improved"},
        headers=german,
        follow_redirects=False,
    )
    assert saved.status_code == 303
    for index in (0, 1, 3):
        german_server.post(
            f"/f/{token}", data={"page": str(index), "go": "next", **FIRST_HALF}, headers=german
        )
    review = german_server.get(f"/f/{token}?page=99", headers=german)
    assert f'<span lang="de">{GERMAN["much_improved"]}</span>' in review.text
    with engine.connect() as conn:
        stored = conn.execute(sa.select(schema.invitation.c.answers)).scalars().all()
    assert any("much_improved" in str(a) for a in stored)


def test_accept_language_is_read_by_its_weights() -> None:
    assert accepted("en;q=0.4, de-CH, fr;q=0.8, it;q=0") == ["de-ch", "fr", "en"]
    assert accepted("") == []
    assert accepted("de;q=x, sv") == ["sv"]
