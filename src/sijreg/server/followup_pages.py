"""The site's follow-up pages: the call list, call attempts, and answers taken by phone or paper.

The call list shows every follow-up that needs work today (due, invited, reminded,
overdue), overdue first, with the calls made so far; missed ones (window closed)
are not on it but count in the report's completeness. A coordinator types a phone
or paper answer on the same questionnaire the patient's link shows, recording
the mode.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from sijreg.analysis.completeness import completeness, read_patients
from sijreg.domain import dictionary as dd
from sijreg.domain.followup import OPEN_STATES, State
from sijreg.domain.questionnaire import AnswerError, ItemKind, parse_answers, say
from sijreg.domain.types import FieldError
from sijreg.server import web
from sijreg.server.pages import Posted, RecordId, go, page
from sijreg.store import followup
from sijreg.store.followup import CALL_OUTCOMES, PatientLocked
from sijreg.store.registry_settings import reminder_days, visit_windows
from sijreg.store.scope import Forbidden, NotFound, SiteScope

router = APIRouter(include_in_schema=False)
ENTRY_SOURCES = ("phone", "paper", "coordinator")


@router.get("/follow-up")
def call_list(request: Request) -> Response:
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
        scope = SiteScope(conn, user.actor)
        patients = followup.follow_up(
            conn, scope.site_id, web.today(), visit_windows(conn), reminder_days(conn)
        )
        made = followup.calls(conn, scope.site_id)
        rows = [
            (p, tp, made.get((p.patient_id, tp.months), []))
            for p in patients
            for tp in p.time_points
            if tp.state in OPEN_STATES
        ]
        rows.sort(key=lambda r: (r[1].state is not State.OVERDUE, r[1].target))
        counts: dict[State, int] = {}
        for p in patients:
            for tp in p.time_points:
                counts[tp.state] = counts.get(tp.state, 0) + 1
        found = completeness(read_patients(conn, scope.site_id), web.today(), visit_windows(conn))
        return page(
            "call_list.html.j2",
            user,
            completeness=[r for r in found.rows if r.site != "All"],
            responders=found.responders,
            rows=rows,
            counts=[(s.label, counts.get(s, 0)) for s in State],
            outcomes=CALL_OUTCOMES,
            today=web.today(),
            site=scope.site_code(),
        )


@router.post("/follow-up/calls")
def record_call(request: Request, form: Posted) -> Response:
    with web.transaction(request) as conn:
        user = web.page_user(conn, request, form)
        scope = SiteScope(conn, user.actor)
        if user.actor.role.value not in ("coordinator", "investigator"):
            raise Forbidden("this role cannot record calls")
        patient_id, months = _whole(form.get("patient_id")), _whole(form.get("months"))
        scope.get("patient", patient_id)
        try:
            followup.record_call(
                conn, scope.site_id, patient_id, months, form.get("outcome", ""), user.actor.user_id
            )
        except ValueError:
            return go("/follow-up?call=needs-outcome")
    return go("/follow-up")


def _whole(text: str | None) -> int:
    if not text or not text.isdigit() or len(text) > 9:
        raise NotFound("follow-up")
    return int(text)


def _entry_form(
    request: Request,
    user: web.PageUser,
    patient: Any,
    months: int,
    answers: dict[str, str],
    errors: dict[str, str],
    status: int = 200,
) -> Response:
    groups = []
    for instrument in web.settings(request).instruments:
        for group in instrument.groups:
            items = []
            for item in group.items:
                options = [(o.code, say(o.label, "en")) for o in item.options]
                if item.kind is ItemKind.BOOLEAN:
                    options = [("yes", "Yes"), ("no", "No")]
                items.append(
                    {
                        "id": item.link_id,
                        "text": say(item.text, "en"),
                        "options": options,
                        "range": f"{item.minimum} to {item.maximum}"
                        if item.minimum is not None
                        else "",
                        "value": answers.get(item.link_id, ""),
                        "error": errors.get(item.link_id),
                    }
                )
            groups.append({"title": say(group.title, "en"), "questions": items})
    source = dd.field("source")
    return page(
        "followup_entry.html.j2",
        user,
        status,
        patient=patient,
        months=months,
        groups=groups,
        sources=[(code, source.choice_label(code)) for code in ENTRY_SOURCES],
        answers=answers,
        errors=errors,
        today=web.today(),
    )


@router.get("/follow-up/{patient_id}/{months}/answers")
def entry_form(request: Request, patient_id: RecordId, months: RecordId) -> Response:
    with web.transaction(request) as conn:
        user = web.page_user(conn, request)
        patient = SiteScope(conn, user.actor).get("patient", patient_id)
        return _entry_form(request, user, patient, months, {}, {})


@router.post("/follow-up/{patient_id}/{months}/answers")
def enter(request: Request, patient_id: RecordId, months: RecordId, form: Posted) -> Response:
    with web.transaction(request) as conn:
        user = web.page_user(conn, request, form)
        scope = SiteScope(conn, user.actor)
        patient = scope.get("patient", patient_id)
        if user.actor.role.value not in ("coordinator", "investigator"):
            raise Forbidden("this role cannot change records")
        instruments = web.settings(request).instruments
        answers = {
            i.link_id: form.get(i.link_id, "").strip() for ins in instruments for i in ins.items
        }
        _, errors = parse_answers(instruments, answers)
        source = form.get("source", "")
        if source not in ENTRY_SOURCES:
            errors["source"] = "choose how the answers were given"
        try:
            when = dd.field("visit_date").parse(form.get("visit_date"))
        except FieldError as error:
            errors["visit_date"] = str(error)
        if errors:
            return _entry_form(request, user, patient, months, form, errors, 422)
        assert isinstance(when, type(web.today()))
        try:
            followup.submit(
                conn,
                scope.site_id,
                patient_id,
                months,
                instruments,
                {k: v for k, v in answers.items() if v},
                source,
                when,
                user.actor.user_id,
            )
        except PatientLocked:
            errors["source"] = "the patient's records are signed and locked: unlock first"
            return _entry_form(request, user, patient, months, form, errors, 409)
        except AnswerError as error:
            errors["source"] = str(error)
            return _entry_form(request, user, patient, months, form, errors, 422)
    return go(f"/patients/{patient_id}")
