"""The registry's analysis tables as SQL statements, read as Polars frames (store.frames).

Apart from cohort.py, which reads them through :func:`read`: a report from a freeze reads no
database, and then SQLAlchemy and the Arrow reader are never imported (a tenth of a second
of each such report).
"""

from __future__ import annotations

import polars as pl
import sqlalchemy as sa

from sijreg.analysis.cohort import VISIT_MEASURES
from sijreg.analysis.variables import FUSION_FIELDS, PATIENT_FIELDS
from sijreg.domain import dictionary as dd
from sijreg.store import schema
from sijreg.store.frames import Statement, read_frames


def read(engine: sa.Engine, site_code: str | None) -> list[pl.DataFrame]:
    """The patients (one site's, or all), the sites, the fusions, the advanced prior
    procedures and the visits (in one or more parts), read side by side."""
    return read_frames(
        engine,
        [patients(site_code), sites(), fusions(), prior_procedures(), *visits_in_halves(engine)],
    )


def patients(site_code: str | None) -> Statement:
    """Patients with their site's id: joined to the site codes in Polars, which is cheaper
    than a million joined rows in SQLite."""
    p, s = schema.patient, schema.site
    statement = sa.select(
        p.c.id.label("patient_id"), p.c.site_id, *(p.c[var.name] for var in PATIENT_FIELDS)
    )
    if site_code is None:
        return statement
    return statement.where(
        p.c.site_id == sa.select(s.c.id).where(s.c.site_code == site_code).scalar_subquery()
    )


def sites() -> Statement:
    s = schema.site
    return sa.select(s.c.id.label("site_id"), s.c.site_code.label("site"))


def fusions() -> Statement:
    f = schema.fusion
    return sa.select(f.c.patient_id, *(f.c[v.name] for v in FUSION_FIELDS))


def prior_procedures() -> Statement:
    pp = schema.prior_procedure
    return sa.select(pp.c.patient_id, pp.c.procedure).where(
        pp.c.procedure.in_(dd.ADVANCED_PROCEDURES)
    )


def visits() -> Statement:
    """Every visit with its measures: read once, for the outcome and for the visit tables."""
    v = schema.visit
    return sa.select(v.c.patient_id, v.c.visit_date, *(v.c[name] for name in VISIT_MEASURES))


def visits_in_halves(engine: sa.Engine) -> list[Statement]:
    """The visits as two reads split at the middle id, run side by side (one per core):
    the visit table is the largest, and its rows are sorted once read (``cohort._dated_visits``)."""
    v = schema.visit
    with engine.connect() as conn:
        low, high = conn.execute(sa.select(sa.func.min(v.c.id), sa.func.max(v.c.id))).one()
    if low is None:
        return [visits()]
    middle = (low + high) // 2
    return [visits().where(v.c.id <= middle), visits().where(v.c.id > middle)]
