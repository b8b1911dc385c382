"""Rules across fields and records, stated once beside the data dictionary.

A field's own rule (type, range, choices) lives in its :class:`Field`. The rules here
need more than one value: a date against today, a fusion against the prior
interventions, visits (follow-ups after it; a visit marked baseline on or before it) and
adverse events against the fusion, the year of birth against the age at fusion. Every
door (the study sheet, the screening sheet, the API, the web forms) asks
:func:`patient_breaches` or :func:`record_breaches` and refuses what they return, with
the same reason; ``sijreg check`` lists stored records that break them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.types import Form, Kind

IN_THE_FUTURE = "is in the future"
YEAR_FIELDS = ("birth_year", "procedure_year")
"""Integer fields that hold a calendar year, which can be in the future too."""


@dataclass(frozen=True)
class Breach:
    """One broken rule: which record (form and position), which field, why.

    ``against`` names the field of another record the rule compares with, e.g.
    ``("fusion", "fusion_date")`` for a visit before the fusion: changing that field
    can break the rule too, and the refusal then names it.
    """

    form: str
    index: int
    field: str
    reason: str
    against: tuple[str, str] | None = None

    def describe(self) -> str:
        """The breach for a person: the field's label and the reason."""
        return f"{dd.form(self.form).field(self.field).label} {self.reason}"


BASELINE_RELIEF = "must be empty at a baseline visit (relief is reported since the fusion)"


def after_fusion(fusion_date: date) -> str:
    """The reason a follow-up on or before the fusion is refused (the sheet's column too)."""
    return f"must be after the fusion date {fusion_date.isoformat()}"


def record_breaches(form: Form, values: Values, today: date) -> list[tuple[str, str]]:
    """The rules one record must keep on its own, as (field, reason) pairs."""
    found: list[tuple[str, str]] = []
    for f in form.fields:
        value = values.get(f.name)
        if f.kind is Kind.DATE and isinstance(value, date) and value > today:
            found.append((f.name, IN_THE_FUTURE))
        if f.name in YEAR_FIELDS and isinstance(value, int) and value > today.year:
            found.append((f.name, IN_THE_FUTURE))
    if form is dd.ADVERSE_EVENT:
        onset, revised = values.get("event_date"), values.get("revision_date")
        if isinstance(revised, date) and values.get("revision") is not True:
            found.append(("revision_date", "needs 'Revision surgery' answered Yes"))
        if isinstance(revised, date) and isinstance(onset, date) and revised < onset:
            found.append(("revision_date", f"must be on or after the onset date {onset}"))
    if form is dd.SCREENING:
        block, screened = values.get("block_date"), values.get("screening_date")
        if isinstance(block, date) and isinstance(screened, date) and block > screened:
            found.append(("block_date", f"must be on or before the screening date {screened}"))
    return found


def _birth_year(patient: Values, fusion_date: date | None, today: date) -> list[Breach]:
    """Age at fusion and year of birth agree: exactly with a fusion date, else by today."""
    born, age = patient.get("birth_year"), patient.get("age")
    if not (isinstance(born, int) and isinstance(age, int)):
        return []
    if fusion_date is None:
        if born + age <= today.year:
            return []
        reason = f"does not fit the age at fusion ({age} years): the fusion would be after today"
        return [Breach("patient", 0, "birth_year", reason, ("patient", "age"))]
    if fusion_date.year - born in (age, age + 1):
        return []
    first = fusion_date.year - age - 1
    reason = (
        f"does not fit the age at fusion ({age} years on {fusion_date}): "
        f"expected {first} or {first + 1}"
    )
    return [Breach("patient", 0, "birth_year", reason, ("fusion", "fusion_date"))]


def _before_fusion(record: PatientRecord, fusion_date: date) -> list[Breach]:
    found = []
    against = ("fusion", "fusion_date")
    for i, prior in enumerate(record.prior_procedures):
        when, year = prior.get("procedure_date"), prior.get("procedure_year")
        if isinstance(when, date) and when >= fusion_date:
            reason = f"must be before the fusion date {fusion_date}"
            found.append(Breach("prior_procedure", i, "procedure_date", reason, against))
        if isinstance(year, int) and year > fusion_date.year:
            reason = f"must not be after the year of the fusion ({fusion_date.year})"
            found.append(Breach("prior_procedure", i, "procedure_year", reason, against))
    return found


def _after_fusion(record: PatientRecord, fusion_date: date) -> list[Breach]:
    """Follow-ups after the fusion; a baseline visit on or before it, with no relief."""
    found = []
    against = ("fusion", "fusion_date")
    for i, visit in enumerate(record.visits):
        when = visit.get("visit_date")
        if not isinstance(when, date):
            continue
        if visit.get("baseline") is not True and when <= fusion_date:
            found.append(Breach("visit", i, "visit_date", after_fusion(fusion_date), against))
        if visit.get("baseline") is True and when > fusion_date:
            reason = f"must be on or before the fusion date {fusion_date} at a baseline visit"
            found.append(Breach("visit", i, "visit_date", reason, against))
        if visit.get("baseline") is True and visit.get("pain_relief_pct") is not None:
            found.append(Breach("visit", i, "pain_relief_pct", BASELINE_RELIEF))
    for i, event in enumerate(record.adverse_events):
        onset, revised = event.get("event_date"), event.get("revision_date")
        if isinstance(onset, date) and onset < fusion_date:
            reason = f"must be on or after the fusion date {fusion_date}"
            found.append(Breach("adverse_event", i, "event_date", reason, against))
        if isinstance(revised, date) and revised <= fusion_date:
            reason = after_fusion(fusion_date)
            found.append(Breach("adverse_event", i, "revision_date", reason, against))
    return found


def patient_breaches(record: PatientRecord, today: date) -> list[Breach]:
    """Every rule the patient's records break, each record's own and across records.

    A visit is a follow-up, after the fusion, unless it is marked baseline: then it is
    on or before the fusion and carries no pain relief (relief is reported since the
    fusion); adverse events are the fusion's.
    """
    found = [
        Breach(form.name, i, name, reason)
        for form, records in (
            (dd.PATIENT, [record.patient]),
            (dd.FUSION, [record.fusion] if record.fusion else []),
            (dd.PRIOR_PROCEDURE, record.prior_procedures),
            (dd.VISIT, record.visits),
            (dd.ADVERSE_EVENT, record.adverse_events),
        )
        for i, values in enumerate(records)
        for name, reason in record_breaches(form, values, today)
    ]
    fusion_date = record.fusion_date
    found += _birth_year(record.patient, fusion_date, today)
    if fusion_date is not None:
        found += _before_fusion(record, fusion_date) + _after_fusion(record, fusion_date)
    return found
