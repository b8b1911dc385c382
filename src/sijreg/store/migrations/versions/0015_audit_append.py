"""sijreg_audit_append(): an audit entry chained and written in one round trip

Revision ID: 0015_audit_append
Revises: 0014_idempotency_rls
Create Date: 2026-11-30 12:00:00

No table changes. On PostgreSQL an append took the chain's lock and head in one
statement, chained the entry in the server, then inserted it in a second: the lock
was held across that round trip and the server's own work. This function (running
as the caller, so the audit log's insert policy still applies) checks that no bulk
save holds the chain, takes the lock and the head (``sijreg_audit_take_head()``),
stamps the time, hashes the entry exactly as ``audit.entry_hash`` does (the caller
sends its canonical JSON without the id and time) and inserts it; only the commit
is left under the lock.
"""

from __future__ import annotations

from alembic import op

revision = "0015_audit_append"
down_revision = "0014_idempotency_rls"
branch_labels = None
depends_on = None

_ARGUMENTS = (
    "lock_key bigint, bulk_key bigint, wait text, genesis text, lead text, tail text, "
    "p_user_id integer, p_site_id integer, p_action text, p_table_name text, "
    "p_record_id integer, p_old_values text, p_new_values text, p_reason text, "
    "p_record_hash text"
)


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(
        f"CREATE FUNCTION sijreg_audit_append({_ARGUMENTS}) RETURNS integer "
        "LANGUAGE plpgsql VOLATILE SET search_path FROM CURRENT AS $$ "
        "DECLARE last_id integer; prev text; moment timestamptz; body text; new_id integer; "
        "BEGIN "
        "IF NOT pg_try_advisory_xact_lock_shared(bulk_key) THEN "
        "RAISE EXCEPTION 'the audit trail is busy (a large import is being written)' "
        "USING ERRCODE = '55P03'; "
        "END IF; "
        "SELECT h.id, h.entry_hash INTO last_id, prev FROM sijreg_audit_take_head(lock_key, wait) h; "
        "new_id := coalesce(last_id, 0) + 1; "
        "prev := coalesce(prev, genesis); "
        "moment := clock_timestamp(); "
        'body := lead || \'"at":"\' '
        "|| to_char(moment AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US') "
        "|| '\",\"id\":' || new_id || ',' || tail; "
        "INSERT INTO audit_log (id, at, user_id, site_id, action, table_name, record_id, "
        "old_values, new_values, reason, record_hash, prev_hash, entry_hash) "
        "VALUES (new_id, moment, p_user_id, p_site_id, p_action, p_table_name, p_record_id, "
        "p_old_values, p_new_values, p_reason, p_record_hash, prev, "
        "encode(sha256(convert_to(prev || E'\\n' || body, 'UTF8')), 'hex')); "
        "RETURN new_id; "
        "END $$"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(f"DROP FUNCTION sijreg_audit_append({_ARGUMENTS})")
