"""The synthetic seed study's screening log: every registered patient, and those turned away.

Each of the 117 registered patients has an eligible screening that agrees with
their record (advanced interventions, conservative care). Around them, candidates
who were never enrolled: some fail one or several criteria (with values on the
boundaries: exactly 50% block relief, 5.9 months, 2 of 5 manoeuvres), some are
incomplete, a few eligible ones declined. A separate random stream keeps the
patients, and so Tables 1-3, exactly as ``seed_study_cohort`` makes them.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord, ScreeningRecord, Values
from sijreg.synthetic.seed_study import DATA_LOCK, SEED, SITES

MANOEUVRES = tuple(f.name for f in dd.SCREENING.fields if f.name.startswith("test_"))

ADVANCED = tuple(f"advanced_{code}" for code in dd.ADVANCED_PROCEDURES)
_POS, _NEG, _NOT = "positive", "negative", "not_done"
NOT_ENROLLED: tuple[Values, ...] = (
    {"block_relief_pct": Decimal("50.0")},
    {"block_relief_pct": Decimal("42.5")},
    {"block_relief_pct": Decimal("30.0")},
    {"block_relief_pct": Decimal("20.0")},
    dict(zip(MANOEUVRES, (_POS, _POS, _NEG, _NEG, _NEG), strict=True)),
    dict(zip(MANOEUVRES, (_NEG, _POS, _NEG, _NEG, _NEG), strict=True)),
    dict(zip(MANOEUVRES, (_POS, _NEG, _POS, _NEG, _NOT), strict=True)),
    {"pain_character": "radicular"},
    {"pain_character": "radicular"},
    {"pain_below_belt_line": False},
    {"conservative_months": Decimal("5.9")},
    {"conservative_months": Decimal("4.0")},
    dict.fromkeys(ADVANCED, False),
    dict.fromkeys(ADVANCED, False),
    {"pain_character": "radicular", "block_relief_pct": Decimal("40.0")},
    {"block_image_guided": False},
    {
        **dict(zip(MANOEUVRES, (_POS, _POS, _NEG, _NEG, _NEG), strict=True)),
        "conservative_months": Decimal("3.0"),
    },
    {"block_relief_pct": None},
    {"block_relief_pct": None, "block_date": None},
    dict(zip(MANOEUVRES, (_POS, _NOT, _POS, _NOT, _NEG), strict=True)),
    {"conservative_months": None},
    dict.fromkeys(ADVANCED),
    {},
    {},
    {},
)
"""What sets each never-enrolled candidate apart from an eligible one: 16 fail at least
one criterion, 6 are incomplete (one with 2 positive manoeuvres and one not done: the
third could still be positive), 3 were eligible and not enrolled."""


def _eligible(rng: random.Random, screened: date, advanced: set[str]) -> Values:
    positives = rng.randint(3, 5)
    results = [_POS] * positives + [rng.choice((_NEG, _NEG, _NOT)) for _ in range(5 - positives)]
    rng.shuffle(results)
    return {
        "screening_date": screened,
        "pain_below_belt_line": True,
        "pain_character": "non_radicular",
        **dict(zip(MANOEUVRES, results, strict=True)),
        "block_image_guided": True,
        "block_local_anaesthetic": True,
        "block_date": screened - timedelta(days=rng.randint(7, 28)),
        "block_relief_pct": Decimal(rng.randint(510, 1000)) / 10,
        "conservative_physical_therapy": True,
        "conservative_medications": True,
        **{f"advanced_{code}": code in advanced for code in dd.ADVANCED_PROCEDURES},
    }


def _for_patient(rng: random.Random, record: PatientRecord) -> Values:
    fusion = record.fusion_date or DATA_LOCK
    codes = {str(p["procedure"]) for p in record.prior_procedures}
    months = [
        int(str(p["duration_months"]))
        for p in record.prior_procedures
        if p.get("duration_months") is not None
    ]
    return {
        **_eligible(rng, fusion - timedelta(days=rng.randint(30, 90)), codes),
        "conservative_months": Decimal(max(months, default=6)),
        "conservative_injections": "sij_steroid_injection" in codes,
    }


def seed_study_screenings(records: list[PatientRecord]) -> list[ScreeningRecord]:
    """The screening log of the synthetic seed study, for the given registered patients."""
    rng = random.Random(SEED + 4)
    log: list[tuple[str, Values, str | None]] = [
        (r.site_code, _for_patient(rng, r), r.study_id) for r in records
    ]
    for overrides in NOT_ENROLLED:
        site = rng.choice([code for code, _ in SITES])
        screened = DATA_LOCK - timedelta(days=rng.randint(60, 900))
        values = _eligible(rng, screened, {rng.choice(dd.ADVANCED_PROCEDURES)})
        values |= {
            "conservative_months": Decimal(rng.randint(60, 240)) / 10,
            "conservative_injections": rng.random() < 0.7,
        }
        log.append((site, values | overrides, None))
    rng.shuffle(log)
    numbers: dict[str, int] = {}
    out = []
    for site, values, study_id in log:
        numbers[site] = numbers.get(site, 0) + 1
        out.append(
            ScreeningRecord(
                site, {"screening_number": f"{site}-S{numbers[site]:03d}", **values}, study_id
            )
        )
    return out
