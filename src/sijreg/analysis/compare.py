"""Table 1 and the outcomes by group, with a test and a standardized difference per row.

The rows are exactly Table 1's and Table 2's (computed by the same functions within
each group); the splitting variable's own rows are left out. Tests are chosen per
row by the rules in :mod:`sijreg.analysis.inference`.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import polars as pl

from sijreg.analysis import describe, inference
from sijreg.analysis.describe import Continuous, Count
from sijreg.analysis.inference import TestResult
from sijreg.analysis.tables import Row, groups, outcome_rows, table1
from sijreg.analysis.variables import RELIEF, Variable


@dataclass(frozen=True)
class Group:
    code: str
    label: str
    n: int
    members: int


@dataclass(frozen=True)
class ComparedRow:
    key: str
    label: str
    section: str | None
    stats: tuple[Continuous | Count, ...]
    """One statistic per group, in the order of the comparison's groups."""
    suffix: str
    test: TestResult | None
    smd: float | None
    """Standardized difference of the first group minus the second (two groups only)."""


@dataclass(frozen=True)
class Comparison:
    variable: Variable
    groups: tuple[Group, ...]
    rows: tuple[ComparedRow, ...]
    unassigned: int
    """Patients whose grouping value is missing: in no group."""
    unassigned_members: int


def _rows(frame: pl.DataFrame, thresholds: tuple[Fraction, ...]) -> list[Row]:
    return [*table1(frame).rows, *outcome_rows(frame, thresholds)]


def _values(frame: pl.DataFrame, row: Row) -> np.ndarray:
    assert row.source is not None
    return (
        frame.select(row.source.cast(pl.Float64).alias("v")).get_column("v").drop_nulls().to_numpy()
    )


def _test_and_smd(parts: list[pl.DataFrame], row: Row) -> tuple[TestResult | None, float | None]:
    values = [_values(part, row) for part in parts]
    if isinstance(row.stat, Continuous):
        test = inference.compare_continuous(values)
        smd = inference.smd_continuous(*values) if len(values) == 2 else None
        return test, smd
    yes = np.array([int(v.sum()) for v in values], dtype=np.int64)
    known = np.array([len(v) for v in values], dtype=np.int64)
    test = inference.compare_counts(np.vstack([yes, known - yes]))
    smd = (
        inference.smd_proportion(yes[0] / known[0], yes[1] / known[1])
        if len(values) == 2 and known.all()
        else None
    )
    return test, smd


def compare(
    frame: pl.DataFrame, variable: Variable, thresholds: tuple[Fraction, ...]
) -> Comparison:
    """Every Table 1 and Table 2 row within each group of ``variable``, side by side."""
    split = [(code, label, frame.filter(cond)) for code, label, cond in groups(frame, variable)]
    split = [(code, label, part) for code, label, part in split if part.height]
    parts = [part for _, _, part in split]
    group_rows = [_rows(part, thresholds) for part in parts]
    per_group = [{row.key: row for row in rows} for rows in group_rows]
    own = (variable.name, f"{variable.name}.")
    rows = []
    # Table 1's and Table 2's rows are the same for any frame (only the relief row's label
    # names its n, and it is relabelled below): the first group's list them, rather than
    # the whole cohort's tables computed once more.
    for row in group_rows[0] if group_rows else _rows(frame, thresholds):
        if row.key == variable.name or row.key.startswith(own[1]):
            continue
        test, smd = _test_and_smd(parts, row)
        rows.append(
            ComparedRow(
                row.key,
                f"{RELIEF.label} (%)" if row.key == RELIEF.name else row.label,
                row.section,
                tuple(g[row.key].stat for g in per_group),
                row.suffix,
                test,
                smd,
            )
        )
    assigned = sum(part.height for part in parts)
    anywhere = pl.any_horizontal([cond for _, _, cond in groups(frame, variable)])
    return Comparison(
        variable,
        tuple(
            Group(code, label, part.height, describe.members(part)) for code, label, part in split
        ),
        tuple(rows),
        frame.height - assigned,
        describe.members(frame, ~anywhere),
    )
