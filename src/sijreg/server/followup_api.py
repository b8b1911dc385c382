"""Follow-up in the JSON API: states, invitations, answers and completeness, per site.

Every route acts for the token's site (a :class:`SiteScope`): another site's
patient is a 404, as everywhere. Invitations are listed without token or salt: a
link can only be made by the site's ``sijreg invitations`` command.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from pydantic import BaseModel, Field

from sijreg.analysis.completeness import completeness, read_patients
from sijreg.domain import dictionary as dd
from sijreg.domain.entry import Invalid
from sijreg.domain.questionnaire import AnswerError, parse_answers
from sijreg.domain.types import FieldError
from sijreg.server import web
from sijreg.server.models import MAX_ID
from sijreg.store import followup
from sijreg.store.followup import PatientLocked
from sijreg.store.registry_settings import reminder_days, visit_windows
from sijreg.store.scope import Forbidden, Locked, SiteScope

router = APIRouter(prefix="/api/v1/follow-up", tags=["follow-up"])
RecordId = Annotated[int, Path(ge=1, le=MAX_ID)]
Months = Annotated[int, Path(ge=1, le=600)]


class TimePointOut(BaseModel):
    patient_id: int
    study_id: str
    months: int
    target: date
    opens: date
    closes: date
    state: str


class InvitationOut(BaseModel):
    id: int
    patient_id: int
    study_id: str
    months: int
    opens: date
    closes: date
    messages_sent: int
    first_sent_at: datetime | None
    last_sent_at: datetime | None
    opened_at: datetime | None
    completed_at: datetime | None
    visit_id: int | None


class AnswersIn(BaseModel):
    source: str = Field(description="phone, paper or coordinator")
    visit_date: date
    answers: dict[str, str] = Field(description="Answers by questionnaire item link id")


class VisitCreated(BaseModel):
    visit_id: int


class CompletenessOut(BaseModel):
    as_of: date
    site: str
    months: int
    due: int
    answered: int
    percent: float | None


def _scope(conn: sa.Connection, request: Request) -> SiteScope:
    return SiteScope(conn, web.api_actor(conn, request))


@router.get("/states", summary="Each fused patient's follow-up time points and their state")
def states(request: Request) -> list[TimePointOut]:
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        return [
            TimePointOut(
                patient_id=p.patient_id,
                study_id=p.study_id,
                months=t.months,
                target=t.target,
                opens=t.opens,
                closes=t.closes,
                state=t.state.value,
            )
            for p in followup.follow_up(
                conn, scope.site_id, web.today(), visit_windows(conn), reminder_days(conn)
            )
            for t in p.time_points
        ]


@router.get("/invitations", summary="The site's invitations: when sent, opened, answered")
def invitations(request: Request) -> list[InvitationOut]:
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        return [
            InvitationOut.model_validate(dict(r)) for r in followup.invitations(conn, scope.site_id)
        ]


@router.post(
    "/{patient_id}/{months}/answers",
    status_code=201,
    summary="Answers taken by phone or on paper, as the patient's follow-up visit",
)
def answers(
    request: Request, patient_id: RecordId, months: Months, body: AnswersIn
) -> VisitCreated:
    instruments = web.settings(request).instruments
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        scope.get("patient", patient_id)
        if scope.actor.role.value not in ("coordinator", "investigator"):
            raise Forbidden("this role cannot change records")
        _, errors = parse_answers(instruments, body.answers)
        if body.source not in ("phone", "paper", "coordinator"):
            errors["source"] = "expected one of phone, paper, coordinator"
        try:
            dd.field("visit_date").parse(body.visit_date)
        except FieldError as error:
            errors["visit_date"] = str(error)
        if errors:
            raise Invalid(errors)
        try:
            visit_id = followup.submit(
                conn,
                scope.site_id,
                patient_id,
                months,
                instruments,
                body.answers,
                body.source,
                body.visit_date,
                scope.actor.user_id,
            )
        except PatientLocked:
            raise Locked("the patient's records are signed and locked") from None
        except AnswerError as error:
            raise Invalid({"answers": str(error)}) from None
    return VisitCreated(visit_id=visit_id)


@router.get("/completeness", summary="Follow-up completeness by time point (due, answered, %)")
def site_completeness(request: Request) -> list[CompletenessOut]:
    with web.transaction(request) as conn:
        scope = _scope(conn, request)
        found = completeness(read_patients(conn, scope.site_id), web.today(), visit_windows(conn))
    return [
        CompletenessOut(
            as_of=found.as_of,
            site=r.site,
            months=r.months,
            due=r.due,
            answered=r.answered,
            percent=r.percent,
        )
        for r in found.rows
    ]
