"""An attacker with every file a suppressed report publishes tries to undo the suppression.

The files (with follow-up completeness and its responder rates): tables.json, tables.md,
report.html and the table exports (CSV, DOCX, LaTeX).
The truth: the same report unsuppressed. The attacks:

* exact fractions: a mean of one-decimal values is S / (10 n), a sample variance
  (n Q - S²) / (100 n (n - 1)), a percentage 100 k / n; for every statistic whose group
  size is hidden, search every n up to the registry's size (within the marker's range)
  for one that fits the published mean, SD and interval to the precision they are
  published with; a single fit is a recovered count;
* loose figures: every number anywhere in every file that carries more decimals than a
  table shows is a fraction whose smallest denominators are tried as counts;
* small groups: a group of 1-10 patients must have no figure at all (a mean without an
  SD is one patient's value); its true mean ± SD must not appear in any file's tables;
* subtraction across tables: with nothing recovered above, the attacker knows exactly the
  shown counts, and the linear-program audit of ``test_disclosure`` proves no hidden count
  follows from them by adding and subtracting.

Figures are drawn from the published (rounded, suppressed) document; the SVG drawing
coordinates are left to that (the text inside the SVGs is attacked like any text).
"""

from __future__ import annotations

import csv
import html
import math
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import date
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from docx import Document
from scipy import stats

from sijreg.analysis.cohort import read_registry, select_cohort
from sijreg.analysis.completeness import registry_completeness
from sijreg.analysis.tables import Settings, study_tables
from sijreg.domain.records import PatientRecord
from sijreg.domain.schedule import DEFAULT_WINDOWS
from sijreg.interop import table_export
from sijreg.report.disclosure import Cells, as_displayed
from sijreg.report.document import build
from sijreg.report.options import Options
from sijreg.report.write import write_document
from tests.cohorts import random_registry, store
from tests.helpers import read_tables
from tests.test_disclosure import audit

MIN_CELL = 11
AS_OF = date(2021, 3, 1)
"""Follow-up completeness is counted on this day: some windows closed, some still open."""
SCALE = 10
"""Values carry at most one decimal: every mean is a multiple of 1/(10 n)."""
MARKERS = (f"<{MIN_CELL}", "*")
Keys = tuple[str, ...]


def _cohort(seed: int) -> list[PatientRecord]:
    """Random patients over four sites plus a site of one and a site of three, four men."""
    records = random_registry(seed, n=70, sites=4)
    records = [
        replace(r, site_code="S8") if i == 0 else replace(r, site_code="S9") if i < 4 else r
        for i, r in enumerate(records)
    ]
    for index, record in enumerate(records):
        record.patient["sex"] = "M" if index % 17 == 5 else "F"
    return records


def _walk(node: Any, path: Keys = ()) -> Iterator[tuple[Keys, Any]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _walk(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _walk(value, (*path, str(index)))
    else:
        yield path, node


def _at(node: Any, path: Keys) -> Any:
    for key in path:
        if isinstance(node, list):
            node = node[int(key)] if int(key) < len(node) else None
        elif isinstance(node, dict):
            node = node.get(key)
        else:
            return None
    return node


def _blocks(node: Any, path: Keys = ()) -> Iterator[tuple[Keys, dict[str, Any]]]:
    """Every dict that states a group's size ``n`` beside figures of that group."""
    if isinstance(node, dict):
        if "n" in node and ({"mean", "percent", "spearman_rho"} & node.keys()):
            yield path, node
        for key, value in node.items():
            yield from _blocks(value, (*path, str(key)))


def _tolerance(value: float) -> float:
    """Half a unit of the last decimal the number is published with (its repr), and the
    float arithmetic's own error."""
    text = repr(value)
    decimals = len(text.split(".")[1]) if "." in text and "e" not in text else 17
    return 0.5 * 10.0**-decimals + 1e-12 * abs(value)


def _fits(block: dict[str, Any], n: int) -> bool:
    """Whether n values of one decimal can give the block's published mean, SD and interval."""
    mean, sd = block.get("mean"), block.get("sd")
    if isinstance(mean, float):
        if _distance(mean * SCALE * n) > SCALE * n * _tolerance(mean):
            return False
        if sd is None and n > 1:
            return False  # a mean without an SD: one value
    if isinstance(sd, float):
        if n < 2:
            return False
        width = 2 * sd * _tolerance(sd) + _tolerance(sd) ** 2
        square = sd * sd * SCALE * SCALE * n * (n - 1)
        if _distance(square) > SCALE * SCALE * n * (n - 1) * width + 1e-6:
            return False
    low = block.get("ci_low")
    if isinstance(low, float) and isinstance(mean, float) and isinstance(sd, float) and n > 1:
        half = stats.t.ppf(0.975, n - 1) * sd / math.sqrt(n)
        slack = _tolerance(low) + _tolerance(mean) + _tolerance(sd) * 3
        if abs(mean - half - low) > slack:
            return False
    return True


def _distance(x: float) -> float:
    return abs(x - round(x))


def _candidates(block: dict[str, Any], marker: str, most: int) -> list[int]:
    span = range(1, MIN_CELL) if marker == MARKERS[0] else range(MIN_CELL, most + 1)
    return [n for n in span if _fits(block, n)]


def _texts(folder: Path) -> dict[str, str]:
    """Every published file as text (SVG drawing paths left out, SVG text kept)."""
    out: dict[str, str] = {}
    for path in sorted(folder.rglob("*")):
        if path.suffix in (".json", ".md", ".csv", ".tex"):
            out[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")
        elif path.suffix == ".html":
            page = path.read_text(encoding="utf-8")
            svg_text = re.findall(r"<!-- (.*?) -->|<text[^>]*>(.*?)</text>", page, re.S)
            words = " ".join(comment + text for comment, text in svg_text)
            out[str(path.relative_to(folder))] = (
                re.sub(r"<svg.*?</svg>", " ", page, flags=re.S) + words
            )
        elif path.suffix == ".docx":
            word = Document(str(path))
            cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
            out[str(path.relative_to(folder))] = "\n".join(
                [*(p.text for p in word.paragraphs), *cells]
            )
    return out


def _cells(folder: Path) -> set[str]:
    """Every table cell of every published file."""
    cells: set[str] = set()
    for path in folder.rglob("*.csv"):
        with path.open(encoding="utf-8") as handle:
            cells |= {c for row in csv.reader(handle) for c in row}
    for path in folder.rglob("*.docx"):
        word = Document(str(path))
        cells |= {c.text for t in word.tables for row in t.rows for c in row.cells}
    for path in folder.rglob("*.md"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.startswith("|"):
                cells |= {c.strip().replace("\\|", "|") for c in line.strip("|").split(" | ")}
    for path in folder.rglob("*.html"):
        page = path.read_text(encoding="utf-8")
        cells |= {html.unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", page, re.S)}
    for path in folder.rglob("*.tex"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.endswith("\\\\"):
                for cell in line[:-2].split(" & "):
                    cells.add(
                        cell.strip()
                        .replace("$\\pm$", "±")
                        .replace("\\%", "%")
                        .replace("\\textless{}", "<")
                        .replace("--", "–")
                    )
    return cells


def _loose_denominators(text: str, most: int) -> set[int]:
    """The counts a number with more decimals than any table shows could be the n of."""
    found: set[int] = set()
    for match in re.finditer(r"-?\d+\.(\d{4,})", text):
        value = Fraction(match.group(0))
        for scale in (1, SCALE, Fraction(1, 100)):  # a mean, a mean of decimals, a percentage
            fraction = value * scale
            found |= {n for n in range(1, most + 1) if _distance(float(fraction * n)) < 1e-6}
    return found


def _publish(engine: sa.Engine, folder: Path, seed: int) -> tuple[dict[str, Any], Cells, int]:
    """Write every suppressed output into ``folder``; return the truth, the record, the n."""
    records = _cohort(seed)
    store(engine, records)
    registry = read_registry(engine)
    tables = study_tables(select_cohort(registry), Settings(compare=("fbss", "sex", "site")))
    follow_up = registry_completeness(registry, AS_OF, DEFAULT_WINDOWS)
    truth = build(tables, "test", Options(ci=True), completeness=follow_up)
    recorder = Cells()
    options = Options(ci=True, min_cell=MIN_CELL)
    document = build(tables, "test", options, record=recorder, completeness=follow_up)
    write_document(document, tables, folder / "report")
    for fmt in table_export.FORMATS:
        table_export.export_tables(document, fmt, folder / fmt)
    return truth, recorder, len(records)


@pytest.mark.parametrize("seed", [3, 41])
def test_no_hidden_count_or_small_group_can_be_recovered(
    engine: sa.Engine, tmp_path: Path, seed: int
) -> None:
    truth, recorder, registered = _publish(engine, tmp_path, seed)
    published = read_tables(tmp_path / "report")

    hidden = {
        path: value
        for path, value in _walk(truth)
        if isinstance(value, int) and _at(published, path) in MARKERS
    }
    assert any(0 < v < MIN_CELL for v in hidden.values())  # the cohort has small cells
    assert any(path[0] == "completeness" for path in hidden)  # and so has completeness

    # Exact fractions: a statistic whose n is hidden must fit many n, never exactly one.
    recovered = []
    for path, block in _blocks(published):
        marker = block["n"]
        if marker in MARKERS:
            fits = _candidates(block, marker, registered)
            if len(fits) == 1 and fits == [hidden.get((*path, "n"))]:
                recovered.append(f"{'.'.join(path)}: n = {fits[0]}")
    assert recovered == []

    # Loose figures: no number in any file carries more decimals than a table shows.
    texts = _texts(tmp_path)
    assert {"report/tables.json", "report/tables.md", "csv/table1.csv"} <= set(texts)
    assert {"report/report.html", "docx/tables.docx", "latex/tables.tex"} <= set(texts)
    loose = {
        name: sorted(_loose_denominators(text, registered) & set(hidden.values()))
        for name, text in texts.items()
    }
    assert all(not counts for counts in loose.values()), loose

    # Small groups: no figure of a group of 1-10 patients, in tables.json or any table.
    cells = _cells(tmp_path)
    for path, block in _blocks(truth):
        if isinstance(block["n"], int) and 0 < block["n"] < MIN_CELL:
            shown = _at(published, path)
            for key, value in _walk(shown):
                if key and key[-1] in ("n", "count", "missing"):
                    assert value == 0 or value in MARKERS or value >= MIN_CELL, (path, key)
                elif key and key[-1].endswith("display"):
                    assert value is None or value in MARKERS, (path, key, value)
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    pytest.fail(f"{'.'.join(path + key)} = {value} describes {block['n']}")
            display = block.get("display")
            if block.get("mean") is not None and isinstance(display, str) and "±" in display:
                assert not any(display in cell for cell in cells), (path, display)
            if block.get("mean") is not None and block.get("sd") is None:
                assert shown["mean"] is None, path  # one patient's own value

    # Subtraction: the shown counts (all the attacker has left) determine no hidden one.
    assert audit(recorder.seen, recorder.decided(MIN_CELL).hidden, MIN_CELL) == []


def test_figures_are_published_as_displayed() -> None:
    """Rule 5 on its own: the table's decimals, exact on ties, for figures no rule names too."""
    document = {
        "settings": {"confidence": 0.95123},
        "table": {"mean": 0.15, "sd": np.float64(2.345678), "p": 0.0456789, "smd": -0.18760001},
        "pooled": {
            "rr": 1.23456,
            "rr_display": "1.23",
            "new_figure": 12.3456789,
            "p_holm": 0.01234,
        },
        "responders": {"share": [0.123456, None], "n": 11},
    }
    assert as_displayed(document) == {
        "settings": {"confidence": 0.95123},
        "table": {"mean": 0.2, "sd": 2.3, "p": 0.046, "smd": -0.19},
        "pooled": {"rr": 1.23, "rr_display": "1.23", "new_figure": 12.3, "p_holm": 0.012},
        "responders": {"share": [0.123, None], "n": 11},
    }
