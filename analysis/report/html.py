"""Report building blocks: a self-contained HTML report, paper-ready Excel tables and JSON results.

One :class:`HtmlReport` file travels alone: styles are inline and every figure is embedded (a
base64 PNG or SVG image), so a researcher can e-mail the report or open it offline. Tables keep full precision
in the data and round only when rendered. Reports never print respondent identifiers: callers
pass aggregated tables only.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instrument.io.security import neutralise
from instrument.io.write import atomic_path

_CSS = """
:root { --ink:#1d2330; --muted:#5b6476; --line:#d9dde5; --pass:#1b7f3b; --fail:#b3261e; --na:#7a6a00; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, Helvetica, sans-serif; color: var(--ink); margin: 0 auto;
       max-width: 1000px; padding: 24px 32px 64px; line-height: 1.45; font-size: 15px; }
h1 { font-size: 26px; margin-bottom: 4px; } h2 { font-size: 20px; border-bottom: 2px solid var(--line);
padding-bottom: 4px; margin-top: 36px; } h3 { font-size: 16px; margin-top: 24px; }
.subtitle { color: var(--muted); margin-top: 0; }
nav ol { columns: 2; font-size: 14px; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 13px; }
caption { caption-side: top; text-align: left; font-weight: bold; padding-bottom: 4px; }
th, td { padding: 3px 10px; text-align: right; }
th:first-child, td:first-child { text-align: left; }
thead th { border-top: 1.5px solid var(--ink); border-bottom: 1px solid var(--ink); }
tbody tr:last-child td { border-bottom: 1.5px solid var(--ink); }
figure { margin: 12px 0; } figure img { max-width: 100%; height: auto; }
figcaption { color: var(--muted); font-size: 13px; }
.verdict { border-left: 4px solid var(--line); padding: 4px 10px; margin: 6px 0; font-size: 14px; }
.verdict.pass { border-color: var(--pass); } .verdict.fail { border-color: var(--fail); }
.verdict.na { border-color: var(--na); }
.verdict .tag { font-weight: bold; } .pass .tag { color: var(--pass); } .fail .tag { color: var(--fail); }
.na .tag { color: var(--na); }
.note { background: #f5f6f9; padding: 8px 12px; border-radius: 4px; font-size: 14px; }
.cite { color: var(--muted); font-size: 12px; }
@media print { body { max-width: none; } h2 { break-before: page; }
  figure, table, .verdict { break-inside: avoid; page-break-inside: avoid; }
  figure img { max-height: 230mm; width: auto; } /* a tall chart shrinks to one A4 page */ }
"""


def _fmt(value: Any, digits: int) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}".replace(",", "\u2009")
    if isinstance(value, (float, np.floating)):
        if math.isinf(value):
            return "∞" if value > 0 else "−∞"
        if value != 0 and abs(value) < 10 ** (-digits):
            return f"{value:.1e}"
        return f"{value:.{digits}f}".replace("-", "−")
    return str(value)


def figure_png(fig: Any, *, dpi: float = 110) -> bytes:
    """PNG bytes of a matplotlib Figure cropped to its drawn content, drawing it only once.

    The same picture as ``fig.savefig(..., bbox_inches="tight")``, which draws the figure twice
    (once to measure it, once to render it; 30-40 % of the time of a report figure): here the
    figure is rendered once, its tight bounding box is measured from that rendering and the
    pixels are cropped to it, with the ``savefig.pad_inches`` margin. When something is drawn
    outside the figure (which only a re-rendering can include), the figure is rendered again on
    the measured box, so it is never slower than ``bbox_inches="tight"``.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots(figsize=(4, 3))
    >>> _ = ax.plot([1, 2, 3])
    >>> figure_png(fig, dpi=50).startswith(b"\\x89PNG")
    True
    >>> plt.close(fig)
    """
    import matplotlib as mpl
    import matplotlib.image as mimage
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.colors import to_rgba

    def savefig(bbox_inches: Any = "tight") -> bytes:
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png", dpi=dpi, bbox_inches=bbox_inches)
        return buffer.getvalue()

    if mpl.rcParams["savefig.transparent"] or mpl.rcParams["savefig.facecolor"] != "auto":
        return savefig()
    canvas = fig.canvas if isinstance(fig.canvas, FigureCanvasAgg) else FigureCanvasAgg(fig)
    fig.set_dpi(dpi)
    canvas.draw()
    box = fig.get_tightbbox(canvas.get_renderer())  # inches, from the figure's lower left corner
    pad = mpl.rcParams["savefig.pad_inches"]
    width, height = fig.get_size_inches()
    if box.x0 < 0 or box.y0 < 0 or box.x1 > width or box.y1 > height or pad == "layout":
        # Drawn outside the figure: render again on the measured box (as savefig's second draw).
        return savefig(box if pad == "layout" else box.padded(float(pad)))
    box = box.padded(float(pad))
    pixels = np.asarray(canvas.buffer_rgba())
    rows, cols = pixels.shape[:2]
    left, right = math.floor(box.x0 * dpi), math.ceil(box.x1 * dpi)
    top, bottom = rows - math.ceil(box.y1 * dpi), rows - math.floor(box.y0 * dpi)
    crop = pixels[max(top, 0) : min(bottom, rows), max(left, 0) : min(right, cols)]
    margins = ((max(-top, 0), max(bottom - rows, 0)), (max(-left, 0), max(right - cols, 0)), (0, 0))
    if any(
        any(m) for m in margins[:2]
    ):  # the margin reaches past the figure: extend with its colour
        face = np.array([round(255 * c) for c in to_rgba(fig.get_facecolor())], dtype=np.uint8)
        crop = np.pad(crop, margins, mode="constant")
        crop[: margins[0][0]] = face
        crop[crop.shape[0] - margins[0][1] :] = face
        crop[:, : margins[1][0]] = face
        crop[:, crop.shape[1] - margins[1][1] :] = face
    buffer = io.BytesIO()
    mimage.imsave(buffer, crop, format="png", dpi=dpi)
    return buffer.getvalue()


@dataclass
class HtmlReport:
    """A self-contained HTML report assembled section by section.

    Parameters
    ----------
    title : str
        Report title.
    subtitle : str, default ""
        A line under the title (data set, date, software).

    Examples
    --------
    >>> report = HtmlReport("Validation", subtitle="synthetic data")
    >>> report.section("Reliability", intro="Cronbach's alpha per scale.")
    >>> report.verdict("alpha of total", True, rule="alpha >= .70", citation="Nunnally & Bernstein (1994)")
    >>> "alpha of total" in report.render()
    True
    """

    title: str
    subtitle: str = ""
    _parts: list[str] = field(default_factory=list, repr=False)
    _toc: list[tuple[str, str]] = field(default_factory=list, repr=False)
    _figures: int = field(default=0, repr=False)

    def section(self, title: str, intro: str = "") -> None:
        """Start a new numbered section (listed in the table of contents)."""
        anchor = f"s{len(self._toc) + 1}"
        self._toc.append((anchor, title))
        self._parts.append(f'<h2 id="{anchor}">{html.escape(title)}</h2>')
        if intro:
            self.paragraph(intro)

    def subsection(self, title: str) -> None:
        self._parts.append(f"<h3>{html.escape(title)}</h3>")

    def paragraph(self, text: str) -> None:
        self._parts.append(f"<p>{html.escape(text)}</p>")

    def note(self, text: str) -> None:
        self._parts.append(f'<p class="note">{html.escape(text)}</p>')

    def table(
        self, frame: pd.DataFrame, caption: str = "", digits: int = 3, index: bool = True
    ) -> None:
        """Render a DataFrame as an APA-style table (numbers rounded to ``digits`` only here)."""
        frame = frame if index else frame.reset_index(drop=True)
        head = [html.escape(str(frame.index.name or "")) if index else None] + [
            html.escape(str(c)) for c in frame.columns
        ]
        head = [h for h in head if h is not None]
        rows = []
        # itertuples keeps each column's own type (iterrows would turn whole numbers such as
        # df and n into floats in a row that also holds floats).
        for label, *values in frame.itertuples(index=True, name=None):
            cells = ([f"<td>{html.escape(str(label))}</td>"] if index else []) + [
                f"<td>{html.escape(_fmt(v, digits))}</td>" for v in values
            ]
            rows.append("<tr>" + "".join(cells) + "</tr>")
        cap = f"<caption>{html.escape(caption)}</caption>" if caption else ""
        self._parts.append(
            f"<table>{cap}<thead><tr>{''.join(f'<th>{h}</th>' for h in head)}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )

    def figure(self, fig: Any, caption: str = "", alt: str = "") -> None:
        """Embed a matplotlib Figure as a base64 PNG and close it."""
        png = figure_png(fig, dpi=110)
        # Only a figure made by pyplot is registered with it; importing pyplot just to close a
        # plain ``Figure`` (what analysis.report.plots draws) would cost ~0.3 s at start-up.
        pyplot = sys.modules.get("matplotlib.pyplot")
        if pyplot is not None:
            pyplot.close(fig)
        self._embed("image/png", png, caption, alt)

    def svg_figure(self, svg: str, caption: str = "", alt: str = "") -> None:
        """Embed an SVG document (as :mod:`analysis.report.svg` writes) as an image."""
        self._embed("image/svg+xml", svg.encode("utf-8"), caption, alt)

    def _embed(self, media: str, content: bytes, caption: str, alt: str) -> None:
        data = base64.b64encode(content).decode("ascii")
        self._figures += 1
        self._parts.append(
            f'<figure data-figure="{self._figures}"><img alt="{html.escape(alt or caption)}" '
            f'src="data:{media};base64,{data}"/>'
            + (
                f"<figcaption>Figure {self._figures}. {html.escape(caption)}</figcaption>"
                if caption
                else ""
            )
            + "</figure>"
        )

    def verdict(self, label: str, passed: bool | None, rule: str, citation: str) -> None:
        """A judgement against a stated threshold; it always names the rule and cites it."""
        kind, tag = (
            ("na", "not assessable")
            if passed is None
            else (("pass", "meets") if passed else ("fail", "below"))
        )
        self._parts.append(
            f'<div class="verdict {kind}"><span class="tag">{tag}</span> — {html.escape(label)}. '
            f'Rule: {html.escape(rule)}. <span class="cite">{html.escape(citation)}</span></div>'
        )

    def raw_html(self, fragment: str) -> None:
        """Insert trusted, already-escaped HTML produced by this package."""
        self._parts.append(fragment)

    @property
    def n_figures(self) -> int:
        return self._figures

    def render(self) -> str:
        toc = "".join(f'<li><a href="#{a}">{html.escape(t)}</a></li>' for a, t in self._toc)
        return (
            '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{html.escape(self.title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{html.escape(self.title)}</h1>"
            + (f'<p class="subtitle">{html.escape(self.subtitle)}</p>' if self.subtitle else "")
            + (f"<nav><ol>{toc}</ol></nav>" if toc else "")
            + "".join(self._parts)
            + "</body></html>\n"
        )

    def write(self, path: str | Path) -> Path:
        """Write the report atomically (temporary file in the same folder, then rename)."""
        return atomic_write_text(path, self.render())


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write text to ``path`` through a temporary file in the same folder and an atomic rename."""
    with atomic_path(path) as temp:
        temp.write_text(text, encoding="utf-8")
    return Path(path)


def _jsonable(obj: Any) -> Any:
    if isinstance(obj, Mapping):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple, set)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, pd.DataFrame):
        return _jsonable(obj.reset_index().to_dict(orient="records"))
    if isinstance(obj, pd.Series):
        return _jsonable(obj.to_dict())
    if isinstance(obj, np.ndarray):
        return _jsonable(obj.tolist())
    if isinstance(obj, (np.integer,)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        value = float(obj)
        return None if math.isnan(value) or math.isinf(value) else value
    if isinstance(obj, (np.bool_,)):
        return bool(obj)
    if isinstance(obj, (datetime, date, pd.Timestamp)):
        return obj.isoformat()
    if isinstance(obj, Path):
        return str(obj)
    if obj is pd.NA:
        return None
    return obj


def write_json(obj: Any, path: str | Path) -> Path:
    """Write ``obj`` as JSON (numpy and pandas values converted, NaN/inf as null), atomically."""
    return atomic_write_text(path, json.dumps(_jsonable(obj), indent=2, ensure_ascii=False) + "\n")


def write_tables_xlsx(
    tables: Mapping[str, pd.DataFrame],
    path: str | Path,
    notes: Mapping[str, str] | None = None,
    digits: int = 3,
) -> Path:
    """Write one formatted sheet per table, ready to paste into a paper.

    Numbers stay numbers (shown with ``digits`` decimals through the cell format, full precision
    kept); text is neutralised against formula injection; header row bold with APA-style rules;
    an optional note under each table. Written by :func:`analysis.report.xlsx.write_workbook`
    (no openpyxl needed).
    """
    from analysis.report.xlsx import write_workbook

    path = Path(path)
    used: set[str] = set()
    sheets = []
    for name, frame in tables.items():
        title = "".join(ch for ch in str(name) if ch not in "[]:*?/\\")[:31] or "table"
        base, n = title, 2
        while title.lower() in used:
            title = f"{base[:28]}_{n}"
            n += 1
        used.add(title.lower())
        data = (
            frame.reset_index()
            if frame.index.name or not isinstance(frame.index, pd.RangeIndex)
            else frame
        )
        columns = [str(c) for c in data.columns]
        rows = [[_cell_value(v) for v in values] for values in data.itertuples(index=False)]
        widths = [
            min(max(8, max([len(column)] + [len(str(row[j])) for row in rows[:200]]) + 2), 60)
            for j, column in enumerate(columns)
        ]
        note = str(neutralise("Note. " + notes[name])) if notes and name in notes else None
        sheets.append((title, [str(neutralise(c)) for c in columns], rows, note, widths))
    number_format = "0." + "0" * digits if digits > 0 else "0"
    with atomic_path(path) as temp:
        write_workbook(temp, sheets, number_format=number_format)
    return path


def _cell_value(value: Any) -> Any:
    """A table value as a spreadsheet cell holds it: float, int, bool, None or neutralised text."""
    if isinstance(value, (np.floating, float)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer, int)):
        return int(value)
    if value is None or value is pd.NA:
        return None
    return neutralise(str(value))


def software_versions() -> dict[str, str]:
    """Versions of Python, MHDQ and the numerical libraries, recorded in every results file."""
    out = {"python": platform.python_version(), "platform": platform.platform()}
    for package in (
        "mhdq",
        "numpy",
        "pandas",
        "scipy",
        "statsmodels",
        "factor_analyzer",
        "pingouin",
        "openpyxl",
        "matplotlib",
    ):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


def data_hash(frame: pd.DataFrame) -> str:
    """SHA-256 (first 16 hex digits) of a DataFrame's values, for the provenance block of results."""
    import hashlib

    hashed = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    return hashlib.sha256(
        hashed.tobytes() + ",".join(map(str, frame.columns)).encode()
    ).hexdigest()[:16]
