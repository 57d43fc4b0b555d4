"""The validation report's figures as SVG text (:mod:`analysis.report.svg`), without matplotlib.

Each function draws what its namesake in :mod:`analysis.report.plots` draws on a matplotlib Axes
(same data, encodings, colours and reference lines) and returns the SVG document; the report
embeds it with :meth:`~analysis.report.html.HtmlReport.svg_figure`. Writing the report this way
needs no matplotlib import and no text layout in Python (see docs/performance.md, "Writing the
report"). The geometry shared with plots.py (the diverging bars' offsets and colours) lives in
one place: :func:`diverging_starts` and :func:`diverging_colours`.

Examples
--------
>>> import pandas as pd
>>> svg = scree_svg([3.0, 1.2, 0.9], simulated=[1.3, 1.1, 1.0])
>>> svg.startswith("<svg") and "PC observed" in svg
True
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.report.svg import Svg, nice_ticks, number

__all__ = [
    "diverging_colours",
    "diverging_starts",
    "fit_comparison_svg",
    "invariance_ladder_svg",
    "likert_svg",
    "loadings_svg",
    "rdbu",
    "scree_svg",
]

# ColorBrewer RdBu (11 classes), the nodes of matplotlib's "RdBu" colormap.
_RDBU = np.array(
    [
        [103, 0, 31],
        [178, 24, 43],
        [214, 96, 77],
        [244, 165, 130],
        [253, 219, 199],
        [247, 247, 247],
        [209, 229, 240],
        [146, 197, 222],
        [67, 147, 195],
        [33, 102, 172],
        [5, 48, 97],
    ],
    dtype=float,
)
_BLUE, _CYAN, _RED, _ORANGE, _GREEN = "#1f77b4", "#17becf", "#d62728", "#ff7f0e", "#2ca02c"


def rdbu(position: float) -> str:
    """The colour of matplotlib's ``RdBu`` colormap at ``position`` in [0, 1], as ``#rrggbb``."""
    nodes = np.linspace(0, 1, len(_RDBU))
    p = min(max(float(position), 0.0), 1.0)
    rgb = [round(float(np.interp(p, nodes, _RDBU[:, c]))) for c in range(3)]
    return "#{:02x}{:02x}{:02x}".format(*rgb)


def diverging_colours(k: int) -> list[str]:
    """Colours of ``k`` ordered categories: RdBu from red to blue, the middle one grey (HH::likert)."""
    if k == 1:
        return ["#d9d9d9"]
    colours = [rdbu(0.1 + 0.8 * i / (k - 1)) for i in range(k)]
    if k % 2 == 1:
        colours[k // 2] = "#d1d1d1"  # the neutral category in grey, as HH::likert
    return colours


def diverging_starts(values: np.ndarray) -> np.ndarray:
    """Left edge of each category's bar (items × categories, percent), centred on the neutral point.

    Categories below the middle extend left of zero, those above to the right; with an odd
    number of categories the middle one is split half on each side (Heiberger & Robbins 2014).
    """
    n_items, k = values.shape
    half = k // 2
    neutral = values[:, half] / 2 if k % 2 == 1 else np.zeros(n_items)
    left = -(values[:, :half].sum(axis=1) + neutral)
    return left[:, None] + np.cumsum(values, axis=1) - values


def _text_width(text: str, size: float) -> float:
    return 0.6 * size * len(text)


def likert_svg(
    shares: pd.DataFrame,
    *,
    labels: Sequence[str] | None = None,
    title: str = "",
) -> str:
    """Diverging stacked bars of the answers per item (as :func:`plots.likert_bars`)."""
    values = shares.fillna(0.0).to_numpy(dtype=float) * 100
    n_items, k = values.shape
    labels = list(shares.columns.astype(str)) if labels is None else list(labels)
    items = [str(i) for i in shares.index]
    starts = diverging_starts(values)
    ends = starts + values
    span = max(50.0, float(np.ceil(max(-starts.min(initial=0), ends.max(initial=0)) / 10) * 10))
    step = 25 if span > 60 else 10
    edge = np.floor(span / step) * step
    ticks = np.arange(-edge, edge + 1, step)
    row = 15
    left = 16 + max(_text_width(i, 9) for i in items)
    top = 30 if title else 10
    width = 820 - left
    legend_rows = -(
        -k // max(1, min(k, int(width // (26 + max(_text_width(t, 9) for t in labels)))))
    )
    chart = Svg(840, top + row * n_items + 42 + 15 * legend_rows + 8)
    panel = chart.panel(
        left,
        top,
        width,
        row * n_items,
        xlim=(-span, span),
        ylim=(n_items - 0.5, -0.5),
        xticks=ticks,
        yticks=np.arange(n_items),
        xtick_labels=[f"{abs(t):.0f}" for t in ticks],
        ytick_labels=items,
        xlabel="Percent of answers",
        size=9,
    )
    colours = diverging_colours(k)
    for j in range(k):
        for i in range(n_items):
            if values[i, j] > 0:
                panel.rect(
                    starts[i, j],
                    i - 0.375,
                    ends[i, j],
                    i + 0.375,
                    fill=colours[j],
                    stroke="#ffffff",
                    label=f"{items[i]}: {labels[j]} {values[i, j]:.1f}%",
                )
    panel.vline(0.0)
    if title:
        chart.text(left + width / 2, 18, title, size=12)
    column = 26 + max(_text_width(label, 9) for label in labels)
    columns = max(1, min(k, int(width // column)))
    chart.legend(
        left,
        top + row * n_items + 40,
        [(label, colours[j], "box") for j, label in enumerate(labels)],
        columns=columns,
        column_width=column,
        size=9,
    )
    return chart.render()


def scree_svg(
    observed: Sequence[float] | np.ndarray,
    *,
    simulated: Sequence[float] | np.ndarray | None = None,
    observed_fa: Sequence[float] | np.ndarray | None = None,
    simulated_fa: Sequence[float] | np.ndarray | None = None,
    quantile: float | None = 0.95,
    title: str = "Parallel analysis scree plot",
) -> str:
    """Observed and simulated eigenvalues (as :func:`plots.scree_plot`, psych's fa.parallel)."""
    observed = np.asarray(observed, dtype=float)
    x = np.arange(1, len(observed) + 1)
    lines = [("PC observed", observed, _BLUE, "solid", "x")]
    q = "" if quantile is None else f" ({quantile:.0%} quantile)"
    if simulated is not None:
        lines.append((f"PC simulated{q}", np.asarray(simulated, dtype=float), _BLUE, "dotted", ""))
    if observed_fa is not None:
        lines.append(("FA observed", np.asarray(observed_fa, dtype=float), _RED, "solid", "^"))
    if simulated_fa is not None:
        lines.append(
            (f"FA simulated{q}", np.asarray(simulated_fa, dtype=float), _RED, "dashed", "")
        )
    every = np.concatenate([v[np.isfinite(v)] for _, v, *_ in lines] + [np.array([1.0])])
    low, high = min(0.0, float(every.min())), float(every.max())
    pad = 0.05 * (high - low)
    chart = Svg(640, 360)
    panel = chart.panel(
        70,
        34,
        540,
        270,
        xlim=(0.5, len(observed) + 0.5),
        ylim=(low - pad, high + pad),
        xticks=nice_ticks(1, len(observed), n=8) if len(observed) > 10 else x,
        xlabel="Factor / component number",
        ylabel="Eigenvalue",
        size=10,
    )
    panel.hline(1.0, colour="#808080", width=0.6)
    for label, values, colour, style, marker in lines:
        panel.line(x, values, colour=colour, style=style, label=label)
        if marker:
            panel.points(
                x, values, colour=colour, marker=marker, size=6 if marker == "x" else 5, label=label
            )
    chart.legend(
        430,
        42,
        [(label, colour, marker or style) for label, _, colour, style, marker in lines],
        size=10,
    )
    if title:
        chart.text(340, 22, title, size=12)
    return chart.render()


def loadings_svg(
    loadings: pd.DataFrame, *, title: str = "Factor loadings", annotate_above: float | None = 0.3
) -> str:
    """Heatmap of a loading matrix on a −1 … 1 diverging scale (as :func:`plots.loadings_heatmap`)."""
    values = loadings.to_numpy(dtype=float)
    n_items, k = values.shape
    items = [str(i) for i in loadings.index]
    factors = [str(c) for c in loadings.columns]
    cell_w, cell_h = 62, 16
    left = 14 + max(_text_width(i, 9) for i in items)
    top = 58 if title else 40
    chart = Svg(left + k * cell_w + 110, top + n_items * cell_h + 14)
    panel = chart.panel(
        left,
        top,
        k * cell_w,
        n_items * cell_h,
        xlim=(-0.5, k - 0.5),
        ylim=(n_items - 0.5, -0.5),
        xticks=[],
        yticks=np.arange(n_items),
        ytick_labels=items,
        size=9,
    )
    for j, name in enumerate(factors):
        chart.text(left + (j + 0.5) * cell_w, top - 6, name, size=10)
    for i in range(n_items):
        for j in range(k):
            v = values[i, j]
            fill = rdbu((v + 1) / 2) if np.isfinite(v) else "#ffffff"
            panel.rect(
                j - 0.5,
                i - 0.5,
                j + 0.5,
                i + 0.5,
                fill=fill,
                label=f"{items[i]}, {factors[j]}: {v:.3f}",
            )
            if annotate_above is not None and np.isfinite(v) and abs(v) >= annotate_above:
                text = f"{v:.2f}".replace("0.", ".", 1).replace("-", "−")
                panel.text(j, i, text, size=8.5, colour="#ffffff" if abs(v) > 0.65 else "#000000")
    # Colour bar: -1 (red) … 1 (blue), as matplotlib's colorbar beside the image.
    bar_left, bar_top, bar_h = left + k * cell_w + 24, top + 10, min(200.0, n_items * cell_h - 20)
    bar = chart.panel(
        bar_left,
        bar_top,
        12,
        bar_h,
        xlim=(0, 1),
        ylim=(-1, 1),
        xticks=[],
        yticks=[-1, -0.5, 0, 0.5, 1],
        ytick_labels=False,
        size=9,
    )
    edges = np.linspace(-1, 1, 41)
    for a, b in zip(edges[:-1], edges[1:], strict=True):
        bar.rect(0, a, 1, b, fill=rdbu((a + b + 2) / 4))
    for t in (-1, -0.5, 0, 0.5, 1):
        chart.text(bar_left + 17, float(bar.y(t)) + 3, number(t), size=9, anchor="start")
    chart.text(bar_left + 58, bar_top + bar_h / 2, "loading", size=10, rotate=True)
    if title:
        chart.text(left + k * cell_w / 2, 16, title, size=11)
    return chart.render()


def fit_comparison_svg(comparison: pd.DataFrame, *, title: str = "CFA model comparison") -> str:
    """CFI, TLI, RMSEA (90% CI) and SRMR per model against Hu & Bentler's cut-offs
    (as :func:`plots.fit_comparison`)."""
    models = comparison["model"].astype(str).tolist()
    x = np.arange(len(models), dtype=float)
    cfi = comparison["cfi"].to_numpy(dtype=float)
    tli = comparison["tli"].to_numpy(dtype=float)
    rmsea = comparison["rmsea"].to_numpy(dtype=float)
    srmr = comparison["srmr"].to_numpy(dtype=float)
    both = np.r_[cfi, tli]
    low = float(np.nanmin(both)) if np.isfinite(both).any() else 0.8
    ymin = min(0.8, np.floor(low * 20) / 20)
    top_right = float(np.nanmax(np.r_[rmsea, srmr, 0.1])) * 1.15
    has_ci = {"rmsea_ci_lower", "rmsea_ci_upper"} <= set(comparison.columns)
    if has_ci:
        top_right = max(top_right, float(np.nanmax(np.r_[comparison["rmsea_ci_upper"], 0])) * 1.05)
    chart = Svg(680, 360)
    panel = chart.panel(
        80,
        34,
        500,
        250,
        xlim=(-0.5, len(models) - 0.5),
        ylim=(ymin, 1.005),
        xticks=x,
        xtick_labels=models,
        ylabel="CFI, TLI (good ≥ .95)",
        size=10,
    )
    twin = chart.right_axis(
        panel, ylim=(0, top_right), label="RMSEA (≤ .06), SRMR (≤ .08)", size=10
    )
    panel.hline(0.95, colour=_BLUE, width=0.7, style="dashed")
    twin.hline(0.06, colour=_RED, width=0.7, style="dashed")
    twin.hline(0.08, colour=_ORANGE, width=0.7, style="dotted")
    panel.points(x - 0.12, cfi, colour=_BLUE, marker="o", label="CFI")
    panel.points(x - 0.04, tli, colour=_CYAN, marker="s", label="TLI")
    if has_ci:
        lo = np.minimum(comparison["rmsea_ci_lower"].to_numpy(dtype=float), rmsea)
        hi = np.maximum(comparison["rmsea_ci_upper"].to_numpy(dtype=float), rmsea)
        twin.errorbars(x + 0.04, lo, hi, colour=_RED)
    twin.points(x + 0.04, rmsea, colour=_RED, marker="D", label="RMSEA")
    twin.points(x + 0.12, srmr, colour=_ORANGE, marker="v", label="SRMR")
    chart.legend(
        90,
        318,
        [
            ("CFI", _BLUE, "o"),
            ("TLI", _CYAN, "s"),
            ("RMSEA (90% CI)" if has_ci else "RMSEA", _RED, "D"),
            ("SRMR", _ORANGE, "v"),
        ],
        columns=4,
        size=10,
    )
    if title:
        chart.text(330, 22, title, size=12)
    return chart.render()


def invariance_ladder_svg(steps: pd.DataFrame, *, title: str = "Measurement invariance") -> str:
    """CFI and RMSEA per invariance step with ΔCFI and ΔRMSEA (as :func:`plots.invariance_ladder`)."""
    names = [str(s) for s in steps.index]
    x = np.arange(len(steps), dtype=float)
    cfi = steps["cfi"].to_numpy(dtype=float)
    rmsea = steps["rmsea"].to_numpy(dtype=float)
    chart = Svg(640, 336)
    panel = chart.panel(
        70,
        34,
        480,
        240,
        xlim=(-0.5, len(steps) - 0.5),
        ylim=(min(0.85, float(np.nanmin(cfi)) - 0.02), 1.0),
        xticks=x,
        xtick_labels=False,
        ylabel="CFI",
        size=10,
    )
    twin = chart.right_axis(
        panel, ylim=(0, max(0.1, float(np.nanmax(rmsea)) * 1.4)), label="RMSEA", size=10
    )
    panel.line(x, cfi, colour=_BLUE, label="CFI")
    panel.points(x, cfi, colour=_BLUE, marker="o", label="CFI")
    twin.line(x, rmsea, colour=_RED, style="dashed", label="RMSEA")
    twin.points(x, rmsea, colour=_RED, marker="D", size=5, label="RMSEA")
    has_delta = {"delta_cfi", "delta_rmsea"} <= set(steps.columns)
    for i, name in enumerate(names):
        lines, colour = [name], "#000000"
        if has_delta:
            dc, dr = float(steps["delta_cfi"].iloc[i]), float(steps["delta_rmsea"].iloc[i])
            if np.isfinite(dc) and np.isfinite(dr):
                colour = _GREEN if (dc >= -0.01 and dr <= 0.015) else _RED
                lines += [
                    f"ΔCFI {dc:+.3f}".replace("-", "−"),
                    f"ΔRMSEA {dr:+.3f}".replace("-", "−"),
                ]
        px = float(panel.x(x[i]))
        for n, line in enumerate(lines):
            chart.text(px, 34 + 240 + 16 + 13 * n, line, size=9.5, colour=colour)
    chart.legend(470, 42, [("CFI", _BLUE, "o"), ("RMSEA", _RED, "D")], size=10)
    if title:
        chart.text(310, 22, title, size=12)
    return chart.render()
