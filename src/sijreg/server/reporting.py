"""The study report for the server: a site's own patients, or pooled for the analyst.

It reuses the command line's pipeline (cohort, exact tables, report document) and
reads through :func:`reading_engine`, so PostgreSQL's row-level security applies to
the bulk read as well. Tables are aggregates: no study id, date or free text; the
analyst's record-level export is the de-identified analysis file of
``sijreg export data`` (interop/analysis_file.py), under the same disclosure rules.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa
from markupsafe import Markup

from sijreg.analysis.cohort import Cohort, Registry, read_registry, select_cohort
from sijreg.analysis.completeness import registry_completeness
from sijreg.analysis.data_quality import read_data_quality
from sijreg.analysis.provenance import fingerprint
from sijreg.analysis.tables import Settings, study_tables
from sijreg.interop import analysis_file
from sijreg.report import document, html
from sijreg.server import web
from sijreg.store import audit, schema
from sijreg.store.accounts import Actor, Role
from sijreg.store.registry_settings import visit_windows
from sijreg.store.scope import Forbidden, SiteScope, reading_engine, set_database_scope


def _scope_of(conn: sa.Connection, actor: Actor) -> tuple[int | None, str | None, str]:
    """(site id, site code, label) of the data this actor may analyse."""
    if actor.role is Role.ANALYST:
        return None, None, "all sites, pooled"
    if actor.role.at_site:
        code = SiteScope(conn, actor).site_code()
        return actor.site_id, code, f"site {code}"
    raise Forbidden("this role sees no report")


def _registry(engine: sa.Engine, site_id: int | None, site_code: str | None) -> Registry:
    reader = reading_engine(engine, site_id)
    try:
        return read_registry(reader, site_code)
    finally:
        if reader is not engine:
            reader.dispose()


def _cohort(engine: sa.Engine, site_id: int | None, site_code: str | None) -> Cohort:
    return select_cohort(_registry(engine, site_id, site_code), Settings().min_followup_days)


def _audit_export(
    conn: sa.Connection, actor: Actor, site_id: int | None, what: str, n: int
) -> None:
    audit.append(
        conn,
        audit.Entry(
            audit.Action.EXPORT,
            user_id=actor.user_id,
            site_id=site_id,
            new_values={"export": what, "patients": n},
        ),
    )


def pooled_export(engine: sa.Engine, conn: sa.Connection, actor: Actor) -> pl.DataFrame:
    """The analyst's de-identified, record-level rows of every analysed patient (audited)."""
    if actor.role is not Role.ANALYST:
        raise Forbidden("the pooled export is for the analyst")
    cohort = _cohort(engine, None, None)
    rows = analysis_file.plain(analysis_file.build(cohort, fingerprint(cohort)))
    _audit_export(conn, actor, None, "pooled rows", rows.height)
    return rows


def study_report(
    engine: sa.Engine, conn: sa.Connection, actor: Actor
) -> tuple[dict[str, Any], Cohort]:
    """The report document and cohort this actor may see; the export is audited."""
    site_id, site_code, label = _scope_of(conn, actor)
    settings = Settings()
    registry = _registry(engine, site_id, site_code)
    tables = study_tables(select_cohort(registry, settings.min_followup_days), settings)
    _audit_export(conn, actor, site_id, f"report, {label}", tables.cohort.n)
    follow_up = registry_completeness(registry, web.today(), visit_windows(conn))
    quality = _data_quality(conn, site_id)
    return document.build(
        tables, label, completeness=follow_up, data_quality=quality
    ), tables.cohort


def _data_quality(conn: sa.Connection, site_id: int | None) -> dict[str, Any]:
    """The data-quality section in the reader's scope (the analyst's: pooled, read only)."""
    set_database_scope(conn, site_id, pooled=site_id is None)
    try:
        return read_data_quality(conn, site_id, web.today(), visit_windows(conn))
    finally:
        set_database_scope(conn, site_id)


def report_page(engine: sa.Engine, conn: sa.Connection, actor: Actor, nav: Markup) -> str:
    """The report as a page of the server: titled with the site's code and name, with ``nav``."""
    doc, cohort = study_report(engine, conn, actor)
    title = "Pooled report, all sites"
    if actor.role.at_site:
        site = schema.site
        code, name = conn.execute(
            sa.select(site.c.site_code, site.c.site_name).where(site.c.id == actor.site_id)
        ).one()
        title = f"Report of site {code}" + (f" ({name})" if name else "")
    return html.render(doc, cohort.frame, cohort.visits, title=title, header=nav)
