"""The patient's follow-up page: a link, no account; one question group per page.

Works without JavaScript: each page is a form that saves its answers and goes on,
so a patient can stop at any point and resume from the same link. The last page
lists the answers and submits them once; the link then stops working. A wrong,
used and expired link all get the same plain answer, and each counts as a failed
try for the client's address (guessing is throttled as sign-in is).

Wording is translatable: the page's own text comes from the Babel catalogue
(``locale/``), the questions and their answers from the instrument files (their FHIR
translations). The language is the browser's (``Accept-Language``) when an instrument
speaks it; a question shown in another language than the page's own text carries its
``lang``, so a screen reader reads each in its language.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from functools import cache
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment

from sijreg.domain.questionnaire import (
    Group,
    Instrument,
    ItemKind,
    Text,
    languages,
    parse_answers,
    say,
    spoken,
)
from sijreg.server import web
from sijreg.server.i18n import SHIPPED_LANGUAGES, environment
from sijreg.server.pages import Posted
from sijreg.store import accounts, followup
from sijreg.store.followup import Link, PatientLocked

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Path(min_length=1, max_length=200)]
DEFAULT_LANGUAGE = SHIPPED_LANGUAGES[0]


@cache
def _templates(language: str) -> Environment:
    return environment(language)


def _chrome(language: str) -> str:
    """The language of the page's own text: the question's when a catalogue is shipped."""
    return language if language in SHIPPED_LANGUAGES else DEFAULT_LANGUAGE


def _render(template: str, language: str, status: int = 200, **context: Any) -> HTMLResponse:
    chrome = _chrome(language)
    body = _templates(chrome).get_template(template).render(language=chrome, **context)
    return HTMLResponse(body, status_code=status)


def accepted(header: str) -> list[str]:
    """The languages of an ``Accept-Language`` header, most wanted first (q=0 left out)."""
    ranked = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                continue
        if tag.strip() and weight > 0:
            ranked.append((-weight, position, tag.strip().lower()))
    return [tag for _, _, tag in sorted(ranked)]


def _language(request: Request, instruments: Sequence[Instrument]) -> str:
    """The first language the browser accepts that the instruments speak (a tag's own
    language will do: de-CH finds de), else the instruments' default."""
    offered = languages(instruments)
    by_lower = {lang.lower(): lang for lang in offered}
    for tag in accepted(request.headers.get("accept-language", "")):
        for candidate in (tag, tag.split("-")[0]):
            if candidate in by_lower:
                return by_lower[candidate]
    return offered[0] if offered else DEFAULT_LANGUAGE


def _said(text: Text, language: str) -> tuple[str, str | None]:
    """The wording in ``language`` (or the default) and its ``lang`` when the page's own
    text is in another language (None when they agree)."""
    lang, wording = spoken(text, language)
    return wording, None if lang == _chrome(language) else lang


def _throttle_keys(request: Request) -> tuple[str, str]:
    client = web.client_address(request)
    return accounts.digest("link:" + client), accounts.digest("link-client:" + client)


def _link(conn: sa.Connection, request: Request, token: str) -> Link | None:
    keys = _throttle_keys(request)
    if accounts.throttled(conn, keys) > timedelta(0):
        return None
    found = followup.open_link(conn, token, web.today())
    if found is None:
        accounts.record_failure(conn, keys)
    return found


def _dead() -> HTMLResponse:
    """The one answer for a wrong, used, expired or throttled link."""
    return _render("patient_dead.html.j2", DEFAULT_LANGUAGE, 404)


def _groups(instruments: Sequence[Instrument]) -> list[Group]:
    return [g for ins in instruments for g in ins.groups]


def _instruments(request: Request) -> tuple[Instrument, ...]:
    return web.settings(request).instruments


def _draw(
    group: Group, answers: dict[str, str], errors: dict[str, str], language: str
) -> list[dict[str, Any]]:
    drawn = []
    for item in group.items:
        options: list[tuple[str, str, str | None]]
        if item.kind is ItemKind.CHOICE:
            options = [(o.code, *_said(o.label, language)) for o in item.options]
        elif item.kind is ItemKind.BOOLEAN:
            options = [("yes", "yes", None), ("no", "no", None)]
        elif (
            item.kind is ItemKind.INTEGER
            and item.minimum is not None
            and item.maximum is not None
            and item.maximum - item.minimum <= 10
        ):
            span = range(int(item.minimum), int(item.maximum) + 1)
            options = [(str(n), str(n), None) for n in span]
        else:
            options = []
        text, lang = _said(item.text, language)
        drawn.append(
            {
                "id": item.link_id,
                "text": text,
                "lang": lang,
                "kind": item.kind.value,
                "required": item.required,
                "minimum": item.minimum,
                "maximum": item.maximum,
                "options": options,
                "value": answers.get(item.link_id, ""),
                "error": errors.get(item.link_id),
            }
        )
    return drawn


def _page(
    link: Link,
    token: str,
    groups: list[Group],
    index: int,
    answers: dict[str, str],
    language: str,
    errors: dict[str, str] | None = None,
) -> HTMLResponse:
    group = groups[index]
    title, title_lang = _said(group.title, language)
    return _render(
        "patient_page.html.j2",
        language,
        422 if errors else 200,
        site=link.site_name,
        months=link.months,
        token=token,
        index=index,
        total=len(groups),
        title=title,
        title_lang=title_lang,
        items=_draw(group, answers, errors or {}, language),
        has_errors=bool(errors),
    )


def _review(
    link: Link,
    token: str,
    instruments: Sequence[Instrument],
    answers: dict[str, str],
    language: str,
    status: int = 200,
    missing: list[tuple[int, str, str | None]] | None = None,
) -> HTMLResponse:
    groups = _groups(instruments)
    rows = []
    for index, group in enumerate(groups):
        for item in group.items:
            raw = answers.get(item.link_id, "")
            shown = next((say(o.label, language) for o in item.options if o.code == raw), raw)
            rows.append((index, *_said(item.text, language), shown, item.kind.value))
    return _render(
        "patient_review.html.j2",
        language,
        status,
        site=link.site_name,
        months=link.months,
        token=token,
        total=len(groups),
        rows=rows,
        missing=missing or [],
    )


def _first_open(groups: list[Group], answers: dict[str, str]) -> int | None:
    for index, group in enumerate(groups):
        if any(item.link_id not in answers for item in group.items):
            return index
    return None


@router.get("/f/{token}")
def show(request: Request, token: Token, page: int | None = None) -> Response:
    with web.transaction(request) as conn:
        link = _link(conn, request, token)
        if link is None:
            return _dead()
        instruments = _instruments(request)
        language = _language(request, instruments)
        groups = _groups(instruments)
        if page is None:
            page = _first_open(groups, link.answers)
            if page is None:
                return _review(link, token, instruments, link.answers, language)
        if page >= len(groups):
            return _review(link, token, instruments, link.answers, language)
        return _page(link, token, groups, max(0, page), link.answers, language)


@router.post("/f/{token}")
def save(request: Request, token: Token, form: Posted) -> Response:
    with web.transaction(request) as conn:
        link = _link(conn, request, token)
        if link is None:
            return _dead()
        instruments = _instruments(request)
        groups = _groups(instruments)
        text = form.get("page", "")
        index = int(text) if text.isdigit() and int(text) < len(groups) else 0
        group = groups[index]
        given = {i.link_id: form.get(i.link_id, "").strip() for i in group.items}
        _, errors = parse_answers([], given, only=group.items)
        if errors:
            language = _language(request, instruments)
            merged = {**link.answers, **given}
            return _page(link, token, groups, index, merged, language, errors)
        followup.save_answers(conn, link, given)
    step = index - 1 if form.get("go") == "back" else index + 1
    return RedirectResponse(f"/f/{token}?page={max(step, 0)}", status_code=303)


@router.post("/f/{token}/submit")
def submit(request: Request, token: Token, form: Posted) -> Response:
    with web.transaction(request) as conn:
        link = _link(conn, request, token)
        if link is None:
            return _dead()
        instruments = _instruments(request)
        language = _language(request, instruments)
        groups = _groups(instruments)
        missing = [
            (index, *_said(item.text, language))
            for index, group in enumerate(groups)
            for item in group.items
            if item.required and not link.answers.get(item.link_id)
        ]
        if missing:
            return _review(link, token, instruments, link.answers, language, 422, missing)
        try:
            followup.submit(
                conn,
                link.site_id,
                link.patient_id,
                link.months,
                instruments,
                link.answers,
                "patient_web",
                web.today(),
            )
        except PatientLocked:
            return _render("patient_thanks.html.j2", language, site=link.site_name, held=True)
    return _render("patient_thanks.html.j2", language, site=link.site_name, held=False)
