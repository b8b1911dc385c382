"""docs/data-dictionary.md, rendered from the data dictionary itself (a test keeps it current)."""

from __future__ import annotations

from sijreg.domain.dictionary import FORMS
from sijreg.domain.types import Field, Kind

_TYPE = {
    Kind.INTEGER: "whole number",
    Kind.DECIMAL: "number",
    Kind.BOOLEAN: "yes/no",
    Kind.DATE: "date",
    Kind.CHOICE: "choice",
    Kind.TEXT: "text",
}


def _range(f: Field) -> str:
    if f.kind is Kind.CHOICE:
        return "<br>".join(f"`{c.code}` {c.label}" for c in f.choices)
    if f.minimum is not None and f.maximum is not None:
        decimals = f", {f.decimals} decimal{'s' if f.decimals > 1 else ''}" if f.decimals else ""
        return f"{f.minimum} to {f.maximum}{decimals}"
    if f.kind is Kind.TEXT:
        return f"up to {f.max_length} characters" + (
            ", letters, digits, - and _" if f.pattern else ""
        )
    return {Kind.BOOLEAN: "1 yes, 0 no", Kind.DATE: "YYYY-MM-DD"}.get(f.kind, "")


def render() -> str:
    out = [
        "# Data dictionary",
        "",
        "Generated from `src/sijreg/domain/dictionary.py` by `sijreg dictionary`; do not edit.",
        "Every rule below is enforced wherever a value enters sijreg (sheet import, forms, API).",
        "",
        "Disclosure tells how a field leaves its site: `none` as is; `pseudonym` replaced by an",
        "analysis id; `date` turned into days since the fusion; `age` top-coded at 90;",
        "`free_text` never. No field exists for a direct identifier.",
        "",
    ]
    for form in FORMS:
        out += [f"## {form.label} (`{form.name}`)", ""]
        if form.description:
            out += [form.description, ""]
        if form.repeating:
            out += ["Repeating: a patient can have any number of these.", ""]
        out += [
            "| Field | Label | Type | Unit | Allowed values | Required | Disclosure |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for f in form.fields:
            label = f.label + (f"<br><small>{f.description}</small>" if f.description else "")
            out.append(
                f"| `{f.name}` | {label} | {_TYPE[f.kind]} | {f.unit or ''} | "
                f"{_range(f)} | {'yes' if f.required else ''} | {f.disclosure.value} |"
            )
        out.append("")
    return "\n".join(out)
