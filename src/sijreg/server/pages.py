"""The server-rendered pages: plain HTML forms that work without JavaScript.

Every page reaches patient data through a :class:`SiteScope`; every form carries
the session's CSRF token; each field shows its dictionary rule and, after a failed
save, the reason next to it.
"""

from __future__ import annotations

import json
import logging
import re
from decimal import Decimal
from functools import partial
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import Invalid, parse_form
from sijreg.domain.followup import next_due, summary
from sijreg.domain.types import Form, Kind
from sijreg.domain.wording import in_words
from sijreg.server import kept_forms, sign_in_cookie, threads, web
from sijreg.server.models import MAX_ID
from sijreg.server.reporting import pooled_export, report_page
from sijreg.store import accounts, audit, queries, schema
from sijreg.store.accounts import AccountError, Role
from sijreg.store.followup import follow_up
from sijreg.store.reader import patient_pathway
from sijreg.store.registry_settings import reminder_days, visit_windows
from sijreg.store.scope import (
    CHILD_TABLES,
    REASON,
    RECORD_TABLES,
    SIGNATURE_MEANINGS,
    Conflict,
    Forbidden,
    Locked,
    NotFound,
    ReasonRequired,
    SiteScope,
)

log = logging.getLogger("sijreg.security")
router = APIRouter(include_in_schema=False)
templates = Environment(
    loader=PackageLoader("sijreg.server", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)
templates.globals["zip"] = zip
templates.globals["in_words"] = in_words
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
SIGN_IN_FAILED = "Unknown user name or wrong password."
THROTTLED = "Too many failed sign-ins. Please wait a moment and try again."


async def posted(request: Request) -> dict[str, str]:
    """The submitted form's text fields."""
    data = await request.form()
    return {k: v for k, v in data.items() if isinstance(v, str)}


Posted = Annotated[dict[str, str], Depends(posted)]


def render(template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(template).render(**context), status_code=status)


def page(template: str, user: web.PageUser, status: int = 200, **context: Any) -> HTMLResponse:
    acting = next((code for i, code in user.sites if i == user.actor.site_id), "")
    covered = {"covered": bool(user.sites), "acting": acting}
    return render(template, status, user=user.actor, csrf=user.csrf, **covered, **context)


def go(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def display(name: str, value: Any) -> str:
    """A stored value as the text a form shows."""
    if isinstance(value, bool):
        return "1" if value else "0"
    shown = audit.plain(name, value)
    return "" if shown is None else str(shown)


INPUT_TYPES = {Kind.DATE: "date", Kind.INTEGER: "number", Kind.DECIMAL: "number"}
"""The browser's own input for a kind: a date picker, a numeric keypad."""
NUMBERS = (Kind.INTEGER, Kind.DECIMAL)
RULE_WORDS = {Kind.DATE: "A date, not in the future."}
"""A rule in the words of the page's input (a date picker shows the date its own way)."""


def fields(form: Form, values: dict[str, Any], errors: dict[str, str]) -> list[dict[str, Any]]:
    """What the form template needs to draw each field, all from the dictionary."""
    drawn = []
    for f in form.fields:
        choices: list[tuple[str, str]] = []
        if f.kind is Kind.CHOICE:
            choices = [(c.code, c.label) for c in f.choices]
        elif f.kind is Kind.BOOLEAN:
            choices = [("1", "Yes"), ("0", "No")]
        drawn.append(
            {
                "name": f.name,
                "label": f.label + (f" ({f.unit})" if f.unit else ""),
                "rule": "Choose from the list."
                if choices
                else RULE_WORDS.get(f.kind, f.describe_rule()),
                "input": INPUT_TYPES.get(f.kind, "text"),
                "step": f"{Decimal(1).scaleb(-f.decimals)}" if f.kind in NUMBERS else None,
                "required": f.required,
                "choices": choices,
                "value": values.get(f.name, ""),
                "error": errors.get(f.name),
            }
        )
    return drawn


def _scope(
    conn: sa.Connection, request: Request, form: dict[str, str] | None = None
) -> tuple[SiteScope, web.PageUser]:
    user = web.page_user(conn, request, form)
    return SiteScope(conn, user.actor), user


# Signing in and out -------------------------------------------------------------------------


def _sign_in_form(request: Request, error: str | None = None, status: int = 200) -> Response:
    """The form with a fresh sign-in cookie; nothing is written (no session before sign-in)."""
    raw = sign_in_cookie.issue()
    response = render(
        "sign_in.html.j2",
        status,
        csrf=sign_in_cookie.form_token(raw),
        error=error,
        kept=kept_forms.is_waiting(request),
    )
    sign_in_cookie.set_cookie(response, raw)
    return response


def set_session_cookie(response: Response, raw: str) -> None:
    response.set_cookie(
        web.SESSION_COOKIE, raw, httponly=True, secure=True, samesite="strict", path="/"
    )


@router.get("/sign-in")
def sign_in_form(request: Request) -> Response:
    return _sign_in_form(request)


@router.post("/sign-in")
def sign_in(request: Request, form: Posted) -> Response:
    with web.transaction(request) as conn:
        refused, new_raw = _check_sign_in(conn, request, form)
        user = (
            None
            if refused
            else accounts.resume_session(conn, new_raw, web.settings(request).timeouts)[1]
        )
        back = kept_forms.after_sign_in(conn, request, user) if user is not None else None
    if refused is not None:
        return _sign_in_form(request, *refused)
    response = go(back or "/")
    set_session_cookie(response, new_raw)
    sign_in_cookie.clear_cookie(response)
    return response


def _check_sign_in(
    conn: sa.Connection, request: Request, form: dict[str, str]
) -> tuple[tuple[str, int] | None, str]:
    """(why refused and the status, or None; the new session id when signed in)."""
    timeouts = web.settings(request).timeouts
    username = form.get("username", "").strip().lower()
    keys = accounts.throttle_keys(username, web.client_address(request))
    if not sign_in_cookie.valid(request, form.get(web.CSRF_FIELD, ""), timeouts.idle):
        log.warning("sign-in refused: missing or invalid CSRF token")
        return ("The sign-in form expired. Please try again.", 403), ""
    if accounts.throttled(conn, keys):
        log.warning("sign-in throttled after repeated failures")
        return (THROTTLED, 429), ""
    user, stored = accounts.credentials(conn, username) if len(username) <= 64 else (None, None)
    if not accounts.password_matches(stored, form.get("password", "")) or user is None:
        accounts.record_failure(conn, keys)
        audit.append(conn, audit.Entry(audit.Action.SIGN_IN, new_values={"outcome": "failed"}))
        log.warning("sign-in failed")
        return (SIGN_IN_FAILED, 401), ""
    accounts.clear_failures(conn, keys[0])
    accounts.purge_sessions(conn, timeouts)
    old = web.session_id(request)
    if old is not None:  # a session this browser held before is rotated away
        accounts.end_session(conn, old)
    audit.append(
        conn, audit.Entry(audit.Action.SIGN_IN, user_id=user, new_values={"outcome": "ok"})
    )
    return None, accounts.start_session(conn, user)


@router.post("/sign-out")
def sign_out(request: Request, form: Posted) -> Response:
    with web.transaction(request) as conn:
        web.page_user(conn, request, form)
        raw = web.session_id(request)
        if raw:
            accounts.end_session(conn, raw)
    response = go("/sign-in")
    response.delete_cookie(web.SESSION_COOKIE, path="/", secure=True, httponly=True)
    return response


@router.get("/")
def home(request: Request) -> Response:
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
    if user.actor.role is Role.ANALYST:
        return page("analyst.html.j2", user)
    if user.sites and user.actor.site_id is None:
        return go("/queries")  # a monitor of several sites starts at every site's queries
    return go("/admin" if user.actor.role is Role.ADMIN else "/patients")


# Patients and their records ---------------------------------------------------------------


@router.get("/patients")
def patients(request: Request) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        wanted = request.query_params.get("q", "").strip()[:40]
        f = schema.fusion
        fused = dict(
            conn.execute(
                sa.select(f.c.patient_id, f.c.fusion_date).where(f.c.site_id == scope.site_id)
            ).all()
        )
        found = [p for p in scope.patients() if wanted.lower() in p["study_id"].lower()]
        points = {
            f.patient_id: f.time_points
            for f in follow_up(
                conn, scope.site_id, web.today(), visit_windows(conn), reminder_days(conn)
            )
        }
        return page(
            "patients.html.j2",
            user,
            patients=[
                (p, fused.get(p["id"]), next_due(points.get(p["id"], [])), points.get(p["id"]))
                for p in found
            ],
            summary=summary,
            site=scope.site_code(),
            wanted=wanted,
            sex=dd.field("sex"),
        )


def _record_form(
    scope: SiteScope,
    user: web.PageUser,
    name: str,
    action: str,
    values: dict[str, Any],
    errors: dict[str, str],
    *,
    record: Any = None,
    current: Any = None,
    status: int = 200,
    kept: bool = False,
) -> HTMLResponse:
    """A record's form, naming its patient; read-only while the patient is signed and locked."""
    form = dd.form(name)
    found = re.match(r"/patients/(\d+)/", action)
    patient_id = _patient_of(name, record) if record is not None else found and int(found[1])
    patient = scope.get("patient", patient_id) if patient_id else None
    saved = record if current is None else current
    return page(
        "record_form.html.j2",
        user,
        status,
        form=form,
        action=action,
        fields=fields(form, values, errors),
        record=record,
        patient=patient,
        site=scope.site_code(),
        locked=scope.locked(patient_id) if patient_id else None,
        reason_rule=REASON.describe_rule(),
        reason_error=errors.get("reason"),
        reason_value=values.get("reason", ""),
        kept=kept,
        saved=[(f.label, in_words(f, saved[f.name])) for f in form.fields] if saved else None,
        current=current is not None,
        yours=[(f.label, in_words(f, values.get(f.name))) for f in form.fields],
        typed=status >= 400,
    )


@router.get("/patients/new")
def enrol_form(request: Request) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        kept = kept_forms.restored(conn, request, user)
        return _record_form(
            scope, user, "patient", "/patients/new", kept or {}, {}, kept=bool(kept)
        )


def _child_form(name: str) -> None:
    if name not in CHILD_TABLES:
        raise NotFound(name)


def _record(name: str) -> None:
    """The generic record pages serve the patient forms (screenings have their own pages)."""
    if name not in RECORD_TABLES:
        raise NotFound(name)


@router.get("/patients/{patient_id}/{name}/new")
def child_form(request: Request, patient_id: RecordId, name: str) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        _child_form(name)
        scope.get("patient", patient_id)
        kept = kept_forms.restored(conn, request, user)
        action = f"/patients/{patient_id}/{name}/new"
        return _record_form(scope, user, name, action, kept or {}, {}, kept=bool(kept))


def _create(request: Request, form: dict[str, str], name: str, patient_id: int | None) -> Response:
    action = f"/patients/{patient_id}/{name}/new" if patient_id else "/patients/new"
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request, form)
        if patient_id is not None:
            scope.get("patient", patient_id)
        try:
            row = scope.create(name, parse_form(dd.form(name), form), patient_id)
        except Invalid as invalid:
            return _record_form(scope, user, name, action, form, invalid.errors, status=422)
        except Locked:
            return _record_form(scope, user, name, action, form, {}, status=409)
    return saved_then(f"/patients/{patient_id or row['id']}", name)


@router.post("/patients/new")
def enrol(request: Request, form: Posted) -> Response:
    return _create(request, form, "patient", None)


@router.post("/patients/{patient_id}/{name}/new")
def add_child(request: Request, patient_id: RecordId, name: str, form: Posted) -> Response:
    _child_form(name)
    return _create(request, form, name, patient_id)


@router.get("/patients/{patient_id}")
def patient(request: Request, patient_id: RecordId) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        row = scope.get("patient", patient_id)
        sections = []
        for name in CHILD_TABLES:
            form = dd.form(name)
            rows = scope.children(name, patient_id)
            sections.append(
                {
                    "name": name,
                    "form": form,
                    "rows": [
                        (r["id"], [in_words(f, r[f.name]) for f in form.fields]) for r in rows
                    ],
                    "can_add": form.repeating or not rows,
                }
            )
        form = dd.form("patient")
        asked = queries.listed(scope, patient_id=patient_id)
        shown = page(
            "patient.html.j2",
            user,
            patient=row,
            values=[(f.label, in_words(f, row[f.name])) for f in form.fields],
            sections=sections,
            site=scope.site_code(),
            saved=_saved(request),
            signature=scope.locked(patient_id),
            meanings=SIGNATURE_MEANINGS,
            screening=next((s for s in scope.screenings() if s["patient_id"] == patient_id), None),
            pathway=patient_pathway(
                conn, scope.site_code(), row["study_id"], web.settings(request).protocol
            ),
            queries=asked,
            unresolved={(q["form"], q["record_id"]) for q in asked if q["state"] != "closed"},
            may_query=user.actor.role in queries.RAISERS,
        )
    shown.delete_cookie(SAVED_COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return shown


SAVED_COOKIE = "sijreg_saved"


def saved_then(url: str, name: str) -> RedirectResponse:
    """Off to ``url``, which confirms that a record of form ``name`` was saved (once)."""
    response = go(url)
    response.set_cookie(
        SAVED_COOKIE, name, max_age=60, httponly=True, secure=True, samesite="strict", path="/"
    )
    return response


def _saved(request: Request) -> str | None:
    """The form of the record just saved, for the confirmation after the redirect."""
    name = request.cookies.get(SAVED_COOKIE, "")
    return dd.form(name).label if name in RECORD_TABLES else None


@router.get("/records/{name}/{record_id}/edit")
def edit_form(request: Request, name: str, record_id: RecordId) -> Response:
    _record(name)
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        row: Any = scope.get(name, record_id)
        values = {f.name: display(f.name, row[f.name]) for f in dd.form(name).fields}
        if kept := kept_forms.restored(conn, request, user):  # the version read when typed
            values, row = kept, {**row, "version": _version(kept) or row["version"]}
        action = f"/records/{name}/{record_id}/edit"
        return _record_form(scope, user, name, action, values, {}, record=row, kept=bool(kept))


def _patient_of(name: str, row: Any) -> int:
    return int(row["id"] if name == "patient" else row["patient_id"])


def _version(form: dict[str, str]) -> int:
    text = form.get("version", "")
    return int(text) if text.isdigit() and len(text) < 10 else 0


@router.post("/records/{name}/{record_id}/edit")
def edit(request: Request, name: str, record_id: RecordId, form: Posted) -> Response:
    _record(name)
    action = f"/records/{name}/{record_id}/edit"
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request, form)
        row = scope.get(name, record_id)
        try:
            values = parse_form(dd.form(name), form)
            saved = scope.update(name, record_id, values, _version(form), form.get("reason"))
        except Invalid as invalid:
            return _record_form(
                scope, user, name, action, form, invalid.errors, record=row, status=422
            )
        except ReasonRequired as missing:
            errors = {"reason": str(missing).removeprefix("reason: ")}
            return _record_form(scope, user, name, action, form, errors, record=row, status=422)
        except Locked:
            return _record_form(scope, user, name, action, form, {}, record=row, status=409)
        except Conflict as conflict:
            return _record_form(
                scope,
                user,
                name,
                action,
                form,
                {},
                record=conflict.current,
                current=conflict.current,
                status=409,
            )
    return saved_then(f"/patients/{_patient_of(name, saved)}", name)


@router.post("/records/{name}/{record_id}/delete")
def delete(request: Request, name: str, record_id: RecordId, form: Posted) -> Response:
    _record(name)
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request, form)
        row = scope.get(name, record_id)
        try:
            scope.delete(name, record_id, _version(form), form.get("reason"))
        except Locked:
            values = {f.name: display(f.name, row[f.name]) for f in dd.form(name).fields}
            action = f"/records/{name}/{record_id}/edit"
            return _record_form(scope, user, name, action, values, {}, record=row, status=409)
        except ReasonRequired as missing:
            values = {f.name: display(f.name, row[f.name]) for f in dd.form(name).fields}
            errors = {"reason": str(missing).removeprefix("reason: ")}
            return _record_form(
                scope,
                user,
                name,
                f"/records/{name}/{record_id}/edit",
                values,
                errors,
                record=row,
                status=422,
            )
        except Conflict as conflict:
            return _record_form(
                scope,
                user,
                name,
                f"/records/{name}/{record_id}/edit",
                form,
                {},
                record=conflict.current,
                current=conflict.current,
                status=409,
            )
    return go("/patients" if name == "patient" else f"/patients/{row['patient_id']}")


@router.get("/records/{name}/{record_id}/history")
def history(request: Request, name: str, record_id: RecordId) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        entries = [
            {
                **dict(e),
                "old": json.loads(e["old_values"]) if e["old_values"] else {},
                "new": json.loads(e["new_values"]) if e["new_values"] else {},
            }
            for e in scope.history(name, record_id)
        ]
        u = schema.app_user
        names = dict(conn.execute(sa.select(u.c.id, u.c.printed_name)).all())
        form = dd.form(name)
        return page(
            "history.html.j2",
            user,
            title=_history_title(scope, form, record_id, entries),
            entries=[{**e, "what": _action_words(e)} for e in entries],
            names=names,
            fields={f.name: f for f in form.fields},
            query_steps=queries.trail(scope, queries.on_record(scope, name, record_id)),
        )


ACTIONS = {"create": "Created", "update": "Changed", "delete": "Deleted", "sign": "Signed"}


def _action_words(entry: dict[str, Any]) -> str:
    if entry["action"] == "lock":
        return "Locked" if entry["new"].get("locked") else "Unlocked"
    return ACTIONS.get(entry["action"], str(entry["action"]).replace("_", " ").capitalize())


def _history_title(
    scope: SiteScope, form: Form, record_id: int, entries: list[dict[str, Any]]
) -> str:
    """ "History of the visit of 2024-06-01, patient P-001": the record as a person knows it."""
    last: dict[str, Any] = next(
        (e["new"] or e["old"] for e in reversed(entries) if e["new"] or e["old"]), {}
    )
    first = form.fields[0]
    what = f"{form.label} {in_words(first, last.get(first.name))}".strip()
    patient_id = record_id if form.name == "patient" else last.get("patient_id")
    try:
        study_id = scope.get("patient", int(patient_id))["study_id"] if patient_id else None
    except NotFound:  # the patient was deleted; the history stays
        study_id = None
    if form.name == "patient" or study_id is None:
        return f"History of {what}"
    return f"History of {what}, patient {study_id}"


@router.post("/patients/{patient_id}/sign")
def sign(request: Request, patient_id: RecordId, form: Posted) -> Response:
    with web.transaction(request) as conn:
        scope, _ = _scope(conn, request, form)
        try:
            scope.sign(patient_id, form.get("password", ""), form.get("meaning", ""))
        except Invalid:
            return go(f"/patients/{patient_id}?signature=refused")
    return go(f"/patients/{patient_id}")


@router.post("/patients/{patient_id}/unlock")
def unlock(request: Request, patient_id: RecordId, form: Posted) -> Response:
    with web.transaction(request) as conn:
        scope, _ = _scope(conn, request, form)
        try:
            scope.unlock(patient_id, form.get("reason"))
        except ReasonRequired:
            return go(f"/patients/{patient_id}?unlock=needs-reason")
    return go(f"/patients/{patient_id}")


@router.get("/worklist")
def worklist(request: Request) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        due = scope.worklist(web.today(), visit_windows(conn), reminder_days(conn))
        return page("worklist.html.j2", user, due=due, today=web.today())


@router.get("/report")
async def report(request: Request) -> Response:
    return await threads.long_running(request.app, partial(_report, request))


def _report(request: Request) -> Response:
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
        nav = Markup(templates.get_template("nav.html.j2").render(user=user.actor, csrf=user.csrf))
        return HTMLResponse(report_page(web.engine(request), conn, user.actor, nav))


@router.get("/export.csv")
async def export_csv(request: Request) -> Response:
    return await threads.long_running(request.app, partial(_export_csv, request))


def _export_csv(request: Request) -> Response:
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
        rows = pooled_export(web.engine(request), conn, user.actor)
    return Response(
        rows.write_csv(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="sijreg-pooled.csv"'},
    )


# Administration ---------------------------------------------------------------------------


def _admin(
    conn: sa.Connection, request: Request, form: dict[str, str] | None = None
) -> web.PageUser:
    user = web.page_user(conn, request, form)
    if user.actor.role is not Role.ADMIN:
        raise Forbidden("administrators only")
    return user


def _admin_page(conn: sa.Connection, user: web.PageUser, error: str | None = None) -> Response:
    sites = conn.execute(sa.select(schema.site).order_by(schema.site.c.site_code)).mappings().all()
    return page(
        "admin.html.j2",
        user,
        422 if error else 200,
        sites=sites,
        users=accounts.list_users(conn),
        roles=list(Role),
        error=error,
        site_rule=dd.field("site_code").describe_rule(),
    )


@router.get("/admin")
def admin(request: Request) -> Response:
    with web.transaction(request) as conn:
        return _admin_page(conn, _admin(conn, request))


@router.post("/admin/sites")
def add_site(request: Request, form: Posted) -> Response:
    with web.transaction(request) as conn:
        user = _admin(conn, request, form)
        try:
            values = parse_form(dd.form("site"), form)
        except Invalid as invalid:
            return _admin_page(conn, user, str(invalid))
        if accounts.find_site(conn, str(values["site_code"])) is not None:
            return _admin_page(conn, user, "site_code: that site exists already")
        conn.execute(sa.insert(schema.site).values(**values))
    return go("/admin")


@router.post("/admin/users")
def add_user(request: Request, form: Posted) -> Response:
    with web.transaction(request) as conn:
        user = _admin(conn, request, form)
        try:
            accounts.add_user(
                conn,
                form.get("username", ""),
                form.get("printed_name", ""),
                _role(form.get("role", "")),
                form.get("password", ""),
                form.get("site") or None,
                by=user.actor.user_id,
            )
        except AccountError as error:
            return _admin_page(conn, user, str(error))
    return go("/admin")


@router.post("/admin/users/{user_id}")
def change_user(request: Request, user_id: RecordId, form: Posted) -> Response:
    with web.transaction(request) as conn:
        user = _admin(conn, request, form)
        try:
            accounts.change_user(
                conn,
                user_id,
                role=_role(form["role"]) if form.get("role") else None,
                site_code=form.get("site") or None,
                disabled={"1": True, "0": False}.get(form.get("disabled", "")),
                by=user.actor.user_id,
            )
        except AccountError as error:
            return _admin_page(conn, user, str(error))
    return go("/admin")


def _role(text: str) -> Role:
    try:
        return Role(text)
    except ValueError:
        raise AccountError("choose a role") from None
