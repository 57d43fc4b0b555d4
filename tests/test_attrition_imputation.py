"""Multiple imputation: Rubin's rules against mice 3.15 pool() and D2 against semTools'
calculate.D2 on fixed imputed data (mice's nhanes, m = 5); chained equations; recovery under
known MAR missingness (synthetic data). References: tests/data/make_mi_reference.R ->
tests/data/mi_reference.json and tests/data/nhanes_imputed.csv."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.cox import CoxModel
from analysis.attrition.imputation import (
    fit_proportional_odds,
    impute_chained,
    pool_chi_square,
    pool_estimates,
    pool_models,
    validate_within_imputations,
    wald_chi_square,
)
from analysis.attrition.logistic import LogisticModel

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "mi_reference.json").read_text())
TERMS = ["(Intercept)", "age", "bmi"]
COLUMNS = {  # pool_estimates column -> mice's pooled / summary() column
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


@pytest.fixture(scope="module")
def ols_fits():
    imputed = pd.read_csv(DATA / "nhanes_imputed.csv")
    fits = []
    for _, d in imputed.groupby(".imp"):
        X = np.column_stack([np.ones(len(d)), d["age"], d["bmi"]])
        y = d["chl"].to_numpy(dtype=float)
        xtx_inv = np.linalg.inv(X.T @ X)
        coef = xtx_inv @ X.T @ y
        resid = y - X @ coef
        cov = xtx_inv * (resid @ resid) / (len(y) - 3)
        fits.append((pd.Series(coef, index=TERMS), pd.DataFrame(cov, index=TERMS, columns=TERMS)))
    return fits


def test_pool_matches_mice_on_own_fits(ols_fits):
    pooled = pool_estimates([f[0] for f in ols_fits], [f[1] for f in ols_fits], dfcom=22)
    ref = REF["lm"]
    assert list(pooled.table.index) == ref["term"] == TERMS
    assert pooled.m == 5
    for ours, theirs in COLUMNS.items():
        # pool(with(imp, lm(chl ~ age + bmi))) and summary(., conf.int = TRUE); dfcom = 25 - 3;
        # agreement ~1e-14 relative
        np.testing.assert_allclose(pooled.table[ours], ref[theirs], rtol=1e-12, err_msg=ours)


def test_pool_matches_mice_on_r_fits():
    # R's own glm fits per imputation, pooled here: the pooling alone is compared
    ref = REF["glm"]
    est = [np.array(e) for e in ref["per_imputation"]["estimate"]]
    cov = [np.diag(np.square(s)) for s in ref["per_imputation"]["se"]]
    pooled = pool_estimates(est, cov, dfcom=22, names=TERMS)
    for ours, theirs in COLUMNS.items():
        # pool(with(imp, glm(I(hyp == 2) ~ age + bmi, family = binomial)))
        np.testing.assert_allclose(pooled.table[ours], ref[theirs], rtol=1e-12, err_msg=ours)


def test_infinite_dfcom_gives_rubins_df():
    pooled = pool_estimates([[1.0], [1.2], [0.8]], [[[0.04]], [[0.05]], [[0.03]]])
    b, ubar, m = 0.04, 0.04, 3
    lam = (1 + 1 / m) * b / (ubar + (1 + 1 / m) * b)
    # Rubin (1987): nu = (m - 1) / lambda^2 when the complete-data df are infinite
    assert pooled.table["df"].iloc[0] == pytest.approx((m - 1) / lam**2, rel=1e-12)


def test_d2_matches_semtools(ols_fits):
    ref = REF["d2"]
    w = [wald_chi_square(e, c, ["age", "bmi"]) for e, c in ols_fits]
    # per imputation: t(b) solve(vcov) b for age and bmi of each lm fit
    np.testing.assert_allclose(w, ref["w"], rtol=1e-12)
    d2 = pool_chi_square(w, 2)
    # semTools:::calculate.D2(w, DF = 2)
    assert d2.statistic == pytest.approx(ref["F"], rel=1e-12)
    assert d2.df2 == pytest.approx(ref["df2"], rel=1e-12)
    assert d2.p == pytest.approx(ref["pvalue"], rel=1e-11)
    assert d2.ariv == pytest.approx(ref["ariv"], rel=1e-12)
    assert d2.fmi == pytest.approx(ref["fmi"], rel=1e-12)
    chi = pool_chi_square(w, 2, asymptotic=True)
    # calculate.D2(w, DF = 2, asymptotic = TRUE)
    assert chi.statistic == pytest.approx(ref["chisq_asymptotic"], rel=1e-12)
    assert chi.p == pytest.approx(ref["pvalue_asymptotic"], rel=1e-11)


def _synthetic_cohort(rng, n):
    """Synthetic: two baseline scores, one Likert item, an outcome that depends on them."""
    x1 = rng.normal(size=n)
    x2 = 0.5 * x1 + rng.normal(0, 0.8, n)
    item = np.clip(np.round(2 + x1 + rng.normal(0, 0.7, n)), 0, 4)
    y = 1 + 0.5 * x1 + 0.5 * x2 + rng.normal(size=n)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2, "item": item})


def test_impute_chained_fills_and_keeps_categories():
    rng = np.random.default_rng(1)
    df = _synthetic_cohort(rng, 300)
    df.loc[rng.random(300) < 0.2, "item"] = np.nan
    df.loc[rng.random(300) < 0.2, "x2"] = np.nan
    df["flag"] = (df["x1"] > 0).astype(float)
    df.loc[rng.random(300) < 0.1, "flag"] = np.nan
    imps = impute_chained(df, m=2, ordinal=["item"], n_iter=2, seed=7)
    assert len(imps) == 2
    for d in imps:
        assert not d.isna().any().any()
        assert set(d["item"].unique()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
        assert set(d["flag"].unique()) <= {0.0, 1.0}
        observed = df["x2"].notna()
        pd.testing.assert_series_equal(d.loc[observed, "x2"], df.loc[observed, "x2"])
        assert d.loc[~observed, "x2"].isin(df.loc[observed, "x2"]).all()  # pmm: donors' values
    assert not imps[0]["item"].equals(imps[1]["item"])
    again = impute_chained(df, m=2, ordinal=["item"], n_iter=2, seed=7)
    pd.testing.assert_frame_equal(again[1], imps[1])
    # ordinal imputation follows x1 (the item was generated from it)
    mis = df["item"].isna()
    assert np.corrcoef(imps[0].loc[mis, "item"], df.loc[mis, "x1"])[0, 1] > 0.5


def test_recovery_under_mar_missingness():
    """Synthetic: x2 missing with a probability rising with the outcome (MAR given y, about a
    third missing). Complete-case estimates are biased; the pooled imputation estimates are
    not, and their 95% intervals cover the truth in 91-99% of 200 repetitions."""
    truth = np.array([1.0, 0.5, 0.5])
    rng = np.random.default_rng(11)
    covered, estimates, complete_case = [], [], []
    for rep in range(200):
        df = _synthetic_cohort(rng, 300)[["y", "x1", "x2"]]
        p_missing = 1 / (1 + np.exp(-(-2 + df["y"])))
        df.loc[rng.random(300) < p_missing, "x2"] = np.nan
        imps = impute_chained(df, m=5, numeric="norm", n_iter=1, seed=rep)
        fits = []
        for d in imps:
            X = np.column_stack([np.ones(300), d["x1"], d["x2"]])
            xtx_inv = np.linalg.inv(X.T @ X)
            coef = xtx_inv @ X.T @ d["y"].to_numpy()
            resid = d["y"].to_numpy() - X @ coef
            fits.append((coef, xtx_inv * (resid @ resid) / 297))
        tab = pool_estimates([f[0] for f in fits], [f[1] for f in fits], dfcom=297).table
        covered.append((tab["ci_low"] <= truth) & (truth <= tab["ci_high"]))
        estimates.append(tab["estimate"].to_numpy())
        cc = df.dropna()
        X = np.column_stack([np.ones(len(cc)), cc["x1"], cc["x2"]])
        complete_case.append(np.linalg.lstsq(X, cc["y"].to_numpy(), rcond=None)[0])
    coverage = np.mean(covered, axis=0)
    bias = np.mean(estimates, axis=0) - truth
    assert ((coverage >= 0.91) & (coverage <= 0.99)).all(), coverage
    assert (np.abs(bias) < 0.03).all(), bias
    assert np.abs(np.mean(complete_case, axis=0) - truth)[0] > 0.2  # the bias MI removes


def test_pool_models_and_validation_within_imputations():
    rng = np.random.default_rng(3)
    n = 240
    x1 = rng.normal(size=n)
    x2 = 0.4 * x1 + rng.normal(size=n)
    t = rng.exponential(np.exp(-0.6 * x1 - 0.3 * x2))
    e = (rng.random(n) < 0.8).astype(float)
    df = pd.DataFrame({"x1": x1, "x2": x2, "time": t, "event": e})
    df.loc[rng.random(n) < 0.25, "x2"] = np.nan
    df["logtime"] = np.log(df["time"])
    imps = impute_chained(df, m=3, n_iter=3, seed=2)
    cox = [CoxModel().fit(d[["x1", "x2"]], d["time"], d["event"]) for d in imps]
    pooled = pool_models(cox)
    assert list(pooled.table.index) == ["x1", "x2"]
    np.testing.assert_allclose(
        pooled.table["estimate"], np.mean([m.coef_.to_numpy() for m in cox], axis=0)
    )
    assert (pooled.table["fmi"] > 0).all()
    logit = [LogisticModel().fit(d[["x1", "x2"]], d["event"]) for d in imps]
    assert list(pool_models(logit).table.index) == ["(Intercept)", "x1", "x2"]
    val = validate_within_imputations(
        imps, predictors=["x1", "x2"], time="time", event="event", horizon=1.0, n_boot=10
    )
    tab = val.table
    assert len(val.per_imputation) == 3
    c_values = [v.table.loc["c_index", "corrected"] for v in val.per_imputation]
    assert tab.loc["c_index", "corrected"] == pytest.approx(np.mean(c_values))
    assert tab.loc["c_index", "corrected_sd"] == pytest.approx(np.std(c_values, ddof=1))
    assert (tab["m"] == 3).all()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="at least two imputations"):
        pool_estimates([[1.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="one matrix per"):
        pool_estimates([[1.0], [2.0]], [[[1.0]]])
    with pytest.raises(ValueError, match="ordinal: not columns of frame: q9"):
        impute_chained(pd.DataFrame({"a": [1.0, np.nan, 2.0]}), ordinal=["q9"])
    with pytest.raises(ValueError, match="'a': fewer than two observed"):
        impute_chained(pd.DataFrame({"a": [1.0, np.nan, np.nan], "b": [1.0, 2.0, 3.0]}))
    with pytest.raises(ValueError, match="time, event"):
        validate_within_imputations([pd.DataFrame({"x": [1.0]})], predictors=["x"])
    with pytest.raises(ValueError, match="df: must be positive"):
        pool_chi_square([1.0, 2.0], 0)


def test_proportional_odds_matches_polr():
    ref = REF["polr"]
    imputed = pd.read_csv(DATA / "nhanes_imputed.csv")
    first = imputed[imputed[".imp"] == 1]
    fit = fit_proportional_odds(first["age"], first[["bmi", "chl"]].to_numpy())
    assert fit.converged
    # polr(factor(age) ~ bmi + chl, complete(imp, 1), Hess = TRUE, control = list(reltol = 1e-15)):
    # coefficients agree to 3e-9 and thresholds to 1.2e-7 (where optim's BFGS stops)
    np.testing.assert_allclose(fit.coef, list(ref["coef"].values()), rtol=0, atol=1e-8)
    np.testing.assert_allclose(fit.thresholds, ref["zeta"], rtol=0, atol=5e-7)
    assert fit.loglik == pytest.approx(ref["loglik"], abs=1e-10)  # logLik(po)
    # vcov(po) comes from optimHess's finite differences (step 1e-3), 0.7% off on chl's scale;
    # the analytic information is checked against differences of the analytic score below
    assert ref["vcov_order"] == ["bmi", "chl", "1|2", "2|3"]
    np.testing.assert_allclose(fit.cov.ravel(order="F"), ref["vcov"], rtol=1e-2)
    probs = fit.probabilities(first[["bmi", "chl"]].to_numpy())
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-12)


def test_proportional_odds_information_is_the_derivative_of_the_score():
    # synthetic ordered outcome; the log-likelihood is evaluated through probabilities(), so the
    # check does not reuse the analytic derivatives
    rng = np.random.default_rng(8)
    X = rng.normal(size=(400, 2))
    y = np.clip(np.round(2 + X[:, 0] - 0.5 * X[:, 1] + rng.logistic(size=400)), 0, 4)
    fit = fit_proportional_odds(y, X)
    codes = np.searchsorted(fit.levels, y)
    params = np.concatenate([fit.coef, fit.thresholds])

    def loglik(q):
        probs = fit.probabilities(X, coef=q[:2], thresholds=q[2:])
        return np.log(probs[np.arange(len(y)), codes]).sum()

    def score(q, h=1e-5):
        return np.array([(loglik(q + e) - loglik(q - e)) / (2 * h) for e in np.eye(len(q)) * h])

    assert np.abs(score(params)).max() < 1e-4  # at the maximum
    hess = np.column_stack(
        [(score(params + e) - score(params - e)) / 2e-3 for e in np.eye(len(params)) * 1e-3]
    )
    # the differences' truncation error: 5.1e-6 relative measured
    np.testing.assert_allclose(np.linalg.inv(-hess), fit.cov, rtol=1e-5)


@pytest.mark.slow
def test_recovery_with_ordinal_imputation():
    """Synthetic: a five-category item (from x1 with noise) missing for about a fifth, more often
    when the outcome is high (MAR). Proportional-odds imputation, m = 5, 150 repetitions: bias
    below 0.02 and 95% coverage within 91-99% for every coefficient."""
    truth = np.array([1.0, 0.5, 0.3])
    rng = np.random.default_rng(21)
    covered, estimates = [], []
    n = 300
    for rep in range(150):
        x1 = rng.normal(size=n)
        item = np.clip(np.round(2 + 0.8 * x1 + rng.normal(0, 0.8, n)), 0, 4)
        y = 1 + 0.5 * x1 + 0.3 * item + rng.normal(size=n)
        df = pd.DataFrame({"y": y, "x1": x1, "item": item})
        df.loc[rng.random(n) < 1 / (1 + np.exp(-(-2.5 + 0.6 * y))), "item"] = np.nan
        imps = impute_chained(df, m=5, ordinal=["item"], n_iter=1, seed=rep)
        fits = []
        for d in imps:
            assert set(d["item"].unique()) <= {0.0, 1.0, 2.0, 3.0, 4.0}
            X = np.column_stack([np.ones(n), d["x1"], d["item"]])
            xtx_inv = np.linalg.inv(X.T @ X)
            coef = xtx_inv @ X.T @ d["y"].to_numpy()
            resid = d["y"].to_numpy() - X @ coef
            fits.append((coef, xtx_inv * (resid @ resid) / (n - 3)))
        tab = pool_estimates([f[0] for f in fits], [f[1] for f in fits], dfcom=n - 3).table
        covered.append((tab["ci_low"] <= truth) & (truth <= tab["ci_high"]))
        estimates.append(tab["estimate"].to_numpy())
    coverage = np.mean(covered, axis=0)
    bias = np.mean(estimates, axis=0) - truth
    assert ((coverage >= 0.91) & (coverage <= 0.99)).all(), coverage
    assert (np.abs(bias) < 0.02).all(), bias
