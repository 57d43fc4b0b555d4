"""GEE for repeated binary outcomes against geepack 1.3.9 (R 4.2) on geepack's ohio and
respiratory data. References: tests/data/make_gee_reference.R -> tests/data/gee_reference.json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.gee import GEEModel
from analysis.errors import NotFittedError

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "gee_reference.json").read_text())
RESP_X = ["treat", "male", "age", "baseline", "visit"]


@pytest.fixture(scope="module")
def ohio() -> pd.DataFrame:
    return pd.read_csv(DATA / "ohio.csv")


@pytest.fixture(scope="module")
def respiratory() -> pd.DataFrame:
    return pd.read_csv(DATA / "respiratory.csv")


@pytest.mark.parametrize("correlation", ["independence", "exchangeable", "ar1"])
def test_ohio_matches_geeglm(ohio, correlation):
    ref = REF[f"ohio_{correlation}"]
    model = GEEModel(correlation=correlation).fit(
        ohio[["age", "smoke"]], ohio["resp"], groups=ohio["id"]
    )
    # geeglm(resp ~ age + smoke, id = id, family = binomial, corstr, epsilon = 1e-12):
    # coef(), summary()$coefficients[, "Std.err"], $geese$alpha, $geese$gamma; agreement ~1e-13
    np.testing.assert_allclose(model.coef_, list(ref["coef"].values()), rtol=0, atol=1e-11)
    np.testing.assert_allclose(model.se_, ref["se"], rtol=1e-11)
    if correlation != "independence":
        assert model.alpha_ == pytest.approx(ref["alpha"], abs=1e-11)
    else:
        assert np.isnan(model.alpha_)
    assert model.scale_ == pytest.approx(ref["scale"], abs=1e-12)
    assert model.n_clusters_ == ref["n_clusters"] == 537


@pytest.mark.parametrize("correlation", ["independence", "exchangeable", "ar1"])
def test_respiratory_matches_geeglm(respiratory, correlation):
    ref = REF[f"respiratory_{correlation}"]
    # rows shuffled: the model sorts by cluster and time itself
    data = respiratory.sample(frac=1.0, random_state=4)
    model = GEEModel(correlation=correlation).fit(
        data[RESP_X], data["outcome"], groups=data["cluster"], time=data["visit"]
    )
    # geeglm(outcome ~ treat + male + age + baseline + visit, id = cluster, waves = visit, ...)
    np.testing.assert_allclose(model.coef_, list(ref["coef"].values()), rtol=0, atol=1e-11)
    np.testing.assert_allclose(model.se_, ref["se"], rtol=1e-11)
    if correlation != "independence":
        assert model.alpha_ == pytest.approx(ref["alpha"], abs=1e-11)
    assert model.n_clusters_ == ref["n_clusters"] == 111


def test_ar1_uses_time_gaps():
    # synthetic: a skipped wave is a lag of 2, so the AR(1) fit differs from one on positions
    rng = np.random.default_rng(5)
    member = np.repeat(np.arange(150), 3)
    wave = np.tile([0, 1, 3], 150)
    x = rng.normal(size=450)
    shared = np.repeat(rng.normal(size=150), 3)
    y = (rng.random(450) < 1 / (1 + np.exp(-(x + shared)))).astype(int)
    X = pd.DataFrame({"x": x})
    gaps = GEEModel(correlation="ar1").fit(X, y, groups=member, time=wave)
    positions = GEEModel(correlation="ar1").fit(X, y, groups=member)
    assert gaps.alpha_ != pytest.approx(positions.alpha_, abs=1e-6)
    assert 0 < gaps.alpha_ < 1


def test_summary_and_errors(ohio):
    model = GEEModel().fit(ohio[["age", "smoke"]], ohio["resp"], groups=ohio["id"])
    tab = model.summary()
    assert list(tab["term"]) == ["intercept", "age", "smoke"]
    np.testing.assert_allclose(tab["odds_ratio"], np.exp(tab["estimate"]))
    assert (tab["ci_low"] < tab["odds_ratio"]).all() and (tab["odds_ratio"] < tab["ci_high"]).all()
    json.dumps(model.result().to_dict())
    with pytest.raises(ValueError, match="correlation: must be one of"):
        GEEModel(correlation="unstructured").fit(ohio[["age"]], ohio["resp"], groups=ohio["id"])
    with pytest.raises(ValueError, match="y: must be 0 or 1"):
        GEEModel().fit(ohio[["age"]], ohio["resp"] * 2, groups=ohio["id"])
    with pytest.raises(ValueError, match="smoke take a single value"):
        GEEModel().fit(ohio[["age"]].assign(smoke=1), ohio["resp"], groups=ohio["id"])
    with pytest.raises(NotFittedError, match="fit"):
        GEEModel().summary()


def test_non_convergence_warns(ohio):
    from instrument.errors import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="did not converge"):
        GEEModel(correlation="ar1", max_iter=1).fit(
            ohio[["age", "smoke"]], ohio["resp"], groups=ohio["id"]
        )
