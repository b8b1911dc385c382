"""A deterministic synthetic 8-centre cohort that reproduces the seed paper's Tables 1-3.

Deer et al., J Pain Res 2021;14 (doi 10.2147/JPR.S325059): 111 analysed patients,
51 with FBSS. Every published figure is met exactly (see ``PUBLISHED``); around
them the patients get what a real registry would hold: conservative care before
the advanced intervention, a baseline visit and repeated follow-ups with NRS, ODI
and MEDD, procedure details and a few adverse events. Six more patients are
registered but not analysed (follow-up too short, none yet, not yet fused), so the
report's account of exclusions has something to count.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from sijreg.domain.records import PatientRecord, Values
from sijreg.synthetic.tune import Target, tune

SEED = 20210921
DATA_LOCK = date(2021, 4, 30)
SITES = (
    ("C1", 22),
    ("C2", 18),
    ("C3", 16),
    ("C4", 14),
    ("C5", 13),
    ("C6", 11),
    ("C7", 9),
    ("C8", 8),
)
N, N_FBSS, N_FEMALE = 111, 51, 60

PUBLISHED = {
    "age": Target("69.8", "9.0"),
    "bmi": Target("30.6", "6.2", scale=10),
    "followup_all": Target("290.9", "195.7"),
    "followup_fbss": Target("349.4", "233.4"),
    "relief_all": Target("67.6", "28.9"),
    "relief_fbss": Target("76.5", "25.5"),
}
"""Mean and SD as the paper prints them (its '69.8 ± 9' is 9.0 at one decimal)."""

PRIOR_COMBINATIONS = (
    (("scs",), 67),
    (("iss",), 32),
    (("idds",), 1),
    (("mild",), 2),
    (("scs", "iss"), 7),
    (("scs", "idds"), 2),
)
"""76 SCS, 39 ISS, 3 IDDS, 2 MILD; 9 patients with two (7 SCS+ISS, 2 SCS+IDDS)."""

RELIEF_BANDS = ((0, 29), (30, 49), (50, 79), (80, 100))
RELIEF_COUNTS = {"fbss": (2, 2, 17, 30), "other": (7, 8, 23, 22)}
"""Patients per relief band, from the responder counts: FBSS >= 30/50/80: 49, 47, 30;
all: 102, 92, 52."""


def _banded(rng: random.Random, counts: tuple[int, ...]) -> tuple[list[int], list[int], list[int]]:
    values, low, high = [], [], []
    for (lo, hi), k in zip(RELIEF_BANDS, counts, strict=True):
        for _ in range(k):
            values.append(rng.randint(lo, hi))
            low.append(lo)
            high.append(hi)
    order = list(range(len(values)))
    rng.shuffle(order)
    return [values[i] for i in order], [low[i] for i in order], [high[i] for i in order]


def _two_groups(
    rng: random.Random,
    fbss: tuple[list[int], list[int], list[int]],
    other: tuple[list[int], list[int], list[int]],
    fbss_target: Target,
    all_target: Target,
) -> tuple[list[int], list[int]]:
    """Tune the FBSS group to its figures, then the others so that all together match."""
    tuned_fbss = tune(fbss[0], fbss[1], fbss[2], fbss_target, rng)
    joined = tune(
        tuned_fbss + other[0],
        fbss[1] + other[1],
        fbss[2] + other[2],
        all_target,
        rng,
        movable=[False] * len(tuned_fbss) + [True] * len(other[0]),
    )
    return tuned_fbss, joined[len(tuned_fbss) :]


def _followup(rng: random.Random, k: int, median: float) -> tuple[list[int], list[int], list[int]]:
    values = [min(1095, max(90, round(rng.lognormvariate(0, 0.65) * median))) for _ in range(k)]
    return values, [90] * k, [1095] * k


def _visits(rng: random.Random, fusion: date, last_day: int, relief: int) -> list[Values]:
    baseline_nrs = rng.randint(6, 9)
    baseline_odi = rng.randint(36, 68)
    medd = Decimal(rng.choice((0, 0, 15, 30, 45, 60, 90)))
    visits: list[Values] = [
        {
            "visit_date": fusion - timedelta(days=rng.randint(7, 30)),
            "baseline": True,
            "nrs_pain": baseline_nrs,
            "odi": Decimal(baseline_odi),
            "medd": medd,
        }
    ]
    days = [d for d in (42, 91, 182, 365, 730) if d < last_day - 14] + [last_day]
    for day in days:
        share = (
            relief
            if day == last_day
            else max(0, min(100, round(relief * (0.7 + 0.3 * day / last_day) + rng.randint(-8, 8))))
        )
        jitter = 0 if day == last_day else rng.randint(-5, 5)
        visits.append(
            {
                "visit_date": fusion + timedelta(days=day + jitter),
                "baseline": False,
                "pain_relief_pct": Decimal(share),
                "nrs_pain": round(baseline_nrs * (1 - share / 100)),
                "odi": Decimal(round(baseline_odi * (1 - 0.7 * share / 100))),
                "medd": (medd * Decimal(1 - share / 200)).quantize(Decimal("0.1")),
            }
        )
    return visits


def _conservative_care(rng: random.Random, before: date) -> list[Values]:
    start = before - timedelta(days=rng.randint(400, 1500))
    care: list[Values] = [
        {
            "procedure": "physical_therapy",
            "procedure_date": start,
            "duration_months": rng.randint(6, 18),
        },
        {
            "procedure": "medications",
            "procedure_date": start,
            "duration_months": rng.randint(6, 36),
        },
    ]
    injection = start + timedelta(days=rng.randint(60, 200))
    for _ in range(rng.randint(1, 3)):
        care.append({"procedure": "sij_steroid_injection", "procedure_date": injection})
        injection += timedelta(days=rng.randint(90, 200))
    if rng.random() < 0.35:
        care.append({"procedure": "rfa", "procedure_date": injection + timedelta(days=30)})
    return care


def _fusion(rng: random.Random, on: date) -> Values:
    return {
        "fusion_date": on,
        "side": rng.choices(("left", "right", "bilateral"), (45, 40, 15))[0],
        "approach": "posterior",
        "device": "linq",
        "anaesthesia": "sedation_local" if rng.random() < 0.92 else "general",
        "setting": "outpatient",
        "graft": "dbm",
        "intraop_complication": rng.random() < 0.02,
    }


def _adverse_events(rng: random.Random, fusion: date) -> list[Values]:
    roll = rng.random()
    if roll < 0.04:
        return [
            {
                "event_date": fusion + timedelta(days=rng.randint(5, 20)),
                "event_kind": "infection",
                "severity": "mild",
                "relatedness": "procedure",
                "serious": False,
                "revision": False,
            }
        ]
    if roll < 0.06:
        when = fusion + timedelta(days=rng.randint(60, 200))
        return [
            {
                "event_date": when,
                "event_kind": "migration",
                "severity": "moderate",
                "relatedness": "device",
                "serious": True,
                "revision": True,
                "revision_date": when + timedelta(days=21),
            }
        ]
    return []


def seed_study_cohort(seed: int = SEED) -> list[PatientRecord]:
    """The 117 registered patients (111 analysed) of the synthetic seed study.

    Any ``seed`` gives a different cohort with the same published figures.
    """
    rng = random.Random(seed)
    is_fbss = [True] * N_FBSS + [False] * (N - N_FBSS)
    rng.shuffle(is_fbss)
    fbss_relief, other_relief = _two_groups(
        rng,
        _banded(rng, RELIEF_COUNTS["fbss"]),
        _banded(rng, RELIEF_COUNTS["other"]),
        PUBLISHED["relief_fbss"],
        PUBLISHED["relief_all"],
    )
    fbss_days, other_days = _two_groups(
        rng,
        _followup(rng, N_FBSS, 290),
        _followup(rng, N - N_FBSS, 210),
        PUBLISHED["followup_fbss"],
        PUBLISHED["followup_all"],
    )
    ages = tune(
        [min(89, max(45, round(rng.gauss(70, 9)))) for _ in range(N)],
        [45] * N,
        [89] * N,
        PUBLISHED["age"],
        rng,
    )
    bmis = tune(
        [min(520, max(180, round(rng.gauss(306, 62)))) for _ in range(N)],
        [180] * N,
        [520] * N,
        PUBLISHED["bmi"],
        rng,
    )
    sexes = ["F"] * N_FEMALE + ["M"] * (N - N_FEMALE)
    rng.shuffle(sexes)
    priors = [combo for combo, k in PRIOR_COMBINATIONS for _ in range(k)]
    rng.shuffle(priors)
    sites = [code for code, k in SITES for _ in range(k)]
    records = []
    fbss_iter, other_iter = (
        iter(zip(fbss_relief, fbss_days, strict=True)),
        iter(zip(other_relief, other_days, strict=True)),
    )
    for index in range(N):
        relief, days = next(fbss_iter if is_fbss[index] else other_iter)
        fusion_date = DATA_LOCK - timedelta(days=days + rng.randint(0, 60))
        records.append(
            _patient(
                rng,
                sites[index],
                index + 1,
                {
                    "sex": sexes[index],
                    "age": ages[index],
                    "bmi": Decimal(bmis[index]) / 10,
                    "fbss": is_fbss[index],
                },
                priors[index],
                fusion_date,
                days,
                relief,
            )
        )
    records += _not_analysed(rng)
    return records


def _patient(
    rng: random.Random,
    site: str,
    number: int,
    patient: Values,
    advanced: tuple[str, ...],
    fusion_date: date,
    last_day: int | None,
    relief: int | None,
) -> PatientRecord:
    advanced_date = fusion_date - timedelta(days=rng.randint(300, 1400))
    priors = _conservative_care(rng, advanced_date) + [
        {"procedure": code, "procedure_date": advanced_date - timedelta(days=200 * i)}
        for i, code in enumerate(advanced)
    ]
    visits = (
        _visits(rng, fusion_date, last_day, relief)
        if last_day is not None and relief is not None
        else []
    )
    return PatientRecord(
        site_code=site,
        patient={"study_id": f"{site}-{number:03d}", **patient},
        fusion=_fusion(rng, fusion_date),
        prior_procedures=priors,
        visits=visits,
        adverse_events=_adverse_events(rng, fusion_date),
    )


def _not_analysed(rng: random.Random) -> list[PatientRecord]:
    """Registered patients the report must leave out, each for a different reason."""
    out = []
    for number, (site, lag, day) in enumerate(
        (("C1", 75, 42), ("C3", 80, 60), ("C5", 50, 30), ("C2", 12, None), ("C6", 9, None)),
        start=N + 1,
    ):
        fusion_date = DATA_LOCK - timedelta(days=lag)
        out.append(
            _patient(
                rng,
                site,
                number,
                {
                    "sex": rng.choice("FM"),
                    "age": rng.randint(55, 85),
                    "bmi": Decimal(rng.randint(220, 380)) / 10,
                    "fbss": rng.random() < 0.5,
                },
                ("scs",),
                fusion_date,
                day,
                rng.randint(20, 90) if day else None,
            )
        )
    unfused = _patient(
        rng,
        "C4",
        N + 6,
        {"sex": "F", "age": 66, "bmi": Decimal("29.4"), "fbss": False},
        ("iss",),
        DATA_LOCK,
        None,
        None,
    )
    unfused.fusion = None
    return [*out, unfused]
