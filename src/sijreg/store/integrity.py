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
from typing import Any

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import Invalid
from sijreg.domain.plausibility import Doubt, look_alike, patient_warnings
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.rules import Breach, patient_breaches, record_breaches
from sijreg.domain.schedule import Window
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

    def put(self, form: str, record_id: int | None, values: Values) -> None:
        """The record ``record_id`` of ``form`` replaced (or, when None, added) by ``values``."""
        ids = self.ids.setdefault(form, [])
        if form == "patient":
            self.record.patient = {**self.record.patient, **values}
        elif form == "fusion":
            self.record.fusion = {**(self.record.fusion or {}), **values}
            self.ids[form] = [record_id or 0]
        elif record_id in ids:
            rows = self.values(form)
            rows[ids.index(record_id)] = {**rows[ids.index(record_id)], **values}
        else:
            self.values(form).append(values)
            ids.append(record_id or 0)

    def record_id(self, form: str, index: int) -> int:
        """The id of the ``index``-th record of ``form`` (the patient's own for ``patient``)."""
        if form == "patient":
            return self.patient_id
        return self.ids.get(form, [0])[index]


def _fields(form: str) -> list[str]:
    return [f.name for f in dd.form(form).fields]


def load(conn: sa.Connection, site_id: int | None, patient_id: int | None = None) -> list[Stored]:
    """Stored patients (one site's, every site's when None, or one patient) for the rules."""
    p, s = schema.patient, schema.site
    query = sa.select(p.c.id, s.c.site_code, *(p.c[n] for n in _fields("patient"))).join(
        s, s.c.id == p.c.site_id
    )
    if site_id is not None:
        query = query.where(p.c.site_id == site_id)
    if patient_id is not None:
        query = query.where(p.c.id == patient_id)
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
        if patient_id is not None:
            child = child.where(t.c.patient_id == patient_id)
        for row in conn.execute(child.order_by(t.c.id)).mappings():
            if row["patient_id"] in found:
                found[row["patient_id"]].put(form, row["id"], {n: row[n] for n in _fields(form)})
    return list(found.values())


def _key(stored: Stored, breach: Breach) -> tuple[str, int, str, str]:
    return (breach.form, stored.record_id(breach.form, breach.index), breach.field, breach.reason)


def refuse_breaches(
    conn: sa.Connection,
    site_id: int,
    name: str,
    patient_id: int | None,
    record_id: int | None,
    values: Values,
    today: date,
) -> None:
    """Raise Invalid when saving ``values`` as record ``record_id`` (None: new) breaks a rule.

    Refused: any rule the changed record itself breaks, and any breach the change
    brings to another record of the patient (named on the changed record's field the
    rule compares with). Breaches another record had before stay for ``sijreg check``.
    """
    if name not in ("patient", "fusion", *LISTS):
        errors: dict[str, str] = {}
        for field_name, reason in record_breaches(dd.form(name), values, today):
            errors.setdefault(field_name, reason)
        if errors:
            raise Invalid(errors)
        return
    loaded = load(conn, site_id, patient_id) if patient_id is not None else []
    stored = loaded[0] if loaded else Stored("", 0, PatientRecord("", {}))
    before = {_key(stored, b) for b in patient_breaches(stored.record, today)}
    changed = (patient_id if name == "patient" else record_id) or 0
    stored.put(name, record_id, values)
    errors = {}
    for breach in patient_breaches(stored.record, today):
        if breach.form == name and stored.record_id(breach.form, breach.index) == changed:
            errors.setdefault(breach.field, breach.reason)
        elif _key(stored, breach) not in before:
            target = breach.against[1] if breach.against and breach.against[0] == name else None
            errors.setdefault(target or _fields(name)[0], _elsewhere(stored, breach))
    if errors:
        raise Invalid(errors)


def _elsewhere(stored: Stored, breach: Breach) -> str:
    """A breach this change brings to another record, worded from the changed record's side."""
    form = dd.form(breach.form)
    values = stored.values(breach.form)[breach.index]
    first = values.get(form.fields[0].name)
    which = f"{form.label.lower()} {_shown(first)}".strip()
    return f"would break a rule of the {which}: {breach.describe()}"


def _shown(value: Any) -> str:
    if isinstance(value, date):
        return f"of {value.isoformat()}"
    return "" if value is None else f"'{value}'"


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
