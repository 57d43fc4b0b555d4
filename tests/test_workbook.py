"""The questionnaire workbook: sheets, the _mhdq contract, blocking validation, round trip of typed answers."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pytest
from openpyxl.utils import get_column_letter

from instrument.forms import DATA_ROWS, data_columns, ordered_items, sections
from instrument.forms.workbook import write_workbook
from instrument.spec import load_instrument

LAST = 1 + DATA_ROWS


def meta_of(wb) -> dict:
    return {row[0]: row[1] for row in wb["_mhdq"].iter_rows(values_only=True)}


def validation_at(ws, cell: str):
    found = [dv for dv in ws.data_validations.dataValidation if cell in dv.sqref]
    assert len(found) == 1, f"{cell}: {len(found)} validations"
    return found[0]


@pytest.fixture
def forms_book(forms_spec, tmp_out):
    return openpyxl.load_workbook(write_workbook(forms_spec, tmp_out / "ftq-en.xlsx", lang="en"))


def test_sheets_and_metadata_contract(forms_spec, forms_book):
    assert forms_book.sheetnames == [
        "About",
        "Questionnaire",
        "Data entry",
        "Codebook",
        "Scoring key",
        "_mhdq",
    ]
    assert forms_book["_mhdq"].sheet_state == "hidden"
    meta = meta_of(forms_book)
    assert meta["instrument"] == "FTQ"
    assert meta["name"] == "Forms Test Questionnaire"
    assert meta["version"] == "0.3"
    assert meta["fingerprint"] == forms_spec.fingerprint
    assert meta["language"] == "en"
    assert meta["data_sheet"] == "Data entry"
    assert (meta["header_row"], meta["first_data_row"]) == (1, 2)
    assert meta["generator"].startswith("mhdq ")
    assert meta["group"] in (None, "")


def test_data_entry_header_and_frozen_panes(forms_spec, forms_book):
    ws = forms_book["Data entry"]
    header = [c.value for c in ws[1]]
    assert header[0] == "respondent_id"
    assert header[1:7] == ["fit1", "fit2", "tru1", "tru2", "dou1", "dou2"]
    # multiple choice as one 0/1 column per choice, named {question}_{code}
    assert header[7:] == [
        "gender",
        "age",
        "substances_1",
        "substances_2",
        "substances_3",
        "attended",
        "first_mtg",
        "clean_since",
        "comments",
    ]
    assert ws.freeze_panes == "B2"


def test_every_answer_cell_has_a_blocking_validation(forms_spec, forms_book):
    ws = forms_book["Data entry"]
    for n, column in enumerate(data_columns(forms_spec), 1):
        letter = get_column_letter(n)
        dv = validation_at(ws, f"{letter}2")
        assert f"{letter}{LAST}" in dv.sqref and f"{letter}{LAST + 1}" not in dv.sqref
        assert dv.showErrorMessage is True and dv.errorStyle == "stop", column.name
        assert dv.showInputMessage is True and dv.prompt, column.name
        assert not dv.showDropDown  # True would hide the arrow
        assert dv.allow_blank
        assert len(dv.prompt) <= 255 and len(dv.error) <= 225
    agree = validation_at(ws, "B2")
    assert (
        agree.type == "list" and agree.formula1 == '"1,2,3,4,5,9"'
    )  # codes 1-5 and N/A 9 from the spec
    assert agree.prompt.startswith("1 = Strongly disagree; 2 = Disagree")
    assert "5 = Strongly agree; 9 = Not applicable" in agree.prompt
    gender = validation_at(ws, "H2")
    assert gender.type == "list" and gender.formula1 == '"1,2,3"' and "1 = Woman" in gender.prompt
    age = validation_at(ws, "I2")
    assert (age.type, age.operator, age.formula1, age.formula2) == ("whole", "between", "16", "100")
    ticks = validation_at(ws, "J2")
    assert ticks.type == "list" and ticks.formula1 == '"1,0"'
    first_meeting = validation_at(ws, "N2")
    # Excel serial numbers of 1900-01-01 and 2100-12-31 (Excel counts 1900-01-01 as day 1)
    assert (
        first_meeting.type,
        first_meeting.operator,
        first_meeting.formula1,
        first_meeting.formula2,
    ) == ("date", "between", "1", "73415")
    clean_since = validation_at(ws, "O2")
    assert (
        clean_since.type == "custom"
        and "LEN(O2)=7" in clean_since.formula1
        and ">=1950" in clean_since.formula1
    )
    comments = validation_at(ws, "P2")
    assert comments.type == "textLength"
    ids = validation_at(ws, "A2")
    assert ids.type == "custom" and ids.formula1.startswith("COUNTIF(")


def test_validations_are_ranges_not_cells(forms_book, tmp_out):
    ws = forms_book["Data entry"]
    assert len(ws.data_validations.dataValidation) <= 12
    assert (tmp_out / "ftq-en.xlsx").stat().st_size < 60_000


def test_typed_answers_round_trip(forms_spec, tmp_out):
    """Answers typed into the data-entry sheet come back exactly (codes as numbers, dates as dates)."""
    path = write_workbook(forms_spec, tmp_out / "ftq-en.xlsx", lang="en")
    wb = openpyxl.load_workbook(path)
    ws = wb["Data entry"]
    rows = [
        [
            "r001",
            1,
            5,
            3,
            9,
            2,
            4,
            2,
            34,
            1,
            0,
            1,
            1,
            dt.datetime(2019, 4, 2),
            "2021-03",
            "Fine, thanks",
        ],
        ["r002", 5, 1, None, 2, 3, 3, 1, 61, 0, 0, 0, 0, None, "1999-12", None],
        [
            "r003",
            9,
            9,
            9,
            9,
            9,
            9,
            3,
            None,
            0,
            1,
            1,
            1,
            dt.datetime(2001, 1, 31),
            None,
            "=not a formula",
        ],
    ]
    for r, values in enumerate(rows, 2):
        for c, value in enumerate(values, 1):
            ws.cell(row=r, column=c, value=value)
    ws.cell(row=4, column=16).data_type = "s"
    wb.save(path)
    back = openpyxl.load_workbook(path)["Data entry"]
    got = [[cell.value for cell in row] for row in back.iter_rows(min_row=2, max_row=4)]
    assert got == rows


def test_spec_text_is_neutralised(forms_book):
    """Item text starting with = or - is stored as text with an apostrophe, never as a formula."""
    for ws in forms_book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate} is a formula"
    texts = [c.value for c in forms_book["Questionnaire"]["B"] if isinstance(c.value, str)]
    assert "'=1+1 people keep what I say to themselves." in texts
    assert "'- I wonder whether to keep going." in texts


def test_questionnaire_prints_on_a4(forms_spec, forms_book):
    ws = forms_book["Questionnaire"]
    assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4) == 9
    assert ws.page_setup.fitToWidth == 1 and ws.sheet_properties.pageSetUpPr.fitToPage
    assert ws.print_title_rows == "$1:$3"
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "Part 1 of 2" in values and "Part 2 of 2" in values
    assert "I feel at home in the group." in values  # {group} filled with its default
    assert "9 = Not applicable" in values
    # items in section order, each with its number
    numbers = [row[0].value for row in ws.iter_rows(min_row=5) if isinstance(row[0].value, int)]
    assert numbers == list(
        range(1, len(ordered_items(forms_spec)) + len(forms_spec.background) + 1)
    )


def test_codebook_and_scoring_key(forms_spec, forms_book):
    codebook = list(forms_book["Codebook"].iter_rows(values_only=True))
    assert codebook[0][:6] == ("variable", "label", "type", "codes", "keyed", "scale")
    by_name = {row[0]: row for row in codebook[1:]}
    assert set(by_name) == {c.name for c in data_columns(forms_spec)}
    assert (by_name["fit1"][4], by_name["fit2"][4]) == (1, -1) and by_name["fit2"][5] == "bel_fit"
    assert by_name["fit1"][3].endswith("9 = Not applicable")
    assert by_name["substances_2"][2] == "multiple_choice" and by_name["substances_2"][7] == "yes"
    assert by_name["first_mtg"][8] == "attended in (1)"
    key = {row[0]: row for row in list(forms_book["Scoring key"].iter_rows(values_only=True))[1:]}
    assert key["belong"][5] == "fit1, fit2, tru1, tru2" and key["belong"][6] == "fit2"
    assert key["total"][4] == 6
    assert "6 - x" in key["total"][10]  # reversal on a 1-5 scale


def test_group_and_norwegian(forms_spec, tmp_out):
    wb = openpyxl.load_workbook(
        write_workbook(forms_spec, tmp_out / "ftq-nb.xlsx", lang="nb", group="AA")
    )
    meta = meta_of(wb)
    assert meta["language"] == "nb" and meta["group"] == "AA"
    assert meta["data_sheet"] == "Dataregistrering" and meta["data_sheet"] in wb.sheetnames
    ws = wb[meta["data_sheet"]]
    assert validation_at(ws, "B2").prompt.startswith("1 = Helt uenig")
    values = [c.value for row in wb["Spørreskjema"].iter_rows() for c in row]
    assert "Jeg føler meg hjemme i AA." in values


def test_long_code_lists_use_a_hidden_range(forms_spec, tmp_out):
    raw = dict(forms_spec.raw)
    raw["response_scales"] = {
        "agree5": dict(
            raw["response_scales"]["agree5"], missing_codes=list(range(-100_001, -100_041, -1))
        )
    }
    spec = load_instrument(raw)
    wb = openpyxl.load_workbook(write_workbook(spec, tmp_out / "long.xlsx"))
    dv = validation_at(wb["Data entry"], "B2")
    assert dv.formula1 == "'_lists'!$A$1:$A$46"
    assert wb["_lists"].sheet_state == "hidden"
    assert [wb["_lists"].cell(row=n, column=1).value for n in (1, 5, 6, 7)] == [1, 5, 9, -100_001]
    assert len(dv.prompt) <= 255


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_mhdq_workbook(mhdq_spec, tmp_out, lang):
    wb = openpyxl.load_workbook(write_workbook(mhdq_spec, tmp_out / f"mhdq-{lang}.xlsx", lang=lang))
    meta = meta_of(wb)
    assert (
        meta["instrument"] == mhdq_spec.metadata.short_name
        and meta["fingerprint"] == mhdq_spec.fingerprint
    )
    ws = wb[meta["data_sheet"]]
    header = [c.value for c in ws[1]]
    assert header == [c.name for c in data_columns(mhdq_spec)]
    assert set(mhdq_spec.item_ids) <= set(header)
    for n, name in enumerate(header, 1):
        dv = validation_at(ws, f"{get_column_letter(n)}{LAST}")
        assert dv.showErrorMessage and dv.errorStyle == "stop", name
    for item_id in mhdq_spec.item_ids:
        dv = validation_at(ws, f"{get_column_letter(header.index(item_id) + 1)}2")
        codes = mhdq_spec.response_scale_of(item_id).allowed_codes()
        assert dv.formula1 == '"' + ",".join(map(str, codes)) + '"'
    assert len(sections(mhdq_spec)) >= 2


def test_bfi_workbook(bfi_spec, tmp_out):
    wb = openpyxl.load_workbook(write_workbook(bfi_spec, tmp_out / "bfi-en.xlsx"))
    ws = wb["Data entry"]
    header = [c.value for c in ws[1]]
    assert header[: 1 + len(bfi_spec.items)] == ["respondent_id"] + list(bfi_spec.item_ids)
    assert header == [c.name for c in data_columns(bfi_spec)]
    dv = validation_at(ws, "Z2")
    assert dv.formula1 == '"1,2,3,4,5,6"' and dv.prompt.startswith("1 = Very Inaccurate")


def test_unknown_language_is_rejected(forms_spec, tmp_out):
    with pytest.raises(ValueError, match="allowed: en, nb"):
        write_workbook(forms_spec, tmp_out / "x.xlsx", lang="de")


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_round_trip_through_the_project_reader(forms_spec, tmp_out, lang):
    """Answers typed into the built workbook come back through instrument.read.read_responses."""
    try:
        from instrument.read import read_responses
    except ImportError as exc:  # the reader is written by another helper
        pytest.xfail(f"instrument.read is not importable yet: {exc}")
    path = write_workbook(forms_spec, tmp_out / f"ftq-{lang}.xlsx", lang=lang)
    wb = openpyxl.load_workbook(path)
    ws = wb[meta_of(wb)["data_sheet"]]
    ws.append(
        [
            "r001",
            1,
            5,
            3,
            9,
            2,
            4,
            2,
            34,
            1,
            0,
            1,
            1,
            dt.datetime(2019, 4, 2),
            "2021-03",
            "Fine, thanks",
        ]
    )
    ws.append(["r002", 5, 1, None, 2, 3, 3, 1, 61, 0, 0, 0, 0, None, "1999-12", None])
    wb.save(path)
    table = read_responses(path, forms_spec)
    assert table.platform == "mhdq_workbook"
    assert [p for p in table.problems if p.severity == "error"] == []
    assert table.meta["respondent_id"].tolist() == ["r001", "r002"]
    assert table.items.columns.tolist() == list(forms_spec.item_ids)
    assert table.items.fillna(-1).to_dict("list") == {  # -1 marks the blank answer
        "fit1": [1.0, 5.0],
        "fit2": [5.0, 1.0],
        "tru1": [3.0, -1],
        "tru2": [9.0, 2.0],
        "dou1": [2.0, 3.0],
        "dou2": [4.0, 3.0],
    }
    background = table.background
    assert background["gender"].tolist() == [2.0, 1.0] and background["age"].tolist() == [
        34.0,
        61.0,
    ]
    assert background[["substances_1", "substances_2", "substances_3"]].to_numpy().tolist() == [
        [1, 0, 1],
        [0, 0, 0],
    ]
    assert str(background["first_mtg"].iloc[0])[:10] == "2019-04-02"
    assert background["clean_since"].tolist() == ["2021-03", "1999-12"]
    assert background["comments"].iloc[0] == "Fine, thanks"


def test_column_name_clashes_are_rejected(forms_spec):
    raw = dict(forms_spec.raw)
    background = [dict(q) for q in raw["background"]]
    background.append({"id": "substances_2", "type": "text", "label": {"en": "x", "nb": "x"}})
    raw["background"] = background
    with pytest.raises(ValueError, match="substances_2"):
        data_columns(load_instrument(raw))
    raw["background"] = [dict(q) for q in forms_spec.raw["background"]] + [
        {"id": "respondent_id", "type": "text", "label": {"en": "x", "nb": "x"}}
    ]
    with pytest.raises(ValueError, match="respondent_id is reserved"):
        data_columns(load_instrument(raw))
