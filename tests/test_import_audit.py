"""The bulk save's audit trail: the same entries the per-row path wrote, and all or nothing."""

from __future__ import annotations

import copy
import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from benchmarks.import_sheet import write_sheet_file

from sijreg.domain import dictionary as dd
from sijreg.domain.records import PatientRecord
from sijreg.interop.problems import InputRejected
from sijreg.interop.sheet import import_sheet
from sijreg.store import audit, schema, writer
from sijreg.store.database import open_database
from sijreg.synthetic.seed_study import seed_study_cohort
from tests import per_row_writer
from tests.conftest import reset_postgres

OWNED = dd.PRIOR_PROCEDURE.field("procedure").codes
Save = Callable[..., Any]
CHAINED = ("id", "user_id", "site_id", "action", "table_name", "record_id")
STATE = ("old_values", "new_values", "reason", "record_hash")


def _changed_cohort(records: list[PatientRecord]) -> list[PatientRecord]:
    """The cohort again with edits of every kind the merge makes, and new patients."""
    changed = copy.deepcopy(records)
    for i, r in enumerate(changed):
        if i % 5 == 0 and isinstance(age := r.patient.get("age"), int):
            r.patient["age"] = min(age + 1, 110)
        if i % 7 == 0 and r.visits:
            r.visits[0]["pain_relief_pct"] = Decimal("12.5")
        if i % 11 == 0:
            r.visits.append({"visit_date": date(2026, 1, 5), "pain_relief_pct": Decimal("40")})
        if i % 13 == 0:
            r.prior_procedures = [{"procedure": "iss"}]
        if i % 17 == 0 and r.fusion is not None:
            r.fusion["fusion_date"] = date(2021, 3, 3)
    extra = copy.deepcopy(records[:6])
    for n, r in enumerate(extra):
        r.patient["study_id"] = f"NEW-{n}"
    return changed + extra


def _fresh(database_url: str, folder: Path, name: str) -> sa.Engine:
    if "://" in database_url:
        reset_postgres(sa.make_url(database_url))
        return open_database(database_url)
    return open_database(str(folder / f"{name}.db"))


def _outcome(engine: sa.Engine) -> tuple[list[tuple[Any, ...]], dict[str, list[Any]]]:
    """Every audit entry (without its time and hashes) and every audited row's state."""
    log = schema.audit_log
    with engine.connect() as conn:
        assert audit.verify(conn).ok
        entries = [
            tuple(row[k] for k in CHAINED + STATE)
            for row in conn.execute(sa.select(log).order_by(log.c.id)).mappings()
        ]
        rows = {
            t.name: [
                audit.record_state(t, r)
                for r in conn.execute(sa.select(t).order_by(t.c.id)).mappings()
            ]
            for t in schema.PER_PATIENT
        }
    engine.dispose()
    return entries, rows


def _scenario(database_url: str, folder: Path, name: str, save: Save, **options: Any) -> Any:
    engine = _fresh(database_url, folder, name)
    first = seed_study_cohort()
    for records, reason in ((first, "first"), (_changed_cohort(first), "second")):
        with engine.begin() as conn:
            save(conn, records, owned_procedures=OWNED, reason=reason, **options)
    return _outcome(engine)


def _deletions_by_id(entries: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The entries without their ids, a patient's deletions in record id order: the
    per-row path read the rows it deleted with no ORDER BY (an order the database chose)."""
    out: list[tuple[Any, ...]] = []
    run: list[tuple[Any, ...]] = []
    patient = None
    for entry in [e[1:] for e in entries] + [()]:
        if run and (entry[2:3] != ("delete",) or json.loads(entry[5])["patient_id"] != patient):
            out += sorted(run, key=lambda e: e[4])
            run = []
        if entry[2:3] == ("delete",):
            patient = json.loads(entry[5])["patient_id"]
            run.append(entry)
        elif entry:
            out.append(entry)
    return out


def test_bulk_entries_equal_the_per_row_paths(database_url: str, tmp_path: Path) -> None:
    """Creates, updates and deletes: the same rows, the same entries in the same order."""
    per_row = _scenario(database_url, tmp_path, "per_row", per_row_writer.save_patients)
    bulk = _scenario(database_url, tmp_path, "bulk", writer.save_patients)
    actions = {(e[3], e[4]) for e in per_row[0]}
    assert {("create", "patient"), ("update", "visit"), ("delete", "prior_procedure")} <= actions
    assert {("update", "patient"), ("update", "fusion"), ("create", "visit")} <= actions
    assert bulk[1] == per_row[1]
    assert [e[0] for e in bulk[0]] == [e[0] for e in per_row[0]]
    assert _deletions_by_id(bulk[0]) == _deletions_by_id(per_row[0])


def test_chunks_change_only_ids_and_order(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Saved 7 records at a time, the registry holds the same values (rows created while
    merging get other ids: each chunk's new patients come before the next chunk's); entries
    kept in a temporary table on PostgreSQL come out in the order they went in."""
    per_row = _scenario(database_url, tmp_path, "per_row", per_row_writer.save_patients)
    chunked = _scenario(database_url, tmp_path, "chunked", writer.save_patients, chunk=7)
    monkeypatch.setattr(writer, "HOLD_IN_MEMORY", 20)
    spilled = _scenario(database_url, tmp_path, "spilled", writer.save_patients, chunk=7)
    assert spilled == chunked

    def values(rows: dict[str, list[Any]]) -> dict[str, list[str]]:
        return {
            name: sorted(json.dumps({**r, "id": None}, sort_keys=True) for r in table)
            for name, table in rows.items()
        }

    def kinds(entries: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        return sorted((e[3], e[4], e[8]) for e in entries)

    assert values(chunked[1]) == values(per_row[1])
    assert kinds(chunked[0]) == kinds(per_row[0])


def _patients_and_entries(engine: sa.Engine) -> tuple[int, int]:
    with engine.connect() as conn:
        patients = conn.execute(sa.select(sa.func.count()).select_from(schema.patient))
        entries = conn.execute(sa.select(sa.func.count()).select_from(schema.audit_log))
        return int(patients.scalar_one()), int(entries.scalar_one())


def test_a_bad_row_late_in_a_big_sheet_writes_nothing(engine: sa.Engine, tmp_path: Path) -> None:
    sheet = tmp_path / "big.csv"
    write_sheet_file(12_000, sheet)
    first = import_sheet(engine, sheet)
    assert len(first.created) == 12_000
    before = _patients_and_entries(engine)
    bad = "S001,Q1,70,F,30.5,1,1,0,0,0,2020-01-10,2019-07-10,80\n"
    with sheet.open("a", encoding="utf-8") as handle:
        handle.write(bad)
    with pytest.raises(InputRejected) as rejected:
        import_sheet(engine, sheet)
    assert [str(p) for p in rejected.value.problems] == [
        "row 12002, column last_followup_date: '2019-07-10': must be after the fusion date "
        "2020-01-10"
    ]
    assert _patients_and_entries(engine) == before


def test_a_failure_in_a_late_chunk_rolls_the_whole_save_back(engine: sa.Engine) -> None:
    """Chunks already written (rows and entries) go when a later one fails."""
    records = seed_study_cohort()

    def stream() -> Iterator[PatientRecord]:
        yield from records
        raise RuntimeError("the source broke after the last record")

    with pytest.raises(RuntimeError), engine.begin() as conn:
        writer.save_patients(conn, stream(), owned_procedures=OWNED, chunk=10)
    assert _patients_and_entries(engine) == (0, 0)
    with engine.connect() as conn:
        assert audit.verify(conn).ok


def _holding_sqlite_write_lock(path: Path, seconds: float) -> threading.Thread:
    """Another connection holding SQLite's write lock for ``seconds``, from now on."""
    taken = threading.Event()

    def hold() -> None:
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("BEGIN IMMEDIATE")
        taken.set()
        time.sleep(seconds)
        con.execute("ROLLBACK")
        con.close()

    holder = threading.Thread(target=hold)
    holder.start()
    taken.wait()
    return holder


def test_sqlite_an_unchanged_sheet_takes_no_write_lock(tmp_path: Path) -> None:
    registry, sheet = tmp_path / "r.db", tmp_path / "s.csv"
    write_sheet_file(300, sheet)
    engine = open_database(str(registry))
    import_sheet(engine, sheet)
    holder = _holding_sqlite_write_lock(registry, 15)
    started = time.monotonic()
    again = import_sheet(engine, sheet)  # while another connection holds the lock
    assert time.monotonic() - started < 15
    holder.join()
    assert (len(again.created), len(again.unchanged)) == (0, 300)
    engine.dispose()


def test_sqlite_an_import_refused_the_lock_starts_again_holding_it(tmp_path: Path) -> None:
    """Its first write finds another writer (SQLite refuses at once, no waiting): the import
    is redone with the lock taken at its start, waiting for the other writer."""
    registry, sheet = tmp_path / "r.db", tmp_path / "s.csv"
    write_sheet_file(300, sheet)
    engine = open_database(str(registry))
    holder = _holding_sqlite_write_lock(registry, 2)
    summary = import_sheet(engine, sheet)
    holder.join()
    assert len(summary.created) == 300
    with engine.connect() as conn:
        assert audit.verify(conn).ok
    engine.dispose()
