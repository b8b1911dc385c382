"""report.html: one self-contained page (tables and inline SVG figures, no outside files)."""

from __future__ import annotations

from typing import Any

import polars as pl
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from sijreg.report import charts
from sijreg.report.document import cohort_sentence, provenance_line
from sijreg.report.flow import SUPPRESSED_NOTE, flow_caption
from sijreg.report.grids import extra_grids, study_grids

_ENV = Environment(
    loader=PackageLoader("sijreg.report", "templates"), autoescape=select_autoescape(["html", "j2"])
)


def render(
    document: dict[str, Any],
    frame: pl.DataFrame,
    visits: pl.DataFrame,
    *,
    title: str = "sijreg study report",
    header: Markup | None = None,
) -> str:
    """The page; the per-visit scatter only when the report is not suppressed.

    The server names the site in ``title`` and puts its navigation in ``header``.
    """
    figures = [
        (
            "histogram",
            "Patient-reported pain relief at the last follow-up.",
            charts.relief_histogram(document),
        ),
        (
            "responders",
            "Responders at each threshold (inclusive), as in Tables 2 and 3: of every analysed "
            "patient of the group, a patient without a recorded pain relief counting as a "
            "non-responder.",
            charts.responder_bars(document),
        ),
        (
            "responder-curve",
            "Share of patients with relief at least x, for x from 0 to 100 "
            f"(pointwise 95% {document['responders']['method']} band; denominator: "
            f"{document['responders']['denominator']}).",
            charts.responder_curve(document),
        ),
        ("sites", "Pain relief by site, with pooled estimates.", charts.site_forest(document)),
    ]
    if document.get("completeness", {}).get("available"):
        figures.append(
            (
                "completeness",
                "Follow-up answered at each time point: answered / due, as in the follow-up "
                "completeness table (due: answered, or the window closed; the whole registry's "
                "follow-ups whose target date fell in the report's year).",
                charts.completeness_lines(document),
            )
        )
    if "flow" in document:
        figures.append(
            (
                "flow",
                "Study flow: screened, eligible, enrolled, fused and analysed, with the reasons "
                f"for every drop. {flow_caption(document['flow'])}",
                charts.flow_diagram(document["flow"]),
            )
        )
    if document["settings"].get("suppress_small_cells") is None:
        figures.append(
            (
                "relief-over-time",
                "Pain relief against days since fusion: every visit and the last follow-up"
                f" (a random sample of at most {charts.SCATTER_POINTS:,} of each).",
                charts.relief_over_time(frame, visits),
            )
        )
    return _ENV.get_template("report.html.j2").render(
        title=title,
        header=header or "",
        cohort_sentence=cohort_sentence(document),
        tables=study_grids(document),
        extra=extra_grids(document),
        figures=[(key, caption, Markup(svg)) for key, caption, svg in figures],
        settings=document["settings"],
        software=document["software"],
        database=document["database"],
        provenance=provenance_line(document),
        flow_note=SUPPRESSED_NOTE if document["settings"].get("suppress_small_cells") else "",
    )
