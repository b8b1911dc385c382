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


def read_frame(engine: sa.Engine, statement: sa.Select[*tuple[Any, ...]]) -> pl.DataFrame:
    """Run ``statement`` and return its rows as a Polars frame."""
    sql = str(statement.compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True}))
    frame = cx.read_sql(connectorx_uri(engine.url), sql, return_type="polars")
    assert isinstance(frame, pl.DataFrame)
    return frame
