"""Seeded random registries for the analysis tests: messy on purpose.

Missing values, ages above 90, decimals, several sites of very different sizes,
visits at irregular days (some outside every window), and patients who are not
analysed. Every value passes through Field.parse, as an import would.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord, Values
from sijreg.store import schema
from sijreg.store.writer import save_patients

PROCEDURES = ("scs", "iss", "idds", "mild")


def _parse(values: dict[str, object]) -> Values:
    return {name: dd.field(name).parse(raw) for name, raw in values.items()}


def random_registry(seed: int, n: int = 80, sites: int = 4) -> list[PatientRecord]:
    rng = random.Random(seed)
    site_codes = [f"S{i + 1}" for i in range(sites)]
    weights = [rng.uniform(0.2, 3) for _ in site_codes]
    records = []
    for number in range(n):
        site = rng.choices(site_codes, weights)[0]
        fusion = date(2020, 1, 1) + timedelta(days=rng.randint(0, 600))
        patient = _parse(
            {
                "study_id": f"{site}-{number:04d}",
                "sex": None if rng.random() < 0.05 else rng.choice("FFM"),
                "age": rng.choice([rng.randint(40, 89), rng.randint(40, 89), rng.randint(88, 97)]),
                "bmi": None if rng.random() < 0.08 else f"{min(60, max(15, rng.gauss(30, 6))):.1f}",
                "fbss": None if rng.random() < 0.03 else int(rng.random() < 0.45),
            }
        )
        last_day = rng.choice([rng.randint(30, 89), *[rng.randint(90, 900)] * 9])
        effect = rng.betavariate(2.5, 1.2)
        visits = [
            _parse(
                {
                    "visit_date": (fusion - timedelta(days=rng.randint(0, 40))).isoformat(),
                    "baseline": "1",
                    "nrs_pain": rng.randint(5, 10),
                    "odi": f"{rng.uniform(30, 80):.1f}",
                }
            )
        ]
        days = sorted(
            {
                d
                for d in (rng.randint(20, last_day) for _ in range(rng.randint(0, 5)))
                if d < last_day
            }
        )
        for day in [*days, last_day]:
            relief = min(100.0, max(0.0, 100 * effect + rng.gauss(0, 12)))
            visits.append(
                _parse(
                    {
                        "visit_date": (fusion + timedelta(days=day)).isoformat(),
                        "pain_relief_pct": None if rng.random() < 0.04 else f"{relief:.1f}",
                        "nrs_pain": None if rng.random() < 0.1 else rng.randint(0, 8),
                        "odi": None if rng.random() < 0.1 else f"{rng.uniform(5, 60):.1f}",
                    }
                )
            )
        chosen = rng.sample(PROCEDURES, k=rng.choice([1, 1, 1, 2]))
        records.append(
            PatientRecord(
                site_code=site,
                patient=patient,
                fusion=_parse(
                    {
                        "fusion_date": fusion.isoformat(),
                        "side": rng.choice(["left", "right", "bilateral"]),
                    }
                ),
                prior_procedures=[_parse({"procedure": code}) for code in chosen],
                visits=visits,
            )
        )
    return records


def _days(visit: Values, fusion: date) -> int:
    when = visit["visit_date"]
    assert isinstance(when, date)
    return (when - fusion).days


def _float(value: object) -> float | None:
    return None if value is None else float(value)  # type: ignore[arg-type]


def analysed(records: list[PatientRecord], min_days: int = 90) -> list[dict[str, Any]]:
    """The patients a report must analyse, computed here from the records, not the store."""
    out = []
    for r in records:
        fusion = r.fusion_date
        if fusion is None:
            continue
        after = [v for v in r.visits if v["visit_date"] > fusion]  # type: ignore[operator]
        if not after:
            continue
        last = max(after, key=lambda v: v["visit_date"])  # type: ignore[arg-type,return-value]
        days = _days(last, fusion)
        if days < min_days:
            continue
        codes = {p["procedure"] for p in r.prior_procedures}
        out.append(
            {
                "site": r.site_code,
                "sex": r.patient.get("sex"),
                "age": r.patient.get("age"),
                "bmi": _float(r.patient.get("bmi")),
                "fbss": r.patient.get("fbss"),
                **{f"prior_{c}": c in codes for c in PROCEDURES},
                "followup_days": days,
                "relief": _float(last.get("pain_relief_pct")),
                "visits": [
                    {
                        "day": _days(v, fusion),
                        **{m: _float(v.get(m)) for m in ("pain_relief_pct", "nrs_pain", "odi")},
                    }
                    for v in r.visits
                ],
            }
        )
    return out


def store(engine: sa.Engine, records: list[PatientRecord]) -> None:
    """Empty the registry, then save ``records`` (one transaction)."""
    with engine.begin() as conn:
        for table in reversed(schema.metadata.sorted_tables):
            if table.name != "audit_log":  # append-only by design
                conn.execute(table.delete())
        save_patients(conn, records, owned_procedures=PROCEDURES)
