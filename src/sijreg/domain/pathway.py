"""A patient's care pathway: the treatment history in order, checked against the protocol's rules.

The clinic page's road to fusion (conservative care, steroid SIJ injections, RFA,
fusion) is shown as a timeline; what breaks the protocol's ``[pathway]`` rules is
flagged, and a plain statement says where the patient stands under the protocol.
Pure, for the CLI and the web alike. It supports protocol screening; it is not
medical advice, and says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import pairwise
from typing import Any

from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import PathwayRules, Protocol
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.screening import DISCLAIMER, Decision, evaluate, shown

INJECTION = "sij_steroid_injection"
RFA = "rfa"


@dataclass(frozen=True)
class Step:
    """One event of the pathway; ``when`` is None when only the year (or nothing) is known."""

    when: date | None
    year: int | None
    stage: str
    text: str
    flag: str = ""

    @property
    def date_text(self) -> str:
        if self.when is not None:
            return self.when.isoformat()
        return str(self.year) if self.year is not None else "date not recorded"

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.date_text,
            "stage": self.stage,
            "text": self.text,
            "flag": self.flag or None,
        }


@dataclass(frozen=True)
class Pathway:
    """The timeline, its flags and where the patient stands under the protocol."""

    site_code: str
    study_id: str
    protocol: str
    steps: tuple[Step, ...]
    flags: tuple[str, ...]
    standing: tuple[str, ...]
    decision: Decision | None
    disclaimer: str = DISCLAIMER

    def as_dict(self) -> dict[str, Any]:
        return {
            "site": self.site_code,
            "study_id": self.study_id,
            "protocol": self.protocol,
            "disclaimer": self.disclaimer,
            "standing": list(self.standing),
            "flags": list(self.flags),
            "steps": [s.as_dict() for s in self.steps],
            "screening": None if self.decision is None else self.decision.as_dict(),
        }


def _label(code: object) -> str:
    return dd.PRIOR_PROCEDURE.field("procedure").choice_label(str(code))


def _dated(procedures: list[Values], code: str) -> list[date]:
    dates = [p.get("procedure_date") for p in procedures if p["procedure"] == code]
    return sorted(d for d in dates if isinstance(d, date))


def injection_flag(dates: list[date], rules: PathwayRules) -> tuple[str, set[date]]:
    """The busiest window with more injections than the rules allow, and its injections."""
    most, days = rules.steroid_injection_max, rules.steroid_injection_window_days
    if most is None or days is None:
        return "", set()
    busiest: list[date] = []
    for start in dates:
        inside = [d for d in dates if start <= d < start + timedelta(days=days)]
        if len(inside) > max(most, len(busiest)):
            busiest = inside
    if not busiest:
        return "", set()
    return (
        f"{len(busiest)} steroid SIJ injections within {days} days "
        f"({busiest[0].isoformat()} to {busiest[-1].isoformat()}): the protocol's pathway "
        f"rules allow at most {most}",
        set(busiest),
    )


def rfa_flag(dates: list[date], rules: PathwayRules) -> tuple[str, list[int]]:
    """The flag for repeated RFA (empty when within the rules) and the intervals in days."""
    intervals = [(later - earlier).days for earlier, later in pairwise(dates)]
    limit = rules.rfa_max_without_flag
    if limit is None or len(dates) <= limit:
        return "", intervals
    return (
        f"RFA repeated: {len(dates)} treatments, "
        f"{', '.join(str(i) for i in intervals) or 'undated'} days apart"
        f" (the protocol's pathway rules flag more than {limit})",
        intervals,
    )


def _procedure_steps(procedures: list[Values], rules: PathwayRules) -> tuple[list[Step], list[str]]:
    injection_text, flagged = injection_flag(_dated(procedures, INJECTION), rules)
    rfa_dates = _dated(procedures, RFA)
    rfa_text, intervals = rfa_flag(rfa_dates, rules)
    steps = []
    for p in procedures:
        code, when = p["procedure"], p.get("procedure_date")
        when = when if isinstance(when, date) else None
        year = p.get("procedure_year")
        text, flag = _label(code), ""
        if code in dd.ADVANCED_PROCEDURES:
            stage = "advanced intervention"
        elif code == INJECTION:
            stage = "steroid injection"
            flag = injection_text if when in flagged else ""
        elif code == RFA:
            stage = "radiofrequency ablation"
            if when in rfa_dates and rfa_dates.index(when) > 0:
                text += f" (repeat, {intervals[rfa_dates.index(when) - 1]} days after the last)"
            flag = rfa_text
        else:
            stage = "conservative care"
        if p.get("duration_months") is not None:
            text += f", tried {p['duration_months']} months"
        steps.append(Step(when, year if isinstance(year, int) else None, stage, text, flag))
    return steps, [f for f in (injection_text, rfa_text) if f]


def _fusion_steps(patient: PatientRecord) -> list[Step]:
    fusion_date = patient.fusion_date
    steps = []
    if patient.fusion is not None:
        details = [
            shown(dd.FUSION.field(name), patient.fusion.get(name))
            for name in ("side", "approach", "device")
            if patient.fusion.get(name) is not None
        ]
        text = "Index SIJ fusion" + (f" ({', '.join(details)})" if details else "")
        steps.append(Step(fusion_date, None, "fusion", text))
    for visit in patient.visits:
        when = visit["visit_date"]
        assert isinstance(when, date)
        marked = visit.get("baseline") is True  # the flag decides, as in the analyses
        after = not marked and fusion_date is not None and when > fusion_date
        text = (
            f"Follow-up, day {(when - fusion_date).days}"
            if fusion_date is not None and after
            else "Baseline visit"
        )
        measures = [
            f"{dd.VISIT.field(name).label}: {shown(dd.VISIT.field(name), visit.get(name))}"
            for name in ("pain_relief_pct", "nrs_pain", "odi", "medd")
            if visit.get(name) is not None
        ]
        text += ": " + "; ".join(measures) if measures else ""
        steps.append(Step(when, None, "follow-up" if after else "baseline", text))
    for event in patient.adverse_events:
        kind = shown(dd.ADVERSE_EVENT.field("event_kind"), event["event_kind"])
        assert isinstance(event["event_date"], date)
        steps.append(Step(event["event_date"], None, "adverse event", kind))
    return steps


def _order(step: Step) -> tuple[date, int]:
    if step.when is not None:
        return step.when, 1
    return (date(step.year, 1, 1), 0) if step.year is not None else (date.min, 0)


def care_pathway(
    patient: PatientRecord,
    protocol: Protocol,
    screening: Values | None = None,
    screening_label: str = "",
) -> Pathway:
    """The pathway of ``patient``, with their linked screening (if any) judged by ``protocol``."""
    steps, flags = _procedure_steps(patient.prior_procedures, protocol.pathway)
    steps += _fusion_steps(patient)
    decision = None
    if screening is None:
        standing = [
            f"No screening record is linked to this patient, so the registry cannot say where "
            f"they stand under {protocol.name}."
        ]
    else:
        decision = evaluate(protocol, screening)
        standing = [f"Screening {screening_label} under {protocol.name}: {decision.summary}."]
        for name in ("block_date", "screening_date"):
            when = screening.get(name)
            if isinstance(when, date):
                steps.append(Step(when, None, "screening", dd.SCREENING.field(name).label))
    fusion_date = patient.fusion_date
    visits = [v["visit_date"] for v in patient.visits if isinstance(v["visit_date"], date)]
    followups = [d for d in visits if fusion_date is not None and d > fusion_date]
    if fusion_date is None:
        standing.append("No index fusion is recorded.")
    elif followups:
        last = max(followups)
        standing.append(
            f"Fused on {fusion_date.isoformat()}; last follow-up {last.isoformat()}, "
            f"{(last - fusion_date).days} days after the fusion."
        )
    else:
        standing.append(f"Fused on {fusion_date.isoformat()}; no follow-up after the fusion yet.")
    standing.append(
        f"Care-pathway rules: {len(flags)} flag{'s' if len(flags) != 1 else ''}."
        if flags
        else "Care-pathway rules: nothing flagged."
    )
    return Pathway(
        patient.site_code,
        patient.study_id,
        protocol.name,
        tuple(sorted(steps, key=_order)),
        tuple(flags),
        tuple(standing),
        decision,
    )
