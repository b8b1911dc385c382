"""The screening sheet: one row per screening, as a site keeps its screening log.

Columns (any order): ``site`` and ``screening_number`` are required; ``study_id``
links an enrolled patient (empty: not enrolled); every other column is a field of
the screening form under its dictionary name, and a column left out is a value
not recorded. Each row keeps the screening's rules across fields
(:mod:`sijreg.domain.rules`). Rows are numbered as a spreadsheet shows them (header = row 1).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import Protocol
from sijreg.domain.records import ScreeningRecord
from sijreg.domain.rules import record_breaches
from sijreg.domain.screening import Decision
from sijreg.domain.types import Field, FieldError
from sijreg.interop.problems import InputRejected, Problem
from sijreg.interop.sheet import data_rows
from sijreg.store.screenings import LinkError, judge, load_screenings, save_screenings
from sijreg.store.writer import SaveSummary

KEY_COLUMNS: dict[str, Field] = {
    "site": dd.field("site_code"),
    "study_id": replace(dd.field("study_id"), required=False),
}
COLUMNS: dict[str, Field] = {**KEY_COLUMNS, **{f.name: f for f in dd.SCREENING.fields}}
REQUIRED = ("site", "screening_number")


@dataclass(frozen=True)
class SheetRow:
    """A screening sheet row: its spreadsheet row number and its record."""

    row: int
    record: ScreeningRecord

    @property
    def label(self) -> str:
        return f"{self.record.site_code}/{self.record.screening_number}"


def _header_problems(header: list[str]) -> list[Problem]:
    problems = [Problem(1, c, "", "column is missing") for c in REQUIRED if c not in header]
    problems += [
        Problem(1, name, name, "unknown column (expected: " + ", ".join(COLUMNS) + ")")
        for name in header
        if name not in COLUMNS
    ]
    problems += [
        Problem(1, name, name, "column appears more than once")
        for name in sorted({n for n in header if header.count(n) > 1})
    ]
    return problems


def read_screening_sheet(path: Path) -> list[SheetRow]:
    """Parse and validate a screening sheet; InputRejected lists every problem."""
    problems: list[Problem] = []
    out: list[SheetRow] = []
    first_row: dict[tuple[object, object], int] = {}
    for number, cells in data_rows(path, _header_problems, problems):
        before = len(problems)
        values = {}
        for name, raw in cells.items():
            try:
                values[name] = COLUMNS[name].parse(raw)
            except FieldError as error:
                problems.append(Problem(number, name, raw, str(error)))
        key = (values.get("site"), values.get("screening_number"))
        if None not in key and key in first_row:
            problems.append(
                Problem(
                    number,
                    "screening_number",
                    str(key[1]),
                    f"duplicate screening number at site {key[0]} (first on row {first_row[key]})",
                )
            )
        first_row.setdefault(key, number)
        if len(problems) == before:
            problems += [
                Problem(number, name, cells.get(name, ""), reason)
                for name, reason in record_breaches(dd.SCREENING, values, date.today())
            ]
        if len(problems) == before:
            study_id = values.pop("study_id", None)
            site = values.pop("site")
            out.append(
                SheetRow(
                    number,
                    ScreeningRecord(str(site), values, None if study_id is None else str(study_id)),
                )
            )
    if not out and not problems:
        problems.append(Problem(2, "-", "", "the sheet has a header but no screening rows"))
    if problems:
        raise InputRejected(str(path), problems)
    return out


def import_screening_sheet(
    engine: sa.Engine, path: Path, protocol: Protocol
) -> tuple[list[SheetRow], SaveSummary, list[Decision]]:
    """Save a screening sheet and its decisions in one transaction (all or nothing)."""
    rows = read_screening_sheet(path)
    with engine.begin() as conn:
        try:
            summary = save_screenings(
                conn, [r.record for r in rows], reason=f"screening sheet import: {path.name}"
            )
        except LinkError as error:
            raise InputRejected(
                str(path),
                [
                    Problem(rows[i].row, "study_id", str(rows[i].record.study_id), reason)
                    for i, reason in error.problems
                ],
            ) from None
        stored = {s.label: s for s in load_screenings(conn)}
        decisions = judge(conn, protocol, [stored[r.label] for r in rows])
    return rows, summary, decisions
