"""The record-level, de-identified analysis file: one row per analysed patient.

What happens to each column is read from the data dictionary's Disclosure flags,
never from a list here: a pseudonym (and the storage id) gives way to an analysis
id, dates become days since the fusion (the fusion date itself, always 0, keeps only
its year; a date whose day count is already a variable, such as the last follow-up's,
is not repeated), ages are top-coded at 90 ("90+", an unknown age stays unknown), free
text is dropped. Variable and value labels, decimals and SPSS measurement levels come
from the dictionary too. Formats: CSV, Parquet and SPSS .sav. The server's pooled
export is this file too (``plain``), so a record leaves sijreg by one policy.
"""

from __future__ import annotations

import json
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from sijreg.analysis.cohort import Cohort
from sijreg.analysis.describe import PATIENT_KEY
from sijreg.analysis.variables import SITE, VARIABLES
from sijreg.domain import dictionary as dd
from sijreg.domain.types import AGE_TOP_CODE, Disclosure, Field, Kind

AGE_TOP_LABEL = f"{AGE_TOP_CODE}+"
ANALYSIS_ID = "analysis_id"
REFERENCE_DATE = "fusion_date"
REFERENCE_YEAR = "fusion_year"
FORMATS = ("csv", "parquet", "sav")
MEASURES: dict[Kind, str] = {
    Kind.INTEGER: "scale",
    Kind.DECIMAL: "scale",
    Kind.DATE: "scale",  # exported as days since the fusion, or the fusion's year
    Kind.BOOLEAN: "nominal",
    Kind.CHOICE: "nominal",
    Kind.TEXT: "nominal",
}
"""SPSS measurement level of each kind of dictionary field (no choice field is ordered)."""
SAV_NOTE_WIDTH = 80
"""An SPSS document line holds at most 80 characters."""
SAV_FILE_LABEL = "sijreg de-identified analysis file"


def _field(name: str) -> Field | None:
    if name == SITE.name:
        return dd.field("site_code")
    try:
        return dd.field(name)
    except KeyError:
        return None


def disclosure(name: str) -> Disclosure:
    """How a cohort column is treated: its field's flag; derived dates count as dates."""
    if name == PATIENT_KEY:
        return Disclosure.PSEUDONYM
    f = _field(name)
    if f is not None:
        return f.disclosure
    return Disclosure.DATE if VARIABLES[name].kind is Kind.DATE else Disclosure.NONE


def _label(name: str) -> str:
    f = _field(name)
    if name == SITE.name or f is None:
        return VARIABLES[name].label
    return f.label


@dataclass(frozen=True)
class AnalysisFile:
    frame: pl.DataFrame
    labels: dict[str, str | None]
    value_labels: dict[str, dict[Any, str]]
    decimals: dict[str, int]
    """Decimals of every numeric column (0 for whole numbers), from the dictionary."""
    measures: dict[str, str]
    """SPSS measurement level of every column: nominal or scale."""


def _seed(fingerprint: str) -> int:
    return int(fingerprint.split(":")[-1][:16], 16)


def build(cohort: Cohort, fingerprint: str) -> AnalysisFile:
    """The de-identified frame with its labels; row order and ids are shuffled per data state."""
    frame = cohort.frame
    columns: list[pl.Expr] = []
    labels: dict[str, str | None] = {ANALYSIS_ID: "Analysis id (this export only)"}
    value_labels: dict[str, dict[Any, str]] = {}
    decimals: dict[str, int] = {ANALYSIS_ID: 0}
    measures: dict[str, str] = {ANALYSIS_ID: "nominal"}
    counted = {v.days_of for v in VARIABLES.values() if v.days_of}
    for name in frame.columns:
        how = disclosure(name)
        if how in (Disclosure.PSEUDONYM, Disclosure.FREE_TEXT):
            continue
        kind, f = VARIABLES[name].kind, _field(name)
        if name == REFERENCE_DATE:  # no date finer than a year; every other one counts from it
            columns.append(pl.col(name).dt.year().cast(pl.Int64).alias(REFERENCE_YEAR))
            labels[REFERENCE_YEAR] = f"{_label(name)}: year"
            decimals[REFERENCE_YEAR], measures[REFERENCE_YEAR] = 0, MEASURES[kind]
            continue
        if how is Disclosure.DATE:
            if name in counted:  # its day count is a column already
                continue
            days = f"{name.removesuffix('_date')}_days"
            columns.append(
                (pl.col(name) - pl.col(REFERENCE_DATE)).dt.total_days().cast(pl.Int64).alias(days)
            )
            labels[days] = f"{_label(name)}: days since fusion"
            decimals[days], measures[days] = 0, MEASURES[kind]
            continue
        measures[name] = MEASURES[kind]
        if kind in (Kind.INTEGER, Kind.DECIMAL, Kind.BOOLEAN):
            decimals[name] = VARIABLES[name].decimals
        if how is Disclosure.AGE:  # a missing age stays missing
            column = pl.col(name)
            columns.append(
                pl.when(column >= AGE_TOP_CODE)
                .then(pl.lit(AGE_TOP_CODE, dtype=frame.schema[name]))
                .otherwise(column)
                .alias(name)
            )
            labels[name] = f"{_label(name)} (top-coded: {AGE_TOP_CODE} means {AGE_TOP_LABEL})"
            value_labels[name] = {AGE_TOP_CODE: AGE_TOP_LABEL}
            continue
        if kind is Kind.BOOLEAN:
            columns.append(pl.col(name).cast(pl.Int8))
            value_labels[name] = {0: "no", 1: "yes"}
        elif isinstance(frame.schema[name], pl.Enum):  # the codes as text, in every format
            columns.append(pl.col(name).cast(pl.String))
        else:
            columns.append(pl.col(name))
        labels[name] = _label(name)
        if f is not None and f.kind is Kind.CHOICE:
            value_labels[name] = {c.code: c.label for c in f.choices}
    out = frame.select(columns)
    out = out.sort(out.columns, nulls_last=True)
    order = np.random.Generator(np.random.PCG64(_seed(fingerprint))).permutation(out.height)
    out = out[order.tolist()] if out.height else out
    out = out.select(pl.int_range(1, out.height + 1, dtype=pl.Int64).alias(ANALYSIS_ID), pl.all())
    return AnalysisFile(out, labels, value_labels, decimals, measures)


def plain(file: AnalysisFile) -> pl.DataFrame:
    """The rows as plain values, for CSV and JSON: top-coded ages read "90+"."""
    age = [c for c, labels in file.value_labels.items() if AGE_TOP_LABEL in labels.values()]
    return file.frame.with_columns(
        pl.when(pl.col(c) >= AGE_TOP_CODE)
        .then(pl.lit(AGE_TOP_LABEL))
        .otherwise(pl.col(c).cast(pl.String))
        .alias(c)
        for c in age
    )


def _words(value: object) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{str(k).replace('_', ' ')}: {_words(v)}" for k, v in value.items())
    if isinstance(value, list):
        return ", ".join(_words(v) for v in value) or "none"
    return "none" if value is None else str(value)


def provenance_note(provenance: dict[str, object]) -> list[str]:
    """The provenance as sentences for a person, in lines of at most 80 characters (an SPSS
    document line) broken between words: each item starts a line."""
    lines = [f"Made by sijreg from the data state below ({SAV_FILE_LABEL})."]
    for key, value in provenance.items():
        lines += textwrap.wrap(
            f"{key.replace('_', ' ').capitalize()}: {_words(value)}",
            SAV_NOTE_WIDTH,
            break_long_words=False,
            break_on_hyphens=False,
        )
    if any(len(line) > SAV_NOTE_WIDTH for line in lines):  # a word longer than a line
        raise ValueError("the provenance holds a word longer than an SPSS document line")
    return lines


def write(file: AnalysisFile, path: Path, fmt: str, provenance: dict[str, object]) -> Path:
    """Write ``file`` as csv, parquet or sav; the provenance goes in the file or beside it."""
    stamp = json.dumps(provenance, sort_keys=True)
    if fmt == "csv":
        plain(file).write_csv(path)
        path.with_suffix(".provenance.json").write_text(stamp + "\n", encoding="utf-8")
    elif fmt == "parquet":
        file.frame.write_parquet(
            path,
            metadata={
                "sijreg.provenance": stamp,
                "sijreg.labels": json.dumps(file.labels),
                "sijreg.value_labels": json.dumps(
                    {k: {str(c): v for c, v in vl.items()} for k, vl in file.value_labels.items()}
                ),
            },
        )
    elif fmt == "sav":
        import pyreadstat

        text = [n for n, t in file.frame.schema.items() if t == pl.String]
        pyreadstat.write_sav(
            file.frame,
            str(path),
            file_label=SAV_FILE_LABEL,
            column_labels=file.labels,
            variable_value_labels=file.value_labels,
            variable_format={name: f"F8.{d}" for name, d in file.decimals.items()},
            variable_measure=file.measures,
            missing_ranges={name: [""] for name in text},  # a blank code is unknown
            note=provenance_note(provenance),
        )
    else:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    return path
