"""The report's figures as inline SVG, drawn from the report document.

Figures read the (possibly suppressed) document, so a hidden count is not drawn;
only the scatter of relief against time reads the cohort, and it is left out of a
suppressed report. Each figure is written as SVG text by ``report.svg`` from numbers
the document already holds: no plotting library loads for a report.
"""

from __future__ import annotations

import math
from typing import Any

import polars as pl

from sijreg.analysis.variables import RELIEF
from sijreg.report.flow import flow_stages
from sijreg.report.svg import (
    FONT,
    GREY,
    PALETTE,
    WIDTH,
    Chart,
    Scale,
    attr,
    figure,
    nice_ticks,
    num,
    text_width,
)

PLOT_TOP = 34.0
"""Where a plot area starts below its title (the legend, when there is one, adds rows)."""
BELOW = 50.0
"""Room under a plot for the tick numbers and the axis title."""


def _chart(
    key: str,
    title: str,
    description: str,
    x: tuple[float, float],
    y: tuple[float, float],
    height: float,
    left: float = 64.0,
) -> Chart:
    return Chart(
        key,
        title,
        description,
        Scale(x[0], x[1], left, WIDTH - 16),
        Scale(y[0], y[1], height - BELOW, PLOT_TOP),
        height,
    )


def _series_colours(count: int) -> list[str]:
    return [PALETTE[i % len(PALETTE)] for i in range(count)]


def relief_histogram(document: dict[str, Any]) -> str:
    """Patients per 10-point band of relief at the last follow-up (90-100 includes 100),
    all patients and each subgroup side by side; a suppressed band is left empty and
    marked with its marker."""
    histogram = document["histogram"]
    edges = histogram["edges"]
    series = [("All patients", histogram["counts"])] + [
        (group["label"], group["counts"]) for group in histogram["by_subgroup"].values()
    ]
    shown = [c for _, counts in series for c in counts if isinstance(c, int)]
    ticks = nice_ticks(0, max([*shown, 1]))
    n = document["responders"]["overall"]["n"]
    chart = _chart(
        "figure-histogram",
        f"Pain relief (n = {n})",
        "Bar chart: patients in each 10-point band of pain relief at the last follow-up, "
        + "; ".join(f"{name}: " + ", ".join(str(c) for c in counts) for name, counts in series),
        (edges[0], edges[-1]),
        (0, ticks[-1]),
        300,
    )
    chart.y_axis(ticks, "Patients")
    chart.x_axis(edges, "Patient-reported pain relief at last follow-up (%)")
    band = chart.x(edges[1]) - chart.x(edges[0])
    width = (band - 4) / len(series)
    bottom = chart.y(0)
    for index, ((name, counts), colour) in enumerate(
        zip(series, _series_colours(len(series)), strict=True)
    ):
        chart.legend.append((name, colour, "box"))
        bars = []
        for low, high, count in zip(edges[:-1], edges[1:], counts, strict=True):
            left = chart.x(low) + 2 + index * width
            where = f"{name}, {low}-{high}%"
            if not isinstance(count, int):
                bars.append(
                    f'<text x="{num(left + width / 2)}" y="{num(bottom - 4)}" font-size="9" '
                    f'text-anchor="middle">{attr(count)}<title>{attr(where)}: '
                    f"suppressed</title></text>"
                )
                continue
            top = chart.y(count)
            bars.append(
                f'<rect x="{num(left)}" y="{num(top)}" width="{num(width - 1)}" '
                f'height="{num(bottom - top)}" data-count="{count}">'
                f"<title>{attr(where)}: {count} patients</title></rect>"
            )
        chart.add(f'<g class="series" fill="{colour}">{"".join(bars)}</g>')
    return chart.render()


def _step_path(xs: list[float], ys: list[float]) -> str:
    """A step line that holds each value until the next x, then steps to the next value."""
    parts = [f"M{num(xs[0])} {num(ys[0])}"]
    for x, y in zip(xs[1:], ys[1:], strict=True):
        parts.append(f"H{num(x)}V{num(y)}")
    return "".join(parts)


def responder_curve(document: dict[str, Any]) -> str:
    """Share with relief >= x for every x, overall and per subgroup, with pointwise bands."""
    responders = document["responders"]
    thresholds = responders["thresholds"]
    curves = [responders["overall"], *responders["by_subgroup"].values()]
    chart = _chart(
        "figure-responder-curve",
        "Cumulative responder curve (95% pointwise band)",
        "Step lines: the percentage of patients with pain relief at least x, for x from 0 to "
        "100, with shaded 95% pointwise bands, for "
        + ", ".join(f"{curve['label']} (n = {curve['n']})" for curve in curves),
        (0, 100),
        (0, 100),
        340,
    )
    chart.y_axis(nice_ticks(0, 100), "Patients (%)")
    chart.x_axis(nice_ticks(0, 100, 10), "Pain relief at least x (%)")
    for curve, colour in zip(curves, _series_colours(len(curves)), strict=True):
        label = f"{curve['label']} (n = {curve['n']})"
        chart.legend.append((label, colour, "line"))
        points = [
            (x, 100 * s, 100 * lo, 100 * hi)
            for x, s, lo, hi in zip(
                thresholds, curve["share"], curve["ci_low"], curve["ci_high"], strict=True
            )
            if all(v is not None and math.isfinite(v) for v in (s, lo, hi))
        ]
        if not points:
            continue
        xs = [chart.x(p[0]) for p in points]
        high = _step_path(xs, [chart.y(p[3]) for p in points])
        low = _step_path(xs[::-1], [chart.y(p[2]) for p in points][::-1]).replace("M", "L", 1)
        line = _step_path(xs, [chart.y(p[1]) for p in points])
        chart.add(
            f'<g class="series" data-label="{attr(label)}">'
            f'<path d="{high}{low}Z" fill="{colour}" fill-opacity="0.15" stroke="none"/>'
            f'<path d="{line}" fill="none" stroke="{colour}" stroke-width="2"/></g>'
        )
    return chart.render()


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


def _interval_title(name: str, mean: float, low: float, high: float) -> str:
    return f"<title>{attr(name)}: {mean:.1f} (95% CI {low:.1f} to {high:.1f})</title>"


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
    rows = [(name, mean, low, high, False) for name, mean, low, high in sites] + [
        (name, p["estimate"], p["ci_low"], p["ci_high"], True) for name, p in pooled
    ]
    values = [v for row in rows for v in row[1:4]] or [0.0, 100.0]
    ticks = nice_ticks(min(values), max(values))
    left = 24 + max([text_width(row[0]) for row in rows] + [40.0])
    row_height = 24.0
    chart = _chart(
        "figure-sites",
        "Sites",
        "Forest plot: mean pain relief at the last follow-up and its 95% confidence interval, "
        + "; ".join(f"{r[0]}: {r[1]:.1f} ({r[2]:.1f} to {r[3]:.1f})" for r in rows),
        (ticks[0], ticks[-1]),
        (len(rows), 0),
        PLOT_TOP + row_height * len(rows) + BELOW,
        left,
    )
    chart.x_axis(ticks, "Pain relief at last follow-up (%), mean and 95% CI")
    for tick in ticks:
        at = num(chart.x(tick))
        chart.add(
            f'<line x1="{at}" x2="{at}" y1="{num(chart.y.end)}" y2="{num(chart.y.start)}" '
            'stroke="#d8dde3" stroke-width="0.8"/>'
        )
    marks = []
    for index, (name, mean, low, high, is_pooled) in enumerate(rows):
        y = chart.y(index + 0.5)
        colour = PALETTE[3] if is_pooled else PALETTE[0]
        x = chart.x(mean)
        marker = (
            f'<path d="M{num(x - 6)} {num(y)}L{num(x)} {num(y - 6)}L{num(x + 6)} {num(y)}'
            f'L{num(x)} {num(y + 6)}Z" fill="{colour}"/>'
            if is_pooled
            else f'<rect x="{num(x - 4)}" y="{num(y - 4)}" width="8" height="8" fill="{colour}"/>'
        )
        marks.append(
            f'<g class="{"pooled" if is_pooled else "site"}" data-mean="{mean}">'
            f"{_interval_title(name, mean, low, high)}"
            f'<text x="{num(left - 10)}" y="{num(y)}" text-anchor="end" '
            f'dominant-baseline="middle">{attr(name)}</text>'
            f'<path d="M{num(chart.x(low))} {num(y)}H{num(chart.x(high))}'
            f'M{num(chart.x(low))} {num(y - 4)}v8M{num(chart.x(high))} {num(y - 4)}v8" '
            f'stroke="{colour}" stroke-width="1.5" fill="none"/>{marker}</g>'
        )
    if pooled:  # a rule between the sites and the pooled estimates
        rule = num(chart.y(len(sites)))
        marks.append(
            f'<line x1="8" x2="{num(chart.x.end)}" y1="{rule}" y2="{rule}" stroke="{GREY}" '
            'stroke-dasharray="3 3"/>'
        )
    chart.add("".join(marks))
    return chart.render()


def _caterpillar(
    sites: list[tuple[str, float, float, float]], pooled: list[tuple[str, dict[str, float]]]
) -> str:
    """Every site's mean and 95% CI, ordered by the mean, with the pooled estimates as bands."""
    ordered = sorted(sites, key=lambda site: site[1])
    values = [v for site in ordered for v in site[1:]] + [
        v for _, p in pooled for v in (p["ci_low"], p["ci_high"])
    ]
    ticks = nice_ticks(min(values), max(values))
    chart = _chart(
        "figure-sites",
        "Sites: mean and 95% CI",
        f"Caterpillar plot: the mean pain relief of each of {len(ordered)} sites with its 95% "
        "confidence interval, sites ordered by their mean from "
        f"{ordered[0][1]:.1f} to {ordered[-1][1]:.1f}"
        + "".join(
            f"; {name} estimate {p['estimate']:.1f} ({p['ci_low']:.1f} to {p['ci_high']:.1f})"
            for name, p in pooled
        ),
        (0, len(ordered) + 1),
        (ticks[0], ticks[-1]),
        340,
    )
    chart.y_axis(ticks, "Pain relief at last follow-up (%)")
    chart.x_axis(
        nice_ticks(0, len(ordered) + 1, 6)[:-1] if len(ordered) > 5 else list(range(1, 6)),
        f"Sites, ordered by mean ({len(ordered)} sites; each is in the site table)",
    )
    for (name, p), colour in zip(pooled, (GREY, PALETTE[3]), strict=False):
        top, bottom = chart.y(p["ci_high"]), chart.y(p["ci_low"])
        y = num(chart.y(p["estimate"]))
        chart.add(
            f'<g class="pooled">{_interval_title(name, p["estimate"], p["ci_low"], p["ci_high"])}'
            f'<rect x="{num(chart.x.start)}" y="{num(top)}" '
            f'width="{num(chart.x.end - chart.x.start)}" height="{num(bottom - top)}" '
            f'fill="{colour}" fill-opacity="0.15"/>'
            f'<line x1="{num(chart.x.start)}" x2="{num(chart.x.end)}" y1="{y}" y2="{y}" '
            f'stroke="{colour}" stroke-width="1.5"/></g>'
        )
        chart.legend.append((f"{name} estimate", colour, "line"))
    marks = []
    for rank, (_, mean, low, high) in enumerate(ordered, start=1):
        x = num(chart.x(rank))
        marks.append(  # unnamed, as the axis says: the site table names them
            f'<g class="site">{_interval_title(f"Site ranked {rank}", mean, low, high)}'
            f'<line x1="{x}" x2="{x}" y1="{num(chart.y(low))}" y2="{num(chart.y(high))}" '
            f'stroke="{PALETTE[0]}" stroke-width="1" stroke-opacity="0.7"/>'
            f'<circle cx="{x}" cy="{num(chart.y(mean))}" r="2.5" fill="{PALETTE[0]}"/></g>'
        )
    chart.add("".join(marks))
    return chart.render()


SCATTER_POINTS = 5000
"""Above this many points a scatter shows a fixed random sample: more would only blot."""


def _sample(frame: pl.DataFrame) -> pl.DataFrame:
    return frame if frame.height <= SCATTER_POINTS else frame.sample(SCATTER_POINTS, seed=0)


def _dots(chart: Chart, xs: list[float], ys: list[float]) -> str:
    """Points as one path of zero-length strokes with round caps: a dot each, in a few bytes."""
    return "".join(f"M{num(chart.x(x))} {num(chart.y(y))}h0" for x, y in zip(xs, ys, strict=True))


def relief_over_time(frame: pl.DataFrame, visits: pl.DataFrame) -> str:
    """Relief at every visit (light) and at the last follow-up (dark) against days since fusion
    (at most SCATTER_POINTS of each, sampled)."""
    every = _sample(  # two columns of millions of visits, not all seven
        visits.select("days_since_fusion", RELIEF.name).filter(
            pl.col(RELIEF.name).is_not_null() & (pl.col("days_since_fusion") > 0)
        )
    )
    last = _sample(frame.select("followup_days", RELIEF.name).drop_nulls(RELIEF.name))
    every_x = every.get_column("days_since_fusion").cast(pl.Float64).to_list()
    every_y = every.get_column(RELIEF.name).cast(pl.Float64).to_list()
    last_x = last.get_column("followup_days").cast(pl.Float64).to_list()
    last_y = last.get_column(RELIEF.name).cast(pl.Float64).to_list()
    days = nice_ticks(0, max([*every_x, *last_x, 1.0]), 8)
    chart = _chart(
        "figure-relief-over-time",
        "Pain relief against time since fusion",
        f"Scatter plot: pain relief (%) against days since fusion, {len(every_x)} visits and "
        f"{len(last_x)} last follow-ups, days from 0 to {days[-1]:g}.",
        (days[0], days[-1]),
        (-2, 102),
        300,
    )
    chart.y_axis(nice_ticks(0, 100), "Pain relief (%)")
    chart.x_axis(days, "Days since fusion")
    chart.add(
        f'<path class="every-visit" d="{_dots(chart, every_x, every_y)}" stroke="{GREY}" '
        'stroke-opacity="0.35" stroke-width="3.5" stroke-linecap="round" fill="none"/>'
        f'<path class="last-followup" d="{_dots(chart, last_x, last_y)}" stroke="{PALETTE[0]}" '
        'stroke-opacity="0.85" stroke-width="4.5" stroke-linecap="round" fill="none"/>'
    )
    chart.legend += [("every visit", GREY, "dot"), ("last follow-up", PALETTE[0], "dot")]
    return chart.render()


def responder_bars(document: dict[str, Any]) -> str:
    """Share of patients at or above each threshold, overall and per Table 3 panel."""
    groups = [("All patients", document["table2"])] + [
        (panel["title"].split(" in ", 1)[-1], panel)
        for panel in document["table3"]["panels"].values()
    ]
    keys = document["threshold_keys"]
    names = [f"≥ {k.removeprefix('responders_')}%" for k in keys]
    chart = _chart(
        "figure-responders",
        "Responders at last follow-up",
        "Bar chart: the percentage of patients at or above each relief threshold; "
        + "; ".join(
            f"{name} (n = {table['n']}): "
            + ", ".join(
                f"{t} {table['rows'][k]['percent']}%" for t, k in zip(names, keys, strict=True)
            )
            for name, table in groups
        ),
        (0, len(keys)),
        (0, 100),
        300,
    )
    chart.y_axis(nice_ticks(0, 100), "Patients (%)")
    chart.x_axis([i + 0.5 for i in range(len(keys))], "Relief threshold", names)
    width = 0.8 / len(groups)
    for index, ((name, table), colour) in enumerate(
        zip(groups, _series_colours(len(groups)), strict=True)
    ):
        label = f"{name} (n = {table['n']})"
        chart.legend.append((label, colour, "box"))
        bars = []
        for position, (threshold, key) in enumerate(zip(names, keys, strict=True)):
            share = table["rows"][key]["percent"]
            if share is None:
                continue
            left, right = (
                chart.x(position + 0.1 + index * width),
                chart.x(position + 0.1 + (index + 1) * width),
            )
            top = chart.y(share)
            bars.append(
                f'<rect x="{num(left)}" y="{num(top)}" width="{num(right - left - 1)}" '
                f'height="{num(chart.y(0) - top)}" data-percent="{share}">'
                f"<title>{attr(label)}, {threshold}: {share}%</title></rect>"
            )
        chart.add(f'<g class="series" fill="{colour}">{"".join(bars)}</g>')
    return chart.render()


SITE_LINES = len(PALETTE) - 1
"""Sites drawn one line each beside all sites; with more, only all sites are drawn."""


def completeness_lines(document: dict[str, Any]) -> str:
    """Answered % of the follow-ups due at each time point, all sites and each site (when
    few), from the completeness table; a hidden share is not drawn."""
    found = document["completeness"]
    months = found["months"]
    sites = list(found["sites"])
    shown = ["All"] + ([s for s in sites if s != "All"] if len(sites) - 1 <= SITE_LINES else [])
    chart = _chart(
        "figure-completeness",
        "Follow-up answered by time point",
        "Lines: the percentage of follow-ups due that were answered at "
        + ", ".join(f"{m} months" for m in months)
        + "; "
        + "; ".join(
            f"{'all sites' if site == 'All' else 'site ' + site}: "
            + ", ".join(
                f"{found['sites'][site][str(m)]['percent_display'] or 'not shown'}"
                + ("%" if found["sites"][site][str(m)]["percent_display"] else "")
                for m in months
            )
            for site in shown
        )
        + ("" if len(shown) == len(sites) else f"; each of {len(sites) - 1} sites as a dot"),
        (0, max(len(months), 1)),
        (0, 100),
        320,
    )
    chart.y_axis(nice_ticks(0, 100), "Answered (% of due)")
    chart.x_axis(
        [i + 0.5 for i in range(len(months))], "Months after the fusion", [str(m) for m in months]
    )
    colours = ["#1f2933", *_series_colours(len(shown) - 1)]
    if len(shown) < len(sites):  # many sites: each as a grey dot, all sites as the line
        chart.legend.append(("Each site", GREY, "dot"))
        site_dots = [
            f'<circle cx="{num(chart.x(i + 0.5))}" cy="{num(chart.y(cell["percent"]))}" r="3">'
            f"<title>Site {attr(site)}, {m} months: {cell['percent_display']}%</title></circle>"
            for site in sites
            if site != "All"
            for i, m in enumerate(months)
            if (cell := found["sites"][site][str(m)])["percent"] is not None
        ]
        chart.add(f'<g class="series" fill="{GREY}" fill-opacity="0.6">{"".join(site_dots)}</g>')
    for site, colour in zip(shown, colours, strict=True):
        label = "All sites" if site == "All" else f"Site {site}"
        chart.legend.append((label, colour, "line"))
        cells = [found["sites"][site][str(m)] for m in months]
        points = [
            (i + 0.5, cell["percent"], f"{m} months: {cell['percent_display']}%")
            for i, (m, cell) in enumerate(zip(months, cells, strict=True))
            if cell["percent"] is not None
        ]
        if not points:
            continue
        path = "".join(
            f"{'M' if k == 0 else 'L'}{num(chart.x(x))} {num(chart.y(y))}"
            for k, (x, y, _) in enumerate(points)
        )
        dots = "".join(
            f'<circle cx="{num(chart.x(x))}" cy="{num(chart.y(y))}" r="3.5">'
            f"<title>{attr(label)}, {attr(text)}</title></circle>"
            for x, y, text in points
        )
        width = 3 if site == "All" else 1.8
        chart.add(
            f'<g class="series" data-label="{attr(label)}" fill="{colour}">'
            f'<path d="{path}" fill="none" stroke="{colour}" stroke-width="{width}"/>{dots}</g>'
        )
    return chart.render()


LINE = 16.0
"""Height of a line of text in the flow diagram."""


def _box_width(lines: list[str]) -> float:
    return 16 + max(text_width(line, FONT) for line in lines)


def _box(x: float, y: float, lines: list[str], kind: str) -> str:
    """A box of text lines: a stage (rounded, tinted) or a note beside the main line."""
    width, height = _box_width(lines), 10 + LINE * len(lines)
    stage = kind == "flow-stage"
    fill, stroke, radius = ("#e8f1f8", PALETTE[0], 6) if stage else ("white", GREY, 0)
    texts = "".join(
        f'<text x="{num(x + 8)}" y="{num(y + 5 + LINE * (i + 0.5))}" '
        f'dominant-baseline="middle">{attr(line)}</text>'
        for i, line in enumerate(lines)
    )
    return (
        f'<g class="{kind}"><rect x="{num(x)}" y="{num(y)}" width="{num(width)}" '
        f'height="{num(height)}" rx="{radius}" fill="{fill}" stroke="{stroke}"/>{texts}</g>'
    )


def _arrow(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return (
        f'<line x1="{num(x1)}" y1="{num(y1)}" x2="{num(x2)}" y2="{num(y2)}" stroke="{colour}" '
        f'stroke-width="1.3" marker-end="url(#flow-arrow-{colour[1:]})"/>'
    )


def flow_diagram(flow: dict[str, Any]) -> str:
    """The study flow as boxes and arrows: stages down the left, who leaves or joins beside.

    Text stays text in the SVG, so the counts can be read and searched.
    """
    stages = flow_stages(flow)
    main_x = 8 + max(_box_width([stage.box]) for stage in stages) / 2
    side_x, blue, right = main_x + 40, PALETTE[0], float(WIDTH)
    out: list[str] = []
    y = PLOT_TOP + 6
    for index, stage in enumerate(stages):
        box_height = 10 + LINE
        out.append(_box(main_x - _box_width([stage.box]) / 2, y, [stage.box], "flow-stage"))
        if index + 1 == len(stages):
            y += box_height
            break
        top = y + box_height
        notes = [f"– {n.strip()}" if n.startswith(" ") else n for n in stage.leaving]
        cursor = top + 14
        side = []
        leave_height = 10 + LINE * len(notes)
        middle = cursor + leave_height / 2
        side += [
            _box(side_x, cursor, notes, "flow-note"),
            _arrow(main_x, middle, side_x - 1, middle, GREY),
        ]
        right = max(right, side_x + _box_width(notes) + 8)
        cursor += leave_height + 8
        if stage.joining:
            join_height = 10 + LINE * len(stage.joining)
            middle = cursor + join_height / 2
            side += [
                _box(side_x, cursor, stage.joining, "flow-note"),
                _arrow(side_x, middle, main_x + 3, middle, GREY),
            ]
            right = max(right, side_x + _box_width(stage.joining) + 8)
            cursor += join_height + 8
        below = cursor + 6
        out.append(_arrow(main_x, top, main_x, below - 2, blue))
        out.extend(side)
        y = below
    height = y + 16
    markers = "".join(
        f'<marker id="flow-arrow-{colour[1:]}" viewBox="0 0 10 10" refX="9" refY="5" '
        f'markerWidth="7" markerHeight="7" orient="auto-start-reverse">'
        f'<path d="M0 0L10 5L0 10Z" fill="{colour}"/></marker>'
        for colour in (blue, GREY)
    )
    description = "Flow diagram: " + "; ".join(
        stage.box + "".join(f", {n.strip()}" for n in stage.leaving + stage.joining)
        for stage in stages
    )
    return figure(
        "figure-flow",
        "Study flow",
        description,
        (right, height),
        f"<defs>{markers}</defs>{''.join(out)}",
    )
