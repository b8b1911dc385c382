"""A data freeze: the registry's analysis data locked in files, to report from later.

Registries analyse a frozen copy ("data lock"): the annual report, a paper's revision
and a reviewer's re-run must see the same patients even though sites go on entering
data. A freeze is a folder holding the two frames the analyses read
(``analysis.cohort.Registry``) and the screening log, as Parquet files any
statistics package opens, with ``manifest.json``: when and from which registry it
was made, by which sijreg, and each file's SHA-256, checked on every read so a
changed file is refused. It holds what the registry holds for analysis and no more
(no study ids, no birth years); it is as confidential as the registry itself.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import polars as pl

from sijreg import __version__
from sijreg.analysis.cohort import POLARS_TYPES, Registry, registry_schema, select_cohort
from sijreg.analysis.flow import Screened
from sijreg.analysis.methods import DEFAULT_MIN_FOLLOWUP_DAYS
from sijreg.analysis.provenance import fingerprint
from sijreg.analysis.snapshot import Snapshot, read_snapshot
from sijreg.domain.dictionary import SCREENING
from sijreg.domain.schedule import DEFAULT_WINDOWS, parse_windows, windows_text

if TYPE_CHECKING:
    import sqlalchemy as sa

FORMAT = "sijreg.freeze"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
ENROLLED = "enrolled"
FILES = ("patients.parquet", "visits.parquet", "screenings.parquet")
_KEYS = ("id", "created_at", "database", "note", "software", "audit_head")


class FreezeError(ValueError):
    """A freeze cannot be made or read; the message names the folder and the reason."""


@dataclass(frozen=True)
class Freeze:
    """A freeze as read back: the registry's state it holds, and its manifest."""

    snapshot: Snapshot
    manifest: dict[str, Any]

    @property
    def described(self) -> dict[str, Any]:
        """What a report made from this freeze records of it in its provenance."""
        return {key: self.manifest[key] for key in _KEYS if key != "audit_head"}


def _screenings_schema() -> pl.Schema:
    return pl.Schema(
        {f.name: POLARS_TYPES[f.kind] for f in SCREENING.fields} | {ENROLLED: pl.Boolean()}
    )


def _screenings_frame(screenings: Sequence[Screened]) -> pl.DataFrame:
    rows = [{**values, ENROLLED: enrolled} for values, enrolled in screenings]
    return pl.DataFrame(rows, schema=_screenings_schema(), orient="row")


def manifest_id(manifest: Mapping[str, Any]) -> str:
    """A freeze's id: the start of the SHA-256 of its manifest (all but the id), which holds
    every file's SHA-256, so the id names the data and an edited manifest is found."""
    rest = {key: value for key, value in manifest.items() if key != "id"}
    return hashlib.sha256(json.dumps(rest, sort_keys=True).encode()).hexdigest()[:16]


def _sha256(path: Path) -> str:
    with path.open("rb") as file:
        return hashlib.file_digest(file, "sha256").hexdigest()


def write_freeze(engine: sa.Engine, path: Path, database: str, note: str = "") -> dict[str, Any]:
    """Freeze the registry behind ``engine`` into the new folder ``path``; return the manifest.

    The folder is written beside its final place and renamed at the end, so a failed
    freeze leaves nothing behind; an existing ``path`` is never overwritten.
    """
    if path.exists():
        raise FreezeError(f"{path} already exists: a freeze is never overwritten")
    snapshot = read_snapshot(engine)
    registry = snapshot.registry
    frames = dict(
        zip(
            FILES,
            (registry.patients, registry.visits, _screenings_frame(snapshot.screenings)),
            strict=True,
        )
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}-", dir=path.parent))
    try:
        for name, frame in frames.items():
            frame.write_parquet(staging / name)
        files = {
            name: {"sha256": _sha256(staging / name), "rows": frame.height}
            for name, frame in frames.items()
        }
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "database": database,
            "note": note,
            "software": {"name": "sijreg", "version": __version__},
            "audit_head": snapshot.audit_head,
            "visit_windows": windows_text(snapshot.visit_windows),
            "files": files,
            "data_fingerprints": {  # the default cohort's, as every report from it publishes
                str(DEFAULT_MIN_FOLLOWUP_DAYS): fingerprint(select_cohort(registry))
            },
        }
        manifest = {"id": manifest_id(manifest), **manifest}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        for file in staging.iterdir():
            file.chmod(0o444)  # locked: a freeze is read, never edited
        staging.chmod(0o755)  # mkdtemp made it private to its owner
        os.rename(staging, path)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return manifest


def _manifest(path: Path) -> dict[str, Any]:
    try:
        manifest = json.loads((path / MANIFEST).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FreezeError(f"{path} is not a sijreg freeze (no {MANIFEST})") from None
    except (OSError, json.JSONDecodeError) as error:
        raise FreezeError(f"cannot read {path / MANIFEST}: {error}") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        raise FreezeError(f"{path / MANIFEST} is not a sijreg freeze manifest")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise FreezeError(
            f"{path} is a freeze of format version {manifest.get('format_version')}; "
            f"this sijreg ({__version__}) reads version {FORMAT_VERSION}"
        )
    files = manifest.get("files")
    if not isinstance(files, dict) or not all(
        isinstance(files.get(name), dict) and "sha256" in files[name] for name in FILES
    ):
        raise FreezeError(f"{path / MANIFEST} does not list the freeze's files")
    missing = [key for key in _KEYS if key not in manifest]
    if missing:
        raise FreezeError(f"{path / MANIFEST} lacks {', '.join(missing)}")
    if manifest["id"] != manifest_id(manifest):
        raise FreezeError(f"freeze {path}: {MANIFEST} was edited after the freeze (its id differs)")
    return manifest


def _coded_choices(frame: pl.DataFrame, schema: pl.Schema, where: str) -> pl.DataFrame:
    """Choices stored as text (freezes made before choices were Enums) as the Enum expected."""
    text = [
        name
        for name, dtype in schema.items()
        if isinstance(dtype, pl.Enum) and frame.schema.get(name) == pl.String
    ]
    try:
        return frame.with_columns(pl.col(name).cast(schema[name]) for name in text)
    except pl.exceptions.InvalidOperationError as error:
        raise FreezeError(f"{where} holds a value its dictionary does not allow: {error}") from None


def _checked(path: Path, name: str, manifest: Mapping[str, Any], schema: pl.Schema) -> pl.DataFrame:
    """One frozen file, refused if it changed since the freeze or does not fit this sijreg."""
    file = path / name
    if not file.is_file():
        raise FreezeError(f"freeze {path}: {name} is missing")
    if _sha256(file) != manifest["files"][name]["sha256"]:
        raise FreezeError(f"freeze {path}: {name} was changed after the freeze (SHA-256 differs)")
    frame = _coded_choices(pl.read_parquet(file), schema, f"freeze {path}: {name}")
    if frame.schema != schema:
        found = frame.schema
        differ = [
            f"{column} ({found.get(column, 'missing')}, expected {schema.get(column, 'none')})"
            for column in dict.fromkeys([*schema, *found])
            if found.get(column) != schema.get(column)
        ]
        raise FreezeError(
            f"freeze {path}: {name} has other columns than this sijreg ({__version__}) "
            f"analyses: {', '.join(differ)}; it was made by sijreg "
            f"{manifest['software']['version']}: make a new freeze"
        )
    return frame


def read_freeze(path: Path) -> Freeze:
    """Read and check the freeze in ``path`` (FreezeError says what is wrong)."""
    manifest = _manifest(path)
    patients_schema, visits_schema = registry_schema()
    schemas = (patients_schema, visits_schema, _screenings_schema())
    patients, visits, screenings = (
        _checked(path, name, manifest, schema) for name, schema in zip(FILES, schemas, strict=True)
    )
    log = [
        ({k: v for k, v in row.items() if k != ENROLLED}, bool(row[ENROLLED]))
        for row in screenings.iter_rows(named=True)
    ]
    # A freeze made before the windows were a registry setting was counted by the defaults.
    windows = manifest.get("visit_windows")
    return Freeze(
        Snapshot(
            Registry(patients, visits, _fingerprints(manifest)),
            log,
            manifest["audit_head"],
            DEFAULT_WINDOWS if windows is None else parse_windows(windows),
        ),
        manifest,
    )


def _fingerprints(manifest: Mapping[str, Any]) -> dict[int, str]:
    """The fingerprints the manifest states, when this version of sijreg wrote it (another
    version computes its own: a fingerprint must mean the same rows however it is read)."""
    if manifest["software"].get("version") != __version__:
        return {}
    stated = manifest.get("data_fingerprints", {})
    return {int(days): str(value) for days, value in stated.items()}
