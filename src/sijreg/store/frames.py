"""Reading query results as Polars frames through Arrow, never one Python object per row."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import connectorx as cx
import polars as pl
import sqlalchemy as sa

NULL_FLAG = "__is_null"


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


def _placeholder(column: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    kind = column.type
    if isinstance(kind, sa.Float | sa.Numeric):
        return sa.literal_column("0.0")
    if isinstance(kind, sa.Integer | sa.Boolean):
        return sa.literal_column("0")
    return sa.literal_column("''")


def _never_null(statement: sa.Select[*tuple[Any, ...]]) -> sa.Select[*tuple[Any, ...]]:
    """Every column as a non-null value plus a 0/1 null flag.

    The SQLite reader takes the type of a computed column (a CAST, an aggregate) from
    its first value and fails when that value is null; a non-null stand-in with a
    flag beside it keeps the type and the missing values.
    """
    inner = statement.subquery("q")
    columns: list[sa.ColumnElement[Any]] = []
    for column in inner.c:
        columns.append(sa.func.coalesce(column, _placeholder(column)).label(column.name))
        columns.append(sa.case((column.is_(None), 1), else_=0).label(column.name + NULL_FLAG))
    return sa.select(*columns)


def read_frame(engine: sa.Engine, statement: sa.Select[*tuple[Any, ...]]) -> pl.DataFrame:
    """Run ``statement`` and return its rows as a Polars frame (missing values as nulls)."""
    sqlite = engine.url.get_backend_name() == "sqlite"
    if sqlite:
        # The Arrow reader opens the file on its own and may not see pages still in the
        # write-ahead log; move them into the database file first.
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(FULL)")
        statement = _never_null(statement)
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    frame = cx.read_sql(connectorx_uri(engine.url), sql, return_type="polars")
    assert isinstance(frame, pl.DataFrame)
    if not sqlite:
        return frame
    names = [c for c in frame.columns if not c.endswith(NULL_FLAG)]
    if frame.height == 0:  # nothing to infer a type from: callers cast
        return frame.select(names)
    return frame.select(
        pl.when(pl.col(name + NULL_FLAG) == 1).then(None).otherwise(pl.col(name)).alias(name)
        for name in names
    )
