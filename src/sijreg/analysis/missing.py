"""Missing values per analysis variable, overall and per site."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from sijreg.analysis import describe
from sijreg.analysis.variables import SITE, VARIABLES, Variable
from sijreg.domain.types import Kind


@dataclass(frozen=True)
class MissingCell:
    missing: int
    n: int
    members: int
    group: int


@dataclass(frozen=True)
class MissingRow:
    variable: Variable
    overall: MissingCell
    sites: dict[str, MissingCell]


def checked_variables() -> tuple[Variable, ...]:
    """Every analysis variable a patient may lack (not the site, not derived dates)."""
    return tuple(v for v in VARIABLES.values() if v is not SITE and v.kind is not Kind.DATE)


def _cell(frame: pl.DataFrame, name: str) -> MissingCell:
    missing = pl.col(name).is_null()
    return MissingCell(
        int(frame.select(missing.sum()).item()),
        frame.height,
        describe.members(frame, missing),
        describe.members(frame),
    )


def missing_table(frame: pl.DataFrame) -> tuple[tuple[str, ...], tuple[MissingRow, ...]]:
    """(sites, rows): per variable, missing of n overall and in each site."""
    sites = tuple(str(s) for s in frame.get_column(SITE.name).drop_nulls().unique().sort())
    rows = tuple(
        MissingRow(
            v,
            _cell(frame, v.name),
            {s: _cell(frame.filter(pl.col(SITE.name) == s), v.name) for s in sites},
        )
        for v in checked_variables()
        if v.name in frame.columns
    )
    return sites, rows
