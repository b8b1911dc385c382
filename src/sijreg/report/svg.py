"""Drawing a chart as SVG text: scales, "nice" ticks, axes, legends and accessible titles.

The report's figures are bars, step lines, error bars and a few thousand points, drawn
straight from numbers the document already holds; writing their SVG takes milliseconds
where a plotting library took most of a second to import and another to draw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from html import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#56B4E9", "#CC79A7", "#F0E442")
"""Okabe and Ito's colour-blind-safe colours (blue, orange, green, vermillion, sky blue,
purple, yellow), in the order series take them."""
GREY = "#6b7280"
INK = "#1f2933"
FONT = 12
"""Text size in the figure's own units (a figure is WIDTH units wide)."""
WIDTH = 640
TICK = 'class="chart-tick" font-size="11" fill="#3e4c59"'


def text_width(text: str, size: float = FONT) -> float:
    """About how wide ``text`` is drawn in a sans-serif font (for laying out, not measuring)."""
    return 0.56 * size * len(text)


def attr(value: object) -> str:
    """A value for an attribute or text node."""
    return escape(str(value), quote=True)


def num(value: float) -> str:
    """A coordinate, rounded to a tenth of a unit (finer is invisible)."""
    rounded = round(value, 1)
    return str(int(rounded)) if rounded == int(rounded) else str(rounded)


def nice_step(span: float, count: int) -> float:
    """The step of about ``count`` ticks across ``span``: 1, 2, 2.5 or 5 times a power of ten."""
    raw = span / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1.0
    for factor in (1, 2, 2.5, 5, 10):
        if factor * magnitude >= raw:
            return factor * magnitude
    return 10 * magnitude  # pragma: no cover  (the loop ends at 10, which is >= raw)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Ticks at a nice step covering ``low`` to ``high`` (the first at or below ``low``, the
    last at or above ``high``)."""
    if high <= low:
        high = low + 1
    step = nice_step(high - low, count)
    decimals = max(0, 2 - math.floor(math.log10(step)))  # 2.5 x 10^k needs one more digit
    first, last = math.floor(low / step + 1e-9), math.ceil(high / step - 1e-9)
    return [round(k * step, decimals) for k in range(first, last + 1)]


def tick_label(value: float) -> str:
    """A tick's number as people write it: 20, 2.5, 0.25 (no trailing zeros)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


@dataclass(frozen=True)
class Scale:
    """A linear map from data values (``low``..``high``) to figure units (``start``..``end``)."""

    low: float
    high: float
    start: float
    end: float

    def __call__(self, value: float) -> float:
        span = self.high - self.low or 1.0
        return self.start + (value - self.low) / span * (self.end - self.start)


@dataclass
class Chart:
    """One figure: a plot area with two scales, its marks, axes, legend and title.

    Marks are SVG elements in plot coordinates (``x``, ``y`` map data to them); ``render``
    wraps them with the title, the legend above the plot, the axes and an accessible
    ``<title>`` and ``<desc>``.
    """

    key: str
    """Unique in the page: the <title> and <desc> ids derive from it."""
    title: str
    description: str
    """What the figure shows in words, for a screen reader."""
    x: Scale
    y: Scale
    height: float
    marks: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)
    legend: list[tuple[str, str, str]] = field(default_factory=list)
    """(label, colour, symbol: "box", "line" or "dot")."""

    def add(self, element: str) -> None:
        self.marks.append(element)

    def x_axis(self, ticks: Sequence[float], title: str, labels: Sequence[str] = ()) -> None:
        """Tick marks and numbers (or ``labels``) below the plot, and the axis title."""
        bottom = self.y.start
        out = [
            f'<line x1="{num(self.x.start)}" x2="{num(self.x.end)}" y1="{num(bottom)}" '
            f'y2="{num(bottom)}" stroke="{INK}"/>'
        ]
        for index, tick in enumerate(ticks):
            at = num(self.x(tick))
            text = labels[index] if labels else tick_label(tick)
            out.append(
                f'<line x1="{at}" x2="{at}" y1="{num(bottom)}" y2="{num(bottom + 5)}" '
                f'stroke="{INK}"/><text {TICK} x="{at}" y="{num(bottom + 18)}" '
                f'text-anchor="middle">{attr(text)}</text>'
            )
        middle = num((self.x.start + self.x.end) / 2)
        out.append(
            f'<text class="chart-axis-title" x="{middle}" y="{num(bottom + 38)}" '
            f'text-anchor="middle">{attr(title)}</text>'
        )
        self.axes.append("".join(out))

    def y_axis(self, ticks: Sequence[float], title: str, grid: bool = True) -> None:
        """Tick marks, numbers and light grid lines left of the plot, and the axis title."""
        left = self.x.start
        out = [
            f'<line x1="{num(left)}" x2="{num(left)}" y1="{num(self.y.start)}" '
            f'y2="{num(self.y.end)}" stroke="{INK}"/>'
        ]
        for tick in ticks:
            at = num(self.y(tick))
            if grid:
                out.append(
                    f'<line x1="{num(left)}" x2="{num(self.x.end)}" y1="{at}" y2="{at}" '
                    'stroke="#d8dde3" stroke-width="0.8"/>'
                )
            out.append(
                f'<line x1="{num(left - 5)}" x2="{num(left)}" y1="{at}" y2="{at}" '
                f'stroke="{INK}"/><text {TICK} x="{num(left - 8)}" y="{at}" '
                f'text-anchor="end" dominant-baseline="middle">{tick_label(tick)}</text>'
            )
        middle = num((self.y.start + self.y.end) / 2)
        out.append(
            f'<text class="chart-axis-title" transform="translate(16 {middle}) rotate(-90)" '
            f'text-anchor="middle">{attr(title)}</text>'
        )
        self.axes.insert(0, "".join(out))  # grid lines under the marks' axis line

    def render(self) -> str:
        """The figure as one <svg> element, self-contained (no outside fonts or styles)."""
        legend, legend_height = _legend(self.legend, min(self.x.start, 64), 30)
        shift = legend_height
        body = "".join(self.axes[:1] + self.marks + self.axes[1:])
        return figure(
            self.key,
            self.title,
            self.description,
            (WIDTH, self.height + shift),
            f'{legend}<g transform="translate(0 {num(shift)})">{body}</g>',
        )


def figure(key: str, title: str, description: str, size: tuple[float, float], body: str) -> str:
    """An <svg> element, self-contained (no outside fonts or styles), with ``title`` shown
    at its top and named, with ``description``, to a screen reader."""
    width, height = num(size[0]), num(size[1])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        f'aria-labelledby="{key}-title {key}-desc" font-family="system-ui, -apple-system, '
        f"'Segoe UI', Roboto, 'Helvetica Neue', Arial, sans-serif\" font-size=\"{FONT}\" "
        f'fill="{INK}"><title id="{key}-title">{attr(title)}</title>'
        f'<desc id="{key}-desc">{attr(description)}</desc>'
        f'<text class="chart-title" font-size="14" font-weight="600" x="8" y="18">'
        f"{attr(title)}</text>{body}</svg>"
    )


def _legend(items: Sequence[tuple[str, str, str]], left: float, top: float) -> tuple[str, float]:
    """The legend as rows of (symbol, label) under the title; and the height it takes."""
    if not items:
        return "", 0.0
    out, x, y = [], left, top
    for label, colour, symbol in items:
        width = 22 + text_width(label) + 18
        if x > left and x + width > WIDTH - 10:
            x, y = left, y + 18
        if symbol == "line":
            mark = (
                f'<line x1="{num(x)}" x2="{num(x + 16)}" y1="{num(y)}" y2="{num(y)}" '
                f'stroke="{colour}" stroke-width="2.5"/>'
            )
        elif symbol == "dot":
            mark = f'<circle cx="{num(x + 8)}" cy="{num(y)}" r="4" fill="{colour}"/>'
        else:
            mark = (
                f'<rect x="{num(x + 2)}" y="{num(y - 6)}" width="12" height="12" fill="{colour}"/>'
            )
        out.append(
            f'{mark}<text x="{num(x + 22)}" y="{num(y)}" dominant-baseline="middle">'
            f"{attr(label)}</text>"
        )
        x += width
    return f'<g class="chart-legend">{"".join(out)}</g>', y - top + 22
