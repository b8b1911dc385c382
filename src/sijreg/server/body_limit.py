"""Request bodies have a size limit, enforced before anything reads, parses or authenticates.

An ASGI middleware in front of the whole application: a declared ``Content-Length`` over
the limit is refused with 413 at once, without reading the body; a chunked body is
counted as it streams: past the limit the app reads no more (it sees the client gone)
and the answer is 413, whatever the app made of the cut body. So an
unauthenticated client cannot make the server buffer or parse a large body.
Set by ``sijreg serve --max-body-kb`` (docs/operations.md).
"""

from __future__ import annotations

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY_KB = 1024


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413 before the app sees them."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await _too_large(send, self.max_bytes)
            return
        seen = 0
        over = False

        async def counted() -> Message:
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:  # stop reading: the app sees a client gone away
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def answered(message: Message) -> None:
            if not over:
                await send(message)
            elif message["type"] == "http.response.start":  # whatever the app made of it
                await _too_large(send, self.max_bytes)

        await self.app(scope, counted, answered)


async def _too_large(send: Send, max_bytes: int) -> None:
    body = json.dumps(
        {"detail": f"the request body is larger than the limit of {max_bytes // 1024} KB"}
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
