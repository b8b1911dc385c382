"""The study report for the server: a site's own patients, or pooled for the analyst.

It reuses the command line's pipeline (cohort, exact tables, report document) and
reads through :func:`reading_engine`, so PostgreSQL's row-level security applies to
the bulk read as well. Tables are aggregates: no study id, date or free text.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import sqlalchemy as sa

from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.tables import Settings, study_tables
from sijreg.report import document, html
from sijreg.store import audit
from sijreg.store.accounts import Actor, Role
from sijreg.store.scope import Forbidden, SiteScope, reading_engine


def study_report(
    engine: sa.Engine, conn: sa.Connection, actor: Actor
) -> tuple[dict[str, Any], pl.DataFrame]:
    """The report document and cohort frame this actor may see; the export is audited."""
    if actor.role is Role.ANALYST:
        site_id, site_code, label = None, None, "all sites, pooled"
    elif actor.role.at_site:
        site_code = SiteScope(conn, actor).site_code()
        site_id, label = actor.site_id, f"site {site_code}"
    else:
        raise Forbidden("this role sees no report")
    reader = reading_engine(engine, site_id)
    try:
        settings = Settings()
        tables = study_tables(build_cohort(reader, settings.min_followup_days, site_code), settings)
    finally:
        if reader is not engine:
            reader.dispose()
    audit.append(
        conn,
        audit.Entry(
            audit.Action.EXPORT,
            user_id=actor.user_id,
            site_id=site_id,
            new_values={"report": label, "analysed": tables.cohort.n},
        ),
    )
    return document.build(tables, label), tables.cohort.frame


def report_page(engine: sa.Engine, conn: sa.Connection, actor: Actor) -> str:
    doc, frame = study_report(engine, conn, actor)
    return html.render(doc, frame)
