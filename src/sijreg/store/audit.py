"""The append-only, hash-chained audit trail, and its verification.

Every entry's hash covers its own columns and the previous entry's hash, so an
entry altered, removed or moved breaks the chain from that point on. Entries that
create or update an audited row (registry records, the screening log and its
decisions, accounts, API tokens, signatures, data queries) also carry the hash of the row's
state right after the change (:func:`record_hash`). Verification works both ways:
every audited row must match its newest entry, and every row an entry names must
still be there unless a deletion entry says it was deleted. Checkpoints
(:mod:`sijreg.store.checkpoints`) anchor the head outside the database. See
docs/server.md, "Audit trail".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import StrEnum
from functools import cache
from itertools import islice
from typing import Any, NamedTuple, get_args, get_type_hints

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.store import schema
from sijreg.store.database import WRITER_WAIT_SECONDS

GENESIS = "0" * 64
"""The "previous hash" of the first entry."""

_PG_LOCK_KEY = 7_301_203
"""The advisory lock that serialises appends on PostgreSQL (one chain, one writer)."""

_PG_BULK_KEY = 7_301_204
"""Held (exclusively) by a bulk save while it takes and holds the chain on PostgreSQL."""

LOCK_WAIT_SECONDS = WRITER_WAIT_SECONDS
"""How long an append waits for the chain on PostgreSQL before giving up with
:class:`ChainBusy`: the same limit a SQLite writer waits for its write lock."""


class ChainBusy(Exception):
    """Another transaction held the audit chain for longer than :data:`LOCK_WAIT_SECONDS`,
    or a bulk save (a large import publishing its entries) holds it: nothing was written;
    retry shortly."""


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"
    LOCK = "lock"
    SIGN = "sign"
    EXPORT = "export"
    SIGN_IN = "sign_in"
    PERMISSION_CHANGE = "permission_change"
    ADOPT = "adopt"
    """A row found without any entry, taken into the trail as it is (``sijreg audit adopt``)."""


def plain(name: str, value: Any) -> Any:
    """A JSON value for a stored value; decimals keep their field's scale on every database."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, Decimal):
        return f"{value:.{_decimals(name)}f}"
    if isinstance(value, datetime):
        return utc_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def utc_text(moment: datetime) -> str:
    """A timestamp as UTC text; naive values (SQLite) are UTC already."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="microseconds")


@cache
def _decimals(name: str) -> int:
    return dd.field(name).decimals


@cache
def _layout(table: sa.Table) -> tuple[tuple[str, ...], tuple[str, ...]]:
    keys = tuple(c for c in ("id", "site_id", "patient_id", "version") if c in table.c)
    return keys, tuple(f.name for f in dd.form(table.name).fields)


def record_state(table: sa.Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    """The audited state of a registry row: keys, the form's fields and the version."""
    keys, fields = _layout(table)
    return {**{k: row[k] for k in keys}, **{f: plain(f, row[f]) for f in fields}}


OWN_COLUMNS: dict[str, tuple[str, ...]] = {
    "registry_setting": ("id", "name", "value"),
    "app_user": ("id", "username", "printed_name", "role", "site_id", "password_hash", "disabled"),
    "api_token": ("id", "token_hash", "user_id", "site_id", "role", "expires_at", "revoked_at"),
    "monitor_site": ("id", "user_id", "site_id"),
    "record_signature": (
        "id",
        "site_id",
        "patient_id",
        "user_id",
        "printed_name",
        "meaning",
        "signed_at",
        "record_hash",
        "unlocked_at",
    ),
    "screening_result": (
        "id",
        "screening_id",
        "screening_version",
        "protocol_id",
        "protocol_version",
        "protocol_sha256",
        "decision",
        "criteria",
        "judged_at",
    ),
    "data_query": (
        "id",
        "site_id",
        "patient_id",
        "form",
        "record_id",
        "field_name",
        "state",
        "message",
        "answer",
        "raised_by",
        "version",
    ),
}
"""The audited columns of the tables that are not forms of the data dictionary."""

AUDITED: tuple[sa.Table, ...] = (
    *schema.PER_PATIENT,
    schema.screening,
    *(schema.metadata.tables[name] for name in OWN_COLUMNS),
)
"""Every table whose rows verification compares with the trail (sessions and sign-in
throttling are short-lived and not audited; sites are created unaudited)."""


def row_state(table: sa.Table, row: Mapping[Any, Any]) -> dict[str, Any]:
    """The audited state of any audited row."""
    columns = OWN_COLUMNS.get(table.name)
    if columns is None:
        return record_state(table, row)
    return {c: _plain_column(row[c]) for c in columns}


def _plain_column(value: Any) -> Any:
    if isinstance(value, datetime):
        return utc_text(value)
    return value


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _json(values: Mapping[Any, Any] | None) -> str | None:
    if values is None:
        return None
    return json.dumps(values, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def record_hash(table: sa.Table, row: Mapping[Any, Any]) -> str:
    """The hash of a row's audited state."""
    return _digest(_json(row_state(table, row)) or "")


def stored_hash(conn: sa.Connection, table: sa.Table, row_id: int) -> str:
    """The hash of a stored row's audited state, read back as the database holds it."""
    row = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()
    return record_hash(table, row)


@dataclass(frozen=True)
class Entry:
    """What happened, to which record, by whom and why."""

    action: Action
    user_id: int | None = None
    site_id: int | None = None
    table_name: str | None = None
    record_id: int | None = None
    old_values: Mapping[Any, Any] | None = None
    new_values: Mapping[Any, Any] | None = None
    reason: str | None = None
    record_hash: str | None = None


_CHAINED = (
    "id",
    "at",
    "user_id",
    "site_id",
    "action",
    "table_name",
    "record_id",
    "old_values",
    "new_values",
    "reason",
    "record_hash",
)


def entry_hash(prev_hash: str, row: Mapping[Any, Any]) -> str:
    """The hash of a stored entry, chained to the previous one."""
    body = {k: utc_text(row[k]) if k == "at" else row[k] for k in _CHAINED}
    return _digest(prev_hash + "\n" + (_json(body) or ""))


def _take_head(conn: sa.Connection, bulk: bool = False) -> tuple[int, str] | None:
    """Take the chain's write lock, then read its head: two appends never chain to the same entry.

    On PostgreSQL a transaction-scoped advisory lock and the head in one round trip
    (``sijreg_audit_take_head()``), waited for in the server (a queue: the next writer
    goes as soon as the holder commits, no polling) for at most :data:`LOCK_WAIT_SECONDS`
    (:class:`ChainBusy`), as SQLite's busy timeout bounds it there: a request never hangs
    behind a long transaction holding the chain; behind a bulk save (``bulk``, an import:
    :func:`append_many`) it does not wait at all. The lock is held from the first append
    of a transaction, the last step of its work, to its commit.
    """
    if conn.dialect.name != "postgresql":
        conn.execute(_SQLITE_WRITE_LOCK)
        return head(conn)
    if bulk:  # saves arriving meanwhile are told busy at once (a shared lock they cannot get)
        conn.execute(_TAKE_BULK, {"k": _PG_BULK_KEY})
    elif not conn.execute(_NO_BULK, {"k": _PG_BULK_KEY}).scalar_one():
        raise ChainBusy(_BUSY)
    with _busy_chain():
        last = conn.execute(_TAKE_HEAD, {"k": _PG_LOCK_KEY, "wait": _lock_wait()}).first()
    return (int(last.id), str(last.entry_hash)) if last else None


_BUSY = "the audit trail is busy (a large import is being written)"


def _lock_wait() -> str:
    """:data:`LOCK_WAIT_SECONDS` as PostgreSQL's ``lock_timeout`` takes it."""
    return f"{int(LOCK_WAIT_SECONDS * 1000)}ms"


@contextmanager
def _busy_chain() -> Iterator[None]:
    """PostgreSQL's "lock not available" (the wait for the chain ran out, or a bulk save
    holds it) as :class:`ChainBusy`."""
    try:
        yield
    except sa.exc.OperationalError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            raise ChainBusy(_BUSY) from None
        raise


_SQLITE_WRITE_LOCK = sa.delete(schema.sign_in_throttle).where(sa.false())
"""A write that changes nothing: it takes SQLite's write lock."""
_TAKE_BULK = sa.text("SELECT pg_advisory_xact_lock(:k)")
_NO_BULK = sa.text("SELECT pg_try_advisory_xact_lock_shared(:k)")
_TAKE_HEAD = sa.text("SELECT id, entry_hash FROM sijreg_audit_take_head(:k, :wait)")
_HEAD = sa.text("SELECT id, entry_hash FROM sijreg_audit_head()")
_SQLITE_HEAD = (
    sa.select(schema.audit_log.c.id, schema.audit_log.c.entry_hash)
    .order_by(schema.audit_log.c.id.desc())
    .limit(1)
)
_INSERT = sa.insert(schema.audit_log)
LOCK_NOT_AVAILABLE = "55P03"
"""PostgreSQL's SQLSTATE for a lock wait that ran out (``lock_timeout``)."""


def head(conn: sa.Connection) -> tuple[int, str] | None:
    """The newest entry's id and hash (None for an empty trail): every change sijreg makes
    appends an entry, so an unchanged head means an unchanged registry."""
    postgres = conn.dialect.name == "postgresql"  # row-level security hides other sites' entries
    last = conn.execute(_HEAD if postgres else _SQLITE_HEAD).first()
    return (int(last.id), str(last.entry_hash)) if last else None


def append(conn: sa.Connection, entry: Entry) -> int:
    """Append ``entry`` to the chain in the caller's transaction; returns its id.

    On PostgreSQL in one round trip (``sijreg_audit_append()``): the chain's lock is then
    held from that statement to the commit, and by nothing the server does in between.
    """
    if conn.dialect.name == "postgresql":
        return _append_on_postgresql(conn, entry)
    last = _take_head(conn)
    row: dict[str, Any] = {
        "id": last[0] + 1 if last else 1,
        "at": datetime.now(UTC),
        "user_id": entry.user_id,
        "site_id": entry.site_id,
        "action": str(entry.action),
        "table_name": entry.table_name,
        "record_id": entry.record_id,
        "old_values": _json(entry.old_values),
        "new_values": _json(entry.new_values),
        "reason": entry.reason,
        "record_hash": entry.record_hash,
    }
    prev = last[1] if last else GENESIS
    conn.execute(_INSERT, {**row, "prev_hash": prev, "entry_hash": entry_hash(prev, row)})
    return int(row["id"])


_APPEND = sa.text(
    "SELECT sijreg_audit_append(:k, :bulk, :wait, :genesis, :lead, :tail, :user_id, "
    ":site_id, :action, :table_name, :record_id, :old_values, :new_values, :reason, "
    ":record_hash)"
)


def _append_on_postgresql(conn: sa.Connection, entry: Entry) -> int:
    """:func:`append` by the database: it takes the lock and the head, stamps the time and
    chains the entry, from its canonical JSON around the id and the time (``entry_hash``)."""
    staged = stage(entry)
    values = {
        **staged._asdict(),
        "k": _PG_LOCK_KEY,
        "bulk": _PG_BULK_KEY,
        "wait": _lock_wait(),
        "genesis": GENESIS,
        "lead": '{"action":' + json.dumps(staged.action) + ",",
    }
    with _busy_chain():
        return int(conn.execute(_APPEND, values).scalar_one())


class Staged(NamedTuple):
    """An entry serialised ahead of the chain lock: everything but its id, time and hashes.

    ``tail`` is the entry's canonical JSON from ``new_values`` on (the keys after
    ``id``), so that chaining under the lock only joins strings and hashes them. A plain
    tuple: a large save makes hundreds of thousands, some of them under the lock.
    """

    action: str
    site_id: int | None
    table_name: str | None
    record_id: int | None
    old_values: str | None
    new_values: str | None
    reason: str | None
    record_hash: str | None
    user_id: int | None
    tail: str


def stage(entry: Entry) -> Staged:
    """``entry`` serialised as :func:`append` would store it."""
    return _staged(
        str(entry.action),
        entry.site_id,
        entry.table_name,
        entry.record_id,
        _json(entry.old_values),
        _json(entry.new_values),
        entry.reason,
        entry.record_hash,
        entry.user_id,
    )


def stage_change(
    action: Action,
    table: sa.Table,
    old: Mapping[Any, Any] | None,
    new: Mapping[Any, Any] | None,
    reason: str | None,
    user_id: int | None = None,
) -> Staged:
    """A record's create, update or delete (``old`` and ``new`` are its stored rows),
    with the record hash of ``new``: its state is serialised once for both."""
    row = new if new is not None else old
    assert row is not None
    new_text = _json(record_state(table, new)) if new is not None else None
    return _staged(
        str(action),
        row["site_id"],
        table.name,
        row["id"],
        _json(record_state(table, old)) if old is not None else None,
        new_text,
        reason,
        _digest(new_text) if new_text is not None else None,
        user_id,
    )


def _staged(
    action: str,
    site_id: int | None,
    table_name: str | None,
    record_id: int | None,
    old_values: str | None,
    new_values: str | None,
    reason: str | None,
    record_hash: str | None,
    user_id: int | None,
) -> Staged:
    after_id = {
        "new_values": new_values,
        "old_values": old_values,
        "reason": reason,
        "record_hash": record_hash,
        "record_id": record_id,
        "site_id": site_id,
        "table_name": table_name,
        "user_id": user_id,
    }
    tail = (_json(after_id) or "")[1:]
    return Staged(
        action,
        site_id,
        table_name,
        record_id,
        old_values,
        new_values,
        reason,
        record_hash,
        user_id,
        tail,
    )


def append_many(
    conn: sa.Connection, entries: Iterable[Staged], batch: int = 5_000, *, bulk: bool = False
) -> None:
    """Append ``entries`` in order, chained exactly as :func:`append` one by one would
    (one time for all), with one lock, one read of the head and batched inserts.

    ``bulk`` (a large save's entries, on PostgreSQL): the chain is taken saying so, and
    a save that finds it taken is told "busy, retry" (:class:`ChainBusy`) at once
    instead of waiting: writing the entries of a 100,000-row import holds it for
    seconds, and entries chained to them cannot commit before them.
    """
    stream = iter(entries)
    rows = list(islice(stream, batch))
    if not rows:
        return
    last = _take_head(conn, bulk)
    next_id, prev = (last[0] + 1, last[1]) if last else (1, GENESIS)
    moment = datetime.now(UTC)
    lead = ',"at":' + json.dumps(utc_text(moment)) + ',"id":'
    write = _copier(conn) if conn.dialect.name == "postgresql" else _inserter(conn)
    while rows:
        chained: list[tuple[Any, ...]] = []
        for e in rows:
            body = '{"action":' + json.dumps(e.action) + lead + str(next_id) + "," + e.tail
            digest = _digest(prev + "\n" + body)
            chained.append(
                (
                    next_id,
                    moment,
                    e.user_id,
                    e.site_id,
                    e.action,
                    e.table_name,
                    e.record_id,
                    e.old_values,
                    e.new_values,
                    e.reason,
                    e.record_hash,
                    prev,
                    digest,
                )
            )
            prev, next_id = digest, next_id + 1
        write(chained)
        rows = list(islice(stream, batch))


_COLUMNS = (*_CHAINED, "prev_hash", "entry_hash")


def _inserter(conn: sa.Connection) -> Callable[[list[tuple[Any, ...]]], None]:
    insert = sa.insert(schema.audit_log)

    def write(rows: list[tuple[Any, ...]]) -> None:
        conn.execute(insert, [dict(zip(_COLUMNS, r, strict=True)) for r in rows])

    return write


def _copier(conn: sa.Connection) -> Callable[[list[tuple[Any, ...]]], None]:
    """PostgreSQL's COPY into the audit log, in the connection's transaction: the chain's
    lock is held while a large save's entries are written, so they go the fastest way."""
    statement = f"COPY audit_log ({', '.join(_COLUMNS)}) FROM STDIN"
    raw: Any = conn.connection.driver_connection

    def write(rows: list[tuple[Any, ...]]) -> None:
        with raw.cursor() as cursor, cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)

    return write


_held = sa.Table(
    "audit_held",
    sa.MetaData(),
    sa.Column("seq", sa.BigInteger, sa.Identity(), primary_key=True),
    *(
        sa.Column(name, sa.Integer if int in (kind, *get_args(kind)) else sa.Text)
        for name, kind in get_type_hints(Staged).items()
    ),
    prefixes=["TEMPORARY"],
    postgresql_on_commit="DROP",
)
"""Entries of a large save on PostgreSQL waiting for :func:`append_held`, in this
transaction only (dropped at its end)."""


def hold(conn: sa.Connection, entries: Sequence[Staged]) -> None:
    """Keep ``entries`` on the database until :func:`append_held` (PostgreSQL): a save of
    any size then needs bounded memory and takes the chain's lock only at its end."""
    if not entries:
        return
    _held.create(conn, checkfirst=True)
    conn.execute(sa.insert(_held), [e._asdict() for e in entries])


def append_held(conn: sa.Connection) -> None:
    """Append the entries :func:`hold` kept, in the order they were held, as a bulk save."""
    if not sa.inspect(conn).has_table(_held.name):
        return
    held = conn.execute(
        sa.select(*(_held.c[n] for n in Staged._fields))
        .order_by(_held.c.seq)
        .execution_options(yield_per=5_000)
    )
    append_many(conn, (Staged._make(row) for row in held), bulk=True)


@dataclass(frozen=True)
class Problem:
    """One finding of the verification, for a person."""

    entry_id: int | None
    message: str


@dataclass
class Verification:
    """The outcome of :func:`verify`."""

    entries: int = 0
    head: str = GENESIS
    chain: Problem | None = None
    records: list[Problem] = field(default_factory=list)
    unaudited: list[tuple[sa.Table, int]] = field(default_factory=list)
    """Rows without any entry (each also a problem in ``records``)."""

    @property
    def ok(self) -> bool:
        return self.chain is None and not self.records


def _entries(conn: sa.Connection) -> Iterator[sa.RowMapping]:
    log = schema.audit_log
    yield from conn.execute(sa.select(log).order_by(log.c.id)).mappings()


def verify(conn: sa.Connection) -> Verification:
    """Recompute the chain, then compare every audited record with its newest entry.

    The chain check stops at the first broken entry; records are compared only
    with an intact chain (a broken one would make every later record look edited).
    """
    result = Verification()
    prev_hash, prev_id = GENESIS, 0
    newest: dict[tuple[str, int], sa.RowMapping] = {}
    for row in _entries(conn):
        if row["id"] != prev_id + 1:
            result.chain = Problem(
                row["id"],
                f"entries {prev_id + 1} to {row['id'] - 1} are missing (removed)",
            )
            break
        if row["prev_hash"] != prev_hash:
            result.chain = Problem(
                row["id"],
                f"entry {row['id']} does not follow entry {prev_id}: removed or reordered",
            )
            break
        if entry_hash(prev_hash, row) != row["entry_hash"]:
            result.chain = Problem(row["id"], f"entry {row['id']} was altered")
            break
        prev_hash, prev_id = row["entry_hash"], row["id"]
        result.entries += 1
        if row["table_name"] in _AUDITED_NAMES and (
            row["record_hash"] is not None or row["action"] == Action.DELETE
        ):
            newest[(row["table_name"], row["record_id"])] = row
    result.head = prev_hash
    if result.chain is None:
        _check_records(conn, newest, result)
    return result


_AUDITED_NAMES = frozenset(t.name for t in AUDITED)


def _check_records(
    conn: sa.Connection, newest: dict[tuple[str, int], sa.RowMapping], result: Verification
) -> None:
    for table in AUDITED:
        stored = {
            row["id"]: record_hash(table, row) for row in conn.execute(sa.select(table)).mappings()
        }
        for (name, record_id), entry in sorted(newest.items()):
            if name != table.name:
                continue
            found = stored.pop(record_id, None)
            label = f"{name} {record_id} (audit entry {entry['id']})"
            if entry["action"] == Action.DELETE:
                if found is not None:
                    result.records.append(Problem(entry["id"], f"{label}: deleted, yet present"))
            elif found is None:
                result.records.append(Problem(entry["id"], f"{label}: removed outside sijreg"))
            elif found != entry["record_hash"]:
                result.records.append(Problem(entry["id"], f"{label}: changed outside sijreg"))
        for record_id in sorted(stored):
            result.unaudited.append((table, record_id))
            result.records.append(
                Problem(None, f"{table.name} {record_id}: no audit entry (inserted outside sijreg)")
            )


def adopt(conn: sa.Connection, reason: str) -> list[tuple[str, int]]:
    """Append an entry, with its hash, for every audited row that has none (rows from before
    sijreg audited them); returns them. Rows that differ from their entries are never adopted,
    and nothing is adopted from a broken chain."""
    result = verify(conn)
    if result.chain is not None:
        raise ValueError(f"the audit trail is broken at entry {result.chain.entry_id}")
    for table, row_id in result.unaudited:
        row = conn.execute(sa.select(table).where(table.c.id == row_id)).mappings().one()
        append(
            conn,
            Entry(
                Action.ADOPT,
                site_id=row.get("site_id"),
                table_name=table.name,
                record_id=row_id,
                new_values=row_state(table, row) if table.name not in OWN_COLUMNS else None,
                reason=reason,
                record_hash=record_hash(table, row),
            ),
        )
    return [(table.name, row_id) for table, row_id in result.unaudited]
