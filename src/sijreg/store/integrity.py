"""The cross-record rules (:mod:`sijreg.domain.rules`) against stored records.

Two uses: a change through the server is checked as the patient's records would be
after it (:func:`refuse_breaches`, called by the :class:`~sijreg.store.scope.SiteScope`
before it writes), and ``sijreg check`` and the site's checks page list the stored
records that break a rule (:func:`stored_breaches`), e.g. saved before the rules held.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import Invalid
from sijreg.domain.plausibility import Doubt, look_alike, patient_warnings
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.rules import Breach, patient_breaches, record_breaches
from sijreg.domain.schedule import Window
from sijreg.domain.wording import in_words
from sijreg.store import schema

LISTS = {
    "prior_procedure": "prior_procedures",
    "visit": "visits",
    "adverse_event": "adverse_events",
}
"""The repeating forms and the PatientRecord attribute holding them."""


@dataclass
class Stored:
    """A stored patient as the rules see it, with each record's id by form and position."""

    site_code: str
    patient_id: int
    record: PatientRecord
    ids: dict[str, list[int]] = field(default_factory=dict)

    def values(self, form: str) -> list[Values]:
        if form == "patient":
            return [self.record.patient]
        if form == "fusion":
            return [self.record.fusion] if self.record.fusion else []
        found: list[Values] = getattr(self.record, LISTS[form])
        return found

    def put(self, form: str, record_id: int | None, values: Values) -> int:
        """The record ``record_id`` of ``form`` replaced (or, when None, added) by ``values``.

        Returns the record's id; a record added without one gets a negative stand-in.
        """
        ids = self.ids.setdefault(form, [])
        if record_id is None:
            record_id = -1 - sum(len(taken) for taken in self.ids.values())
        if form == "patient":
            self.record.patient = {**self.record.patient, **values}
            return self.patient_id
        if form == "fusion":
            self.record.fusion = {**(self.record.fusion or {}), **values}
            self.ids[form] = [record_id]
        elif record_id in ids:
            rows = self.values(form)
            rows[ids.index(record_id)] = {**rows[ids.index(record_id)], **values}
        else:
            self.values(form).append(values)
            ids.append(record_id)
        return record_id

    def remove(self, form: str, record_id: int) -> None:
        """The record ``record_id`` of a repeating ``form`` removed."""
        ids = self.ids[form]
        del self.values(form)[ids.index(record_id)]
        ids.remove(record_id)

    def record_id(self, form: str, index: int) -> int:
        """The id of the ``index``-th record of ``form`` (the patient's own for ``patient``)."""
        if form == "patient":
            return self.patient_id
        return self.ids.get(form, [0])[index]


def _fields(form: str) -> list[str]:
    return [f.name for f in dd.form(form).fields]


def load(
    conn: sa.Connection, site_id: int | None, patient_ids: Sequence[int] | None = None
) -> list[Stored]:
    """Stored patients (one site's, every site's when None, or the ones named) for the rules."""
    p, s = schema.patient, schema.site
    query = sa.select(p.c.id, s.c.site_code, *(p.c[n] for n in _fields("patient"))).join(
        s, s.c.id == p.c.site_id
    )
    if site_id is not None:
        query = query.where(p.c.site_id == site_id)
    if patient_ids is not None:
        query = query.where(p.c.id.in_(sorted(set(patient_ids))))
    found: dict[int, Stored] = {}
    for row in conn.execute(query.order_by(s.c.site_code, p.c.study_id)).mappings():
        patient = {n: row[n] for n in _fields("patient")}
        found[row["id"]] = Stored(
            row["site_code"], row["id"], PatientRecord(row["site_code"], patient)
        )
    for form in ("fusion", *LISTS):
        t = schema.TABLES[form]
        child = sa.select(t.c.id, t.c.patient_id, *(t.c[n] for n in _fields(form)))
        if site_id is not None:
            child = child.where(t.c.site_id == site_id)
        if patient_ids is not None:
            child = child.where(t.c.patient_id.in_(sorted(set(patient_ids))))
        for row in conn.execute(child.order_by(t.c.id)).mappings():
            if row["patient_id"] in found:
                found[row["patient_id"]].put(form, row["id"], {n: row[n] for n in _fields(form)})
    return list(found.values())


def _key(stored: Stored, breach: Breach) -> tuple[str, int, str, str]:
    return (breach.form, stored.record_id(breach.form, breach.index), breach.field, breach.reason)


@dataclass(frozen=True)
class Refusal:
    """A change refused: the changed record's form and field it names, and why."""

    form: str
    field: str
    reason: str


Change = tuple[str, int | None, Values | None]
"""One change to a stored patient: (form, record id or None for a new record, the new
values or None for a deletion)."""


def change_refusals(stored: Stored, changes: Sequence[Change], today: date) -> list[Refusal]:
    """What the rules refuse in ``changes`` to ``stored`` (applied to it): the one check of
    a change against stored records, for a form's save and a sheet's merge alike.

    Refused: any rule a changed record itself breaks, and any breach the change brings
    to another record of the patient, named on the changed record's field the rule
    compares with. Breaches another record had before stay for ``sijreg check``.
    """
    before = {_key(stored, b) for b in patient_breaches(stored.record, today)}
    changed: set[tuple[str, int]] = set()
    for name, record_id, values in changes:
        if values is None and record_id is not None:
            stored.remove(name, record_id)
        elif values is not None:
            changed.add((name, stored.put(name, record_id, values)))
    forms = [name for name, _, values in changes if values is not None]
    found = []
    for breach in patient_breaches(stored.record, today):
        if (breach.form, stored.record_id(breach.form, breach.index)) in changed:
            found.append(Refusal(breach.form, breach.field, breach.reason))
        elif forms and _key(stored, breach) not in before:
            target = breach.against
            if target is None or target[0] not in forms:
                target = (forms[0], _fields(forms[0])[0])
            found.append(Refusal(*target, _elsewhere(stored, breach)))
    return found


def refuse_breaches(
    conn: sa.Connection,
    site_id: int,
    name: str,
    patient_id: int | None,
    record_id: int | None,
    values: Values,
    today: date,
) -> None:
    """Raise Invalid when saving ``values`` as record ``record_id`` (None: new) of the
    patient ``patient_id`` breaks a rule (:func:`change_refusals`)."""
    if name not in ("patient", "fusion", *LISTS):
        errors: dict[str, str] = {}
        for field_name, reason in record_breaches(dd.form(name), values, today):
            errors.setdefault(field_name, reason)
        if errors:
            raise Invalid(errors)
        return
    loaded = load(conn, site_id, [patient_id]) if patient_id is not None else []
    stored = loaded[0] if loaded else Stored("", 0, PatientRecord("", {}))
    errors = {}
    for refusal in change_refusals(stored, [(name, record_id, values)], today):
        errors.setdefault(refusal.field, refusal.reason)
    if errors:
        raise Invalid(errors)


def _elsewhere(stored: Stored, breach: Breach) -> str:
    """A breach this change brings to another record, worded from the changed record's side."""
    form = dd.form(breach.form)
    values = stored.values(breach.form)[breach.index]
    first = form.fields[0]
    value = values.get(first.name)
    shown = f"of {value.isoformat()}" if isinstance(value, date) else in_words(first, value)
    which = f"{form.label.lower()} {shown}".strip()
    return f"would break a rule of the {which}: {breach.describe()}"


@dataclass(frozen=True)
class Found:
    """A stored record that breaks a rule: whose, which record and why."""

    site_code: str
    study_id: str
    patient_id: int
    form: str
    record_id: int
    breach: Breach


def stored_breaches(conn: sa.Connection, site_id: int | None, today: date) -> list[Found]:
    """Every stored patient record that breaks a rule, by site and study id."""
    return [
        Found(
            stored.site_code,
            str(stored.record.patient["study_id"]),
            stored.patient_id,
            breach.form,
            stored.record_id(breach.form, breach.index),
            breach,
        )
        for stored in load(conn, site_id)
        for breach in patient_breaches(stored.record, today)
    ]


@dataclass(frozen=True)
class Doubtful:
    """A stored record with a value that deserves a second look (a warning, not a breach)."""

    site_code: str
    study_id: str
    patient_id: int
    form: str
    record_id: int
    doubt: Doubt


def stored_doubts(
    conn: sa.Connection, site_id: int | None, today: date, windows: Sequence[Window]
) -> list[Doubtful]:
    """Every plausibility warning of the stored patients, look-alike patients of a site too."""
    found = []
    alike: dict[tuple[object, ...], list[Stored]] = {}
    for stored in load(conn, site_id):
        study_id = str(stored.record.patient["study_id"])
        for doubt in patient_warnings(stored.record, today, windows):
            record_id = stored.record_id(doubt.form, doubt.index)
            found.append(
                Doubtful(
                    stored.site_code, study_id, stored.patient_id, doubt.form, record_id, doubt
                )
            )
        if (key := look_alike(stored.record)) is not None:
            alike.setdefault((stored.site_code, *key), []).append(stored)
    for group in alike.values():
        for stored in group if len(group) > 1 else []:
            others = ", ".join(str(o.record.patient["study_id"]) for o in group if o is not stored)
            message = f"looks like {others}: same sex, age, year of birth and fusion date"
            doubt = Doubt("patient", 0, "study_id", message)
            study_id = str(stored.record.patient["study_id"])
            found.append(
                Doubtful(
                    stored.site_code,
                    study_id,
                    stored.patient_id,
                    "patient",
                    stored.patient_id,
                    doubt,
                )
            )
    return found
