"""Importing the study sheet: all or nothing, every problem listed, no duplicates."""

from __future__ import annotations

import csv
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from sijreg.interop.problems import InputRejected, Problem
from sijreg.interop.sheet import COLUMN_NAMES, read_sheet, write_sheet
from sijreg.store import audit, schema
from sijreg.store.database import open_database
from sijreg.synthetic.seed_study import seed_study_cohort
from tests.helpers import HEADER, PUBLISHED_FIGURES, read_tables, run, write_csv

GOOD = "S1,P001,70,F,30.5,1,1,0,0,0,2020-01-10,2020-07-10,80"


def _patients(database_url: str) -> int:
    engine = sa.create_engine(
        database_url if "://" in database_url else f"sqlite:///{database_url}"
    )
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(schema.patient)).scalar_one()
    engine.dispose()
    return int(count)


def test_a_sheet_consistent_with_the_paper_reproduces_every_figure(
    database_url: str, tmp_path: Path
) -> None:
    records = [r for r in seed_study_cohort(seed=7) if r.fusion is not None]
    demo_rows = {(r.study_id, r.fusion_date) for r in seed_study_cohort()}
    assert {(r.study_id, r.fusion_date) for r in records} != demo_rows  # not the demo's data
    sheet = tmp_path / "study.csv"
    write_sheet(records, sheet)

    imported = run("import-sheet", str(sheet), "--database", database_url)
    assert imported.exit_code == 0, imported.output
    assert "116 patients created" in imported.output
    reported = run("report", "--database", database_url, "--out", str(tmp_path / "out"))
    assert reported.exit_code == 0, reported.output
    markdown = (tmp_path / "out" / "tables.md").read_text()
    for figure in PUBLISHED_FIGURES:
        assert figure in reported.output, figure
        assert figure in markdown, figure
    document = read_tables(tmp_path / "out")
    assert document["table1"]["n"] == 111
    assert document["table3"]["panels"]["yes"]["n"] == 51
    assert document["cohort"]["excluded"]["no_followup"]["n"] == 2
    assert document["cohort"]["excluded"]["short_followup"]["n"] == 3


def test_every_bad_row_is_listed_and_nothing_is_written(database_url: str, tmp_path: Path) -> None:
    sheet = write_csv(
        tmp_path / "bad.csv",
        [
            GOOD,
            "S1,P002,70,F,30.5,0,1,0,0,0,2020-13-01,2020-07-10,50",  # bad date
            "S1,P003,70,F,30.5,0,1,0,0,0,2020-01-10,2020-07-10,130",  # relief 130
            "S1,P004,70,X,30.5,0,1,0,0,0,2020-01-10,2020-07-10,50",  # unknown sex
            "S1,P005,70,M,30.5,0,1,0,0,0,2020-06-10,2020-01-10,50",  # follow-up before fusion
            "S1,P001,71,M,28.0,0,0,1,0,0,2020-02-10,2020-08-10,40",  # duplicate study id
            "S2,P001,71,M,28.0,0,0,1,0,0,2020-02-10,2020-08-10,40",  # same id, other site: fine
        ],
    )
    result = run("import-sheet", str(sheet), "--database", database_url)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    for expected in (
        "5 problems, nothing was imported",
        "row 3, column fusion_date: '2020-13-01'",
        "row 4, column pain_relief_pct: '130': must be a number from 0 to 100 %",
        "row 5, column sex: 'X': expected one of F, M",
        "row 6, column last_followup_date: '2020-01-10': must be after the fusion",
        "row 7, column study_id: 'P001': duplicate study id at site S1 (first on row 2)",
    ):
        assert expected in " ".join(result.output.split()), expected
    assert _patients(database_url) == 0


def test_a_wrong_header_is_named(tmp_path: Path) -> None:
    header = HEADER.replace("pain_relief_pct", "relief").replace(",bmi", "")
    sheet = write_csv(tmp_path / "h.csv", [GOOD], header=header)
    result = run("import-sheet", str(sheet), "--database", str(tmp_path / "r.db"))
    assert result.exit_code == 1
    flat = " ".join(result.output.split())
    assert "column bmi: (empty): column is missing" in flat
    assert "column pain_relief_pct: (empty): column is missing" in flat
    assert "column relief: 'relief': unknown column" in flat


def test_reimporting_does_not_duplicate_and_says_what_it_did(
    database_url: str, tmp_path: Path
) -> None:
    sheet = write_csv(tmp_path / "s.csv", [GOOD, GOOD.replace("P001", "P002")])
    assert "2 patients created" in run("import-sheet", str(sheet), "-d", database_url).output
    again = run("import-sheet", str(sheet), "-d", database_url)
    assert "0 patients created, 0 updated, 2 unchanged" in " ".join(again.output.split())
    write_csv(sheet, [GOOD.replace(",80", ",85"), GOOD.replace("P001", "P002")])
    changed = run("import-sheet", str(sheet), "-d", database_url)
    assert "0 patients created, 1 updated, 1 unchanged" in " ".join(changed.output.split())
    assert _patients(database_url) == 2


def test_spreadsheet_exports_are_understood(tmp_path: Path) -> None:
    """Excel writes a byte-order mark and, in many countries, semicolons."""
    sheet = tmp_path / "excel.csv"
    sheet.write_text(
        "\ufeff" + HEADER.replace(",", ";") + "\n" + GOOD.replace(",", ";") + "\n", encoding="utf-8"
    )
    result = run("import-sheet", str(sheet), "-d", str(tmp_path / "r.db"))
    assert result.exit_code == 0, result.output


def test_a_file_that_is_not_utf8_is_refused_clearly(tmp_path: Path) -> None:
    sheet = tmp_path / "latin1.csv"
    sheet.write_bytes((HEADER + "\n" + GOOD.replace("S1", "Sé") + "\n").encode("latin-1"))
    result = run("import-sheet", str(sheet), "-d", str(tmp_path / "r.db"))
    assert result.exit_code == 1
    assert "not UTF-8" in result.output


def test_short_rows_and_empty_sheets(tmp_path: Path) -> None:
    short = write_csv(tmp_path / "short.csv", [GOOD, "S1,P009,70"])
    result = run("import-sheet", str(short), "-d", str(tmp_path / "r.db"))
    assert "row 3, column -: (empty): has 3 cells, the header has 13" in " ".join(
        result.output.split()
    )
    empty = write_csv(tmp_path / "empty.csv", [])
    assert "no patient rows" in run("import-sheet", str(empty), "-d", str(tmp_path / "r.db")).output


cells = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(cells, min_size=13, max_size=13), min_size=1, max_size=5))
def test_any_pasted_garbage_gives_problems_never_a_crash(rows: list[list[str]]) -> None:
    """Whatever a tired coordinator pastes, the answer is records or a list of problems."""
    with tempfile.TemporaryDirectory() as folder:
        sheet = Path(folder) / "s.csv"
        with sheet.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(COLUMN_NAMES)
            writer.writerows(rows)
        problems: list[Problem] = []
        try:
            records = read_sheet(sheet)
        except InputRejected as rejected:
            problems = rejected.problems
            records = []
        if problems:
            assert all(p.row >= 1 and p.column and p.reason for p in problems)
        else:
            assert len(records) == sum(any(c.strip() for c in row) for row in rows)


def test_imports_are_audited_and_direct_edits_are_caught(database_url: str, tmp_path: Path) -> None:
    """Every row an import writes is in the audit trail, with the sheet as the reason."""
    sheet = write_csv(tmp_path / "s.csv", [GOOD, GOOD.replace("P001", "P002")])
    assert run("import-sheet", str(sheet), "-d", database_url).exit_code == 0
    write_csv(
        sheet,
        [
            GOOD.replace(",80", ",85"),
            GOOD.replace("P001", "P002").replace("1,1,0,0,0", "1,0,1,0,0"),
        ],
    )  # P001's relief changes, P002's SCS becomes ISS
    assert run("import-sheet", str(sheet), "-d", database_url).exit_code == 0
    engine = open_database(database_url)
    with engine.connect() as conn:
        assert audit.verify(conn).ok
        entries = conn.execute(sa.select(schema.audit_log)).mappings().all()
        by_action = Counter((e["action"], e["table_name"]) for e in entries)
        assert by_action[("create", "patient")] == 2
        assert by_action[("update", "visit")] == 1
        assert by_action[("delete", "prior_procedure")] == 1
        assert by_action[("create", "prior_procedure")] == 3
        assert {e["reason"] for e in entries} == {"sheet import: s.csv"}
    with engine.begin() as conn:
        conn.execute(sa.update(schema.visit).values(pain_relief_pct=Decimal("12.5")))
    result = run("audit", "verify", "-d", database_url)
    engine.dispose()
    assert result.exit_code == 1
    assert "changed outside sijreg" in result.output
