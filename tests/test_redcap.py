"""REDCap data dictionary: exact headers, record_id first, choices, matrix groups, branching, neutralising."""

from __future__ import annotations

import csv

import pytest

from instrument.forms.redcap import HEADERS, redcap_name, write_redcap

# REDCap's data dictionary header row (columns A-R), verbatim.
REDCAP_HEADER = [
    "Variable / Field Name",
    "Form Name",
    "Section Header",
    "Field Type",
    "Field Label",
    "Choices, Calculations, OR Slider Labels",
    "Field Note",
    "Text Validation Type OR Show Slider Number",
    "Text Validation Min",
    "Text Validation Max",
    "Identifier?",
    "Branching Logic (Show field only if...)",
    "Required Field?",
    "Custom Alignment",
    "Question Number (surveys only)",
    "Matrix Group Name",
    "Matrix Ranking?",
    "Field Annotation",
]


def read(path):
    with open(path, encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], [dict(zip(rows[0], row, strict=False)) for row in rows[1:]]


def test_headers_and_record_id(forms_spec, tmp_out):
    header, rows = read(write_redcap(forms_spec, tmp_out / "ftq-en-redcap.csv"))
    assert header == REDCAP_HEADER == list(HEADERS)
    assert all(len(row) == 18 for row in rows)
    assert rows[0]["Variable / Field Name"] == "record_id" and rows[0]["Field Type"] == "text"
    assert {row["Form Name"] for row in rows} == {"ftq"}
    names = [row["Variable / Field Name"] for row in rows]
    assert len(names) == len(set(names))
    assert all(name == name.lower() for name in names)


def test_items_are_radio_matrices(forms_spec, tmp_out):
    _, rows = read(write_redcap(forms_spec, tmp_out / "ftq-en-redcap.csv"))
    items = {
        row["Variable / Field Name"]: row
        for row in rows
        if row["Variable / Field Name"] in forms_spec.item_ids
    }
    assert len(items) == 6
    for row in items.values():
        assert row["Field Type"] == "radio" and row["Required Field?"] == "y"
        assert row["Choices, Calculations, OR Slider Labels"] == (
            "1, Strongly disagree | 2, Disagree | 3, Neither agree nor disagree | 4, Agree | 5, "
            "Strongly agree"
            " | 9, Not applicable"
        )
    # one matrix group per facet, the rows of a group consecutive
    assert [
        items[i]["Matrix Group Name"] for i in ("fit1", "fit2", "tru1", "tru2", "dou1", "dou2")
    ] == ["bel_fit", "bel_fit", "bel_trust", "bel_trust", "doubt", "doubt"]
    assert (
        items["fit1"]["Section Header"] == "Part 1 of 2" and items["fit2"]["Section Header"] == ""
    )
    assert items["tru2"]["Field Label"].startswith("'=")  # neutralised
    assert "&lt;openly&gt;" in items["tru1"]["Field Label"]  # REDCap renders labels as HTML


def test_background_types_branching_and_sensitive(forms_spec, tmp_out):
    _, rows = read(write_redcap(forms_spec, tmp_out / "ftq-nb-redcap.csv", lang="nb"))
    by_name = {row["Variable / Field Name"]: row for row in rows}
    assert by_name["gender"]["Field Type"] == "radio"
    assert (
        by_name["gender"]["Choices, Calculations, OR Slider Labels"]
        == "1, Kvinne | 2, Mann | 3, Annet kjønn"
    )
    assert by_name["substances"]["Field Type"] == "checkbox"
    assert (
        by_name["age"]["Field Type"],
        by_name["age"]["Text Validation Type OR Show Slider Number"],
        by_name["age"]["Text Validation Min"],
        by_name["age"]["Text Validation Max"],
    ) == ("text", "integer", "16", "100")
    assert by_name["first_mtg"]["Text Validation Type OR Show Slider Number"] == "date_ymd"
    assert by_name["first_mtg"]["Branching Logic (Show field only if...)"] == "[attended] = '1'"
    assert (
        by_name["clean_since"]["Field Type"] == "text"
        and "MM" in by_name["clean_since"]["Field Note"]
    )
    assert by_name["comments"]["Field Type"] == "notes"
    for name in ("substances", "clean_since"):
        assert (
            by_name[name]["Identifier?"] == "" and "Sensitive" in by_name[name]["Field Annotation"]
        )
    assert by_name["gender"]["Field Annotation"] == ""


def test_choices_parse_back(forms_spec, tmp_out):
    _, rows = read(write_redcap(forms_spec, tmp_out / "x.csv"))
    for row in rows:
        choices = row["Choices, Calculations, OR Slider Labels"]
        if choices:
            pairs = [part.partition(",") for part in choices.split("|")]
            assert all(
                code.strip().lstrip("-").isdigit() and label.strip() for code, _, label in pairs
            )


@pytest.mark.parametrize("lang", ["en", "nb"])
def test_mhdq_dictionary(mhdq_spec, tmp_out, lang):
    header, rows = read(write_redcap(mhdq_spec, tmp_out / f"mhdq-{lang}-redcap.csv", lang=lang))
    assert header == REDCAP_HEADER
    names = [row["Variable / Field Name"] for row in rows]
    assert names[0] == "record_id"
    assert {redcap_name(i) for i in mhdq_spec.item_ids} <= set(names)
    groups = [row["Matrix Group Name"] for row in rows if row["Matrix Group Name"]]
    # a matrix group's rows are consecutive and share identical choices
    for group in set(groups):
        members = [n for n, row in enumerate(rows) if row["Matrix Group Name"] == group]
        assert members == list(range(members[0], members[-1] + 1))
        assert len({rows[n]["Choices, Calculations, OR Slider Labels"] for n in members}) == 1


def test_bfi_names_are_lower_case(bfi_spec, tmp_out):
    _, rows = read(write_redcap(bfi_spec, tmp_out / "bfi.csv"))
    assert [row["Variable / Field Name"] for row in rows[:5]] == [
        "record_id",
        "intro",
        "a1",
        "a2",
        "a3",
    ]
