"""Table 1 and the outcomes by group, with a test and a standardized difference per row.

The rows are exactly Table 1's and Table 2's (computed by the same functions within
each group); the splitting variable's own rows are left out. Tests are chosen per
row by the rules in :mod:`sijreg.analysis.inference` and the prespecified choice
(``--tests``). Two groups also get effect estimates with intervals
(:mod:`sijreg.analysis.effects`); continuous rows carry each group's median and quartiles.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import polars as pl

from sijreg.analysis import describe, effects, inference
from sijreg.analysis.describe import Continuous, Count, Quartiles
from sijreg.analysis.effects import Estimate
from sijreg.analysis.inference import TestResult
from sijreg.analysis.methods import ContinuousTests
from sijreg.analysis.tables import Row, groups, outcome_rows, table1
from sijreg.analysis.variables import FOLLOWUP_DAYS, RELIEF, VARIABLES, Variable

SKEWED = frozenset({RELIEF.name, FOLLOWUP_DAYS.name})
"""Bounded, skewed variables whose median [IQR] is shown beside mean ± SD whatever the test."""
RESPONDERS = "responders_"
"""The key prefix of the responder rows, which get a risk difference and a relative risk."""


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
    smd_ci: Estimate | None = None
    quartiles: tuple[Quartiles | None, ...] = ()
    """Continuous rows: each group's median and quartiles (SPSS HAVERAGE)."""
    show_median: bool = False
    """Whether median [IQR] is shown beside mean ± SD: a skewed variable or a rank test."""
    effects: tuple[tuple[str, Estimate], ...] = ()
    """Two groups: ('mean_difference', …) for continuous rows, ('risk_difference', …) and
    ('relative_risk', …) for responder rows, each first group against the second."""


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


def _quartiles(values: np.ndarray, key: str) -> Quartiles | None:
    scale = VARIABLES[key].scale
    return describe.quartiles(np.sort(np.rint(values * scale).astype(np.int64)), scale)


def _compared(
    parts: list[pl.DataFrame],
    row: Row,
    stats: tuple[Continuous | Count, ...],
    tests: ContinuousTests,
) -> ComparedRow:
    """A row's statistics by group with its test, SMD and (two groups) effect estimates."""
    values = [_values(part, row) for part in parts]
    two = len(values) == 2
    label = f"{RELIEF.label} (%)" if row.key == RELIEF.name else row.label
    base = ComparedRow(row.key, label, row.section, stats, row.suffix, None, None)
    if isinstance(row.stat, Continuous):
        test = inference.compare_continuous(values, tests, VARIABLES[row.key].scale)
        smd = inference.smd_continuous(*values) if two else None
        difference = effects.mean_difference(*values) if two else None
        return replace(
            base,
            test=test,
            smd=smd,
            smd_ci=None if smd is None else effects.smd_interval(smd, *map(len, values)),
            quartiles=tuple(_quartiles(v, row.key) for v in values),
            show_median=row.key in SKEWED
            or (test is not None and test.test in inference.RANK_TESTS),
            effects=() if difference is None else (("mean_difference", difference),),
        )
    yes = np.array([int(v.sum()) for v in values], dtype=np.int64)
    known = np.array([len(v) for v in values], dtype=np.int64)
    smd = (
        inference.smd_proportion(yes[0] / known[0], yes[1] / known[1])
        if two and known.all()
        else None
    )
    estimates: list[tuple[str, Estimate]] = []
    if two and row.key.startswith(RESPONDERS):
        counts = (int(yes[0]), int(known[0]), int(yes[1]), int(known[1]))
        for name, estimate in (
            ("risk_difference", effects.risk_difference(*counts)),
            ("relative_risk", effects.relative_risk(*counts)),
        ):
            if estimate is not None:
                estimates.append((name, estimate))
    return replace(
        base,
        test=inference.compare_counts(np.vstack([yes, known - yes])),
        smd=smd,
        smd_ci=None if smd is None else effects.smd_interval(smd, int(known[0]), int(known[1])),
        effects=tuple(estimates),
    )


def compare(
    frame: pl.DataFrame,
    variable: Variable,
    thresholds: tuple[Fraction, ...],
    tests: ContinuousTests = ContinuousTests.AUTO,
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
        rows.append(_compared(parts, row, tuple(g[row.key].stat for g in per_group), tests))
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
