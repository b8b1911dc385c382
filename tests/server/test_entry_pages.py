"""The pages as a site coordinator meets them (issue 13): context, words, no typed work lost."""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.store import schema
from tests.server.server_support import People, sign_in


def _post(client: TestClient, url: str, csrf: str, **data: str) -> tuple[int, str, str]:
    answer = client.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
    return answer.status_code, answer.headers.get("location", ""), answer.text


def test_the_site_report_names_the_site_and_has_the_navigation(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(schema.site)
            .where(schema.site.c.id == people.sites["S01"])
            .values(site_name="Riverside Pain Centre")
        )
    sign_in(server, "coord1")
    report = server.get("/report").text
    assert "<h1>Report of site S01 (Riverside Pain Centre)</h1>" in report
    assert re.search(r'<nav>.*href="/patients".*href="/worklist".*Sign out', report, re.S)
    sign_in(server, "analyst")
    assert "<h1>Pooled report, all sites</h1>" in server.get("/report").text
