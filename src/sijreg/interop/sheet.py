"""The flat study sheet: one row per patient, as the seed study's sites kept it.

Columns (any order): site, study_id, age, sex, bmi, fbss, prior_scs, prior_iss,
prior_idds, prior_mild, fusion_date, last_followup_date, pain_relief_pct, and
optionally birth_year. Each column's rule is its data-dictionary field's rule, and
each row's patient keeps the cross-record rules (:mod:`sijreg.domain.rules`), on its
own and, for a patient already stored, merged with the stored records. Rows
are numbered as a spreadsheet shows them: the header is row 1, the first patient row 2.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path

import sqlalchemy as sa

from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord, Values
from sijreg.domain.rules import patient_breaches
from sijreg.domain.types import Field, FieldError, Kind, Value
from sijreg.interop.problems import InputRejected, Problem
from sijreg.store.database import begin_snapshot, write_refused
from sijreg.store.integrity import Refusal
from sijreg.store.writer import RuleCheck, SaveSummary, save_patients


@dataclass(frozen=True)
class Column:
    """A sheet column and the dictionary field whose rule it follows."""

    name: str
    field: Field


def _flag(code: str) -> Field:
    label = dd.PRIOR_PROCEDURE.field("procedure").choice_label(code)
    return Field(f"prior_{code}", f"Prior {label}", Kind.BOOLEAN, required=True)


COLUMNS: tuple[Column, ...] = (
    Column("site", dd.field("site_code")),
    Column("study_id", dd.field("study_id")),
    Column("age", dd.field("age")),
    Column("sex", dd.field("sex")),
    Column("bmi", dd.field("bmi")),
    Column("fbss", dd.field("fbss")),
    *(Column(f"prior_{code}", _flag(code)) for code in dd.ADVANCED_PROCEDURES),
    Column("fusion_date", dd.field("fusion_date")),
    Column("last_followup_date", replace(dd.field("visit_date"), required=False)),
    Column("pain_relief_pct", dd.field("pain_relief_pct")),
)
"""The sheet's columns. The follow-up date may be empty: a patient not yet seen."""

COLUMN_NAMES = tuple(c.name for c in COLUMNS)
OPTIONAL: tuple[Column, ...] = (Column("birth_year", dd.field("birth_year")),)
"""Columns a sheet may add (the seed study's sheets have no year of birth)."""
KNOWN = (*COLUMNS, *OPTIONAL)
RULE_COLUMNS = {
    **{("patient", f.name): f.name for f in dd.PATIENT.fields},
    ("fusion", "fusion_date"): "fusion_date",
    ("visit", "visit_date"): "last_followup_date",
    ("visit", "pain_relief_pct"): "pain_relief_pct",
}
"""Where a breach of a cross-record rule shows in the sheet: (form, field) -> column."""


def _cannot_read(path: Path, error: OSError) -> InputRejected:
    return InputRejected(str(path), [Problem(0, "-", "", f"cannot read: {error.strerror}")])


def _not_utf8(path: Path) -> InputRejected:
    return InputRejected(
        str(path), [Problem(0, "-", "", "not UTF-8 text: save the sheet as 'CSV UTF-8'")]
    )


@contextmanager
def _reader(path: Path) -> Iterator[Iterator[list[str]]]:
    """The sheet's rows as lists of cells, read as they are needed (a sheet of any size
    takes bounded memory); the delimiter is decided from the header line."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            try:
                first = handle.readline()
                handle.seek(0)
                delimiter = max(",;\t", key=first.count)
                yield csv.reader(handle, delimiter=delimiter)
            except UnicodeDecodeError:
                raise _not_utf8(path) from None
    except OSError as error:
        raise _cannot_read(path, error) from None


def _check_header(header: list[str]) -> list[Problem]:
    names = [h.strip() for h in header]
    missing = [c for c in COLUMN_NAMES if c not in names]
    unknown = [n for n in names if n not in {c.name for c in KNOWN}]
    repeated = sorted({n for n in names if names.count(n) > 1})
    problems = [Problem(1, c, "", "column is missing") for c in missing]
    problems += [
        Problem(
            1,
            n,
            n,
            f"unknown column (expected: {', '.join(COLUMN_NAMES)}; "
            f"optional: {', '.join(c.name for c in OPTIONAL)})",
        )
        for n in unknown
    ]
    problems += [Problem(1, n, n, "column appears more than once") for n in repeated]
    return problems


def _parse_row(number: int, cells: dict[str, str], problems: list[Problem]) -> dict[str, Value]:
    values: dict[str, Value] = {}
    for column in KNOWN:
        raw = cells.get(column.name, "")
        try:
            values[column.name] = column.field.parse(raw)
        except FieldError as error:
            problems.append(Problem(number, column.name, raw, str(error)))
    if (
        values.get("pain_relief_pct") is not None
        and "last_followup_date" in values
        and values["last_followup_date"] is None
    ):
        problems.append(
            Problem(
                number,
                "pain_relief_pct",
                cells["pain_relief_pct"],
                "a pain relief needs the last_followup_date it was reported at",
            )
        )
    return values


def _rule_problems(number: int, cells: dict[str, str], record: PatientRecord) -> list[Problem]:
    """The cross-record rules the row's patient breaks, in the row's columns."""
    return [
        _in_column(number, cells, b.form, b.field, b.reason)
        for b in patient_breaches(record, date.today())
    ]


def _in_column(number: int, cells: dict[str, str], form: str, name: str, reason: str) -> Problem:
    """A refusal of a (form, field) shown in the sheet column that holds it."""
    column = RULE_COLUMNS.get((form, name), "study_id")
    return Problem(number, column, cells.get(column, ""), reason)


def _record(values: dict[str, Value]) -> PatientRecord:
    visits: list[Values] = []
    if values["last_followup_date"] is not None:
        visits.append(
            {
                "visit_date": values["last_followup_date"],
                "baseline": False,
                "pain_relief_pct": values["pain_relief_pct"],
            }
        )
    return PatientRecord(
        site_code=str(values["site"]),
        patient={n: values[n] for n in ("study_id", "sex", "age", "birth_year", "bmi", "fbss")},
        fusion={"fusion_date": values["fusion_date"]},
        prior_procedures=[
            {"procedure": code} for code in dd.ADVANCED_PROCEDURES if values[f"prior_{code}"]
        ],
        visits=visits,
    )


def data_rows(
    path: Path, header_problems: Callable[[list[str]], list[Problem]], problems: list[Problem]
) -> Iterator[tuple[int, dict[str, str]]]:
    """A CSV sheet's non-blank rows as (spreadsheet row number, cells by column name).

    A header with problems is refused at once (InputRejected); a row whose number
    of cells does not match the header is added to ``problems``, in row order.
    """
    with _reader(path) as rows:
        first = next(rows, None)
        if first is None:
            raise InputRejected(str(path), [Problem(1, "-", "", "the sheet is empty")])
        header = [h.strip() for h in first]
        if refused := header_problems(header):
            raise InputRejected(str(path), refused)
        for number, cells in enumerate(rows, start=2):
            if not any(c.strip() for c in cells):
                continue
            if len(cells) != len(header):
                problems.append(
                    Problem(
                        number, "-", "", f"has {len(cells)} cells, the header has {len(header)}"
                    )
                )
                continue
            yield number, dict(zip(header, cells, strict=True))


Rows = dict[tuple[str, str], tuple[int, dict[str, str]]]
"""Each valid row's number and cells by (site, study id)."""


def _valid_records(
    path: Path, problems: list[Problem], rows: Rows | None = None
) -> Iterator[PatientRecord]:
    """The sheet's valid rows as records, as they are read; every problem, a study id
    repeated at a site included, is added to ``problems``, each valid row to ``rows``."""
    first_row: dict[tuple[str, str], int] = {}
    for number, cells in data_rows(path, _check_header, problems):
        before = len(problems)
        values = _parse_row(number, cells, problems)
        key = (str(values.get("site")), str(values.get("study_id")))
        if values.get("site") is not None and values.get("study_id") is not None:
            if key in first_row:
                problems.append(
                    Problem(
                        number,
                        "study_id",
                        key[1],
                        f"duplicate study id at site {key[0]} (first on row {first_row[key]})",
                    )
                )
            else:
                first_row[key] = number
        if len(problems) == before:
            record = _record(values)
            problems += _rule_problems(number, cells, record)
            if len(problems) == before:
                if rows is not None:
                    rows[key] = (number, cells)
                yield record


def _rejected(path: Path, problems: list[Problem], count: int) -> InputRejected | None:
    if not count and not problems:
        problems.append(Problem(2, "-", "", "the sheet has a header but no patient rows"))
    ordered = sorted(problems, key=lambda p: p.row)  # a merge's problems come after a chunk
    return InputRejected(str(path), ordered) if problems else None


def read_sheet(path: Path) -> list[PatientRecord]:
    """Parse and validate a study sheet; raise :class:`InputRejected` listing every problem."""
    problems: list[Problem] = []
    records = list(_valid_records(path, problems))
    if rejected := _rejected(path, problems, len(records)):
        raise rejected
    return records


def sheet_row(record: PatientRecord) -> dict[str, str]:
    """A patient as one sheet row: the last visit after the fusion is the follow-up."""
    fusion_date = record.fusion_date
    last = record.last_followup() or {}
    codes = {p["procedure"] for p in record.prior_procedures}
    values: dict[str, Value] = {
        "site": record.site_code,
        **record.patient,
        "fusion_date": fusion_date,
        "last_followup_date": last.get("visit_date"),
        "pain_relief_pct": last.get("pain_relief_pct"),
        **{f"prior_{code}": code in codes for code in dd.ADVANCED_PROCEDURES},
    }
    return {c.name: _cell(values.get(c.name)) for c in KNOWN}


def _cell(value: Value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def write_sheet(records: Iterable[PatientRecord], path: Path) -> None:
    """Write ``records`` as a study sheet (what ``read_sheet`` reads back)."""
    rows = [sheet_row(r) for r in records]
    extra = [c.name for c in OPTIONAL if any(row[c.name] for row in rows)]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=(*COLUMN_NAMES, *extra), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)


class _Abandoned(Exception):
    """The sheet has a problem: the rows saved so far are rolled back."""


def import_sheet(engine: sa.Engine, path: Path) -> SaveSummary:
    """Validate the sheet while saving it in one transaction: all or nothing.

    Rows are read, checked and saved chunk by chunk, never held whole. At the first
    problem the transaction is rolled back (the write lock is let go at once) and the
    rest of the sheet is only checked, so that every problem is listed. On SQLite the
    write lock is taken at the first row that changes anything (an unchanged sheet
    never takes it); should another writer be writing then, or have written since the
    import began, it starts again holding the lock from the start. See docs/sheet.md,
    "Large sheets and a live server".
    """
    try:
        return _import(engine, path, write_lock=False)
    except sa.exc.OperationalError as error:
        if not write_refused(error):
            raise
    return _import(engine, path, write_lock=True)


def _import(engine: sa.Engine, path: Path, *, write_lock: bool) -> SaveSummary:
    problems: list[Problem] = []
    where: Rows = {}
    rows = _valid_records(path, problems, where)
    count = 0

    def refused(record: PatientRecord, refusals: list[Refusal]) -> None:
        """A row whose patient, merged with what is stored, breaks a rule."""
        number, cells = where[(record.site_code, record.study_id)]
        problems.extend(_in_column(number, cells, r.form, r.field, r.reason) for r in refusals)

    def until_a_problem() -> Iterator[PatientRecord]:
        nonlocal count
        for record in rows:
            if problems:
                return
            count += 1
            yield record

    try:
        with engine.begin() as conn:
            begin_snapshot(conn, write_lock=write_lock)
            summary = save_patients(
                conn,
                until_a_problem(),
                owned_procedures=dd.ADVANCED_PROCEDURES,
                reason=f"sheet import: {path.name}",
                check=RuleCheck(date.today(), refused),
            )
            if problems or not count:
                raise _Abandoned
    except _Abandoned:
        count += sum(1 for _ in rows)
        rejected = _rejected(path, problems, count)
        assert rejected is not None
        raise rejected from None
    return summary
