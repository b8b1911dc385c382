"""The report's figures as inline SVG: a histogram of pain relief and the responder bars."""

from __future__ import annotations

import io
from typing import Any

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sijreg.analysis.variables import RELIEF

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
