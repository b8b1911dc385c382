"""No typed work lost to an ended session: the sign-in round trip of a kept form.

A form posted after its session ended is kept (:mod:`sijreg.store.kept_forms`) and the
browser, holding only the key in a cookie, goes to the sign-in page, which says so;
signing in returns to the form, and the form's page fills in the kept values.
Only the record forms are kept (their page has the same address as their action).
"""

from __future__ import annotations

import re

import sqlalchemy as sa
from fastapi import Request
from fastapi.responses import RedirectResponse, Response

from sijreg.server import web
from sijreg.store import kept_forms

COOKIE = "sijreg_kept"
FORM_PAGES = re.compile(
    r"/patients/new|/patients/\d+/[a-z_]+/new|/records/[a-z_]+/\d+/edit|/screenings/(new|\d+)"
)
"""Pages whose form posts back to their own address."""


def keep_and_sign_in(request: Request, form: dict[str, str]) -> Response:
    """Keep a form posted after the session ended; off to the sign-in page."""
    path = request.url.path
    if not FORM_PAGES.fullmatch(path):
        return RedirectResponse("/sign-in", status_code=303)
    with web.transaction(request) as conn:
        raw = kept_forms.keep(conn, web.session_id(request), path, form)
    response = RedirectResponse("/sign-in", status_code=303)
    response.set_cookie(COOKIE, raw, httponly=True, secure=True, samesite="strict", path="/")
    return response


def is_waiting(request: Request) -> bool:
    """Whether this browser holds a kept form (the sign-in page says so)."""
    return bool(request.cookies.get(COOKIE))


def after_sign_in(conn: sa.Connection, request: Request, user_id: int) -> str | None:
    """Where the kept form of this user waits, if any."""
    raw = request.cookies.get(COOKIE)
    return kept_forms.waiting(conn, raw, user_id) if raw and len(raw) < 100 else None


def restored(conn: sa.Connection, request: Request, user: web.PageUser) -> dict[str, str] | None:
    """The values kept for this page and user, handed back once."""
    raw = request.cookies.get(COOKIE)
    if not raw or len(raw) >= 100:
        return None
    return kept_forms.take(conn, raw, user.actor.user_id, request.url.path)
