"""Request bodies over the limit get 413 before they are read, parsed or authenticated."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from urllib.parse import urlsplit

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.server.app import create_app
from sijreg.server.web import ServerSettings
from sijreg.store import schema
from tests.server.server_support import bearer


def test_an_unauthenticated_50_mb_body_is_refused_before_it_is_sent(live_server: str) -> None:
    """The server answers 413 to the headers alone: it never waits for (or reads) the body."""
    address = urlsplit(live_server)
    with socket.create_connection((address.hostname, address.port), timeout=10) as sock:
        sock.sendall(
            b"POST /api/v1/patients HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Content-Type: application/json\r\nContent-Length: 52428800\r\n\r\n"
        )
        received = b""
        while chunk := sock.recv(4096):  # the server closes the connection after its answer
            received += chunk
        answer = received.decode()
    assert answer.startswith("HTTP/1.1 413"), answer
    assert "larger than the limit of 1024 KB" in answer


def test_a_chunked_body_is_counted_as_it_streams(
    app_engine: sa.Engine, engine: sa.Engine, tokens: dict[str, str]
) -> None:
    def chunks() -> Iterator[bytes]:  # no Content-Length: sent chunked
        for _ in range(64):
            yield b" " * 4096

    settings = ServerSettings(max_body_kb=16)
    with TestClient(create_app(app_engine, settings), base_url="https://testserver") as client:
        answer = client.post("/api/v1/patients", content=chunks(), headers=bearer(tokens["coord1"]))
        assert answer.status_code == 413
        small = client.post(
            "/api/v1/patients",
            json={"study_id": "P-1", "sex": "F", "age": 64},
            headers=bearer(tokens["coord1"]),
        )
        assert small.status_code == 201, small.text
    with engine.connect() as conn:  # the owner's view, past row-level security
        count = sa.select(sa.func.count()).select_from(schema.patient)
        assert conn.execute(count).scalar_one() == 1


def test_a_form_over_the_limit_is_refused_and_a_normal_save_works(
    server: TestClient, tokens: dict[str, str]
) -> None:
    big = {"study_id": "P-2", "sex": "F", "age": 64, "padding": "x" * (1100 * 1024)}
    assert server.post("/api/v1/patients", json=big).status_code == 413
    assert server.post("/sign-in", data={"username": "x" * (1100 * 1024)}).status_code == 413
    answer = server.post(
        "/api/v1/patients",
        json={"study_id": "P-3", "sex": "F", "age": 64},
        headers=bearer(tokens["coord1"]),
    )
    assert answer.status_code == 201, answer.text
