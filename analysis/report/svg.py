"""Report charts written directly as SVG text: panels of lines, points, bars and cells.

The report's figures are simple (lines, points, bars, coloured cells on linear axes), and a
validation report holds dozens of small panels. Drawing them with matplotlib costs its import
(~0.4 s) and per-axes tick and text layout (~30 ms an axes): most of the time of writing the
report. Here each figure is a few hundred SVG elements written as text (milliseconds), and the
browser lays out the text, so the figures stay sharp at any zoom and in print. The report embeds
them as ``<img src="data:image/svg+xml;base64,...">`` (:meth:`HtmlReport.svg_figure`), so a
figure's styles and ids never meet the page's.

:mod:`analysis.report.plots` keeps the matplotlib versions (an ``ax=`` to draw on) for notebooks.

Examples
--------
>>> chart = Svg(320, 220)
>>> panel = chart.panel(50, 20, 250, 150, xlim=(0, 2), ylim=(0, 1), xlabel="x", ylabel="y")
>>> panel.line([0, 1, 2], [0.1, 0.5, 0.9], colour=COLOURS[0])
>>> chart.render().startswith("<svg")
True
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["COLOURS", "Panel", "Svg", "nice_ticks"]

#: matplotlib's default colour cycle (tab10), so these figures look like those of plots.py.
COLOURS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)
_FONT = "DejaVu Sans, Arial, Helvetica, sans-serif"
_DASHES = {"dashed": "5,3", "dotted": "1.5,2.5", "dashdot": "6,2,1.5,2"}


def nice_ticks(low: float, high: float, n: int = 5) -> np.ndarray:
    """At most about ``n`` + 1 round tick values (steps 1, 2, 2.5 or 5 × 10^k) within [low, high].

    Examples
    --------
    >>> nice_ticks(-4, 4).tolist()
    [-4.0, -2.0, 0.0, 2.0, 4.0]
    >>> nice_ticks(0, 1).tolist()
    [0.0, 0.2, 0.4, 0.6, 0.8, 1.0]
    """
    span = high - low
    if not (math.isfinite(span) and span > 0):
        return np.array([low])
    magnitude = 10 ** math.floor(math.log10(span / n))
    step = magnitude
    for m in (1, 2, 2.5, 5, 10):
        step = m * magnitude
        if span / step <= n + 1e-9:
            break
    start = math.ceil(low / step - 1e-9) * step
    return np.round(np.arange(start, high + step * 1e-6, step), 10)


def number(value: float) -> str:
    """A tick label: shortest form, typographic minus."""
    text = f"{value:.6g}"
    return "0" if text in ("-0", "0") else text.replace("-", "−")


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


@dataclass
class Panel:
    """A rectangle of the figure with linear x and y scales; data are drawn in data units."""

    left: float
    top: float
    width: float
    height: float
    xlim: tuple[float, float]
    ylim: tuple[float, float]
    parts: list[str] = field(default_factory=list, repr=False)

    def x(self, values) -> np.ndarray:
        x0, x1 = self.xlim
        return self.left + (np.asarray(values, dtype=float) - x0) / (x1 - x0) * self.width

    def y(self, values) -> np.ndarray:
        y0, y1 = self.ylim
        return (
            self.top
            + self.height
            - (np.asarray(values, dtype=float) - y0) / (y1 - y0) * self.height
        )

    def line(
        self,
        xs,
        ys,
        *,
        colour: str,
        width: float = 1.3,
        style: str = "solid",
        label: str = "",
    ) -> None:
        """A polyline through the finite points (a gap where x or y is missing)."""
        px, py = self.x(xs), self.y(ys)
        ok = np.isfinite(px) & np.isfinite(py)
        dash = f' stroke-dasharray="{_DASHES[style]}"' if style in _DASHES else ""
        title = f"<title>{_attr(label)}</title>" if label else ""
        # Split at missing points so a gap shows as a gap.
        breaks = np.flatnonzero(np.diff(ok.astype(np.int8)) != 0) + 1
        for segment in np.split(np.arange(len(px)), breaks):
            if len(segment) < 2 or not ok[segment[0]]:
                continue
            points = " ".join(
                map("{:.1f},{:.1f}".format, px[segment].tolist(), py[segment].tolist())
            )
            self.parts.append(
                f'<polyline points="{points}" fill="none" stroke="{colour}" '
                f'stroke-width="{width}" stroke-linejoin="round"{dash}>{title}</polyline>'
            )

    def hline(
        self, value: float, *, colour: str = "#808080", width: float = 0.8, style: str = "solid"
    ) -> None:
        self.line(self.xlim, [value, value], colour=colour, width=width, style=style)

    def vline(self, value: float, *, colour: str = "#000000", width: float = 0.8) -> None:
        x = float(self.x(value))
        self.parts.append(
            f'<line x1="{x:.1f}" y1="{self.top:.1f}" x2="{x:.1f}" y2="{self.top + self.height:.1f}" '
            f'stroke="{colour}" stroke-width="{width}"/>'
        )

    def points(
        self, xs, ys, *, colour: str, marker: str = "o", size: float = 6.0, label: str = ""
    ) -> None:
        """Markers ``o`` (circle), ``s`` (square), ``D`` (diamond), ``^``/``v`` (triangles), ``x``."""
        title = f"<title>{_attr(label)}</title>" if label else ""
        r = size / 2
        for a, b in zip(self.x(xs), self.y(ys), strict=True):
            if not (math.isfinite(a) and math.isfinite(b)):
                continue
            self.parts.append(_marker(marker, a, b, r, colour, title))

    def errorbars(self, xs, low, high, *, colour: str, cap: float = 3.0) -> None:
        for a, lo, hi in zip(self.x(xs), self.y(low), self.y(high), strict=True):
            if not (math.isfinite(a) and math.isfinite(lo) and math.isfinite(hi)):
                continue
            self.parts.append(
                f'<path d="M{a:.1f},{lo:.1f}V{hi:.1f}M{a - cap:.1f},{lo:.1f}H{a + cap:.1f}'
                f'M{a - cap:.1f},{hi:.1f}H{a + cap:.1f}" stroke="{colour}" stroke-width="1" fill="none"/>'
            )

    def rect(
        self,
        x0: float,
        y0: float,
        x1: float,
        y1: float,
        *,
        fill: str,
        stroke: str = "none",
        label: str = "",
    ) -> None:
        """A rectangle between two corners in data units."""
        a, b = sorted(self.x([x0, x1]).tolist())
        c, d = sorted(self.y([y0, y1]).tolist())
        title = f"<title>{_attr(label)}</title>" if label else ""
        self.parts.append(
            f'<rect x="{a:.1f}" y="{c:.1f}" width="{b - a:.1f}" height="{d - c:.1f}" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="0.5">{title}</rect>'
        )

    def text(
        self,
        x: float,
        y: float,
        text: str,
        *,
        size: float = 9,
        colour: str = "#000000",
        anchor: str = "middle",
    ) -> None:
        """Text centred vertically on a data point."""
        self.parts.append(
            _text(
                float(self.x(x)),
                float(self.y(y)) + size * 0.35,
                text,
                size=size,
                colour=colour,
                anchor=anchor,
            )
        )


def _marker(marker: str, a: float, b: float, r: float, colour: str, title: str) -> str:
    if marker == "o":
        return f'<circle cx="{a:.1f}" cy="{b:.1f}" r="{r:.1f}" fill="{colour}">{title}</circle>'
    if marker == "x":
        return (
            f'<path d="M{a - r:.1f},{b - r:.1f}L{a + r:.1f},{b + r:.1f}M{a - r:.1f},{b + r:.1f}'
            f'L{a + r:.1f},{b - r:.1f}" stroke="{colour}" stroke-width="1.3">{title}</path>'
        )
    shapes = {
        "s": f"M{a - r:.1f},{b - r:.1f}h{2 * r:.1f}v{2 * r:.1f}h{-2 * r:.1f}Z",
        "D": f"M{a:.1f},{b - r * 1.2:.1f}L{a + r:.1f},{b:.1f}L{a:.1f},{b + r * 1.2:.1f}L{a - r:.1f},{b:.1f}Z",
        "^": f"M{a:.1f},{b - r:.1f}L{a + r:.1f},{b + r:.1f}L{a - r:.1f},{b + r:.1f}Z",
        "v": f"M{a:.1f},{b + r:.1f}L{a + r:.1f},{b - r:.1f}L{a - r:.1f},{b - r:.1f}Z",
    }
    return f'<path d="{shapes[marker]}" fill="{colour}">{title}</path>'


def _text(
    x: float,
    y: float,
    text: str,
    *,
    size: float = 10,
    colour: str = "#000000",
    anchor: str = "middle",
    rotate: bool = False,
    bold: bool = False,
) -> str:
    turn = f' transform="rotate(-90 {x:.1f} {y:.1f})"' if rotate else ""
    weight = ' font-weight="bold"' if bold else ""
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" fill="{colour}" '
        f'text-anchor="{anchor}"{weight}{turn}>{html.escape(text)}</text>'
    )


class Svg:
    """A figure of ``width`` × ``height`` pixels (CSS px at 100 %) made of panels, text and legends."""

    def __init__(self, width: float, height: float) -> None:
        self.width = width
        self.height = height
        self._panels: list[Panel] = []
        self._parts: list[str] = []

    def panel(
        self,
        left: float,
        top: float,
        width: float,
        height: float,
        *,
        xlim: tuple[float, float],
        ylim: tuple[float, float],
        xticks: Sequence[float] | np.ndarray | None = None,
        yticks: Sequence[float] | np.ndarray | None = None,
        xtick_labels: Sequence[str] | bool = True,
        ytick_labels: Sequence[str] | bool = True,
        title: str = "",
        xlabel: str = "",
        ylabel: str = "",
        size: float = 9,
    ) -> Panel:
        """A framed panel with ticks on the left and bottom; returns it to draw on."""
        panel = Panel(
            left,
            top,
            width,
            height,
            (float(xlim[0]), float(xlim[1])),
            (float(ylim[0]), float(ylim[1])),
        )
        self._panels.append(panel)
        xs = nice_ticks(*panel.xlim) if xticks is None else np.asarray(xticks, dtype=float)
        ys = nice_ticks(*panel.ylim) if yticks is None else np.asarray(yticks, dtype=float)
        bottom = top + height
        path = []
        parts = []
        for i, (t, px) in enumerate(zip(xs, panel.x(xs), strict=True)):
            path.append(f"M{px:.1f},{bottom:.1f}v3.5")
            label = _tick_label(xtick_labels, i, t)
            if label:
                parts.append(_text(px, bottom + 4 + size, label, size=size))
        for i, (t, py) in enumerate(zip(ys, panel.y(ys), strict=True)):
            path.append(f"M{left:.1f},{py:.1f}h-3.5")
            label = _tick_label(ytick_labels, i, t)
            if label:
                parts.append(_text(left - 5, py + size * 0.35, label, size=size, anchor="end"))
        parts.append(
            f'<rect x="{left:.1f}" y="{top:.1f}" width="{width:.1f}" height="{height:.1f}" '
            'fill="none" stroke="#000000" stroke-width="0.8"/>'
            f'<path d="{"".join(path)}" stroke="#000000" stroke-width="0.8"/>'
        )
        if title:
            parts.append(_text(left + width / 2, top - 5, title, size=size + 1))
        if xlabel:
            parts.append(_text(left + width / 2, bottom + 8 + 2 * size, xlabel, size=size + 0.5))
        if ylabel:
            parts.append(
                _text(
                    left - 10 - 2.4 * size, top + height / 2, ylabel, size=size + 0.5, rotate=True
                )
            )
        self._parts.extend(parts)
        return panel

    def right_axis(
        self,
        panel: Panel,
        *,
        ylim: tuple[float, float],
        label: str = "",
        colour: str = "#000000",
        size: float = 9,
    ) -> Panel:
        """A second y scale on the right of ``panel`` (as matplotlib's ``twinx``)."""
        twin = Panel(
            panel.left,
            panel.top,
            panel.width,
            panel.height,
            panel.xlim,
            (float(ylim[0]), float(ylim[1])),
        )
        self._panels.append(twin)
        right = panel.left + panel.width
        ticks = nice_ticks(*twin.ylim)
        path = []
        for t, py in zip(ticks, twin.y(ticks), strict=True):
            path.append(f"M{right:.1f},{py:.1f}h3.5")
            self._parts.append(
                _text(right + 5, py + size * 0.35, number(t), size=size, anchor="start")
            )
        self._parts.append(f'<path d="{"".join(path)}" stroke="#000000" stroke-width="0.8"/>')
        if label:
            self._parts.append(
                _text(
                    right + 14 + 2.4 * size,
                    panel.top + panel.height / 2,
                    label,
                    size=size + 0.5,
                    colour=colour,
                    rotate=True,
                )
            )
        return twin

    def text(self, x: float, y: float, text: str, **style) -> None:
        """Text at pixel ``(x, y)`` (baseline); ``size``, ``colour``, ``anchor``, ``rotate``, ``bold``."""
        self._parts.append(_text(x, y, text, **style))

    def legend(
        self,
        x: float,
        y: float,
        entries: Sequence[tuple[str, str, str]],
        *,
        title: str = "",
        size: float = 8,
        columns: int = 1,
        column_width: float | None = None,
    ) -> None:
        """Entries ``(label, colour, kind)`` from pixel ``(x, y)`` (top left); kind is a line style
        (``solid``, ``dashed``, ...), ``box`` for a filled square or a marker letter."""
        row_height = size + 5
        if column_width is None:  # room for the longest label (a character is ~0.6 em wide)
            column_width = 30 + 0.6 * size * max((len(e[0]) for e in entries), default=0)
        if title:
            self._parts.append(_text(x, y + size, title, size=size, anchor="start", bold=True))
            y += row_height
        for k, (label, colour, kind) in enumerate(entries):
            cx = x + (k % columns) * column_width
            cy = y + (k // columns) * row_height + size / 2
            if kind == "box":
                self._parts.append(
                    f'<rect x="{cx:.1f}" y="{cy - 4:.1f}" width="14" height="8" fill="{colour}"/>'
                )
            elif kind in ("solid", *_DASHES):
                dash = f' stroke-dasharray="{_DASHES[kind]}"' if kind in _DASHES else ""
                self._parts.append(
                    f'<line x1="{cx:.1f}" y1="{cy:.1f}" x2="{cx + 16:.1f}" y2="{cy:.1f}" '
                    f'stroke="{colour}" stroke-width="1.5"{dash}/>'
                )
            else:
                self._parts.append(_marker(kind, cx + 7, cy, 3.5, colour, ""))
            self._parts.append(_text(cx + 20, cy + size * 0.35, label, size=size, anchor="start"))

    def render(self) -> str:
        """The SVG document (UTF-8 text)."""
        return (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:.0f}" height="{self.height:.0f}" '
            f'viewBox="0 0 {self.width:.0f} {self.height:.0f}" font-family="{_FONT}">'
            f'<rect width="100%" height="100%" fill="#ffffff"/>'
            + "".join(part for panel in self._panels for part in panel.parts)
            + "".join(self._parts)
            + "</svg>"
        )


def _tick_label(labels: Sequence[str] | bool, i: int, value: float) -> str:
    if labels is True:
        return number(value)
    if labels is False:
        return ""
    return str(labels[i]) if i < len(labels) else ""
