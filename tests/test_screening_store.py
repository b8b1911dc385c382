"""The screening log on SQLite and PostgreSQL: records, links, decisions that keep their version."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from sijreg.domain.records import PatientRecord, ScreeningRecord
from sijreg.interop.problems import InputRejected
from sijreg.interop.protocol_file import load_protocol
from sijreg.interop.screening_sheet import import_screening_sheet, read_screening_sheet
from sijreg.store import audit, schema
from sijreg.store.screenings import (
    LinkError,
    judge,
    load_screenings,
    save_screenings,
    stored_results,
)
from sijreg.store.writer import save_patients
from tests.protocol_edits import edited

HEADER = (
    "site,screening_number,study_id,pain_below_belt_line,pain_character,test_distraction,"
    "test_thigh_thrust,test_faber,test_compression,test_gaenslen,block_image_guided,"
    "block_local_anaesthetic,block_relief_pct,conservative_months,advanced_scs"
)


def sheet(tmp_path: Path, *rows: str) -> Path:
    path = tmp_path / "screening.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def three_of_five(number: str, study_id: str = "", relief: str = "60") -> str:
    return (
        f"S01,{number},{study_id},1,non_radicular,positive,positive,positive,negative,not_done,"
        f"1,1,{relief},8,1"
    )


def enrol(engine: sa.Engine, *study_ids: str) -> None:
    with engine.begin() as conn:
        save_patients(
            conn,
            [
                PatientRecord("S01", {"study_id": s}, fusion={"fusion_date": date(2020, 1, 1)})
                for s in study_ids
            ],
        )


def results(engine: sa.Engine, number: str) -> list[tuple[int, str, str, str]]:
    with engine.connect() as conn:
        stored = load_screenings(conn, "S01", number)[0]
        return [
            (r.screening_version, r.protocol_id, r.protocol_version, r.decision)
            for r in stored_results(conn, stored.id)
        ]


def test_rejudging_under_a_new_protocol_keeps_the_old_results(
    engine: sa.Engine, tmp_path: Path
) -> None:
    enrol(engine, "P-1")
    path = sheet(tmp_path, three_of_five("SCR-1", "P-1"), three_of_five("SCR-2", "", "50.0"))
    rows, summary, decisions = import_screening_sheet(engine, path, load_protocol())
    assert [r.row for r in rows] == [2, 3]
    assert summary.created == ["S01/SCR-1", "S01/SCR-2"]
    assert [d.verdict.value for d in decisions] == ["eligible", "not_eligible"]
    four_of_five = load_protocol(
        edited(tmp_path, ('version = "1"', 'version = "2"'), ("threshold = 3", "threshold = 4"))
    )
    with engine.begin() as conn:
        stored = load_screenings(conn)
        assert [s.study_id for s in stored] == ["P-1", None]
        again = judge(conn, four_of_five, stored)
        judge(conn, four_of_five, stored)  # the same judgement is stored once
    # 3 positive and Gaenslen's not done: under 4 of 5 it cannot be decided yet.
    assert again[0].verdict.value == "incomplete"
    assert results(engine, "SCR-1") == [
        (1, "seed-study-2021", "1", "eligible"),
        (1, "seed-study-2021", "2", "incomplete"),
    ]
    assert results(engine, "SCR-2") == [
        (1, "seed-study-2021", "1", "not_eligible"),
        (1, "seed-study-2021", "2", "not_eligible"),
    ]
    with engine.connect() as conn:
        hashes = (
            conn.execute(sa.select(schema.screening_result.c.protocol_sha256).distinct())
            .scalars()
            .all()
        )
    assert sorted(hashes) == sorted({load_protocol().sha256, four_of_five.sha256})


def test_a_corrected_record_is_judged_again_and_its_old_decision_kept(
    engine: sa.Engine, tmp_path: Path
) -> None:
    protocol = load_protocol()
    import_screening_sheet(engine, sheet(tmp_path, three_of_five("SCR-1", relief="")), protocol)
    _, summary, decisions = import_screening_sheet(
        engine, sheet(tmp_path, three_of_five("SCR-1", relief="50.1")), protocol
    )
    assert summary.updated == ["S01/SCR-1"]
    assert decisions[0].verdict.value == "eligible"
    assert results(engine, "SCR-1") == [
        (1, "seed-study-2021", "1", "incomplete"),
        (2, "seed-study-2021", "1", "eligible"),
    ]
    with engine.connect() as conn:
        stored = load_screenings(conn, "S01", "SCR-1")[0]
    assert stored.values["block_relief_pct"] == Decimal("50.1")
    assert stored.values["test_gaenslen"] == "not_done"


def test_links_to_unknown_or_taken_patients_are_refused_and_nothing_is_written(
    engine: sa.Engine, tmp_path: Path
) -> None:
    enrol(engine, "P-1")
    path = sheet(
        tmp_path,
        three_of_five("SCR-1", "P-1"),
        three_of_five("SCR-2", "P-9"),
        three_of_five("SCR-3", "P-1"),
    )
    with pytest.raises(InputRejected) as caught:
        import_screening_sheet(engine, path, load_protocol())
    text = str(caught.value)
    assert "row 3, column study_id: 'P-9': no enrolled patient S01/P-9" in text
    assert "row 4, column study_id: 'P-1': patient S01/P-1 is also linked by SCR-1" in text
    with engine.connect() as conn:
        assert load_screenings(conn) == []
    import_screening_sheet(engine, sheet(tmp_path, three_of_five("SCR-1", "P-1")), load_protocol())
    with engine.begin() as conn, pytest.raises(LinkError, match="linked to screening SCR-1"):
        save_screenings(conn, [ScreeningRecord("S01", {"screening_number": "SCR-7"}, "P-1")])


def test_a_bad_sheet_lists_every_problem(tmp_path: Path) -> None:
    path = sheet(
        tmp_path,
        three_of_five("SCR-1", relief="50.05"),
        three_of_five("SCR-1"),
        "S01,SCR-3,,2,sciatic,positive,positive,positive,negative,maybe,1,1,60,8,1",
    )
    with pytest.raises(InputRejected) as caught:
        read_screening_sheet(path)
    problems = [(p.row, p.column) for p in caught.value.problems]
    assert problems == [
        (2, "block_relief_pct"),
        (3, "screening_number"),
        (4, "pain_below_belt_line"),
        (4, "pain_character"),
        (4, "test_gaenslen"),
    ]
    assert "duplicate screening number at site S01 (first on row 2)" in str(caught.value)
    unknown = tmp_path / "unknown.csv"
    unknown.write_text("site,relief\nS01,60\n", encoding="utf-8")
    with pytest.raises(InputRejected) as caught:
        read_screening_sheet(unknown)
    assert [(p.row, p.column, p.reason[:14]) for p in caught.value.problems] == [
        (1, "screening_number", "column is miss"),
        (1, "relief", "unknown column"),
    ]


def test_saving_the_screening_log_is_audited(engine: sa.Engine, tmp_path: Path) -> None:
    enrol(engine, "P-1")
    import_screening_sheet(engine, sheet(tmp_path, three_of_five("SCR-1", "P-1")), load_protocol())
    changed = sheet(tmp_path, three_of_five("SCR-1", "P-1", "70"), three_of_five("SCR-2"))
    import_screening_sheet(engine, changed, load_protocol())
    with engine.connect() as conn:
        log = schema.audit_log
        entries = conn.execute(
            sa.select(log.c.action, log.c.record_id, log.c.reason, log.c.new_values)
            .where(log.c.table_name == "screening")
            .order_by(log.c.id)
        ).all()
        stored = {s.values["screening_number"]: s.id for s in load_screenings(conn)}
        result = audit.verify(conn)
    assert [(e.action, e.record_id) for e in entries] == [
        ("create", stored["SCR-1"]),
        ("create", stored["SCR-2"]),
        ("update", stored["SCR-1"]),
    ]
    assert {e.reason for e in entries} == {"screening sheet import: screening.csv"}
    assert float(json.loads(entries[-1].new_values)["block_relief_pct"]) == 70
    assert result.ok, result.records  # every screening record and decision has its entry
