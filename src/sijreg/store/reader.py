"""Reading one patient back, for views of a single patient (the care pathway)."""

from __future__ import annotations

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.pathway import Pathway, care_pathway
from sijreg.domain.protocol import Protocol
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.types import Form
from sijreg.store import schema
from sijreg.store.screenings import load_screenings


def _values(conn: sa.Connection, form: Form, patient_id: int, order: str) -> list[Values]:
    table = schema.TABLES[form.name]
    rows = conn.execute(
        sa.select(*(table.c[f.name] for f in form.fields))
        .where(table.c.patient_id == patient_id)
        .order_by(table.c[order], table.c.id)
    ).mappings()
    return [dict(row) for row in rows]


def load_patient(conn: sa.Connection, site: str, study_id: str) -> PatientRecord | None:
    """The patient ``study_id`` of ``site`` with everything stored about them, or None."""
    p = schema.patient
    found = (
        conn.execute(
            sa.select(p.c.id, *(p.c[f.name] for f in dd.PATIENT.fields))
            .join(schema.site, schema.site.c.id == p.c.site_id)
            .where(schema.site.c.site_code == site, p.c.study_id == study_id)
        )
        .mappings()
        .first()
    )
    if found is None:
        return None
    patient_id = found["id"]
    fusions = _values(conn, dd.FUSION, patient_id, "fusion_date")
    return PatientRecord(
        site_code=site,
        patient={f.name: found[f.name] for f in dd.PATIENT.fields},
        fusion=fusions[0] if fusions else None,
        prior_procedures=_values(conn, dd.PRIOR_PROCEDURE, patient_id, "procedure_date"),
        visits=_values(conn, dd.VISIT, patient_id, "visit_date"),
        adverse_events=_values(conn, dd.ADVERSE_EVENT, patient_id, "event_date"),
    )


def patient_pathway(
    conn: sa.Connection, site: str, study_id: str, protocol: Protocol
) -> Pathway | None:
    """The care pathway of one stored patient with their linked screening, or None."""
    patient = load_patient(conn, site, study_id)
    if patient is None:
        return None
    linked = [s for s in load_screenings(conn, site) if s.study_id == study_id]
    if not linked:
        return care_pathway(patient, protocol)
    return care_pathway(patient, protocol, linked[0].values, linked[0].label)
