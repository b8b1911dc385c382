"""Idempotency keys: a retried API write returns its first answer instead of writing again.

A key is claimed (a row with no answer yet) in its own short transaction before the write
runs, so two concurrent requests with one key cannot both write: the second finds the claim
and is told to retry. The answer of a successful (2xx) write is then stored; any other
answer releases the claim, so a corrected retry may succeed. Keys are per user, hashed, and
live :data:`KEEP_FOR`. A claim whose request never finished (a crash) is taken over after
:data:`STALE_CLAIM`; the write and the stored answer are two transactions, so a crash
between them can still let a retry after that time write again.

A stored answer can hold patient data: each key is stored with its user's site and, on
PostgreSQL, read and written under that site's row-level security (store/rls.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from sijreg.store import schema
from sijreg.store.accounts import Actor, as_utc, digest, now
from sijreg.store.scope import set_database_scope

KEEP_FOR = timedelta(hours=24)
STALE_CLAIM = timedelta(minutes=1)


@dataclass(frozen=True)
class Stored:
    """What a key already holds: its request's fingerprint and answer (None while running)."""

    fingerprint: str
    status: int | None
    body: str | None


def _mine(conn: sa.Connection, actor: Actor, key: str) -> sa.ColumnElement[bool]:
    set_database_scope(conn, actor.site_id)
    k = schema.idempotency_key
    return sa.and_(k.c.user_id == actor.user_id, k.c.key_hash == digest(key))


def claim(conn: sa.Connection, actor: Actor, key: str, fingerprint: str) -> Stored | None:
    """Claim ``key`` for a new request (None), or what an earlier request holds."""
    k = schema.idempotency_key
    mine = _mine(conn, actor, key)
    moment = now()
    conn.execute(sa.delete(k).where(k.c.created_at < moment - KEEP_FOR))
    row = conn.execute(sa.select(k).where(mine)).first()
    if row is not None and (
        row.status is not None or moment - as_utc(row.created_at) <= STALE_CLAIM
    ):
        return Stored(row.fingerprint, row.status, row.body)
    if row is not None:  # a claim left by a request that never finished
        conn.execute(sa.delete(k).where(mine))
    conn.execute(
        sa.insert(k).values(
            user_id=actor.user_id,
            key_hash=digest(key),
            site_id=actor.site_id,
            fingerprint=fingerprint,
            created_at=moment,
        )
    )
    return None


def settle(conn: sa.Connection, actor: Actor, key: str, status: int, body: str) -> None:
    """Store a successful answer under the key; any other answer releases the claim."""
    k = schema.idempotency_key
    mine = _mine(conn, actor, key)
    if 200 <= status < 300:
        conn.execute(sa.update(k).where(mine).values(status=status, body=body))
    else:
        conn.execute(sa.delete(k).where(mine))
