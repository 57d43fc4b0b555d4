"""Checking responses: cell, background, row and file rules (instrument/check.py).

The expected outcomes follow from the rules as documented in docs/scoring.md, applied by hand to
small hand-made tables (synthetic data).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instrument.check import check_responses, hash_ids, merge_seen
from instrument.problems import Problem
from instrument.responses import ResponseTable
from instrument.spec import load_instrument

DATA = Path(__file__).parent / "data"
ITEMS = [f"a{i}" for i in range(1, 7)] + [f"b{i}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def spec():
    return load_instrument(DATA / "scoring_spec.yaml")


def table(items: dict, *, ids=None, background=None, meta_extra=None, problems=None, file="t.csv"):
    """A synthetic ResponseTable as a reader would return it."""
    items = pd.DataFrame(items)
    n = len(items)
    meta = pd.DataFrame(
        {
            "source_file": [file] * n,
            "source_row": np.arange(2, n + 2),
            "respondent_id": ids if ids is not None else [f"{file}:{r}" for r in range(2, n + 2)],
        }
    )
    for key, values in (meta_extra or {}).items():
        meta[key] = values
    bg = pd.DataFrame(background) if background is not None else pd.DataFrame(index=items.index)
    return ResponseTable(
        items, bg, meta, problems=list(problems or []), platform="csv", source=file
    )


def rules(checked, severity=None):
    return sorted(
        (p.row, p.column, p.rule)
        for p in checked.problems
        if severity is None or p.severity == severity
    )


def test_cell_rules(spec):
    t = table(
        {
            "a1": pd.Series(["1", "x", " 3 ", "", "2"], dtype=object),
            "a2": [1.0, 6.0, 2.5, 8.0, 9.0],
            "a3": [0.0, 2.0, 3.0, 4.0, None],
        }
    )
    checked = check_responses(t, spec)
    errors = rules(checked, "error")
    assert errors == [
        (2, "a3", "code_outside_scale"),
        (3, "a1", "text_not_code"),
        (3, "a2", "code_outside_scale"),
        (4, "a2", "not_integer"),
    ]
    by_rule = {(p.rule, p.column): p for p in checked.problems}
    assert by_rule[("text_not_code", "a1")].value == "x"
    assert by_rule[("code_outside_scale", "a2")].value == "6"
    assert by_rule[("not_integer", "a2")].value == "2.5"
    assert "allowed codes: 1, 2, 3, 4, 5, 8, 9" in by_rule[("code_outside_scale", "a2")].message
    # info records summarise not-applicable and declared missing cells per column
    assert (
        by_rule[("not_applicable", "a2")].severity == "info"
        and by_rule[("not_applicable", "a2")].row is None
    )
    assert "1 cell(s)" in by_rule[("declared_missing", "a2")].message
    codes = checked.codes
    assert list(codes.columns) == ITEMS  # every item, absent ones blank
    np.testing.assert_array_equal(codes["a1"].to_numpy(), [1.0, np.nan, 3.0, np.nan, 2.0])
    np.testing.assert_array_equal(codes["a2"].to_numpy(), [1.0, np.nan, np.nan, np.nan, np.nan])
    assert checked.not_applicable["a2"].tolist() == [False, False, False, True, False]
    assert codes["b1"].isna().all()
    # cell errors blank the cell only: every row here still has an answer
    assert not checked.rejected.any()


def test_row_rules_no_answers_and_duplicates(spec):
    t = table(
        {"a1": [1.0, None, 2.0, 3.0, 8.0, 4.0], "a2": [2.0, 9.0, 2.0, None, None, 5.0]},
        ids=["p1", "p2", "p1", "p1", "p3", "p3"],
    )
    checked = check_responses(t, spec)
    # row 3 (p2): only a declared missing code -> no answers; row 6 (p3): only not applicable -> no
    # answers
    # rows 4 and 5 repeat p1 (second and later occurrences); row 7 keeps p3 because row 6 was empty.
    assert checked.reasons.tolist() == [
        "",
        "no_answers",
        "duplicate_respondent_id",
        "duplicate_respondent_id",
        "no_answers",
        "",
    ]
    assert checked.n_rejected == 4
    rejected_rows = set(checked.meta["source_row"][checked.rejected])
    explained = {
        p.row
        for p in checked.problems
        if p.severity == "error" and p.rule in ("no_answers", "duplicate_respondent_id")
    }
    assert rejected_rows == explained


def test_duplicates_against_earlier_files(spec):
    seen = merge_seen(None, hash_ids(["p1", "p9"]))
    t = table({"a1": [1.0, 2.0]}, ids=["p9", "p2"])
    checked = check_responses(t, spec, seen_ids=seen)
    assert checked.reasons.tolist() == ["duplicate_respondent_id", ""]
    merged = merge_seen(seen, hash_ids(["p2", "p1"]))
    assert len(merged) == 3 and np.all(np.diff(merged.astype(float)) > 0)


def test_straight_lining_flag(spec):
    same = {item: [3.0, 3.0, 3.0] for item in ITEMS}
    same["a1"] = [3.0, 4.0, 3.0]  # row 3 varies
    for item in ITEMS[10:]:
        same[item] = [3.0, 3.0, None]  # row 4: only 10 answered, still flagged
    checked = check_responses(table(same), spec)
    flagged = [p.row for p in checked.problems if p.rule == "straight_lining"]
    assert flagged == [2, 4]
    assert all(p.severity == "warning" for p in checked.problems if p.rule == "straight_lining")
    assert not checked.rejected.any()
    nine = {item: [2.0] for item in ITEMS[:9]}
    assert not [
        p for p in check_responses(table(nine), spec).problems if p.rule == "straight_lining"
    ]


def test_too_fast(spec):
    t = table({"a1": [1.0, 2.0, 3.0]}, meta_extra={"duration_seconds": [30.0, 500.0, None]})
    checked = check_responses(t, spec, min_seconds=60)
    assert [(p.row, p.rule, p.severity) for p in checked.problems] == [(2, "too_fast", "warning")]
    no_duration = check_responses(table({"a1": [1.0]}), spec, min_seconds=60)
    assert [p.rule for p in no_duration.problems] == ["no_duration"]
    with pytest.raises(ValueError, match="min_seconds"):
        check_responses(t, spec, min_seconds=-1)


def test_background_rules_and_sensitive_values(spec):
    background = {
        "gender": [1.0, 3.0, None, 2.0],
        "hiv": pd.Series([0, 7, "yes", None], dtype=object),
        "age": [17.0, 30.0, 40.5, 99.0],
        "first_meeting": pd.Series(["2020-01-31", "2020-02-30", "31/01/2020", None], dtype=object),
        "sober_since": pd.Series(["2019-05", "1900-01", "May 2019", "2019-13"], dtype=object),
        "comments": pd.Series(["=HYPERLINK(...)", "private", None, ""], dtype=object),
    }
    checked = check_responses(table({"a1": [1.0] * 4}, background=background), spec)
    found = rules(checked)
    assert found == [
        (2, "age", "out_of_range"),
        (3, "first_meeting", "bad_date"),
        (3, "gender", "unknown_choice"),
        (3, "hiv", "unknown_choice"),
        (3, "sober_since", "out_of_range"),
        (4, "age", "not_integer"),
        (4, "first_meeting", "bad_date"),
        (4, "hiv", "unknown_choice"),
        (4, "sober_since", "bad_year_month"),
        (5, "sober_since", "bad_year_month"),
    ]
    for p in checked.problems:
        if p.column == "hiv":
            assert p.value is None  # sensitive: never copied
    assert next(p for p in checked.problems if p.column == "gender").value == "3"
    # invalid background cells are blanked, valid ones kept
    np.testing.assert_array_equal(
        checked.background["gender"].to_numpy(dtype=float), [1.0, np.nan, np.nan, 2.0]
    )
    assert checked.background["first_meeting"].tolist()[:2] == ["2020-01-31", None]
    assert checked.background["age"].tolist()[3] == 99.0
    assert not checked.rejected.any()


def test_reader_problems_pass_through(spec):
    file_problem = Problem(
        "t.csv", None, "a3", None, "missing_item_column", "error", "item column a3 is missing"
    )
    checked = check_responses(table({"a1": [1.0]}, problems=[file_problem]), spec)
    assert checked.problems[0] is file_problem
    summary = checked.summary()
    assert summary.to_dict("records") == [
        {"rule": "missing_item_column", "severity": "error", "n": 1}
    ]


def test_rejects_other_input(spec):
    with pytest.raises(TypeError, match="ResponseTable"):
        check_responses(pd.DataFrame({"a1": [1]}), spec)


def test_seen_ids_behaves_like_a_set():
    from instrument.check import SeenIds

    rng = np.random.default_rng(3)
    seen, reference = SeenIds(), set()
    for size in [5, 50, 7, 200, 3, 64, 64, 1000, 1]:
        chunk = rng.integers(1, 400, size).astype("uint64")  # small range: many repeats
        query = rng.integers(0, 400, 300).astype("uint64")
        assert seen.contains(query).tolist() == [int(q) in reference for q in query]
        seen.add(chunk)
        reference |= {int(v) for v in chunk}
    assert seen.n_runs <= 4  # runs merge like a binary counter
    assert not seen.contains(np.array([0], dtype="uint64"))[0]  # 0 (blank id) is never stored


def test_seen_ids_remember_where_each_id_was_first_used():
    from instrument.check import SeenIds

    rng = np.random.default_rng(5)
    seen, first = SeenIds(), {}
    row = 2
    for n, size in enumerate([5, 50, 7, 200, 3, 64, 64, 1000, 1]):
        chunk = rng.integers(0, 400, size).astype("uint64")  # repeats, and 0 (blank)
        rows = np.arange(row, row + size)
        row += size
        file = f"f{n % 3}.csv"
        seen.add(chunk, rows=rows, file=file)
        for h, r in zip(chunk.tolist(), rows.tolist(), strict=True):
            if h:
                first.setdefault(h, (file, r))
        query = np.arange(0, 400, dtype="uint64")
        found, files, where = seen.first_use(query)
        assert found.tolist() == [int(q) in first for q in query]
        got = {
            int(q): (f, int(r))
            for q, f, r, hit in zip(query, files, where, found, strict=True)
            if hit
        }
        assert got == first  # the first file and row, through every merge of runs
    assert seen.describe(np.uint64(next(iter(first))), file="elsewhere.csv").startswith("row ")
    assert seen.nbytes == 16 * len(seen)  # 8 bytes of hash + 8 of place per id


def test_seen_ids_with_capped_runs_and_a_grown_filter_behave_like_a_dict():
    # Runs stop merging past _LARGEST_RUN and the filter grows with the ids: neither may lose
    # an id or its first place (the filter only lets fewer lookups search the runs).
    from instrument.check import SeenIds

    rng = np.random.default_rng(11)
    seen, first = SeenIds(), {}
    seen._LARGEST_RUN = 256
    row = 2
    for n in range(40):
        chunk = rng.integers(0, 20_000, 150).astype("uint64") * np.uint64(0x9E3779B97F4A7C15)
        rows = np.arange(row, row + len(chunk))
        row += len(chunk)
        seen.add(chunk, rows=rows, file=f"f{n % 2}.csv")
        for h, r in zip(chunk.tolist(), rows.tolist(), strict=True):
            if h:
                first.setdefault(h, (f"f{n % 2}.csv", r))
    assert seen.n_runs > 4  # capped: many runs
    assert seen._filter_bits > 16  # grown past its first size
    query = np.unique(
        np.concatenate(
            [np.fromiter(first, dtype="uint64"), rng.integers(1, 2**63, 5_000).astype("uint64")]
        )
    )
    found, files, where = seen.first_use(query)
    assert found.tolist() == [int(q) in first for q in query]
    got = {
        int(q): (f, int(r)) for q, f, r, hit in zip(query, files, where, found, strict=True) if hit
    }
    assert got == first


def test_hash_ids_same_text_same_hash_whatever_the_input_type():
    from instrument.check import hash_ids

    ids = ["a7", "b2", "", "x" * 20, "é", "R00000001", "12", "3.5", "a7 "]
    as_list = hash_ids(ids)
    as_str = hash_ids(pd.Series(ids, dtype="str"))
    as_object = hash_ids(pd.Series(ids, dtype=object))
    assert (as_list == as_str).all() and (as_list == as_object).all()
    assert (hash_ids([12, 3.5]) == as_list[[6, 7]]).all()  # numbers hash as their text
    assert len(set(as_list.tolist())) == len(ids)  # "a7" and "a7 " differ too
    assert (as_list != 0).all()  # 0 marks a blank id
    # ids of one length (one reshape) and of many lengths (word by word) agree on a slice
    many = pd.Series([f"p{i}" for i in range(5_000)] + [None], dtype="str")
    hashes = hash_ids(many)
    assert len(set(hashes.tolist())) == len(many)
    assert (hash_ids(many.iloc[100:3_000]) == hashes[100:3_000]).all()
    assert (hash_ids(many.iloc[10:99]) == hashes[10:99]).all()  # one length only
