"""Follow-up completeness by site and time point, and responder rates counted two ways.

A follow-up is *due* on the reference date when it was answered (a visit in its
window) or its window has closed (missed): follow-ups whose window is still open
and unanswered are not yet counted either way. Completeness = answered / due.

Responder rates at each time point, each labelled:

- complete case: responders / patients who answered (relief recorded at the visit);
- missing counted as not a responder (as US quality measures count a patient not
  assessed as "not met", e.g. MIPS 459/469): responders / patients due.

The windows are the registry's (``store.registry_settings``), the ones patients are
invited in; the visit of a window is the one closest to its target date (earlier on a
tie). Counted on Polars frames, the registry's (the report, a freeze) or the call list's.
The rules are the domain's (``domain.followup``), stated once: its ``window_dates`` give
each window's days, a visit answers a window as ``in_window`` says (``WINDOW_ENDS``), and
``time_points`` decides once per fusion date and window whether a follow-up counts as
due answered and unanswered, never a Python object per patient.

The call list and the API count every follow-up of the site. The study report counts
the follow-ups whose target date fell in the year up to its day (``REPORT_MONTHS``), as
registries report their follow-up rate for a year: a long-running registry's early
years, or a study's old cohort entered by coordinators, do not hide how follow-up goes now.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING

import polars as pl

from sijreg.analysis.cohort import Registry
from sijreg.analysis.describe import PATIENT_KEY, TRACKING_MEMBERS, members
from sijreg.analysis.variables import RELIEF
from sijreg.domain.followup import WINDOW_ENDS, time_points, window_dates
from sijreg.domain.schedule import Window, add_months

if TYPE_CHECKING:
    import sqlalchemy as sa


@dataclass(frozen=True)
class Patient:
    site: str
    fusion_date: date
    visits: tuple[tuple[date, float | None], ...]
    """(visit date, pain relief %) of each visit."""
    id: int = 0
    """The patient's id, for the patient sets small-cell suppression compares."""


@dataclass(frozen=True)
class CompletenessRow:
    site: str
    months: int
    due: int
    answered: int
    due_members: int = field(default=0, compare=False, repr=False)
    """Who is counted, as a bit set of patient ids (``describe.members``; 0 untracked)."""
    answered_members: int = field(default=0, compare=False, repr=False)

    @property
    def percent(self) -> float | None:
        return 100 * self.answered / self.due if self.due else None


@dataclass(frozen=True)
class ResponderRow:
    months: int
    threshold: int
    responders: int
    answered: int
    """Patients due with a relief recorded at the time point (complete-case denominator)."""
    due: int
    """Patients due (the denominator when missing counts as not a responder)."""
    responder_members: int = field(default=0, compare=False, repr=False)
    answered_members: int = field(default=0, compare=False, repr=False)
    due_members: int = field(default=0, compare=False, repr=False)

    @property
    def complete_case(self) -> float | None:
        return 100 * self.responders / self.answered if self.answered else None

    @property
    def missing_as_non_responder(self) -> float | None:
        return 100 * self.responders / self.due if self.due else None


@dataclass(frozen=True)
class Completeness:
    as_of: date
    rows: tuple[CompletenessRow, ...]
    """Per site and time point, then the sites pooled (site "All")."""
    responders: tuple[ResponderRow, ...]
    windows: tuple[Window, ...] = ()
    targets_after: date | None = None
    """Only follow-ups whose target date lies after this day (and by ``as_of``) are counted."""


REPORT_MONTHS = 12
"""The study report counts follow-ups whose target date lies in this many months up to its day."""

KEY = "_key"
"""The frames' join key: the patient id from the registry; a position for bare ``Patient``s."""


def _windows_by_fusion_date(
    fusion_dates: pl.Series, as_of: date, windows: Sequence[Window]
) -> pl.DataFrame:
    """Per distinct fusion date and window: its dates, and whether the follow-up counts as
    due on ``as_of`` answered and unanswered, as ``domain.followup`` decides (asked once
    per date, not once per patient)."""
    rows = []
    for fused in fusion_dates.unique().drop_nulls().to_list():
        for window in windows:
            target, opens, closes = window_dates(fused, window)
            unanswered, answered = (
                time_points(fused, visits, as_of, [window])[0] for visits in ([], [target])
            )
            rows.append(
                (
                    fused,
                    window.months,
                    target,
                    opens,
                    closes,
                    unanswered.counts_as_due,
                    answered.counts_as_due,
                )
            )
    columns = ("fusion_date", "months", "target", "opens", "closes")
    schema = {name: pl.Date() for name in columns} | {
        "months": pl.Int64(),
        "due_unanswered": pl.Boolean(),
        "due_answered": pl.Boolean(),
    }
    return pl.DataFrame(rows, schema=schema, orient="row")


def _answers(fused: pl.LazyFrame, dated: pl.LazyFrame, visits: pl.DataFrame) -> pl.LazyFrame:
    """(key, months, relief) of every answered follow-up: a visit in the window; the relief
    is the visit's closest to the target date (the earlier on a tie). Each visit meets the
    windows of its patient's fusion date in one join with the small per-date table, and
    each follow-up keeps the visit of least score (twice the distance, plus one if late)."""
    offset = (pl.col("visit_date") - pl.col("target")).dt.total_days()
    return (
        visits.lazy()
        .join(fused.select(KEY, "fusion_date"), on=KEY)
        .join(dated.select("fusion_date", "months", "target", "opens", "closes"), on="fusion_date")
        .filter(pl.col("visit_date").is_between(pl.col("opens"), pl.col("closes"), WINDOW_ENDS))
        .with_columns((offset.abs() * 2 + (offset > 0).cast(pl.Int64)).alias("_score"))
        .group_by(KEY, "months")
        .agg(pl.col("relief").get(pl.col("_score").arg_min()), pl.lit(True).alias("answered"))
    )


def _tally(due: pl.DataFrame, by: Sequence[str], thresholds: Sequence[int]) -> pl.DataFrame:
    """Per group of ``by``: follow-ups due, answered, answered with a relief, and responders
    at each threshold, in one pass over ``due`` however many sites there are."""
    valued = pl.col("answered") & pl.col("relief").is_not_null()
    return due.group_by(*by).agg(
        pl.len().alias("due"),
        pl.col("answered").sum().alias("answered"),
        valued.sum().alias("valued"),
        *((pl.col("relief") >= t).fill_null(False).sum().alias(f"r{t}") for t in thresholds),
    )


def _parts(due: pl.DataFrame, by: Sequence[str]) -> dict[tuple[object, ...], pl.DataFrame]:
    """Each group's own rows, for the patient sets (``describe.members``) when tracked."""
    return due.partition_by(*by, as_dict=True) if TRACKING_MEMBERS.get() else {}


def frame_completeness(
    patients: pl.DataFrame,
    visits: pl.DataFrame,
    as_of: date,
    windows: Sequence[Window],
    thresholds: Sequence[int] = (30, 50),
    targets_after: date | None = None,
) -> Completeness:
    """Completeness from frames: ``patients`` (KEY, patient_id, site, fusion_date) and
    ``visits`` (KEY, visit_date, relief); with ``targets_after``, only the follow-ups whose
    target date lies after it and on or before ``as_of``. Whole-frame operations, so a
    registry of a million patients is counted in seconds."""
    fused = (  # sites as categories: grouping by them is grouping by whole numbers
        patients.lazy()
        .filter(pl.col("fusion_date").is_not_null())
        .with_columns(pl.col("site").cast(pl.Categorical))
    )
    dates = fused.select("fusion_date").unique().collect().get_column("fusion_date")
    dated = _windows_by_fusion_date(dates, as_of, windows)
    if targets_after is not None:
        dated = dated.filter(pl.col("target").is_between(targets_after, as_of, closed="right"))
    dated_lazy = dated.lazy()
    due = (
        fused.join(dated_lazy, on="fusion_date")
        .join(_answers(fused, dated_lazy, visits), on=[KEY, "months"], how="left")
        .with_columns(pl.col("answered").fill_null(False))
        .filter(
            pl.when(pl.col("answered"))
            .then(pl.col("due_answered"))
            .otherwise(pl.col("due_unanswered"))
        )
        .select(PATIENT_KEY, "site", "months", "answered", "relief")
        .collect()
    )
    by_site = {(s, m): rest for s, m, *rest in _tally(due, ("site", "months"), ()).iter_rows()}
    by_months = {m: rest for m, *rest in _tally(due, ("months",), thresholds).iter_rows()}
    site_parts, months_parts = _parts(due, ("site", "months")), _parts(due, ("months",))
    none, is_answered = due.clear(), pl.col("answered")
    rows = []
    for site in [*sorted({s for s, _ in by_site}), "All"]:
        for window in windows:
            if site == "All":
                n, count, *_ = by_months.get(window.months, (0, 0, 0))
                part = months_parts.get((window.months,), none)
            else:
                n, count, _ = by_site.get((site, window.months), (0, 0, 0))
                part = site_parts.get((site, window.months), none)
            rows.append(
                CompletenessRow(
                    site, window.months, n, count, members(part), members(part, is_answered)
                )
            )
    responders = []
    for window in windows:
        n, _, valued, *hits = by_months.get(window.months, (0, 0, 0, *(0 for _ in thresholds)))
        at = months_parts.get((window.months,), none)
        due_members, valued_members = (
            members(at),
            members(at, is_answered & pl.col("relief").is_not_null()),
        )
        for threshold, count in zip(thresholds, hits, strict=True):
            responders.append(
                ResponderRow(
                    window.months,
                    threshold,
                    count,
                    valued,
                    n,
                    members(at, pl.col("relief") >= threshold),
                    valued_members,
                    due_members,
                )
            )
    return Completeness(as_of, tuple(rows), tuple(responders), tuple(windows), targets_after)


def completeness(
    patients: Iterable[Patient],
    as_of: date,
    windows: Sequence[Window],
    thresholds: Sequence[int] = (30, 50),
) -> Completeness:
    """Completeness of ``patients`` (the call list's and the API's, read by ``read_patients``)."""
    listed = list(patients)
    frame = pl.DataFrame(
        [(i, p.id, p.site, p.fusion_date) for i, p in enumerate(listed)],
        schema={
            KEY: pl.Int64(),
            PATIENT_KEY: pl.Int64(),
            "site": pl.String(),
            "fusion_date": pl.Date(),
        },
        orient="row",
    )
    visits = pl.DataFrame(
        [(i, when, relief) for i, p in enumerate(listed) for when, relief in p.visits],
        schema={KEY: pl.Int64(), "visit_date": pl.Date(), "relief": pl.Float64()},
        orient="row",
    )
    return frame_completeness(frame, visits, as_of, windows, thresholds)


def registry_completeness(
    registry: Registry, as_of: date, windows: Sequence[Window]
) -> Completeness:
    """Completeness of the whole registry (or a freeze: ``cohort.Registry``, every fused
    patient, not only the analysed cohort, whatever the study period) on ``as_of``, for the
    study report: the follow-ups whose target date fell in the ``REPORT_MONTHS`` up to it."""
    patients = registry.patients.select(
        pl.col(PATIENT_KEY).alias(KEY), PATIENT_KEY, "site", "fusion_date"
    )
    visits = registry.visits.select(
        pl.col(PATIENT_KEY).alias(KEY), "visit_date", pl.col(RELIEF.name).alias("relief")
    )
    since = add_months(as_of, -REPORT_MONTHS)
    return frame_completeness(patients, visits, as_of, windows, targets_after=since)


def read_patients(conn: sa.Connection, site_id: int | None) -> list[Patient]:
    """Fused patients (one site's, or all when ``site_id`` is None) with their visits."""
    import sqlalchemy as sa  # the database stack: not for a report from a freeze

    from sijreg.store import schema
    from sijreg.store.scope import set_database_scope

    f, v, p, s = schema.fusion, schema.visit, schema.patient, schema.site
    set_database_scope(conn, site_id, pooled=site_id is None)
    visits: dict[int, list[tuple[date, float | None]]] = {}
    query = sa.select(v.c.patient_id, v.c.visit_date, v.c.pain_relief_pct)
    if site_id is not None:
        query = query.where(v.c.site_id == site_id)
    for pid, when, relief in conn.execute(query):
        visits.setdefault(pid, []).append((when, None if relief is None else float(relief)))
    fused = (
        sa.select(p.c.id, s.c.site_code, f.c.fusion_date)
        .join(f, f.c.patient_id == p.c.id)
        .join(s, s.c.id == p.c.site_id)
        .order_by(p.c.id)
    )
    if site_id is not None:
        fused = fused.where(p.c.site_id == site_id)
    return [
        Patient(code, when, tuple(visits.get(pid, ())), pid)
        for pid, code, when in conn.execute(fused).all()
    ]
