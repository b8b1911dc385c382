"""The JSON API under /api/v1: one set of routes per form, generated from the dictionary.

Every route authenticates a bearer token and reaches patient data only through a
:class:`SiteScope`. (No ``from __future__ import annotations`` here: FastAPI reads
the generated models from the route functions' annotations at definition time.)
"""

import json
from collections.abc import Callable
from functools import partial
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from sijreg.server import threads, web
from sijreg.server.models import (
    INPUTS,
    MAX_ID,
    OUTPUTS,
    UPDATES,
    AuditEntry,
    ConflictBody,
    Deletion,
    DueVisitOut,
    Me,
    Signature,
)
from sijreg.server.reporting import pooled_export, study_report
from sijreg.store.registry_settings import reminder_days, visit_windows
from sijreg.store.scope import Conflict, Locked, SiteScope

PLURAL = {
    "patient": "patients",
    "prior_procedure": "prior-procedures",
    "fusion": "fusions",
    "visit": "visits",
    "adverse_event": "adverse-events",
}
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No valid bearer token."},
    403: {"description": "The token's role may not do this."},
    404: {"description": "No such record at the token's site."},
}
router = APIRouter(prefix="/api/v1", responses=_ERRORS)


def _scope(conn: sa.Connection, request: Request) -> SiteScope:
    return SiteScope(conn, web.api_actor(conn, request))


def _out(name: str, row: Any) -> BaseModel:
    return OUTPUTS[name].model_validate(dict(row))


def conflict_response(name: str, conflict: Conflict, yours: dict[str, Any]) -> JSONResponse:
    body = ConflictBody(
        detail="the record was changed since you read it; nothing was saved",
        yours=yours,
        current=_out(name, conflict.current).model_dump(mode="json"),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=409)


def locked_response(
    request: Request, name: str, record_id: int, yours: dict[str, Any]
) -> JSONResponse:
    """409 for a signed, locked record: the documented conflict body, ``current`` as stored."""
    with web.transaction(request) as conn:
        current = _scope(conn, request).get(name, record_id)
    body = ConflictBody(
        detail="the patient's records are signed and locked; nothing was saved",
        yours=yours,
        current=_out(name, current).model_dump(mode="json"),
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=409)


def _history(rows: list[sa.RowMapping]) -> list[AuditEntry]:
    return [
        AuditEntry(
            id=r["id"],
            at=r["at"],
            user_id=r["user_id"],
            action=r["action"],
            old_values=json.loads(r["old_values"]) if r["old_values"] else None,
            new_values=json.loads(r["new_values"]) if r["new_values"] else None,
            reason=r["reason"],
        )
        for r in rows
    ]


def _add(path: str, endpoint: Callable[..., Any], method: str, **options: Any) -> None:
    router.add_api_route(path, endpoint, methods=[method], **options)


def _register(name: str) -> None:
    """GET/PUT/DELETE one record, its history, and (for child forms) list/create under a patient."""
    created, updated, out = INPUTS[name], UPDATES[name], OUTPUTS[name]
    one = f"/{PLURAL[name]}/{{record_id}}"
    conflict = {
        409: {
            "model": ConflictBody,
            "description": "Changed since read, or signed and locked; not saved.",
        }
    }

    def read(request: Request, record_id: RecordId) -> Any:
        with web.transaction(request) as conn:
            return _out(name, _scope(conn, request).get(name, record_id))

    def update(request: Request, record_id: RecordId, body: Any) -> Any:
        values = body.model_dump(exclude={"version", "reason"})
        try:
            with web.transaction(request) as conn:
                row = _scope(conn, request).update(
                    name, record_id, values, body.version, body.reason
                )
                return _out(name, row)
        except Conflict as error:
            return conflict_response(name, error, body.model_dump(mode="json"))
        except Locked:
            return locked_response(request, name, record_id, body.model_dump(mode="json"))

    def delete(request: Request, record_id: RecordId, body: Deletion) -> Any:
        try:
            with web.transaction(request) as conn:
                _scope(conn, request).delete(name, record_id, body.version, body.reason)
        except Conflict as error:
            return conflict_response(name, error, body.model_dump(mode="json"))
        except Locked:
            return locked_response(request, name, record_id, body.model_dump(mode="json"))
        return Response(status_code=204)

    def history(request: Request, record_id: RecordId) -> Any:
        with web.transaction(request) as conn:
            return _history(_scope(conn, request).history(name, record_id))

    def create(request: Request, body: Any) -> Any:
        with web.transaction(request) as conn:
            return _out(name, _scope(conn, request).create(name, body.model_dump()))

    def create_child(request: Request, patient_id: RecordId, body: Any) -> Any:
        with web.transaction(request) as conn:
            return _out(name, _scope(conn, request).create(name, body.model_dump(), patient_id))

    def listing(request: Request, patient_id: RecordId) -> Any:
        with web.transaction(request) as conn:
            scope = _scope(conn, request)
            scope.get("patient", patient_id)
            return [_out(name, r) for r in scope.children(name, patient_id)]

    update.__annotations__["body"] = updated  # FastAPI reads the model from here
    create.__annotations__["body"] = created
    create_child.__annotations__["body"] = created
    label = name.replace("_", " ")
    _add(one, read, "GET", response_model=out, summary=f"Read a {label}", name=f"read_{name}")
    _add(
        one,
        update,
        "PUT",
        response_model=out,
        responses=conflict,
        summary=f"Update a {label}",
        name=f"update_{name}",
    )
    _add(
        one,
        delete,
        "DELETE",
        status_code=204,
        response_class=Response,
        response_model=None,
        responses=conflict,
        summary=f"Delete a {label}",
        name=f"delete_{name}",
    )
    _add(
        f"{one}/history",
        history,
        "GET",
        response_model=list[AuditEntry],
        summary=f"Audit history of a {label}",
        name=f"history_{name}",
    )
    if name == "patient":
        _add(
            "/patients",
            create,
            "POST",
            response_model=out,
            status_code=201,
            summary="Enrol a patient",
            name="create_patient",
        )
        return
    under = f"/patients/{{patient_id}}/{PLURAL[name]}"
    _add(
        under,
        create_child,
        "POST",
        response_model=out,
        status_code=201,
        responses={409: {"description": "The patient's records are signed and locked."}},
        summary=f"Add a {label} to a patient",
        name=f"create_{name}",
    )
    _add(
        under,
        listing,
        "GET",
        response_model=list[out],  # type: ignore[valid-type]
        summary=f"A patient's {label} records",
        name=f"list_{name}",
    )


for _name in PLURAL:
    _register(_name)


_PATIENT = OUTPUTS["patient"]


@router.get("/patients", response_model=list[_PATIENT], summary="The site's patients")  # type: ignore[valid-type]
def list_patients(request: Request) -> Any:
    with web.transaction(request) as conn:
        return [_out("patient", r) for r in _scope(conn, request).patients()]


@router.get("/me", summary="Who the token speaks for")
def me(request: Request) -> Me:
    with web.transaction(request) as conn:
        actor = web.api_actor(conn, request)
        return Me(user_id=actor.user_id, role=str(actor.role), site_id=actor.site_id)


@router.get("/worklist", summary="Follow-up visits due or overdue today")
def worklist(request: Request) -> list[DueVisitOut]:
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        return [
            DueVisitOut(patient_id=p["id"], study_id=p["study_id"], **vars(due))
            for p, due in scope.worklist(web.today(), visit_windows(conn), reminder_days(conn))
        ]


@router.post(
    "/patients/{patient_id}/signature",
    status_code=204,
    response_class=Response,
    response_model=None,
    summary="Sign and lock",
)
def sign(request: Request, patient_id: RecordId, body: Signature) -> Response:
    with web.transaction(request) as conn:
        _scope(conn, request).sign(patient_id, body.password, body.meaning)
    return Response(status_code=204)


@router.get(
    "/export",
    summary="The analyst's pooled, de-identified rows (one per analysed patient)",
    response_model=list[dict[str, Any]],
)
async def export(request: Request) -> Response:
    return await threads.long_running(request.app, partial(_export, request))


def _export(request: Request) -> Response:
    """Read and encoded in the pool of long requests (the rows can be many)."""
    with web.transaction(request) as conn:
        rows = pooled_export(web.engine(request), conn, web.api_actor(conn, request))
    return JSONResponse(jsonable_encoder(rows.to_dicts()))


@router.get(
    "/report",
    summary="Tables 1-3: the site's own, or pooled for the analyst",
    response_model=dict[str, Any],
)
async def report(request: Request) -> Response:
    return await threads.long_running(request.app, partial(_report, request))


def _report(request: Request) -> Response:
    with web.transaction(request) as conn:
        doc, _ = study_report(web.engine(request), conn, web.api_actor(conn, request))
    return JSONResponse(jsonable_encoder(doc))
