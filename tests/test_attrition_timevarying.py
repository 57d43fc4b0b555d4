"""Time-varying (counting-process) and clustered Cox models, clustered logistic models, against R.

Expected numbers come from tests/data/survival_clustered_reference.json, written with R 4.2,
survival 3.5-3 and carData 3.0-5 by tests/data/make_rossi_reference.R (which also writes
rossi_long.csv, carData::Rossi in Fox & Weisberg's person-week form, and lung_inst.csv).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.cox import CoxModel, cox_score_residuals
from analysis.attrition.logistic import LogisticModel
from analysis.attrition.timevarying import person_period

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "survival_clustered_reference.json").read_text())
ROSSI_TERMS = ["fin", "age", "race", "wexp", "mar", "paro", "prio", "employed"]
LUNG_TERMS = ["age", "sex", "ph.ecog"]


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    return pd.read_csv(DATA / "rossi_long.csv")


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return pd.read_csv(DATA / "lung_inst.csv")


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_time_varying_cox_matches_coxph_on_rossi(rossi, ties):
    # R: coxph(Surv(start, stop, arrest.time) ~ fin + age + race + wexp + mar + paro + prio +
    #    employed, data = Rossi.2, ties = ties). Gaps measured: coef 2.8e-9 (R's convergence),
    #    SE 2.4e-10, log-likelihoods 2e-12, concordance 0.
    ref = REF[f"rossi_tv_{ties}"]
    model = CoxModel(ties=ties).fit(
        rossi[ROSSI_TERMS], rossi["stop"], rossi["arrest.time"], start=rossi["start"]
    )
    assert model.counting_process_
    assert list(model.coef_.index) == ref["terms"]
    np.testing.assert_allclose(model.coef_.to_numpy(), ref["coef"], atol=1e-8, rtol=0)
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], atol=1e-9, rtol=0)
    assert model.loglik_null_ == pytest.approx(ref["loglik"][0], abs=1e-9)
    assert model.loglik_ == pytest.approx(ref["loglik"][1], abs=1e-9)
    assert model.concordance_.estimate == pytest.approx(ref["concordance"][0], abs=1e-12)
    assert model.n_obs_ == ref["n"][0] and model.n_events_ == ref["nevent"][0]


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_robust_se_clustered_by_person_on_rossi(rossi, ties):
    # R: coxph(Surv(start, stop, arrest.time) ~ ..., data = Rossi.2, ties = ties, cluster = id):
    #    robust SE gap 4.5e-10, naive SE (fit$naive.var) 2.4e-10
    ref = REF[f"rossi_tv_cluster_{ties}"]
    model = CoxModel(ties=ties).fit(
        rossi[ROSSI_TERMS],
        rossi["stop"],
        rossi["arrest.time"],
        start=rossi["start"],
        cluster=rossi["id"],
    )
    assert model.n_clusters_ == 432
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], atol=2e-9, rtol=0)
    naive = np.sqrt(np.diag(model.cov_naive_.to_numpy()))
    np.testing.assert_allclose(naive, ref["naive_se"], atol=1e-9, rtol=0)
    assert not np.allclose(model.se_.to_numpy(), naive, atol=1e-4)  # the sandwich differs


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_cluster_robust_cox_matches_coxph_members_in_groups(lung, ties):
    # R: coxph(Surv(time, status) ~ age + sex + ph.ecog, data = na.omit(lung), ties = ties,
    #    cluster = inst): patients nested in 18 institutions. Gaps: coef 3.2e-10, SE 1.9e-11.
    ref = REF[f"lung_cluster_{ties}"]
    model = CoxModel(ties=ties).fit(
        lung[LUNG_TERMS], lung["time"], lung["status"], cluster=lung["inst"]
    )
    assert model.n_clusters_ == 18
    np.testing.assert_allclose(model.coef_.to_numpy(), ref["coef"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(
        np.sqrt(np.diag(model.cov_naive_.to_numpy())), ref["naive_se"], atol=1e-10, rtol=0
    )


@pytest.mark.parametrize("ties", ["efron", "breslow"])
def test_time_varying_and_clustered_cox_match_converged_coxph(rossi, lung, ties):
    # the three models above with coxph.control(eps = 1e-14) (make_converged_reference.R), so that
    # R's own stop (a relative loglik change of 1e-9) no longer sets the gap. Gaps measured:
    # Rossi coef 5.2e-13, SE 3.4e-14, logliks 2.0e-11 (of 642); clustered robust SE 6.3e-14,
    # naive 3.4e-14; lung by institution coef 2.0e-15, SE 1.1e-16
    converged = json.loads((DATA / "converged_reference.json").read_text())
    ref = converged[f"rossi_tv_{ties}"]
    X, stop, event, start = rossi[ROSSI_TERMS], rossi["stop"], rossi["arrest.time"], rossi["start"]
    model = CoxModel(ties=ties).fit(X, stop, event, start=start)
    np.testing.assert_allclose(model.coef_.to_numpy(), ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], rtol=1e-10)
    assert model.loglik_null_ == pytest.approx(ref["loglik"][0], rel=1e-12)
    assert model.loglik_ == pytest.approx(ref["loglik"][1], rel=1e-12)
    ref = converged[f"rossi_tv_cluster_{ties}"]
    model = CoxModel(ties=ties).fit(X, stop, event, start=start, cluster=rossi["id"])
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], rtol=1e-10)
    naive = np.sqrt(np.diag(model.cov_naive_.to_numpy()))
    np.testing.assert_allclose(naive, ref["naive_se"], rtol=1e-10)
    ref = converged[f"lung_cluster_{ties}"]
    model = CoxModel(ties=ties).fit(
        lung[LUNG_TERMS], lung["time"], lung["status"], cluster=lung["inst"]
    )
    np.testing.assert_allclose(model.coef_.to_numpy(), ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(model.se_.to_numpy(), ref["se"], rtol=1e-10)
    naive = np.sqrt(np.diag(model.cov_naive_.to_numpy()))
    np.testing.assert_allclose(naive, ref["naive_se"], rtol=1e-10)


def test_score_residuals_sum_to_zero_at_the_estimate(lung):
    # the score vector is zero at the maximum partial likelihood estimate; tied times in lung
    model = CoxModel().fit(lung[LUNG_TERMS], lung["time"], lung["status"])
    resid = cox_score_residuals(
        lung["time"], lung["status"], lung[LUNG_TERMS].to_numpy(), model.coef_.to_numpy()
    )
    assert resid.shape == (len(lung), 3)
    np.testing.assert_allclose(resid.sum(axis=0), 0, atol=1e-8)


def test_logistic_cluster_robust_se_matches_r(lung):
    # R: glm(status ~ age + sex + ph.ecog, binomial, lung) with vcovCL(type = "HC1") computed by
    #    hand (sandwich is not installed): G/(G-1) (N-1)/(N-K) B M B. Gaps: coef 3e-15, SE 1.2e-12.
    ref = REF["logit_cluster"]
    model = LogisticModel().fit(lung[LUNG_TERMS], lung["status"], cluster=lung["inst"])
    table = model.summary()
    assert list(table.index) == ref["terms"]
    assert model.n_clusters_ == ref["n_clusters"][0]
    np.testing.assert_allclose(table["estimate"].to_numpy(), ref["coef"], atol=1e-10, rtol=0)
    np.testing.assert_allclose(table["se"].to_numpy(), ref["se"], atol=1e-10, rtol=0)


def test_start_must_precede_stop():
    X = pd.DataFrame({"x": [0.0, 1.0, 2.0]})
    with pytest.raises(ValueError, match="start: must be before the stop time.*row 1"):
        CoxModel().fit(X, [1.0, 2.0, 3.0], [1, 1, 0], start=[0.0, 2.0, 0.0])


def test_person_period_rebuilds_rossi_long_form(rossi):
    # the waves are the weeks: each person's employment status at the start of week k, and the
    # week of arrest or censoring; the builder must give back R's person-week rows exactly
    waves = rossi.rename(columns={"start": "week_start"}).drop(columns=["stop", "arrest.time"])
    last = rossi.groupby("id").agg(week=("stop", "max"), arrest=("arrest.time", "max"))
    built = person_period(
        waves,
        last.reset_index(),
        id_column="id",
        wave_time="week_start",
        time="week",
        event="arrest",
        covariates=["employed", "fin", "prio"],
    )
    pd.testing.assert_frame_equal(
        built[["id", "start", "stop", "event", "employed", "fin", "prio"]],
        rossi[["id", "start", "stop", "arrest.time", "employed", "fin", "prio"]]
        .rename(columns={"arrest.time": "event"})
        .astype({"start": float, "stop": float}),
    )


def test_person_period_from_three_waves():
    # SYNTHETIC: baseline, 6 and 12 months; b leaves at 4 (before the 6-month wave), c skips 6
    waves = pd.DataFrame(
        {
            "id": ["a", "a", "a", "b", "b", "c", "c"],
            "month": [0, 6, 12, 0, 6, 0, 12],
            "score": [3.0, 2.5, 2.0, 4.0, 3.0, 1.0, 1.5],
        }
    )
    fu = pd.DataFrame({"id": ["a", "b", "c"], "months": [14.0, 4.0, 12.0], "left": [1, 1, 0]})
    out = person_period(
        waves,
        fu,
        id_column="id",
        wave_time="month",
        time="months",
        event="left",
        covariates=["score"],
    )
    assert out[["start", "stop"]].to_numpy().tolist() == [
        [0, 6],
        [6, 12],
        [12, 14],
        [0, 4],
        [0, 12],
    ]
    assert out["event"].tolist() == [0, 0, 1, 1, 0]
    assert out["score"].tolist() == [3.0, 2.5, 2.0, 4.0, 1.0]


@pytest.mark.parametrize(
    ("waves", "message"),
    [
        (pd.DataFrame({"id": ["a"], "month": [3], "score": [1.0]}), "not at time 0"),
        (pd.DataFrame({"id": ["z"], "month": [0], "score": [1.0]}), "no follow-up row"),
        (pd.DataFrame({"id": ["a", "a"], "month": [0, 0], "score": [1.0, 2.0]}), "row 1 repeats"),
        (pd.DataFrame({"id": ["a"], "month": [0]}), "column\\(s\\) not found: score"),
    ],
)
def test_person_period_names_the_problem(waves, message):
    fu = pd.DataFrame({"id": ["a"], "months": [5.0], "left": [1]})
    with pytest.raises(ValueError, match=message):
        person_period(
            waves,
            fu,
            id_column="id",
            wave_time="month",
            time="months",
            event="left",
            covariates=["score"],
        )
