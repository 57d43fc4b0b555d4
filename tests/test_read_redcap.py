"""Reading REDCap raw record exports (synthetic fixture in tests/data/exports/)."""

from __future__ import annotations

from pathlib import Path

import pytest

from instrument.read import detect_platform, read_responses
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"


@pytest.fixture(scope="module")
def mini():
    return load_instrument(EXPORTS / "mini.yaml")


def test_raw_record_export(mini):
    path = EXPORTS / "redcap_raw.csv"
    assert detect_platform(path) == "redcap"
    table = read_responses(path, mini)
    assert table.platform == "redcap"
    assert table.items["fit_1"].tolist()[:3] == [4.0, 3.0, 9.0]
    # checkbox columns groups___code become groups_code
    assert table.background.loc[0, ["groups_1", "groups_2", "groups_3", "groups_0"]].tolist() == [
        1,
        0,
        1,
        0,
    ]
    assert table.background["comment"].tolist()[0] == "Fine, thanks"
    # record_id is the respondent id (repeated across events); REDCap's own columns are metadata
    assert table.meta["respondent_id"].tolist() == ["1", "1", "2", "3"]
    assert table.meta["redcap_event_name"].tolist()[:2] == ["baseline_arm_1", "followup_arm_1"]
    assert table.meta["mini_complete"].tolist() == [2.0, 2.0, 1.0, 0.0]
    assert {"redcap_repeat_instrument", "redcap_repeat_instance", "record_id"} <= set(
        table.meta.columns
    )
    assert table.problems == []


def test_renamed_record_id_field(tmp_path, mini):
    path = tmp_path / "r.csv"
    path.write_text("study_id,redcap_event_name,fit_1,groups___2\nA-7,baseline_arm_1,5,1\n")
    assert detect_platform(path) == "redcap"
    table = read_responses(path, mini)
    assert table.meta["respondent_id"].tolist() == ["A-7"]
    assert table.background["groups_2"].tolist() == [1.0]
    assert table.background["groups_1"].isna().all()  # no column for that choice


def test_checkbox_not_0_or_1(tmp_path, mini):
    path = tmp_path / "r.csv"
    path.write_text("record_id,fit_1,groups___1\n1,5,2\n")
    table = read_responses(path, mini)
    [problem] = [p for p in table.problems if p.rule == "choice_flag_not_0_1"]
    assert (problem.row, problem.column) == (2, "groups_1")


def test_labels_export(tmp_path, mini):
    """REDCap's "CSV (labels)": field labels as headers, choice labels as values, checkboxes as
    ``Label (choice=Choice label)`` with Checked/Unchecked."""
    header = [
        "Record ID",
        "The meetings of the group did not suit me.",
        "I felt out of place.",
        "Gender",
        "Other groups attended (choice=AA)",
        "Other groups attended (choice=Church group)",
        "Complete?",
    ]
    rows = [["1", "Agree", "Strongly disagree", "Woman", "Checked", "Unchecked", "Complete"]]
    path = tmp_path / "labels.csv"
    path.write_text("\n".join(",".join(r) for r in [header, *rows]) + "\n")
    table = read_responses(path, mini, platform="redcap")
    assert table.items.loc[0, ["fit_1", "fit_2"]].tolist() == [4.0, 1.0]
    assert table.background.loc[0, ["gender", "groups_1", "groups_3"]].tolist() == [1.0, 1.0, 0.0]
    assert table.meta["respondent_id"].tolist() == ["1"]
