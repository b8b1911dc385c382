"""The study flow in words: its stages and notes, worded once for the figure and the text."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FlowStage:
    """A stage of the flow and who leaves or joins between it and the next."""

    box: str
    leaving: list[str] = field(default_factory=list)
    joining: list[str] = field(default_factory=list)


def flow_stages(flow: dict[str, Any]) -> list[FlowStage]:
    """The flow's stages in order. Sub-items of a note start with two spaces."""
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


def flow_lines(flow: dict[str, Any]) -> list[tuple[int, str]]:
    """The flow as indented lines (depth, text), for Markdown and the terminal."""
    out: list[tuple[int, str]] = []
    for stage in flow_stages(flow):
        out.append((0, stage.box))
        for sign, notes in (("−", stage.leaving), ("+", stage.joining)):
            out += [(2, n.strip()) if n.startswith(" ") else (1, f"{sign} {n}") for n in notes]
    return out


SUPPRESSED_NOTE = (
    "The study flow is left out of a report with small-cell suppression: its counts "
    "(a handful of screenings failing one criterion) cannot be hidden without losing the flow."
)
