"""The report's figures as inline SVG: a histogram of pain relief and the responder bars."""

from __future__ import annotations

import io
from typing import Any

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sijreg.analysis.variables import RELIEF
from sijreg.report.document import flow_stages

mpl.rcParams.update({"svg.hashsalt": "sijreg", "font.size": 9})


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def relief_histogram(frame: pl.DataFrame) -> str:
    """Patients per 10-point band of pain relief at the last follow-up (90-100 includes 100)."""
    values = frame.get_column(RELIEF.name).drop_nulls().to_numpy()
    counts, edges = np.histogram(values, bins=np.arange(0, 101, 10))
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    axes.bar(edges[:-1], counts, width=10, align="edge", color="#3a6ea5", edgecolor="white")
    axes.set_xlabel("Patient-reported pain relief at last follow-up (%)")
    axes.set_ylabel("Patients")
    axes.set_xticks(edges)
    axes.set_title(f"Pain relief (n = {len(values)})", loc="left")
    return _svg(figure)


def responder_bars(document: dict[str, Any]) -> str:
    """Share of patients at or above each threshold, overall and per Table 3 panel."""
    groups = [("All patients", document["table2"])] + [
        (panel["title"].split(" in ", 1)[-1], panel)
        for panel in document["table3"]["panels"].values()
    ]
    keys = document["threshold_keys"]
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    width = 0.8 / len(groups)
    for index, (name, table) in enumerate(groups):
        shares = [table["rows"][k]["percent"] or 0.0 for k in keys]
        axes.bar(
            np.arange(len(keys)) + index * width,
            shares,
            width=width,
            label=f"{name} (n = {table['n']})",
        )
    axes.set_xticks(
        np.arange(len(keys)) + width * (len(groups) - 1) / 2,
        [f"≥ {k.removeprefix('responders_')}%" for k in keys],
    )
    axes.set_ylabel("Patients (%)")
    axes.set_ylim(0, 100)
    axes.legend(fontsize=7, loc="lower left")
    axes.set_title("Responders at last follow-up", loc="left")
    return _svg(figure)


def _side_box(axes: Any, x: float, y: float, notes: list[str], main_x: float, inward: bool) -> None:
    """A box of notes at height ``y`` with an arrow from the main line (or into it)."""
    ends = ((x - 0.01, y), (main_x, y))
    axes.annotate(
        "",
        xy=ends[1] if inward else ends[0],
        xytext=ends[0] if inward else ends[1],
        arrowprops={"arrowstyle": "-|>", "color": "#8a94a6"},
    )
    axes.text(
        x,
        y,
        "\n".join(f"– {note.strip()}" if note.startswith(" ") else note for note in notes),
        ha="left",
        va="center",
        fontsize=8,
        bbox={"boxstyle": "square,pad=0.4", "fc": "white", "ec": "#8a94a6"},
    )


def flow_diagram(flow: dict[str, Any]) -> str:
    """The study flow as boxes and arrows: stages down the middle, who leaves or joins beside.

    Text stays text in the SVG (not paths), so the counts can be read and searched.
    """
    stages = flow_stages(flow)
    gaps = [
        max(3.0, len(s.leaving) + len(s.joining) + (2.5 if s.joining else 1.5)) for s in stages[:-1]
    ]
    heights = [0.0]
    for gap in gaps:
        heights.append(heights[-1] - gap)
    with mpl.rc_context({"svg.fonttype": "none"}):
        figure = Figure(figsize=(7.5, 0.22 * (2 - heights[-1]) + 0.6))
        axes = figure.subplots()
        axes.set_xlim(0, 1)
        axes.set_ylim(heights[-1] - 1, 1)
        axes.axis("off")
        main_x, side_x = 0.2, 0.45
        for index, (stage, y) in enumerate(zip(stages, heights, strict=True)):
            axes.text(
                main_x,
                y,
                stage.box,
                ha="center",
                va="center",
                bbox={"boxstyle": "round,pad=0.5", "fc": "#e8eef6", "ec": "#3a6ea5"},
            )
            if index + 1 == len(stages):
                continue
            below = heights[index + 1]
            axes.annotate(
                "",
                xy=(main_x, below + 0.7),
                xytext=(main_x, y - 0.7),
                arrowprops={"arrowstyle": "-|>", "color": "#3a6ea5"},
            )
            if stage.joining:
                _side_box(
                    axes, side_x, y - 1.2 - len(stage.leaving) / 2, stage.leaving, main_x, False
                )
                _side_box(
                    axes, side_x, below + 1.2 + len(stage.joining) / 2, stage.joining, main_x, True
                )
            else:
                _side_box(axes, side_x, (y + below) / 2, stage.leaving, main_x, False)
        axes.set_title("Study flow", loc="left")
        return _svg(figure)
