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
    names = [v.name for v in checked_variables() if v.name in frame.columns]
    tracking = describe.TRACKING_MEMBERS.get()
    # One pass for every site and variable; the per-site frames only when patient sets
    # are tracked (small-cell suppression), which is also when cohorts are small.
    counts = {
        str(row[SITE.name]): row
        for row in frame.group_by(SITE.name)
        .agg(pl.len().alias("_n"), *(pl.col(n).is_null().sum() for n in names))
        .iter_rows(named=True)
    }
    by_site = {s: frame.filter(pl.col(SITE.name) == s) for s in sites} if tracking else {}

    def site_cell(site: str, name: str) -> MissingCell:
        if tracking:
            return _cell(by_site[site], name)
        return MissingCell(int(counts[site][name]), int(counts[site]["_n"]), 0, 0)

    rows = tuple(
        MissingRow(
            VARIABLES[name],
            _cell(frame, name),
            {s: site_cell(s, name) for s in sites},
        )
        for name in names
    )
    return sites, rows
