"""The data query pages: a site's query list, raising a query on a record, and one query's page.

A monitor (or investigator) raises a query from a record's row on the patient page,
closes or re-opens it; a coordinator (or investigator) answers it or corrects the
value with a reason. Every step goes through :mod:`sijreg.store.queries`; a step that
does not fit the query's state or the user's role is refused on the query's page,
with what was typed kept.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from fastapi.responses import Response

from sijreg.domain import dictionary as dd
from sijreg.domain.entry import Invalid
from sijreg.domain.queries import MESSAGE, QueryState, WrongState
from sijreg.domain.types import Form
from sijreg.domain.wording import in_words
from sijreg.server import web
from sijreg.server.monitor_sites import link, own_site, per_site
from sijreg.server.pages import Posted, RecordId, _scope, _version, display, fields, go, page
from sijreg.store import queries, schema
from sijreg.store.scope import (
    REASON,
    RECORD_TABLES,
    Conflict,
    Forbidden,
    Locked,
    NotFound,
    ReasonRequired,
    SiteScope,
)

router = APIRouter(include_in_schema=False)


@router.get("/queries")
def query_list(request: Request) -> Response:
    """The queries of the user's site, or of every site a monitor of several covers (with
    a site column and filter)."""
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
        wanted = request.query_params.get("state", "")
        state = QueryState(wanted) if wanted in set(QueryState) else None
        codes = [code for _, code in user.sites]
        site = request.query_params.get("site", "")
        site = site if site in codes else ""
        every = [
            {
                **q,
                "site": code,
                "patient_link": link(user, code, f"/patients/{q['patient_id']}"),
                "link": link(user, code, f"/queries/{q['id']}"),
            }
            for code, q in per_site(conn, user, queries.listed)
            if not site or code == site
        ]
        counts = [(s, sum(q["state"] == s for q in every)) for s in QueryState]
        return page(
            "queries.html.j2",
            user,
            queries=[q for q in every if state is None or q["state"] == state],
            counts=counts,
            state=state,
            site=site,
            sites=codes,
            own=own_site(conn, user),
        )


def _what(form: Form, record: Any) -> str:
    """The record as a person knows it: "the patient record", "Visit 2026-05-01"."""
    if form.name == "patient":
        return "the patient record"
    return f"{form.label} {in_words(form.fields[0], record[form.fields[0].name])}".strip()


def _record_of(scope: SiteScope, name: str, record_id: int) -> tuple[Any, Any]:
    """The record and its patient (NotFound for another site's or an unknown form)."""
    if name not in RECORD_TABLES:
        raise NotFound(name)
    record = scope.get(name, record_id)
    patient_id = record_id if name == "patient" else record["patient_id"]
    return record, scope.get("patient", patient_id)


def _new_form(
    scope: SiteScope,
    user: web.PageUser,
    name: str,
    record_id: int,
    typed: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    record, patient = _record_of(scope, name, record_id)
    form = dd.form(name)
    return page(
        "query_new.html.j2",
        user,
        status,
        form=form,
        record=record,
        patient=patient,
        site=scope.site_code(),
        what=_what(form, record),
        choices=[(f.name, f.label, in_words(f, record[f.name])) for f in form.fields],
        typed=typed,
        errors=errors,
        message_rule=MESSAGE.describe_rule(),
    )


@router.get("/records/{name}/{record_id}/queries/new")
def new_query(request: Request, name: str, record_id: RecordId) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        typed = {"field_name": request.query_params.get("field", "")}
        return _new_form(scope, user, name, record_id, typed, {})


@router.post("/records/{name}/{record_id}/queries/new")
def raise_query(request: Request, name: str, record_id: RecordId, form: Posted) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request, form)
        _record_of(scope, name, record_id)
        try:
            new_id = queries.raise_query(
                scope, name, record_id, form.get("field_name", ""), form.get("message")
            )
        except Invalid as invalid:
            return _new_form(scope, user, name, record_id, form, invalid.errors, 422)
    return go(f"/queries/{new_id}")


def _query_page(
    scope: SiteScope,
    user: web.PageUser,
    query_id: int,
    typed: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    problem: str | None = None,
    status: int = 200,
    done: str | None = None,
) -> Response:
    query = queries.described(queries.get(scope, query_id))
    record, patient = _record_of(scope, query["form"], query["record_id"])
    form = dd.form(query["form"])
    f = queries.queried_field(query["form"], query["field_name"])
    value = (typed or {}).get(f.name, display(f.name, record[f.name]))
    return page(
        "query.html.j2",
        user,
        status,
        query=query,
        record=record,
        patient=patient,
        site=scope.site_code(),
        what=_what(form, record),
        value=in_words(f, record[f.name]),
        field=fields(form, {f.name: value}, errors or {})[form.fields.index(f)],
        trail=queries.trail(scope, [query_id]),
        names=_names(scope),
        typed=typed or {},
        errors=errors or {},
        problem=problem,
        done=done,
        can_raise=scope.actor.role in queries.RAISERS,
        can_answer=scope.actor.role in queries.ANSWERERS,
        locked=scope.locked(patient["id"]),
        reason_rule=REASON.describe_rule(),
        message_rule=MESSAGE.describe_rule(),
    )


def _names(scope: SiteScope) -> dict[int, str]:
    u = schema.app_user
    return dict(scope.conn.execute(sa.select(u.c.id, u.c.printed_name)).all())


@router.get("/queries/{query_id}")
def show_query(request: Request, query_id: RecordId) -> Response:
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request)
        done = DONE.get(request.query_params.get("done", ""))
        return _query_page(scope, user, query_id, done=done)


DONE = {
    "answer": "Saved: the query is answered.",
    "correct": "Saved: the value is corrected and the query answered.",
    "close": "Saved: the query is closed.",
    "reopen": "Saved: the query is open again.",
}


@router.post("/queries/{query_id}/{step}")
def take_step(request: Request, query_id: RecordId, step: str, form: Posted) -> Response:
    """answer, correct, close or reopen; a refusal shows the query again, typing kept."""
    with web.transaction(request) as conn:
        scope, user = _scope(conn, request, form)
        query = queries.get(scope, query_id)
        try:
            if step == "answer":
                queries.answer(scope, query_id, form.get("message"))
            elif step == "correct":
                raw = form.get(query["field_name"])
                queries.correct(scope, query_id, raw, _version(form), form.get("reason"))
            elif step == "close":
                queries.close(scope, query_id)
            elif step == "reopen":
                queries.reopen(scope, query_id, form.get("message"))
            else:
                return page("error.html.j2", user, 404, title="Not found", message="No such step.")
        except Invalid as invalid:
            return _query_page(scope, user, query_id, form, invalid.errors, status=422)
        except ReasonRequired as missing:
            errors = {"reason": str(missing).removeprefix("reason: ")}
            return _query_page(scope, user, query_id, form, errors, status=422)
        except (WrongState, Forbidden, Locked, Conflict) as refused:
            status = 403 if isinstance(refused, Forbidden) else 409
            return _query_page(scope, user, query_id, form, {}, _refusal(refused), status)
    return go(f"/queries/{query_id}?done={step}")


def _refusal(error: Exception) -> str:
    if isinstance(error, Conflict):
        return "The record changed since you opened this page; nothing was saved. Check the value."
    text = str(error)
    return text[:1].upper() + text[1:] + "."
