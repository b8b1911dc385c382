"""audit_log: row-level security on PostgreSQL; the chain's head through a definer function

Revision ID: 0007_audit_rls
Revises: 0006_kept_forms
Create Date: 2026-11-30 05:00:00

No table changes. Entries hold every record's full state, so the app role now reads
only its scope's entries (the site's, or all when pooled), like the records
themselves; it may still append any entry. Appending needs the newest entry of the
whole chain, which ``sijreg_audit_head()`` (running as the owner) returns and
nothing more.
"""

from __future__ import annotations

from alembic import op

from sijreg.store import rls

revision = "0007_audit_rls"
down_revision = "0006_kept_forms"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(rls.enable("audit_log"))
    op.execute(rls.site_rows("audit_log", read_only=True))
    op.execute(rls.pooled_read("audit_log"))
    op.execute("CREATE POLICY append ON audit_log FOR INSERT WITH CHECK (true)")
    op.execute(
        "CREATE FUNCTION sijreg_audit_head() RETURNS TABLE (id integer, entry_hash varchar) "
        "LANGUAGE sql STABLE SECURITY DEFINER SET search_path FROM CURRENT AS "
        "$$ SELECT a.id, a.entry_hash FROM audit_log a ORDER BY a.id DESC LIMIT 1 $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION sijreg_audit_head()")
    for statement in rls.drop_policies("audit_log", ("append", "pooled_read", "site_rows")):
        op.execute(statement)
