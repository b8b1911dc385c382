"""Reading query results as Polars frames through Arrow, never one Python object per row.

The reader (connectorx) carries its own copy of SQLite. Two copies of SQLite in one
process must never have the same file open at once: closing a file in one copy drops
the other's POSIX locks, and a write-ahead-log database then reads stale pages or
fails with "disk I/O error" (sqlite.org/howtocorrupt.html, section 2.2.1). So before
reading a SQLite file, this module checkpoints the log into the file and closes every
pooled connection of the engine; the caller must not use the engine during the read.
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
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
    return f"postgresql://{host}/{url.database}?cxprotocol=binary"


def _hand_over(engine: sa.Engine) -> None:
    """Leave a SQLite file to the Arrow reader: log checkpointed, our connections closed."""
    if engine.url.get_backend_name() != "sqlite":
        return
    with engine.connect() as conn:
        conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    engine.dispose()


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
    _hand_over(engine)
    uri = connectorx_uri(engine.url)
    sqls = [
        str(s.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
        for s in statements
    ]
    with ThreadPoolExecutor(max_workers=max(1, len(sqls))) as pool:
        return list(pool.map(_read, [uri] * len(sqls), sqls))


def read_frame(engine: sa.Engine, statement: Statement) -> pl.DataFrame:
    """Run one ``statement``; see :func:`read_frames`."""
    return read_frames(engine, [statement])[0]
