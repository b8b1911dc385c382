"""Fixtures for the server: two sites, one user of every role, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from server_support import PASSWORD, USERS, People

from sijreg.store import accounts, schema


@pytest.fixture
def people(engine: sa.Engine) -> People:
    """Sites S01 and S02 and the users of :data:`USERS`, all with :data:`PASSWORD`."""
    found = People()
    with engine.begin() as conn:
        for code in ("S01", "S02"):
            found.sites[code] = conn.execute(
                sa.insert(schema.site).values(site_code=code).returning(schema.site.c.id)
            ).scalar_one()
        for username, role, site in USERS:
            found.ids[username] = accounts.add_user(
                conn, username, f"Dr {username.title()}", role, PASSWORD, site
            )
    return found
