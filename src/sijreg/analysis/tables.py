"""The study's Tables 1-3, computed exactly from a cohort.

Table 1 describes the patients at baseline, Table 2 the pain relief at the last
follow-up with responder counts, Table 3 the same outcomes (and follow-up time) in
a subgroup: the FBSS patients by default, as in the seed paper.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import polars as pl

from sijreg.analysis import describe
from sijreg.analysis.cohort import Cohort, StudyPeriod
from sijreg.analysis.describe import Continuous, Count
from sijreg.analysis.methods import (
    DEFAULT_MIN_FOLLOWUP_DAYS,
    DEFAULT_SUBGROUP,
    Adjustment,
    ContinuousTests,
    PoolingMethod,
    ProportionMethod,
)
from sijreg.analysis.variables import (
    FOLLOWUP_DAYS,
    PRIOR_FLAGS,
    RELIEF,
    SITE,
    VARIABLES,
    Variable,
    grouping_variable,
)
from sijreg.domain.types import Kind

DEFAULT_THRESHOLDS = (Fraction(30), Fraction(50), Fraction(80))


@dataclass(frozen=True)
class Settings:
    """The method settings a report was computed with."""

    min_followup_days: int = DEFAULT_MIN_FOLLOWUP_DAYS
    thresholds: tuple[Fraction, ...] = DEFAULT_THRESHOLDS
    subgroup: str = DEFAULT_SUBGROUP
    ci_method: ProportionMethod = ProportionMethod.WILSON
    """How proportions' 95% intervals are computed (means always use t)."""
    compare: tuple[str, ...] = ()
    """Grouping variables for comparison tables (Table 1 and outcomes by group)."""
    tests: ContinuousTests = ContinuousTests.AUTO
    """How the comparisons' continuous rows choose their test (prespecified)."""
    adjust: Adjustment = Adjustment.NONE
    """Whether the comparisons also publish Holm-adjusted p-values."""
    windows: tuple[int, ...] = (3, 6, 12, 24)
    """Visit-window centres in months after the fusion (see analysis.visits)."""
    pooling: PoolingMethod = PoolingMethod.DL
    """The random-effects interval of the pooling over sites (see analysis.sites)."""
    outcome_at: int | None = None
    """A window centre: Table 2 at that visit too, beside the last follow-up."""
    period: StudyPeriod = field(default_factory=StudyPeriod)
    """The fusion dates analysed (see cohort.select_cohort)."""


@dataclass(frozen=True)
class Row:
    """One line of a table: a label and its exact statistic."""

    key: str
    label: str
    stat: Continuous | Count
    suffix: str = ""
    section: str | None = None
    source: pl.Expr | None = field(default=None, compare=False)
    """Per patient: the value (continuous) or the yes/no (count; null when unknown)."""


@dataclass(frozen=True)
class Table:
    key: str
    title: str
    n: int
    rows: tuple[Row, ...]
    notes: tuple[str, ...] = ()
    members: int = field(default=0, compare=False)
    """The patients of the table (a bit set of ids, see describe.members)."""


@dataclass(frozen=True)
class StudyTables:
    """Everything the report renders."""

    settings: Settings
    cohort: Cohort
    table1: Table
    table2: Table
    subgroup: Variable
    table3: tuple[tuple[str, Table], ...] = field(default_factory=tuple)


def threshold_text(threshold: Fraction) -> str:
    """30 -> '30', 33.5 -> '33.5': how a threshold is written in keys and labels."""
    return str(threshold.numerator) if threshold.denominator == 1 else str(float(threshold))


def _continuous(frame: pl.DataFrame, var: Variable) -> Row:
    return Row(
        var.name,
        var.heading,
        describe.continuous(frame, var.name, var.scale),
        source=pl.col(var.name),
    )


def _flag(frame: pl.DataFrame, var: Variable, section: str | None = None) -> Row:
    stat = describe.count(frame, pl.col(var.name), pl.col(var.name).is_not_null())
    return Row(var.name, var.label, stat, section=section, source=pl.col(var.name))


def levels(frame: pl.DataFrame, var: Variable) -> list[tuple[str, str]]:
    """(code, label) of a categorical variable: the dictionary's choices, or the sites present."""
    if var is SITE:
        present = frame.get_column(var.name).drop_nulls().unique().sort().to_list()
        return [(str(code), str(code)) for code in present]
    return [(c.code, c.label) for c in var.choices]


def _prior_combinations(frame: pl.DataFrame) -> tuple[Row, str]:
    flags = [pl.col(v.name).cast(pl.Int32) for v in PRIOR_FLAGS]
    several = frame.filter(pl.sum_horizontal(flags) >= 2)
    row = Row(
        "prior_two_or_more",
        "Two or more prior procedures",
        describe.count(frame, pl.sum_horizontal(flags) >= 2, pl.lit(True)),
        section="Past procedural history",
        source=pl.sum_horizontal(flags) >= 2,
    )
    combos = several.group_by([v.name for v in PRIOR_FLAGS]).len().sort("len", descending=True)
    parts = []
    for combo in combos.iter_rows(named=True):
        names = "+".join(
            v.name.removeprefix("prior_").upper() for v in PRIOR_FLAGS if combo[v.name]
        )
        parts.append(f"{combo['len']} {names}")
    note = "Patients with two or more prior procedures: " + ", ".join(parts) + "." if parts else ""
    return row, note


def table1(frame: pl.DataFrame) -> Table:
    """Baseline clinical and demographic variables."""
    sex = VARIABLES["sex"]
    rows = [_continuous(frame, VARIABLES["age"])]
    rows += [
        Row(
            f"sex.{code}",
            f"{sex.label}, {label}",
            describe.count(frame, pl.col("sex") == code, pl.col("sex").is_not_null()),
            source=pl.col("sex") == code,
        )
        for code, label in levels(frame, sex)
    ]
    rows.append(_continuous(frame, VARIABLES["bmi"]))
    rows.append(_flag(frame, VARIABLES["fbss"]))
    rows += [_flag(frame, v, section="Past procedural history") for v in PRIOR_FLAGS]
    several, note = _prior_combinations(frame)
    rows.append(several)
    rows.append(_continuous(frame, FOLLOWUP_DAYS))
    return Table(
        "table1",
        "Baseline clinical and demographic variables",
        frame.height,
        tuple(rows),
        (note,) if note else (),
        describe.members(frame),
    )


def outcome_rows(frame: pl.DataFrame, thresholds: tuple[Fraction, ...]) -> list[Row]:
    """Pain relief mean ± SD, then the responders at each (inclusive) threshold."""
    relief = describe.continuous(frame, RELIEF.name, RELIEF.scale)
    label = f"{RELIEF.label} (%), mean (n={relief.n})"  # the mean's n: the values, as the paper
    rows = [Row(RELIEF.name, label, relief, "%", source=pl.col(RELIEF.name))]
    known = pl.col(RELIEF.name).is_not_null()
    for threshold in thresholds:
        text = threshold_text(threshold)
        responder = describe.at_least(RELIEF.name, threshold, RELIEF.scale)
        rows.append(
            Row(
                f"responders_{text}",
                f"Greater than or equal to {text}%",
                describe.count(frame, responder, known),
                source=responder,
            )
        )
    return rows


def followup_row(frame: pl.DataFrame) -> Row:
    """Days from fusion to last follow-up, mean ± SD."""
    return _continuous(frame, FOLLOWUP_DAYS)


def table2(frame: pl.DataFrame, thresholds: tuple[Fraction, ...]) -> Table:
    return Table(
        "table2",
        "Clinical outcomes following sacroiliac joint fusion",
        frame.height,
        tuple(outcome_rows(frame, thresholds)),
        members=describe.members(frame),
    )


def groups(frame: pl.DataFrame, var: Variable) -> list[tuple[str, str, pl.Expr]]:
    """(code, label, condition) of each group a variable splits a cohort into.

    Yes/no variables give 'yes' and 'no'; patients whose value is missing are in none.
    """
    if var.kind is Kind.BOOLEAN:
        return [
            ("yes", f"{var.label}: yes", pl.col(var.name).fill_null(False)),
            ("no", f"{var.label}: no", (~pl.col(var.name)).fill_null(False)),
        ]
    return [
        (code, f"{var.label}: {label}", (pl.col(var.name) == code).fill_null(False))
        for code, label in levels(frame, var)
    ]


def table3(
    frame: pl.DataFrame, subgroup: Variable, thresholds: tuple[Fraction, ...]
) -> tuple[tuple[str, Table], ...]:
    """Table 2 and follow-up time within each level of ``subgroup`` (yes only for yes/no)."""
    if subgroup.kind is Kind.BOOLEAN:
        panel_levels = [
            (
                "yes",
                pl.col(subgroup.name).fill_null(False),
                f"patients with {subgroup.label.lower()}",
            )
        ]
    else:
        panel_levels = [
            (code, pl.col(subgroup.name) == code, f"{subgroup.label}: {label}")
            for code, label in levels(frame, subgroup)
        ]
    panels = []
    for code, condition, description in panel_levels:
        part = frame.filter(condition)
        rows = [*outcome_rows(part, thresholds), followup_row(part)]
        panels.append(
            (
                code,
                Table(
                    f"table3.{code}",
                    f"Clinical outcomes following sacroiliac joint fusion in {description}",
                    part.height,
                    tuple(rows),
                    members=describe.members(part),
                ),
            )
        )
    return tuple(panels)


def study_tables(cohort: Cohort, settings: Settings) -> StudyTables:
    """Tables 1-3 for ``cohort``."""
    subgroup = grouping_variable(settings.subgroup)
    frame = cohort.frame
    return StudyTables(
        settings=settings,
        cohort=cohort,
        table1=table1(frame),
        table2=table2(frame, settings.thresholds),
        subgroup=subgroup,
        table3=table3(frame, subgroup, settings.thresholds),
    )
