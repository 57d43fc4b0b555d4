"""The report building blocks: self-contained HTML, paper tables, JSON."""

import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import openpyxl
import pandas as pd

from analysis.report import HtmlReport, write_json, write_tables_xlsx
from tests.browser import render_in_chromium


def _report(tmp_path):
    report = HtmlReport("Test report <b>", subtitle="synthetic data")
    report.section("Numbers", intro="A table & a figure.")
    report.table(pd.DataFrame({"estimate": [0.81234, np.nan], "n": [10, 12]}, index=pd.Index(["a", "b"], name="scale")), caption="T1")
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
    path = write_tables_xlsx({"Table 1": frame}, tmp_path / "t.xlsx", notes={"Table 1": "synthetic"})
    sheet = openpyxl.load_workbook(path)["Table 1"]
    assert sheet["A2"].value == "'=cmd|' /C calc'!A0" and sheet["A2"].data_type == "s"
    assert sheet["B2"].value == 0.123456 and sheet["B3"].value == -9.0


def test_json_handles_numpy_and_nan(tmp_path):
    path = write_json({"a": np.float64("nan"), "b": np.int64(3), "c": pd.DataFrame({"x": [1.5]})}, tmp_path / "r.json")
    assert json.loads(path.read_text()) == {"a": None, "b": 3, "c": [{"index": 0, "x": 1.5}]}
