"""The study flow (STROBE item 13a): everyone screened or enrolled, stage by stage, with reasons.

screened -> eligible -> enrolled -> fused -> followed long enough (= analysed).
Screening records are judged afresh by the report's protocol, so the flow says
which protocol version it reflects. Enrolled patients come from eligible
screenings, from screenings that were not eligible or incomplete (protocol
deviations, shown as such) and from patients with no screening record; the
stages after enrolment are the cohort's own counts, so the analysed number is
Table 1's n by construction and every drop has its reason.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sijreg.analysis.cohort import Cohort
from sijreg.domain.protocol import Protocol
from sijreg.domain.screening import Status, Verdict, evaluate

if TYPE_CHECKING:
    import sqlalchemy as sa

Screened = tuple[Mapping[str, object], bool]
"""A screening record's values, and whether a patient was enrolled from it."""


@dataclass(frozen=True)
class Flow:
    """Counts at every stage; ``failed``/``missing`` count screenings per criterion."""

    protocol: Protocol
    screened: Counter[Verdict]
    """Screenings by decision."""
    enrolled_from: Counter[Verdict]
    """Enrolled patients by the decision on their linked screening."""
    failed: dict[str, int]
    """Not-eligible screenings per criterion not met (one screening can count under several)."""
    missing: dict[str, int]
    """Incomplete screenings per criterion that could not be decided."""
    cohort: Cohort

    @property
    def enrolled_without_screening(self) -> int:
        return self.cohort.registered - sum(self.enrolled_from.values())

    @property
    def eligible_not_enrolled(self) -> int:
        return self.screened[Verdict.ELIGIBLE] - self.enrolled_from[Verdict.ELIGIBLE]

    def as_dict(self) -> dict[str, Any]:
        """The flow as tables.json holds it under "flow"."""
        labels = {c.key: c.label for c in self.protocol.criteria}
        exclusions = {e.key: e for e in self.cohort.exclusions}
        fused = self.cohort.registered - exclusions["no_fusion"].n

        def by(counts: dict[str, int]) -> dict[str, Any]:
            return {k: {"label": labels[k], "n": n} for k, n in counts.items()}

        return {
            "protocol": {
                "id": self.protocol.id,
                "version": self.protocol.version,
                "sha256": self.protocol.sha256,
                "title": self.protocol.title,
            },
            "screened": sum(self.screened.values()),
            "eligible": self.screened[Verdict.ELIGIBLE],
            "not_eligible": {
                "n": self.screened[Verdict.NOT_ELIGIBLE],
                "by_criterion": by(self.failed),
                "note": "a screening that fails several criteria counts under each",
            },
            "incomplete": {
                "n": self.screened[Verdict.INCOMPLETE],
                "by_criterion": by(self.missing),
            },
            "eligible_not_enrolled": self.eligible_not_enrolled,
            "enrolled": {
                "n": self.cohort.registered,
                "eligible_at_screening": self.enrolled_from[Verdict.ELIGIBLE],
                "not_eligible_at_screening": self.enrolled_from[Verdict.NOT_ELIGIBLE],
                "incomplete_screening": self.enrolled_from[Verdict.INCOMPLETE],
                "without_screening_record": self.enrolled_without_screening,
            },
            "not_fused": {"label": exclusions["no_fusion"].label, "n": exclusions["no_fusion"].n},
            "fused": fused,
            "not_followed": {
                e.key: {"label": e.label, "n": e.n}
                for e in self.cohort.exclusions
                if e.key != "no_fusion"
            },
            "min_followup_days": self.cohort.min_followup_days,
            "followed": self.cohort.n,
            "analysed": self.cohort.n,
        }


def study_flow(cohort: Cohort, screenings: Iterable[Screened], protocol: Protocol) -> Flow:
    """The flow of ``cohort`` with ``screenings`` (every stored one) judged by ``protocol``."""
    screened: Counter[Verdict] = Counter()
    enrolled_from: Counter[Verdict] = Counter()
    failed: Counter[str] = Counter()
    missing: Counter[str] = Counter()
    for values, enrolled in screenings:
        decision = evaluate(protocol, values)
        screened[decision.verdict] += 1
        if enrolled:
            enrolled_from[decision.verdict] += 1
        if decision.verdict is Verdict.NOT_ELIGIBLE:
            failed.update(c.key for c in decision.with_status(Status.NOT_MET))
        elif decision.verdict is Verdict.INCOMPLETE:
            missing.update(c.key for c in decision.with_status(Status.MISSING))
    order = [c.key for c in protocol.criteria]
    return Flow(
        protocol,
        screened,
        enrolled_from,
        {k: failed[k] for k in order if failed[k]},
        {k: missing[k] for k in order if missing[k]},
        cohort,
    )


def read_screenings(engine: sa.Engine) -> list[Screened]:
    """The registry's screening log, as the flow reads it."""
    from sijreg.store.screenings import load_screenings  # the database stack: not for a freeze

    with engine.connect() as conn:
        return [(s.values, s.patient_id is not None) for s in load_screenings(conn)]
