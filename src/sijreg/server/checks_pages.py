"""The site's data checks page: stored records that break a rule, and plausibility warnings.

The same lists as ``sijreg check --site`` (:mod:`sijreg.store.integrity`), each record
linked to its form, for the site's coordinator and investigator.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sijreg.domain import dictionary as dd
from sijreg.server import web
from sijreg.server.monitor_sites import link, own_site, per_site
from sijreg.server.pages import page
from sijreg.store.integrity import stored_breaches, stored_doubts
from sijreg.store.registry_settings import visit_windows
from sijreg.store.roles import Role

router = APIRouter(include_in_schema=False)

Row = dict[str, Any]


@router.get("/checks")
def checks(request: Request) -> Response:
    """The site's checks, or those of every site a monitor of several covers (a site
    column and filter; the monitor reads, the site corrects)."""
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
        today, windows = web.today(), visit_windows(conn)
        codes = [code for _, code in user.sites]
        site = request.query_params.get("site", "")
        site = site if site in codes else ""

        def row(code: str, form: str, record_id: int, patient_id: int, study_id: str) -> Row:
            return {
                "site": code,
                "study_id": study_id,
                "patient": link(user, code, f"/patients/{patient_id}"),
                "record": dd.form(form).label,
                "edit": link(user, code, f"/records/{form}/{record_id}/edit"),
            }

        rows = [
            {
                **row(code, f.form, f.record_id, f.patient_id, f.study_id),
                "problem": f.breach.describe(),
            }
            for code, f in per_site(conn, user, lambda s: stored_breaches(conn, s.site_id, today))
            if not site or code == site
        ]
        doubts = [
            {**row(code, d.form, d.record_id, d.patient_id, d.study_id), "problem": d.doubt.message}
            for code, d in per_site(
                conn, user, lambda s: stored_doubts(conn, s.site_id, today, windows)
            )
            if not site or code == site
        ]
        return page(
            "checks.html.j2",
            user,
            rows=rows,
            doubts=doubts,
            site=site,
            sites=codes,
            own=own_site(conn, user),
            writer=user.actor.role is not Role.MONITOR,
        )
