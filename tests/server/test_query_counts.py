"""Query counts and rule-breach/warning counts in the report's data-quality section.

The server's site report and the analyst's pooled report, and ``sijreg report``'s
tables.json, on both databases; patient counts under small-cell suppression.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.server.web import today
from sijreg.store import queries, schema
from sijreg.store.scope import SiteScope
from tests.helpers import read_tables, run
from tests.server.server_support import People, add_monitors, bearer, sign_in


@pytest.fixture(autouse=True)
def monitors(engine: sa.Engine, people: People) -> None:
    """mon1 at S01 and mon2 at S02, before the tokens are issued."""
    add_monitors(engine, people)


def _registry(engine: sa.Engine, people: People) -> dict[str, Any]:
    """S01: two patients, one with a fusion in the future (stored before the rule held), three
    queries (one closed); S02: one patient and one open query."""
    made: dict[str, Any] = {}
    with engine.begin() as conn:
        for site, monitor, study_ids in (
            ("S01", "mon1", ("A-1", "A-2")),
            ("S02", "mon2", ("B-1",)),
        ):
            coord = SiteScope(conn, people.actor(conn, "coord1" if site == "S01" else "coord2"))
            mon = SiteScope(conn, people.actor(conn, monitor))
            ids = [coord.create("patient", {"study_id": s, "age": 60})["id"] for s in study_ids]
            for pid in ids:
                queries.raise_query(mon, "patient", pid, "age", "Age?")
            made[site] = ids
        conn.execute(  # a stored record that breaks a rule, as `sijreg check` finds them
            sa.insert(schema.fusion).values(
                site_id=people.sites["S01"],
                patient_id=made["S01"][0],
                fusion_date=today() + timedelta(days=30),
                version=1,
            )
        )
        mon = SiteScope(conn, people.actor(conn, "mon1"))
        queries.raise_query(mon, "patient", made["S01"][1], "sex", "Sex?")
        queries.close(mon, queries.listed(mon, patient_id=made["S01"][1])[0]["id"])
    return made


def _counted(engine: sa.Engine) -> dict[str, dict[str, int]]:
    """Queries per site and state, counted in SQL here."""
    q, s = schema.data_query, schema.site
    found: dict[str, dict[str, int]] = {}
    with engine.connect() as conn:
        for code, state, n in conn.execute(
            sa.select(s.c.site_code, q.c.state, sa.func.count(q.c.id))
            .join(q, q.c.site_id == s.c.id)
            .group_by(s.c.site_code, q.c.state)
        ):
            found.setdefault(code, {})[f"queries_{state}"] = n
    return found


def test_site_and_pooled_reports_count_queries(
    server: TestClient, engine: sa.Engine, people: People, tokens: dict[str, str]
) -> None:
    _registry(engine, people)
    counted = _counted(engine)
    assert counted["S01"] == {"queries_open": 2, "queries_closed": 1}
    site = server.get("/api/v1/report", headers=bearer(tokens["coord1"])).json()["data_quality"]
    assert list(site["sites"]) == ["S01"]
    assert site["sites"]["S01"] == {
        "queries_open": 2,
        "queries_answered": 0,
        "queries_closed": 1,
        "patients_with_breaches": 1,
        "patients_with_warnings": site["sites"]["S01"]["patients_with_warnings"],
    }
    pooled = server.get("/api/v1/report", headers=bearer(tokens["analyst"])).json()
    sites = pooled["data_quality"]["sites"]
    assert list(sites) == ["S01", "S02"]
    for code, states in counted.items():
        for key, n in states.items():
            assert sites[code][key] == n
    assert sites["S02"]["patients_with_breaches"] == 0

    sign_in(server, "coord1")
    page = server.get("/report").text
    assert "Data quality per site on" in page
    assert "Open queries" in page


def test_sijreg_report_writes_the_section(
    engine: sa.Engine, people: People, database_url: str, tmp_path: Any
) -> None:
    _registry(engine, people)
    out = tmp_path / "report"
    result = run("report", "-d", database_url, "-o", str(out), "-q", "--data-quality")
    assert result.exit_code == 0, result.output
    sites = read_tables(out / "tables.json")["data_quality"]["sites"]
    assert sites["S01"]["queries_open"] == 2
    assert sites["S01"]["patients_with_breaches"] == 1
    assert sites["S02"]["queries_open"] == 1
    result = run(
        "report",
        "-d",
        database_url,
        "-o",
        str(out),
        "-q",
        "--suppress-small-cells",
        "--min-cell",
        "5",
        "--data-quality",
    )
    assert result.exit_code == 0, result.output
    shown = read_tables(out / "tables.json")["data_quality"]["sites"]
    assert shown["S01"]["patients_with_breaches"] is None  # 1 patient: withheld
    assert shown["S02"]["patients_with_breaches"] == 0  # zero is shown
    assert shown["S01"]["queries_open"] == 2  # queries are not patients: as counted
    result = run("report", "-d", database_url, "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    assert "data_quality" not in read_tables(out / "tables.json")
