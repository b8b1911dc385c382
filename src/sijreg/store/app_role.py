"""The PostgreSQL role the server connects as: owns nothing, cannot bypass row-level security.

Tables are owned by the role that ran the migrations; row-level security does not
apply to an owner, so the server must use another role. This one may append to the
audit log but neither update nor delete it.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from sijreg.store import schema

ROLE_PATTERN = r"[a-z_][a-z0-9_]{0,62}"

_GRANTS: dict[str, str] = {
    **{t.name: "SELECT, INSERT, UPDATE, DELETE" for t in schema.PER_PATIENT},
    **{t.name: "SELECT, INSERT, UPDATE, DELETE" for t in schema.FOLLOW_UP},
    "site": "SELECT, INSERT, UPDATE",
    "app_user": "SELECT, INSERT, UPDATE",
    "monitor_site": "SELECT",  # only the owner (sijreg user add) sets whom a monitor covers
    "app_session": "SELECT, INSERT, UPDATE, DELETE",
    "kept_form": "SELECT, INSERT, DELETE",
    "idempotency_key": "SELECT, INSERT, UPDATE, DELETE",
    "api_token": "SELECT, INSERT, UPDATE",
    "sign_in_throttle": "SELECT, INSERT, UPDATE, DELETE",
    "record_signature": "SELECT, INSERT, UPDATE",
    "screening": "SELECT, INSERT, UPDATE",
    "screening_result": "SELECT, INSERT",
    "data_query": "SELECT, INSERT, UPDATE",
    "registry_setting": "SELECT",
    "audit_log": "SELECT, INSERT",
    "alembic_version": "SELECT",
}


class RoleError(ValueError):
    """The role cannot serve as the application role; the message says why."""


def grant_app_role(conn: sa.Connection, role: str, password: str | None = None) -> None:
    """Create ``role`` if missing (LOGIN, NOSUPERUSER, NOBYPASSRLS); grant it the app's rights."""
    if conn.dialect.name != "postgresql":
        raise RoleError("application roles exist on PostgreSQL only; SQLite has no roles")
    if not re.fullmatch(ROLE_PATTERN, role):
        raise RoleError("a role name is lower-case letters, digits and '_'")
    found = conn.execute(
        sa.text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": role}
    ).first()
    if found is None:
        conn.execute(sa.text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEROLE"))
    elif found.rolsuper or found.rolbypassrls:
        raise RoleError(f"role {role} is a superuser or bypasses row-level security")
    if password:
        conn.execute(sa.text(f"ALTER ROLE {role} PASSWORD {_literal(conn, password)}"))
    owned = conn.execute(
        sa.text(
            "SELECT count(*) FROM pg_tables WHERE schemaname = current_schema() AND tableowner = :r"
        ),
        {"r": role},
    ).scalar_one()
    if owned:
        raise RoleError(f"role {role} owns tables, so row-level security would not apply to it")
    conn.execute(sa.text(f"GRANT USAGE ON SCHEMA {_schema(conn)} TO {role}"))
    for name, rights in _GRANTS.items():
        conn.execute(sa.text(f"GRANT {rights} ON {name} TO {role}"))
    conn.execute(
        sa.text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {_schema(conn)} TO {role}")
    )


def _schema(conn: sa.Connection) -> str:
    return str(conn.execute(sa.text("SELECT quote_ident(current_schema())")).scalar_one())


def _literal(conn: sa.Connection, text: str) -> str:
    return str(conn.execute(sa.text("SELECT quote_literal(:t)"), {"t": text}).scalar_one())
