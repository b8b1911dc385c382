"""Data freezes: made from either database, reported from later, refused when altered."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import polars as pl
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from sijreg.analysis import snapshot
from sijreg.analysis.cohort import read_registry, registry_schema, select_cohort
from sijreg.analysis.flow import Screened, read_screenings
from sijreg.analysis.provenance import computed_fingerprint
from sijreg.cli.analysis import database_source
from sijreg.cli.app import app
from sijreg.domain.records import PatientRecord
from sijreg.interop import freeze
from sijreg.interop.freeze import FreezeError, manifest_id, read_freeze
from sijreg.store import audit
from sijreg.store.database import open_database
from sijreg.store.errors import DatabaseError
from sijreg.store.writer import save_patients
from sijreg.synthetic.followup_demo import PATIENTS_PER_SITE
from sijreg.synthetic.seed_study import SITES
from tests.helpers import read_tables

DEMO_PATIENTS = 117 + PATIENTS_PER_SITE * len(SITES)
"""The seed study's patients and the demo's recent follow-up cohort."""

runner = CliRunner()


def _invoke(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def _refused(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    return " ".join(result.output.split())


def _report(out: Path, *source: str) -> dict[str, Any]:
    _invoke("report", *source, "-o", str(out), "-q", "--compare", "fbss", "--ci")
    document: dict[str, Any] = read_tables(out)
    return document


def _without_freeze(document: dict[str, Any]) -> dict[str, Any]:
    provenance = {k: v for k, v in document["provenance"].items() if k != "freeze"}
    return document | {"provenance": provenance}


def test_a_report_from_a_freeze_is_the_registrys_report_then(
    database_url: str, tmp_path: Path
) -> None:
    _invoke("demo", "-d", database_url, "-o", str(tmp_path / "demo"), "-q")
    freeze = tmp_path / "freeze-2026"
    output = _invoke("freeze", str(freeze), "-d", database_url, "--note", "annual report 2026")
    assert f"{DEMO_PATIENTS} patients" in output
    assert "142 screenings" in output
    live = _report(tmp_path / "live", "-d", database_url)
    frozen = _report(tmp_path / "frozen", "--freeze", str(freeze))
    assert frozen["flow"]["screened"] > 0  # the screening log is frozen too
    assert "data_quality" not in frozen  # a freeze holds no data queries: the live state only
    assert _without_freeze(frozen) == {k: v for k, v in live.items() if k != "data_quality"}
    stamp = frozen["provenance"]["freeze"]
    manifest = json.loads((freeze / "manifest.json").read_text())
    assert stamp["id"] == manifest["id"]
    assert stamp["note"] == "annual report 2026"
    assert frozen["completeness"]["as_of"] == manifest["created_at"][:10]  # the freeze's day
    shown = f"freeze {stamp['id']} of {stamp['created_at'][:10]}"
    assert shown in (tmp_path / "frozen" / "report.html").read_text()
    assert shown in (tmp_path / "frozen" / "tables.md").read_text()
    assert "· freeze" not in (tmp_path / "live" / "tables.md").read_text()
    assert frozen["database"] == live["database"] == manifest["database"]
    assert "freeze" not in live["provenance"]
    engine = open_database(database_url)
    with engine.connect() as conn:  # both read the state after this entry
        head = audit.head(conn)
    engine.dispose()
    assert head is not None
    assert live["provenance"]["audit_head"] == {"entry": head[0], "hash": head[1]}
    assert manifest["audit_head"] == live["provenance"]["audit_head"]

    engine = open_database(database_url)
    with engine.begin() as conn:  # a site goes on entering data after the freeze
        conn.execute(sa.text("UPDATE visit SET pain_relief_pct = 0"))
    engine.dispose()
    later = _report(tmp_path / "later", "-d", database_url)
    again = _report(tmp_path / "again", "--freeze", str(freeze))
    assert later["table2"] != live["table2"]
    assert later["provenance"]["data_fingerprint"] != live["provenance"]["data_fingerprint"]
    assert again == frozen

    # Every cohort choice still works from a freeze: the cohort is chosen when reporting.
    longer = ["--min-followup-days", "365", "--subgroup", "sex"]
    _invoke("report", "--freeze", str(freeze), "-o", str(tmp_path / "f365"), "-q", *longer)
    f365 = read_tables(tmp_path / "f365")
    assert f365["cohort"]["analysed"] < frozen["cohort"]["analysed"]
    assert f365["settings"]["min_followup_days"] == 365

    # The exports read a freeze too, and record it.
    _invoke("export", "tables", "-f", "csv", "--freeze", str(freeze), "-o", str(tmp_path / "t"))
    tables_stamp = json.loads((tmp_path / "t" / "provenance.json").read_text())
    assert tables_stamp["freeze"]["id"] == manifest["id"]
    data = tmp_path / "analysis.parquet"
    _invoke("export", "data", "-f", "parquet", "--freeze", str(freeze), "-o", str(data))
    meta = pl.read_parquet_metadata(data)
    data_stamp = json.loads(meta["sijreg.provenance"])
    assert data_stamp["freeze"]["id"] == manifest["id"]
    assert data_stamp["data_fingerprint"] == frozen["provenance"]["data_fingerprint"]

    # The freeze states its default cohort's fingerprint, the one computed from its rows;
    # a manifest of another sijreg version is not taken at its word.
    cohort = select_cohort(read_freeze(freeze).snapshot.registry)
    assert cohort.known_fingerprint == manifest["data_fingerprints"]["90"]
    assert computed_fingerprint(cohort) == live["provenance"]["data_fingerprint"]
    assert select_cohort(read_freeze(freeze).snapshot.registry, 365).known_fingerprint is None
    other = tmp_path / "other-version"
    shutil.copytree(freeze, other)
    other.chmod(0o755)
    stated = manifest | {"software": {"name": "sijreg", "version": "0.0.1"}}
    stated["data_fingerprints"] = {"90": "sha256:" + "0" * 64}
    stated["id"] = manifest_id(stated)
    (other / "manifest.json").chmod(0o644)
    (other / "manifest.json").write_text(json.dumps(stated))
    assert (
        _report(tmp_path / "other", "--freeze", str(other))["provenance"]["data_fingerprint"]
        == live["provenance"]["data_fingerprint"]
    )


def test_the_frozen_frames_have_the_analysis_columns(engine: sa.Engine, tmp_path: Path) -> None:
    """Empty or not, on either database, the registry reads as the schema a freeze checks."""
    patients, visits = registry_schema()
    registry = read_registry(engine)
    assert registry.patients.schema == patients
    assert registry.visits.schema == visits


def _frozen_demo(tmp_path: Path) -> Path:
    database = str(tmp_path / "registry.db")
    _invoke("demo", "-d", database, "-o", str(tmp_path / "demo"), "-q")
    freeze = tmp_path / "freeze"
    _invoke("freeze", str(freeze), "-d", database)
    return freeze


def test_a_report_from_a_freeze_loads_no_database_stack(tmp_path: Path) -> None:
    # The freeze's own report reads no database: SQLAlchemy, the store's modules and the
    # Arrow reader are never imported (a tenth of a second of each report at any size).
    freeze = _frozen_demo(tmp_path)
    command = [sys.executable, "-X", "importtime", "-m", "sijreg", "report"]
    command += ["--freeze", str(freeze), "-o", str(tmp_path / "r"), "-q", "--compare", "fbss"]
    run = subprocess.run(command, capture_output=True, text=True, check=True)
    imported = {line.rsplit("|", 1)[-1].strip() for line in run.stderr.splitlines()}
    assert (tmp_path / "r" / "report.html").exists()
    assert "sijreg.report.document" in imported  # the imports were listed
    loaded = {m for m in imported if m.split(".")[0] in ("sqlalchemy", "connectorx", "psycopg")}
    assert not loaded
    light = {"sijreg.store.errors", "sijreg.store.roles"}  # no database code in either
    assert not {m for m in imported if m.startswith("sijreg.store.")} - light


def _rewrite(path: Path, frame: pl.DataFrame) -> None:
    path.chmod(0o644)
    frame.write_parquet(path)


def test_a_freeze_is_never_overwritten_and_an_altered_one_is_refused(tmp_path: Path) -> None:
    freeze = _frozen_demo(tmp_path)
    manifest = (freeze / "manifest.json").read_text()
    message = _refused("freeze", str(freeze), "-d", str(tmp_path / "registry.db"))
    assert "already exists: a freeze is never overwritten" in message
    assert (freeze / "manifest.json").read_text() == manifest
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".freeze-")]  # no staging left
    read_freeze(freeze)  # intact

    patients = freeze / "patients.parquet"
    original = pl.read_parquet(patients)
    _rewrite(patients, original.with_columns(pl.col("age") + 1))
    message = _refused("report", "--freeze", str(freeze), "-o", str(tmp_path / "r"))
    assert "patients.parquet was changed after the freeze (SHA-256 differs)" in message
    assert not (tmp_path / "r").exists()

    # A changed file with its manifest edited to match: the freeze's id gives it away.
    stamp = json.loads(manifest)
    stamp["files"]["patients.parquet"]["sha256"] = hashlib.sha256(patients.read_bytes()).hexdigest()
    (freeze / "manifest.json").chmod(0o644)
    (freeze / "manifest.json").write_text(json.dumps(stamp))
    with pytest.raises(FreezeError, match=r"manifest\.json was edited after the freeze"):
        read_freeze(freeze)

    # A consistent freeze whose columns are not those this sijreg analyses (another version).
    _rewrite(patients, original.drop("bmi"))
    stamp["files"]["patients.parquet"]["sha256"] = hashlib.sha256(patients.read_bytes()).hexdigest()
    stamp["id"] = manifest_id(stamp)
    (freeze / "manifest.json").write_text(json.dumps(stamp))
    with pytest.raises(FreezeError, match=r"other columns .*: bmi \(missing, expected Float64\)"):
        read_freeze(freeze)

    stamp["format_version"] = 99
    (freeze / "manifest.json").write_text(json.dumps(stamp))
    with pytest.raises(FreezeError, match="format version 99"):
        read_freeze(freeze)

    patients.unlink()
    stamp["format_version"] = 1
    (freeze / "manifest.json").write_text(json.dumps(stamp))
    with pytest.raises(FreezeError, match=r"patients\.parquet is missing"):
        read_freeze(freeze)
    message = _refused("report", "--freeze", str(tmp_path / "demo"), "-o", str(tmp_path / "r"))
    assert "is not a sijreg freeze (no manifest.json)" in message
    both = ("--freeze", str(freeze), "-d", str(tmp_path / "registry.db"), "-o", str(tmp_path / "r"))
    assert "give one of them" in _refused("report", *both)


def _restamped(freeze: Path, name: str, frame: pl.DataFrame) -> None:
    """Replace one frozen file and make the manifest consistent with it again."""
    _rewrite(freeze / name, frame)
    stamp = json.loads((freeze / "manifest.json").read_text())
    stamp["files"][name]["sha256"] = hashlib.sha256((freeze / name).read_bytes()).hexdigest()
    stamp["id"] = manifest_id(stamp)
    (freeze / "manifest.json").chmod(0o644)
    (freeze / "manifest.json").write_text(json.dumps(stamp))


def test_a_freeze_with_its_choices_as_text_reads_as_one_with_codes(tmp_path: Path) -> None:
    """Freezes made before choices were Enums hold them as text: they read the same."""
    freeze = _frozen_demo(tmp_path)
    coded = read_freeze(freeze).snapshot.registry.patients
    choices = [name for name, dtype in coded.schema.items() if isinstance(dtype, pl.Enum)]
    assert {"sex", "side", "approach"} <= set(choices)
    as_text = coded.with_columns(pl.col(name).cast(pl.String) for name in choices)
    _restamped(freeze, "patients.parquet", as_text)
    assert read_freeze(freeze).snapshot.registry.patients.equals(coded)

    _restamped(freeze, "patients.parquet", as_text.with_columns(pl.lit("X").alias("sex")))
    with pytest.raises(FreezeError, match=r"patients\.parquet holds a value its dictionary"):
        read_freeze(freeze)


def test_a_freeze_of_a_missing_registry_writes_nothing(tmp_path: Path) -> None:
    freeze = tmp_path / "freeze"
    message = _refused("freeze", str(freeze), "-d", str(tmp_path / "none.db"))
    assert "none.db" in message
    assert not freeze.exists()
    assert list(tmp_path.iterdir()) == []


def _entering_data_while_read(
    monkeypatch: pytest.MonkeyPatch, engine: sa.Engine, times: int, tag: str
) -> list[int]:
    """A coordinator saves a patient (audited, for real) during the first ``times`` reads."""
    reads: list[int] = []

    def reading(target: sa.Engine) -> list[Screened]:
        if len(reads) < times:
            with engine.begin() as conn:
                record = PatientRecord("C1", {"study_id": f"{tag}-{len(reads)}"})
                save_patients(conn, [record], reason="entered during the freeze")
        reads.append(1)
        return read_screenings(target)

    monkeypatch.setattr(snapshot, "read_screenings", reading)
    return reads


def test_reports_and_freezes_read_the_registry_as_of_one_audit_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    database = str(tmp_path / "registry.db")
    _invoke("demo", "-d", database, "-o", str(tmp_path / "demo"), "-q")
    engine = open_database(database)
    reads = _entering_data_while_read(monkeypatch, engine, times=1, tag="FREEZE")
    manifest = freeze.write_freeze(engine, tmp_path / "f", database)
    assert len(reads) == 2  # the first read saw a change under way and was done again
    with engine.connect() as conn:
        head = audit.head(conn)
    assert head is not None
    assert manifest["audit_head"] == {"entry": head[0], "hash": head[1]}
    frozen = freeze.read_freeze(tmp_path / "f").snapshot.registry
    assert frozen.patients.height == DEMO_PATIENTS + 1  # + LATE

    _entering_data_while_read(monkeypatch, engine, times=1, tag="REPORT")
    source = database_source(engine)  # what a report reads, the same way
    with engine.connect() as conn:
        head = audit.head(conn)
    assert head is not None
    assert source.origin == {"audit_head": {"entry": head[0], "hash": head[1]}}
    assert source.snapshot.registry.patients.height == DEMO_PATIENTS + 2  # + LATE, + REPORT

    _entering_data_while_read(monkeypatch, engine, times=snapshot.READ_ATTEMPTS, tag="BUSY")
    with pytest.raises(DatabaseError, match="changed while it was being read, 3 times"):
        freeze.write_freeze(engine, tmp_path / "g", database)
    assert not (tmp_path / "g").exists()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".g-")]  # no staging left
    engine.dispose()
