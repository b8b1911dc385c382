"""The sign-in form's CSRF protection without a database row: a double-submit cookie.

Viewing the sign-in page (or any page) without a session writes nothing: instead of an
anonymous session row, the page sets a random, dated cookie and puts a token derived
from it (an HMAC keyed by the cookie) in the form. The sign-in POST must carry both, and
the cookie must be younger than the idle time-out. The cookie is ``__Host-`` prefixed
(Secure, path ``/``, no domain), so a neighbouring host cannot plant a known one;
``SameSite=Strict`` keeps it off cross-site posts. The real session starts at sign-in.
"""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from fastapi import Request, Response

from sijreg.store import accounts

COOKIE = "__Host-sijreg_sign_in"


def issue() -> str:
    """A fresh cookie value: the issue time and a random secret."""
    return f"{int(time.time())}.{secrets.token_urlsafe(32)}"


def form_token(raw: str) -> str:
    return accounts.csrf_token(raw)


def set_cookie(response: Response, raw: str) -> None:
    response.set_cookie(COOKIE, raw, httponly=True, secure=True, samesite="strict", path="/")


def clear_cookie(response: Response) -> None:
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True)


def valid(request: Request, submitted: str, max_age: timedelta) -> bool:
    """Whether the posted token belongs to this browser's fresh sign-in cookie."""
    raw = request.cookies.get(COOKIE, "")
    issued, _, secret = raw.partition(".")
    if not issued.isdigit() or len(secret) < 32 or len(raw) > 100:
        return False
    if time.time() - int(issued) > max_age.total_seconds():
        return False
    return accounts.csrf_ok(raw, submitted)
