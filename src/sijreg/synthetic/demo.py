"""Loading the synthetic seed study into a registry: its patients, screening log and decisions.

``sijreg demo`` runs this, then writes the report; a registry that holds other sites'
patients is refused, so the demo never mixes with real work.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import Protocol
from sijreg.store.screenings import judge, load_screenings, save_screenings
from sijreg.store.writer import SaveSummary, save_patients
from sijreg.synthetic.screening_log import seed_study_screenings
from sijreg.synthetic.seed_study import seed_study_cohort


class OtherSites(ValueError):
    """The registry holds sites the demo does not: load it into a registry of its own."""

    def __init__(self, sites: list[str]) -> None:
        super().__init__(f"already holds other sites ({', '.join(sites)})")
        self.sites = sites


@dataclass(frozen=True)
class DemoLoaded:
    patients: SaveSummary
    screenings: SaveSummary
    follow_up: tuple[int, int, int] | None = None
    """With ``follow_up``: recent patients, invitations issued, invitations answered."""


def load_demo(engine: sa.Engine, protocol: Protocol, *, follow_up: bool = False) -> DemoLoaded:
    """Save (or refresh) the seed study's cohort and screening log, judged by ``protocol``.

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
        recent = _follow_up(conn, sorted(demo_sites)) if follow_up else None
    return DemoLoaded(patients, screenings, recent)


def _follow_up(conn: sa.Connection, site_codes: list[str]) -> tuple[int, int, int]:
    """Recent synthetic patients with invitations and simulated answers (docs/follow-up.md)."""
    from sijreg.domain.schedule import DEFAULT_WINDOWS
    from sijreg.interop.instrument_file import default_instruments
    from sijreg.store.accounts import find_site
    from sijreg.synthetic.followup_demo import recent_cohort, simulate

    today = datetime.now(UTC).date()
    recent = recent_cohort(site_codes, today)
    save_patients(conn, recent, reason="synthetic follow-up demo patients (sijreg demo)")
    site_ids = [i for i in (find_site(conn, code) for code in site_codes) if i is not None]
    invited, answered = simulate(conn, site_ids, today, DEFAULT_WINDOWS, default_instruments())
    return len(recent), invited, answered
