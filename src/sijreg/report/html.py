"""report.html: one self-contained page (tables and inline SVG figures, no outside files)."""

from __future__ import annotations

from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from sijreg.report import charts
from sijreg.report.document import cohort_sentence, flow_caption, lines, tables_in_order

_ENV = Environment(
    loader=PackageLoader("sijreg.report", "templates"), autoescape=select_autoescape(["html", "j2"])
)


def render(document: dict[str, Any], frame: pl.DataFrame) -> str:
    tables = []
    for caption, table in tables_in_order(document):
        rendered = lines(table)
        tables.append(
            (
                caption,
                {
                    "lines": rendered,
                    "notes": table["notes"],
                    "with_missing": any(m for _, _, m in rendered),
                },
            )
        )
    return _ENV.get_template("report.html.j2").render(
        cohort_sentence=cohort_sentence(document),
        tables=tables,
        histogram=Markup(charts.relief_histogram(frame)),
        responders=Markup(charts.responder_bars(document)),
        flow=Markup(charts.flow_diagram(document["flow"])) if "flow" in document else None,
        flow_caption=flow_caption(document["flow"]) if "flow" in document else "",
        settings=document["settings"],
        software=document["software"],
        database=document["database"],
    )
