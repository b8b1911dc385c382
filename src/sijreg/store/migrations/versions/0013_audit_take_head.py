"""sijreg_audit_take_head(): the audit chain's lock and its head in one round trip

Revision ID: 0013_audit_take_head
Revises: 0012_registry_setting
Create Date: 2026-11-30 07:00:00

No table changes. On PostgreSQL an append used to take the chain's advisory lock, then
read the head in a second statement; this function (running as the owner, like
``sijreg_audit_head()``) waits for the lock (at most ``wait``, then SQLSTATE 55P03) and
returns the head read after the lock was granted (a PL/pgSQL function takes a fresh
snapshot for each statement), so the lock is held one round trip less per write.
"""

from __future__ import annotations

from alembic import op

revision = "0013_audit_take_head"
down_revision = "0012_registry_setting"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        "CREATE FUNCTION sijreg_audit_take_head(lock_key bigint, wait text) "
        "RETURNS TABLE (id integer, entry_hash varchar) "
        "LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path FROM CURRENT AS $$ "
        "BEGIN "
        "PERFORM set_config('lock_timeout', wait, true); "
        "PERFORM pg_advisory_xact_lock(lock_key); "
        "RETURN QUERY SELECT a.id, a.entry_hash FROM audit_log a ORDER BY a.id DESC LIMIT 1; "
        "END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION sijreg_audit_take_head(bigint, text)")
