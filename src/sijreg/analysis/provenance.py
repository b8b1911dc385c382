"""Where a number came from: a fingerprint of the analysed data, and the versions.

The fingerprint is SHA-256 over the analysed records in a canonical text form: one
line per patient and per visit, columns in name order, values exact (decimals as
scaled whole numbers, dates ISO, booleans 0/1, missing as ``\\N``), lines sorted.
Storage ids are left out, so the same data in another database gives the same
fingerprint; any change to an analysed value changes it. Polars builds the text.
"""

from __future__ import annotations

import hashlib

import polars as pl

from sijreg import __version__
from sijreg.analysis.cohort import Cohort
from sijreg.analysis.describe import PATIENT_KEY
from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import Protocol
from sijreg.domain.types import Kind

NULL = "\\N"


def _scale(name: str) -> int:
    try:
        f = dd.field(name)
    except KeyError:
        return 1
    return f.scale if f.kind is Kind.DECIMAL else 1


def _canonical(frame: pl.DataFrame) -> pl.Series:
    """One text line per row: name=value for every column, in name order."""
    columns = sorted(frame.columns)
    parts: list[pl.Expr] = []
    for name in columns:
        dtype = frame.schema[name]
        col = pl.col(name)
        if dtype.is_float():
            text = (col * _scale(name)).round().cast(pl.Int64).cast(pl.String)
        elif dtype == pl.Boolean:
            text = col.cast(pl.Int8).cast(pl.String)
        else:
            text = col.cast(pl.String)
        parts.append(pl.lit(name + "=") + text.fill_null(NULL))
    return frame.select(pl.concat_str(parts, separator="\t").alias("line")).get_column("line")


def fingerprint(cohort: Cohort) -> str:
    """'sha256:…' over the analysed patients and their visits (see the module docstring)."""
    # Visits are tied to their patient by the patient's own canonical line, not the id.
    patients = cohort.frame.with_columns(_canonical(cohort.frame.drop(PATIENT_KEY)).alias("_line"))
    lines = patients.get_column("_line").sort()
    text = "patients\n" + lines.str.join("\n").item()
    if cohort.visits.height:
        visits = cohort.visits.join(
            patients.select(PATIENT_KEY, pl.col("_line").alias("_patient")), on=PATIENT_KEY
        )
        visit_lines = _canonical(visits.drop(PATIENT_KEY, "_patient"))
        keyed = (visits.get_column("_patient") + "\t|\t" + visit_lines).sort()
        text += "\nvisits\n" + keyed.str.join("\n").item()
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


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
