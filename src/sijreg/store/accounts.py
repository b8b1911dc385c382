"""Accounts, passwords, sessions, API tokens and sign-in throttling.

Secrets (session ids, tokens) are random and stored only as SHA-256 hashes, so a
copy of the database lets nobody sign in; passwords are argon2id hashes.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cache
from importlib.resources import files
from typing import Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from zxcvbn import zxcvbn

from sijreg.store import audit, schema
from sijreg.store.roles import Role as Role  # re-exported: where the server takes it from

MIN_PASSWORD_LENGTH = 12
USERNAME_PATTERN = r"[a-z0-9][a-z0-9._-]{2,63}"
TOKEN_PREFIX = "sijreg_"

_hasher = PasswordHasher()


class AccountError(ValueError):
    """A refused account change; the message says why, for a person."""


@dataclass(frozen=True)
class Actor:
    """Who is acting: the signed-in user, or the user an API token speaks for."""

    user_id: int
    role: Role
    site_id: int | None
    printed_name: str


def now() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored timestamp as an aware UTC datetime (SQLite hands back naive UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@cache
def common_passwords() -> frozenset[str]:
    """The shipped list of common passwords (lower-cased)."""
    text = files("sijreg.store").joinpath("data/common_passwords.txt").read_text("utf-8")
    return frozenset(
        line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


def check_password(password: str, username: str) -> None:
    """Length and guessability rules only (NIST SP 800-63B): no composition rules."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")
    lowered = password.lower()
    if lowered in common_passwords() or len(set(lowered)) < 4 or _guessable(password, username):
        raise AccountError("this password is too common; choose another")
    if username.lower() in lowered:
        raise AccountError("the password must not contain the user name")


GUESSES_LOG10 = 8
"""zxcvbn's estimate of the guesses a password needs must reach 10**8 (its score 3)."""


def _guessable(password: str, username: str) -> bool:
    """Too easy to guess by zxcvbn (Dropbox's estimator: 30,000 common passwords, words, names,
    keyboard walks, dates, repeats), with the user name as a word an attacker knows."""
    estimate = zxcvbn(password[:100], user_inputs=[username])
    return float(estimate["guesses_log10"]) < GUESSES_LOG10


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def password_matches(stored_hash: str | None, password: str) -> bool:
    """Verify in constant work: an unknown user costs the same as a wrong password."""
    try:
        return _hasher.verify(stored_hash or _dummy_hash(), password) and stored_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def find_site(conn: sa.Connection, site_code: str) -> int | None:
    return conn.execute(
        sa.select(schema.site.c.id).where(schema.site.c.site_code == site_code)
    ).scalar_one_or_none()


def add_user(
    conn: sa.Connection,
    username: str,
    printed_name: str,
    role: Role,
    password: str,
    site_code: str | None = None,
    by: int | None = None,
    monitors: Sequence[str] | None = None,
) -> int:
    """Create a user (site roles need an existing site); audited as a permission change.

    ``monitors`` makes a monitor of several sites (their codes; empty: every site) in
    place of one ``site_code``.
    """
    if not re.fullmatch(USERNAME_PATTERN, username):
        raise AccountError(
            "a user name is 3-64 lower-case letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if not printed_name.strip() or len(printed_name) > 120:
        raise AccountError("the printed name is required (at most 120 characters)")
    if monitors is not None and (role is not Role.MONITOR or site_code):
        raise AccountError("only a monitor covers several sites, and then without --site")
    covered = [_site_for_role(conn, role, code) for code in monitors or []]
    site_id = None if monitors is not None else _site_for_role(conn, role, site_code)
    check_password(password, username)
    if conn.execute(
        sa.select(schema.app_user.c.id).where(schema.app_user.c.username == username)
    ).first():
        raise AccountError("that user name is taken")
    user_id = int(
        conn.execute(
            sa.insert(schema.app_user)
            .values(
                username=username,
                printed_name=printed_name.strip(),
                role=str(role),
                site_id=site_id,
                password_hash=hash_password(password),
                disabled=False,
                created_at=now(),
            )
            .returning(schema.app_user.c.id)
        ).scalar_one()
    )
    _audit_permission(conn, by, user_id, None, {"role": str(role), "site_id": site_id})
    m = schema.monitor_site
    for covers in (covered or [None]) if monitors is not None else []:
        row_id = conn.execute(
            sa.insert(m).values(user_id=user_id, site_id=covers).returning(m.c.id)
        ).scalar_one()
        _audit_row(conn, by, m, row_id, None, {"user_id": user_id, "site_id": covers})
    return user_id


def monitored_sites(conn: sa.Connection, user: int) -> list[tuple[int, str]]:
    """The (id, code) of the sites a monitor of several sites covers, by code; [] for
    every other user."""
    m, s = schema.monitor_site, schema.site
    covered = list(conn.execute(sa.select(m.c.site_id).where(m.c.user_id == user)).scalars())
    if not covered:
        return []
    query = sa.select(s.c.id, s.c.site_code).order_by(s.c.site_code)
    if None not in covered:
        query = query.where(s.c.id.in_(covered))
    return [(int(i), str(code)) for i, code in conn.execute(query).all()]


def _site_for_role(conn: sa.Connection, role: Role, site_code: str | None) -> int | None:
    if not role.at_site:
        if site_code:
            raise AccountError(f"the {role} role is not bound to a site")
        return None
    if not site_code:
        raise AccountError(f"the {role} role needs a site")
    site_id = find_site(conn, site_code)
    if site_id is None:
        raise AccountError(f"there is no site {site_code!r}")
    return site_id


def _audit_permission(
    conn: sa.Connection,
    by: int | None,
    user_id: int,
    old: dict[str, Any] | None,
    new: dict[str, Any],
) -> None:
    _audit_row(conn, by, schema.app_user, user_id, old, new)


def _audit_row(
    conn: sa.Connection,
    by: int | None,
    table: sa.Table,
    row_id: int,
    old: dict[str, Any] | None,
    new: dict[str, Any],
) -> None:
    """A permission change, with the changed row's hash (so verification sees direct edits)."""
    audit.append(
        conn,
        audit.Entry(
            audit.Action.PERMISSION_CHANGE,
            user_id=by,
            table_name=table.name,
            record_id=row_id,
            old_values=old,
            new_values=new,
            record_hash=audit.stored_hash(conn, table, row_id),
        ),
    )


def user_id(conn: sa.Connection, username: str) -> int:
    found = conn.execute(
        sa.select(schema.app_user.c.id).where(schema.app_user.c.username == username)
    ).scalar_one_or_none()
    if found is None:
        raise AccountError(f"there is no user {username!r}")
    return int(found)


def list_users(conn: sa.Connection) -> list[sa.RowMapping]:
    u, s = schema.app_user, schema.site
    return list(
        conn.execute(
            sa.select(u.c.id, u.c.username, u.c.printed_name, u.c.role, u.c.disabled, s.c.site_code)
            .select_from(u.outerjoin(s, s.c.id == u.c.site_id))
            .order_by(u.c.username)
        ).mappings()
    )


def change_user(
    conn: sa.Connection,
    target: int,
    *,
    role: Role | None = None,
    site_code: str | None = None,
    disabled: bool | None = None,
    by: int | None = None,
) -> None:
    """Change a user's role, site or disabled flag; ends their sessions and tokens' use."""
    u = schema.app_user
    old = conn.execute(
        sa.select(u.c.role, u.c.site_id, u.c.disabled).where(u.c.id == target)
    ).first()
    if old is None:
        raise AccountError("there is no such user")
    new: dict[str, Any] = {"role": old.role, "site_id": old.site_id, "disabled": old.disabled}
    if role is not None:
        new["role"] = str(role)
        new["site_id"] = _site_for_role(conn, role, site_code)
    if disabled is not None:
        new["disabled"] = disabled
    if new == dict(old._mapping):
        return
    conn.execute(sa.update(u).where(u.c.id == target).values(**new))
    if role is not None:  # a new role comes with its one site: no monitored sites stay
        _end_coverage(conn, target, by)
    conn.execute(sa.delete(schema.app_session).where(schema.app_session.c.user_id == target))
    if new["role"] != old.role or new["site_id"] != old.site_id:
        conn.execute(
            sa.update(schema.api_token)
            .where(schema.api_token.c.user_id == target, schema.api_token.c.revoked_at.is_(None))
            .values(revoked_at=now())
        )
    _audit_permission(conn, by, target, dict(old._mapping), new)


def _end_coverage(conn: sa.Connection, target: int, by: int | None) -> None:
    """The monitored sites of ``target`` removed, each removal audited."""
    m = schema.monitor_site
    for row in conn.execute(sa.select(m).where(m.c.user_id == target)).mappings().all():
        conn.execute(sa.delete(m).where(m.c.id == row["id"]))
        audit.append(
            conn,
            audit.Entry(
                audit.Action.DELETE,
                user_id=by,
                table_name=m.name,
                record_id=row["id"],
                old_values={"user_id": row["user_id"], "site_id": row["site_id"]},
                reason="the user's role changed",
            ),
        )


def set_password(conn: sa.Connection, target: int, password: str, by: int | None = None) -> None:
    u = schema.app_user
    username = conn.execute(sa.select(u.c.username).where(u.c.id == target)).scalar_one()
    check_password(password, username)
    conn.execute(sa.update(u).where(u.c.id == target).values(password_hash=hash_password(password)))
    conn.execute(sa.delete(schema.app_session).where(schema.app_session.c.user_id == target))
    _audit_row(conn, by, u, target, None, {"password": "changed"})


def actor_for(conn: sa.Connection, target: int) -> Actor | None:
    """The actor of an enabled user."""
    u = schema.app_user
    row = conn.execute(
        sa.select(u.c.id, u.c.role, u.c.site_id, u.c.printed_name).where(
            u.c.id == target, u.c.disabled.is_(False)
        )
    ).first()
    return Actor(row.id, Role(row.role), row.site_id, row.printed_name) if row else None


def credentials(conn: sa.Connection, username: str) -> tuple[int | None, str | None]:
    """The id and password hash of an enabled user, (None, None) for anyone else."""
    u = schema.app_user
    row = conn.execute(
        sa.select(u.c.id, u.c.password_hash).where(
            u.c.username == username, u.c.disabled.is_(False)
        )
    ).first()
    return (row.id, row.password_hash) if row else (None, None)


# Sessions ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Timeouts:
    idle: timedelta = timedelta(minutes=30)
    absolute: timedelta = timedelta(hours=12)


def start_session(conn: sa.Connection, user: int | None) -> str:
    """A new signed-in session; returns the secret id for the cookie."""
    raw = secrets.token_urlsafe(32)
    moment = now()
    conn.execute(
        sa.insert(schema.app_session).values(
            id_hash=digest(raw), user_id=user, created_at=moment, last_seen_at=moment
        )
    )
    return raw


def end_session(conn: sa.Connection, raw: str) -> None:
    conn.execute(sa.delete(schema.app_session).where(schema.app_session.c.id_hash == digest(raw)))


def resume_session(conn: sa.Connection, raw: str, timeouts: Timeouts) -> tuple[bool, int | None]:
    """(alive, user id) of the session; an expired one is deleted."""
    s = schema.app_session
    row = conn.execute(sa.select(s).where(s.c.id_hash == digest(raw))).first()
    if row is None:
        return False, None
    moment = now()
    if (
        moment - as_utc(row.last_seen_at) > timeouts.idle
        or moment - as_utc(row.created_at) > timeouts.absolute
    ):
        conn.execute(sa.delete(s).where(s.c.id_hash == row.id_hash))
        return False, None
    conn.execute(sa.update(s).where(s.c.id_hash == row.id_hash).values(last_seen_at=moment))
    return True, row.user_id


def purge_sessions(conn: sa.Connection, timeouts: Timeouts) -> None:
    s = schema.app_session
    moment = now()
    conn.execute(
        sa.delete(s).where(
            sa.or_(
                s.c.last_seen_at < moment - timeouts.idle,
                s.c.created_at < moment - timeouts.absolute,
            )
        )
    )


def csrf_token(raw_session: str) -> str:
    """The synchronizer token of a session: derived from its secret id, useless elsewhere."""
    return hmac.new(raw_session.encode(), b"sijreg-csrf", hashlib.sha256).hexdigest()


def csrf_ok(raw_session: str, submitted: str) -> bool:
    return hmac.compare_digest(csrf_token(raw_session), submitted)


# API tokens -------------------------------------------------------------------------------


def issue_token(conn: sa.Connection, target: int, days: int, label: str) -> tuple[int, str]:
    """A token bound to the user's current role and site; returns (id, the secret once)."""
    if not 1 <= days <= 366:
        raise AccountError("a token lives 1 to 366 days")
    actor = actor_for(conn, target)
    if actor is None:
        raise AccountError("the user is disabled")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    moment = now()
    token_id = conn.execute(
        sa.insert(schema.api_token)
        .values(
            token_hash=digest(raw),
            user_id=target,
            site_id=actor.site_id,
            role=str(actor.role),
            label=label[:80],
            created_at=moment,
            expires_at=moment + timedelta(days=days),
        )
        .returning(schema.api_token.c.id)
    ).scalar_one()
    _audit_row(
        conn,
        target,
        schema.api_token,
        token_id,
        None,
        {"user_id": target, "role": str(actor.role), "site_id": actor.site_id},
    )
    return int(token_id), raw


def revoke_token(conn: sa.Connection, token_id: int, by: int | None = None) -> None:
    t = schema.api_token
    owner = conn.execute(
        sa.update(t)
        .where(t.c.id == token_id, t.c.revoked_at.is_(None))
        .values(revoked_at=now())
        .returning(t.c.user_id)
    ).scalar_one_or_none()
    if owner is None:
        raise AccountError(f"there is no active token {token_id}")
    _audit_row(conn, by, t, token_id, {"user_id": owner}, {"user_id": owner, "revoked": True})


def token_actor(conn: sa.Connection, raw: str) -> Actor | None:
    """The actor of a live token whose user still holds the role and site it was issued for.

    One statement (every API request asks it first): the token joined with its enabled user.
    """
    row = conn.execute(_TOKEN_ACTOR, {"token_hash": digest(raw), "now": now()}).first()
    return Actor(row.id, Role(row.role), row.site_id, row.printed_name) if row else None


_TOKEN_ACTOR = (
    sa.select(
        schema.app_user.c.id,
        schema.app_user.c.role,
        schema.app_user.c.site_id,
        schema.app_user.c.printed_name,
    )
    .join_from(
        schema.api_token, schema.app_user, schema.app_user.c.id == schema.api_token.c.user_id
    )
    .where(
        schema.api_token.c.token_hash == sa.bindparam("token_hash"),
        schema.api_token.c.revoked_at.is_(None),
        schema.api_token.c.expires_at > sa.bindparam("now"),
        schema.app_user.c.disabled.is_(False),
        schema.app_user.c.role == schema.api_token.c.role,
        schema.app_user.c.site_id.is_not_distinct_from(schema.api_token.c.site_id),
    )
)
"""Built once: building a statement costs the server more than running it."""


# Throttling failed sign-ins ----------------------------------------------------------------

FREE_FAILURES = (3, 20)
"""Failures allowed before waiting: per account from one client address, and per client
address (shared by a clinic's NAT)."""
MAX_WAIT = timedelta(minutes=15)


def throttle_keys(username: str, client: str) -> tuple[str, str]:
    """(account-and-client key, client key), hashed so the table names neither user names nor
    addresses. Keying the account with the address lets nobody lock others out of it."""
    return digest("account:" + username.lower() + "\nclient:" + client), digest("client:" + client)


def _hold(conn: sa.Connection, keys: tuple[str, ...]) -> None:
    """Serialise sign-in attempts on the same keys until the transaction ends, so that each
    attempt sees the failures counted by those before it (check and count are atomic)."""
    if conn.dialect.name == "postgresql":
        for key in sorted(keys):  # one order everywhere: no deadlock
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": int(key[:15], 16)})
    else:
        conn.execute(sa.delete(schema.sign_in_throttle).where(sa.false()))  # the write lock


def _wait(failures: int, free: int) -> timedelta:
    if failures < free:
        return timedelta(0)
    return min(MAX_WAIT, timedelta(seconds=2 ** (failures - free + 1)))


def throttled(conn: sa.Connection, keys: tuple[str, str]) -> timedelta:
    """How long sign-in must still wait for this account and client (zero: go ahead).

    Call it in the transaction that checks the password and records the outcome: other
    attempts on the same keys wait until it ends.
    """
    _hold(conn, keys)
    t = schema.sign_in_throttle
    free = dict(zip(keys, FREE_FAILURES, strict=True))
    moment = now()
    waits = [
        as_utc(row.last_failure_at) + _wait(row.failures, free[row.key_hash]) - moment
        for row in conn.execute(sa.select(t).where(t.c.key_hash.in_(keys)))
    ]
    return max([timedelta(0), *waits])


def record_failure(conn: sa.Connection, keys: tuple[str, ...]) -> None:
    t = schema.sign_in_throttle
    moment = now()
    for key in keys:
        updated = conn.execute(
            sa.update(t)
            .where(t.c.key_hash == key)
            .values(failures=t.c.failures + 1, last_failure_at=moment)
        ).rowcount
        if not updated:
            conn.execute(sa.insert(t).values(key_hash=key, failures=1, last_failure_at=moment))


def clear_failures(conn: sa.Connection, key: str) -> None:
    conn.execute(
        sa.delete(schema.sign_in_throttle).where(schema.sign_in_throttle.c.key_hash == key)
    )
