"""Bifactor graded model (mirt's bfactor) against mirt's published SAT12 values and on synthetic data."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.irt import BifactorGradedModel, GradedResponseModel

DATA = Path(__file__).parent / "data" / "irt"


@pytest.mark.slow
def test_sat12_bifactor_against_mirt():
    # data <- key2binary(SAT12, key); mod1 <- bfactor(data, specific, SE=TRUE,
    # SE.type='crossprod'); coef(mod1) -- mirt's tests/testthat/test-03-bfactor.R, expect_equal(
    # tolerance = 1e-2) on the (est, lower, upper) triplets. The estimates agree at a relative
    # mean difference of 1.9e-3 (largest gap 0.044 on a specific slope: mirt stops EM at 1e-4 on
    # a flat likelihood). Data: tests/data/irt/make_sat12_reference.R.
    ref = json.loads((DATA / "bfactor_reference.json").read_text())
    data = pd.read_csv(DATA / "SAT12_binary.csv")
    model = BifactorGradedModel(ref["specific"], tol=1e-3).fit(data)
    expected = np.array(ref["values"], float).reshape(32, 3, 3)[:, :, 0]
    mine = model.results_.parameters[["a_general", "a_specific", "d1"]].to_numpy()
    assert np.abs(expected - mine).sum() / np.abs(expected).sum() < 2e-3
    assert np.abs(expected - mine).max() < 0.045
    assert model.results_.converged


def test_bifactor_recovers_synthetic_loadings():
    # synthetic: 6 graded items (4 categories), general slopes 1.5, two specific factors
    # (items 1-3, 4-6) with slopes 1.0; 1,500 respondents
    rng = np.random.default_rng(5)
    n = 1500
    general = rng.normal(size=n)
    spec = rng.normal(size=(n, 2))
    d = np.array([1.5, 0.0, -1.5])
    frames = {}
    for j in range(6):
        s = 0 if j < 3 else 1
        z = 1.5 * general + 1.0 * spec[:, s]
        pstar = 1 / (1 + np.exp(-(z[:, None] + d[None, :])))
        u = rng.random(n)
        frames[f"item{j + 1}"] = (u[:, None] < pstar).sum(axis=1) + 1
    data = pd.DataFrame(frames)
    model = BifactorGradedModel(["A", "A", "A", "B", "B", "B"], tol=1e-3).fit(data)
    table = model.results_.parameters
    assert np.abs(table["a_general"] - 1.5).max() < 0.35
    assert np.abs(table["a_specific"] - 1.0).max() < 0.45
    np.testing.assert_allclose(table[["d1", "d2", "d3"]].mean(), d, atol=0.25)
    # the bifactor model fits better than the unidimensional one (more parameters, higher logL)
    uni = GradedResponseModel(se_type=None).fit(data)
    assert model.loglik_ > uni.loglik_ + 10
    assert model.results_.n_parameters == uni.results_.n_parameters + 6


def test_bifactor_bad_input():
    data = pd.DataFrame({"a": [1, 2, 1], "b": [2, 1, 2]})
    with pytest.raises(ValueError, match="entries for 2 items"):
        BifactorGradedModel(["A"]).fit(data)
    with pytest.raises(ValueError, match="no item to a specific factor"):
        BifactorGradedModel([None, None]).fit(data)
