"""Skipped by design, not applicable and missing: checking, scoring and counting (bank 0.2.0).

The expected values are worked out by hand from the specification's skip logic (which items a
respondent is shown) and the scoring rule (mean of the answered items; a score needs half of
the items that were shown and applicable), not taken from our own output.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from instrument.check import check_responses, shown_items
from instrument.forms import build_forms, data_columns
from instrument.forms.workbook import fill_data_entry
from instrument.read import read_responses
from instrument.responses import ResponseTable
from instrument.score import careless_indices, response_counts, score_items
from instrument.spec import load_instrument

SECOND_RATE_SKIPPABLE = {"ne_sr6", "ne_sr9", "ne_sr12"}


@pytest.fixture(scope="module")
def v2():
    return load_instrument("mhdq-0.2.0")


def table(v2, rows: list[dict]) -> ResponseTable:
    items = pd.DataFrame([{i: r.get(i, np.nan) for i in v2.item_ids} for r in rows], dtype=float)
    background_ids = ["wave_form", "group_kind", "sponsor_ever", "relapse_ever", "mental_health"]
    background = pd.DataFrame([{q: r.get(q, np.nan) for q in background_ids} for r in rows])
    meta = pd.DataFrame(
        {
            "source_file": "x.csv",
            "source_row": range(2, len(rows) + 2),
            "respondent_id": [f"r{k}" for k in range(len(rows))],
        }
    )
    return ResponseTable(items, background, meta, source="x.csv")


def full_answers(v2, value: float = 2.0) -> dict:
    return dict.fromkeys(v2.item_ids, value)


def test_shown_items_follows_every_condition(v2):
    bg = pd.DataFrame(
        {"group_kind": [1, 2, 1, None], "sponsor_ever": [1, 1, 0, 1], "relapse_ever": [1, 0, 9, 1]}
    )
    shown = pd.DataFrame(shown_items(bg, v2), columns=v2.item_ids)
    assert shown["mf_st9"].tolist() == [True, False, True, False]  # twelve_step only
    assert shown["ne_so1"].tolist() == [True, True, False, True]
    assert shown["ne_sr9"].tolist() == [True, False, False, True]  # 9 = prefer not to say
    assert shown["mf_st10"].tolist() == [False] * 4  # mental_health not asked here
    assert shown["mf_st2"].all()


def test_skipped_not_applicable_and_missing_are_told_apart(v2):
    twelve = {"wave_form": 1, "group_kind": 1, "sponsor_ever": 0, "relapse_ever": 0}
    row0 = full_answers(v2) | twelve | {"mf_st9": 9}  # not applicable (allowed on mf_st9)
    for item in ("ne_so1", "ne_so2", "ne_sr6", "ne_sr9", "mf_st10"):
        row0[item] = np.nan  # skipped by design
    row1 = dict(row0) | {"ne_so1": 4.0, "mf_st9": 3.0, "mf_st2": np.nan}  # answered but hidden
    row2 = dict(row0) | {"mf_st2": 9.0}  # code 9 where the item offers no "does not apply"
    checked = check_responses(table(v2, [row0, row1, row2]), v2)
    rules = {(p.rule, p.column, p.row) for p in checked.problems}
    hidden = next(p for p in checked.problems if p.rule == "answered_but_skipped")
    assert (hidden.column, hidden.severity) == ("ne_so1", "warning")
    assert "1 cell(s)" in hidden.message and "first rows: 3" in hidden.message
    assert ("code_outside_scale", "mf_st2", 4) in rules
    missing = [p for p in checked.problems if p.rule == "missing_answer"]
    assert {p.column for p in missing} == {"mf_st2"}  # rows 3 and 4: blank/invalid where shown
    assert "2 cell(s)" in missing[0].message
    skipped = next(
        p for p in checked.problems if p.rule == "skipped_by_design" and p.column == "ne_so1"
    )
    assert skipped.severity == "info" and "3 cell(s)" in skipped.message
    assert checked.skipped.loc[0, "ne_so1"] and not checked.skipped.loc[0, "mf_st9"]
    assert checked.not_applicable.loc[0, "mf_st9"] and checked.not_applicable.loc[0, "ne_so1"]
    assert np.isnan(checked.codes.loc[1, "ne_so1"])  # set aside
    counts = response_counts(
        checked.codes,
        v2,
        not_applicable=checked.not_applicable,
        skipped=checked.skipped,
        scales=["strategy", "social"],
    )
    # strategy: 8 items; row 0 skips mf_st10, mf_st9 is code 9, 6 answered
    assert counts.loc[0, ["strategy_answered", "strategy_skipped"]].tolist() == [6, 1]
    assert counts.loc[0, ["strategy_not_applicable", "strategy_missing"]].tolist() == [1, 0]
    assert counts.loc[2, "strategy_missing"] == 1  # code 9 on mf_st2 is invalid
    assert counts.loc[0, "social_skipped"] == 2


def test_scoring_treats_skipped_like_not_applicable(v2):
    """second_rate has 9 items; a SMART member without a relapse is shown 6 of them. With 3 of
    those answered the score exists (3 >= 0.5 * 6); counting the skipped items as missing would
    have refused it (3 < 0.5 * 9)."""
    smart = {"wave_form": 1, "group_kind": 2, "sponsor_ever": 0, "relapse_ever": 0}
    second_rate = v2.scale_items("second_rate")
    shown = [i for i in second_rate if i not in SECOND_RATE_SKIPPABLE]
    assert len(second_rate) == 9 and len(shown) == 6
    answers = {shown[0]: 1.0, shown[1]: 2.0, shown[2]: 4.0}
    checked = check_responses(table(v2, [smart | answers]), v2)
    scores = score_items(
        checked.codes, v2, not_applicable=checked.not_applicable, scales=["second_rate"]
    )
    keyed = [v2.item(i).keyed for i in shown[:3]]
    expected = np.mean([v if k > 0 else 6 - v for v, k in zip((1, 2, 4), keyed, strict=True)])
    assert scores.loc[0, "second_rate"] == pytest.approx(expected, abs=1e-12)
    assert scores.loc[0, "second_rate_n"] == 3
    treated_as_missing = score_items(checked.codes, v2, scales=["second_rate"])
    assert np.isnan(treated_as_missing.loc[0, "second_rate"])


def test_careless_indices(v2):
    flat = full_answers(v2, 3.0) | {"group_kind": 1, "sponsor_ever": 1, "relapse_ever": 1}
    varied = dict(flat)
    for k, item in enumerate(v2.item_ids):
        varied[item] = float(1 + k % 5)
    checked = check_responses(table(v2, [flat, varied]), v2)
    background = pd.DataFrame({"attention": [2, 4]})
    indices = careless_indices(checked.codes, v2, background=background)
    shown = int(shown_items(checked.background, v2)[0].sum())
    assert indices.loc[0, "longstring"] == shown == indices.loc[0, "n_answered"]
    assert indices.loc[0, "irv"] == 0.0 and bool(indices.loc[0, "straight_lining"])
    assert indices.loc[1, "longstring"] < 5 and indices.loc[1, "irv"] > 1
    assert not indices.loc[1, "straight_lining"]
    assert indices["attention_failed"].tolist() == [False, True]
    straight = [p for p in checked.problems if p.rule == "straight_lining"]
    assert [p.row for p in straight] == [2]


def test_workbook_round_trip_records_skips_not_missing(v2, tmp_path):
    """Type answers into the workbook as a data-entry person would (skipped cells left blank),
    read it back with the reader, and check: skipped by design, not missing."""
    path = build_forms(v2, tmp_path, formats=["xlsx"])["xlsx"]
    row = {"respondent_id": "A1", "wave_form": 1, "group_kind": 2, "sponsor_ever": 0}
    row |= {"relapse_ever": 0, "mental_health": 0, "trauma": 0, "participation": 1}
    for item_id in v2.item_ids:
        if not v2.item_conditions(item_id):
            row[item_id] = 3
    columns = [c.name for c in data_columns(v2)]
    fill_data_entry(path, pd.DataFrame([row]).reindex(columns=columns))
    read = read_responses(path, v2)
    checked = check_responses(read, v2)
    assert checked.skipped.iloc[0].sum() == 8  # every conditional item skipped for this row
    assert not [p for p in checked.problems if p.rule in ("missing_answer", "answered_but_skipped")]
    counts = response_counts(
        checked.codes, v2, not_applicable=checked.not_applicable, skipped=checked.skipped
    )
    assert counts.loc[counts.index[0], "total_skipped"] == 8  # all eight are problem items
    assert counts.loc[counts.index[0], "total_missing"] == 0
    assert read.background["group_kind"].iloc[0] == 2  # the group is a data column
