"""Parity with R's survival and stats on survival::lung (reference values from R 4.2.2, survival 3.5-3).

Expected numbers come from tests/data/lung_reference.json, written by
/work/shared/reference/make_reference.R (``Rscript make_reference.R OUT lung``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.concordance import concordance_index
from analysis.attrition.cox import CoxModel, cox_newton
from analysis.attrition.kaplan_meier import kaplan_meier, logrank_test
from analysis.attrition.logistic import LogisticModel, logistic_irls

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "lung_reference.json").read_text())
# the same fits with R run past its default stopping rules: tests/data/make_converged_reference.R
CONVERGED = json.loads((DATA / "converged_reference.json").read_text())
TERMS = ["age", "sex", "ph.ecog"]


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    frame = pd.read_csv(DATA / "lung.csv")
    return frame.dropna(subset=TERMS).reset_index(drop=True)  # R's na.omit: 227 rows


def test_lung_model_rows(lung):
    assert len(lung) == REF["cox_efron"]["n"] == 227
    assert int(lung["status"].sum()) == REF["cox_efron"]["nevent"] == 164


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_matches_coxph(lung, ties):
    # R: coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung, ties = ties). One fit of
    # our engine; the gap to R is R's own convergence (coxph stops at a 1e-9 relative change of
    # the log-likelihood): 2.6e-10 in the coefficients, 4e-12 in the SEs, 1.5e-9 in p.
    ref = REF[f"cox_{ties}"]
    model = CoxModel(ties=ties).fit(lung[TERMS], lung["time"], lung["status"])
    assert list(model.coef_.index) == ref["terms"]
    np.testing.assert_allclose(model.coef_.to_numpy(), ref["coef"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(model.summary()["p"].to_numpy(), ref["p"], atol=1e-8, rtol=0)
    assert model.n_obs_ == ref["n"] and model.n_events_ == ref["nevent"]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cox_matches_coxph_converged(lung, ties):
    # R: coxph(..., ties = ties, control = coxph.control(eps = 1e-14)), fitted to the end. Gaps
    # measured: coef 3.0e-15, SE 1.7e-16, logliks 2.3e-13 (model and engine alike)
    ref = CONVERGED[f"cox_{ties}"]
    model = CoxModel(ties=ties).fit(lung[TERMS], lung["time"], lung["status"])
    assert list(model.coef_.index) == ref["terms"]
    np.testing.assert_allclose(model.coef_.to_numpy(), ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], rtol=1e-10)
    assert model.loglik_null_ == pytest.approx(ref["loglik"][0], rel=1e-12)
    assert model.loglik_ == pytest.approx(ref["loglik"][1], rel=1e-12)
    fit = cox_newton(
        lung["time"].to_numpy(), lung["status"].to_numpy(), lung[TERMS].to_numpy(), ties=ties
    )
    np.testing.assert_allclose(fit.coef, ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(
        np.sqrt(np.diag(np.linalg.inv(fit.information))), ref["se"], rtol=1e-10
    )


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_fast_engine_matches_coxph(lung, ties):
    # the engine on its own; R: coxph(..., ties = ties)$coef and sqrt(diag(vcov)); gaps as above
    ref = REF[f"cox_{ties}"]
    fit = cox_newton(
        lung["time"].to_numpy(), lung["status"].to_numpy(), lung[TERMS].to_numpy(), ties=ties
    )
    assert fit.converged
    np.testing.assert_allclose(fit.coef, ref["coef"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(
        np.sqrt(np.diag(np.linalg.inv(fit.information))), ref["se"], atol=1e-10, rtol=0
    )


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_engine_matches_statsmodels_phreg_on_lung(lung, ties):
    # statsmodels PHReg, an independent implementation, as a second oracle beside R: estimates,
    # SEs from the observed information and the log partial likelihood (both at their optimum).
    # Gaps measured: coef 3.1e-15, SE 1.7e-16, loglik 2.3e-13 (of 729)
    from statsmodels.duration.hazard_regression import PHReg

    X = lung[TERMS].to_numpy()
    ref = PHReg(lung["time"], X, status=lung["status"], ties=ties).fit()
    model = CoxModel(ties=ties).fit(lung[TERMS], lung["time"], lung["status"])
    np.testing.assert_allclose(model.coef_.to_numpy(), ref.params, atol=1e-10, rtol=0)
    np.testing.assert_allclose(model.se_.to_numpy(), ref.bse, atol=1e-10, rtol=0)
    assert model.loglik_ == pytest.approx(ref.llf, abs=1e-10)


def test_concordance_matches_coxph(lung):
    # R: coxph(Surv(time, status) ~ age + sex + ph.ecog, lung)$concordance["concordance"];
    # the pair counts are integers, so the ratio agrees to rounding (2e-16 measured)
    model = CoxModel().fit(lung[TERMS], lung["time"], lung["status"])
    assert model.concordance_.estimate == pytest.approx(REF["cox_efron"]["concordance"], abs=1e-12)


def test_concordance_equals_brute_force_pair_count(lung):
    # survival's own test file (tests/concordance.R, allpair) defines the pairs: i has the event,
    # j has time > t_i or (time == t_i and censored). Brute force over all pairs.
    rng = np.random.default_rng(3)
    t = rng.integers(1, 15, size=120).astype(float)
    e = rng.integers(0, 2, size=120)
    x = rng.integers(0, 6, size=120).astype(float)
    con = dis = tie = 0
    for i in np.flatnonzero(e):
        at_risk = (t > t[i]) | ((t == t[i]) & (e == 0))
        sign = np.sign(x[i] - x[at_risk])
        con += (sign > 0).sum()
        dis += (sign < 0).sum()
        tie += (sign == 0).sum()
    result = concordance_index(t, e, x)
    assert (result.concordant, result.discordant, result.tied_risk) == (con, dis, tie)


def test_logistic_matches_glm(lung):
    # R: glm(status ~ age + sex + ph.ecog, family = binomial, data = lung). Gaps measured: coef
    # 4.8e-12, SE 6.0e-7. summary.glm takes the information from the weights of glm's
    # last-but-one IRLS step (epsilon 1e-8), not those at its estimate: refitted with
    # glm.control(epsilon = 1e-15), R's SEs move by the same 6.0e-7 onto ours.
    ref = REF["logit"]
    model = LogisticModel().fit(lung[TERMS], lung["status"])
    table = model.summary()
    assert list(table.index) == ref["terms"]
    np.testing.assert_allclose(table["estimate"].to_numpy(), ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(table["se"].to_numpy(), ref["se"], atol=1e-6, rtol=0)
    design = np.c_[np.ones(len(lung)), lung[TERMS].to_numpy()]
    coef, info, ok = logistic_irls(design, lung["status"].to_numpy(dtype=float))
    assert ok
    np.testing.assert_allclose(coef, ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(np.sqrt(np.diag(np.linalg.inv(info))), ref["se"], atol=1e-6, rtol=0)


def test_logistic_matches_glm_converged(lung):
    # R: glm(..., control = glm.control(epsilon = 1e-14)): its SEs now come from the weights at
    # the estimate. Gaps measured: coef 6.7e-15, SE 8.9e-13 (model and IRLS engine alike)
    ref = CONVERGED["logit"]
    table = LogisticModel().fit(lung[TERMS], lung["status"]).summary()
    assert list(table.index) == ref["terms"]
    np.testing.assert_allclose(table["estimate"].to_numpy(), ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(table["se"].to_numpy(), ref["se"], rtol=1e-10)
    design = np.c_[np.ones(len(lung)), lung[TERMS].to_numpy()]
    coef, info, _ = logistic_irls(design, lung["status"].to_numpy(dtype=float))
    np.testing.assert_allclose(coef, ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(np.sqrt(np.diag(np.linalg.inv(info))), ref["se"], rtol=1e-10)


def test_kaplan_meier_by_sex():
    # R: summary(survfit(Surv(time, status) ~ sex, lung), times = c(100, 200, 365, 500))$surv
    # (all 228 rows: survfit drops nothing); products of counts: gap measured 4.4e-16
    lung_all = pd.read_csv(DATA / "lung.csv")
    km = kaplan_meier(lung_all["time"], lung_all["status"], lung_all["sex"])
    ref = REF["km_by_sex"]
    got = km.survival_at(sorted(set(ref["time"])))
    expected = pd.DataFrame(
        {
            "stratum": [s.split("=")[1] for s in ref["strata"]],
            "time": ref["time"],
            "surv": ref["surv"],
        }
    )
    merged = expected.merge(got, on=["stratum", "time"])
    assert len(merged) == 8
    np.testing.assert_allclose(merged["survival"], merged["surv"], atol=1e-14, rtol=0)


def test_logrank_by_sex():
    # R: survdiff(Surv(time, status) ~ sex, lung)$chisq; gap measured 7.6e-15 relative
    lung_all = pd.read_csv(DATA / "lung.csv")
    res = logrank_test(lung_all["time"], lung_all["status"], lung_all["sex"])
    assert res.chisq == pytest.approx(REF["logrank_sex"]["chisq"], rel=1e-12)
    assert res.df == REF["logrank_sex"]["df"]
    assert res.table["observed"].sum() == lung_all["status"].sum()


def test_cox_zph_matches_r(lung):
    # R (survival 3.x): cox.zph(coxph(Surv(time, status) ~ age + sex + ph.ecog, data = lung)),
    # transform = "km". Values as printed by R in the modeldiag package's vignette
    # (github.com/Teniola17/modeldiag, docs/articles/introduction.md; R's lung codes sex 1/2 and
    # status 1/2, which shifts neither the coefficients nor the test). Gaps measured 4.5e-8
    # at most: the tolerance is half a unit of the 7th decimal printed.
    expected = {"age": 0.1879877, "sex": 2.3054372, "ph.ecog": 2.0542488, "GLOBAL": 4.4636576}
    expected_p = {"age": 0.6645968, "sex": 0.1289220, "ph.ecog": 0.1517821, "GLOBAL": 0.2155549}
    model = CoxModel().fit(lung[TERMS], lung["time"], lung["status"])
    table = model.zph(lung[TERMS], lung["time"], lung["status"]).table
    for term, chisq in expected.items():
        assert table.loc[term, "chisq"] == pytest.approx(chisq, abs=5e-8)
        assert table.loc[term, "p"] == pytest.approx(expected_p[term], abs=5e-8)
    assert table.loc["GLOBAL", "df"] == 3


def test_cox_zph_matches_r_at_full_precision(lung):
    # R: cox.zph(coxph(..., control = coxph.control(eps = 1e-14))) (make_converged_reference.R),
    # all digits. Gaps measured: chisq 8.9e-15, p 5.9e-15
    ref = CONVERGED["cox_zph"]
    model = CoxModel().fit(lung[TERMS], lung["time"], lung["status"])
    table = model.zph(lung[TERMS], lung["time"], lung["status"]).table.loc[ref["terms"]]
    np.testing.assert_allclose(table["chisq"], ref["chisq"], rtol=1e-10)
    np.testing.assert_allclose(table["p"], ref["p"], rtol=1e-10)
    np.testing.assert_array_equal(table["df"], ref["df"])
