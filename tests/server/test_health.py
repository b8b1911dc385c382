"""``/healthz`` answers without sign-in, and writes nothing (no session row)."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.store import schema


def test_health_answers_ok_and_writes_nothing(server: TestClient, engine: sa.Engine) -> None:
    answer = server.get("/healthz")
    assert (answer.status_code, answer.json()) == (200, {"status": "ok"})
    assert "set-cookie" not in answer.headers
    with engine.connect() as conn:
        assert (
            conn.execute(sa.select(sa.func.count()).select_from(schema.app_session)).scalar() == 0
        )
