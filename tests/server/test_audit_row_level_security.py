"""PostgreSQL: the app role reads only its scope's audit entries, yet appends to the one chain."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa

from sijreg.store import audit, schema
from sijreg.store.scope import SiteScope, set_database_scope
from tests.server.server_support import People

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.parametrize("database_url", ["postgresql"], indirect=True),
]


def test_audit_entries_follow_the_scope_and_the_chain_stays_whole(
    engine: sa.Engine, app_engine: sa.Engine, people: People
) -> None:
    log = schema.audit_log
    for user, site in (("coord1", "S01"), ("coord2", "S02")):
        with app_engine.begin() as conn:  # the server's role writes at both sites
            scope = SiteScope(conn, people.actor(conn, user))
            patient = scope.create("patient", {"study_id": f"{site}-1"})
            scope.create("visit", {"visit_date": date(2025, 5, 1)}, patient["id"])
    with app_engine.begin() as conn:
        assert conn.execute(sa.select(log.c.id)).first() is None  # no scope, no entry
        set_database_scope(conn, people.sites["S01"])
        seen = set(conn.execute(sa.select(log.c.site_id)).scalars())
        assert seen == {people.sites["S01"]}
        newest = audit.head(conn)
    with app_engine.begin() as conn:
        set_database_scope(conn, None, pooled=True)
        everything = conn.execute(sa.select(sa.func.count()).select_from(log)).scalar_one()
    with engine.connect() as conn:  # the owner
        result = audit.verify(conn)
        assert result.ok, (result.chain, result.records)
        assert everything == result.entries == 5 + 4  # 5 users, then 2 records at each site
        assert newest == (result.entries, result.head)
