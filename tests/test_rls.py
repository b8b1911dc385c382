"""The row-level security statements the migrations share (store/rls.py).

Applied migrations call these functions, so their text is pinned here: a change would make
a new database differ from one migrated earlier. The migrated PostgreSQL database then has
the two site policies on every per-site table.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from sijreg.store import rls, schema

SITE = "NULLIF(current_setting('sijreg.site_id', true), '')::integer"


def test_the_statements_applied_migrations_ran_never_change() -> None:
    assert rls.site_policies("visit") == [
        "ALTER TABLE visit ENABLE ROW LEVEL SECURITY",
        f"CREATE POLICY site_rows ON visit USING (site_id = {SITE}) WITH CHECK (site_id = {SITE})",
        "CREATE POLICY pooled_read ON visit FOR SELECT "
        "USING (current_setting('sijreg.pooled', true) = 'on')",
    ]
    assert rls.site_rows("audit_log", read_only=True) == (
        f"CREATE POLICY site_rows ON audit_log FOR SELECT USING (site_id = {SITE})"
    )
    assert rls.drop_policies("visit") == [
        "DROP POLICY pooled_read ON visit",
        "DROP POLICY site_rows ON visit",
        "ALTER TABLE visit DISABLE ROW LEVEL SECURITY",
    ]
    assert rls.drop_policies("visit", ("append",), disable=False) == ["DROP POLICY append ON visit"]


PER_SITE = (
    *schema.PER_PATIENT,
    *schema.FOLLOW_UP,
    schema.record_signature,
    schema.screening,
    schema.data_query,
    schema.idempotency_key,
)


@pytest.mark.postgres
@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_every_per_site_table_has_the_site_policies(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        enabled = set(
            conn.execute(sa.text("SELECT relname FROM pg_class WHERE relrowsecurity")).scalars()
        )
        policies = set(
            conn.execute(sa.text("SELECT tablename, policyname FROM pg_policies")).tuples()
        )
    for table in PER_SITE:
        assert table.name in enabled
        assert {(table.name, "site_rows"), (table.name, "pooled_read")} <= policies, table.name
