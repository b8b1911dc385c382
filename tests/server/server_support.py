"""What the server tests share: the people of the test registry."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.store import accounts
from sijreg.store.accounts import Actor, Role

PASSWORD = "mauve staple orbit 42"


@dataclass
class People:
    """Who is in the test registry: user ids and actors by user name."""

    sites: dict[str, int] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)

    def actor(self, conn: sa.Connection, username: str) -> Actor:
        found = accounts.actor_for(conn, self.ids[username])
        assert found is not None
        return found


USERS = (
    ("coord1", Role.COORDINATOR, "S01"),
    ("inv1", Role.INVESTIGATOR, "S01"),
    ("coord2", Role.COORDINATOR, "S02"),
    ("analyst", Role.ANALYST, None),
    ("admin", Role.ADMIN, None),
)


def csrf_of(html: str) -> str:
    """The CSRF token a page's forms carry."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no CSRF token"
    return found.group(1)


def sign_in(client: TestClient, username: str, password: str = PASSWORD) -> str:
    """Sign ``client`` in through the form; returns the CSRF token of the new session."""
    form = client.get("/sign-in")
    answer = client.post(
        "/sign-in",
        data={"username": username, "password": password, "csrf_token": csrf_of(form.text)},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    page = {"analyst": "/", "admin": "/admin"}.get(username, "/worklist")
    return csrf_of(client.get(page).text)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


MONITORS = (("mon1", "S01"), ("mon2", "S02"))


def add_monitors(engine: sa.Engine, people: People) -> None:
    """A monitor at each site (mon1 at S01, mon2 at S02), added to ``people``."""
    with engine.begin() as conn:
        for username, site in MONITORS:
            people.ids[username] = accounts.add_user(
                conn, username, f"Dr {username.title()}", Role.MONITOR, PASSWORD, site
            )
