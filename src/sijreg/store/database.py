"""Opening a registry database: URL resolution, engine set-up and migrations.

SQLite (a file, WAL mode) is the default; PostgreSQL is used when a URL names it.
"""

from __future__ import annotations

import math
import os
import re
import sqlite3
import threading
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy import exc as sa_exc

from sijreg.store.errors import DatabaseError

if TYPE_CHECKING:
    from alembic.config import Config

ENV_VAR = "SIJREG_DATABASE_URL"
DEFAULT_PATH = "sijreg.db"
MIGRATIONS = Path(__file__).with_name("migrations")
SCHEMA_REVISION = "0015_audit_append"
"""The newest migration (a test checks it against Alembic's scripts). Knowing it lets an
up-to-date registry open without loading Alembic, a third of a second of every command."""


_ENGINES: weakref.WeakSet[sa.Engine] = weakref.WeakSet()
"""Every engine create_engine made that is still in use, for close_all."""


def resolve_url(database: str | None = None) -> sa.URL:
    """The registry URL: the argument, else ``$SIJREG_DATABASE_URL``, else ./sijreg.db.

    A plain path means a SQLite file; ``postgresql://`` URLs use the psycopg 3 driver.
    """
    raw = database or os.environ.get(ENV_VAR) or DEFAULT_PATH
    if "://" not in raw:
        return sa.make_url(f"sqlite:///{Path(raw).expanduser().resolve()}")
    url = sa.make_url(raw)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    if url.get_backend_name() not in ("sqlite", "postgresql"):
        raise DatabaseError(
            f"unsupported database {url.get_backend_name()!r}: "
            "use a SQLite file or a postgresql:// URL"
        )
    return url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={int(WRITER_WAIT_SECONDS * 1000)}")
    cursor.close()


_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|BEGIN IMMEDIATE|CREATE|DROP|ALTER)\b", re.I)
WRITER_WAIT_SECONDS = 10.0
"""The longest a writer waits for SQLite's write lock: its place in this process's queue and
SQLite's busy timeout together (then "database is locked": the server's busy, retry)."""


OUTSIDE_WAIT_SECONDS = 1.0
"""A writer of this process holding the write queue this long waits for another process's
write lock (a server's own transactions hold it for milliseconds)."""
_QUEUE_POLL_SECONDS = 0.05


def _busy_timeout(raw: Any, seconds: float) -> None:
    raw.execute(f"PRAGMA busy_timeout={max(0, int(seconds * 1000))}")


def _queue_writers(engine: sa.Engine) -> None:
    """SQLite: the writers of this process queue on a lock, one at a time, until they end.

    SQLite lets one transaction write; the others retry after sleeps that grow to 100 ms
    (its busy handler), so under many writers the lock sits free while they sleep and an
    unlucky one waits seconds. Here a transaction's first write waits on a Python lock
    instead, granted the moment the holder commits or rolls back. SQLite's own lock and
    busy timeout still order this process with others (an import, a second server).

    The whole wait, queue and busy timeout together, is at most ``WRITER_WAIT_SECONDS``:
    a writer that queued gets only the rest as its busy timeout, and one that cannot get
    through the queue in time is told "database is locked" (the server's "busy, retry").
    Once the queue's holder has held it ``OUTSIDE_WAIT_SECONDS``, it waits for another
    process (an import): writers are then told so at once instead of queueing, for each
    would keep one of the server's few request threads for the whole wait.
    """
    gate = threading.Lock()
    holder: list[Any] = [None]
    since = [math.inf]  # when the holder took the queue (infinity: none yet)

    def take(conn: sa.Connection, _c: Any, statement: str, params: Any, *_: Any) -> None:
        raw = conn.connection.dbapi_connection
        if holder[0] is raw or not _WRITES.match(statement):
            return
        started = time.monotonic()
        taken = gate.acquire(blocking=False)
        while not taken:
            now = time.monotonic()
            if now - started >= WRITER_WAIT_SECONDS or now - since[0] >= OUTSIDE_WAIT_SECONDS:
                locked = sqlite3.OperationalError("database is locked")
                raise sa.exc.OperationalError(statement, params, locked)
            taken = gate.acquire(timeout=_QUEUE_POLL_SECONDS)
        holder[0], since[0] = raw, time.monotonic()
        _busy_timeout(raw, WRITER_WAIT_SECONDS - (time.monotonic() - started))

    def release(raw: Any) -> None:
        if raw is not None and holder[0] is raw:
            holder[0], since[0] = None, math.inf
            _busy_timeout(raw, WRITER_WAIT_SECONDS)
            gate.release()

    sa.event.listen(engine, "before_cursor_execute", take)
    sa.event.listen(engine, "commit", lambda conn: release(conn.connection.dbapi_connection))
    sa.event.listen(engine, "rollback", lambda conn: release(conn.connection.dbapi_connection))
    sa.event.listen(engine.pool, "checkin", lambda raw, _record: release(raw))


def create_engine(url: sa.URL, *, connections: int | None = None) -> sa.Engine:
    """An engine for ``url``; SQLite connections get WAL mode and foreign keys.

    ``connections`` keeps that many open and never more (the server's pool): a pool's
    default overflow closes a connection at every return beyond five, so a busy server
    would open a new database connection every few requests (measured: 140 PostgreSQL
    sessions in 3 s at 32 clients); requests beyond it wait for one.
    """
    sizes = {} if connections is None else {"pool_size": connections, "max_overflow": 0}
    engine = sa.create_engine(url, **sizes)
    if url.get_backend_name() == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
        _queue_writers(engine)
    _ENGINES.add(engine)
    return engine


def begin_snapshot(conn: sa.Connection, *, write_lock: bool) -> None:
    """Make the transaction just begun on ``conn`` read one snapshot from its first statement.

    SQLite (left to itself, Python's driver begins only at the first write, so earlier
    reads see whatever is committed at each moment): ``write_lock`` takes the write lock
    at once (``BEGIN IMMEDIATE``, waiting up to the busy timeout for another writer);
    otherwise the lock is taken at the first write, which fails at once, without waiting
    (:func:`write_refused`), when another connection is writing or wrote since the
    snapshot was taken. A transaction that never writes never holds the lock.
    PostgreSQL needs nothing.
    """
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write_lock else "BEGIN")
        conn.exec_driver_sql("SELECT 1 FROM sqlite_master LIMIT 1").all()


def write_refused(error: sa.exc.DBAPIError) -> bool:
    """Whether ``error`` is SQLite refusing the first write of a transaction begun by
    ``begin_snapshot(write_lock=False)`` (``SQLITE_BUSY``, or ``SQLITE_BUSY_SNAPSHOT``):
    nothing is lost by redoing the transaction with the lock."""
    code = getattr(error.orig, "sqlite_errorcode", None)
    return isinstance(code, int) and code & 0xFF == sqlite3.SQLITE_BUSY


def close_all() -> None:
    """Close the idle connections of every engine still in use. A SQLite file then holds
    all its data (its write-ahead log folded in): for a process about to end without
    tearing its objects down (see cli.app.main)."""
    for engine in list(_ENGINES):
        engine.dispose()


def alembic_config(engine: sa.Engine) -> Config:
    """An Alembic configuration that runs the packaged migrations on ``engine``."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def current_revision(connection: sa.Connection) -> str | None:
    """The migration the database is at; None for a new, empty database."""
    if not sa.inspect(connection).has_table("alembic_version"):
        return None
    return connection.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()


def upgrade(engine: sa.Engine) -> bool:
    """Bring the schema to the newest migration; True when anything was applied."""
    with engine.connect() as connection:
        if current_revision(connection) == SCHEMA_REVISION:
            return False
    from alembic import command

    command.upgrade(alembic_config(engine), "head")
    return True


def open_database(
    database: str | None = None, *, create: bool = True, connections: int | None = None
) -> sa.Engine:
    """Open (migrating when needed) the registry at ``database``.

    A SQLite file that does not exist yet is created, unless ``create`` is false
    (for commands that only read: an empty new registry would be no answer).
    """
    url = resolve_url(database)
    if url.get_backend_name() == "sqlite" and url.database:
        if not create and not Path(url.database).exists():
            raise DatabaseError(
                f"there is no registry at {url.database}: import a sheet or run "
                "`sijreg demo` first, or name another with --database"
            )
        parent = Path(url.database).parent
        if not parent.is_dir():
            raise DatabaseError(f"cannot create {url.database}: folder {parent} does not exist")
    engine = create_engine(url, connections=connections)
    try:
        upgrade(engine)
    except sa_exc.DBAPIError as error:
        engine.dispose()
        raise DatabaseError(
            f"cannot open {url.render_as_string(hide_password=True)}: {error.orig}"
        ) from None
    return engine
