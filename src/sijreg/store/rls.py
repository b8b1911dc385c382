"""PostgreSQL row-level security statements shared by the migrations.

A per-site table gets two policies: ``site_rows`` (read and write the rows of the site
in ``sijreg.site_id``) and ``pooled_read`` (read every row when ``sijreg.pooled`` is on).
Applied migrations call these functions, so the SQL they return must never change: a
new rule needs a new function (tests/test_rls.py pins the text). See docs/server.md.
"""

from __future__ import annotations

SITE_SETTING = "NULLIF(current_setting('sijreg.site_id', true), '')::integer"
"""The transaction's site, NULL when none is set (then ``site_id = ...`` is never true)."""

POOLED = "current_setting('sijreg.pooled', true) = 'on'"
"""Whether the transaction reads pooled (every site)."""


def enable(table: str) -> str:
    return f"ALTER TABLE {table} ENABLE ROW LEVEL SECURITY"


def site_rows(table: str, *, read_only: bool = False) -> str:
    """The site's own rows; ``read_only`` for a table written another way (the audit log)."""
    if read_only:
        return f"CREATE POLICY site_rows ON {table} FOR SELECT USING (site_id = {SITE_SETTING})"
    return (
        f"CREATE POLICY site_rows ON {table} USING (site_id = {SITE_SETTING}) "
        f"WITH CHECK (site_id = {SITE_SETTING})"
    )


def pooled_read(table: str) -> str:
    return f"CREATE POLICY pooled_read ON {table} FOR SELECT USING ({POOLED})"


def siteless_rows(table: str) -> str:
    """Rows of no site (``site_id`` NULL), for a transaction acting for no site."""
    own = f"site_id IS NULL AND {SITE_SETTING} IS NULL"
    return f"CREATE POLICY siteless_rows ON {table} USING ({own}) WITH CHECK ({own})"


def site_policies(table: str) -> list[str]:
    """Row-level security on ``table``: its site's rows, every row read when pooled."""
    return [enable(table), site_rows(table), pooled_read(table)]


def drop_policies(
    table: str, policies: tuple[str, ...] = ("pooled_read", "site_rows"), *, disable: bool = True
) -> list[str]:
    """Undo :func:`site_policies` (and any ``policies`` named), newest first."""
    drops = [f"DROP POLICY {name} ON {table}" for name in policies]
    return drops + ([f"ALTER TABLE {table} DISABLE ROW LEVEL SECURITY"] if disable else [])
