"""Loading the synthetic seed study into a registry: its patients, screening log and decisions,
and a recent follow-up cohort with invitations and simulated answers.

``sijreg demo`` runs this, then writes the report for the seed study's period
(``SEED_PERIOD``: fusions up to its data lock), so Tables 1-3 stay the paper's while the
follow-up completeness, its figure and the call list show the recent cohort. A registry
that holds other sites' patients is refused, so the demo never mixes with real work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from sijreg.analysis.cohort import StudyPeriod
from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import Protocol
from sijreg.store.screenings import judge, load_screenings, save_screenings
from sijreg.store.writer import SaveSummary, save_patients
from sijreg.synthetic.screening_log import seed_study_screenings
from sijreg.synthetic.seed_study import DATA_LOCK, seed_study_cohort

SEED_PERIOD = StudyPeriod(fused_until=DATA_LOCK)
"""The seed study's period: its patients were fused by its data lock; the recent
follow-up cohort lies after it."""


class OtherSites(ValueError):
    """The registry holds sites the demo does not: load it into a registry of its own."""

    def __init__(self, sites: list[str]) -> None:
        super().__init__(f"already holds other sites ({', '.join(sites)})")
        self.sites = sites


@dataclass(frozen=True)
class DemoLoaded:
    patients: SaveSummary
    screenings: SaveSummary
    follow_up: tuple[int, int, int]
    """Recent patients, invitations issued, invitations answered (0, 0 when loaded before)."""


def load_demo(engine: sa.Engine, protocol: Protocol) -> DemoLoaded:
    """Save (or refresh) the seed study's cohort and screening log, judged by ``protocol``,
    and the recent follow-up cohort.

    One transaction: on OtherSites nothing is written.
    """
    records = seed_study_cohort()
    demo_sites = {r.site_code for r in records}
    with engine.begin() as conn:
        present = conn.execute(sa.text("SELECT site_code FROM site")).scalars().all()
        foreign = sorted(set(present) - demo_sites)
        if foreign:
            raise OtherSites(foreign)
        patients = save_patients(
            conn,
            records,
            owned_procedures=dd.PRIOR_PROCEDURE.field("procedure").codes,
            reason="synthetic demo cohort (sijreg demo)",
        )
        screenings = save_screenings(
            conn,
            seed_study_screenings(records),
            reason="synthetic demo screening log (sijreg demo)",
        )
        judge(conn, protocol, load_screenings(conn))
        recent = _follow_up(conn, sorted(demo_sites))
    return DemoLoaded(patients, screenings, recent)


def _follow_up(conn: sa.Connection, site_codes: list[str]) -> tuple[int, int, int]:
    """Recent synthetic patients with invitations and simulated answers (docs/follow-up.md),
    simulated once: a registry that already has invitations keeps its own."""
    from sijreg.interop.instrument_file import default_instruments
    from sijreg.store import schema
    from sijreg.store.accounts import find_site
    from sijreg.store.registry_settings import reminder_days, visit_windows
    from sijreg.synthetic.followup_demo import recent_cohort, simulate

    today = datetime.now(UTC).date()
    recent = recent_cohort(site_codes, today)
    save_patients(conn, recent, reason="synthetic follow-up demo patients (sijreg demo)")
    if conn.execute(sa.select(schema.invitation.c.id).limit(1)).first() is not None:
        return len(recent), 0, 0
    site_ids = [i for i in (find_site(conn, code) for code in site_codes) if i is not None]
    windows, days = visit_windows(conn), reminder_days(conn)
    invited, answered = simulate(conn, site_ids, today, windows, days, default_instruments())
    return len(recent), invited, answered
