"""The report building blocks: self-contained HTML, paper tables, JSON."""

import csv
import json
import shutil
import subprocess

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import openpyxl
import pandas as pd
import pytest

from analysis.report.html import HtmlReport, write_json, write_tables_xlsx
from tests.browser import render_in_chromium


def _report(tmp_path):
    report = HtmlReport("Test report <b>", subtitle="synthetic data")
    report.section("Numbers", intro="A table & a figure.")
    report.table(
        pd.DataFrame(
            {"estimate": [0.81234, np.nan], "n": [10, 12]}, index=pd.Index(["a", "b"], name="scale")
        ),
        caption="T1",
    )
    fig, ax = plt.subplots()
    ax.plot([1, 2, 3])
    report.figure(fig, caption="A line")
    report.verdict("alpha", False, rule="alpha >= .70", citation="Nunnally (1978)")
    return report.write(tmp_path / "r.html")


def test_html_is_self_contained_and_escaped(tmp_path):
    text = _report(tmp_path).read_text()
    assert "<b>" not in text.split("<body>")[1].split("</h1>")[0]  # the title is escaped
    assert "data:image/png;base64," in text
    assert "http://" not in text and "https://" not in text  # nothing fetched from outside
    assert "0.812" in text and "–" in text  # rounded on render, NaN as a dash
    assert "<td>12</td>" in text and "12.000" not in text  # whole numbers stay whole beside floats


def test_html_renders_in_chromium(tmp_path):
    seen = render_in_chromium(_report(tmp_path))
    assert seen["images"] == 1 and seen["broken"] == 0
    assert seen["errors"] == []


def test_tables_keep_numbers_and_neutralise_text(tmp_path):
    frame = pd.DataFrame({"label": ["=cmd|' /C calc'!A0", "ok"], "value": [0.123456, -9.0]})
    path = write_tables_xlsx(
        {"Table 1": frame}, tmp_path / "t.xlsx", notes={"Table 1": "synthetic"}
    )
    sheet = openpyxl.load_workbook(path)["Table 1"]
    assert sheet["A2"].value == "'=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 0.123456 and sheet["B3"].value == -9.0


def test_json_handles_numpy_and_nan(tmp_path):
    path = write_json(
        {"a": np.float64("nan"), "b": np.int64(3), "c": pd.DataFrame({"x": [1.5]})},
        tmp_path / "r.json",
    )
    assert json.loads(path.read_text()) == {"a": None, "b": 3, "c": [{"index": 0, "x": 1.5}]}


def _png_pixels(data):
    import io

    import matplotlib.image as mimage

    return mimage.imread(io.BytesIO(data))


def _tight_savefig(fig):
    import io

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    return buffer.getvalue()


def _figures():
    """A plain figure; one laid out with no margin (the crop margin reaches past the figure's edge);
    one with text drawn below the figure (only a re-rendering can include it)."""
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([1, 2, 3], label="a line")
    ax.set_xlabel("x label")
    ax.set_title("Title")
    yield "plain", fig
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.bar(["one", "two"], [3, 5])
    ax.set_ylabel("y label")
    fig.tight_layout(pad=0)
    yield "no margin", fig
    fig, ax = plt.subplots(figsize=(4, 3))
    ax.plot([3, 1, 2])
    fig.text(0.5, -0.15, "note below the figure", ha="center")
    ax.legend(["outside legend"], bbox_to_anchor=(1.02, 1), loc="upper left")
    yield "outside", fig


def test_figure_png_is_the_tight_savefig_picture():
    """Reference: matplotlib's own ``savefig(bbox_inches="tight")``; figure_png draws once and crops.
    Tolerance: the crop may differ by one pixel row/column (rounding of the box), so the sizes agree
    within 1 px and the pixels, compared on the common area, differ by < 0.05 on average (0-1
    scale); a clipped label or a missing margin would change the size by several pixels."""

    from analysis.report.html import figure_png

    for name, fig in _figures():
        expected = _png_pixels(_tight_savefig(fig))
        got = _png_pixels(figure_png(fig, dpi=80))
        plt.close(fig)
        assert (
            abs(expected.shape[0] - got.shape[0]) <= 1
            and abs(expected.shape[1] - got.shape[1]) <= 1
        ), (name, expected.shape, got.shape)
        rows, cols = min(expected.shape[0], got.shape[0]), min(expected.shape[1], got.shape[1])
        assert np.abs(expected[:rows, :cols, :3] - got[:rows, :cols, :3]).mean() < 0.05, name
        # The edges are the figure's background colour, as savefig's padding is.
        assert np.allclose(got[0, :, :3], 1.0) and np.allclose(got[-1, :, :3], 1.0), name


def test_tables_xlsx_formats_read_back(tmp_path):
    """The stdlib writer (analysis/report/xlsx.py) gives the formats openpyxl wrote before."""
    frame = pd.DataFrame(
        {"value": [0.5, np.nan, 2.0], "n": [1, 2, 3], "ok": [True, False, True]},
        index=pd.Index(["a", "b", "c & <d>"], name="scale"),
    )
    path = write_tables_xlsx({"T/1": frame, "T1": frame}, tmp_path / "t.xlsx", notes={"T/1": "x"})
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["T1", "T1_2"]  # '/' dropped, duplicate names numbered
    sheet = book["T1"]
    assert [c.value for c in sheet[1]] == ["scale", "value", "n", "ok"]
    assert all(c.font.b and c.border.top.style == c.border.bottom.style == "thin" for c in sheet[1])
    assert sheet["A4"].value == "c & <d>" and sheet["B3"].value is None  # NaN: an empty cell
    assert sheet["B2"].number_format == "0.000" and sheet["C2"].value == 1
    assert sheet["D2"].value is True
    assert all(c.border.bottom.style == "thin" for c in sheet[4])  # the rule under the table
    assert sheet["A6"].value == "Note. x" and sheet["A6"].font.i
    assert sheet.freeze_panes == "A2" and sheet.column_dimensions["A"].width == 9


def test_svg_charts_are_well_formed():
    from xml.etree import ElementTree

    from analysis.report import charts

    svg = "{http://www.w3.org/2000/svg}"
    shares = pd.DataFrame([[0.1, 0.2, 0.4, 0.2, 0.1], [0.3, 0.3, 0.2, 0.1, 0.0]], index=["a", "b"])
    bars = ElementTree.fromstring(charts.likert_svg(shares, labels=list("12345"), title="<x>"))
    assert len(bars.findall(f".//{svg}rect/{svg}title")) == 9  # one bar per non-empty share
    scree = ElementTree.fromstring(charts.scree_svg([3.0, 1.2, 0.5], simulated=[1.3, 1.1, 1.0]))
    assert len(scree.findall(f".//{svg}polyline")) == 3  # observed, simulated, the line at 1
    heat = charts.loadings_svg(pd.DataFrame({"F1": [0.7, -0.2]}, index=["a", "b"]))
    assert ">.70<" in heat and ">−.20<" not in heat  # |λ| ≥ .30 printed
    cmp = pd.DataFrame(
        {
            "model": ["m1", "m2"],
            "cfi": [0.9, 0.97],
            "tli": [0.88, 0.96],
            "rmsea": [0.08, 0.04],
            "srmr": [0.07, 0.03],
            "rmsea_ci_lower": [0.07, 0.03],
            "rmsea_ci_upper": [0.09, 0.05],
        }
    )
    ElementTree.fromstring(charts.fit_comparison_svg(cmp))
    steps = pd.DataFrame(
        {
            "cfi": [0.97, 0.95],
            "rmsea": [0.04, 0.05],
            "delta_cfi": [np.nan, -0.02],
            "delta_rmsea": [np.nan, 0.01],
        },
        index=["configural", "metric"],
    )
    assert "ΔCFI −0.020" in charts.invariance_ladder_svg(steps)


@pytest.mark.skipif(
    shutil.which("soffice") is None,
    reason="LibreOffice (soffice) is not installed; Debian package 'libreoffice-calc'",
)
def test_tables_xlsx_opens_in_libreoffice(tmp_path):
    """LibreOffice Calc reads the stdlib-written tables.xlsx: every sheet exports to CSV with the
    values, the neutralised text and the note, and the workbook prints to PDF."""
    frame = pd.DataFrame(
        {"value": [0.5, np.nan, 2.25], "label": ["=1+1", "plain", "\uff1dSUM(A1)"]},
        index=pd.Index(["a", "b", "c & <d>"], name="scale"),
    )
    path = write_tables_xlsx(
        {"Table 1": frame, "Table 2": frame.iloc[:1]}, tmp_path / "t.xlsx", notes={"Table 1": "x"}
    )
    out = tmp_path / "csv"
    sheets = "csv:Text - txt - csv (StarCalc):44,34,76,1,,0,false,true,false,false,false,-1"
    for target in (sheets, "pdf"):
        done = subprocess.run(
            [
                shutil.which("soffice"),
                f"-env:UserInstallation={(tmp_path / 'lo-profile').as_uri()}",
                "--headless",
                "--norestore",
                "--convert-to",
                target,
                "--outdir",
                str(out),
                str(path),
            ],
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert done.returncode == 0, done.stderr
    rows = list(csv.reader((out / "t-Table 1.csv").open(encoding="utf-8")))
    assert rows[0] == ["scale", "value", "label"]
    assert rows[1][:2] == ["a", "0.5"] and rows[3][:2] == ["c & <d>", "2.25"]
    assert rows[2][1] == ""  # NaN: an empty cell
    assert not any(cell.startswith(("=", "\uff1d")) for row in rows for cell in row)
    assert rows[-1][0] == "Note. x"
    assert len(list(csv.reader((out / "t-Table 2.csv").open(encoding="utf-8")))) == 2
    assert (out / "t.pdf").read_bytes().startswith(b"%PDF")
