"""Reading query results as Polars frames through Arrow, never one Python object per row.

The reader (connectorx) carries its own copy of SQLite. Two copies of SQLite in one
process must never have the same file open at once: closing a file in one copy drops
the other's POSIX locks, and a write-ahead-log database then reads stale pages or
fails with "disk I/O error" (sqlite.org/howtocorrupt.html, section 2.2.1). So before
reading a SQLite file, this module checkpoints the log into the file and closes the
engine's idle connections; if some connection is still in use (a web request holding
one), the read runs in a child process, where the other copy cannot disturb ours.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from multiprocessing import get_context
from typing import Any
from urllib.parse import quote

import connectorx as cx
import polars as pl
import sqlalchemy as sa

Statement = sa.Select[*tuple[Any, ...]]


def connectorx_uri(url: sa.URL) -> str:
    """The connectorx form of a SQLAlchemy URL (SQLite file or PostgreSQL)."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite://{url.database}"
    auth = quote(url.username or "", safe="")
    if url.password:
        auth += ":" + quote(str(url.password), safe="")
    host = f"{auth}@" if auth else ""
    host += f"{url.host or 'localhost'}:{url.port or 5432}"
    options = url.query.get("options")  # e.g. the session settings row-level security reads
    extra = f"&options={quote(str(options), safe='')}" if options else ""
    return f"postgresql://{host}/{url.database}?cxprotocol=binary{extra}"


def _hand_over(engine: sa.Engine) -> bool:
    """Leave a SQLite file to the Arrow reader; True when it must read in another process."""
    if engine.url.get_backend_name() != "sqlite":
        return False
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
    pool = engine.pool
    busy = isinstance(pool, sa.pool.QueuePool) and pool.checkedout() > 0
    if not busy:
        engine.dispose()  # closes our idle connections to the file
    return busy


def _read(uri: str, sql: str) -> pl.DataFrame:
    frame = cx.read_sql(uri, sql, return_type="polars")
    assert isinstance(frame, pl.DataFrame)
    return frame


def read_frames(engine: sa.Engine, statements: Sequence[Statement]) -> list[pl.DataFrame]:
    """Run ``statements`` (in parallel: the reads spend their time outside Python).

    Select plain table columns only: on SQLite the reader takes a column's type from its
    declared type, and for a computed column (a CAST, an aggregate) from its first value,
    which fails when that value is null.
    """
    elsewhere = _hand_over(engine)
    uri = connectorx_uri(engine.url)
    sqls = [
        str(s.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        for s in statements
    ]
    workers = max(1, len(sqls))
    executor: Executor = (
        ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        if elsewhere
        else ThreadPoolExecutor(max_workers=workers)
    )
    with executor:
        return list(executor.map(_read, [uri] * len(sqls), sqls))
