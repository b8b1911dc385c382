"""Screening in the server: the API routes, and the saving and judging the pages share.

A saved screening is judged at once under the active protocol through
:func:`sijreg.store.screenings.judge`, which stores the decision with the protocol's
id, version and hash; the evaluate route judges posted values with the same
:func:`~sijreg.domain.screening.evaluate` without saving anything (as-you-type
feedback). (No ``from __future__ import annotations``: FastAPI reads the models.)
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, computed_field, create_model
from pydantic import Field as Schema

from sijreg.domain.dictionary import SCREENING
from sijreg.domain.protocol import Protocol
from sijreg.domain.records import Values
from sijreg.domain.screening import Decision, evaluate
from sijreg.domain.wording import labels
from sijreg.server import web
from sijreg.server.api import _ERRORS, RecordId, conflict_response
from sijreg.server.models import MAX_ID, OUTPUTS, ConflictBody, input_model, update_model
from sijreg.store.scope import Conflict, SiteScope
from sijreg.store.screenings import StoredResult, judge, load_screenings, stored_results

_LINK = (
    Annotated[int | None, Schema(ge=1, le=MAX_ID)],
    Schema(None, description="The enrolled patient of this site the screening belongs to."),
)
ScreeningIn = input_model(SCREENING, patient_id=_LINK)
ScreeningUpdate = update_model(SCREENING, patient_id=_LINK)


class Criterion(BaseModel):
    key: str
    label: str
    status: str
    found: str
    """The value(s) that decided it, in words."""
    required: str
    missing: list[str]
    """The screening fields still to enter, by name."""

    @computed_field  # type: ignore[prop-decorator]
    @property
    def missing_labels(self) -> str:
        """The same fields by their labels, for a person."""
        return labels(self.missing)


class ProtocolRef(BaseModel):
    id: str
    version: str
    sha256: str


class Evaluation(BaseModel):
    """A decision under the active protocol, judged now and not stored."""

    protocol: ProtocolRef
    decision: str
    summary: str
    criteria: list[Criterion]
    missing: list[str]


class StoredDecision(BaseModel):
    """A decision as stored when the screening was saved."""

    protocol: ProtocolRef
    screening_version: int
    decision: str
    criteria: list[Criterion]
    judged_at: datetime


ScreeningOut = create_model(
    "ScreeningOut",
    __base__=OUTPUTS["screening"],
    decision=(StoredDecision | None, Schema(None, description="The latest stored decision.")),
)
_Raw = (
    str | int | Annotated[float, Schema(allow_inf_nan=False)] | bool | None,
    Schema(None, description="As typed; a blank or invalid value counts as missing."),
)
EvaluationIn = create_model(
    "EvaluationIn",
    __config__=ConfigDict(extra="forbid"),
    **{f.name: _Raw for f in SCREENING.fields},  # type: ignore[call-overload]
)


def stored_decision(result: StoredResult) -> StoredDecision:
    return StoredDecision(
        protocol=ProtocolRef(
            id=result.protocol_id, version=result.protocol_version, sha256=result.protocol_sha256
        ),
        screening_version=result.screening_version,
        decision=result.decision,
        criteria=[Criterion(**c) for c in result.criteria],
        judged_at=result.judged_at,
    )


def latest(conn: sa.Connection, screening_id: int) -> StoredResult | None:
    """The screening's latest stored decision, if any."""
    results = stored_results(conn, screening_id)
    return results[-1] if results else None


def screening_out(conn: sa.Connection, row: Mapping[Any, Any]) -> BaseModel:
    result = latest(conn, row["id"])
    return ScreeningOut.model_validate(
        {**row, "decision": None if result is None else stored_decision(result)}
    )


def save(
    scope: SiteScope,
    protocol: Protocol,
    values: Values,
    record_id: int | None = None,
    version: int = 0,
    reason: str | None = None,
) -> tuple[sa.RowMapping, Decision]:
    """Create (or update) a screening of the scope's site and store its decision."""
    if record_id is None:
        row = scope.create("screening", values)
    else:
        row = scope.update("screening", record_id, values, version, reason)
    stored = load_screenings(scope.conn, scope.site_code(), row["screening_number"])
    return row, judge(scope.conn, protocol, stored)[0]


router = APIRouter(prefix="/api/v1/screenings", responses=_ERRORS, tags=["screening"])
_CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ConflictBody, "description": "Changed since read; not saved."}
}


def _scope(conn: sa.Connection, request: Request) -> SiteScope:
    return SiteScope(conn, web.api_actor(conn, request))


def list_screenings(request: Request) -> Any:
    with web.transaction(request) as conn:
        return [screening_out(conn, r) for r in _scope(conn, request).screenings()]


def create_screening(request: Request, body: Any) -> Any:
    with web.transaction(request) as conn:
        row, _ = save(_scope(conn, request), web.settings(request).protocol, body.model_dump())
        return screening_out(conn, row)


def evaluate_screening(request: Request, body: Any) -> Any:
    with web.transaction(request) as conn:
        _scope(conn, request)
    return Evaluation(**evaluate(web.settings(request).protocol, body.model_dump()).as_dict())


def read_screening(request: Request, record_id: RecordId) -> Any:
    with web.transaction(request) as conn:
        return screening_out(conn, _scope(conn, request).get("screening", record_id))


def update_screening(request: Request, record_id: RecordId, body: Any) -> Any:
    values = body.model_dump(exclude={"version", "reason"})
    protocol = web.settings(request).protocol
    try:
        with web.transaction(request) as conn:
            scope = _scope(conn, request)
            row, _ = save(scope, protocol, values, record_id, body.version, body.reason)
            return screening_out(conn, row)
    except Conflict as error:
        return conflict_response("screening", error, body.model_dump(mode="json"))


create_screening.__annotations__["body"] = ScreeningIn  # FastAPI reads the models from here
evaluate_screening.__annotations__["body"] = EvaluationIn
update_screening.__annotations__["body"] = ScreeningUpdate
_add = router.add_api_route
_add(
    "",
    list_screenings,
    methods=["GET"],
    response_model=list[ScreeningOut],
    summary="The site's screening log",
)
_add(
    "",
    create_screening,
    methods=["POST"],
    response_model=ScreeningOut,
    status_code=201,
    summary="Record a screening; its decision is stored",
)
_add(
    "/evaluate",
    evaluate_screening,
    methods=["POST"],
    response_model=Evaluation,
    summary="Judge values under the active protocol without saving",
)
_add(
    "/{record_id}",
    read_screening,
    methods=["GET"],
    response_model=ScreeningOut,
    summary="Read a screening with its latest stored decision",
)
_add(
    "/{record_id}",
    update_screening,
    methods=["PUT"],
    response_model=ScreeningOut,
    responses=_CONFLICT,
    summary="Update a screening; its decision is stored again",
)
