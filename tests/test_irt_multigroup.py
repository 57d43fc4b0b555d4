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
