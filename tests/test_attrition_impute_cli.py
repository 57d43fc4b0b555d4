"""``mhdq attrition fit --impute M`` (issue 14, section 3, "missing baseline covariates"):
the pooling path the command uses against mice 3.15 ``pool()`` (tests/data/mi_reference.json,
written by tests/data/make_mi_reference.R from the fixed imputations in
tests/data/nhanes_imputed.csv), and the command end to end on a SYNTHETIC file."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.followup import join_followup
from analysis.attrition.imputation import pool_models
from analysis.attrition.pooled import fit_pooled, nelson_aalen
from analysis.attrition.study import fit_attrition
from analysis.errors import DataQualityWarning
from tests.test_attrition_cli import run

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "mi_reference.json").read_text())
COLUMNS = {  # PooledEstimates column -> mice's pooled / summary() column
    "estimate": "estimate",
    "ubar": "ubar",
    "b": "b",
    "t": "t",
    "df": "df",
    "riv": "riv",
    "lambda": "lambda",
    "fmi": "fmi",
    "se": "std_error",
    "statistic": "statistic",
    "p": "p_value",
    "ci_low": "ci_low",
    "ci_high": "ci_high",
}


def test_fit_pooled_logistic_matches_mice_pool():
    # the five completed nhanes data sets of mice(nhanes, m = 5, seed = 20240101); our logistic
    # fit on each, pooled as `attrition fit --impute` pools, against
    # pool(with(imp, glm(I(hyp == 2) ~ age + bmi, family = binomial))) and summary(conf.int = TRUE)
    imputed = pd.read_csv(DATA / "nhanes_imputed.csv")
    sets = [
        d.assign(event=(d["hyp"] == 2).astype(float)).reset_index(drop=True)
        for _, d in imputed.groupby(".imp")
    ]
    model, effects, pooled, fits = fit_pooled(sets, predictors=["age", "bmi"], model="logistic")
    ref = REF["glm"]
    assert list(pooled.table.index) == ref["term"]
    assert pooled.table["dfcom"].iloc[0] == 22  # n - 3, as mice takes glm's df.residual
    # point estimates: gap measured 8e-9 relative (glm stops at epsilon = 1e-8)
    for col in ("estimate", "b"):
        np.testing.assert_allclose(pooled.table[col], ref[col], rtol=1e-7, err_msg=col)
    # variances: glm's own per-imputation SEs differ from ours by up to 1.5e-4 relative
    # (checked below; glm's vcov comes from its last IRLS weights, not those at its estimate),
    # which carries into every variance-based column (largest gap measured 1.3e-4, ci_low);
    # against converged glms every column agrees to 4e-14 (the next test).
    # The pooling alone matches mice to 1e-12 on R's own fits:
    # test_attrition_imputation.py::test_pool_matches_mice_on_r_fits.
    per_se = np.array([np.sqrt(np.diag(f.cov_)) for f in fits])
    np.testing.assert_allclose(per_se, ref["per_imputation"]["se"], rtol=2e-4)
    for ours, theirs in COLUMNS.items():
        np.testing.assert_allclose(pooled.table[ours], ref[theirs], rtol=2e-4, err_msg=ours)
    # the effect table reports the pooled values on the odds-ratio scale
    np.testing.assert_allclose(effects["estimate"], ref["estimate"], rtol=1e-7)
    np.testing.assert_allclose(effects["se"], ref["std_error"], rtol=2e-4)
    np.testing.assert_allclose(effects["p"], ref["p_value"], rtol=2e-4)
    np.testing.assert_allclose(np.log(effects["ci_low"]), ref["ci_low"], rtol=2e-4)
    np.testing.assert_allclose(np.log(effects["ci_high"]), ref["ci_high"], rtol=2e-4)
    # the saved model carries the pooled coefficients
    assert model.intercept_ == pytest.approx(ref["estimate"][0], rel=1e-7)
    np.testing.assert_allclose(model.coef_.to_numpy(), ref["estimate"][1:], rtol=1e-7)
    assert len(fits) == 5


def test_fit_pooled_logistic_matches_mice_pool_of_converged_glms():
    # the same pooling against mice::pool() of glms run to epsilon = 1e-14 and again from their
    # estimates, so that R's vcov() uses the weights at the estimate as ours does
    # (tests/data/make_converged_reference.R). Gaps measured: 5.2e-14 relative on the
    # per-imputation SEs, 4.0e-14 at most on every pooled column and the effect table.
    ref = json.loads((DATA / "converged_reference.json").read_text())["mi_glm"]
    imputed = pd.read_csv(DATA / "nhanes_imputed.csv")
    sets = [
        d.assign(event=(d["hyp"] == 2).astype(float)).reset_index(drop=True)
        for _, d in imputed.groupby(".imp")
    ]
    _, effects, pooled, fits = fit_pooled(sets, predictors=["age", "bmi"], model="logistic")
    assert list(pooled.table.index) == ref["term"]
    per_se = np.array([np.sqrt(np.diag(f.cov_)) for f in fits])
    np.testing.assert_allclose(per_se, ref["per_imputation_se"], rtol=1e-10)
    for ours, theirs in COLUMNS.items():
        np.testing.assert_allclose(pooled.table[ours], ref[theirs], rtol=1e-10, err_msg=ours)
    np.testing.assert_allclose(effects["se"], ref["std_error"], rtol=1e-10)
    np.testing.assert_allclose(effects["p"], ref["p_value"], rtol=1e-10)
    np.testing.assert_allclose(np.log(effects["ci_low"]), ref["ci_low"], rtol=1e-10)
    np.testing.assert_allclose(np.log(effects["ci_high"]), ref["ci_high"], rtol=1e-10)


def test_nelson_aalen_matches_the_definition():
    # ties at t = 2: both rows get the cumulative hazard after the event at 2
    t = np.array([5.0, 1, 2, 2, 3, 8])
    e = np.array([1.0, 1, 1, 0, 0, 1])
    expected = {1: 1 / 6, 2: 1 / 6 + 1 / 5, 3: 1 / 6 + 1 / 5, 5: 1 / 6 + 1 / 5 + 1 / 2}
    expected[8] = expected[5] + 1
    np.testing.assert_allclose(nelson_aalen(t, e), [expected[int(x)] for x in t], rtol=1e-15)


def _synthetic(n=400, seed=5, missing=0.25):
    """SYNTHETIC: two baseline covariates, exponential times, x1 missing at random given x2."""
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    x2 = 0.5 * x1 + rng.normal(0, 1, n)
    months = rng.exponential(10 * np.exp(-(0.6 * x1 - 0.3 * x2)))
    time = np.minimum(months, 12.0)
    event = (months < 12).astype(int)
    ids = [f"S{i:04d}" for i in range(n)]
    base = pd.DataFrame({"respondent_id": ids, "x1": x1, "x2": x2, "synthetic": "synthetic"})
    drop = rng.random(n) < missing * 2 * (x2 > 0)  # more missing among high x2 (MAR)
    base.loc[drop, "x1"] = np.nan
    fu = pd.DataFrame({"respondent_id": ids, "months": time, "left": event})
    return base, fu


def test_fit_attrition_impute_pools_the_per_imputation_fits():
    base, fu = _synthetic()
    joined = join_followup(base, fu, time="months", event="left")
    res = fit_attrition(joined, scales=[], covariates=["x1", "x2"], impute=4, n_boot=8, seed=3)
    flow = dict(zip(res.flow["step"], res.flow["n"], strict=True))
    assert flow["modelled"] == len(base)  # no respondent left out
    assert flow["predictor_imputed"] == int(base["x1"].isna().sum())
    assert res.pooled is not None and res.pooled.m == 4
    # the pooled effects are Rubin's rules over refits on the completed data sets
    fits = [fit for fit in res.pooled_validation.per_imputation]
    assert len(fits) == 4
    np.testing.assert_allclose(
        res.effects["estimate"], res.pooled.table.loc[["x1", "x2"], "estimate"], rtol=1e-15
    )
    # the averaged validation: each metric the mean of the four within-imputation runs
    per = [v.table.loc["c_index", "corrected"] for v in res.pooled_validation.per_imputation]
    assert res.validation.table.loc["c_index", "corrected"] == pytest.approx(np.mean(per))
    assert len(set(per)) == 4  # different imputations and resamples
    # complete-case analysis leaves the incomplete respondents out instead
    cc = fit_attrition(joined, scales=[], covariates=["x1", "x2"], n_boot=8, seed=3)
    assert cc.model.n_obs_ == len(base) - flow["predictor_imputed"]
    assert res.options["impute"] == 4 and "pooled over 4 imputations" in res.options["pooling"]
    # x1's true log hazard ratio is 0.6 (synthetic): the pooled interval covers it
    row = res.effects.loc["x1"]
    assert row["ci_low"] < np.exp(0.6) < row["ci_high"]
    assert 0 < row["fmi"] < 1


def test_pooled_cox_model_is_rubins_rules_of_separate_fits():
    # fit_pooled against pool_models applied to CoxModel fits done here
    from analysis.attrition.cox import CoxModel
    from analysis.attrition.pooled import impute_design

    base, fu = _synthetic(n=300, seed=8)
    joined = join_followup(base, fu, time="months", event="left")
    data = joined.data.assign(x1=base["x1"].to_numpy(), x2=base["x2"].to_numpy())
    sets = impute_design(data, ["x1", "x2"], model="cox", m=3, seed=1)
    assert all(not s[["x1", "x2"]].isna().any().any() for s in sets)
    observed = data["x1"].notna()
    for s in sets:  # observed values untouched, imputed ones are observed values (pmm)
        np.testing.assert_array_equal(s.loc[observed, "x1"], data.loc[observed, "x1"])
        assert s.loc[~observed, "x1"].isin(data.loc[observed, "x1"]).all()
    model, effects, pooled, _ = fit_pooled(sets, predictors=["x1", "x2"], model="cox")
    own = [CoxModel().fit(s[["x1", "x2"]], s["time"], s["event"]) for s in sets]
    expected = pool_models(own, dfcom=len(data) - 2)
    np.testing.assert_allclose(pooled.table["estimate"], expected.table["estimate"], rtol=1e-12)
    np.testing.assert_allclose(pooled.table["t"], expected.table["t"], rtol=1e-12)
    # the saved baseline: Breslow at the pooled coefficients, at the mean of the predictor
    # means; with one imputation repeated it is the model's own baseline when the
    # coefficients are that model's
    one, _, _, _ = fit_pooled([sets[0], sets[0]], predictors=["x1", "x2"], model="cox")
    np.testing.assert_allclose(
        one.baseline_["cumulative_hazard"], own[0].baseline_["cumulative_hazard"], rtol=1e-10
    )


def test_cli_impute_end_to_end(tmp_path):
    base, fu = _synthetic()
    responses, followup = tmp_path / "base.csv", tmp_path / "fu.csv"
    base.to_csv(responses, index=False)
    fu.to_csv(followup, index=False)
    out = tmp_path / "mi"
    args = [
        "attrition",
        "fit",
        responses,
        "--followup",
        followup,
        "--time",
        "months",
        "--event",
        "left",
        "--scales",
        "",
        "--covariates",
        "x1,x2",
        "--horizon",
        6,
        "--n-boot",
        10,
        "--seed",
        11,
        "--out",
        out,
    ]
    done = run(*args, "--impute", 3)
    assert done.returncode == 0, done.stderr
    assert "pooled over 3 imputations" in done.stderr + done.stdout
    results = json.loads((out / "results.json").read_text())
    assert results["synthetic"] is True
    assert results["options"]["impute"] == 3
    imp = results["imputation"]
    assert imp["m"] == 3 and imp["statement"] == "pooled over 3 imputations"
    flow = {row["step"]: row["n"] for row in results["flow"]}
    assert flow["modelled"] == len(base) and flow["predictor_imputed"] == base["x1"].isna().sum()
    pooled = {row["term"]: row for row in imp["pooled"]}
    for row in results["effects"]:
        assert row["estimate"] == pytest.approx(pooled[row["term"]]["estimate"], rel=1e-12)
        assert row["se"] == pytest.approx(pooled[row["term"]]["se"], rel=1e-12)
        assert 0 < row["fmi"] < 1
    html = (out / "report.html").read_text()
    assert "pooled over 3 imputations" in html
    assert "within each of the 3 imputations" in html
    assert "imputed by chained equations, pooled over 3 imputations" in html
    assert "complete-case analysis" not in html
    assert "multiple imputation, m = 3" in html  # TRIPOD item 9
    assert "SYNTHETIC" in html
    # the same seed gives the same imputations and results
    again = tmp_path / "again"
    assert run(*args[:-1], again, "--impute", 3, "-q").returncode == 0
    twice = json.loads((again / "results.json").read_text())
    assert twice["effects"] == results["effects"]
    # the saved model predicts for everyone with both covariates
    pred = tmp_path / "pred.csv"
    done = run("attrition", "predict", out / "model.json", responses, "--horizon", 6, "--out", pred)
    assert done.returncode == 0, done.stderr
    risk = pd.read_csv(pred)["risk"]
    assert risk[base["x1"].notna().to_numpy()].between(0, 1).all()
    # too few imputations is a usage error naming the option
    bad = run(*args[:-1], tmp_path / "bad", "--impute", 1)
    assert bad.returncode != 0 and "--impute" in bad.stderr


def test_logistic_status_design_with_imputation():
    # a status design (no times): logistic model, pooled with its intercept (SYNTHETIC)
    base, fu = _synthetic(n=300, seed=21)
    joined = join_followup(base, fu.drop(columns="months"), event="left")
    with pytest.warns(DataQualityWarning, match="too few data"):  # n 300 < Riley 344
        res = fit_attrition(joined, scales=[], covariates=["x1", "x2"], impute=3, n_boot=5, seed=2)
    assert res.model_type == "logistic" and res.pooled.m == 3
    assert list(res.effects.index) == ["(Intercept)", "x1", "x2"]
    np.testing.assert_allclose(
        res.effects["estimate"], res.pooled.table["estimate"].to_numpy(), rtol=1e-15
    )
    assert res.model.intercept_ == res.pooled.table.loc["(Intercept)", "estimate"]
    assert res.pooled.table["dfcom"].iloc[0] == 300 - 3
    per = [v.table.loc["auc", "apparent"] for v in res.pooled_validation.per_imputation]
    assert res.validation.table.loc["auc", "apparent"] == pytest.approx(np.mean(per))
