"""What the server tests share: the people of the test registry."""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

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
