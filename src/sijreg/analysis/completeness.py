"""Follow-up completeness by site and time point, and responder rates counted two ways.

A follow-up is *due* on the reference date when it was answered (a visit in its
window) or its window has closed (missed): follow-ups whose window is still open
and unanswered are not yet counted either way. Completeness = answered / due.

Responder rates at each time point, each labelled:

- complete case: responders / patients who answered (relief recorded at the visit);
- missing counted as not a responder (as US quality measures count a patient not
  assessed as "not met", e.g. MIPS 459/469): responders / patients due.

The windows are the schedule's (``domain.schedule``), the ones patients are invited
in; the visit of a window is the one closest to its target date (earlier on a tie).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import polars as pl
import sqlalchemy as sa

from sijreg.analysis.cohort import Registry
from sijreg.analysis.describe import PATIENT_KEY, TRACKING_MEMBERS, members
from sijreg.analysis.variables import RELIEF
from sijreg.domain.followup import State, time_points, window_dates
from sijreg.domain.schedule import DEFAULT_WINDOWS, Window
from sijreg.store import schema
from sijreg.store.scope import set_database_scope


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


def _window_relief(patient: Patient, window: Window) -> tuple[bool, float | None]:
    """(a visit in the window, the relief of the visit closest to the target)."""
    target, opens, closes = window_dates(patient.fusion_date, window)
    inside = [v for v in patient.visits if opens <= v[0] <= closes]
    if not inside:
        return False, None
    closest = min(inside, key=lambda v: (abs((v[0] - target).days), v[0]))
    return True, closest[1]


def _members(ids: Iterable[int]) -> int:
    """Patient ids as the bit set ``describe.members`` makes (0 when sets are not tracked)."""
    if not TRACKING_MEMBERS.get():
        return 0
    return members(pl.DataFrame({PATIENT_KEY: list(ids)}, schema={PATIENT_KEY: pl.Int64}))


def completeness(
    patients: Iterable[Patient],
    as_of: date,
    windows: Sequence[Window],
    thresholds: Sequence[int] = (30, 50),
) -> Completeness:
    due: dict[tuple[str, int], list[int]] = {}
    answered: dict[tuple[str, int], list[int]] = {}
    relief: dict[int, list[tuple[int, float | None]]] = {w.months: [] for w in windows}
    due_all: dict[int, list[int]] = {w.months: [] for w in windows}
    for patient in patients:
        points = time_points(patient.fusion_date, [v[0] for v in patient.visits], as_of, windows)
        for window, point in zip(windows, points, strict=True):
            if not point.counts_as_due:
                continue
            key = (patient.site, window.months)
            due.setdefault(key, []).append(patient.id)
            due_all[window.months].append(patient.id)
            if point.state is State.ANSWERED:
                answered.setdefault(key, []).append(patient.id)
                relief[window.months].append((patient.id, _window_relief(patient, window)[1]))
    sites = sorted({site for site, _ in due})

    def row(site: str, months: int, chosen: Sequence[str]) -> CompletenessRow:
        due_ids = [i for s in chosen for i in due.get((s, months), [])]
        answered_ids = [i for s in chosen for i in answered.get((s, months), [])]
        return CompletenessRow(
            site,
            months,
            len(due_ids),
            len(answered_ids),
            _members(due_ids),
            _members(answered_ids),
        )

    rows = [row(site, w.months, [site]) for site in sites for w in windows]
    rows += [row("All", w.months, sites) for w in windows]
    responders = []
    for w in windows:
        valued = [(i, r) for i, r in relief[w.months] if r is not None]
        for t in thresholds:
            chosen = [i for i, r in valued if r >= t]
            responders.append(
                ResponderRow(
                    w.months,
                    t,
                    len(chosen),
                    len(valued),
                    len(due_all[w.months]),
                    _members(chosen),
                    _members(i for i, _ in valued),
                    _members(due_all[w.months]),
                )
            )
    return Completeness(as_of, tuple(rows), tuple(responders), tuple(windows))


def registry_patients(registry: Registry) -> list[Patient]:
    """The fused patients of the analysis frames (``cohort.Registry``, read from the registry
    or a freeze) with their visits: completeness counts the whole registry, not the cohort."""
    fused = registry.patients.filter(pl.col("fusion_date").is_not_null()).select(
        PATIENT_KEY, "site", "fusion_date"
    )
    visits = registry.visits.group_by(PATIENT_KEY).agg("visit_date", RELIEF.name)
    joined = fused.join(visits, on=PATIENT_KEY, how="left").sort(PATIENT_KEY)
    return [
        Patient(site, fusion, tuple(zip(dates or (), reliefs or (), strict=True)), pid)
        for pid, site, fusion, dates, reliefs in joined.iter_rows()
    ]


def registry_completeness(
    registry: Registry, as_of: date, windows: Sequence[Window] = DEFAULT_WINDOWS
) -> Completeness:
    """Completeness of the whole registry (or freeze) on ``as_of``, for the study report."""
    return completeness(registry_patients(registry), as_of, windows)


def read_patients(conn: sa.Connection, site_id: int | None) -> list[Patient]:
    """Fused patients (one site's, or all when ``site_id`` is None) with their visits."""
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
