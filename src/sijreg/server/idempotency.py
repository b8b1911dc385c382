"""``Idempotency-Key`` on API writes: a client may retry a POST safely.

A POST under ``/api/`` with an ``Idempotency-Key`` header (1-200 characters) from a valid
token's user is run once: the same key from the same user within 24 hours answers the
first (successful) answer again, marked ``Idempotent-Replayed: true``, without writing; the
same key with a different request (path or body) answers 422; a retry while the first
request still runs answers 409. Requests without the header, or without a valid token,
pass untouched (so anonymous requests still write nothing). The keys live in
:mod:`sijreg.store.idempotency`. See docs/server.md.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import sqlalchemy as sa
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sijreg.server import busy
from sijreg.store import accounts, idempotency

HEADER = b"idempotency-key"
MAX_KEY = 200


PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY},
    "description": "Optional. The same key from the same user within 24 hours answers the "
    "first successful answer again (header `Idempotent-Replayed: true`) without writing; "
    "the same key with a different request answers 422, a retry while the first request "
    "still runs 409.",
}


def document(app: FastAPI) -> None:
    """State the header in the OpenAPI document on every operation it applies to (each
    POST under ``/api/``, as :class:`Idempotency` decides)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            for path, item in build()["paths"].items():
                if path.startswith("/api/") and "post" in item:
                    item["post"].setdefault("parameters", []).append(PARAMETER)
        return app.openapi_schema or {}

    app.openapi = openapi  # type: ignore[method-assign]


class Idempotency:
    """ASGI middleware: run an API POST once per (user, Idempotency-Key)."""

    def __init__(self, app: ASGIApp, engine: sa.Engine) -> None:
        self.app = app
        self.engine = engine

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers", ()))
        key = headers.get(HEADER, b"").decode("latin-1").strip()
        if (
            scope["type"] != "http"
            or scope["method"] != "POST"
            or not scope["path"].startswith("/api/")
            or not key
        ):
            await self.app(scope, receive, send)
            return
        if len(key) > MAX_KEY:
            await _json(send, 422, f"the Idempotency-Key is longer than {MAX_KEY} characters")
            return
        body, replay = await _read_body(receive)
        user = await run_in_threadpool(self._user, headers.get(b"authorization", b""))
        if user is None:  # the app answers 401; nothing is stored for nobody
            await self.app(scope, replay, send)
            return
        fingerprint = hashlib.sha256(scope["path"].encode() + b"\n" + body).hexdigest()
        try:
            stored = await run_in_threadpool(self._claim, user, key, fingerprint)
        except sa.exc.IntegrityError:  # claimed a moment ago by a concurrent request
            stored = idempotency.Stored(fingerprint, None, None)
        except sa.exc.OperationalError as error:
            if not busy.is_busy(error):
                raise
            await _json(send, 503, "busy, please retry", retry_after=True)
            return
        if stored is not None:
            await _answer_stored(send, stored, fingerprint)
            return
        status = 500
        chunks: list[bytes] = []

        async def recorded(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        try:
            await self.app(scope, replay, recorded)
        finally:
            await run_in_threadpool(self._settle, user, key, status, b"".join(chunks))

    def _user(self, authorization: bytes) -> accounts.Actor | None:
        scheme, _, token = authorization.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip().startswith(accounts.TOKEN_PREFIX):
            return None
        with self.engine.connect() as conn:
            return accounts.token_actor(conn, token.strip())

    def _claim(self, user: accounts.Actor, key: str, fingerprint: str) -> idempotency.Stored | None:
        with self.engine.begin() as conn:
            return idempotency.claim(conn, user, key, fingerprint)

    def _settle(self, user: accounts.Actor, key: str, status: int, body: bytes) -> None:
        with self.engine.begin() as conn:
            idempotency.settle(conn, user, key, status, body.decode("utf-8", "replace"))


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    """The whole body (bounded by server/body_limit.py), and a receive that hands it on."""
    parts: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


async def _answer_stored(send: Send, stored: idempotency.Stored, fingerprint: str) -> None:
    if stored.fingerprint != fingerprint:
        await _json(send, 422, "this Idempotency-Key was used for a different request")
    elif stored.status is None:
        await _json(send, 409, "a request with this Idempotency-Key is still running; retry")
    else:
        await _send(send, stored.status, (stored.body or "").encode(), replayed=True)


async def _json(send: Send, status: int, detail: str, retry_after: bool = False) -> None:
    body = json.dumps({"detail": detail}).encode()
    await _send(send, status, body, retry_after=retry_after)


async def _send(
    send: Send, status: int, body: bytes, replayed: bool = False, retry_after: bool = False
) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if replayed:
        headers.append((b"idempotent-replayed", b"true"))
    if retry_after:
        headers.append((b"retry-after", str(busy.RETRY_AFTER_SECONDS).encode()))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
