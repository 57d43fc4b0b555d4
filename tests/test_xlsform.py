"""XLSForm: accepted by pyxform with no warnings, languages, Likert groups, constraints, relevance."""

from __future__ import annotations

import openpyxl
import pytest

pyxform = pytest.importorskip("pyxform", reason="pyxform is a test extra (pip install -e .[test])")
from pyxform.xls2xform import convert  # noqa: E402

from instrument.forms.xlsform import form_version, write_xlsform  # noqa: E402


def sheet_rows(path, name):
    rows = list(openpyxl.load_workbook(path)[name].iter_rows(values_only=True))
    return [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_pyxform_accepts_forms_spec(forms_spec, tmp_out, lang):
    path = write_xlsform(forms_spec, tmp_out / f"ftq-{lang}-xlsform.xlsx", lang=lang)
    result = convert(str(path))
    assert result.warnings == []
    assert "<h:title>Forms Test Questionnaire</h:title>" in result.xform
    default = "English (en)" if lang == "en" else "Norsk bokmål (nb)"
    assert f'<translation lang="{default}" default="true()">' in result.xform


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_pyxform_accepts_mhdq(mhdq_spec, tmp_out, lang):
    result = convert(
        str(write_xlsform(mhdq_spec, tmp_out / f"mhdq-{lang}-xlsform.xlsx", lang=lang))
    )
    assert result.warnings == []
    for item_id in mhdq_spec.item_ids:
        assert f"/{item_id}" in result.xform


def test_pyxform_accepts_bfi(bfi_spec, tmp_out):
    result = convert(str(write_xlsform(bfi_spec, tmp_out / "bfi-en-xlsform.xlsx")))
    assert result.warnings == []


def test_survey_choices_and_settings(forms_spec, tmp_out):
    path = write_xlsform(forms_spec, tmp_out / "ftq-nb-xlsform.xlsx", lang="nb", group="AA")
    assert openpyxl.load_workbook(path).sheetnames == ["survey", "choices", "settings"]
    survey = sheet_rows(path, "survey")
    by_name = {row["name"]: row for row in survey if row["name"]}
    assert by_name["fit1"]["type"] == "select_one rs_agree5"
    assert (by_name["fit1"]["appearance"], by_name["fit1"]["required"]) == ("likert", "yes")
    assert by_name["fit1"]["label::English (en)"] == "I feel at home in AA."
    assert by_name["fit1"]["label::Norsk bokmål (nb)"] == "Jeg føler meg hjemme i AA."
    assert by_name["tru2"]["label::English (en)"].startswith("'=")  # neutralised
    assert (
        by_name["grp_belong"]["type"] == "begin_group"
        and by_name["grp_belong"]["appearance"] == "field-list"
    )
    assert (
        sum(row["type"] == "end_group" for row in survey)
        == sum(row["type"] == "begin_group" for row in survey)
        == 3
    )
    assert by_name["substances"]["type"] == "select_multiple bg_substances"
    assert (
        by_name["age"]["type"] == "integer"
        and by_name["age"]["constraint"] == ". >= 16 and . <= 100"
    )
    assert (
        by_name["first_mtg"]["type"] == "date"
        and by_name["first_mtg"]["relevant"] == "${attended} = '1'"
    )
    assert by_name["first_mtg"]["hint::Norsk bokmål (nb)"] == "Et omtrentlig svar holder."
    assert (by_name["clean_since"]["type"], by_name["clean_since"]["appearance"]) == (
        "date",
        "month-year",
    )
    assert by_name["comments"]["type"] == "text"
    choices = sheet_rows(path, "choices")
    agree = [row for row in choices if row["list_name"] == "rs_agree5"]
    assert [row["name"] for row in agree] == ["1", "2", "3", "4", "5", "9"]
    assert agree[-1]["label::Norsk bokmål (nb)"] == "Ikke aktuelt"
    settings = sheet_rows(path, "settings")[0]
    assert settings["form_id"] == "ftq" and settings["default_language"] == "Norsk bokmål (nb)"
    assert settings["version"] == form_version(forms_spec) and settings["version"].startswith(
        "0.3-"
    )


def test_relevant_on_a_multiple_choice_question(forms_spec, tmp_out):
    raw = dict(forms_spec.raw)
    background = [dict(q) for q in raw["background"]]
    background[4]["relevant"] = {"question": "substances", "values": [1, 3]}
    raw["background"] = background
    from instrument.spec import load_instrument

    path = write_xlsform(load_instrument(raw), tmp_out / "x.xlsx")
    by_name = {row["name"]: row for row in sheet_rows(path, "survey") if row["name"]}
    assert (
        by_name["first_mtg"]["relevant"]
        == "selected(${substances}, '1') or selected(${substances}, '3')"
    )
    assert convert(str(path)).warnings == []
