"""Reading Qualtrics exports (synthetic fixture in tests/data/exports/)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import openpyxl
import pytest

from instrument.errors import DataError
from instrument.read import detect_platform, read_responses
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"
ITEMS = ["fit_1", "fit_2", "fit_3", "ppl_1", "ppl_2", "ppl_3"]
RENAME = {f"Q1_{k}": item for k, item in enumerate(ITEMS, start=1)} | {"Q2": "age", "Q3": "gender"}
RECODE = {"*": {11: 1, 12: 2, 13: 3, 14: 4, 15: 5}}


@pytest.fixture(scope="module")
def mini():
    return load_instrument(EXPORTS / "mini.yaml")


def test_three_header_rows_rename_and_recode(mini):
    path = EXPORTS / "qualtrics_numeric.csv"
    assert detect_platform(path) == "qualtrics"
    table = read_responses(path, mini, rename=RENAME, recode=RECODE)
    assert table.platform == "qualtrics"
    # data start on row 4: row 2 is question text, row 3 the ImportId JSON
    assert table.meta["source_row"].tolist() == [4, 5, 6]
    assert table.items.loc[0].tolist()[:4] == [4.0, 5.0, 2.0, 3.0]
    assert table.items.loc[1].tolist() == [5.0] * 6
    assert table.background["age"].tolist()[:2] == [34.0, 61.0]
    assert table.meta["respondent_id"].tolist() == ["R_1abcDEF", "R_2ghiJKL", "R_3mnoPQR"]
    assert table.meta["duration_seconds"].tolist() == [500.0, 120.0, 60.0]
    assert table.meta["Finished"].tolist() == [1.0, 1.0, 0.0]
    assert table.meta["DistributionChannel"].tolist()[2] == "preview"


def test_identifying_columns_are_dropped(mini):
    table = read_responses(EXPORTS / "qualtrics_numeric.csv", mini, rename=RENAME)
    dropped = sorted(p.column for p in table.problems if p.rule == "identifying_column_dropped")
    assert dropped == sorted(
        [
            "IPAddress",
            "RecipientLastName",
            "RecipientFirstName",
            "RecipientEmail",
            "LocationLatitude",
            "LocationLongitude",
        ]
    )
    text = table.meta.to_csv() + table.background.to_csv() + table.items.to_csv()
    assert "192.0.2" not in text and "59.91" not in text
    assert "IPAddress" not in table.meta.columns


def test_without_recode_codes_are_raw(mini):
    table = read_responses(EXPORTS / "qualtrics_numeric.csv", mini, rename=RENAME)
    assert table.items.loc[0, "fit_1"] == 14.0  # left for the checks to report as outside the scale


def test_choice_text_export(tmp_path, mini):
    lines = [
        "StartDate,ResponseId,Q1_1,Q1_2",
        "Start Date,Response ID,Agree? - a,Agree? - b",
        '"{""ImportId"":""startDate""}","{""ImportId"":""_recordId""}","{""ImportId"":""QID1_1""}","{""ImportId"":""QID1_2""}"',
        "2026-01-01,R_1,Strongly agree,Somewhat agree",
    ]
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(lines) + "\n")
    table = read_responses(
        path,
        mini,
        rename={"Q1_1": "fit_1", "Q1_2": "fit_2"},
        recode={"fit_2": {"Somewhat agree": 4}},
    )
    assert table.items.loc[0].tolist() == [5.0, 4.0]


def test_xlsx_export(tmp_path, mini):
    with open(EXPORTS / "qualtrics_numeric.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    book = openpyxl.Workbook()
    for row in rows:
        book.active.append(row)
    path = tmp_path / "q.xlsx"
    book.save(path)
    assert detect_platform(path) == "qualtrics"
    table = read_responses(path, mini, rename=RENAME, recode=RECODE)
    assert table.meta["source_row"].tolist() == [4, 5, 6]
    assert table.items.loc[0].tolist()[:4] == [4.0, 5.0, 2.0, 3.0]


def test_forcing_qualtrics_on_another_file(mini):
    with pytest.raises(DataError, match="not a Qualtrics export"):
        read_responses(EXPORTS / "redcap_raw.csv", mini, platform="qualtrics")


def test_tsv_export_in_utf16(tmp_path, mini):
    """Qualtrics' TSV download is UTF-16 with a byte-order mark."""
    with open(EXPORTS / "qualtrics_numeric.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    path = tmp_path / "q.tsv"
    buffer = io.StringIO()
    csv.writer(buffer, delimiter="\t", lineterminator="\r\n").writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-16"))
    assert detect_platform(path) == "qualtrics"
    table = read_responses(path, mini, rename=RENAME, recode=RECODE)
    assert table.meta["source_row"].tolist() == [4, 5, 6]
    assert table.items.loc[0].tolist()[:4] == [4.0, 5.0, 2.0, 3.0]
