"""Reading workbooks: the MHDQ data-entry workbook, any .xlsx sheet, the calamine/openpyxl split.

Workbooks are written by the tests (openpyxl, or the project's own workbook writer); their
cell values are the expected values.
"""

from __future__ import annotations

import math
from pathlib import Path

import openpyxl
import pytest
import python_calamine

from instrument.errors import DataError
from instrument.read import detect_platform, read_responses
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"
ITEMS = ["fit_1", "fit_2", "fit_3", "ppl_1", "ppl_2", "ppl_3"]


@pytest.fixture(scope="module")
def mini():
    return load_instrument(EXPORTS / "mini.yaml")


def mhdq_workbook(
    path: Path, instrument, *, version=None, short_name=None, rows=(), prepared=50
) -> Path:
    """A workbook following the ``_mhdq`` contract (instrument/forms/workbook.py)."""
    book = openpyxl.Workbook()
    book.active.title = "About"
    data = book.create_sheet("Data entry")
    header = [
        "respondent_id",
        *instrument.item_ids,
        "age",
        "gender",
        "groups_1",
        "groups_2",
        "groups_3",
        "groups_0",
        "comment",
    ]
    data.append(header)
    for row in rows:
        data.append(list(row))
    # validations prepared for many more rows than are filled, as the real workbook does
    from openpyxl.worksheet.datavalidation import DataValidation

    validation = DataValidation(type="whole", operator="between", formula1="1", formula2="5")
    data.add_data_validation(validation)
    validation.add(f"B2:G{prepared + 1}")
    meta = book.create_sheet("_mhdq")
    for key, value in [
        ("instrument", short_name or instrument.metadata.short_name),
        ("name", instrument.metadata.name),
        ("version", version or instrument.version),
        ("fingerprint", instrument.fingerprint),
        ("language", "en"),
        ("group", ""),
        ("data_sheet", "Data entry"),
        ("header_row", 1),
        ("first_data_row", 2),
        ("data_rows", prepared),
        ("generator", "tests"),
        ("format", 1),
    ]:
        meta.append([key, value])
    meta.sheet_state = "hidden"
    book.save(path)
    return path


ROWS = [
    ("R1", 1, 2, 3, 4, 5, 9, 34, 1, 1, 0, 1, 0, "ok"),
    ("R2", 5, None, 4, "x", 2, 1, None, 2, 0, 0, 0, 1, None),
    (None, 3, 3, 3, 3, 3, 3, 50, 3, None, None, None, None, None),
]


def test_mhdq_workbook(tmp_path, mini):
    path = mhdq_workbook(tmp_path / "mini-en.xlsx", mini, rows=ROWS)
    assert detect_platform(path) == "mhdq_workbook"
    table = read_responses(path, mini)
    assert table.platform == "mhdq_workbook"
    assert table.spec_version == "1.2"
    assert len(table.items) == 3  # the empty prepared rows below are not respondents
    assert table.items["fit_1"].tolist() == [1.0, 5.0, 3.0]
    assert table.items["ppl_1"].tolist() == [4.0, "x", 3.0]
    assert table.background.loc[0, ["groups_1", "groups_2", "groups_3", "groups_0"]].tolist() == [
        1,
        0,
        1,
        0,
    ]
    assert table.meta["respondent_id"].tolist() == ["R1", "R2", "mini-en:4"]
    assert table.meta["source_row"].tolist() == [2, 3, 4]
    assert table.problems == []


def test_version_mismatch_warns(tmp_path, mini):
    path = mhdq_workbook(tmp_path / "old.xlsx", mini, version="1.0", rows=ROWS[:1])
    table = read_responses(path, mini)
    [problem] = table.problems
    assert (problem.rule, problem.severity, problem.value) == (
        "spec_version_mismatch",
        "warning",
        "1.0",
    )
    assert table.spec_version == "1.0"


def test_other_instrument_is_an_error(tmp_path, mini):
    path = mhdq_workbook(tmp_path / "other.xlsx", mini, short_name="BFI", rows=ROWS[:1])
    with pytest.raises(
        DataError, match=r"other\.xlsx: this workbook was made for instrument 'BFI', not mini"
    ):
        read_responses(path, mini)


def test_projects_own_workbook(tmp_path, mini):
    """The workbook instrument/forms/workbook.py writes, filled in by hand and read back."""
    workbook = pytest.importorskip("instrument.forms.workbook")
    path = workbook.write_workbook(mini, tmp_path / "mini-nb.xlsx", lang="nb", rows=200)
    book = openpyxl.load_workbook(path)
    meta = {row[0].value: row[1].value for row in book["_mhdq"].iter_rows()}
    sheet = book[meta["data_sheet"]]
    header = [cell.value for cell in sheet[1]]
    answers = {
        "respondent_id": "N7",
        "fit_1": 2,
        "fit_2": 4,
        "ppl_3": 9,
        "gender": 2,
        "groups_3": 1,
        "groups_1": 0,
    }
    for column, name in enumerate(header, start=1):
        if name in answers:
            sheet.cell(row=2, column=column, value=answers[name])
    book.save(path)
    table = read_responses(path, mini)
    assert table.platform == "mhdq_workbook" and len(table.items) == 1
    assert table.items.loc[0, ["fit_1", "fit_2", "ppl_3"]].tolist() == [2.0, 4.0, 9.0]
    assert math.isnan(table.items.loc[0, "fit_3"])
    assert table.background.loc[0, ["gender", "groups_3", "groups_1"]].tolist() == [2.0, 1.0, 0.0]
    assert table.meta["respondent_id"].tolist() == ["N7"]
    assert not [p for p in table.problems if p.severity != "info"]


def test_generic_workbook_first_sheet_and_sheet_option(tmp_path, mini):
    book = openpyxl.Workbook()
    book.active.append(["fit_1", "fit_2", None, "respondent_id"])
    book.active.append([1, 2, None, 101])
    book.active.append([None, None, None, None])
    book.active.append([3, "Agree", None, 102.0])
    book.active.append([None, None, None, None])
    other = book.create_sheet("Second")
    other.append(["ppl_1"])
    other.append([5])
    path = tmp_path / "generic.xlsx"
    book.save(path)
    assert detect_platform(path) == "xlsx"
    table = read_responses(path, mini)
    assert table.items["fit_2"].tolist() == [2.0, 4.0]
    assert table.meta["source_row"].tolist() == [
        2,
        4,
    ]  # the empty row 3 is skipped, the numbering kept
    assert table.meta["respondent_id"].tolist() == [
        "101",
        "102",
    ]  # numbers as Excel stores them, as text
    second = read_responses(path, mini, sheet="Second")
    assert second.items["ppl_1"].tolist() == [5.0]
    with pytest.raises(DataError, match="no sheet 'Third'; sheets: Sheet, Second"):
        read_responses(path, mini, sheet="Third")


def test_values_beyond_the_header_are_reported(tmp_path, mini):
    book = openpyxl.Workbook()
    book.active.append(["fit_1"])
    book.active.append([1, None, "stray"])
    path = tmp_path / "stray.xlsx"
    book.save(path)
    table = read_responses(path, mini)
    [problem] = table.problems[-1:]
    assert problem.rule == "unnamed_column" and problem.row == 2


def test_openpyxl_only_when_calamine_rejects_the_xml(tmp_path, mini, monkeypatch):
    book = openpyxl.Workbook()
    book.active.append(["fit_1", "fit_2"])
    book.active.append([4, 5])
    path = tmp_path / "quirky.xlsx"
    book.save(path)

    class Rejecting:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def get_sheet_by_name(self, name):
            raise python_calamine.XmlError("synthetic: calamine rejects this sheet's XML")

    original = python_calamine.CalamineWorkbook.from_path
    monkeypatch.setattr(
        python_calamine.CalamineWorkbook, "from_path", lambda p: Rejecting(original(p))
    )
    table = read_responses(path, mini)
    assert table.items.loc[0].tolist() == [4.0, 5.0]


def test_other_calamine_failures_do_not_fall_back(tmp_path, mini, monkeypatch):
    book = openpyxl.Workbook()
    book.active.append(["fit_1"])
    path = tmp_path / "broken.xlsx"
    book.save(path)

    class Failing:
        def __init__(self, inner):
            self.inner = inner

        def __getattr__(self, name):
            return getattr(self.inner, name)

        def get_sheet_by_name(self, name):
            raise python_calamine.CalamineError("synthetic failure")

    original = python_calamine.CalamineWorkbook.from_path
    monkeypatch.setattr(
        python_calamine.CalamineWorkbook, "from_path", lambda p: Failing(original(p))
    )
    with pytest.raises(DataError, match=r"broken\.xlsx: sheet 'Sheet' cannot be read"):
        read_responses(path, mini)


def test_misnamed_file(tmp_path, mini):
    path = tmp_path / "answers.xlsx"
    path.write_text("fit_1\n1\n")
    with pytest.raises(
        DataError, match=r"answers\.xlsx: the name ends in \.xlsx but the file is not a workbook"
    ):
        read_responses(path, mini)


def test_openpyxl_when_calamine_rejects_the_workbook_part(tmp_path, mini, monkeypatch):
    book = openpyxl.Workbook()
    book.active.append(["fit_1", "fit_2"])
    book.active.append([2, 3])
    path = tmp_path / "quirky-book.xlsx"
    book.save(path)

    def rejecting(path):
        raise python_calamine.XmlError("synthetic: calamine rejects workbook.xml")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", rejecting)
    table = read_responses(path, mini)
    assert table.items.loc[0].tolist() == [2.0, 3.0]
