"""A synthetic follow-up cohort: recent fusions, their invitations and simulated answers.

Made by the project, never real patients. Each demo site enrols patients fused over
the last 30 months; every follow-up whose window has opened gets an invitation, the
messages the schedule would have sent, and an answer with the site's propensity:
about 70% overall at 12 months, lower and later at the last sites (the Swedish
spine registry's 30-90% by clinic). Answers come in on the web, by phone or on
paper and go through the same questionnaire and submission as a real patient's.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from sijreg.domain.questionnaire import Instrument
from sijreg.domain.records import PatientRecord
from sijreg.domain.schedule import Window, add_months
from sijreg.store import followup, schema

SEED = 14
PATIENTS_PER_SITE = 24
LOW_RESPONSE_SITES = 3
"""The last sites answer less (half) and later in the window than the others (84%):
about 70% overall."""


def recent_cohort(site_codes: Sequence[str], today: date) -> list[PatientRecord]:
    """Patients fused 1 to 30 months before ``today`` at each site (study ids F-<site>-nn)."""
    rng = random.Random(SEED)
    records = []
    for code in site_codes:
        for n in range(1, PATIENTS_PER_SITE + 1):
            fused = add_months(today, -rng.randint(1, 30)) - timedelta(days=rng.randint(0, 27))
            records.append(
                PatientRecord(
                    code,
                    {
                        "study_id": f"F-{code}-{n:02d}",
                        "sex": rng.choice(("F", "M")),
                        "age": rng.randint(45, 85),
                    },
                    fusion={"fusion_date": fused},
                )
            )
    return records


def _answers(rng: random.Random, relief: float) -> dict[str, str]:
    nrs = max(0, min(10, round(7 * (1 - relief / 100) + rng.gauss(0, 1))))
    pgic = ("very_much_improved", "much_improved", "minimally_improved", "no_change")
    odi = max(0, min(5, round(3 * (1 - relief / 100) + rng.gauss(0.5, 0.8))))
    return {
        "pain_relief_pct": str(round(relief)),
        "nrs_pain": str(nrs),
        "nrs_pain_week": str(min(10, nrs + rng.randint(0, 1))),
        "pgic": pgic[min(3, int((100 - relief) / 25))],
        "opioid_use": rng.choice(("yes", "no", "no")),
        **{f"odi_{s}_answer": f"s{max(0, min(5, odi + rng.randint(-1, 1)))}" for s in range(1, 11)},
    }


def simulate(
    conn: sa.Connection,
    site_ids: Sequence[int],
    today: date,
    windows: Sequence[Window],
    reminder_days: Sequence[int],
    instruments: Sequence[Instrument],
) -> tuple[int, int]:
    """Invitations for every opened window, the messages sent on ``reminder_days`` and
    simulated answers; returns (invited, answered)."""
    rng = random.Random(SEED + 1)
    key = followup.new_key()  # the demo keeps no key: its links are never handed out
    invited = answered = 0
    for rank, site_id in enumerate(site_ids):
        low = rank >= len(site_ids) - LOW_RESPONSE_SITES
        propensity, lateness = (0.5, 0.8) if low else (0.84, 0.4)
        # issued as if 30 months ago: every follow-up of these patients gets its invitation
        followup.issue(conn, site_id, key, today - timedelta(days=915), windows, instruments)
        inv = schema.invitation
        rows = conn.execute(
            sa.select(inv.c.id, inv.c.patient_id, inv.c.months, inv.c.opens, inv.c.closes).where(
                inv.c.site_id == site_id, inv.c.opens <= today
            )
        ).all()
        for row in rows:
            invited += 1
            last = min(today, row.closes)
            for day in reminder_days:
                sent = row.opens + timedelta(days=day)
                if sent <= last:
                    followup.record_sent(conn, row.id, _moment(sent))
            if rng.random() >= propensity:
                continue
            span = (row.closes - row.opens).days
            when = row.opens + timedelta(
                days=int(span * min(1.0, rng.betavariate(2, 2) * lateness * 2))
            )
            if when > today:
                continue
            relief = max(0.0, min(100.0, rng.gauss(66, 27)))
            source = rng.choices(("patient_web", "phone", "paper"), (0.6, 0.25, 0.15))[0]
            followup.submit(
                conn,
                site_id,
                row.patient_id,
                row.months,
                instruments,
                _answers(rng, relief),
                source,
                when,
            )
            answered += 1
    return invited, answered


def _moment(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 9, tzinfo=UTC)
