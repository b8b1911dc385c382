"""The report's tables as files a manuscript uses: Word (DOCX), LaTeX and CSV.

Each export draws the same grids as the report (``report.grids``), so cells match
the report exactly, suppression included, and each carries the report's provenance.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

from sijreg.report.document import provenance_line
from sijreg.report.grids import Grid, all_grids

FORMATS = ("docx", "latex", "csv")


def _latex_escape(text: str) -> str:
    replacements = {
        "\\": r"\textbackslash{}",
        "&": r"\&",
        "%": r"\%",
        "$": r"\$",
        "#": r"\#",
        "_": r"\_",
        "{": r"\{",
        "}": r"\}",
        "~": r"\textasciitilde{}",
        "^": r"\textasciicircum{}",
        "±": r"$\pm$",
        "≥": r"$\geq$",
        "²": r"\textsuperscript{2}",
        "–": "--",
        "<": r"\textless{}",
    }
    return "".join(replacements.get(ch, ch) for ch in text)


def latex(grids: list[Grid], provenance: str) -> str:
    """One booktabs ``table`` per grid; the provenance as a comment and a final line."""
    out = [f"% {provenance}", "% Requires \\usepackage{booktabs}.", ""]
    for grid in grids:
        width = len(grid.columns)
        out += [
            "\\begin{table}[htbp]",
            "\\centering",
            f"\\caption{{{_latex_escape(grid.caption)}}}",
            "\\begin{tabular}{l" + "r" * (width - 1) + "}",
            "\\toprule",
            " & ".join(_latex_escape(c) for c in grid.columns) + " \\\\",
            "\\midrule",
        ]
        for row in grid.rows:
            if len(row) == 1:
                out.append(
                    f"\\multicolumn{{{width}}}{{l}}{{\\textit{{{_latex_escape(row[0])}}}}} \\\\"
                )
            else:
                label = ("\\quad " if row[0].startswith("  ") else "") + _latex_escape(
                    row[0].strip()
                )
                out.append(" & ".join([label, *(_latex_escape(c) for c in row[1:])]) + " \\\\")
        out += ["\\bottomrule", "\\end{tabular}"]
        out += [f"\\par\\footnotesize {_latex_escape(note)}" for note in grid.notes]
        out += ["\\end{table}", ""]
    out.append(f"% end of tables; {provenance}")
    return "\n".join(out) + "\n"


def _borders(table: Any, header: Any) -> None:
    """A journal's three rules: above and below the header, below the last row."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    def rule(cell: Any, side: str) -> None:
        properties = cell._tc.get_or_add_tcPr()
        borders = properties.find(qn("w:tcBorders"))
        if borders is None:
            borders = OxmlElement("w:tcBorders")
            properties.append(borders)
        edge = OxmlElement(f"w:{side}")
        for key, value in (("w:val", "single"), ("w:sz", "8"), ("w:color", "000000")):
            edge.set(qn(key), value)
        borders.append(edge)

    for cell in header.cells:
        rule(cell, "top")
        rule(cell, "bottom")
    for cell in table.rows[-1].cells:
        rule(cell, "bottom")


def docx(grids: list[Grid], provenance: str, path: Path) -> None:
    """A Word document: one captioned table per grid, notes below, provenance at the end."""
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Pt

    document = Document()
    document.core_properties.comments = provenance
    document.core_properties.title = "sijreg study tables"
    for grid in grids:
        document.add_paragraph().add_run(grid.caption).bold = True
        table = document.add_table(rows=1, cols=len(grid.columns))
        for cell, text in zip(table.rows[0].cells, grid.columns, strict=True):
            cell.text = text
            cell.paragraphs[0].runs[0].bold = True
        for row in grid.rows:
            cells = table.add_row().cells
            if len(row) == 1:
                merged = cells[0].merge(cells[-1]) if len(cells) > 1 else cells[0]
                merged.text = row[0]
                merged.paragraphs[0].runs[0].italic = True
                continue
            for index, (cell, text) in enumerate(zip(cells, row, strict=True)):
                cell.text = text
                if index:
                    cell.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.RIGHT
        _borders(table, table.rows[0])
        for note in grid.notes:
            document.add_paragraph(note).runs[0].font.size = Pt(8)
    document.add_paragraph(provenance).runs[0].font.size = Pt(8)
    document.save(str(path))


def write_csv(grids: list[Grid], folder: Path) -> list[Path]:
    """One CSV per grid (header = the grid's columns; a heading row has one cell), the
    notes under the table as in the report: an empty row, then one note per row."""
    paths = []
    for grid in grids:
        path = folder / f"{grid.key}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(grid.columns)
            for row in grid.rows:
                writer.writerow([c.strip() for c in row])
            if grid.notes:
                writer.writerow([])
                writer.writerows([note] for note in grid.notes)
        paths.append(path)
    return paths


def export_tables(document: dict[str, Any], fmt: str, folder: Path) -> list[Path]:
    """Write the report's tables in ``fmt`` into ``folder``, with provenance.json beside them."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
    folder.mkdir(parents=True, exist_ok=True)
    grids = all_grids(document)
    line = provenance_line(document)
    if fmt == "docx":
        paths = [folder / "tables.docx"]
        docx(grids, line, paths[0])
    elif fmt == "latex":
        paths = [folder / "tables.tex"]
        paths[0].write_text(latex(grids, line), encoding="utf-8")
    else:
        paths = write_csv(grids, folder)
    stamp = folder / "provenance.json"
    stamp.write_text(json.dumps(document["provenance"], indent=2) + "\n", encoding="utf-8")
    return [*paths, stamp]
