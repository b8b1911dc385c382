"""Where a number came from: a fingerprint of the analysed data, and the versions.

The fingerprint is SHA-256 over the analysed records in a canonical binary form:
patients, then their visits, columns in name order. Each column is hashed whole, as
its name, its null mask and then its values: whole numbers as little-endian int64
(decimals scaled by their dictionary field, dates as days since 1970, booleans 0/1),
text as its sorted distinct values (UTF-8, each with its length) and every row's
position among them. Rows are put in a canonical order without sorting by every
column: each patient gets a 64-bit key mixed from all its values, patients are
ordered by key (rows with equal keys are identical, checked; were two different
rows ever to share a key, the order falls back to all the columns), and a visit is
tied to its patient by the patient's position in that order, not by a storage id.
So the same data in another database gives the same fingerprint, and any change to
an analysed value changes it. Polars and NumPy do the work, column by column: the
order is computed once and each column is put in it as it is hashed, never a reordered
copy of the whole data (at a million patients, fresh memory is most of the cost).
"""

from __future__ import annotations

import hashlib
from typing import Any

import numpy as np
import polars as pl
from numpy.typing import NDArray

from sijreg import __version__
from sijreg.analysis.cohort import Cohort
from sijreg.analysis.describe import PATIENT_KEY
from sijreg.domain import dictionary as dd
from sijreg.domain.protocol import Protocol
from sijreg.domain.types import Kind

_ROW = "_row"
_NULL_MARK = np.uint64(0x9E3779B97F4A7C15)


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
        elif isinstance(dtype, pl.Enum):
            columns.append(col)  # text, coded below without spelling out every value
        else:
            columns.append(col.cast(pl.String).alias(name))
    return frame.select(columns)


def _code(column: pl.Series) -> tuple[pl.Series, pl.Expr]:
    """A text column's sorted distinct values, and its rows' positions among them."""
    present = column.drop_nulls().unique()
    if not present.len():  # nulls only (Polars would keep them as text)
        return present.cast(pl.String), pl.lit(None, pl.Int64).alias(column.name)
    distinct = present.gather(present.cast(pl.String).arg_sort())
    stored, rows = distinct, pl.col(column.name)
    if isinstance(column.dtype, pl.Enum):  # map the few codes, not every row's text
        stored, rows = distinct.to_physical(), rows.to_physical()
    positions = pl.int_range(distinct.len(), dtype=pl.Int64)
    return distinct.cast(pl.String), rows.replace_strict(stored, positions, return_dtype=pl.Int64)


def _coded(frame: pl.DataFrame) -> tuple[pl.DataFrame, dict[str, pl.Series]]:
    """Text columns replaced by their rows' positions among the sorted distinct values."""
    coded = {
        name: _code(frame.get_column(name))
        for name, dtype in frame.schema.items()
        if dtype == pl.String or isinstance(dtype, pl.Enum)
    }
    codes = [expr.alias(name) for name, (_, expr) in coded.items()]
    return frame.with_columns(codes), {name: values for name, (values, _) in coded.items()}


def _mix(key: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64's finaliser: every input bit reaches every output bit (wrapping)."""
    key = (key ^ (key >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    key = (key ^ (key >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    return key ^ (key >> np.uint64(31))


def _values(column: pl.Series) -> NDArray[np.int64]:
    """A whole-number column's values as int64, a null as 0 (without a copy when it has
    no nulls: Polars hands its buffer over)."""
    present = column.fill_null(0) if column.has_nulls() else column
    return np.ascontiguousarray(present.to_numpy(), "<i8")


def row_keys(frame: pl.DataFrame) -> NDArray[np.uint64]:
    """A 64-bit key per row of whole-number columns: equal rows, equal keys."""
    key = np.zeros(frame.height, dtype=np.uint64)
    for name in frame.columns:
        column = frame.get_column(name)
        values = _values(column).view(np.uint64)
        if column.has_nulls():  # a null differs from a 0 (a null is 0 plus a null-only mark)
            values = values ^ (column.is_null().to_numpy().astype(np.uint64) * _NULL_MARK)
        key = _mix(key ^ values)
    return key


def canonical_order(frame: pl.DataFrame) -> tuple[NDArray[np.int64], NDArray[np.intp]]:
    """Each row's rank in the canonical order (equal rows share one) and the rows in that
    order. When every row has its own key (the usual case) one argsort of the keys gives
    both; otherwise they come from canonical_ranks, exactly as always."""
    keys = row_keys(frame)
    order = np.argsort(keys, kind="stable")
    if len(keys) < 2 or np.all(keys[order][1:] != keys[order][:-1]):
        ranks = np.empty(len(keys), dtype=np.int64)
        ranks[order] = np.arange(1, len(keys) + 1)
        return ranks, order
    rank = canonical_ranks(frame)
    return rank.to_numpy(), rank.arg_sort().to_numpy()


def canonical_ranks(frame: pl.DataFrame) -> pl.Series:
    """Each row's rank in the canonical order (equal rows share one), in the frame's order."""
    keyed = frame.with_columns(pl.Series(_ROW, row_keys(frame)))
    shared = keyed.filter(pl.col(_ROW).is_duplicated())
    if shared.unique().get_column(_ROW).is_duplicated().any():  # two different rows, one key
        return frame.select(pl.struct(pl.all()).rank("dense").cast(pl.Int64).alias(_ROW))[_ROW]
    return keyed.get_column(_ROW).rank("dense").cast(pl.Int64)


def _digest(
    digest: Any,
    section: str,
    frame: pl.DataFrame,
    text: dict[str, pl.Series] | None = None,
    order: NDArray[np.intp] | None = None,
) -> None:
    """Hash ``frame`` column by column, its rows taken in ``order`` (default: as they are):
    one column at a time is put in order, never a reordered copy of the whole frame."""
    text = text or {}
    digest.update(f"{section}:{frame.height}\n".encode())
    for name in frame.columns:
        column = frame.get_column(name)
        digest.update(name.encode() + b"\0")
        if name in text:
            distinct = text[name]
            digest.update(f"{distinct.len()}\0".encode())
            digest.update(distinct.str.len_bytes().to_numpy().astype("<i8").tobytes())
            digest.update("".join(distinct.to_list()).encode())
        values = _values(column)
        if order is not None:
            values = np.take(values, order)
        if column.has_nulls():
            nulls = column.is_null().to_numpy()
            digest.update(np.packbits(nulls if order is None else nulls[order]).tobytes())
        else:  # the packed mask of no nulls: zero bytes
            digest.update(bytes((column.len() + 7) // 8))
        digest.update(values.data)


def _strictly_increasing(first: pl.Series, second: pl.Series) -> bool:
    """Whether the pairs (first, second) increase from row to row, never repeating."""
    a, b = first.to_numpy(), second.to_numpy()
    step_a, step_b = np.diff(a), np.diff(b)
    return bool(np.all((step_a > 0) | ((step_a == 0) & (step_b > 0))))


def _visit_order(patient: NDArray[np.intp], by_rank: NDArray[np.intp]) -> NDArray[np.intp]:
    """The visits' canonical order: patients as ``by_rank`` orders them, each one's visits
    as stored (by date). ``patient`` is each visit's row in the patient frame.

    Visits are stored grouped by patient, so the order is built from each patient's run
    of visits; equal patients (equal ranks) may come in either order (see fingerprint).
    """
    if np.any(np.diff(patient) < 0):  # not grouped by patient: sort, keeping the stored order
        position = np.empty_like(by_rank)
        position[by_rank] = np.arange(len(by_rank))
        return np.argsort(position[patient], kind="stable")
    counts = np.bincount(patient, minlength=len(by_rank))
    starts = np.cumsum(counts) - counts
    runs, first = counts[by_rank], starts[by_rank]
    return np.repeat(first - (np.cumsum(runs) - runs), runs) + np.arange(len(patient))


def _rows_of(ids: pl.Series, wanted: pl.Series) -> NDArray[np.intp]:
    """The row of ``ids`` (distinct) holding each of ``wanted`` (each one present)."""
    keys = ids.to_numpy()
    if ids.is_sorted():
        return np.searchsorted(keys, wanted.to_numpy())
    sorter = np.argsort(keys)
    return sorter[np.searchsorted(keys, wanted.to_numpy(), sorter=sorter)]


def fingerprint(cohort: Cohort) -> str:
    """'sha256:…' over the analysed patients and their visits (see the module docstring);
    the cohort's known fingerprint when it carries one (``Cohort.known_fingerprint``)."""
    return cohort.known_fingerprint or computed_fingerprint(cohort)


def computed_fingerprint(cohort: Cohort) -> str:
    """The fingerprint computed from the cohort's rows, whatever it carries."""
    patients, text = _coded(_canonical(cohort.frame.drop(PATIENT_KEY)))
    ranks, by_rank = canonical_order(patients)
    digest = hashlib.sha256()
    _digest(digest, "patients", patients, text, order=by_rank)
    if cohort.visits.height:
        patient = _rows_of(
            cohort.frame.get_column(PATIENT_KEY), cohort.visits.get_column(PATIENT_KEY)
        )
        ranked = cohort.visits.drop(PATIENT_KEY).with_columns(pl.Series(_ROW, ranks[patient]))
        visits, text = _coded(_canonical(ranked))
        order = _visit_order(patient, by_rank)
        # Equal patients' visits, in whichever order their patients came, either increase
        # by (rank, date) or are sorted by every column: both give the content's order.
        if _strictly_increasing(visits.get_column(_ROW)[order], visits["visit_date"][order]):
            _digest(digest, "visits", visits, text, order=order)
        else:
            _digest(digest, "visits", visits[order].sort(visits.columns, nulls_last=True), text)
    return "sha256:" + digest.hexdigest()


def protocol_label(protocol: Protocol | None) -> str:
    """'seed-study-2021 1 (sha256 0123456789ab)': the protocol that judged the screenings."""
    if protocol is None:
        return "none"
    return f"{protocol.id} {protocol.version} (sha256 {protocol.sha256[:12]})"


def provenance(
    data_fingerprint: str,
    settings: dict[str, object],
    protocol: Protocol | None = None,
    origin: dict[str, Any] | None = None,
) -> dict[str, object]:
    """The block every report and export carries (``data_fingerprint`` from fingerprint()).

    ``origin`` says which state of the registry was read: ``audit_head`` (the newest
    audit entry, see analysis/snapshot.py) and, for data from a freeze, ``freeze``.
    """
    block: dict[str, object] = {
        "data_fingerprint": data_fingerprint,
        "software": {"name": "sijreg", "version": __version__},
        "protocol_version": protocol_label(protocol),
        "settings": settings,
    }
    return block | (origin or {})
