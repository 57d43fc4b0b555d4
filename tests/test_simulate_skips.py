"""Not-applicable and skipped answers where real respondents give them (issue 11 §2, issue 13)."""

import numpy as np
import pytest

from analysis.simulate.cohort import simulate_cohort
from instrument import load_instrument
from instrument.check import check_responses
from instrument.read import read_responses


@pytest.fixture(scope="module")
def v1():
    return load_instrument("mhdq-0.1.0")


@pytest.fixture(scope="module")
def v2():
    return load_instrument("mhdq-0.2.0")


def test_bank_010_gets_code_9_for_sponsor_relapse_and_step_items(v1):
    cohort = simulate_cohort(
        v1,
        n=3000,
        seed=5,
        missing_rate=0.0,
        careless_share=0.0,
        n_groups=60,
        sponsor_share=0.6,
        relapse_share=0.55,
    )
    r, m = cohort.responses, cohort.membership
    kinds = {
        "ne_so1": "sponsor",
        "ne_so2": "sponsor",
        "ne_sr5": "relapse",
        "ne_sr6": "relapse",
        "mf_st3": "steps",
        "ne_sr3": "steps",
    }
    applies = {
        "sponsor": m["sponsor_ever"] == 1,
        "relapse": m["relapse_ever"] == 1,
        "steps": m["group_kind"] == "twelve_step",
    }
    for item, kind in kinds.items():
        # code 9 exactly where the item does not apply, an answer 1-5 elsewhere
        assert ((r[item] == 9) == ~applies[kind]).all(), item
        assert r.loc[applies[kind], item].between(1, 5).all(), item
    # "stepping stone" is not a step item; no other item gets code 9
    others = [i for i in v1.item_ids if i not in kinds]
    assert not (r[others] == 9).any().any()
    # the rates follow the settings (binomial SE at n = 3000 is <= .009)
    assert abs((1 - applies["sponsor"].mean()) - 0.40) < 0.03
    assert abs((1 - applies["relapse"].mean()) - 0.45) < 0.03
    # the background answer that decides it is in the data
    assert (r["sponsor_ever"] == m["sponsor_ever"]).all()
    assert cohort.structural[list(kinds)].any().all()


def test_bank_020_skips_by_design_exactly_where_the_form_hides_items(v2, tmp_path):
    cohort = simulate_cohort(v2, n=400, seed=2, missing_rate=0.0, careless_share=0.0)
    r = cohort.responses
    conditional = [i for i in v2.item_ids if v2.item_conditions(i)]
    assert set(cohort.structural.columns[cohort.structural.any()]) == set(conditional)
    assert not (r[list(v2.item_ids)] == 9).any().any()  # blanks, not code 9
    assert (
        r[conditional].isna().to_numpy().tolist()
        == cohort.structural[conditional].to_numpy().tolist()
    )
    kind = r["group_kind"].to_numpy()
    assert (r.loc[kind != 1, "mf_st9"].isna()).all() and r.loc[kind == 1, "mf_st9"].notna().all()
    # the checker records these cells as skipped by design, not as missing answers
    path = tmp_path / "synthetic.csv"
    r.to_csv(path, index=False)
    checked = check_responses(read_responses(path, v2), v2)
    assert checked.skipped[conditional].to_numpy().sum() == cohort.structural.to_numpy().sum()
    rules = {p.rule for p in checked.problems}
    assert "missing_answer" not in rules and "answered_but_skipped" not in rules


def test_groups_have_one_kind_and_bad_settings_are_named(v2):
    cohort = simulate_cohort(v2, n=200, seed=1, n_groups=8)
    per_group = cohort.membership.groupby("group_id")["group_kind"].nunique()
    assert len(per_group) == 8 and (per_group == 1).all()
    with pytest.raises(ValueError, match="group_kind_shares: unknown group kinds"):
        simulate_cohort(v2, n=50, seed=1, group_kind_shares={"aa": 1.0})
    with pytest.raises(ValueError, match="sponsor_share"):
        simulate_cohort(v2, n=50, seed=1, sponsor_share=1.5)
    with pytest.raises(ValueError, match="n_groups"):
        simulate_cohort(v2, n=50, seed=1, n_groups=0)
    assert np.isclose(cohort.settings["sponsor_share"], 0.6)
