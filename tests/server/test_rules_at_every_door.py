"""One rule set at every door: the same bad record is refused by the study sheet, the API
and the web forms, on the same field and with the same reason (issue 13, item 1).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from html import unescape
from pathlib import Path

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from sijreg.domain import rules
from sijreg.interop.problems import InputRejected, Problem
from sijreg.interop.screening_sheet import read_screening_sheet
from sijreg.interop.sheet import COLUMN_NAMES, import_sheet, read_sheet
from sijreg.store import schema
from tests.helpers import run
from tests.server.server_support import bearer, sign_in


@dataclass(frozen=True)
class Bad:
    """A patient record that breaks one rule, and the refusal every door must give."""

    patient: dict[str, str]
    fusion_date: str
    visit: dict[str, str] = field(default_factory=dict)
    field: str = ""
    """The dictionary field the refusal names (the sheet shows it in its own column)."""
    reason: str = ""


BAD = {
    "fusion in the future": Bad(
        {"age": "70"}, "2030-01-10", field="fusion_date", reason=rules.IN_THE_FUTURE
    ),
    "visit in the future": Bad(
        {"age": "70"},
        "2024-03-01",
        {"visit_date": "2031-01-10", "pain_relief_pct": "50"},
        field="visit_date",
        reason=rules.IN_THE_FUTURE,
    ),
    "relief before the fusion": Bad(
        {"age": "70"},
        "2024-03-01",
        {"visit_date": "2024-01-10", "pain_relief_pct": "50"},
        field="visit_date",
        reason="must be after the fusion date 2024-03-01",
    ),
    "birth year against age": Bad(
        {"age": "70", "birth_year": "1990"},
        "2024-03-01",
        field="birth_year",
        reason="does not fit the age at fusion (70 years on 2024-03-01): expected 1953 or 1954",
    ),
}
SHEET_COLUMN = {"visit_date": "last_followup_date"}


def _sheet(bad: Bad, tmp_path: Path) -> tuple[str, str]:
    cells = dict.fromkeys((*COLUMN_NAMES, "birth_year"), "0")
    cells.update(site="S01", study_id="P-900", sex="F", bmi="30.1", birth_year="")
    cells.update(bad.patient, fusion_date=bad.fusion_date)
    cells.update(last_followup_date=bad.visit.get("visit_date", ""))
    cells.update(pain_relief_pct=bad.visit.get("pain_relief_pct", ""))
    path = tmp_path / "sheet.csv"
    path.write_text(",".join(cells) + "\n" + ",".join(cells.values()) + "\n")
    with pytest.raises(InputRejected) as refused:
        read_sheet(path)
    (problem,) = refused.value.problems
    return problem.column, problem.reason


def _api(server: TestClient, token: str, bad: Bad) -> tuple[str, str]:
    auth = bearer(token)
    made = server.post("/api/v1/patients", json={"study_id": "P-901", "age": 70}, headers=auth)
    assert made.status_code == 201, made.text
    pid = made.json()["id"]
    if "birth_year" in bad.patient:  # the fusion first, then the year of birth that breaks
        fused = server.post(
            f"/api/v1/patients/{pid}/fusions", json={"fusion_date": bad.fusion_date}, headers=auth
        )
        assert fused.status_code == 201, fused.text
        numbers = {name: int(value) for name, value in bad.patient.items()}
        body = {"study_id": "P-901", **numbers, "version": 1, "reason": "year of birth added"}
        answer = server.put(f"/api/v1/patients/{pid}", json=body, headers=auth)
    else:
        answer = server.post(
            f"/api/v1/patients/{pid}/fusions", json={"fusion_date": bad.fusion_date}, headers=auth
        )
        if bad.visit:
            assert answer.status_code == 201, answer.text
            answer = server.post(f"/api/v1/patients/{pid}/visits", json=bad.visit, headers=auth)
    assert answer.status_code == 422, answer.text
    (problem,) = answer.json()["detail"]
    return str(problem["loc"][-1]), str(problem["msg"])


def _form_error(html: str) -> tuple[str, str]:
    found = re.findall(r'id="([a-z_]+)-error">([^<]+)<', html)
    assert len(found) == 1, found
    return found[0][0], unescape(found[0][1])


def _web(server: TestClient, bad: Bad) -> tuple[str, str]:
    csrf = sign_in(server, "coord1")

    def post(url: str, **data: str) -> tuple[int, str, str]:
        answer = server.post(url, data={**data, "csrf_token": csrf}, follow_redirects=False)
        return answer.status_code, answer.headers.get("location", ""), answer.text

    status, location, text = post("/patients/new", study_id="P-902", age="70")
    assert status == 303, text
    pid = location.rsplit("/", 1)[1]
    status, _, text = post(f"/patients/{pid}/fusion/new", fusion_date=bad.fusion_date)
    if "birth_year" in bad.patient:
        assert status == 303, text
        edit = f"/records/patient/{pid}/edit"
        status, _, text = post(
            edit, study_id="P-902", version="1", reason="year of birth added", **bad.patient
        )
    elif bad.visit:
        assert status == 303, text
        status, _, text = post(f"/patients/{pid}/visit/new", **bad.visit)
    assert status == 422, text
    return _form_error(text)


@pytest.mark.parametrize("case", list(BAD))
def test_the_same_bad_record_is_refused_alike_at_every_door(
    case: str, server: TestClient, tokens: dict[str, str], engine: sa.Engine, tmp_path: Path
) -> None:
    bad = BAD[case]
    expected = (bad.field, bad.reason)
    assert _sheet(bad, tmp_path) == (SHEET_COLUMN.get(bad.field, bad.field), bad.reason)
    assert _api(server, tokens["coord1"], bad) == expected
    assert _web(server, bad) == expected
    with engine.connect() as conn:  # nothing bad got in through any door
        assert conn.execute(sa.select(sa.func.count()).select_from(schema.visit)).scalar() == 0
        fusions = conn.execute(sa.select(schema.fusion.c.fusion_date)).scalars().all()
        years = conn.execute(sa.select(schema.patient.c.birth_year)).scalars().all()
    assert [str(d) for d in fusions] == (
        [] if bad.field == "fusion_date" else [bad.fusion_date] * 2
    )
    assert years == [None, None]


def test_a_change_to_the_fusion_is_refused_when_it_puts_a_follow_up_before_it(
    server: TestClient, tokens: dict[str, str]
) -> None:
    auth = bearer(tokens["coord1"])
    pid = server.post("/api/v1/patients", json={"study_id": "P-1"}, headers=auth).json()["id"]
    fusion = server.post(
        f"/api/v1/patients/{pid}/fusions", json={"fusion_date": "2024-03-01"}, headers=auth
    ).json()
    visit = {"visit_date": "2024-06-01", "pain_relief_pct": "60"}
    assert server.post(f"/api/v1/patients/{pid}/visits", json=visit, headers=auth).is_success
    moved = {"fusion_date": "2024-07-01", "version": 1, "reason": "date corrected"}
    answer = server.put(f"/api/v1/fusions/{fusion['id']}", json=moved, headers=auth)
    assert answer.status_code == 422
    (problem,) = answer.json()["detail"]
    assert problem["loc"][-1] == "fusion_date"
    assert problem["msg"] == (
        "would break a rule of the visit of 2024-06-01: "
        "Visit date must be after the fusion date 2024-07-01"
    )
    moved["fusion_date"] = "2024-02-01"  # earlier keeps every rule
    assert server.put(f"/api/v1/fusions/{fusion['id']}", json=moved, headers=auth).is_success


def test_stored_records_that_break_a_rule_are_listed_by_the_check_and_its_page(
    server: TestClient, tokens: dict[str, str], engine: sa.Engine, database_url: str
) -> None:
    auth = bearer(tokens["coord1"])
    pid = server.post("/api/v1/patients", json={"study_id": "P-7"}, headers=auth).json()["id"]
    server.post(f"/api/v1/patients/{pid}/fusions", json={"fusion_date": "2024-03-01"}, headers=auth)
    visit = {"visit_date": "2024-06-01", "pain_relief_pct": "60"}
    made = server.post(f"/api/v1/patients/{pid}/visits", json=visit, headers=auth).json()
    assert run("check", "--database", database_url).exit_code == 0
    with engine.begin() as conn:  # as an older sijreg, or a hand edit, could have left it
        conn.execute(
            sa.update(schema.visit)
            .where(schema.visit.c.id == made["id"])
            .values(visit_date=date(2031, 1, 10))
        )
    result = run("check", "--database", database_url)
    assert result.exit_code == 1
    listing = f"site S01, patient P-7, visit {made['id']}: Visit date is in the future"
    assert listing in result.output
    assert "1 stored record value(s) break a rule" in result.output
    assert run("check", "--site", "S02", "--database", database_url).exit_code == 0
    sign_in(server, "coord1")
    listed = server.get("/checks").text
    assert "Visit date is in the future" in listed
    assert f'href="/records/visit/{made["id"]}/edit"' in listed
    sign_in(server, "coord2")
    assert "Every record of the site keeps the rules." in server.get("/checks").text


def test_a_screening_with_its_block_after_the_screening_is_refused_alike(
    server: TestClient, tokens: dict[str, str], tmp_path: Path
) -> None:
    reason = "must be on or before the screening date 2024-05-02"
    sheet = tmp_path / "screening.csv"
    sheet.write_text(
        "site,screening_number,screening_date,block_date\nS01,SCR-1,2024-05-02,2024-05-09\n"
    )
    with pytest.raises(InputRejected) as refused:
        read_screening_sheet(sheet)
    assert [(p.column, p.reason) for p in refused.value.problems] == [("block_date", reason)]
    body = {"screening_number": "SCR-1", "screening_date": "2024-05-02", "block_date": "2024-05-09"}
    answer = server.post("/api/v1/screenings", json=body, headers=bearer(tokens["coord1"]))
    assert answer.status_code == 422
    assert [(d["loc"][-1], d["msg"]) for d in answer.json()["detail"]] == [("block_date", reason)]
    csrf = sign_in(server, "coord1")
    page = server.post("/screenings/new", data={**body, "csrf_token": csrf}, follow_redirects=False)
    assert page.status_code == 422
    assert _form_error(page.text) == ("block_date", reason)


@dataclass(frozen=True)
class Merge:
    """A change that breaks a rule only against what is stored: the stored visit, the
    changed fusion date, and the refusal (on the fusion date) every door must give."""

    visit: dict[str, str]
    fusion_date: str
    reason: str


MERGES = {
    "fusion moved after a stored follow-up": Merge(
        {"visit_date": "2024-06-01", "pain_relief_pct": "60"},
        "2024-07-01",
        "would break a rule of the visit of 2024-06-01: "
        "Visit date must be after the fusion date 2024-07-01",
    ),
    "fusion moved before a stored baseline visit": Merge(
        {"visit_date": "2024-02-01", "baseline": "1", "nrs_pain": "7"},
        "2024-01-15",
        "would break a rule of the visit of 2024-02-01: "
        "Visit date must be on or before the fusion date 2024-01-15 at a baseline visit",
    ),
}


def _stored_patient(server: TestClient, token: str, study_id: str, visit: dict[str, str]) -> int:
    """A patient of site S01 with a fusion on 2024-03-01 and ``visit``; the fusion's id."""
    auth = bearer(token)
    body = {"study_id": study_id, "age": 70, "sex": "F", "bmi": "30.1", "fbss": False}
    pid = server.post("/api/v1/patients", json=body, headers=auth).json()["id"]
    fusion = server.post(
        f"/api/v1/patients/{pid}/fusions", json={"fusion_date": "2024-03-01"}, headers=auth
    )
    assert fusion.status_code == 201, fusion.text
    made = server.post(f"/api/v1/patients/{pid}/visits", json=visit, headers=auth)
    assert made.status_code == 201, made.text
    return int(fusion.json()["id"])


def _reimport(engine: sa.Engine, tmp_path: Path, study_id: str, fusion_date: str) -> Problem:
    cells = dict.fromkeys(COLUMN_NAMES, "0")
    cells.update(site="S01", study_id=study_id, age="70", sex="F", bmi="30.1")
    cells.update(fusion_date=fusion_date, last_followup_date="", pain_relief_pct="")
    path = tmp_path / f"{study_id}.csv"
    path.write_text(",".join(cells) + "\n" + ",".join(cells.values()) + "\n")
    with pytest.raises(InputRejected) as refused:
        import_sheet(engine, path)
    (problem,) = refused.value.problems
    return problem


@pytest.mark.parametrize("case", list(MERGES))
def test_a_change_that_breaks_a_rule_against_stored_records_is_refused_alike_at_every_door(
    case: str, server: TestClient, tokens: dict[str, str], engine: sa.Engine, tmp_path: Path
) -> None:
    merge = MERGES[case]
    sheet = _stored_patient(server, tokens["coord1"], "P-30", merge.visit)
    problem = _reimport(engine, tmp_path, "P-30", merge.fusion_date)
    assert (problem.row, problem.column, problem.reason) == (2, "fusion_date", merge.reason)

    api = _stored_patient(server, tokens["coord1"], "P-31", merge.visit)
    moved = {"fusion_date": merge.fusion_date, "version": 1, "reason": "date corrected"}
    answer = server.put(f"/api/v1/fusions/{api}", json=moved, headers=bearer(tokens["coord1"]))
    assert answer.status_code == 422, answer.text
    assert [(d["loc"][-1], d["msg"]) for d in answer.json()["detail"]] == [
        ("fusion_date", merge.reason)
    ]

    form = _stored_patient(server, tokens["coord1"], "P-32", merge.visit)
    csrf = sign_in(server, "coord1")
    page = server.post(
        f"/records/fusion/{form}/edit",
        data={**moved, "version": "1", "csrf_token": csrf},
        follow_redirects=False,
    )
    assert page.status_code == 422, page.text
    assert _form_error(page.text) == ("fusion_date", merge.reason)

    with engine.connect() as conn:  # every fusion as stored, the sheet's included
        dates = conn.execute(
            sa.select(schema.fusion.c.id, schema.fusion.c.fusion_date, schema.fusion.c.version)
        ).all()
    assert sorted(dates) == [(i, date(2024, 3, 1), 1) for i in sorted((sheet, api, form))]


def test_a_visit_before_the_stored_fusion_is_refused_alike_at_every_door(
    server: TestClient, tokens: dict[str, str], engine: sa.Engine, tmp_path: Path
) -> None:
    reason = "must be after the fusion date 2024-03-01"
    visit = {"visit_date": "2024-02-01", "nrs_pain": "7"}  # not marked baseline
    _stored_patient(server, tokens["coord1"], "P-40", {"visit_date": "2024-06-01"})
    auth = bearer(tokens["coord1"])
    pid = server.get("/api/v1/patients", headers=auth).json()[0]["id"]
    answer = server.post(f"/api/v1/patients/{pid}/visits", json=visit, headers=auth)
    assert answer.status_code == 422, answer.text
    assert [(d["loc"][-1], d["msg"]) for d in answer.json()["detail"]] == [("visit_date", reason)]
    csrf = sign_in(server, "coord1")
    page = server.post(
        f"/patients/{pid}/visit/new", data={**visit, "csrf_token": csrf}, follow_redirects=False
    )
    assert page.status_code == 422, page.text
    assert _form_error(page.text) == ("visit_date", reason)
    cells = dict.fromkeys(COLUMN_NAMES, "0")
    cells.update(site="S01", study_id="P-40", age="70", sex="F", bmi="30.1")
    cells.update(fusion_date="2024-03-01", last_followup_date="2024-02-01", pain_relief_pct="")
    path = tmp_path / "again.csv"
    path.write_text(",".join(cells) + "\n" + ",".join(cells.values()) + "\n")
    with pytest.raises(InputRejected) as refused:
        import_sheet(engine, path)
    assert [(p.column, p.reason) for p in refused.value.problems] == [
        ("last_followup_date", reason)
    ]
    marked = server.post(
        f"/api/v1/patients/{pid}/visits", json={**visit, "baseline": True}, headers=auth
    )
    assert marked.status_code == 201, marked.text  # marked baseline, it keeps the rules
    with engine.connect() as conn:
        visits = conn.execute(sa.select(schema.visit.c.visit_date, schema.visit.c.baseline)).all()
    assert sorted(visits) == [(date(2024, 2, 1), True), (date(2024, 6, 1), None)]
