"""The analysis cohort: every fused patient followed long enough, one row each.

The outcome is the last follow-up visit after the fusion. Everyone else in the
registry is counted under the first reason that excludes them.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

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


def _patients(engine: sa.Engine) -> pl.DataFrame:
    p, s = schema.patient, schema.site
    return read_frame(
        engine,
        sa.select(
            p.c.id.label("patient_id"),
            s.c.site_code.label("site"),
            *(p.c[var.name] for var in PATIENT_FIELDS),
        ).join_from(p, s, s.c.id == p.c.site_id),
    )


def _fusions(engine: sa.Engine) -> pl.DataFrame:
    f = schema.fusion
    return read_frame(engine, sa.select(f.c.patient_id, *(f.c[v.name] for v in FUSION_FIELDS)))


def _prior_flags(engine: sa.Engine) -> pl.DataFrame:
    """One row per patient with any advanced procedure: a boolean column per procedure."""
    pp = schema.prior_procedure
    rows = read_frame(
        engine,
        sa.select(pp.c.patient_id, pp.c.procedure).where(
            pp.c.procedure.in_(dd.ADVANCED_PROCEDURES)
        ),
    )
    return rows.group_by("patient_id").agg(
        (pl.col("procedure") == flag.name.removeprefix("prior_")).any().alias(flag.name)
        for flag in PRIOR_FLAGS
    )


def _visits(engine: sa.Engine) -> pl.DataFrame:
    v = schema.visit
    return read_frame(
        engine,
        sa.select(v.c.patient_id, v.c.visit_date.label("last_followup_date"), v.c.pain_relief_pct),
    )


def _last_followups(visits: pl.DataFrame, fusions: pl.DataFrame) -> pl.DataFrame:
    """Each fused patient's last visit after the fusion date, with its pain relief."""
    return (
        visits.join(fusions.select("patient_id", "fusion_date"), on="patient_id")
        .filter(pl.col("last_followup_date") > pl.col("fusion_date"))
        .sort("patient_id", "last_followup_date")
        .group_by("patient_id", maintain_order=True)
        .last()
        .drop("fusion_date")
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


def build_cohort(engine: sa.Engine, min_followup_days: int = DEFAULT_MIN_FOLLOWUP_DAYS) -> Cohort:
    """Read the registry and split it into the analysis cohort and the excluded."""
    # The four reads are independent and spend their time outside Python: run them together.
    with ThreadPoolExecutor(max_workers=4) as pool:
        reads = [pool.submit(read, engine) for read in (_patients, _fusions, _prior_flags, _visits)]
        patients, fusions, priors, visits = (_normalise(r.result()) for r in reads)
    every = (
        patients.join(fusions, on="patient_id", how="left")
        .join(priors, on="patient_id", how="left")
        .join(_last_followups(visits, fusions), on="patient_id", how="left")
        .with_columns(pl.col(flag.name).fill_null(False) for flag in PRIOR_FLAGS)
        .sort("patient_id")
    ).with_columns(
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
