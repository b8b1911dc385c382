"""The analysis cohort: every fused patient followed long enough, one row each.

The outcome is the last follow-up visit after the fusion. A study analyses the
patients fused within its study period (``StudyPeriod``; open-ended by default).
Everyone else in the registry is counted under the first reason that excludes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from sijreg.analysis.describe import PATIENT_KEY, members
from sijreg.analysis.methods import DEFAULT_MIN_FOLLOWUP_DAYS
from sijreg.analysis.variables import (
    FOLLOWUP_DAYS,
    FUSION_FIELDS,
    LAST_FOLLOWUP,
    PATIENT_FIELDS,
    PRIOR_FLAGS,
    RELIEF,
    VARIABLES,
    Variable,
)
from sijreg.domain import dictionary as dd
from sijreg.domain.types import Kind

if TYPE_CHECKING:
    import sqlalchemy as sa

PATIENT_COLUMNS = tuple(var.name for var in PATIENT_FIELDS)


@dataclass(frozen=True)
class StudyPeriod:
    """The fusion dates a study analyses, both ends included; None leaves that end open."""

    fused_from: date | None = None
    fused_until: date | None = None

    def __post_init__(self) -> None:
        if self.fused_from and self.fused_until and self.fused_from > self.fused_until:
            raise ValueError(
                f"the study period ends ({self.fused_until}) before it starts ({self.fused_from})"
            )

    @property
    def bounded(self) -> bool:
        return self.fused_from is not None or self.fused_until is not None

    @property
    def text(self) -> str:
        """'fusions from 2018-01-01 to 2021-04-30', 'fusions up to 2021-04-30', 'every fusion'."""
        start, end = self.fused_from, self.fused_until
        if start and end:
            return f"fusions from {start} to {end}"
        if start:
            return f"fusions from {start} on"
        return f"fusions up to {end}" if end else "every fusion"

    def outside(self, fused: pl.Expr) -> pl.Expr:
        """Whether a (non-null) fusion date lies outside the period."""
        out = pl.lit(False)
        if self.fused_from is not None:
            out |= fused < self.fused_from
        if self.fused_until is not None:
            out |= fused > self.fused_until
        return out


@dataclass(frozen=True)
class Exclusion:
    """A reason patients are left out, and how many."""

    key: str
    label: str
    n: int
    members: int = field(default=0, compare=False)


@dataclass(frozen=True)
class Cohort:
    """The analysed patients (``frame``) and an account of everyone left out."""

    frame: pl.DataFrame
    registered: int
    exclusions: tuple[Exclusion, ...]
    min_followup_days: int
    visits: pl.DataFrame = field(default_factory=pl.DataFrame)
    """Every visit of the analysed patients (patient_id, visit_date, the measures,
    days_since_fusion), sorted by patient and date."""
    registered_members: int = field(default=0, compare=False)
    known_fingerprint: str | None = field(default=None, compare=False)
    """The data fingerprint when already known (a freeze's, from its checked manifest)."""

    @property
    def n(self) -> int:
        return self.frame.height


def _with_site_codes(patients: pl.DataFrame, sites: pl.DataFrame) -> pl.DataFrame:
    """The site code in place of the site id, as the second column."""
    coded = patients.join(sites, on="site_id", how="left", maintain_order="left")
    return coded.select("patient_id", "site", *PATIENT_COLUMNS)


def _prior_flags(rows: pl.DataFrame) -> list[pl.Expr]:
    """A boolean column per advanced procedure: whether the patient had it (a set lookup
    per patient, cheaper than grouping the procedures and joining them back)."""
    patient = pl.col("patient_id").cast(pl.Int64)  # an int32 id from PostgreSQL too
    return [
        patient.is_in(
            rows.filter(pl.col("procedure") == flag.name.removeprefix("prior_"))
            .get_column("patient_id")
            .cast(pl.Int64)
            .implode()
        ).alias(flag.name)
        for flag in PRIOR_FLAGS
    ]


VISIT_MEASURES = tuple(
    f.name for f in dd.VISIT.fields if f.kind in (Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN)
)
"""The visit fields read as numbers (a yes/no as 1/0); choices such as PGIC are not measures."""


def _typed_visits(frame: pl.DataFrame) -> pl.DataFrame:
    date = pl.col("visit_date")
    return frame.with_columns(
        pl.col(PATIENT_KEY).cast(pl.Int64),
        date.str.to_date("%Y-%m-%d") if frame.schema["visit_date"] == pl.String else date,
        *(pl.col(name).cast(pl.Float64) for name in VISIT_MEASURES),
    )


def _dated_visits(visits: pl.DataFrame, fusions: pl.DataFrame) -> pl.DataFrame:
    """Fused patients' visits with days since their fusion, sorted by patient and date:
    sorted once here, for the last follow-up and for every later use. Each visit finds its
    patient's fusion by position (:func:`rows_of`), which keeps the visits' order and is
    several times cheaper than a join; ids too sparse for that join instead."""
    ordered = visits.sort(_by_patient_and_date(visits))
    days = (pl.col("visit_date") - pl.col("fusion_date")).dt.total_days().cast(pl.Int64)
    rows = rows_of(fusions.get_column("patient_id"), ordered.get_column("patient_id"))
    if rows is None:
        fused_rows = fusions.select("patient_id", "fusion_date").sort("patient_id")
        joined = ordered.join(fused_rows, on="patient_id", maintain_order="left")
    else:
        fused = rows >= 0
        dates = fusions.get_column("fusion_date").gather(rows[fused])
        joined = ordered.filter(pl.Series(fused)).with_columns(dates.alias("fusion_date"))
    return joined.with_columns(days.alias("days_since_fusion")).drop("fusion_date")


def rows_of(ids: pl.Series, wanted: pl.Series) -> NDArray[np.int64] | None:
    """The row of ``ids`` (distinct, not null) holding each of ``wanted`` (-1 where none
    does), looked up in an array indexed by id: the work of a left join, in ``wanted``'s
    order, several times cheaper. None when ids are negative or too sparse for such an
    array (more than :data:`_DENSE_IDS` slots per row): then join."""
    if wanted.has_nulls():
        return None
    bounds: list[Any] = [b for s in (ids, wanted) for b in (s.min(), s.max()) if b is not None]
    if not bounds:
        return np.full(len(wanted), -1, dtype=np.int64)
    low, top = int(min(bounds)), int(max(bounds))
    if low < 0 or top > _DENSE_IDS * (len(ids) + len(wanted) + 1):
        return None
    row_of = np.full(top + 1, -1, dtype=np.int64)
    row_of[ids.to_numpy()] = np.arange(len(ids))
    rows: NDArray[np.int64] = row_of[wanted.to_numpy()]
    return rows


_DENSE_IDS = 4
"""Ids up to this many times the rows are looked up by position (an array of 8 bytes per
id): more sparse ids join."""


def _by_patient_and_date(visits: pl.DataFrame) -> pl.Expr | list[str]:
    """Visits' order by patient and date as one Int64 key (patient id times the span of
    dates, plus the day): sorting one key is several times cheaper than sorting two
    columns. A patient has one visit per date (a unique constraint), so the order is the
    same; ids or dates too large for the key sort by the two columns."""
    day = pl.col("visit_date").cast(pl.Int64)
    bounds = visits.select(
        day.min().alias("first"),
        day.max().alias("last"),
        pl.col("patient_id").min().alias("low"),
        pl.col("patient_id").max().alias("high"),
    ).row(0)
    first, last, low, high = bounds
    if first is None or low < 0 or (high + 1) * (last - first + 1) >= 2**63:
        return ["patient_id", "visit_date"]
    span = int(last - first + 1)
    key: pl.Expr = pl.col("patient_id").cast(pl.Int64) * span + (day - int(first))
    return key


FOLLOW_UP = pl.col("baseline").fill_null(0) != 1
"""A visit not marked baseline: a follow-up (empty counts as No, as the dictionary says)."""


def _last_followups(dated: pl.DataFrame) -> pl.DataFrame:
    """Each fused patient's last follow-up after the fusion date, with its pain relief: the
    visits are sorted by patient and date, so it is the row before the next patient's."""
    patient = pl.col("patient_id")
    return (
        dated.filter((pl.col("days_since_fusion") > 0) & FOLLOW_UP)
        .filter(patient.ne_missing(patient.shift(-1)))
        .select(patient, pl.col("visit_date").alias("last_followup_date"), RELIEF.name)
    )


POLARS_TYPES: dict[Kind, pl.DataType] = {
    Kind.INTEGER: pl.Int64(),
    Kind.DECIMAL: pl.Float64(),
    Kind.BOOLEAN: pl.Boolean(),
    Kind.CHOICE: pl.String(),
    Kind.TEXT: pl.String(),
    Kind.DATE: pl.Date(),
}
"""The analysis type of each kind of dictionary field."""


def analysis_type(variable: Variable) -> pl.DataType:
    """A variable's column type: a choice is an Enum of its dictionary codes (a byte per
    value in place of a 16-byte string view, and cheaper to group and filter)."""
    if variable.kind is Kind.CHOICE and variable.choices:
        return pl.Enum([choice.code for choice in variable.choices])
    return POLARS_TYPES[variable.kind]


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
            casts.append(pl.col(name).cast(analysis_type(VARIABLES[name])))
    return frame.with_columns(casts)


@dataclass(frozen=True)
class Registry:
    """The registry as the analyses read it, before any cohort is chosen.

    ``patients``: every registered patient, one row each, with the fusion, a flag per
    advanced prior procedure, the last follow-up after the fusion and ``followup_days``.
    ``visits``: every fused patient's visits with ``days_since_fusion``, sorted by
    patient and date. A freeze stores exactly these two frames (interop/freeze.py).
    """

    patients: pl.DataFrame
    visits: pl.DataFrame
    fingerprints: Mapping[int, str] = field(default_factory=dict)
    """Fingerprints of cohorts already known, by minimum follow-up in days (with no study
    period; a bounded one chooses other patients): a freeze
    carries its default cohort's, computed when it was made (its files are checked
    against their SHA-256 when read), so a report from it need not hash a million rows."""


def registry_schema() -> tuple[pl.Schema, pl.Schema]:
    """The columns and types of ``Registry.patients`` and ``Registry.visits``."""
    patients = pl.Schema(
        {
            PATIENT_KEY: pl.Int64(),
            "site": pl.String(),
            **{var.name: analysis_type(var) for var in (*PATIENT_FIELDS, *FUSION_FIELDS)},
            **{flag.name: pl.Boolean() for flag in PRIOR_FLAGS},
            LAST_FOLLOWUP.name: pl.Date(),
            RELIEF.name: pl.Float64(),
            FOLLOWUP_DAYS.name: pl.Int64(),
        }
    )
    visits = pl.Schema(
        {
            PATIENT_KEY: pl.Int64(),
            "visit_date": pl.Date(),
            **{name: pl.Float64() for name in VISIT_MEASURES},
            "days_since_fusion": pl.Int64(),
        }
    )
    return patients, visits


def read_registry(engine: sa.Engine, site_code: str | None = None) -> Registry:
    """Read the registry (one site's patients, or all) as its two analysis frames."""
    from sijreg.analysis import registry_sql  # SQLAlchemy and the reader: not for a freeze

    patients, sites, fusions, procedures, *visits = registry_sql.read(engine, site_code)
    patients, fusions = _normalise(_with_site_codes(patients, sites)), _normalise(fusions)
    dated = _dated_visits(pl.concat([_typed_visits(part) for part in visits]), fusions)
    every = (
        patients.join(fusions, on="patient_id", how="left")
        .with_columns(_prior_flags(procedures))
        .join(_last_followups(dated), on="patient_id", how="left")
        .sort("patient_id")
    ).with_columns(
        pl.col("patient_id").cast(pl.Int64),
        (pl.col("last_followup_date") - pl.col("fusion_date"))
        .dt.total_days()
        .cast(pl.Int64)
        .alias("followup_days"),
    )
    return Registry(every, dated)


def select_cohort(
    registry: Registry,
    min_followup_days: int = DEFAULT_MIN_FOLLOWUP_DAYS,
    period: StudyPeriod = StudyPeriod(),
) -> Cohort:
    """Split the registry into the analysed cohort and the patients left out, with reasons.

    A patient fused outside ``period`` is left out for that (a bounded period only adds
    the reason to the account)."""
    every = registry.patients
    no_fusion = pl.col("fusion_date").is_null()
    outside = ~no_fusion & period.outside(pl.col("fusion_date"))
    no_followup = ~no_fusion & ~outside & pl.col("last_followup_date").is_null()
    too_short = ~no_fusion & ~outside & ~no_followup & (pl.col("followup_days") < min_followup_days)
    counts = every.select(
        no_fusion.sum().alias("a"),
        outside.sum().alias("o"),
        no_followup.sum().alias("b"),
        too_short.sum().alias("c"),
    ).row(0)
    in_period = (
        (
            Exclusion(
                "outside_period",
                f"a fusion outside the study period ({period.text})",
                int(counts[1]),
                members(every, outside),
            ),
        )
        if period.bounded
        else ()
    )
    exclusions = (
        Exclusion(
            "no_fusion", "no index fusion recorded", int(counts[0]), members(every, no_fusion)
        ),
        *in_period,
        Exclusion(
            "no_followup",
            "no follow-up visit after the fusion",
            int(counts[2]),
            members(every, no_followup),
        ),
        Exclusion(
            "short_followup",
            f"the last follow-up less than {min_followup_days} days after the fusion",
            int(counts[3]),
            members(every, too_short),
        ),
    )
    analysed = every.filter(~no_fusion & ~outside & ~no_followup & ~too_short)
    return Cohort(
        analysed,
        every.height,
        exclusions,
        min_followup_days,
        registry.visits.filter(
            pl.col("patient_id").is_in(analysed.get_column("patient_id").implode())
        ),
        members(every),
        None if period.bounded else registry.fingerprints.get(min_followup_days),
    )


def build_cohort(
    engine: sa.Engine,
    min_followup_days: int = DEFAULT_MIN_FOLLOWUP_DAYS,
    site_code: str | None = None,
) -> Cohort:
    """Read the registry (one site's patients, or all) and split it into cohort and excluded."""
    return select_cohort(read_registry(engine, site_code), min_followup_days)
