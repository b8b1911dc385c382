"""Many writers at once over real HTTP: every write lands, and the audit chain stays one chain."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import httpx
import sqlalchemy as sa

from sijreg.store import audit
from tests.server.server_support import bearer


def test_concurrent_writes_keep_one_intact_chain(
    live_server: str, engine: sa.Engine, tokens: dict[str, str]
) -> None:
    def enrol_and_visit(n: int) -> list[int]:
        headers = bearer(tokens["coord1" if n % 2 else "coord2"])
        with httpx.Client(base_url=live_server, headers=headers, timeout=60) as client:
            created = client.post("/api/v1/patients", json={"study_id": f"C-{n}"})
            visit = client.post(
                f"/api/v1/patients/{created.json()['id']}/visits",
                json={"visit_date": "2025-03-01"},
            )
            return [created.status_code, visit.status_code]

    with engine.connect() as conn:
        before = audit.verify(conn).entries
    with ThreadPoolExecutor(8) as pool:
        statuses = Counter(s for pair in pool.map(enrol_and_visit, range(40)) for s in pair)
    assert statuses == {201: 80}
    with engine.connect() as conn:
        result = audit.verify(conn)
    assert result.ok
    assert result.entries == before + 80
