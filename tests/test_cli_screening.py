"""``sijreg screen``, ``sijreg pathway`` and ``report --protocol`` through the real CLI."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from typer.testing import CliRunner

from sijreg.cli.app import app
from sijreg.domain.records import PatientRecord
from sijreg.store.database import open_database
from sijreg.store.writer import save_patients
from tests.helpers import read_tables
from tests.protocol_edits import edited

HEADER = (
    "site,screening_number,study_id,pain_below_belt_line,pain_character,test_distraction,"
    "test_thigh_thrust,test_faber,test_compression,test_gaenslen,block_image_guided,"
    "block_local_anaesthetic,block_relief_pct,conservative_months,advanced_scs"
)
ROWS = (
    "S01,SCR-1,P-1,1,non_radicular,positive,positive,positive,negative,negative,1,1,50.1,6,1",
    "S01,SCR-2,,1,non_radicular,positive,positive,positive,positive,negative,1,1,50,6,1",
    "S01,SCR-3,,1,non_radicular,positive,positive,not_done,negative,negative,1,1,80,5.9,1",
    "S01,SCR-4,,1,non_radicular,positive,positive,not_done,negative,negative,1,1,80,6,",
)

runner = CliRunner()


def write_sheet(tmp_path: Path, rows: tuple[str, ...] = ROWS) -> Path:
    path = tmp_path / "screening.csv"
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding="utf-8")
    return path


def screen_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["screen", *args, "--json"])
    assert result.exit_code == 0, result.output
    parsed: dict[str, Any] = json.loads(result.output)
    return parsed


def test_screen_a_sheet_prints_each_decision_with_reasons(tmp_path: Path) -> None:
    result = runner.invoke(app, ["screen", str(write_sheet(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "row 2 · S01/SCR-1: ELIGIBLE" in result.output
    assert "row 3 · S01/SCR-2: NOT ELIGIBLE" in result.output
    assert "row 5 · S01/SCR-4: INCOMPLETE" in result.output
    assert "4 screened: 1 eligible, 2 not eligible, 1 incomplete" in result.output
    assert "not medical" in result.output
    payload = screen_json(str(write_sheet(tmp_path)))
    decisions = {s["screening_number"]: s for s in payload["screenings"]}
    assert payload["protocol"]["id"] == "seed-study-2021"
    assert {k: d["decision"] for k, d in decisions.items()} == {
        "SCR-1": "eligible",
        "SCR-2": "not_eligible",
        "SCR-3": "not_eligible",
        "SCR-4": "incomplete",
    }
    relief = next(c for c in decisions["SCR-2"]["criteria"] if c["key"] == "block_relief")
    assert (relief["status"], relief["found"], relief["required"]) == (
        "not_met",
        "50.0%",
        "more than 50%",
    )
    # SCR-3 fails on 5.9 months; its manoeuvres (2 positive, 1 not done) are still open.
    failed = [c["key"] for c in decisions["SCR-3"]["criteria"] if c["status"] == "not_met"]
    assert failed == ["conservative_care"]
    assert decisions["SCR-3"]["missing"] == ["test_faber"]
    # The sheet has no column for ISS, IDDS or MILD: not recorded, so all four are missing.
    assert decisions["SCR-4"]["missing"] == [
        "test_faber",
        "advanced_scs",
        "advanced_iss",
        "advanced_idds",
        "advanced_mild",
    ]


def test_another_protocol_file_changes_the_decisions(tmp_path: Path) -> None:
    four = edited(tmp_path, ('version = "1"', 'version = "2"'), ("threshold = 3", "threshold = 4"))
    payload = screen_json(str(write_sheet(tmp_path)), "--protocol", str(four))
    assert payload["protocol"]["version"] == "2"
    decisions = {s["screening_number"]: s["decision"] for s in payload["screenings"]}
    assert decisions["SCR-1"] == "not_eligible"  # 3 of 5 is not 4 of 5
    assert decisions["SCR-2"] == "not_eligible"  # 4 of 5, but 50% relief


def test_stored_screenings_keep_the_protocol_version_that_judged_them(
    database_url: str, tmp_path: Path
) -> None:
    engine = open_database(database_url)
    with engine.begin() as conn:
        save_patients(conn, [PatientRecord("S01", {"study_id": "P-1"})])
    engine.dispose()
    sheet = str(write_sheet(tmp_path))
    saved = runner.invoke(app, ["screen", sheet, "--save", "-d", database_url])
    assert saved.exit_code == 0, saved.output
    assert "4 screenings created, 0 updated, 0 unchanged" in " ".join(saved.output.split())
    four = edited(tmp_path, ('version = "1"', 'version = "2"'), ("threshold = 3", "threshold = 4"))
    rejudged = screen_json(
        "--site", "S01", "--number", "SCR-1", "-p", str(four), "-d", database_url
    )
    assert rejudged["screenings"][0]["decision"] == "not_eligible"
    assert rejudged["screenings"][0]["study_id"] == "P-1"
    history = screen_json("--site", "S01", "--number", "SCR-1", "-d", database_url)
    assert history["screenings"][0]["decision"] == "eligible"
    assert [
        (r["screening_version"], r["protocol_version"], r["protocol_sha256"][:8], r["decision"])
        for r in history["stored_decisions"]
    ] == [
        (1, "1", history["protocol"]["sha256"][:8], "eligible"),
        (1, "2", rejudged["protocol"]["sha256"][:8], "not_eligible"),
    ]
    text = runner.invoke(app, ["screen", "--site", "S01", "--number", "SCR-1", "-d", database_url])
    assert "Stored decisions on this screening:" in text.output
    everything = screen_json("--site", "S01", "-d", database_url)
    assert [s["screening_number"] for s in everything["screenings"]] == [
        "SCR-1",
        "SCR-2",
        "SCR-3",
        "SCR-4",
    ]


def test_screen_errors_are_one_clear_message(database_url: str, tmp_path: Path) -> None:
    broken = edited(tmp_path, ("threshold = 3", "threshold = 9"), name="broken.toml")
    result = runner.invoke(app, ["screen", str(write_sheet(tmp_path)), "-p", str(broken)])
    assert result.exit_code == 1
    assert f"{broken}: criterion 'provocative_manoeuvres': 'threshold' must be" in " ".join(
        result.output.split()
    )
    assert "Traceback" not in result.output
    neither = runner.invoke(app, ["screen"])
    assert neither.exit_code == 1
    assert "give either a screening sheet or --site" in neither.output
    unknown = runner.invoke(app, ["screen", "--site", "S09", "--number", "X", "-d", database_url])
    assert unknown.exit_code == 1
    assert "no screening S09/X" in unknown.output
    bad_link = runner.invoke(
        app, ["screen", str(write_sheet(tmp_path)), "--save", "-d", database_url]
    )
    assert bad_link.exit_code == 1
    assert "row 2, column study_id: 'P-1': no enrolled patient S01/P-1" in bad_link.output


def test_pathway_command(database_url: str, tmp_path: Path) -> None:
    engine = open_database(database_url)
    injections = [date(2019, 1, 1), date(2019, 3, 1), date(2019, 6, 1), date(2019, 9, 1)]
    with engine.begin() as conn:
        save_patients(
            conn,
            [
                PatientRecord(
                    "S01",
                    {"study_id": "P-1"},
                    fusion={"fusion_date": date(2020, 5, 1)},
                    prior_procedures=[
                        {"procedure": "sij_steroid_injection", "procedure_date": d}
                        for d in injections
                    ],
                )
            ],
        )
        count = conn.execute(sa.text("SELECT COUNT(*) FROM prior_procedure")).scalar_one()
    engine.dispose()
    assert count == 4
    sheet = str(write_sheet(tmp_path, ROWS[:1]))
    assert runner.invoke(app, ["screen", sheet, "--save", "-d", database_url]).exit_code == 0
    result = runner.invoke(app, ["pathway", "S01", "P-1", "-d", database_url, "--json"])
    assert result.exit_code == 0, result.output
    view = json.loads(result.output)
    assert "not medical advice" in view["disclaimer"]
    assert view["flags"][0].startswith(
        "4 steroid SIJ injections within 365 days (2019-01-01 to 2019-09-01)"
    )
    assert view["screening"]["decision"] == "eligible"
    assert view["standing"][0].startswith(
        "Screening S01/SCR-1 under seed-study-2021 version 1: eligible"
    )
    text = runner.invoke(app, ["pathway", "S01", "P-1", "-d", database_url])
    assert text.exit_code == 0
    assert "not medical" in text.output
    missing = runner.invoke(app, ["pathway", "S01", "P-404", "-d", database_url])
    assert missing.exit_code == 1
    assert "no patient S01/P-404" in missing.output


def test_report_with_another_protocol_changes_the_flow(tmp_path: Path) -> None:
    database = str(tmp_path / "demo.db")
    demo = runner.invoke(app, ["demo", "-d", database, "-o", str(tmp_path / "r1")])
    assert demo.exit_code == 0, demo.output
    four = edited(tmp_path, ('version = "1"', 'version = "2"'), ("threshold = 3", "threshold = 4"))
    report = runner.invoke(
        app,
        [
            "report",
            "-q",
            "-d",
            database,
            "-o",
            str(tmp_path / "r2"),
            "-p",
            str(four),
            "--fused-until",
            "2021-04-30",
        ],
    )
    assert report.exit_code == 0, report.output
    before = read_tables(tmp_path / "r1")
    after = read_tables(tmp_path / "r2")
    assert after["flow"]["protocol"]["version"] == "2"
    assert after["flow"]["eligible"] < before["flow"]["eligible"]
    assert after["flow"]["screened"] == before["flow"]["screened"]
    # Enrolled patients who no longer pass are shown as such; the tables do not change.
    assert after["flow"]["enrolled"]["eligible_at_screening"] < 117
    assert after["flow"]["analysed"] == after["table1"]["n"] == 111
    assert after["table1"] == before["table1"]
