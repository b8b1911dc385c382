"""Plumbing shared by the API and the pages: settings, one transaction per request, who is asking.

The server keeps no state between requests beyond the database: sessions, tokens,
throttling counters and CSRF secrets all live there (the CSRF token is derived from
the session id), so any number of workers can serve one PostgreSQL database.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime

import sqlalchemy as sa
from fastapi import Request

from sijreg.domain.protocol import Protocol
from sijreg.domain.questionnaire import Instrument
from sijreg.interop.instrument_file import default_instruments
from sijreg.interop.protocol_file import load_protocol
from sijreg.server.body_limit import DEFAULT_MAX_BODY_KB
from sijreg.server.threads import REQUEST_THREADS
from sijreg.store import accounts
from sijreg.store.accounts import Actor, Role, Timeouts

SESSION_COOKIE = "sijreg_session"
SITE_COOKIE = "sijreg_site"
"""The site a monitor of several sites works at now (a site code, checked each request)."""
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True)
class ServerSettings:
    timeouts: Timeouts = field(default_factory=Timeouts)
    protocol: Protocol = field(default_factory=load_protocol)
    """The active screening protocol: decisions are judged and stored under it."""
    instruments: tuple[Instrument, ...] = field(default_factory=default_instruments)
    """The follow-up questionnaires a patient's link asks (docs/follow-up.md)."""
    max_body_kb: int = DEFAULT_MAX_BODY_KB
    """Request bodies over this many KB get 413 before they are read (server/body_limit.py)."""
    request_threads: int = REQUEST_THREADS
    """Threads a server process runs its requests in (server/threads.py)."""


class SignInRequired(Exception):
    """No live, signed-in session: the pages send the browser to the sign-in form.

    ``form`` is what the browser posted, kept so that signing in again loses nothing.
    """

    def __init__(self, form: dict[str, str] | None = None) -> None:
        super().__init__("sign-in required")
        self.form = form


class BadCsrf(Exception):
    """A form without the session's CSRF token."""


class Unauthorized(Exception):
    """An API request without a valid bearer token."""


def engine(request: Request) -> sa.Engine:
    found: sa.Engine = request.app.state.engine
    return found


def settings(request: Request) -> ServerSettings:
    found: ServerSettings = request.app.state.settings
    return found


@contextmanager
def transaction(request: Request) -> Iterator[sa.Connection]:
    """One transaction for the whole request: committed when the work succeeds."""
    with engine(request).begin() as conn:
        yield conn


@dataclass(frozen=True)
class PageUser:
    """A signed-in browser: the actor and the session's CSRF token for the forms.

    ``sites`` are the (id, code) of the sites a monitor of several sites covers
    (empty for everyone else); such a monitor acts at one of them at a time, the one
    the site cookie names (:func:`acting_site`), and lists queries and checks of all.
    """

    actor: Actor
    csrf: str
    sites: tuple[tuple[int, str], ...] = ()


def session_id(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    return raw if raw and len(raw) < 100 else None


def page_user(
    conn: sa.Connection, request: Request, form: dict[str, str] | None = None
) -> PageUser:
    """The signed-in user of a page request; a posted form must carry the CSRF token."""
    raw = session_id(request)
    if raw is None:
        raise SignInRequired(form)
    alive, user = accounts.resume_session(conn, raw, settings(request).timeouts)
    actor = accounts.actor_for(conn, user) if alive and user is not None else None
    if actor is None:
        raise SignInRequired(form)
    if form is not None and not accounts.csrf_ok(raw, form.get(CSRF_FIELD, "")):
        raise BadCsrf
    sites: tuple[tuple[int, str], ...] = ()
    if actor.role is Role.MONITOR and actor.site_id is None:
        sites = tuple(accounts.monitored_sites(conn, actor.user_id))
        actor = replace(actor, site_id=acting_site(request, sites))
    return PageUser(actor, accounts.csrf_token(raw), sites)


def acting_site(request: Request, sites: tuple[tuple[int, str], ...]) -> int | None:
    """The covered site the site cookie names, None when it names none of them: the
    cookie only chooses among the sites the database says the monitor covers."""
    wanted = request.cookies.get(SITE_COOKIE)
    return next((site_id for site_id, code in sites if code == wanted), None)


def api_actor(conn: sa.Connection, request: Request) -> Actor:
    """The actor of an API request: a bearer token in the Authorization header, nowhere else."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(accounts.TOKEN_PREFIX):
        raise Unauthorized
    actor = accounts.token_actor(conn, token.strip())
    if actor is None:
        raise Unauthorized
    return actor


def today() -> date:
    """The server's date (UTC): the worklist's "today"."""
    return datetime.now(UTC).date()


def client_address(request: Request) -> str:
    return request.client.host if request.client else "unknown"
