"""Ordinal logistic regression DIF (lordif's method) against R's MASS::polr, and its power."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.irt import GradedResponseModel, simulate_items
from analysis.irt.dif import (
    collapse_sparse_categories,
    dif_lordif,
    expected_score_curves,
    ordinal_logistic_dif,
    plot_expected_scores,
    proportional_odds_fit,
)

DATA = Path(__file__).parent / "data" / "irt"
REF = json.loads((DATA / "bfi_dif_reference.json").read_text())
ITEMS = ["N1", "N2", "N3", "N4", "N5"]


@pytest.fixture(scope="module")
def matching():
    return pd.read_csv(DATA / "bfi_dif_matching.csv", index_col=0)


@pytest.mark.parametrize("score", ["theta_initial", "theta_purified"])
def test_lr_statistics_match_polr(matching, score):
    # Rscript tests/data/make_irt_dif_reference.R: polr(item ~ theta), polr(item ~ theta + group),
    # polr(item ~ theta * group) on the exported matching scores. LR chi-squares agree to
    # 3e-10 (absolute), deviances to 5e-14 relative, the change in beta1 to 6e-8.
    table = ordinal_logistic_dif(matching[ITEMS], matching["gender"], matching[score])
    table = table.set_index("item")
    for item in ITEMS:
        ref = REF[score][item]
        row = table.loc[item]
        for name in ("12", "13", "23"):
            assert row[f"chi2_{name}"] == pytest.approx(ref[f"chi2_{name}"], abs=5e-10)
        for k in (1, 2, 3):
            assert row[f"deviance_{k}"] == pytest.approx(ref[f"deviance_{k}"], rel=1e-13)
        # polr's intercept-only fit stops at optim's tolerance: 7e-7 absolute
        assert row["null_deviance"] == pytest.approx(ref["deviance_null"], abs=1e-6)
        beta = abs(ref["beta_theta_2"] - ref["beta_theta_1"]) / ref["beta_theta_1"]
        assert row["beta_change"] == pytest.approx(beta, abs=1e-7)
        # lordif's pseudo R-square definitions from the same deviances; achieved 1.2e-13 and
        # 9.9e-13 (values ~0.01)
        d0, d1, d3 = ref["deviance_null"], ref["deviance_1"], ref["deviance_3"]
        assert row["mcfadden_13"] == pytest.approx((1 - d3 / d0) - (1 - d1 / d0), abs=1e-11)
        n = row["n_obs"]
        cox = (1 - np.exp((d3 - d0) / n)) - (1 - np.exp((d1 - d0) / n))
        assert row["nagelkerke_13"] == pytest.approx(cox / (1 - np.exp(-d0 / n)), abs=1e-11)


def test_proportional_odds_matches_statsmodels_likelihood(matching):
    from statsmodels.miscmodels.ordinal_model import OrderedModel

    y = matching["N3"].to_numpy().astype(int) - 1
    x = matching[["theta_initial"]].to_numpy()
    fit = proportional_odds_fit(y, x)
    model = OrderedModel(y, x, distr="logit")
    cuts = fit["thresholds"]
    params = np.concatenate([fit["coef"], cuts[:1], np.log(np.diff(cuts))])
    assert model.loglike(params) == pytest.approx(fit["loglik"], rel=1e-12)
    assert fit["converged"]


def test_collapse_sparse_categories():
    data = pd.DataFrame({"x": [1, 1, 1, 2, 3, 3, 3, 3, 1, 3, 3, 3]})
    group = pd.Series([0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1])
    out = collapse_sparse_categories(data, group, min_cell=1)
    # category 2 is absent in group 1: merged into 1
    assert sorted(out["x"].unique()) == [1, 2]
    assert out["x"].tolist()[3] == 1


def _dif_data(n_per_group, shift, seed):
    rng = np.random.default_rng(seed)
    a = np.array([1.2, 1.5, 1.8, 1.0, 1.4, 1.6])
    d = np.array([[2.0, 0.5, -0.5, -2.0]] * 6) + rng.uniform(-0.5, 0.5, (6, 1))
    frames = []
    for g in (0, 1):
        params = [np.concatenate([[a[j]], d[j]]) for j in range(6)]
        if g == 1:
            params[0] = params[0] + np.array([0.0, shift, shift, shift, shift])
        frame = simulate_items(["graded"] * 6, params, n=n_per_group, seed=rng)
        frames.append(frame.assign(group=g))
    return pd.concat(frames, ignore_index=True)


def test_planted_uniform_dif_is_found_and_clean_items_are_not():
    # synthetic: item1 is easier by 1 logit in group 1 (uniform DIF), items 2-6 without DIF
    flagged_planted, false_flags = 0, 0
    reps = 4
    for seed in range(reps):
        data = _dif_data(400, 1.0, seed)
        result = dif_lordif(data.drop(columns="group"), data["group"])
        flagged_planted += "item1" in result.flagged
        false_flags += len(set(result.flagged) - {"item1"})
        assert result.summary().columns[0] == "item"
    assert flagged_planted == reps
    assert false_flags <= 1


@pytest.mark.slow
def test_type_one_error_near_nominal():
    # synthetic, no DIF: lordif's criterion (any of three LR tests at alpha .01) flags an item
    # with probability a little above .01; over 40 x 6 items expect ~3-5 false flags.
    flags, tests = 0, 0
    for seed in range(40):
        data = _dif_data(300, 0.0, 100 + seed)
        table = ordinal_logistic_dif(
            data.drop(columns="group"),
            data["group"],
            _eap(data.drop(columns="group")),
        )
        flags += int(((table[["p_12", "p_13", "p_23"]] <= 0.01).any(axis=1)).sum())
        tests += len(table)
    assert flags / tests < 0.04


def _eap(frame):
    from analysis.irt import eap_scores

    return eap_scores(GradedResponseModel(se_type=None).fit(frame), frame)["theta"]


def test_expected_score_curves_show_dtf():
    data = _dif_data(500, 1.0, 7)
    models = {
        g: GradedResponseModel(se_type=None).fit(part.drop(columns="group"))
        for g, part in data.groupby("group")
    }
    curves = expected_score_curves(models, np.array([-1.0, 0.0, 1.0]))
    item1 = curves[curves["item"] == "item1"].pivot(
        index="theta", columns="group", values="expected"
    )
    # group 1 finds item1 easier: higher expected score at the same theta (groups calibrated
    # separately, each on its own N(0,1) - enough to see the sign)
    assert (item1[1] > item1[0]).all()
    ax = plot_expected_scores(curves, "item1")
    assert len(ax.lines) == 2


def test_bad_group_is_refused(matching):
    with pytest.raises(ValueError, match="fewer than 2 groups"):
        dif_lordif(matching[ITEMS], np.ones(len(matching)))
    with pytest.raises(ValueError, match="criterion"):
        dif_lordif(matching[ITEMS], matching["gender"], criterion="p")
