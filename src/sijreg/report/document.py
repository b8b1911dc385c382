"""The report as plain data: every number, exact and displayed, under stable keys.

``tables.json`` is this document; the Markdown, terminal and HTML renderers read
it too, so every output shows the same figures. docs/report.md documents the keys.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sijreg import __version__
from sijreg.analysis.describe import Continuous, Count
from sijreg.analysis.flow import Flow
from sijreg.analysis.tables import Row, StudyTables, Table, threshold_text
from sijreg.report.spss import display

FORMAT = "sijreg.tables"
FORMAT_VERSION = 1


def _row(row: Row) -> dict[str, Any]:
    stat = row.stat
    out: dict[str, Any] = {"label": row.label}
    if row.section:
        out["section"] = row.section
    if isinstance(stat, Continuous):
        out |= {
            "type": "continuous",
            "n": stat.n,
            "missing": stat.missing,
            "mean": None if stat.mean is None else float(stat.mean),
            "sd": stat.sd,
        }
    else:
        assert isinstance(stat, Count)
        out |= {
            "type": "count",
            "count": stat.count,
            "n": stat.n,
            "missing": stat.missing,
            "percent": None if stat.percent is None else float(stat.percent),
        }
    out["display"] = display(stat, row.suffix)
    return out


def _table(table: Table) -> dict[str, Any]:
    return {
        "title": table.title,
        "n": table.n,
        "rows": {row.key: _row(row) for row in table.rows},
        "notes": list(table.notes),
    }


def build(tables: StudyTables, database: str, flow: Flow | None = None) -> dict[str, Any]:
    """The whole report as JSON-ready data; with ``flow``, the study flow under "flow"."""
    cohort = tables.cohort
    settings = tables.settings
    document = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "software": {"name": "sijreg", "version": __version__},
        "database": database,
        "settings": {
            "min_followup_days": settings.min_followup_days,
            "thresholds": [float(t) for t in settings.thresholds],
            "subgroup": settings.subgroup,
            "sd": "sample (n - 1)",
            "percent_of": "the group's n",
            "rounding": "half away from zero, 1 decimal",
        },
        "cohort": {
            "registered": cohort.registered,
            "analysed": cohort.n,
            "excluded": {e.key: {"label": e.label, "n": e.n} for e in cohort.exclusions},
        },
        "table1": _table(tables.table1),
        "table2": _table(tables.table2),
        "table3": {
            "subgroup": {"variable": tables.subgroup.name, "label": tables.subgroup.label},
            "panels": {code: _table(panel) for code, panel in tables.table3},
        },
        "threshold_keys": [f"responders_{threshold_text(t)}" for t in settings.thresholds],
    }
    if flow is not None:
        document["flow"] = flow.as_dict()
    return document


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
    return text + ("; left out: " + "; ".join(left) if left else "; none left out") + "."


@dataclass(frozen=True)
class FlowStage:
    """A stage of the flow and who leaves or joins between it and the next."""

    box: str
    leaving: list[str] = field(default_factory=list)
    joining: list[str] = field(default_factory=list)


def flow_stages(flow: dict[str, Any]) -> list[FlowStage]:
    """The flow's stages in order, worded once for the figure and the text reports.

    Sub-items of a note start with two spaces.
    """
    enrolled = flow["enrolled"]
    not_eligible = flow["not_eligible"]
    incomplete = flow["incomplete"]
    screened = [f"Not eligible: {not_eligible['n']}"]
    screened += [f"  {c['label']}: {c['n']}" for c in not_eligible["by_criterion"].values()]
    screened.append(f"Screening incomplete: {incomplete['n']}")
    screened += [
        f"  cannot decide {c['label'][0].lower()}{c['label'][1:]}: {c['n']}"
        for c in incomplete["by_criterion"].values()
    ]
    joining = [f"Enrolled without a screening record: {enrolled['without_screening_record']}"]
    joining += [
        f"Enrolled {what}: {n}"
        for what, n in (
            ("although not eligible at screening", enrolled["not_eligible_at_screening"]),
            ("with an incomplete screening", enrolled["incomplete_screening"]),
        )
        if n
    ]
    return [
        FlowStage(f"Screened: {flow['screened']}", screened),
        FlowStage(
            f"Eligible: {flow['eligible']}",
            [f"Eligible, not enrolled: {flow['eligible_not_enrolled']}"],
            joining,
        ),
        FlowStage(
            f"Enrolled (registered): {enrolled['n']}",
            [f"Not fused ({flow['not_fused']['label']}): {flow['not_fused']['n']}"],
        ),
        FlowStage(
            f"Fused: {flow['fused']}",
            [f"Left out, {e['label']}: {e['n']}" for e in flow["not_followed"].values()],
        ),
        FlowStage(
            f"Followed ≥ {flow['min_followup_days']} days, analysed (Tables 1-3): "
            f"{flow['analysed']}"
        ),
    ]


def flow_caption(flow: dict[str, Any]) -> str:
    """Which protocol judged the screenings in the flow."""
    protocol = flow["protocol"]
    return (
        f"Screenings judged by protocol {protocol['id']} version {protocol['version']} "
        f"(sha256 {protocol['sha256'][:12]}); a screening that fails several criteria is "
        "counted under each."
    )
