"""The report's figures, drawn from real reports: what they name and what they leave out."""

from __future__ import annotations

import itertools
import json
import math
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sijreg.analysis.cohort import build_cohort
from sijreg.analysis.tables import Settings, study_tables
from sijreg.report import charts, svg
from sijreg.report.document import build
from sijreg.report.options import Options
from sijreg.store.database import open_database
from tests.cohorts import random_registry, store
from tests.helpers import run


@pytest.mark.parametrize("sites", [5, charts.LABELLED_SITES + 5])
def test_site_figure_names_sites_only_while_readable(tmp_path: Path, sites: int) -> None:
    engine = open_database(str(tmp_path / "registry.db"))
    store(engine, random_registry(3, n=30 * sites, sites=sites))
    document = build(study_tables(build_cohort(engine), Settings()), "test")
    engine.dispose()
    with_mean = [
        code for code, row in document["sites"]["rows"].items() if row["relief"]["mean"] is not None
    ]
    assert len(with_mean) > 2
    figure = charts.site_forest(document)
    named = [code for code in with_mean if re.search(rf"\b{code} \(n = ", figure)]
    if len(with_mean) <= charts.LABELLED_SITES:
        assert named == with_mean
    else:
        assert named == []
        assert f"ordered by mean ({len(with_mean)} sites" in figure


SVG = "{http://www.w3.org/2000/svg}"


def _parse(svg: str) -> ET.Element:
    """The figure as XML: it must be well-formed, titled and described for a screen reader."""
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img"
    ids = {element.get("id"): element for element in root.iter() if element.get("id")}
    title_id, desc_id = root.get("aria-labelledby", "").split()
    assert ids[title_id].tag == f"{SVG}title"
    assert ids[title_id].text
    assert ids[desc_id].tag == f"{SVG}desc"
    assert ids[desc_id].text
    return root


def _texts(root: ET.Element) -> list[str]:
    return [element.text or "" for element in root.iter(f"{SVG}text")]


def _bar_heights(root: ET.Element) -> list[list[tuple[float, float]]]:
    """Each series' bars as (height, the bar's y), in drawing order."""
    return [
        [(float(r.get("height", "nan")), float(r.get("y", "nan"))) for r in g.iter(f"{SVG}rect")]
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "series"
    ]


def _ticks(root: ET.Element) -> list[float]:
    return [
        float(t.text or "")
        for t in root.iter(f"{SVG}text")
        if t.get("class") == "chart-tick" and t.get("text-anchor") == "end"
    ]


def test_the_demo_report_draws_its_numbers(tmp_path: Path) -> None:
    """Every figure of the demo's report.html is well-formed SVG with a title and description,
    and the bars are the document's counts and percentages to scale."""
    out = tmp_path / "report"
    result = run("demo", "-d", str(tmp_path / "demo.db"), "-o", str(out), "-q")
    assert result.exit_code == 0, result.output
    document = json.loads((out / "tables.json").read_text(encoding="utf-8"))
    page = (out / "report.html").read_text(encoding="utf-8")
    figures = dict(re.findall(r'<figure id="([^"]+)">(<svg.*?</svg>)', page, flags=re.S))
    assert set(figures) == {
        "histogram", "responders", "responder-curve", "sites", "flow", "relief-over-time",
        "completeness",
    }  # fmt: skip
    roots = {key: _parse(svg) for key, svg in figures.items()}
    assert "<script" not in page
    assert "http" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "")  # self-contained

    histogram = document["histogram"]
    series = [histogram["counts"]] + [g["counts"] for g in histogram["by_subgroup"].values()]
    drawn = _bar_heights(roots["histogram"])
    assert [len(bars) for bars in drawn] == [len(counts) for counts in series]
    counts = [c for s in series for c in s]
    heights = [h for bars in drawn for h, _ in bars]
    per_patient = max(heights) / max(counts)
    for count, height in zip(counts, heights, strict=True):
        assert height == pytest.approx(count * per_patient, abs=0.15)  # drawn to a tenth
    ticks = _ticks(roots["histogram"])
    assert ticks[0] == 0
    assert ticks[-1] >= max(counts) > ticks[-2]  # the axis ends at the first tick above
    bottom = {round(y + h, 1) for bars in drawn for h, y in bars}
    assert len(bottom) == 1  # every bar stands on the axis
    assert (ticks[-1] - ticks[0]) * per_patient == pytest.approx(
        max(bottom) - min(float(line.get("y1", "0")) for line in _tick_lines(roots["histogram"])),
        abs=0.15,
    )
    assert f"Pain relief (n = {document['table2']['n']})" in _texts(roots["histogram"])

    percents = [document["table2"]["rows"][k]["percent"] for k in document["threshold_keys"]]
    bars = _bar_heights(roots["responders"])[0]
    for percent, (height, _) in zip(percents, bars, strict=True):
        assert height == pytest.approx(percent * bars[0][0] / percents[0], abs=0.15)
    assert _ticks(roots["responders"]) == [0, 20, 40, 60, 80, 100]
    assert [t for t in _texts(roots["responders"]) if t.startswith("≥")] == [
        f"≥ {k.removeprefix('responders_')}%" for k in document["threshold_keys"]
    ]
    # the completeness line: all sites' answered % at each time point, to scale
    grid = [float(line.get("y1", "0")) for line in _tick_lines(roots["completeness"])]
    zero, hundred = max(grid), min(grid)
    line = next(
        g for g in roots["completeness"].iter(f"{SVG}g") if g.get("data-label") == "All sites"
    )
    drawn_percents = [
        100 * (zero - float(c.get("cy", "0"))) / (zero - hundred) for c in line.iter(f"{SVG}circle")
    ]
    every = document["completeness"]["sites"]["All"]
    assert drawn_percents == pytest.approx(
        [every[str(m)]["percent"] for m in document["completeness"]["months"]], abs=0.15
    )
    stages = [
        "".join(g.itertext())
        for g in roots["flow"].iter(f"{SVG}g")
        if g.get("class") == "flow-stage"
    ]
    assert stages[0] == f"Screened: {document['flow']['screened']}"
    assert stages[-1].endswith(f"analysed (Tables 1-3): {document['table1']['n']}")


def _tick_lines(root: ET.Element) -> list[ET.Element]:
    """The y axis's grid lines (one per tick)."""
    return [line for line in root.iter(f"{SVG}line") if line.get("stroke") == "#d8dde3"]


def test_a_suppressed_band_is_marked_not_drawn(tmp_path: Path) -> None:
    engine = open_database(str(tmp_path / "registry.db"))
    store(engine, random_registry(5, n=60))
    document = build(study_tables(build_cohort(engine), Settings()), "test", Options(min_cell=11))
    engine.dispose()
    counts = document["histogram"]["counts"]
    hidden = [c for c in counts if not isinstance(c, int)]
    assert hidden  # 60 patients in ten bands: some bands hold 1-10
    root = _parse(charts.relief_histogram(document))
    assert len(_bar_heights(root)[0]) == len(counts) - len(hidden)
    assert _texts(root).count(hidden[0]) >= len(hidden)


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(1e-3, 1e6, allow_nan=False),
    st.integers(2, 10),
)
def test_nice_ticks_cover_the_range_in_nice_steps(low: float, span: float, count: int) -> None:
    ticks = svg.nice_ticks(low, low + span, count)
    step = ticks[1] - ticks[0]
    assert ticks[0] <= low + 1e-6 * step  # within rounding
    assert ticks[-1] >= (low + span) - 1e-6 * step
    mantissa = step / 10 ** math.floor(math.log10(step))
    assert any(mantissa == pytest.approx(m) for m in (1, 2, 2.5, 5, 10))
    assert all(b - a == pytest.approx(step) for a, b in itertools.pairwise(ticks))
    assert len(ticks) <= 2 * count + 2  # not too many
    assert step <= span * (1 + 1e-6)  # and not too few: at least a step inside the range


def test_tick_labels_read_as_people_write_them() -> None:
    assert [svg.tick_label(t) for t in svg.nice_ticks(0, 33)] == ["0", "10", "20", "30", "40"]
    assert [svg.tick_label(t) for t in svg.nice_ticks(0, 1, 4)] == [
        "0", "0.25", "0.5", "0.75", "1"
    ]  # fmt: skip
