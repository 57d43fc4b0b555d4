"""Scoring (instrument/score.py): parity with psych::scoreItems on bfi, and the scoring rules."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instrument.check import check_responses
from instrument.responses import ResponseTable
from instrument.score import (
    code_counts,
    item_medians,
    medians_from_counts,
    score_items,
    score_labels,
)
from instrument.spec import load_instrument

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]


@pytest.fixture(scope="module")
def bfi():
    return load_instrument(ROOT / "examples" / "bfi.yaml")


@pytest.fixture(scope="module")
def bfi_items():
    # first column is the respondent id; the score files have one row per respondent in file order
    return pd.read_csv(DATA / "bfi.csv", index_col=0)


@pytest.fixture(scope="module")
def spec():
    return load_instrument(DATA / "scoring_spec.yaml")


@pytest.mark.parametrize("impute", ["none", "median"])
def test_bfi_mean_scores_match_psych(bfi, bfi_items, impute):
    # R: psych::scoreItems(keys, bfi[1:25], totals = FALSE, impute = impute, min = 1, max =
    # 6)$scores
    reference = pd.read_csv(DATA / f"bfi_scores_mean_impute_{impute}.csv")
    assert len(reference) == len(bfi_items) == 2800
    scores = score_items(bfi_items, bfi, impute=impute)
    np.testing.assert_allclose(
        scores[SCALES].to_numpy(), reference[SCALES].to_numpy(), rtol=0, atol=1e-9
    )
    assert scores.index.equals(bfi_items.index)  # respondent index kept


def test_bfi_through_the_checker(bfi, bfi_items):
    # Same parity after check_responses (which blanks nothing in bfi: every code is 1..6).
    meta = pd.DataFrame(
        {
            "source_file": "bfi.csv",
            "source_row": np.arange(2, 2802),
            "respondent_id": bfi_items.index.astype(str),
        },
        index=bfi_items.index,
    )
    table = ResponseTable(
        bfi_items[list(bfi.item_ids)].astype(float), bfi_items[["gender", "education", "age"]], meta
    )
    checked = check_responses(table, bfi)
    assert not checked.rejected.any()
    scores = score_items(checked.codes, bfi, not_applicable=checked.not_applicable)
    reference = pd.read_csv(
        DATA / "bfi_scores_mean_impute_none.csv"
    )  # psych::scoreItems(..., impute = "none")
    np.testing.assert_allclose(
        scores[SCALES].to_numpy(), reference[SCALES].to_numpy(), rtol=0, atol=1e-9
    )


def test_median_imputation_uses_item_medians(bfi, bfi_items):
    # R: apply(bfi[1:25], 2, median, na.rm = TRUE) are whole numbers for bfi; check the streaming
    # route (counts -> medians) equals the whole-sample medians and gives psych's scores.
    reference = pd.read_csv(DATA / "bfi_scores_mean_impute_median.csv")
    halves = [bfi_items.iloc[:1000], bfi_items.iloc[1000:]]
    counts = sum(code_counts(h, bfi) for h in halves)
    medians = medians_from_counts(counts)
    pd.testing.assert_series_equal(medians, item_medians(bfi_items, bfi))
    scored = pd.concat([score_items(h, bfi, impute="median", medians=medians) for h in halves])
    np.testing.assert_allclose(
        scored[SCALES].to_numpy(), reference[SCALES].to_numpy(), rtol=0, atol=1e-9
    )


def test_even_count_median_is_the_mean_of_the_middle_two():
    # R: median(c(1, 2, 3, 4)) == 2.5
    counts = pd.DataFrame([[1, 1, 1, 1, 0]], index=["x"], columns=[1, 2, 3, 4, 5])
    assert medians_from_counts(counts).tolist() == [2.5]


def test_rules_min_answered_not_applicable_and_sum(spec):
    a = ["a1", "a2", "a3", "a4", "a5", "a6"]
    b = ["b1", "b2", "b3", "b4", "b5", "b6"]
    rows = [
        # a: a2, a6 reversed (6 - x). b: b3 reversed.
        dict(
            zip(a + b, [5, 1, 5, 5, 5, 1] + [4, 4, 2, 4, 4, 4], strict=True)
        ),  # every answer "high"
        dict(
            zip(a + b, [5, 8, 8, 8, 8, None] + [4, 8, 8, 8, None, None], strict=True)
        ),  # a: 1 answered of 2 counted
        dict(zip(a + b, [1, 5, None, None, 8, 8] + [4, 4, 8, None, None, None], strict=True)),
    ]
    codes = pd.DataFrame(rows, dtype=float)
    scores = score_items(codes, spec)
    # row 1: a = mean(5,5,5,5,5,5) = 5; b = mean(4,4,4,4,4,4) = 4; total (sum of 12) = 54
    assert scores.loc[0, ["a", "b", "total"]].tolist() == [5.0, 4.0, 54.0]
    # row 2: a excludes 4 n/a -> counted 2, answered 1 >= 0.5*2 -> 5.0
    #        b counts n/a as missing -> 1 answered of 6 < 3 -> NaN
    #        total excludes 7 n/a -> counted 5, answered 2 < 2.5 -> NaN
    assert (
        scores.loc[1, "a"] == 5.0
        and np.isnan(scores.loc[1, "b"])
        and np.isnan(scores.loc[1, "total"])
    )
    # row 3: a: 2 n/a excluded, counted 4, answered a1=1, a2 -> 6-5=1 -> mean 1.0
    #        b: answered 2 of 6 -> NaN; total: 3 n/a excluded, counted 9, answered 4 < 4.5 -> NaN
    assert (
        scores.loc[2, "a"] == 1.0
        and np.isnan(scores.loc[2, "b"])
        and np.isnan(scores.loc[2, "total"])
    )
    assert scores.loc[:, ["a_n", "b_n", "total_n"]].to_numpy().tolist() == [
        [6, 6, 12],
        [1, 1, 2],
        [2, 2, 4],
    ]
    assert list(scores.columns) == ["total", "a", "b", "total_n", "a_n", "b_n"]


def test_prorated_sum(spec):
    # total is a sum: 8 of 12 answered, all "agree" (4 after reversal) -> mean 4 x 12 counted = 48
    values = {f"a{i}": 4.0 for i in range(1, 7)} | {"b1": 4.0, "b2": 4.0}
    values["a2"] = values["a6"] = 2.0  # reverse keyed: 6 - 2 = 4
    scores = score_items(pd.DataFrame([values]), spec)
    assert scores.loc[0, "total"] == 48.0 and scores.loc[0, "total_n"] == 8


def test_invalid_cells_are_unanswered_and_options_are_checked(spec):
    codes = pd.DataFrame({"a1": [7.0, 2.5, 9.0], "a3": [3.0, 3.0, 3.0], "a4": [3.0, 3.0, 3.0]})
    scores = score_items(codes, spec, scales=["a"])
    assert scores["a_n"].tolist() == [2, 2, 2]
    with pytest.raises(ValueError, match="impute"):
        score_items(codes, spec, impute="mean")
    with pytest.raises(KeyError, match="scales"):
        score_items(codes, spec, scales=["nope"])
    with pytest.raises(TypeError, match="DataFrame"):
        score_items(codes.to_numpy(), spec)


def test_median_imputation_respects_min_answered(spec):
    codes = pd.DataFrame({"a1": [1.0, 5.0, None], "a3": [3.0, 5.0, None], "a4": [1.0, 1.0, 5.0]})
    scores = score_items(
        codes, spec, scales=["a"], impute="median", medians={f"a{i}": 3.0 for i in range(1, 7)}
    )
    # row 1: answered 1, 3, 1 + three medians: a2 -> 6-3 = 3, a5 = 3, a6 -> 3: mean (1+3+1+3+3+3)/6
    assert scores.loc[0, "a"] == pytest.approx(14 / 6, abs=1e-12)
    assert np.isnan(scores.loc[2, "a"])  # 1 of 6 answered < 50%: no score, even with imputation


def test_labels(spec):
    labels = score_labels(spec)
    assert labels["a"] == "Facet A (mean score)" and labels["total"] == "Total (sum score)"
    assert labels["b_n"] == "Facet B: items answered"


def naive_scores(codes: pd.DataFrame, spec, impute: str, medians: dict) -> dict:
    """The documented rules, one row and one scale at a time (slow, plain Python)."""
    out = {}
    for scale in spec.scales:
        rule = scale.scoring
        values = []
        for _, row in codes.iterrows():
            answers, n_na = [], 0
            for item_id in spec.scale_items(scale.id):
                item = spec.item(item_id)
                rs = spec.response_scales[item.response_scale]
                x = row.get(item_id, np.nan)
                if x == rs.not_applicable:
                    n_na += 1
                    answers.append("na")
                elif x in rs.codes:
                    answers.append(rs.minimum + rs.maximum - x if item.keyed < 0 else x)
                else:
                    answers.append(None)
            k = len(answers)
            counted = k - n_na if rule.not_applicable == "exclude" else k
            given = [a for a in answers if a not in (None, "na")]
            if counted == 0 or len(given) < rule.min_answered * counted - 1e-9:
                values.append(np.nan)
                continue
            if impute == "median":
                filled = []
                for item_id, a in zip(spec.scale_items(scale.id), answers, strict=True):
                    if a == "na" and rule.not_applicable == "exclude":
                        continue
                    if a in (None, "na"):
                        item = spec.item(item_id)
                        rs = spec.response_scales[item.response_scale]
                        m = medians[item_id]
                        a = rs.minimum + rs.maximum - m if item.keyed < 0 else m
                    filled.append(a)
                mean = sum(filled) / counted
            else:
                mean = sum(given) / len(given)
            values.append(mean * counted if rule.method == "sum" else mean)
        out[scale.id] = values
    return out


@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("impute", ["none", "median"])
def test_vectorised_scoring_equals_the_rules_applied_row_by_row(spec, seed, impute):
    # Items interleaved across facets (non-contiguous scale members), not-applicable (8),
    # declared missing (9), invalid (7, 2.5) and blank cells, both not-applicable rules, a sum
    # scale.
    raw = load_instrument(DATA / "scoring_spec.yaml").raw
    order = ["a1", "b1", "a2", "b2", "a3", "b3", "a4", "b4", "a5", "b5", "a6", "b6"]
    items = {item["id"]: item for item in raw["items"]}
    interleaved = load_instrument({**raw, "items": [items[i] for i in order]})
    rng = np.random.default_rng(seed)
    choices = np.array([1, 2, 3, 4, 5, 8, 9, 7, 2.5, np.nan])
    weights = np.array([0.15, 0.15, 0.15, 0.15, 0.15, 0.08, 0.04, 0.02, 0.01, 0.10])
    codes = pd.DataFrame(
        rng.choice(choices, size=(60, 12), p=weights / weights.sum()), columns=order
    )
    medians = {i: float(rng.integers(1, 6)) for i in order}
    scores = score_items(codes, interleaved, impute=impute, medians=medians)
    expected = naive_scores(codes, interleaved, impute, medians)
    for scale_id, values in expected.items():
        np.testing.assert_allclose(
            scores[scale_id].to_numpy(), values, rtol=0, atol=1e-12, err_msg=scale_id
        )
