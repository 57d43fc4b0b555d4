"""Attrition: follow-up join, dropout definition, PH test, validation, sample size, model files.

Data here are SYNTHETIC (generated in this file) unless a test says otherwise.
"""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from analysis.attrition.concordance import concordance_index
from analysis.attrition.cox import CoxModel, cox_zph
from analysis.attrition.design import Design
from analysis.attrition.followup import (
    complete_cases,
    dropout_from_attendance,
    join_followup,
    status_from_attendance,
)
from analysis.attrition.logistic import auc
from analysis.attrition.model_io import load_model, save_model
from analysis.attrition.sample_size import riley_sample_size
from analysis.attrition.study import fit_attrition
from analysis.attrition.validation import brier_survival, validate_cox, validate_logistic
from instrument.errors import DataError, DataQualityWarning, UsageError


def synthetic_cohort(n=400, seed=0, beta=(-0.6, 0.4), shape=1.0, noise=0):
    """SYNTHETIC cohort: two scale scores (+ noise scores), Weibull PH times, uniform censoring."""
    rng = np.random.default_rng(seed)
    scores = {"cohesion": rng.normal(3, 0.8, n), "model_fit": rng.normal(3, 0.8, n)}
    for k in range(noise):
        scores[f"noise{k + 1}"] = rng.normal(0, 1, n)
    base = pd.DataFrame(
        {
            "respondent_id": [f"s{i:04d}" for i in range(n)],
            **scores,
            "gender": rng.choice(["1", "2"], n),
        }
    )
    lp = beta[0] * (base["cohesion"] - 3) + beta[1] * (base["model_fit"] - 3)
    t = rng.weibull(shape, n) * 10 * np.exp(-lp / shape)
    c = rng.uniform(3, 18, n)
    fu = pd.DataFrame(
        {
            "respondent_id": base["respondent_id"],
            "months": np.minimum(t, c).round(3),
            "disengaged": (t <= c).astype(int),
            "synthetic": "synthetic",
        }
    )
    return base, fu


# --------------------------------------------------------------------------------------------
# follow-up join
# --------------------------------------------------------------------------------------------
def test_join_records_every_problem_and_drops_nothing_silently():
    base = pd.DataFrame(
        {
            "respondent_id": ["a", "b", "c", "c", "e", "f", "g", "h"],
            "score": [1.0, 2, 3, 3, 4, 5, 6, 7],
        }
    )
    fu = pd.DataFrame(
        {
            "respondent_id": ["a", "b", "c", "e", "f", "g", "x", "b2"],
            "months": [5, -1, 3, None, 4, 2, 1, 1],
            "disengaged": [1, 0, 1, 1, 7, 2, 0, 0],
        }
    )
    joined = join_followup(base, fu, time="months", event="disengaged")
    rules = pd.Series([p.rule for p in joined.problems]).value_counts().to_dict()
    assert rules == {
        "duplicate_id": 2,
        "no_followup": 1,
        "no_baseline": 2,
        "negative_time": 1,
        "missing_time": 1,
        "invalid_status": 1,
    }
    assert joined.data["respondent_id"].tolist() == ["a", "g"]  # g: status 2 = competing
    assert joined.data.set_index("respondent_id").loc["g", ["event", "competing"]].tolist() == [
        0,
        1,
    ]
    c = joined.counts
    assert c["analysed"] == 2 and c["duplicate_ids"] == 1 and c["invalid_followup"] == 3
    # every baseline row is analysed, or named in a baseline record, or its follow-up row is
    recorded_base = {p.row for p in joined.problems if p.file == "baseline"}
    assert recorded_base == {4, 5, 9}  # the two rows of c, and h (no follow-up)
    assert len(recorded_base) + c["invalid_followup"] + c["analysed"] == len(base)
    problem_rows = joined.problems_frame()
    assert list(problem_rows.columns)[:3] == ["file", "row", "column"]


def test_join_competing_as_event_and_dates():
    base = pd.DataFrame(
        {
            "respondent_id": ["a", "b", "c"],
            "score": [1.0, 2, 3],
            "answered": ["2024-01-01", "2024-01-01", "2024-03-01"],
        }
    )
    fu = pd.DataFrame(
        {
            "respondent_id": ["a", "b", "c"],
            "disengaged": [1, 1, 0],
            "switched": [0, 1, 0],
            "seen": ["2024-07-01", "2024-04-01", "2024-02-01"],
        }
    )
    joined = join_followup(
        base,
        fu,
        event="disengaged",
        competing="switched",
        competing_as="event",
        baseline_date="answered",
        followup_date="seen",
        unit="days",
    )
    assert [p.rule for p in joined.problems] == ["followup_before_baseline"]
    assert joined.design == "time"
    assert joined.data["time"].tolist() == [182.0, 91.0]
    assert joined.data["event"].tolist() == [1, 1]
    censored = join_followup(base.iloc[:2], fu.iloc[:2], event="disengaged", competing="switched")
    assert censored.design == "status" and censored.data["event"].tolist() == [1, 0]


def test_join_names_missing_columns():
    base = pd.DataFrame({"id": ["a"], "score": [1.0]})
    with pytest.raises(ValueError, match="baseline: no ID column 'respondent_id'"):
        join_followup(base, base, event="score")
    with pytest.raises(ValueError, match="follow-up: no column 'months'"):
        join_followup(base, base, event="score", time="months", id_column="id")


def test_complete_cases_records_missing_predictors():
    frame = pd.DataFrame(
        {
            "respondent_id": ["a", "b", "c"],
            "source_row": [2, 3, 4],
            "x": [1.0, None, 2.0],
            "z": [1.0, 1.0, None],
        }
    )
    kept, problems = complete_cases(frame, ["x", "z"], source="scores.csv")
    assert len(kept) == 1 and [p.column for p in problems] == ["x", "z"]
    assert [(p.file, p.row) for p in problems] == [("scores.csv", 3), ("scores.csv", 4)]


def test_dropout_from_attendance_windows():
    base = pd.DataFrame({"respondent_id": ["a", "b", "c"], "baseline_date": ["2024-01-01"] * 3})
    meetings = pd.DataFrame(
        {
            "respondent_id": ["a", "a", "a", "b", "c", "zz", "c"],
            "meeting_date": [
                "2024-01-10",
                "2024-02-01",
                "2024-02-20",
                "2024-01-05",
                "2024-02-15",
                "2024-01-01",
                "bad",
            ],
        }
    )
    out, problems = dropout_from_attendance(
        meetings, base, end_date="2024-04-30", window_days=30, unit="days"
    )
    got = out.set_index("respondent_id")
    # a: last meeting Feb 20, +30 days = Mar 21 = day 80; b: Jan 5 + 30 = Feb 4 = day 34;
    # c: Jan 1 -> Feb 15 is a 45-day gap, so the definition is met on Jan 31 = day 30
    assert got.loc["a", "time"] == 80 and got.loc["a", "disengaged"] == 1
    assert got.loc["b", "time"] == 34 and got.loc["c", "time"] == 30
    assert sorted(p.rule for p in problems) == ["invalid_date", "no_baseline"]
    out90, _ = dropout_from_attendance(
        meetings, base, end_date="2024-04-30", window_days=90, unit="days"
    )
    got90 = out90.set_index("respondent_id")
    # a: Feb 20 + 90 = May 20, after the end of observation (Apr 30 = day 120): censored
    assert got90.loc["a", "disengaged"] == 0 and got90.loc["a", "time"] == 120


def test_status_from_attendance():
    meetings = pd.DataFrame(
        {
            "respondent_id": ["a", "a", "b"],
            "meeting_date": ["2024-03-01", "2024-05-31", "2024-04-01"],
        }
    )
    fu = pd.DataFrame({"respondent_id": ["a", "b", "c"], "followup_date": ["2024-06-01"] * 3})
    assert status_from_attendance(meetings, fu, window_days=30)["disengaged"].tolist() == [0, 1, 1]
    assert status_from_attendance(meetings, fu, window_days=90)["disengaged"].tolist() == [0, 0, 1]


# --------------------------------------------------------------------------------------------
# concordance, PH test, Brier
# --------------------------------------------------------------------------------------------
def test_auc_matches_sklearn():
    # reference: sklearn.metrics.roc_auc_score (ties in the score count one half)
    rng = np.random.default_rng(4)
    y = rng.integers(0, 2, 500)
    score = np.round(rng.normal(size=500) + y, 1)
    assert auc(y, score).estimate == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_concordance_large_n_matches_brute_force_subsample():
    rng = np.random.default_rng(5)
    t = rng.integers(1, 50, 1500).astype(float)
    e = rng.integers(0, 2, 1500)
    x = rng.normal(size=1500).round(1)
    res = concordance_index(t, e, x)
    i, j = np.meshgrid(np.arange(1500), np.arange(1500), indexing="ij")
    comparable = (e[i] == 1) & ((t[j] > t[i]) | ((t[j] == t[i]) & (e[j] == 0)))
    assert res.concordant == (comparable & (x[i] > x[j])).sum()
    assert res.discordant == (comparable & (x[i] < x[j])).sum()
    assert res.tied_risk == (comparable & (x[i] == x[j])).sum()


def test_zph_flags_non_proportional_hazards_only():
    rng = np.random.default_rng(7)
    n = 1500
    x = rng.integers(0, 2, n).astype(float)
    z = rng.normal(size=n)
    # PH in z; for x the hazard ratio flips over time (crossing hazards): 4x early, 1/4 late
    t_early = rng.exponential(1 / np.where(x == 1, 4.0, 1.0) * np.exp(-0.3 * z))
    late = rng.exponential(1 / np.where(x == 1, 0.25, 1.0) * np.exp(-0.3 * z))
    t = np.where(t_early < 0.3, t_early, 0.3 + late)
    e = np.ones(n)
    X = pd.DataFrame({"x": x, "z": z})
    model = CoxModel().fit(X, t, e)
    test = model.zph(X, t, e)
    assert test.table.loc["x", "p"] < 1e-4
    assert test.table.loc["GLOBAL", "p"] < 1e-4
    assert test.table.loc["GLOBAL", "df"] == 2
    ph = rng.exponential(np.exp(-0.7 * x - 0.3 * z))
    ok = cox_zph(ph, e, X, CoxModel().fit(X, ph, e).coef_.to_numpy())
    assert ok.table.loc["GLOBAL", "p"] > 0.01
    assert ok.scaled_residuals.shape == (n, 2)


def test_brier_survival_without_censoring_is_plain_brier():
    rng = np.random.default_rng(8)
    t = rng.exponential(size=300)
    risk = rng.random(300)
    expected = np.mean(((t <= 0.7).astype(float) - risk) ** 2)
    assert brier_survival(t, np.ones(300), risk, 0.7) == pytest.approx(expected)


# --------------------------------------------------------------------------------------------
# validation and sample size
# --------------------------------------------------------------------------------------------
def test_bootstrap_is_seeded_and_finds_optimism():
    base, fu = synthetic_cohort(n=150, seed=1, noise=8)
    X = base.drop(columns=["respondent_id", "gender"])
    a = validate_cox(X, fu["months"], fu["disengaged"], horizon=6, n_boot=30, seed=11)
    b = validate_cox(X, fu["months"], fu["disengaged"], horizon=6, n_boot=30, seed=11)
    pd.testing.assert_frame_equal(a.table, b.table)
    # ten predictors, 8 of them noise, on 150 respondents: the apparent C is optimistic
    assert a.table.loc["c_index", "optimism"] > 0
    assert a.table.loc["calibration_slope", "corrected"] < 1
    assert a.table["n_resamples"].iloc[0] == 30
    c = a.table.loc["c_index"]
    assert c["ci_low"] < c["corrected"] < c["ci_high"]
    y = (fu["disengaged"] == 1) & (fu["months"] <= 6)
    lg = validate_logistic(X, y.astype(int), n_boot=30, seed=11)
    assert lg.table.loc["auc", "optimism"] > 0
    # an identity (a model recalibrated on its own linear predictor): 6e-14 measured
    assert lg.table.loc["calibration_slope", "apparent"] == pytest.approx(1, abs=1e-10)
    assert lg.roc["true_positive_rate"].iloc[-1] == 1


def test_riley_published_examples():
    # Riley et al. 2019 (Stat Med 38:1276), Part II worked examples, also pmsampsize's examples:
    # binary: R2_CS 0.288, 24 parameters, prevalence 0.174 -> n = 662, 115 events, EPP 4.8
    b = riley_sample_size(
        outcome="binary", n_parameters=24, prevalence=0.174, r2_cs=0.288, mape=None
    )
    assert b.n_required == 662 and round(b.events_required) == 115
    # time-to-event: R2_CS 0.051, 30 parameters, rate 0.065, mean follow-up 2.07, horizon 2
    # -> n = 5143, 692 events, EPP 23.07 (gap 3.7e-3: half a unit of the 2 printed decimals)
    s = riley_sample_size(
        outcome="survival",
        n_parameters=30,
        event_rate=0.065,
        mean_followup=2.07,
        horizon=2,
        r2_cs=0.051,
    )
    assert s.n_required == 5143 and round(s.events_required) == 692
    assert s.epp_required == pytest.approx(23.07, abs=0.005)
    with pytest.raises(ValueError, match="prevalence"):
        riley_sample_size(outcome="binary", n_parameters=3)


def test_fit_attrition_warns_when_data_too_few():
    base, fu = synthetic_cohort(n=80, seed=2, noise=4)
    joined = join_followup(base, fu, time="months", event="disengaged")
    with pytest.warns(DataQualityWarning) as caught:
        res = fit_attrition(
            joined,
            scales=["cohesion", "model_fit", "noise1", "noise2", "noise3", "noise4"],
            horizon=6,
            n_boot=20,
        )
    assert not res.enough_data
    assert all(issubclass(w.category, DataQualityWarning) for w in caught)
    assert any("Riley" in str(w.message) for w in caught)
    assert res.events_per_parameter == pytest.approx(res.model.n_events_ / 6)


# --------------------------------------------------------------------------------------------
# design and model files
# --------------------------------------------------------------------------------------------
def test_design_dummy_codes_and_reuses_levels():
    frame = pd.DataFrame({"s": [1.0, 2, 3], "g": [2, 1, 3]})
    design = Design.learn(frame, ["s"], ["g"], categorical=["g"])
    assert design.columns == ["s", "g[2]", "g[3]"]
    new = design.transform(pd.DataFrame({"s": [1.0, 1.0], "g": [3, 9]}))
    assert new.iloc[0].tolist() == [1.0, 0.0, 1.0]
    assert np.isnan(new.iloc[1]["g[2]"])  # an unknown category is missing, not the reference


def test_model_roundtrip_predicts_the_same(tmp_path):
    base, fu = synthetic_cohort(n=300, seed=3)
    joined = join_followup(base, fu, time="months", event="disengaged")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = fit_attrition(
            joined, scales=["cohesion", "model_fit"], covariates=["gender"], horizon=12, n_boot=10
        )
    path = save_model(res, tmp_path / "model.json")
    text = path.read_text()
    assert "pickle" not in text
    saved = load_model(path)
    direct = res.model.predict_risk(res.design.transform(base), 12)
    np.testing.assert_allclose(saved.predict_risk(base, 12), direct, rtol=1e-12)
    with pytest.raises(ValueError, match="beyond the longest follow-up"):
        saved.predict_risk(base, 1000)
    data = json.loads(text)
    assert data["means"]["cohesion"] == pytest.approx(res.model.means_["cohesion"])
    assert len(data["baseline"]["survival"]) == len(res.model.baseline_)


def test_model_refuses_other_instrument(tmp_path):
    from instrument.spec import load_instrument

    base, fu = synthetic_cohort(n=200, seed=4)
    joined = join_followup(base, fu, time="months", event="disengaged")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = fit_attrition(joined, scales=["cohesion", "model_fit"], horizon=6, n_boot=5)
    mhdq = load_instrument(None)
    save_model(res, tmp_path / "m.json", instrument=mhdq)
    saved = load_model(tmp_path / "m.json")
    saved.check_instrument(mhdq)
    bfi = load_instrument("examples/bfi.yaml")
    with pytest.raises(UsageError, match="fitted on .* version"):
        saved.check_instrument(bfi)


def test_load_model_rejects_other_files(tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"format": "something"}')
    with pytest.raises(DataError, match="not an MHDQ attrition model"):
        load_model(bad)
    bad.write_text("{not json")
    with pytest.raises(DataError, match="not a JSON model file"):
        load_model(bad)
    bad.write_text('{"format": "mhdq-attrition-model", "format_version": 1, "model_type": "cox"}')
    with pytest.raises(DataError, match="incomplete model file"):
        load_model(bad)


def test_inestimable_predictors_are_named():
    X = pd.DataFrame({"a": [1.0, 2, 3, 4, 5, 6], "b": [1.0] * 6})
    t, e = np.arange(1.0, 7), np.ones(6)
    with pytest.raises(ValueError, match="predictor\\(s\\) b take a single value"):
        CoxModel().fit(X, t, e)
    X["b"] = 2 * X["a"] + 1
    with pytest.raises(ValueError, match="collinear"):
        CoxModel().fit(X, t, e)
    from analysis.attrition.logistic import LogisticModel

    with pytest.raises(ValueError, match="collinear"):
        LogisticModel().fit(X, [0, 1, 0, 1, 1, 0])


def test_separation_gives_a_warning_not_a_crash():
    X = pd.DataFrame({"a": np.linspace(-1, 1, 40)})
    y = (X["a"] > 0).astype(int)
    from analysis.attrition.logistic import LogisticModel
    from instrument.errors import ConvergenceWarning

    with pytest.warns(ConvergenceWarning, match="separation"):
        LogisticModel().fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        warnings.simplefilter("error", RuntimeWarning)  # no overflow noise reaches the user
        res = validate_logistic(X, y, n_boot=5, seed=1)
    assert res.n_failed + int(res.table["n_resamples"].iloc[0]) == 5


def test_logistic_on_time_data_models_status_by_the_horizon():
    base, fu = synthetic_cohort(n=300, seed=9)  # SYNTHETIC, censoring uniform on 3-18 months
    joined = join_followup(base, fu, time="months", event="disengaged")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataQualityWarning)
        res = fit_attrition(
            joined, scales=["cohesion", "model_fit"], model="logistic", horizon=6, n_boot=5
        )
    flow = res.flow.set_index("step")["n"]
    early_censored = int(((fu["months"] < 6) & (fu["disengaged"] == 0)).sum())
    assert early_censored > 0
    assert flow["censored_before_horizon"] == early_censored
    assert flow["modelled"] == 300 - early_censored
    assert res.model.n_events_ == int(((fu["months"] <= 6) & (fu["disengaged"] == 1)).sum())


@pytest.mark.parametrize("ties", ["breslow", "efron"])
def test_baseline_hazard_reduces_to_nelson_aalen(ties):
    # With the coefficient held at 0 (a huge ridge penalty) the Cox baseline hazard is the
    # Nelson-Aalen estimator sum d/n (Breslow) or the Fleming-Harrington one sum_l 1/(n - l)
    # (Efron).
    from analysis.attrition.cox import cox_newton

    t = np.array([1, 2, 2, 2, 3, 4, 4, 5, 6, 6], dtype=float)
    e = np.array([1, 1, 1, 0, 1, 1, 0, 0, 1, 1], dtype=float)
    x = np.arange(10, dtype=float)[:, None]
    fit = cox_newton(t, e, x, ties=ties, penalty=1e12)
    assert abs(fit.coef[0]) < 1e-9
    times = [1, 2, 3, 4, 6]
    at_risk = [10, 9, 6, 5, 2]
    deaths = [1, 2, 1, 1, 2]
    if ties == "breslow":
        expected = [d / n for d, n in zip(deaths, at_risk, strict=True)]
    else:
        expected = [
            sum(1 / (n - j) for j in range(d)) for d, n in zip(deaths, at_risk, strict=True)
        ]
    np.testing.assert_allclose(fit.event_times, times)
    np.testing.assert_allclose(fit.hazard_increments, expected, rtol=1e-9)


# --------------------------------------------------------------------------------------------
# properties on random data
# --------------------------------------------------------------------------------------------
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(1, 6), st.integers(0, 1), st.integers(0, 4)), min_size=1, max_size=40
    )
)
def test_concordance_counts_equal_brute_force(rows):
    t = np.array([r[0] for r in rows], dtype=float)
    e = np.array([r[1] for r in rows])
    x = np.array([r[2] for r in rows], dtype=float)
    res = concordance_index(t, e, x)
    con = dis = tie = tied_time = 0
    for i in np.flatnonzero(e):
        at_risk = (t > t[i]) | ((t == t[i]) & (e == 0))
        con += int((x[i] > x[at_risk]).sum())
        dis += int((x[i] < x[at_risk]).sum())
        tie += int((x[i] == x[at_risk]).sum())
        tied_time += int(((t == t[i]) & (e == 1)).sum()) - 1
    assert (res.concordant, res.discordant, res.tied_risk) == (con, dis, tie)
    assert res.tied_time == tied_time / 2


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10_000), st.sampled_from(["efron", "breslow"]))
def test_fast_engine_agrees_with_statsmodels_phreg(seed, ties):
    # statsmodels PHReg is an independent implementation of the same partial likelihoods. Gaps
    # measured over seeds 0, 25, ..., 10000 with both ties: coef 4.7e-13, SE 2.0e-14
    from statsmodels.duration.hazard_regression import PHReg

    from analysis.attrition.cox import cox_newton

    rng = np.random.default_rng(seed)
    n = 150
    X = rng.normal(size=(n, 3))
    t = np.ceil(rng.exponential(np.exp(-X @ np.array([0.5, -0.3, 0.0]))) * 4)  # many ties
    e = (rng.random(n) < 0.7).astype(float)
    if e.sum() < 5:
        e[:5] = 1
    ours = cox_newton(t, e, X, ties=ties)
    ref = PHReg(t, X, status=e, ties=ties).fit()
    np.testing.assert_allclose(ours.coef, ref.params, atol=1e-10)
    np.testing.assert_allclose(
        np.sqrt(np.diag(np.linalg.inv(ours.information))), ref.bse, atol=1e-10
    )


@pytest.mark.slow  # starts worker processes: about 5 s alone, 25 s on a loaded machine
def test_parallel_bootstrap_gives_the_sequential_results():
    # the resamples are drawn in the parent from the seed; chunks keep their order, so the
    # number of worker processes changes nothing (SYNTHETIC data)
    base, fu = synthetic_cohort(n=200, seed=5)
    X = base[["cohesion", "model_fit"]]
    one = validate_cox(X, fu["months"], fu["disengaged"], horizon=6, n_boot=6, seed=3, n_jobs=1)
    two = validate_cox(X, fu["months"], fu["disengaged"], horizon=6, n_boot=6, seed=3, n_jobs=2)
    pd.testing.assert_frame_equal(one.table, two.table, check_exact=False, rtol=1e-12)
    y = fu["disengaged"].to_numpy()
    lg1 = validate_logistic(X, y, n_boot=6, seed=3, n_jobs=1)
    lg2 = validate_logistic(X, y, n_boot=6, seed=3, n_jobs=2)
    pd.testing.assert_frame_equal(lg1.table, lg2.table, check_exact=False, rtol=1e-12)
    with pytest.raises(ValueError, match="n_jobs"):
        validate_logistic(X, y, n_boot=2, seed=3, n_jobs=0)
