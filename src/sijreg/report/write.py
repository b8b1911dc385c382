"""Writing a report folder: report.html, tables.md and tables.json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sijreg.analysis.flow import Flow
from sijreg.analysis.tables import StudyTables
from sijreg.report import document, html, markdown
from sijreg.report.options import Options

if TYPE_CHECKING:
    from collections.abc import Callable

    from sijreg.analysis.completeness import Completeness

FILES = ("report.html", "tables.md", "tables.json")


def write_report(
    tables: StudyTables,
    out: Path,
    database: str,
    options: Options | None = None,
    *,
    flow: Flow | None = None,
    origin: dict[str, Any] | None = None,
    completeness: Completeness | Callable[[], Completeness] | None = None,
    data_quality: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the three report files into ``out`` (created if needed); return the document."""
    doc = document.build(
        tables,
        database,
        options,
        flow=flow,
        origin=origin,
        completeness=completeness,
        data_quality=data_quality,
    )
    write_document(doc, tables, out)
    return doc


def write_document(doc: dict[str, Any], tables: StudyTables, out: Path) -> None:
    """Render a built report document (with its cohort's frames for the figures) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "tables.json").write_text(  # allow_nan=False: strict JSON or nothing
        json.dumps(doc, indent=2, ensure_ascii=False, allow_nan=False) + "\n", encoding="utf-8"
    )
    (out / "tables.md").write_text(markdown.render(doc), encoding="utf-8")
    (out / "report.html").write_text(
        html.render(doc, tables.cohort.frame, tables.cohort.visits), encoding="utf-8"
    )
