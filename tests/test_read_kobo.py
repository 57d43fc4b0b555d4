"""Reading KoboToolbox exports (synthetic fixtures in tests/data/exports/)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import openpyxl
import pytest

from instrument.read import detect_platform, read_responses
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"
ITEMS = ["fit_1", "fit_2", "fit_3", "ppl_1", "ppl_2", "ppl_3"]


@pytest.fixture(scope="module")
def mini():
    return load_instrument(EXPORTS / "mini.yaml")


def test_xml_values_and_headers(mini):
    path = EXPORTS / "kobo_xml.csv"
    assert detect_platform(path) == "kobo"
    table = read_responses(path, mini)
    assert table.platform == "kobo"
    # group prefixes stripped: grp_fit/fit_1 -> fit_1
    assert list(table.items.columns) == ITEMS
    assert table.items.loc[0].tolist()[:4] == [4.0, 5.0, 2.0, 3.0] and math.isnan(
        table.items.loc[0, "ppl_2"]
    )
    assert table.items.loc[1, "fit_1"] == 9.0  # not-applicable code kept as a code
    # select_multiple from its q/option columns; a skipped question stays missing, not 0
    groups = table.background[["groups_1", "groups_2", "groups_3", "groups_0"]]
    assert groups.loc[0].tolist() == [1, 0, 1, 0]
    assert groups.loc[1].isna().all()
    assert groups.loc[2].tolist() == [0, 0, 0, 1]
    # metadata kept, device id dropped, duration from start/end
    assert table.meta["respondent_id"].tolist() == ["aaaa-1", "bbbb-2", "cccc-3"]
    assert {"_id", "_uuid", "_submission_time", "_index", "__version__", "start", "end"} <= set(
        table.meta.columns
    )
    assert "deviceid" not in table.meta.columns
    assert table.meta["duration_seconds"].tolist() == [750.0, 300.0, 1200.0]
    assert table.meta["source_row"].tolist() == [2, 3, 4]
    # text answers are kept as typed (line break, formula-like text); writers neutralise them
    assert table.background.loc[1, "comment"] == "=cmd|' /C calc'!A0\nsecond line"
    assert [p.rule for p in table.problems] == ["identifying_column_dropped"]


def test_label_mode_norwegian(mini):
    table = read_responses(EXPORTS / "kobo_labels_nb.csv", mini)
    assert table.platform == "kobo"
    # headers are question labels (with the {group} default filled in), answers are labels
    assert list(table.items.columns) == ITEMS
    assert table.items.loc[0, ["fit_1", "fit_2", "fit_3", "ppl_1", "ppl_3"]].tolist() == [
        4.0,
        5.0,
        2.0,
        3.0,
        1.0,
    ]
    assert table.items.loc[1, "fit_1"] == 9.0  # "Gjelder ikke" is the not-applicable label
    assert table.items.loc[1, "fit_2"] == 1.0  # case does not matter
    assert table.items.loc[1, "ppl_3"] == "Kanskje"  # not a label: left for the checks to report
    assert table.background["gender"].tolist() == [1.0, 2.0]
    assert table.background.loc[0, ["groups_1", "groups_2", "groups_3", "groups_0"]].tolist() == [
        1,
        0,
        1,
        0,
    ]
    assert table.meta["duration_seconds"].tolist() == [600.0, 180.0]


def test_summary_column_only(tmp_path, mini):
    path = tmp_path / "k.csv"
    path.write_text(
        '"fit_1";"groups";"_uuid";"_submission_time"\r\n"1";"2 0";"u1";"t"\r\n"2";"1 '
        '7";"u2";"t"\r\n'
    )
    table = read_responses(path, mini)
    assert table.background.loc[0, ["groups_1", "groups_2", "groups_3", "groups_0"]].tolist() == [
        0,
        1,
        0,
        1,
    ]
    [problem] = [p for p in table.problems if p.rule == "unknown_choice"]
    assert (problem.row, problem.column, problem.value, problem.severity) == (
        3,
        "groups",
        "7",
        "error",
    )


def test_odk_central_dash_groups(tmp_path, mini):
    path = tmp_path / "odk.csv"
    path.write_text(
        "SubmissionDate,grp-fit_1,grp-fit_2,meta-instanceID,KEY\n2026-01-01,3,4,uuid:1,uuid:1\n"
    )
    table = read_responses(path, mini, platform="kobo")
    assert table.items.loc[0, ["fit_1", "fit_2"]].tolist() == [3.0, 4.0]


def test_xls_export(tmp_path, mini):
    """Kobo's XLS export is an .xlsx with the same columns; numbers arrive typed."""
    with open(EXPORTS / "kobo_xml.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle, delimiter=";"))
    book = openpyxl.Workbook()
    sheet = book.active
    for row in rows:
        sheet.append([float(v) if v.isdigit() else (v or None) for v in row])
    path = tmp_path / "kobo.xlsx"
    book.save(path)
    assert detect_platform(path) == "kobo"
    from_xlsx = read_responses(path, mini)
    from_csv = read_responses(EXPORTS / "kobo_xml.csv", mini)
    assert from_xlsx.platform == "kobo"
    assert from_xlsx.items.equals(from_csv.items)
    assert from_xlsx.meta["respondent_id"].tolist() == from_csv.meta["respondent_id"].tolist()
    assert from_xlsx.meta["duration_seconds"].tolist() == [750.0, 300.0, 1200.0]


def test_label_headers_of_a_form_built_for_another_group(tmp_path, mini):
    """A form built with group="AA" has that name in its labels, not the default."""
    path = tmp_path / "aa.csv"
    path.write_text(
        '"Passform/Møtene i AA passet ikke for meg.";"The meetings of AA did not suit me.";"_uuid";'
        '"_submission_time"\r\n"Enig";"";"u1";"t"\r\n',
        encoding="utf-8",
    )
    table = read_responses(path, mini)
    assert table.items["fit_1"].tolist() == [4.0]
    assert [p.column for p in table.problems if p.rule == "duplicate_column"] == [
        "The meetings of AA did not suit me."
    ]


def test_hxl_tag_row_under_the_header(tmp_path, mini):
    path = tmp_path / "hxl.csv"
    path.write_text(
        '"fit_1";"fit_2";"_uuid";"_submission_time"\r\n"#indicator '
        '+a";"";"";""\r\n"2";"3";"u1";"t"\r\n'
    )
    table = read_responses(path, mini)
    assert table.items.loc[0, ["fit_1", "fit_2"]].tolist() == [2.0, 3.0]
    assert table.meta["source_row"].tolist() == [3]
