"""Where a number came from: a fingerprint of the analysed data, and the versions.

The fingerprint is SHA-256 over the analysed records in a canonical binary form:
patients, then their visits, rows sorted by every column, columns in name order.
Each column is hashed whole, as its name, its null mask and then its values: whole
numbers as little-endian int64 (decimals scaled by their dictionary field, dates as
days since 1970, booleans 0/1), text as UTF-8 with every value's length. A visit is
tied to its patient by the patient's rank among the sorted patients, not by a storage
id, so the same data in another database gives the same fingerprint, and any change
to an analysed value changes it. Polars and NumPy do the work, column by column.
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import polars as pl

from sijreg import __version__
from sijreg.analysis.cohort import Cohort
from sijreg.analysis.describe import PATIENT_KEY
from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import Protocol
from sijreg.domain.types import Kind


def _scale(name: str) -> int:
    try:
        f = dd.field(name)
    except KeyError:
        return 1
    return f.scale if f.kind is Kind.DECIMAL else 1


def _canonical(frame: pl.DataFrame) -> pl.DataFrame:
    """Every column as exact whole numbers (Int64) or text, columns in name order."""
    columns: list[pl.Expr] = []
    for name in sorted(frame.columns):
        dtype, col = frame.schema[name], pl.col(name)
        if dtype.is_float():
            columns.append((col * _scale(name)).round().cast(pl.Int64).alias(name))
        elif dtype.is_numeric() or dtype in (pl.Boolean, pl.Date):
            columns.append(col.cast(pl.Int64).alias(name))
        else:
            columns.append(col.cast(pl.String).alias(name))
    return frame.select(columns)


def _digest(digest: Any, section: str, frame: pl.DataFrame) -> None:
    digest.update(f"{section}:{frame.height}\n".encode())
    for name in frame.columns:
        column = frame.get_column(name)
        digest.update(name.encode() + b"\0")
        digest.update(np.packbits(column.is_null().to_numpy()).tobytes())
        if column.dtype == pl.Int64:
            digest.update(column.fill_null(0).to_numpy().astype("<i8").tobytes())
        else:
            text = column.fill_null("")
            digest.update(text.str.len_bytes().to_numpy().astype("<i8").tobytes())
            digest.update(text.str.join("").item().encode())


def fingerprint(cohort: Cohort) -> str:
    """'sha256:…' over the analysed patients and their visits (see the module docstring)."""
    patients = _canonical(cohort.frame.drop(PATIENT_KEY)).with_columns(
        pl.struct(pl.all()).rank("dense").alias("_patient")
    )
    digest = hashlib.sha256()
    # The rank orders patients as sorting by every column would; equal ranks are equal rows.
    _digest(digest, "patients", patients.sort("_patient").drop("_patient"))
    if cohort.visits.height:
        keyed = cohort.frame.select(PATIENT_KEY, patients.get_column("_patient"))
        visits = _canonical(cohort.visits.join(keyed, on=PATIENT_KEY).drop(PATIENT_KEY))
        ordered = visits.sort("_patient", "visit_date")
        if ordered.select(pl.struct("_patient", "visit_date").is_duplicated().any()).item():
            ordered = visits.sort(visits.columns, nulls_last=True)  # identical patients' visits
        _digest(digest, "visits", ordered)
    return "sha256:" + digest.hexdigest()


def protocol_label(protocol: Protocol | None) -> str:
    """'seed-study-2021 1 (sha256 0123456789ab)': the protocol that judged the screenings."""
    if protocol is None:
        return "none"
    return f"{protocol.id} {protocol.version} (sha256 {protocol.sha256[:12]})"


def provenance(
    cohort: Cohort, settings: dict[str, object], protocol: Protocol | None = None
) -> dict[str, object]:
    """The block every report and export carries."""
    return {
        "data_fingerprint": fingerprint(cohort),
        "software": {"name": "sijreg", "version": __version__},
        "protocol_version": protocol_label(protocol),
        "settings": settings,
    }
