"""The synthetic follow-up cohort: its completeness reconciles with its invitations and visits."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa

from sijreg.analysis.completeness import completeness, read_patients
from sijreg.domain.followup import DEFAULT_REMINDER_DAYS
from sijreg.domain.schedule import DEFAULT_WINDOWS
from sijreg.interop.instrument_file import default_instruments
from sijreg.store import schema
from sijreg.store.accounts import find_site
from sijreg.store.writer import save_patients
from sijreg.synthetic.followup_demo import recent_cohort, simulate

TODAY = date(2026, 11, 30)
SITES = ["A1", "A2", "A3", "A4"]


def test_completeness_reconciles_with_invitations_and_visits(engine: sa.Engine) -> None:
    inv = schema.invitation
    with engine.begin() as conn:
        save_patients(conn, recent_cohort(SITES, TODAY), reason="test")
        ids = [find_site(conn, code) for code in SITES]
        site_ids = [i for i in ids if i is not None]
        invited, answered = simulate(
            conn, site_ids, TODAY, DEFAULT_WINDOWS, DEFAULT_REMINDER_DAYS, default_instruments()
        )
        found = completeness(read_patients(conn, None), TODAY, DEFAULT_WINDOWS)
        completed = conn.execute(
            sa.select(sa.func.count()).where(inv.c.completed_at.is_not(None))
        ).scalar_one()
        visits = conn.execute(sa.select(sa.func.count()).select_from(schema.visit)).scalar_one()
        closed = conn.execute(
            sa.select(sa.func.count()).where(inv.c.closes < TODAY, inv.c.completed_at.is_(None))
        ).scalar_one()
        sources = set(conn.execute(sa.select(schema.visit.c.source)).scalars())
    pooled = [r for r in found.rows if r.site == "All"]
    assert answered == completed == visits == sum(r.answered for r in pooled)
    assert sum(r.due for r in pooled) == answered + closed
    assert invited >= answered > 0
    assert sources <= {"patient_web", "phone", "paper"}
    by_site = {r.site: r for r in found.rows if r.months == 12}
    assert by_site["A4"].answered / by_site["A4"].due < by_site["A1"].answered / by_site["A1"].due
