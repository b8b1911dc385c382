"""Every figure says what it is a share or a mean of: the relief mean names its own n (the
values, as the paper's "(n=111)"), and every table states its denominator."""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path

import pytest
import sqlalchemy as sa
from docx import Document
from rich.console import Console

from sijreg.analysis.cohort import build_cohort, read_registry
from sijreg.analysis.completeness import registry_completeness
from sijreg.analysis.tables import Settings, study_tables
from sijreg.domain.schedule import DEFAULT_WINDOWS
from sijreg.interop import table_export
from sijreg.interop.table_export import FORMATS
from sijreg.report import terminal
from sijreg.report.document import build
from sijreg.report.grids import all_grids
from sijreg.report.options import Options
from sijreg.report.write import write_report
from tests.cohorts import analysed, random_registry, store

STATED = re.compile(r"[Dd]enominator|Patients with a baseline")


def _records_with_missing_relief(seed: int, n: int) -> list:  # type: ignore[type-arg]
    records = random_registry(seed, n=n, sites=2)
    for record in records[::4]:  # the last visit of every fourth patient without relief
        record.visits[-1]["pain_relief_pct"] = None
    return records


def test_the_relief_label_names_the_number_of_values(engine: sa.Engine) -> None:
    records = _records_with_missing_relief(31, 60)
    store(engine, records)
    expected = analysed(records)
    known = sum(p["relief"] is not None for p in expected)
    assert 0 < known < len(expected)
    document = build(study_tables(build_cohort(engine), Settings()), "test")
    row = document["table2"]["rows"]["pain_relief_pct"]
    assert row["n"] == known
    assert row["label"].endswith(f"mean (n={known})")
    fbss = [p for p in expected if p["fbss"]]
    panel = document["table3"]["panels"]["yes"]["rows"]["pain_relief_pct"]
    assert panel["label"].endswith(f"mean (n={sum(p['relief'] is not None for p in fbss)})")


def test_every_table_states_its_denominator_in_every_output(
    engine: sa.Engine, tmp_path: Path
) -> None:
    records = _records_with_missing_relief(32, 60)
    store(engine, records)
    tables = study_tables(build_cohort(engine), Settings(compare=("fbss",)))
    follow_up = registry_completeness(read_registry(engine), date(2021, 3, 1), DEFAULT_WINDOWS)
    document = write_report(
        tables, tmp_path / "report", "test", Options(ci=True), completeness=follow_up
    )
    assert document["completeness"]["available"]

    # The paper's convention in Table 2; the responder curve's own, stated with it.
    expected = analysed(records)
    relief = [p["relief"] for p in expected]
    known = [r for r in relief if r is not None]
    row = document["table2"]["rows"]["responders_30"]
    responders = sum(r >= 30 for r in known)
    assert (row["count"], row["n"]) == (responders, len(expected))
    assert row["percent"] == pytest.approx(100 * responders / len(expected))
    curve = document["responders"]["overall"]
    assert curve["n"] == len(known)
    assert curve["share"][30] == pytest.approx(responders / len(known))
    assert "non-responder" in document["responders"]["denominator"]
    note = document["table2"]["denominator"]
    missing = len(relief) - len(known)
    assert f"({missing} here) count as non-responders" in note
    assert f"over the {len(known)} patients with a value" in note

    grids = all_grids(document)
    for grid in grids:
        assert any(STATED.search(note) for note in grid.notes), grid.key
    exports = {fmt: table_export.export_tables(document, fmt, tmp_path / fmt) for fmt in FORMATS}
    word = Document(str(exports["docx"][0]))
    texts = {
        "md": (tmp_path / "report" / "tables.md").read_text(encoding="utf-8"),
        "html": html.unescape((tmp_path / "report" / "report.html").read_text(encoding="utf-8")),
        "docx": "\n".join(p.text for p in word.paragraphs),
        "latex": exports["latex"][0].read_text(encoding="utf-8").replace("\\%", "%"),
        "csv": "\n".join(p.read_text(encoding="utf-8") for p in exports["csv"]),
    }
    console = Console(record=True, width=200)
    terminal.show(document, console)
    texts["terminal"] = console.export_text()
    for name, text in texts.items():
        words = " ".join(text.split())  # the terminal wraps long notes
        for grid in grids if name != "terminal" else grids[:4]:  # it shows Tables 1-3, compared
            for grid_note in grid.notes:
                if STATED.search(grid_note):
                    assert " ".join(grid_note.split()) in words, (name, grid.key, grid_note)
