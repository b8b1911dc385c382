"""The site's data checks page: stored records that break a rule, and plausibility warnings.

The same lists as ``sijreg check --site`` (:mod:`sijreg.store.integrity`), each record
linked to its form, for the site's coordinator and investigator.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sijreg.domain import dictionary as dd
from sijreg.server import web
from sijreg.server.pages import _scope, page
from sijreg.store.integrity import stored_breaches, stored_doubts
from sijreg.store.registry_settings import visit_windows

router = APIRouter(include_in_schema=False)


@router.get("/checks")
def checks(request: Request) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        found = stored_breaches(conn, scope.site_id, web.today())
        rows = [
            {
                "study_id": f.study_id,
                "patient_id": f.patient_id,
                "record": dd.form(f.form).label,
                "edit": f"/records/{f.form}/{f.record_id}/edit",
                "problem": f.breach.describe(),
            }
            for f in found
        ]
        doubts = [
            {
                "study_id": d.study_id,
                "patient_id": d.patient_id,
                "record": dd.form(d.form).label,
                "edit": f"/records/{d.form}/{d.record_id}/edit",
                "problem": d.doubt.message,
            }
            for d in stored_doubts(conn, scope.site_id, web.today(), visit_windows(conn))
        ]
        return page("checks.html.j2", user, rows=rows, doubts=doubts, site=scope.site_code())
