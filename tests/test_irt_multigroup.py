"""Multiple-group graded models and likelihood-ratio DIF (mirt's multipleGroup/DIF)."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.irt import GradedResponseModel, MultipleGroupGradedModel, dif_multigroup
from tests.test_irt_dif import _dif_data

DATA = Path(__file__).parent / "data" / "irt"


def test_invariant_model_without_free_trait_is_the_single_group_model():
    science = pd.read_csv(DATA / "Science.csv")
    groups = np.arange(len(science)) % 2
    multi = MultipleGroupGradedModel(free_means=False, free_variances=False).fit(science, groups)
    single = GradedResponseModel(se_type=None).fit(science)
    # EM stops at a log-likelihood change of 1e-7: the maximum agrees to 1e-6
    assert multi.loglik_ == pytest.approx(single.loglik_, abs=1e-6)
    assert multi.converged_
    assert multi.n_parameters_ == single.results_.n_parameters
    # freeing the second group's mean and variance can only raise the likelihood
    free = MultipleGroupGradedModel().fit(science, groups)
    assert free.loglik_ >= multi.loglik_ - 1e-6
    assert free.n_parameters_ == single.results_.n_parameters + 2
    assert list(free.parameters_["group"].unique()) == ["all"]


def test_planted_dif_is_found_with_anchors():
    # synthetic: item1 is 1 logit easier in group 1; items 4-6 are the anchors
    data = _dif_data(500, 1.0, 3)
    result = dif_multigroup(
        data.drop(columns="group"), data["group"], anchors=["item4", "item5", "item6"]
    ).set_index("item")
    assert result.loc["item1", "p_value"] < 1e-6
    assert (result.loc[["item2", "item3"], "p_value"] > 0.01).all()
    assert (result["df"] == 5).all()
    assert result.loc["item1", "bic_diff"] > 0


def test_group_models_give_dtf_curves():
    from analysis.irt import expected_score_curves

    data = _dif_data(500, 1.0, 3)
    model = MultipleGroupGradedModel(constrained=["item4", "item5", "item6"]).fit(
        data.drop(columns="group"), data["group"]
    )
    curves = expected_score_curves(model.group_models(), np.array([-1.0, 0.0, 1.0]))
    wide = curves.pivot_table(index=["item", "theta"], columns="group", values="expected")
    # on the common scale the planted item is easier in group 1, the anchors identical
    assert (wide.loc["item1"][1] > wide.loc["item1"][0] + 0.1).all()
    np.testing.assert_allclose(wide.loc["item5"][1], wide.loc["item5"][0])


@pytest.mark.slow
def test_drop_scheme_ranks_the_planted_item_first():
    data = _dif_data(500, 1.0, 3)
    result = dif_multigroup(data.drop(columns="group"), data["group"])
    assert result.sort_values("chi2", ascending=False)["item"].iloc[0] == "item1"


def test_bad_arguments():
    data = _dif_data(50, 0.0, 1)
    with pytest.raises(ValueError, match="not in data"):
        MultipleGroupGradedModel(constrained=["nope"]).fit(
            data.drop(columns="group"), data["group"]
        )
    with pytest.raises(ValueError, match="fewer than 2 groups"):
        MultipleGroupGradedModel().fit(data.drop(columns="group"), np.zeros(len(data)))


@pytest.mark.parametrize("se_type", ["louis", "sandwich"])
def test_multigroup_standard_errors_reduce_to_the_single_group_ones(se_type):
    # With every item constrained and the trait fixed in both groups the multiple-group model is
    # the single-group model: its information (central differences of the exact marginal score)
    # and SEs agree with the analytic Louis / sandwich ones (mirt's multipleGroup(...,
    # SE=TRUE, SE.type=)); achieved 8e-6 / 1.2e-5 on the SEs, mostly the multiple-group EM's
    # stop at a log-likelihood change of 1e-10 (estimates 1.5e-5 apart).
    science = pd.read_csv(DATA / "Science.csv")
    groups = np.arange(len(science)) % 2
    multi = MultipleGroupGradedModel(
        free_means=False, free_variances=False, se_type=se_type, tol=1e-10
    ).fit(science, groups)
    single = GradedResponseModel(se_type=se_type).fit(science)
    np.testing.assert_allclose(
        multi.estimates_["se"], single.results_.parameters["se"], rtol=0, atol=1.5e-5
    )
    assert list(multi.estimates_["parameter"][:4]) == ["a1", "d1", "d2", "d3"]
    # freeing the second group's trait adds its mean and variance with SEs
    free = MultipleGroupGradedModel(se_type=se_type).fit(science, groups)
    trait = free.estimates_.query("item == 'GROUP'")
    assert trait["parameter"].tolist() == ["MEAN_1", "COV_11"]
    assert (trait["se"] > 0).all() and free.cov_.shape == (18, 18)


def _two_group_data(seed):
    """Synthetic: 5 invariant graded items; group B's trait N(0.5, 1.5)."""
    from analysis.irt.simulate import simulate_items

    rng = np.random.default_rng(seed)
    frames = []
    for label, mean, var in (("A", 0.0, 1.0), ("B", 0.5, 1.5)):
        theta = rng.normal(mean, np.sqrt(var), 300)
        frame = simulate_items(["graded"] * 5, MG_TRUE, theta=theta, seed=rng)
        frames.append(frame.assign(group=label))
    return pd.concat(frames, ignore_index=True)


MG_TRUE = [
    np.array([1.0, 1.5, -0.5]),
    np.array([1.3, 1.0, -1.0]),
    np.array([1.6, 0.5, -1.5]),
    np.array([1.9, 2.0, 0.0]),
    np.array([1.2, 0.0, -2.0]),
]


@pytest.mark.slow
def test_multigroup_louis_intervals_cover_on_synthetic_data():
    # synthetic recovery: 100 replications of 2 x 300 respondents; the 95% Wald intervals of the
    # 15 item parameters and group B's mean and variance (Louis SEs) cover the truth in 91-99%
    # of the 1,700 intervals (issue 15's band).
    truth = np.concatenate([*MG_TRUE, [0.5, 1.5]])
    hits = []
    for seed in range(100):
        data = _two_group_data(seed)
        model = MultipleGroupGradedModel(se_type="louis").fit(
            data.drop(columns="group"), data["group"]
        )
        table = model.estimates_
        hits.append(np.abs(table["estimate"] - truth) < 1.959964 * table["se"])
    coverage = np.array(hits, dtype=float)
    assert 0.91 <= coverage.mean() <= 0.99
    assert (coverage.mean(axis=0) >= 0.85).all()
