"""Competing outcomes against R's cmprsk 2.2-11 and survival 3.5-3 on survival::mgus2.

References: tests/data/make_competing_reference.R -> tests/data/competing_reference.json;
data: tests/data/mgus2_competing.csv (etime in months; event 1 = plasma-cell malignancy,
2 = death before it, 0 = censored).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.competing import (
    INTERPRETATION,
    CompetingRisks,
    FineGrayModel,
    cause_specific_cox,
    cumulative_incidence,
    fit_competing_risks,
    gray_test,
)
from analysis.errors import NotFittedError

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "competing_reference.json").read_text())
COVARIATES = ["age", "male", "mspike"]


@pytest.fixture(scope="module")
def mgus2() -> pd.DataFrame:
    return pd.read_csv(DATA / "mgus2_competing.csv")


@pytest.fixture(scope="module")
def complete(mgus2) -> pd.DataFrame:
    return mgus2.dropna(subset=COVARIATES).reset_index(drop=True)


def _arr(values) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _sex(frame):
    return np.where(frame["male"] == 1, "M", "F")


def test_cuminc_estimates_and_variances_match_cmprsk(mgus2):
    ci = cumulative_incidence(mgus2["etime"], mgus2["event"], group=_sex(mgus2))
    for key, curve in REF["cuminc_by_sex"]["curves"].items():
        grp, cause = key.split()
        at = ci.at(curve["time"])
        at = at[(at["group"] == grp) & (at["cause"] == int(cause))]
        est, var = _arr(curve["est"]), _arr(curve["var"])
        # timepoints(cuminc(etime, event, group = sex), sort(unique(etime))): NA beyond follow-up
        np.testing.assert_array_equal(np.isnan(at["estimate"].to_numpy()), np.isnan(est))
        np.testing.assert_allclose(at["estimate"], est, rtol=0, atol=1e-14)
        np.testing.assert_allclose(at["variance"], var, rtol=0, atol=1e-16)


def test_cuminc_without_groups_matches_cmprsk(mgus2):
    ci = cumulative_incidence(mgus2["etime"], mgus2["event"])
    ref = REF["cuminc_overall"]
    at = ci.at(ref["time"])
    assert ci.tests is None
    for cause in (1, 2):
        one = at[at["cause"] == cause]
        # timepoints(cuminc(etime, event), grid)
        np.testing.assert_allclose(one["estimate"], _arr(ref[f"est{cause}"]), atol=1e-14)
        np.testing.assert_allclose(one["variance"], _arr(ref[f"var{cause}"]), atol=1e-16)


def test_gray_test_matches_cmprsk(mgus2):
    ci = cumulative_incidence(mgus2["etime"], mgus2["event"], group=_sex(mgus2))
    ref = REF["cuminc_by_sex"]["tests"]
    # cuminc(...)$Tests: stat, pv, df
    np.testing.assert_allclose(ci.tests["statistic"], ref["stat"], rtol=1e-12)
    np.testing.assert_allclose(ci.tests["p"], ref["pv"], rtol=1e-10)
    np.testing.assert_array_equal(ci.tests["df"], ref["df"])
    rho1 = gray_test(mgus2["etime"], mgus2["event"], group=_sex(mgus2), rho=1)
    # cuminc(..., rho = 1)$Tests
    np.testing.assert_allclose(rho1["statistic"], REF["gray_rho1"]["stat"], rtol=1e-12)


def test_gray_test_three_groups_matches_cmprsk(mgus2):
    band = pd.cut(mgus2["age"], [0, 65, 75, 200], labels=["le65", "66-75", "gt75"]).astype(str)
    res = gray_test(mgus2["etime"], mgus2["event"], group=band.to_numpy())
    ref = REF["gray_ageband"]
    # cuminc(etime, event, group = cut(age, c(0, 65, 75, 200)))$Tests (groups in R's level order;
    # the statistic does not depend on which group is left out)
    np.testing.assert_allclose(res["statistic"], ref["stat"], rtol=1e-11)
    assert res["df"].tolist() == [2, 2]
    assert res["p"].iloc[0] == pytest.approx(ref["pv"][0], rel=1e-10)
    assert res["p"].iloc[1] < 1e-50  # R prints 1 - pchisq() = 0 here


@pytest.mark.parametrize("cause", [1, 2])
def test_fine_gray_matches_crr(complete, cause):
    ref = REF[f"crr_failcode{cause}"]
    fg = FineGrayModel(cause=cause).fit(complete[COVARIATES], complete["etime"], complete["event"])
    assert fg.n_obs_ == ref["n"] == REF["crr_n"]
    assert fg.converged_
    # crr(etime, event, cov1 = cbind(age, male, mspike), failcode = cause): $coef, sqrt(diag($var))
    np.testing.assert_allclose(fg.coef_, list(ref["coef"].values()), rtol=0, atol=1e-12)
    np.testing.assert_allclose(fg.se_, ref["se"], rtol=1e-12)
    np.testing.assert_allclose(fg.cov_.to_numpy().ravel(order="F"), ref["var"], rtol=1e-11)
    # $loglik, $loglik.null (log pseudo-likelihood)
    assert fg.loglik_ == pytest.approx(ref["loglik"], abs=1e-10)
    assert fg.loglik_null_ == pytest.approx(ref["loglik_null"], abs=1e-10)
    # $uftime, $bfitj (baseline subdistribution hazard jumps)
    np.testing.assert_allclose(fg.baseline_["time"], ref["uftime"])
    np.testing.assert_allclose(fg.baseline_["hazard_increment"], ref["bfitj"], rtol=1e-12)


def test_fine_gray_prediction_is_predict_crr(complete):
    fg = FineGrayModel(cause=1).fit(complete[COVARIATES], complete["etime"], complete["event"])
    x = complete[COVARIATES].iloc[:2]
    pred = fg.predict_cumulative_incidence(x, [0.5, 100.0, 400.0])
    lam = np.cumsum(REF["crr_failcode1"]["bfitj"])
    uft = np.array(REF["crr_failcode1"]["uftime"])
    lp = x.to_numpy() @ np.array(list(REF["crr_failcode1"]["coef"].values()))
    # predict.crr: 1 - exp(-exp(lp) * cumsum(bfitj)) at the last uftime <= t
    expected_100 = 1 - np.exp(-np.exp(lp) * lam[np.searchsorted(uft, 100, side="right") - 1])
    np.testing.assert_allclose(pred[100.0], expected_100, rtol=1e-11)
    assert (pred[0.5] == 0).all()
    assert (pred[400.0] > pred[100.0]).all()


@pytest.mark.parametrize("cause", [1, 2])
def test_cause_specific_cox_matches_coxph(complete, cause):
    models = cause_specific_cox(complete[COVARIATES], complete["etime"], complete["event"])
    ref = REF[f"cause_specific_cox{cause}"]
    # coxph(Surv(etime, event == cause) ~ age + male + mspike, ties = "efron"): gaps measured
    # coef 1.6e-11, SE 2.0e-11 relative, loglik 9.1e-13 (coxph's own convergence)
    np.testing.assert_allclose(models[cause].coef_, list(ref["coef"].values()), rtol=0, atol=1e-10)
    np.testing.assert_allclose(models[cause].se_, list(ref["se"].values()), rtol=1e-10)
    assert models[cause].loglik_ == pytest.approx(ref["loglik"], abs=1e-8)


def test_fit_competing_risks_summary_and_plot(complete):
    res = fit_competing_risks(
        complete[COVARIATES], complete["etime"], complete["event"], group=_sex(complete)
    )
    assert isinstance(res, CompetingRisks)
    tab = res.summary()
    assert set(tab["model"]) == {"fine_gray", "cause_specific"}
    assert len(tab) == 2 * 2 * len(COVARIATES)
    assert {"estimate", "se", "p", "hazard_ratio", "ci_low", "ci_high"} <= set(tab.columns)
    assert "rate among" in res.interpretation and res.interpretation == INTERPRETATION
    json.dumps(res.to_dict(), default=float)
    import matplotlib

    matplotlib.use("Agg")
    ax = res.plot()
    assert len(ax.get_lines()) == 4  # 2 causes x 2 groups
    curve = res.incidence.table
    inside = curve[(curve["estimate"] > 0) & curve["ci_low"].notna()]
    assert (inside["ci_low"] <= inside["estimate"]).all()
    assert (inside["estimate"] <= inside["ci_high"]).all()


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="time: missing"):
        cumulative_incidence([1.0, np.nan], [1, 0])
    with pytest.raises(ValueError, match="every observation is censored"):
        cumulative_incidence([1.0, 2.0], [0, 0])
    with pytest.raises(ValueError, match="same length"):
        cumulative_incidence([1.0, 2.0], [0])
    with pytest.raises(ValueError, match="no events of cause 3"):
        FineGrayModel(cause=3).fit(pd.DataFrame({"x": [1.0, 2.0, 3.0]}), [1, 2, 3], [1, 2, 0])
    with pytest.raises(ValueError, match="column\\(s\\) x"):
        FineGrayModel().fit(pd.DataFrame({"x": [1.0, np.nan, 3.0]}), [1, 2, 3], [1, 2, 0])
    with pytest.raises(ValueError, match="x take a single value"):
        FineGrayModel().fit(pd.DataFrame({"x": [1.0, 1.0, 1.0]}), [1, 2, 3], [1, 2, 0])
    with pytest.raises(ValueError, match="collinear"):
        FineGrayModel().fit(
            pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 4.0, 6.0]}), [1, 2, 3], [1, 2, 0]
        )
    with pytest.raises(NotFittedError, match="fit"):
        FineGrayModel().summary()


def test_fine_gray_without_censoring_matches_crr(complete):
    uncensored = complete[complete["event"] != 0]
    ref = REF["crr_uncensored"]
    fg = FineGrayModel(cause=1).fit(
        uncensored[COVARIATES], uncensored["etime"], uncensored["event"]
    )
    # crr(...) on the 969 rows with an outcome: no censoring term in the variance
    assert fg.n_obs_ == ref["n"]
    np.testing.assert_allclose(fg.coef_, list(ref["coef"].values()), rtol=0, atol=1e-12)
    np.testing.assert_allclose(fg.se_, ref["se"], rtol=1e-11)
    assert fg.loglik_ == pytest.approx(ref["loglik"], abs=1e-10)


def test_stratified_gray_test_matches_cmprsk(mgus2):
    band = pd.cut(mgus2["age"], [0, 65, 75, 200], labels=["le65", "66-75", "gt75"]).astype(str)
    res = gray_test(mgus2["etime"], mgus2["event"], group=_sex(mgus2), strata=band.to_numpy())
    # cuminc(etime, event, group = sex, strata = ageband)$Tests
    np.testing.assert_allclose(res["statistic"], REF["gray_strata"]["stat"], rtol=1e-11)
    np.testing.assert_allclose(res["p"], REF["gray_strata"]["pv"], rtol=1e-9)


def test_outcome_types_as_labels_give_the_same_results(complete):
    # the instrument's outcome-type question gives labels, not codes
    labels = complete["event"].map({0: "still attending", 1: "relapsed", 2: "dropped out"})
    fg = FineGrayModel(cause="relapsed", censor_code="still attending").fit(
        complete[COVARIATES], complete["etime"], labels
    )
    ref = REF["crr_failcode1"]
    np.testing.assert_allclose(fg.coef_, list(ref["coef"].values()), rtol=0, atol=1e-12)
    ci = cumulative_incidence(complete["etime"], labels, censor_code="still attending")
    assert set(ci.table["cause"]) == {"relapsed", "dropped out"}
    res = fit_competing_risks(
        complete[COVARIATES], complete["etime"], labels, censor_code="still attending"
    )
    assert set(res.summary()["cause"]) == {"relapsed", "dropped out"}
    json.dumps(res.to_dict(), default=float)
