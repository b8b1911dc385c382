"""The patient list names each patient's next follow-up and where follow-up stands (issue 13, 3)."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.domain.schedule import add_months
from sijreg.server.web import today
from sijreg.store.scope import SiteScope
from tests.server.server_support import People, sign_in


def test_next_due_visit_and_follow_up_state(
    server: TestClient, engine: sa.Engine, people: People
) -> None:
    recent = today() - timedelta(days=400)  # 12-month target ~35 days ago, window open 60 days
    long_ago = today() - timedelta(days=5 * 365)
    with engine.begin() as conn:
        scope = SiteScope(conn, people.actor(conn, "coord1"))
        for study_id, fused in (("A-1", recent), ("A-2", long_ago), ("A-3", None)):
            pid = scope.create("patient", {"study_id": study_id})["id"]
            if fused is not None:
                scope.create("fusion", {"fusion_date": fused}, pid)
    sign_in(server, "coord1")
    listed = server.get("/patients").text
    rows = dict(re.findall(r'<tr><td><a href="/patients/\d+">([^<]+)</a></td>(.*?)</tr>', listed))
    assert f"<td>12 months, {add_months(recent, 12)}</td>" in rows["A-1"]
    assert "<td>12 months: overdue: call</td>" in rows["A-1"]
    assert "<td>none left</td><td>finished: 0 of 4 answered</td>" in rows["A-2"]
    assert "<td>after the fusion</td><td>not yet fused</td>" in rows["A-3"]
