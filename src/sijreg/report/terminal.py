"""The tables on the terminal, with Rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sijreg.report.document import cohort_sentence
from sijreg.report.flow import flow_caption, flow_lines
from sijreg.report.grids import Grid, extra_grids, study_grids


def _show(grid: Grid, console: Console) -> None:
    table = Table(title=grid.caption, title_justify="left", show_lines=False)
    table.add_column(grid.columns[0])
    for column in grid.columns[1:]:
        table.add_column(column, justify="right")
    for row in grid.rows:
        if len(row) == 1:
            table.add_row(f"[bold]{row[0]}[/bold]", *[""] * (len(grid.columns) - 1))
        else:
            table.add_row(*row)
    console.print(table)
    for note in grid.notes:
        console.print(note, style="dim")


def show(document: dict[str, Any], console: Console) -> None:
    """Tables 1-3, and the comparison tables when the report asked for some."""
    console.print(cohort_sentence(document))
    for grid in study_grids(document):
        _show(grid, console)
    for grid in extra_grids(document):
        if grid.key.startswith("comparison."):
            _show(grid, console)
    if "flow" in document:
        console.print("[bold]Study flow[/bold]")
        for depth, text in flow_lines(document["flow"]):
            console.print(
                "  " + "    " * depth + text, style="dim" if depth else None, highlight=False
            )
        console.print(flow_caption(document["flow"]), style="dim")
