"""The analysis cohort: every fused patient followed long enough, one row each.

The outcome is the last follow-up visit after the fusion. Everyone else in the
registry is counted under the first reason that excludes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl
import sqlalchemy as sa

from sijreg.analysis.variables import FUSION_FIELDS, PATIENT_FIELDS, PRIOR_FLAGS, VARIABLES
from sijreg.domain import dictionary as dd
from sijreg.domain.types import Kind
from sijreg.store import schema
from sijreg.store.frames import read_frame

DEFAULT_MIN_FOLLOWUP_DAYS = 90


@dataclass(frozen=True)
class Exclusion:
    """A reason patients are left out, and how many."""

    key: str
    label: str
    n: int


@dataclass(frozen=True)
class Cohort:
    """The analysed patients (``frame``) and an account of everyone left out."""

    frame: pl.DataFrame
    registered: int
    exclusions: tuple[Exclusion, ...]
    min_followup_days: int

    @property
    def n(self) -> int:
        return self.frame.height


def _select(site_code: str | None) -> sa.Select[*tuple[Any, ...]]:
    p, f, v, pp, s = (
        schema.patient,
        schema.fusion,
        schema.visit,
        schema.prior_procedure,
        schema.site,
    )
    last = (
        sa.select(v.c.patient_id, sa.func.max(v.c.visit_date).label("last_followup_date"))
        .join(f, f.c.patient_id == v.c.patient_id)
        .where(v.c.visit_date > f.c.fusion_date)
        .group_by(v.c.patient_id)
        .subquery("last_fu")
    )
    lv = v.alias("lv")

    def column(table: sa.FromClause, name: str) -> sa.ColumnElement[Any]:
        col = table.c[name]
        # Decimals travel as doubles (exact again after scaling); booleans as 0/1.
        if dd.field(name).kind is Kind.DECIMAL:
            return sa.cast(col, sa.Float).label(name)
        if dd.field(name).kind is Kind.BOOLEAN:
            return sa.cast(col, sa.Integer).label(name)
        return col

    flags = [
        sa.cast(
            sa.exists().where(
                pp.c.patient_id == p.c.id, pp.c.procedure == flag.name.removeprefix("prior_")
            ),
            sa.Integer,
        ).label(flag.name)
        for flag in PRIOR_FLAGS
    ]
    return (
        sa.select(
            p.c.id.label("patient_id"),
            s.c.site_code.label("site"),
            *(column(p, var.name) for var in PATIENT_FIELDS),
            *flags,
            *(column(f, var.name) for var in FUSION_FIELDS),
            last.c.last_followup_date,
            column(lv, "pain_relief_pct"),
        )
        .select_from(
            p.join(s, s.c.id == p.c.site_id)
            .outerjoin(f, f.c.patient_id == p.c.id)
            .outerjoin(last, last.c.patient_id == p.c.id)
            .outerjoin(
                lv, sa.and_(lv.c.patient_id == p.c.id, lv.c.visit_date == last.c.last_followup_date)
            )
        )
        .where(s.c.site_code == site_code if site_code is not None else sa.true())
        .order_by(p.c.id)
    )


_POLARS_TYPES: dict[Kind, pl.DataType] = {
    Kind.INTEGER: pl.Int64(),
    Kind.DECIMAL: pl.Float64(),
    Kind.CHOICE: pl.String(),
    Kind.TEXT: pl.String(),
    Kind.DATE: pl.Date(),
}


def _normalise(frame: pl.DataFrame) -> pl.DataFrame:
    """Give every column its analysis type, whichever database and driver produced it."""
    casts: list[pl.Expr] = []
    for name in frame.columns:
        kind = VARIABLES[name].kind if name in VARIABLES else None
        if kind is Kind.BOOLEAN:
            casts.append(pl.col(name).cast(pl.Int8).cast(pl.Boolean))
        elif kind is Kind.DATE and frame.schema[name] == pl.String:
            casts.append(pl.col(name).str.to_date("%Y-%m-%d"))
        elif kind is not None:
            casts.append(pl.col(name).cast(_POLARS_TYPES[kind]))
    return frame.with_columns(casts)


def build_cohort(
    engine: sa.Engine,
    min_followup_days: int = DEFAULT_MIN_FOLLOWUP_DAYS,
    site_code: str | None = None,
) -> Cohort:
    """Read the registry (one site's patients, or all) and split it into cohort and excluded."""
    every = _normalise(read_frame(engine, _select(site_code))).with_columns(
        (pl.col("last_followup_date") - pl.col("fusion_date"))
        .dt.total_days()
        .cast(pl.Int64)
        .alias("followup_days"),
    )
    no_fusion = pl.col("fusion_date").is_null()
    no_followup = ~no_fusion & pl.col("last_followup_date").is_null()
    too_short = ~no_fusion & ~no_followup & (pl.col("followup_days") < min_followup_days)
    counts = every.select(
        no_fusion.sum().alias("a"), no_followup.sum().alias("b"), too_short.sum().alias("c")
    ).row(0)
    exclusions = (
        Exclusion("no_fusion", "no index fusion recorded", int(counts[0])),
        Exclusion("no_followup", "no follow-up visit after the fusion", int(counts[1])),
        Exclusion(
            "short_followup",
            f"the last follow-up less than {min_followup_days} days after the fusion",
            int(counts[2]),
        ),
    )
    analysed = every.filter(~no_fusion & ~no_followup & ~too_short)
    return Cohort(analysed, every.height, exclusions, min_followup_days)
