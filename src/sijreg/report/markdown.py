"""tables.md: the tables as Markdown, for a manuscript draft or a pull request."""

from __future__ import annotations

from typing import Any

from sijreg.report.document import (
    cohort_sentence,
    flow_caption,
    flow_stages,
    lines,
    tables_in_order,
)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def render(document: dict[str, Any]) -> str:
    out = ["# sijreg study report", "", cohort_sentence(document), ""]
    for caption, table in tables_in_order(document):
        rendered = lines(table)
        with_missing = any(missing for _, _, missing in rendered)
        out += [f"## {caption}", ""]
        out.append("| Variable | Mean ± SD or n (%) |" + (" Missing |" if with_missing else ""))
        out.append("| --- | --- |" + (" --- |" if with_missing else ""))
        for label, cell, missing in rendered:
            shown = f"**{label}**" if not cell else _cell(label.strip())
            out.append(f"| {shown} | {cell} |" + (f" {missing} |" if with_missing else ""))
        out += [""] + [f"{note}" for note in table["notes"]] + ([""] if table["notes"] else [])
    if "flow" in document:
        out += ["## Study flow", ""]
        for stage in flow_stages(document["flow"]):
            out.append(f"- **{stage.box}**")
            for sign, notes in (("−", stage.leaving), ("+", stage.joining)):
                out += [
                    f"    - {note.strip()}" if note.startswith(" ") else f"  - {sign} {note}"
                    for note in notes
                ]
        out += ["", flow_caption(document["flow"]), ""]
    settings = document["settings"]
    out.append(
        f"SD: {settings['sd']}; percentages of {settings['percent_of']}; "
        f"values rounded {settings['rounding']}. Responder thresholds are inclusive."
    )
    return "\n".join(out) + "\n"
