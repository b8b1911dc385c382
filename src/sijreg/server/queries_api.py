"""Data queries in the JSON API: list, raise, answer, correct, close and re-open, per site.

Every route acts for the token's site through :mod:`sijreg.store.queries` (a
:class:`SiteScope`): another site's query or record is a 404, as everywhere. Record,
field and state come with their labels; a step that does not fit the query's state
is a 409 saying why.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, Field

from sijreg.domain.queries import QueryState, WrongState
from sijreg.server import web
from sijreg.server.models import MAX_ID
from sijreg.store import queries
from sijreg.store.scope import SiteScope

router = APIRouter(prefix="/api/v1/queries", tags=["queries"])
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]


class QueryOut(BaseModel):
    id: int
    patient_id: int
    study_id: str
    form: str
    record_label: str
    record_id: int
    field_name: str
    field_label: str
    state: str
    state_label: str
    message: str
    answer: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class RaiseIn(BaseModel):
    form: str = Field(description="The record's form: patient, prior_procedure, fusion, ...")
    record_id: int = Field(ge=1, le=MAX_ID)
    field_name: str
    message: str


class MessageIn(BaseModel):
    message: str


class CorrectIn(BaseModel):
    value: str | None = Field(description="The new value as a form types it (yes/no: 1/0)")
    version: int = Field(description="The record's version the value was read from")
    reason: str


def _scope(conn: sa.Connection, request: Request) -> SiteScope:
    return SiteScope(conn, web.api_actor(conn, request))


def _out(row: dict[str, Any]) -> QueryOut:
    return QueryOut.model_validate(row)


@router.get("", response_model=list[QueryOut], summary="The site's queries")
def list_queries(
    request: Request,
    state: Annotated[QueryState | None, Query()] = None,
    patient_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
) -> list[QueryOut]:
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        if patient_id is not None:
            scope.get("patient", patient_id)
        return [_out(q) for q in queries.listed(scope, patient_id=patient_id, state=state)]


def _one(scope: SiteScope, query_id: int) -> QueryOut:
    row = queries.get(scope, query_id)
    study_id = scope.get("patient", row["patient_id"])["study_id"]
    return _out({**queries.described(row), "study_id": study_id})


@router.get("/{query_id}", response_model=QueryOut, summary="One query")
def get_query(request: Request, query_id: RecordId) -> QueryOut:
    with web.transaction(request) as conn:
        return _one(_scope(conn, request), query_id)


@router.post("", response_model=QueryOut, status_code=201, summary="Raise a query (monitor)")
def raise_query(request: Request, body: RaiseIn) -> QueryOut:
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        new_id = queries.raise_query(
            scope, body.form, body.record_id, body.field_name, body.message
        )
        return _one(scope, new_id)


def _step(request: Request, query_id: int, step: str, body: Any) -> QueryOut:
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        try:
            if step == "answer":
                queries.answer(scope, query_id, body.message)
            elif step == "correct":
                queries.correct(scope, query_id, body.value, body.version, body.reason)
            elif step == "close":
                queries.close(scope, query_id)
            else:
                queries.reopen(scope, query_id, body.message)
        except WrongState as wrong:
            raise HTTPException(409, str(wrong)) from None
        return _one(scope, query_id)


@router.post("/{query_id}/answer", response_model=QueryOut, summary="Answer (site)")
def answer(request: Request, query_id: RecordId, body: MessageIn) -> QueryOut:
    return _step(request, query_id, "answer", body)


@router.post("/{query_id}/correct", response_model=QueryOut, summary="Correct the value (site)")
def correct(request: Request, query_id: RecordId, body: CorrectIn) -> QueryOut:
    return _step(request, query_id, "correct", body)


@router.post("/{query_id}/close", response_model=QueryOut, summary="Close (monitor)")
def close(request: Request, query_id: RecordId) -> QueryOut:
    return _step(request, query_id, "close", None)


@router.post("/{query_id}/reopen", response_model=QueryOut, summary="Re-open (monitor)")
def reopen(request: Request, query_id: RecordId, body: MessageIn) -> QueryOut:
    return _step(request, query_id, "reopen", body)
