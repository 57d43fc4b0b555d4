"""Known-groups comparisons against base R on psychTools::bfi scale scores by education.

Reference: tests/data/make_known_groups_reference.R -> known_groups_reference.json.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.longitudinal import compare_groups
from analysis.longitudinal.groups import NO_SCALAR_INVARIANCE

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "known_groups_reference.json").read_text())


@pytest.fixture(scope="module")
def scores():
    bfi = pd.read_csv(DATA / "bfi.csv", index_col=0)
    scores = pd.read_csv(DATA / "bfi_scores_mean_impute_none.csv")
    scores.index = bfi.index
    scores["education"] = bfi["education"].astype("Int64").astype(str).replace("<NA>", np.nan)
    return scores


@pytest.fixture(scope="module")
def result(scores):
    return compare_groups(scores, scales=["agree", "neuroticism"], group="education")


@pytest.mark.parametrize("scale", ["agree", "neuroticism"])
def test_welch_anova_matches_oneway_test(result, scale):
    ref = REF[scale]
    row = result.welch.set_index("scale").loc[scale]
    # oneway.test(score ~ factor(education), var.equal = FALSE)
    # observed gaps: F 3e-15, df2 3e-16, p 7e-15
    assert row["f"] == pytest.approx(ref["welch_f"][0], rel=1e-13)
    assert row["df1"] == ref["welch_df1"][0]
    assert row["df2"] == pytest.approx(ref["welch_df2"][0], rel=1e-13)
    assert row["p_value"] == pytest.approx(ref["welch_p"][0], rel=1e-13)
    assert row["n_obs"] == ref["n_obs"]
    desc = result.descriptives[result.descriptives["scale"] == scale]
    np.testing.assert_allclose(desc["mean"], ref["group_mean"], rtol=1e-13)
    np.testing.assert_allclose(desc["sd"], ref["group_sd"], rtol=1e-12)
    np.testing.assert_array_equal(desc["n_obs"], ref["group_n"])


@pytest.mark.parametrize("scale", ["agree", "neuroticism"])
def test_games_howell_and_hedges_match_r_formulas(result, scale):
    ref = REF[scale]
    pairs = result.pairs[result.pairs["scale"] == scale]
    assert pairs["group_a"].astype(int).tolist() == [int(x) for x in ref["pair_a"]]
    assert pairs["group_b"].astype(int).tolist() == [int(x) for x in ref["pair_b"]]
    # Games-Howell by formula in R: Welch se/df, ptukey(sqrt(2)|t|, k, df, lower = FALSE)
    # observed: diff and t rel 2e-14, se and df 1e-15, g 4e-13, g CI abs 1.2e-15
    np.testing.assert_allclose(pairs["diff"], ref["diff"], rtol=1e-13)
    np.testing.assert_allclose(pairs["se"], ref["se"], rtol=1e-12)
    np.testing.assert_allclose(pairs["t"], ref["t"], rtol=1e-13)
    np.testing.assert_allclose(pairs["df"], ref["df"], rtol=1e-13)
    # scipy studentized_range vs R ptukey: 1.1e-9 relative at most here
    np.testing.assert_allclose(pairs["p_value"], ref["p_tukey"], rtol=5e-9, atol=0)
    # diff +/- qtukey(.95, k, df) / sqrt(2) * se (scipy ppf vs qtukey: 3.3e-9 at most here)
    np.testing.assert_allclose(pairs["diff_ci_low"], ref["diff_ci_low"], rtol=0, atol=1e-8)
    np.testing.assert_allclose(pairs["diff_ci_high"], ref["diff_ci_high"], rtol=0, atol=1e-8)
    # Hedges g = d * (1 - 3 / (4 (n1 + n2) - 9)); CI g +/- qt(.975, n1+n2-2) * se_g
    np.testing.assert_allclose(pairs["hedges_g"], ref["hedges_g"], rtol=1e-12)
    np.testing.assert_allclose(pairs["g_ci_low"], ref["g_ci_low"], rtol=0, atol=1e-14)
    np.testing.assert_allclose(pairs["g_ci_high"], ref["g_ci_high"], rtol=0, atol=1e-14)


def test_invariance_note(scores):
    without = compare_groups(scores, scales="agree", group="education")
    assert NO_SCALAR_INVARIANCE in without.notes and without.scalar_invariance is None
    with_ = compare_groups(scores, scales="agree", group="education", scalar_invariance=True)
    assert NO_SCALAR_INVARIANCE not in with_.notes
    assert with_.to_dict()["scalar_invariance"] is True


def test_small_groups_left_out_with_note():
    data = pd.DataFrame(
        {"total": [1.0, 2, 3, 2, 4, 5, 4, 6, 9], "grp": ["a"] * 4 + ["b"] * 4 + ["c"]}
    )
    out = compare_groups(data, scales="total", group="grp")
    assert set(out.descriptives["group"]) == {"a", "b"}
    assert any("c left out" in note for note in out.notes)


def test_bad_input_is_named():
    data = pd.DataFrame({"total": [1.0, 2, 3], "grp": ["a", "a", "a"]})
    with pytest.raises(ValueError, match="needs two"):
        compare_groups(data, scales="total", group="grp")
    with pytest.raises(ValueError, match="'fellowship'"):
        compare_groups(data, scales="total", group="fellowship")
    text = pd.DataFrame({"total": ["1", "x", "3", "4"], "grp": ["a", "a", "b", "b"]})
    with pytest.raises(ValueError, match="not numbers"):
        compare_groups(text, scales="total", group="grp")
