"""The report's figures as inline SVG, drawn from the report document.

Figures read the (possibly suppressed) document, so a hidden count is not drawn;
only the scatter of relief against time reads the cohort, and it is left out of a
suppressed report.
"""

from __future__ import annotations

import io
from typing import Any

import matplotlib as mpl
import numpy as np
import polars as pl
from matplotlib.figure import Figure

from sijreg.analysis.variables import RELIEF
from sijreg.report.flow import flow_stages

# Figures are made without pyplot (no global figure registry, half a second less to import).
mpl.rcParams.update({"svg.hashsalt": "sijreg", "font.size": 9})


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None}, dpi=150)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def relief_histogram(document: dict[str, Any]) -> str:
    """Patients per 10-point band of relief at the last follow-up (90-100 includes 100),
    all patients and each subgroup side by side; a suppressed band is left empty and
    marked with its marker."""
    histogram = document["histogram"]
    edges = histogram["edges"]
    series = [("All patients", histogram["counts"])] + [
        (group["label"], group["counts"]) for group in histogram["by_subgroup"].values()
    ]
    width = 10 / len(series)
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    for index, (label, counts) in enumerate(series):
        lefts = [left + index * width for left in edges[:-1]]
        heights = [c if isinstance(c, int) else np.nan for c in counts]
        axes.bar(lefts, heights, width=width, align="edge", label=label, edgecolor="white")
        for left, count in zip(lefts, counts, strict=True):
            if not isinstance(count, int):
                axes.text(left + width / 2, 0.5, count, ha="center", va="bottom", fontsize=6)
    axes.set_xlabel("Patient-reported pain relief at last follow-up (%)")
    axes.set_ylabel("Patients")
    axes.set_xticks(edges)
    axes.legend(fontsize=7, loc="upper left")
    axes.set_title(f"Pain relief (n = {document['responders']['overall']['n']})", loc="left")
    return _svg(figure)


def responder_curve(document: dict[str, Any]) -> str:
    """Share with relief >= x for every x, overall and per subgroup, with pointwise bands."""
    responders = document["responders"]
    x = np.array(responders["thresholds"], dtype=float)
    figure = Figure(figsize=(6, 3.4))
    axes = figure.subplots()
    curves = [responders["overall"], *responders["by_subgroup"].values()]
    for curve in curves:
        share = np.array([np.nan if v is None else 100 * v for v in curve["share"]])
        low = np.array([np.nan if v is None else 100 * v for v in curve["ci_low"]])
        high = np.array([np.nan if v is None else 100 * v for v in curve["ci_high"]])
        shown = ~np.isnan(share)
        (line,) = axes.step(
            x[shown], share[shown], where="post", label=f"{curve['label']} (n = {curve['n']})"
        )
        axes.fill_between(
            x[shown], low[shown], high[shown], step="post", alpha=0.15, color=line.get_color()
        )
    axes.set_xlabel("Pain relief at least x (%)")
    axes.set_ylabel("Patients (%)")
    axes.set_xlim(0, 100)
    axes.set_ylim(0, 101)
    axes.legend(fontsize=7, loc="lower left")
    axes.set_title("Cumulative responder curve (95% pointwise band)", loc="left")
    return _svg(figure)


LABELLED_SITES = 40
"""Up to this many sites the forest plot names each; more are drawn as a caterpillar plot."""


def _site_means(document: dict[str, Any]) -> list[tuple[str, float, float, float]]:
    """(label, mean, low, high) of every site with a mean; a missing interval is the mean."""
    out = []
    for code, row in document["sites"]["rows"].items():
        relief = row["relief"]
        if relief["mean"] is None:
            continue
        mean = relief["mean"]
        low = relief["ci_low"] if relief["ci_low"] is not None else mean
        high = relief["ci_high"] if relief["ci_high"] is not None else mean
        out.append((f"{code} (n = {row['n']})", mean, low, high))
    return out


def _pooled(document: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    h = document["sites"]["heterogeneity"]
    return [("Fixed effect", h["fixed"]), ("Random effects", h["random"])] if h else []


def _prediction(document: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
    """The random-effects estimate with its 95% prediction interval as whiskers, if any."""
    h = document["sites"]["heterogeneity"]
    pi = h and h.get("prediction")
    if not pi:
        return []
    return [
        (
            "95% prediction interval",
            {"estimate": h["random"]["estimate"], "ci_low": pi["low"], "ci_high": pi["high"]},
        )
    ]


def site_forest(document: dict[str, Any]) -> str:
    """Site means with 95% CIs, and the pooled estimates, as a forest plot (a caterpillar
    plot, sites ordered by their mean and not named, beyond LABELLED_SITES sites)."""
    sites, pooled = _site_means(document), _pooled(document)
    if len(sites) > LABELLED_SITES:
        return _caterpillar(sites, pooled)
    pooled += _prediction(document)
    labels = [label for label, *_ in sites]
    means, lows, highs = (np.array([site[i] for site in sites]) for i in (1, 2, 3))
    figure = Figure(figsize=(6, 0.35 * (len(labels) + len(pooled)) + 1))
    axes = figure.subplots()
    y = np.arange(len(labels) + len(pooled))[::-1]
    axes.errorbar(
        means,
        y[: len(labels)],
        xerr=[means - lows, highs - means],
        fmt="s",
        color="#3a6ea5",
        capsize=2,
    )
    for (name, p), yy in zip(pooled, y[len(labels) :], strict=True):
        axes.errorbar(
            [p["estimate"]],
            [yy],
            xerr=[[p["estimate"] - p["ci_low"]], [p["ci_high"] - p["estimate"]]],
            fmt="D",
            color="#b5442c",
            capsize=2,
        )
        labels.append(name)
    axes.set_yticks(y, labels)
    axes.set_xlabel("Pain relief at last follow-up (%), mean and 95% CI")
    axes.set_title("Sites", loc="left")
    return _svg(figure)


def _caterpillar(
    sites: list[tuple[str, float, float, float]], pooled: list[tuple[str, dict[str, float]]]
) -> str:
    """Every site's mean and 95% CI, ordered by the mean, with the pooled estimates as bands."""
    ordered = sorted(sites, key=lambda site: site[1])
    means, lows, highs = (np.array([site[i] for site in ordered]) for i in (1, 2, 3))
    rank = np.arange(1, len(ordered) + 1)
    figure = Figure(figsize=(6, 3.4))
    axes = figure.subplots()
    axes.errorbar(
        rank,
        means,
        yerr=[means - lows, highs - means],
        fmt="o",
        markersize=2,
        elinewidth=0.6,
        color="#3a6ea5",
    )
    for (name, p), colour in zip(pooled, ("#8a94a6", "#b5442c"), strict=False):
        axes.axhline(p["estimate"], color=colour, linewidth=1, label=f"{name} estimate")
        axes.axhspan(p["ci_low"], p["ci_high"], color=colour, alpha=0.15)
    axes.set_xlabel(f"Sites, ordered by mean ({len(ordered)} sites; each is in the site table)")
    axes.set_ylabel("Pain relief at last follow-up (%)")
    if pooled:
        axes.legend(fontsize=7, loc="lower right")
    axes.set_title("Sites: mean and 95% CI", loc="left")
    return _svg(figure)


SCATTER_POINTS = 5000
"""Above this many points a scatter shows a fixed random sample: more would only blot."""


def _sample(frame: pl.DataFrame) -> pl.DataFrame:
    return frame if frame.height <= SCATTER_POINTS else frame.sample(SCATTER_POINTS, seed=0)


def relief_over_time(frame: pl.DataFrame, visits: pl.DataFrame) -> str:
    """Relief at every visit (light) and at the last follow-up (dark) against days since fusion
    (at most SCATTER_POINTS of each, sampled); the points are an embedded image, the axes
    and text stay vector."""
    figure = Figure(figsize=(6, 3))
    axes = figure.subplots()
    every = _sample(  # two columns of millions of visits, not all seven
        visits.select("days_since_fusion", RELIEF.name).filter(
            pl.col(RELIEF.name).is_not_null() & (pl.col("days_since_fusion") > 0)
        )
    )
    axes.scatter(
        every.get_column("days_since_fusion").to_numpy(),
        every.get_column(RELIEF.name).to_numpy(),
        s=6,
        alpha=0.25,
        color="#8a94a6",
        label="every visit",
        rasterized=True,
    )
    last = _sample(frame.select("followup_days", RELIEF.name).drop_nulls(RELIEF.name))
    axes.scatter(
        last.get_column("followup_days").to_numpy(),
        last.get_column(RELIEF.name).to_numpy(),
        s=10,
        color="#3a6ea5",
        label="last follow-up",
        rasterized=True,
    )
    axes.set_xlabel("Days since fusion")
    axes.set_ylabel("Pain relief (%)")
    axes.set_ylim(-2, 102)
    axes.legend(fontsize=7, loc="lower right")
    axes.set_title("Pain relief against time since fusion", loc="left")
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
        shares = [table["rows"][k]["percent"] for k in keys]
        axes.bar(
            np.arange(len(keys)) + index * width,
            [np.nan if s is None else s for s in shares],
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
