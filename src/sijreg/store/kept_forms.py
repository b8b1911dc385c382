"""Forms posted after their session ended, kept until their user signs in again.

The long screening form can outlast the idle time-out. Instead of losing what was
typed, the server keeps the posted values (never a password or CSRF token) under a
random key whose hash is stored, tied to the user of the ended session when it is
still known; signing in again returns to the form, filled. A kept form lives
:data:`KEEP_FOR` at most and is handed back once.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import timedelta

import sqlalchemy as sa

from sijreg.store import schema
from sijreg.store.accounts import as_utc, digest, now

KEEP_FOR = timedelta(hours=12)
NEVER_KEPT = ("password", "csrf_token")


def keep(conn: sa.Connection, session_raw: str | None, path: str, values: Mapping[str, str]) -> str:
    """Keep ``values`` posted to ``path``; returns the secret key for the browser's cookie."""
    k, s = schema.kept_form, schema.app_session
    conn.execute(sa.delete(k).where(k.c.created_at < now() - KEEP_FOR))
    user = None
    if session_raw is not None:  # the ended session's row may still name its user
        user = conn.execute(
            sa.select(s.c.user_id).where(s.c.id_hash == digest(session_raw))
        ).scalar_one_or_none()
    raw = secrets.token_urlsafe(32)
    kept = {name: value for name, value in values.items() if name not in NEVER_KEPT}
    conn.execute(
        sa.insert(k).values(
            key_hash=digest(raw),
            user_id=user,
            path=path[:200],
            values_json=json.dumps(kept),
            created_at=now(),
        )
    )
    return raw


def _row(conn: sa.Connection, raw: str, user_id: int) -> sa.RowMapping | None:
    k = schema.kept_form
    row = conn.execute(sa.select(k).where(k.c.key_hash == digest(raw))).mappings().first()
    if row is None or row["user_id"] not in (None, user_id):
        return None
    if now() - as_utc(row["created_at"]) > KEEP_FOR:
        return None
    return row


def waiting(conn: sa.Connection, raw: str, user_id: int) -> str | None:
    """The path of the form kept under ``raw`` for this user, if any."""
    row = _row(conn, raw, user_id)
    return None if row is None else str(row["path"])


def take(conn: sa.Connection, raw: str, user_id: int, path: str) -> dict[str, str] | None:
    """The values kept under ``raw`` for this user and form, removed as they are handed back."""
    row = _row(conn, raw, user_id)
    if row is None or row["path"] != path:
        return None
    conn.execute(sa.delete(schema.kept_form).where(schema.kept_form.c.key_hash == row["key_hash"]))
    values: dict[str, str] = json.loads(row["values_json"])
    return values
