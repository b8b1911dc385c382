"""The report as plain data: every number, exact and displayed, under stable keys.

``tables.json`` is this document; the Markdown, terminal and HTML renderers read
it too, so every output shows the same figures. docs/report.md documents the keys.
"""

from __future__ import annotations

import contextvars
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import TYPE_CHECKING, Any

from sijreg import __version__
from sijreg.analysis import extended as ext
from sijreg.analysis import inference
from sijreg.analysis.data_quality import disclosed
from sijreg.analysis.describe import Continuous, Count
from sijreg.analysis.flow import Flow
from sijreg.analysis.followup import DAYS_PER_YEAR, SENSITIVITY_MONTHS
from sijreg.analysis.provenance import fingerprint, provenance
from sijreg.analysis.tables import Row, Settings, StudyTables, Table, threshold_text
from sijreg.domain.protocol import Protocol
from sijreg.report import completeness as follow_up_completeness
from sijreg.report import sections
from sijreg.report.disclosure import Cells, Weight, as_displayed
from sijreg.report.fields import row_fields
from sijreg.report.options import Options
from sijreg.report.spss import round_half_away

if TYPE_CHECKING:
    from sijreg.analysis.completeness import Completeness

FORMAT = "sijreg.tables"
FORMAT_VERSION = 1


def _row(row: Row, tables: StudyTables, cells: Cells) -> dict[str, Any]:
    fields = row_fields(row.stat, row.suffix, tables, cells)
    # a label such as 'relief (%), mean (n=7)' names the mean's n: shown as its n is
    label = row.label.replace(f"(n={row.stat.n})", f"(n={fields['n']})")
    out: dict[str, Any] = {"label": label if isinstance(row.stat, Continuous) else row.label}
    if row.section:
        out["section"] = row.section
    keys = ("type", "n", "missing", "mean", "sd", "display")
    if isinstance(row.stat, Count):
        keys = ("type", "count", "n", "missing", "percent", "display")
    return out | {k: fields[k] for k in keys} | {k: v for k, v in fields.items() if k not in keys}


def method_note(tables: StudyTables) -> str:
    """The sentence under each table that names the interval methods."""
    method = tables.settings.ci_method.value
    name = (
        "Wilson score interval without continuity correction"
        if method == "wilson"
        else "Clopper-Pearson exact interval"
    )
    return f"95% CI: means, t distribution (n - 1 df); percentages, {name}, of the group's n."


def _table(table: Table, tables: StudyTables, cells: Cells) -> dict[str, Any]:
    notes = list(table.notes)
    if cells.min_cell and table.key == "table1" and notes:
        notes = ["Combinations of prior procedures are not listed under small-cell suppression."]
    n = cells.count(table.members, table.n, Weight.COHORT)
    rows = {row.key: _row(row, tables, cells) for row in table.rows}
    return {
        "title": table.title,
        "n": n,
        "rows": rows,
        "notes": notes,
        "denominator": denominator_note(table.key, rows),
        "ci_note": method_note(tables),
    }


def denominator_note(key: str, rows: dict[str, Any]) -> str:
    """What each figure of a table is a share or a mean of (its shown counts)."""
    if key == "table1":
        return (
            "Denominators: percentages are of the table's n, every analysed patient "
            "(a missing value counts in n, never as yes); means and SDs are over the "
            "patients with a value."
        )
    relief = rows["pain_relief_pct"]
    return (
        "Denominators: responders are counted among the table's n, every analysed patient, "
        "as in the paper: patients without a recorded pain relief "
        f"({relief['missing']} here) count as non-responders; the mean relief is over the "
        f"{relief['n']} patients with a value. The responder curve counts only those."
    )


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def method_settings(settings: Settings, options: Options) -> dict[str, Any]:
    """The method settings every report and export records in its provenance."""
    return {
        "min_followup_days": settings.min_followup_days,
        "study_period": {
            "fused_from": _day(settings.period.fused_from),
            "fused_until": _day(settings.period.fused_until),
            "text": settings.period.text,
        },
        "thresholds": [float(t) for t in settings.thresholds],
        "subgroup": settings.subgroup,
        "sd": "sample (n - 1)",
        "percent_of": "the group's n",
        "rounding": "half away from zero, 1 decimal",
        "confidence": inference.CONFIDENCE,
        "ci_mean": "t",
        "ci_method": settings.ci_method.value,
        "compare": list(settings.compare),
        "tests": settings.tests.value,
        "p_adjustment": settings.adjust.value,
        "visit_windows_months": list(settings.windows),
        "pooling": settings.pooling.value,
        "outcome_at_months": settings.outcome_at,
        "sensitivity_min_followup_months": SENSITIVITY_MONTHS,
        "p_values": "two-sided; '<0.001', else 3 decimals",
        "show_ci": options.ci,
        "suppress_small_cells": options.min_cell,
    }


def _build(
    tables: StudyTables,
    database: str,
    options: Options,
    cells: Cells,
    more: ext.Extended,
    protocol: Protocol | None,
    data_fingerprint: str,
    origin: dict[str, Any] | None,
    completeness: Completeness | None = None,
) -> dict[str, Any]:
    cohort = tables.cohort
    settings = method_settings(tables.settings, options)
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "software": {"name": "sijreg", "version": __version__},
        "database": database,
        "settings": settings,
        "cohort": {
            "registered": cells.count(cohort.registered_members, cohort.registered, Weight.GROUP),
            "analysed": cells.count(tables.table1.members, cohort.n, Weight.COHORT),
            "excluded": {
                e.key: {"label": e.label, "n": cells.count(e.members, e.n, Weight.DETAIL)}
                for e in cohort.exclusions
            },
        },
        "table1": _table(tables.table1, tables, cells),
        "table2": _table(tables.table2, tables, cells),
        "table3": {
            "subgroup": {"variable": tables.subgroup.name, "label": tables.subgroup.label},
            "panels": {code: _table(panel, tables, cells) for code, panel in tables.table3},
        },
        "threshold_keys": [f"responders_{threshold_text(t)}" for t in tables.settings.thresholds],
        **sections.build(more, tables, cells),
        **_followup(more, tables, cells),
        "completeness": follow_up_completeness.build(completeness, cells),
        "provenance": provenance(data_fingerprint, settings, protocol, origin),
    }


def _followup(more: ext.Extended, tables: StudyTables, cells: Cells) -> dict[str, Any]:
    """Person-time, the fixed-time-point outcome and the sensitivity analysis
    (analysis/followup.py); person-time goes with the count of its patients."""
    time, at, only = more.person_time, more.outcome_at, more.sensitivity
    shown = cells.shown(time.members)
    return {
        "follow_up": {
            "patients": cells.count(time.members, time.patients, Weight.COHORT),
            "person_days": time.days if shown else None,
            "person_years": float(time.years) if shown else None,
            "person_years_display": round_half_away(time.years, 1) if shown else None,
            "days_per_year": float(DAYS_PER_YEAR),
        },
        "outcome_at": None
        if at is None
        else {
            "months": at.window.months,
            "start_day": at.window.start_day,
            "end_day": at.window.end_day,
            "table": _table(at.table, tables, cells),
        },
        "sensitivity": {
            "min_followup_months": only.months,
            "min_followup_days": only.min_days,
            "table": _table(only.table, tables, cells),
        },
    }


def build(
    tables: StudyTables,
    database: str,
    options: Options | None = None,
    record: Cells | None = None,
    *,
    flow: Flow | None = None,
    protocol: Protocol | None = None,
    origin: dict[str, Any] | None = None,
    completeness: Completeness | Callable[[], Completeness] | None = None,
    data_quality: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole report as JSON-ready data (suppressed throughout when options ask for it).

    ``record``, when given, receives every published count's patient set (for audits).
    With ``flow``, the study flow goes under "flow", unless counts are suppressed; the
    provenance names the flow's protocol, or else ``protocol``, and ``origin``, the state
    of the registry read (see analysis.provenance.provenance).
    """
    options = options or Options()
    # The fingerprint and the completeness given as a function to call (Polars, NumPy and
    # hashlib, which release the interpreter lock) are computed beside the analyses, in
    # this context (whether patient sets are tracked, see describe.without_members).
    with ThreadPoolExecutor(max_workers=2) as pool:
        hashing = pool.submit(fingerprint, tables.cohort)
        if callable(completeness):
            counting = pool.submit(contextvars.copy_context().run, completeness)
            follow_up = None
        else:
            counting, follow_up = None, completeness
        more = ext.extended(tables)
        data_fingerprint = hashing.result()
        if counting is not None:
            follow_up = counting.result()
    cells = record if record is not None else Cells()
    protocol = flow.protocol if flow is not None else protocol
    parts = (more, protocol, data_fingerprint, origin, follow_up)
    document = _build(tables, database, options, cells, *parts)
    if options.min_cell is not None:
        decided = cells.decided(options.min_cell)
        document = _build(tables, database, options, decided, *parts)
    if flow is not None and options.min_cell is None:
        document["flow"] = flow.as_dict()
    if data_quality is not None:  # counted in the registry, beside the cohort
        document["data_quality"] = disclosed(data_quality, options.min_cell)
    result: dict[str, Any] = strict(document)
    return result if options.min_cell is None else as_displayed(result)


def strict(node: Any) -> Any:
    """``node`` with every undefined figure (NaN, infinity) as ``None``: tables.json is
    strict JSON (a share of an empty group is null, never a bare ``NaN``)."""
    if isinstance(node, float):
        return node if math.isfinite(node) else None
    if isinstance(node, dict):
        return {key: strict(value) for key, value in node.items()}
    if isinstance(node, list | tuple):
        return [strict(value) for value in node]
    return node


def lines(table: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A table's display lines as (label, cell, missing), section headings as (label, '', '').

    The missing column is filled only when some row of the table has missing values.
    """
    show_missing = any(r["missing"] for r in table["rows"].values())
    out: list[tuple[str, str, str]] = []
    section = None
    for row in table["rows"].values():
        if row.get("section") != section:
            section = row.get("section")
            if section:
                out.append((section, "", ""))
        label = f"  {row['label']}" if section else row["label"]
        out.append((label, row["display"], str(row["missing"]) if show_missing else ""))
    return out


def tables_in_order(document: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(caption, table) for Tables 1, 2 and every panel of Table 3."""
    out = [
        (
            f"Table 1. {document['table1']['title']} (n = {document['table1']['n']})",
            document["table1"],
        ),
        (
            f"Table 2. {document['table2']['title']} (n = {document['table2']['n']})",
            document["table2"],
        ),
    ]
    for panel in document["table3"]["panels"].values():
        out.append((f"Table 3. {panel['title']} (n = {panel['n']})", panel))
    return out


def cohort_sentence(document: dict[str, Any]) -> str:
    """'Analysed: 111 of 116 registered patients; left out: 3 with no follow-up …'."""
    cohort = document["cohort"]
    left = [f"{e['n']} with {e['label']}" for e in cohort["excluded"].values() if e["n"]]
    text = f"Analysed: {cohort['analysed']} of {cohort['registered']} registered patients"
    text += ("; left out: " + "; ".join(left) if left else "; none left out") + "."
    period = document["settings"].get("study_period")
    bounded = period and (period["fused_from"] or period["fused_until"])
    return text + (f" Study period: {period['text']}." if bounded else "")


def provenance_line(document: dict[str, Any]) -> str:
    """'Data fingerprint sha256:… · sijreg 0.1.0 · protocol none · settings in tables.json',
    with '· freeze 0123456789abcdef of 2026-11-21' for a report made from a freeze."""
    p = document["provenance"]
    frozen = p.get("freeze")
    freeze = f" · freeze {frozen['id']} of {frozen['created_at'][:10]}" if frozen else ""
    return (
        f"Data fingerprint {p['data_fingerprint']} · sijreg {p['software']['version']} · "
        f"protocol {p['protocol_version']}{freeze} · method settings in tables.json"
    )
