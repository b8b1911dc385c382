"""Reading query results as Polars frames through Arrow, never one Python object per row."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import connectorx as cx
import polars as pl
import sqlalchemy as sa


def connectorx_uri(url: sa.URL) -> str:
    """The connectorx form of a SQLAlchemy URL (SQLite file or PostgreSQL)."""
    if url.get_backend_name() == "sqlite":
        return f"sqlite://{url.database}"
    auth = quote(url.username or "", safe="")
    if url.password:
        auth += ":" + quote(str(url.password), safe="")
    host = f"{auth}@" if auth else ""
    host += f"{url.host or 'localhost'}:{url.port or 5432}"
    options = url.query.get("options")
    extra = f"&options={quote(str(options), safe='')}" if options else ""
    return f"postgresql://{host}/{url.database}?cxprotocol=binary{extra}"


def _sample_row(statement: sa.Select[*tuple[Any, ...]]) -> str:
    """A first row of non-null values of each column's type.

    connectorx infers SQLite column types from the first row and fails on a NULL
    there (any missing value in the first patient); this row goes first and is dropped.
    """
    values = []
    for column in statement.selected_columns:
        kind = column.type
        if isinstance(kind, sa.Integer | sa.Boolean):
            value = "0"
        elif isinstance(kind, sa.Numeric | sa.Float):
            value = "0.5"
        else:
            value = "''"
        values.append(f'{value} AS "{column.key}"')
    return "SELECT " + ", ".join(values)


def read_frame(engine: sa.Engine, statement: sa.Select[*tuple[Any, ...]]) -> pl.DataFrame:
    """Run ``statement`` and return its rows as a Polars frame."""
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    sqlite = engine.dialect.name == "sqlite"
    if sqlite:
        sql = f"SELECT * FROM ({_sample_row(statement)}) UNION ALL SELECT * FROM ({sql})"
    frame = cx.read_sql(connectorx_uri(engine.url), sql, return_type="polars")
    assert isinstance(frame, pl.DataFrame)
    return frame.slice(1) if sqlite else frame
