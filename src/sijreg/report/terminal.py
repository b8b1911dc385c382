"""The tables on the terminal, with Rich."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from sijreg.report.document import (
    cohort_sentence,
    flow_caption,
    flow_stages,
    lines,
    tables_in_order,
)


def show(document: dict[str, Any], console: Console) -> None:
    console.print(cohort_sentence(document))
    for caption, table in tables_in_order(document):
        rendered = lines(table)
        with_missing = any(missing for _, _, missing in rendered)
        grid = Table(title=caption, title_justify="left", show_lines=False)
        grid.add_column("Variable")
        grid.add_column("Mean ± SD or n (%)", justify="right")
        if with_missing:
            grid.add_column("Missing", justify="right")
        for label, cell, missing in rendered:
            cells = [f"[bold]{label}[/bold]" if not cell else label, cell]
            grid.add_row(*([*cells, missing] if with_missing else cells))
        console.print(grid)
        for note in table["notes"]:
            console.print(note, style="dim")
    if "flow" in document:
        console.print("[bold]Study flow[/bold]")
        for stage in flow_stages(document["flow"]):
            console.print(f"  {stage.box}", highlight=False)
            for sign, notes in (("−", stage.leaving), ("+", stage.joining)):
                for note in notes:
                    shown = f"  – {note.strip()}" if note.startswith(" ") else f"{sign} {note}"
                    console.print(f"      {shown}", style="dim", highlight=False)
        console.print(flow_caption(document["flow"]), style="dim")
