"""The store: migrations equal the dictionary's schema, SQLite runs in WAL, saves merge."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sijreg.domain.records import PatientRecord
from sijreg.store import schema
from sijreg.store.database import (
    SCHEMA_REVISION,
    alembic_config,
    current_revision,
    open_database,
    resolve_url,
)
from sijreg.store.errors import DatabaseError
from sijreg.store.writer import save_patients


def test_migrations_build_exactly_the_dictionary_schema(engine: sa.Engine) -> None:
    with engine.connect() as conn:
        diff = compare_metadata(
            MigrationContext.configure(conn, opts={"compare_type": True}), schema.metadata
        )
    assert diff == []


def test_the_known_schema_revision_is_alembics_head(engine: sa.Engine) -> None:
    head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
    assert head == SCHEMA_REVISION
    with engine.connect() as conn:
        assert current_revision(conn) == head


def test_sqlite_file_uses_wal(tmp_path: Path) -> None:
    engine = open_database(str(tmp_path / "r.db"))
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    engine.dispose()


def test_url_resolution(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SIJREG_DATABASE_URL", raising=False)
    monkeypatch.chdir(tmp_path)
    assert resolve_url().database == str(tmp_path / "sijreg.db")
    monkeypatch.setenv("SIJREG_DATABASE_URL", "postgresql://u@h/db")
    assert resolve_url().drivername == "postgresql+psycopg"
    assert resolve_url("x.db").database == str(tmp_path / "x.db")
    with pytest.raises(DatabaseError, match="unsupported database"):
        resolve_url("mysql://u@h/db")


def test_missing_folder_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(DatabaseError, match="does not exist"):
        open_database(str(tmp_path / "nowhere" / "r.db"))


def _record(relief: str = "70", visit_day: int = 30) -> PatientRecord:
    return PatientRecord(
        site_code="S1",
        patient={"study_id": "P1", "sex": "F", "age": 70, "bmi": Decimal("30.5"), "fbss": True},
        fusion={"fusion_date": date(2020, 1, 1)},
        prior_procedures=[{"procedure": "scs"}, {"procedure": "rfa"}],
        visits=[{"visit_date": date(2020, 4, visit_day), "pain_relief_pct": Decimal(relief)}],
    )


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def test_saving_twice_creates_once_then_merges(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        first = save_patients(conn, [_record()], owned_procedures=("scs", "iss"))
    with engine.begin() as conn:
        again = save_patients(conn, [_record()], owned_procedures=("scs", "iss"))
    with engine.begin() as conn:
        changed = _record(relief="75.5")
        changed.prior_procedures = [{"procedure": "iss"}]
        third = save_patients(conn, [changed], owned_procedures=("scs", "iss"))
        assert (first.created, again.unchanged, third.updated) == (["S1/P1"], ["S1/P1"], ["S1/P1"])
        assert _count(conn, schema.patient) == 1
        relief, version = conn.execute(
            sa.select(schema.visit.c.pain_relief_pct, schema.visit.c.version)
        ).one()
        assert (relief, version) == (Decimal("75.5"), 2)
        procedures = sorted(conn.execute(sa.select(schema.prior_procedure.c.procedure)).scalars())
        assert procedures == ["iss", "rfa"]  # rfa is not owned by the source: kept


def test_decimals_come_back_exactly(engine: sa.Engine) -> None:
    record = _record(relief="33.3")
    record.patient["bmi"] = Decimal("27.1")
    with engine.begin() as conn:
        save_patients(conn, [record])
        assert conn.execute(sa.select(schema.patient.c.bmi)).scalar_one() == Decimal("27.1")
        assert conn.execute(sa.select(schema.visit.c.pain_relief_pct)).scalar_one() == Decimal(
            "33.3"
        )


def test_bulk_reads_see_what_was_just_committed(engine: sa.Engine) -> None:
    """The Arrow reader must not serve a stale file while changes sit in SQLite's WAL."""
    from sijreg.store.frames import read_frames

    def count() -> int:
        return read_frames(engine, [sa.select(schema.patient.c.id)])[0].height

    with engine.begin() as conn:
        save_patients(conn, [_record()])
    assert count() == 1
    second = _record()
    second.patient["study_id"] = "P2"
    with engine.begin() as conn:
        save_patients(conn, [second])
    assert count() == 2
