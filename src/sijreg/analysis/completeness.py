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
from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from sijreg.domain.followup import State, time_points, window_dates
from sijreg.domain.schedule import Window
from sijreg.store import schema
from sijreg.store.scope import set_database_scope


@dataclass(frozen=True)
class Patient:
    site: str
    fusion_date: date
    visits: tuple[tuple[date, float | None], ...]
    """(visit date, pain relief %) of each visit."""


@dataclass(frozen=True)
class CompletenessRow:
    site: str
    months: int
    due: int
    answered: int

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


def _window_relief(patient: Patient, window: Window) -> tuple[bool, float | None]:
    """(a visit in the window, the relief of the visit closest to the target)."""
    target, opens, closes = window_dates(patient.fusion_date, window)
    inside = [v for v in patient.visits if opens <= v[0] <= closes]
    if not inside:
        return False, None
    closest = min(inside, key=lambda v: (abs((v[0] - target).days), v[0]))
    return True, closest[1]


def completeness(
    patients: Iterable[Patient],
    as_of: date,
    windows: Sequence[Window],
    thresholds: Sequence[int] = (30, 50),
) -> Completeness:
    due: dict[tuple[str, int], int] = {}
    answered: dict[tuple[str, int], int] = {}
    relief: dict[int, list[float | None]] = {w.months: [] for w in windows}
    due_all: dict[int, int] = {w.months: 0 for w in windows}
    for patient in patients:
        points = time_points(patient.fusion_date, [v[0] for v in patient.visits], as_of, windows)
        for window, point in zip(windows, points, strict=True):
            if not point.counts_as_due:
                continue
            key = (patient.site, window.months)
            due[key] = due.get(key, 0) + 1
            due_all[window.months] += 1
            if point.state is State.ANSWERED:
                answered[key] = answered.get(key, 0) + 1
                relief[window.months].append(_window_relief(patient, window)[1])
    sites = sorted({site for site, _ in due})
    rows = [
        CompletenessRow(
            site, w.months, due.get((site, w.months), 0), answered.get((site, w.months), 0)
        )
        for site in sites
        for w in windows
    ]
    rows += [
        CompletenessRow(
            "All",
            w.months,
            sum(due.get((s, w.months), 0) for s in sites),
            sum(answered.get((s, w.months), 0) for s in sites),
        )
        for w in windows
    ]
    responders = [
        ResponderRow(
            w.months,
            t,
            sum(1 for r in relief[w.months] if r is not None and r >= t),
            sum(1 for r in relief[w.months] if r is not None),
            due_all[w.months],
        )
        for w in windows
        for t in thresholds
    ]
    return Completeness(as_of, tuple(rows), tuple(responders))


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
        Patient(code, when, tuple(visits.get(pid, ())))
        for pid, code, when in conn.execute(fused).all()
    ]
