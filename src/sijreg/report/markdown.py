"""tables.md: the tables as Markdown, for a manuscript draft or a pull request."""

from __future__ import annotations

from typing import Any

from sijreg.report.document import cohort_sentence, provenance_line
from sijreg.report.flow import SUPPRESSED_NOTE, flow_caption, flow_lines
from sijreg.report.grids import Grid, extra_grids, study_grids


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def _grid(grid: Grid, heading: str = "##") -> list[str]:
    out = [f"{heading} {grid.caption}", ""]
    out.append("| " + " | ".join(grid.columns) + " |")
    out.append("|" + " --- |" * len(grid.columns))
    for row in grid.rows:
        cells = (
            [f"**{row[0]}**", *[""] * (len(grid.columns) - 1)]
            if len(row) == 1
            else [_cell(row[0].strip()), *(_cell(c) for c in row[1:])]
        )
        out.append("| " + " | ".join(cells) + " |")
    out += [""] + list(grid.notes) + ([""] if grid.notes else [])
    return out


def _flow(document: dict[str, Any]) -> list[str]:
    if "flow" not in document:
        return [SUPPRESSED_NOTE] if document["settings"]["suppress_small_cells"] else []
    out = ["## Study flow", ""]
    out += [
        f"{'  ' * (depth * 2)}- {'**' + text + '**' if depth == 0 else text}"
        for depth, text in flow_lines(document["flow"])
    ]
    return [*out, "", flow_caption(document["flow"])]


def render(document: dict[str, Any]) -> str:
    out = ["# sijreg study report", "", cohort_sentence(document), ""]
    for grid in study_grids(document):
        out += _grid(grid)
    settings = document["settings"]
    out.append(
        f"SD: {settings['sd']}; percentages of {settings['percent_of']}; "
        f"values rounded {settings['rounding']}. Responder thresholds are inclusive."
    )
    out += ["", *_flow(document)]
    for grid in extra_grids(document):
        out += ["", *_grid(grid)[:-1]]
    out += ["", provenance_line(document)]
    return "\n".join(out) + "\n"
