"""The FastAPI application: routes, error answers, security headers and a log without secrets.

Errors never carry a stack trace: expected ones become 4xx answers, anything else
a generic 500 page or JSON. The request log names the route template, never the
URL (so no id or query value), the user, the address or any secret.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sijreg import __version__
from sijreg.domain.entry import Invalid
from sijreg.server import (
    api,
    api_docs,
    body_limit,
    busy,
    checks_pages,
    followup_api,
    followup_pages,
    health,
    idempotency,
    kept_forms,
    monitor_sites,
    pages,
    patient_link,
    queries_api,
    queries_pages,
    screening_pages,
    screenings,
    threads,
    web,
)
from sijreg.store.audit import ChainBusy
from sijreg.store.scope import Conflict, Forbidden, Locked, NotFound, ReasonRequired

log = logging.getLogger("sijreg.server")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "Strict-Transport-Security": "max-age=31536000",
}

_MESSAGES = {
    400: ("Bad request", "The request could not be understood."),
    401: ("Sign-in required", "Please sign in."),
    403: ("Not allowed", "Your role does not allow this, or the form expired: reload and retry."),
    404: ("Not found", "There is no such page or record."),
    405: ("Not allowed", "This method is not allowed here."),
    409: ("Conflict", "The record changed or is locked; nothing was saved."),
    422: ("Invalid input", "Some values break their rules."),
    500: ("Something went wrong", "The error was logged. Nothing was saved."),
    503: (
        "Busy, please retry",
        "The registry is busy writing a large import. Nothing was saved: retry in a few seconds.",
    ),
}


def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _answer(request: Request, status: int, detail: Any = None, **headers: str) -> Response:
    title, message = _MESSAGES.get(status, (f"Error {status}", "The request failed."))
    if _is_api(request):
        return JSONResponse({"detail": detail or message}, status_code=status, headers=headers)
    response = pages.render("error.html.j2", status, title=title, message=message)
    response.headers.update(headers)
    return response


def _handlers(app: FastAPI) -> None:
    async def not_found(request: Request, _: Exception) -> Response:
        return _answer(request, 404, "not found")

    async def forbidden(request: Request, error: Exception) -> Response:
        return _answer(request, 403, str(error))

    async def locked(request: Request, error: Exception) -> Response:
        return _answer(request, 409, str(error))

    async def conflict(request: Request, error: Exception) -> Response:
        return _answer(request, 409, str(error))

    async def invalid(request: Request, error: Exception) -> Response:
        errors = error.errors if isinstance(error, Invalid) else {"reason": str(error)}
        detail = [
            {"loc": ["body", name], "msg": reason, "type": "value_error"}
            for name, reason in errors.items()
        ]
        return _answer(request, 422, detail)

    async def validation(request: Request, error: Exception) -> Response:
        assert isinstance(error, RequestValidationError)
        detail = [
            {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
            for e in error.errors()
        ]
        return _answer(request, 422, detail)

    async def http_error(request: Request, error: Exception) -> Response:
        assert isinstance(error, HTTPException)
        return _answer(request, error.status_code, error.detail, **(error.headers or {}))

    async def sign_in(request: Request, error: Exception) -> Response:
        if _is_api(request):
            return _answer(
                request, 401, "a valid bearer token is required", **{"WWW-Authenticate": "Bearer"}
            )
        if request.url.path == screening_pages.EVALUATE:  # the form's script: no redirect,
            return JSONResponse({"detail": "sign-in required"}, status_code=401)  # no new session
        if isinstance(error, web.SignInRequired) and error.form is not None:
            return kept_forms.keep_and_sign_in(request, error.form)
        return pages.go("/sign-in")

    async def bad_csrf(request: Request, _: Exception) -> Response:
        log.warning("form refused: missing or invalid CSRF token")
        return _answer(request, 403, "invalid CSRF token")

    async def database_error(request: Request, error: Exception) -> Response:
        if busy.is_busy(error):
            log.warning("busy: %s waited too long for the write lock", _route(request))
            return _answer(
                request, 503, _MESSAGES[503][1], **{"Retry-After": str(busy.RETRY_AFTER_SECONDS)}
            )
        return await unexpected(request, error)

    async def unexpected(request: Request, error: Exception) -> Response:
        log.error("unexpected %s on %s", type(error).__name__, _route(request))
        return _answer(request, 500)

    for kind, handler in (
        (NotFound, not_found),
        (Forbidden, forbidden),
        (Locked, locked),
        (Conflict, conflict),
        (Invalid, invalid),
        (ReasonRequired, invalid),
        (RequestValidationError, validation),
        (HTTPException, http_error),
        (web.SignInRequired, sign_in),
        (web.Unauthorized, sign_in),
        (web.BadCsrf, bad_csrf),
        (ChainBusy, database_error),
        (sa.exc.OperationalError, database_error),
        (Exception, unexpected),
    ):
        app.add_exception_handler(kind, handler)


def _route(request: Request) -> str:
    return _route_of(request.scope)


def _route_of(scope: Scope) -> str:
    return str(getattr(scope.get("route"), "path", "(no route)"))


_HEADERS = [(k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items()]


class HeadersAndLog:
    """ASGI middleware: security headers on every answer, one log line per request, and a
    plain 500 for an error raised past the handlers (no trace). Plain ASGI rather than
    ``@app.middleware``: that wrapper costs a task and a stream per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = [0]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
                message["headers"] = _secured(scope["path"], list(message.get("headers", ())))
            await send(message)

        try:
            await self.app(scope, receive, with_headers)
        except Exception as error:  # an error raised past the handlers still gets no trace
            log.error("unexpected %s on %s", type(error).__name__, _route_of(scope))
            if status[0]:
                raise
            await _answer(Request(scope), 500)(scope, receive, with_headers)
        log.info(
            "%s %s %d %.0fms",
            scope["method"],
            _route_of(scope),
            status[0],
            (time.perf_counter() - start) * 1000,
        )


def _secured(path: str, headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """``headers`` with every security header the answer did not set itself."""
    present = {name.lower() for name, _ in headers}
    headers += [(k, v) for k, v in _HEADERS if k not in present]
    if path.startswith("/api/docs"):
        headers = [(k, v) for k, v in headers if k.lower() != b"content-security-policy"]
    elif path.startswith("/screenings"):  # the form's script, and no other
        headers = [
            (k, v + screening_pages.SCRIPT_POLICY.encode())
            if k.lower() == b"content-security-policy"
            else (k, v)
            for k, v in headers
        ]
    return headers


def create_app(engine: sa.Engine, settings: web.ServerSettings | None = None) -> FastAPI:
    """The application serving the registry at ``engine``."""
    settings = settings or web.ServerSettings()
    app = FastAPI(
        title="sijreg registry API",
        version=__version__,
        description="Site-scoped access to the SIJ-fusion registry. Authenticate with "
        "`Authorization: Bearer <token>` (`sijreg user token`). Field rules come from the "
        "data dictionary.",
        docs_url=None,  # served from the package: api_docs
        redoc_url=None,
        openapi_url="/api/v1/openapi.json",
        redirect_slashes=False,  # its redirects are absolute, built from the forgeable Host
        lifespan=threads.lifespan(settings.request_threads),
    )
    app.state.engine = engine
    app.state.settings = settings
    api_docs.add_api_docs(app)
    app.include_router(health.router)
    app.include_router(api.router)
    app.include_router(followup_api.router)
    app.include_router(screenings.router)
    app.include_router(screening_pages.router)
    app.include_router(patient_link.router)
    app.include_router(followup_pages.router)
    app.include_router(checks_pages.router)
    app.include_router(queries_pages.router)
    app.include_router(monitor_sites.router)
    app.include_router(queries_api.router)
    app.include_router(pages.router)
    _handlers(app)
    idempotency.document(app)
    app.add_middleware(idempotency.Idempotency, engine=engine)  # inside the headers and log

    app.add_middleware(HeadersAndLog)
    app.add_middleware(body_limit.BodyLimit, max_bytes=app.state.settings.max_body_kb * 1024)
    return app
