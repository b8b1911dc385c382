"""The screening pages: the site's screening log and the screening form with its decision.

The form works without JavaScript (saving judges the screening and shows the
stored decision); a small inline script (allowed by its hash in the
Content-Security-Policy) posts the values as typed to ``/screenings/evaluate`` and
redraws the decision, which is judged there and never saved.
"""

from __future__ import annotations

import base64
import hashlib
from importlib import resources
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sijreg.domain.dictionary import SCREENING
from sijreg.domain.entry import Invalid, parse_form
from sijreg.domain.screening import DISCLAIMER, evaluate
from sijreg.server import kept_forms, web
from sijreg.server.pages import (
    Posted,
    RecordId,
    _scope,
    _version,
    display,
    fields,
    go,
    page,
)
from sijreg.server.screenings import Evaluation, latest, save, stored_decision
from sijreg.store.scope import REASON, Conflict, ReasonRequired, SiteScope

router = APIRouter(include_in_schema=False)
SCRIPT = resources.files("sijreg.server").joinpath("templates", "screening.js").read_text()
_HASH = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
SCRIPT_POLICY = f"; script-src 'sha256-{_HASH}'; connect-src 'self'"
"""Added to the screening pages' Content-Security-Policy: the form's inline script may run."""


def _link(form: dict[str, str]) -> int | None:
    text = form.get("patient_id", "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 9:
        raise Invalid({"patient_id": "choose an enrolled patient"})
    return int(text)


def _values(form: dict[str, str]) -> dict[str, Any]:
    """The screening's fields and its link, with every bad one named."""
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}
    for read in (lambda: parse_form(SCREENING, form), lambda: {"patient_id": _link(form)}):
        try:
            values |= read()
        except Invalid as invalid:
            errors |= invalid.errors
    if errors:
        raise Invalid(errors)
    return values


SECTIONS = (
    ("Screening", ("screening_",)),
    ("Pain", ("pain_",)),
    ("Provocative manoeuvres (at least 3 of 5 positive)", ("test_",)),
    ("Diagnostic SIJ block", ("block_",)),
    ("Conservative care", ("conservative_",)),
    ("Prior advanced interventions", ("advanced_",)),
)
"""The screening form's parts, in the protocol's order, by field-name prefix."""


def sections(drawn: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The drawn fields grouped as the protocol reads (a field no prefix takes goes last)."""
    grouped = [
        (legend, [f for f in drawn if f["name"].startswith(starts)]) for legend, starts in SECTIONS
    ]
    taken = {f["name"] for _, part in grouped for f in part}
    rest = [f for f in drawn if f["name"] not in taken]
    return grouped + ([("Other", rest)] if rest else [])


def _form(
    scope: SiteScope,
    user: web.PageUser,
    request: Request,
    values: dict[str, Any],
    errors: dict[str, str],
    record: Any = None,
    status: int = 200,
    current: Any = None,
    kept: bool = False,
) -> Response:
    """The form; the decision shown is the stored one, or the values as typed judged now."""
    stored = latest(scope.conn, record["id"]) if record is not None and not errors else None
    if stored is not None:
        shown = stored_decision(stored).model_dump()
        heading = "Stored decision"
    else:
        evaluated = evaluate(web.settings(request).protocol, values)
        shown = Evaluation(**evaluated.as_dict()).model_dump()
        heading = "Decision as entered (not saved)"
    return page(
        "screening_form.html.j2",
        user,
        status,
        form=SCREENING,
        action=f"/screenings/{record['id']}" if record is not None else "/screenings/new",
        sections=sections(fields(SCREENING, values, errors)),
        errors=errors,
        record=record,
        current=current,
        patients=scope.patients(),
        link=str(values.get("patient_id") or ""),
        reason_rule=REASON.describe_rule(),
        decision=shown,
        heading=heading,
        judged_at=f"{stored.judged_at:%Y-%m-%d %H:%M}" if stored else None,
        screening_version=stored.screening_version if stored else None,
        disclaimer=DISCLAIMER,
        script=SCRIPT,
        kept=kept,
    )


@router.get("/screenings")
def screening_log(request: Request) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        studies = {p["id"]: p["study_id"] for p in scope.patients()}
        rows = []
        for s in scope.screenings():
            result = latest(conn, s["id"])
            rows.append(
                {
                    "id": s["id"],
                    "number": s["screening_number"],
                    "date": display("screening_date", s["screening_date"]),
                    "status": result.decision.replace("_", " ") if result else "not judged",
                    "protocol": f"{result.protocol_id} v{result.protocol_version}"
                    if result
                    else "",
                    "patient_id": s["patient_id"],
                    "study_id": studies.get(s["patient_id"], ""),
                }
            )
        return page(
            "screenings.html.j2", user, rows=rows, site=scope.site_code(), disclaimer=DISCLAIMER
        )


@router.get("/screenings/new")
def new_screening(request: Request) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        kept = kept_forms.restored(conn, request, user)
        return _form(scope, user, request, kept or {}, {}, kept=bool(kept))


@router.post("/screenings/new")
def create_screening(request: Request, form: Posted) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request, form)
        try:
            row, _ = save(scope, web.settings(request).protocol, _values(form))
        except Invalid as invalid:
            return _form(scope, user, request, form, invalid.errors, status=422)
    return go(f"/screenings/{row['id']}")


EVALUATE = "/screenings/evaluate"
"""Where the form's script asks for the decision as typed."""


@router.post(EVALUATE)
def evaluate_as_typed(request: Request, form: Posted) -> Evaluation:
    """The decision on the values as typed, judged now and not saved (for the form's script)."""
    with web.transaction(request) as conn:
        _scope(conn, request, form)
    return Evaluation(**evaluate(web.settings(request).protocol, form).as_dict())


@router.get("/screenings/{record_id}")
def screening(request: Request, record_id: RecordId) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        row: Any = scope.get("screening", record_id)
        values = {f.name: display(f.name, row[f.name]) for f in SCREENING.fields}
        values["patient_id"] = row["patient_id"]
        if kept := kept_forms.restored(conn, request, user):  # the version read when typed
            values, row = kept, {**row, "version": _version(kept)}
        return _form(scope, user, request, values, {}, row, kept=bool(kept))


@router.post("/screenings/{record_id}")
def update_screening(request: Request, record_id: RecordId, form: Posted) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request, form)
        row = scope.get("screening", record_id)
        try:
            save(
                scope,
                web.settings(request).protocol,
                _values(form),
                record_id,
                _version(form),
                form.get("reason"),
            )
        except Invalid as invalid:
            return _form(scope, user, request, form, invalid.errors, row, 422)
        except ReasonRequired as missing:
            errors = {"reason": str(missing).removeprefix("reason: ")}
            return _form(scope, user, request, form, errors, row, 422)
        except Conflict as conflict:
            return _form(scope, user, request, form, {}, conflict.current, 409, conflict.current)
    return go(f"/screenings/{record_id}")
