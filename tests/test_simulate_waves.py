"""simulate_study: waves, drift, groups, competing outcomes, skipped waves; the longitudinal
estimators recover its truth (issue 14 §4)."""

import numpy as np
import pytest
from scipy import stats

from analysis.simulate.waves import OUTCOME_TYPES, simulate_study
from instrument import load_instrument
from instrument.waves import read_waves
from tests.waves_recovery import (
    DROPPED_OUT,
    NO_GROUP_EFFECTS,
    cif_at,
    fine_gray,
    icc,
    population_icc,
    simulate,
    tv_cox,
)


@pytest.fixture(scope="module")
def v2():
    return load_instrument("mhdq-0.2.0")


@pytest.fixture(scope="module")
def study(v2):
    return simulate_study(v2, n=1500, seed=4)


def test_waves_outcomes_and_labels(study, v2):
    r, o = study.responses, study.outcomes
    assert set(r["wave"]) == {"0", "6", "12"}
    assert (r["synthetic"] == "synthetic").all() and (o["synthetic"] == "synthetic").all()
    assert study.settings["synthetic"] is True and study.synthetic
    assert r.groupby("wave").size()["0"] == 1500  # everyone answers at baseline
    assert not r.duplicated(["respondent_id", "wave"]).any()
    # every outcome type occurs; still attending is censored at the last wave
    assert set(o["outcome"]) == set(OUTCOME_TYPES)
    assert (o.loc[o["outcome_code"] == 0, "months"] == 12).all()
    assert (o.loc[o["outcome_code"] > 0, "months"] < 12).all()
    # skipped waves: members still attending at 12 months skip it at about wave_skip_rate (.1)
    stayed = set(o.loc[o["outcome_code"] == 0, "respondent_id"])
    answered_12 = set(r.loc[r["wave"] == "12", "respondent_id"])
    share_skipped = 1 - len(stayed & answered_12) / len(stayed)
    assert 0.06 < share_skipped < 0.14  # binomial SE ~ .01 at ~900 members
    # the participation question records the outcome type of those who left and answered later
    later = r[(r["wave"] == "12")].set_index("respondent_id")["participation"]
    codes = o.set_index("respondent_id").loc[later.index, "outcome_code"]
    assert (later.to_numpy() == codes.to_numpy() + 1).all()
    # skips by design at every wave (bank 0.2.0): sponsor items blank for those without one
    no_sponsor = r["sponsor_ever"] == 0
    assert r.loc[no_sponsor, ["ne_so1", "ne_so2"]].isna().all().all()
    # wave form: baseline 1, follow-up 2
    assert r.groupby("wave")["wave_form"].unique().map(lambda v: list(v)).to_dict() == {
        "0": [1.0],
        "6": [2.0],
        "12": [2.0],
    }


def test_scores_drift_and_fellowships_differ(study, v2):
    scores = study.wave_scores(v2, ["total"])
    means = scores.groupby("wave")["total"].mean()
    assert means["0"] > means["6"] > means["12"]  # drift -0.1 SD per wave
    # SMART's latent shift is -0.4 SD: its members score lower than twelve-step members
    by_kind = scores[scores["wave"] == "0"].groupby("group_kind")["total"].mean()
    assert by_kind["smart"] < by_kind["twelve_step"]


def test_read_back_with_read_waves(study, v2, tmp_path):
    path = tmp_path / "synthetic-waves.csv"
    study.responses.to_csv(path, index=False)
    table = read_waves(path, v2, wave="wave", date="date", waves=["0", "6", "12"])
    assert len(table.person_period) == len(study.responses)
    assert [p.rule for p in table.problems if p.severity == "error"] == []


def test_one_large_study_recovers_the_hazard_ratio_and_icc(v2):
    big = simulate(v2, n=4000, seed=12, **NO_GROUP_EFFECTS)
    fit = tv_cox(big)
    beta = big.log_hazard_ratios["dropped_out"]
    # within 3 robust SEs of the true log hazard ratio (0.9 per point of the total score)
    assert abs(fit.coef_["score"] - beta) < 3 * fit.se_["score"]
    est = icc(big, v2)
    assert 0.6 < est.at["ICC3", "estimate"] < 0.95


def test_bad_settings_are_named(v2):
    with pytest.raises(ValueError, match="wave_months"):
        simulate_study(v2, n=50, seed=1, wave_months=(6, 12))
    with pytest.raises(ValueError, match="log_hazard_ratios: unknown outcome types"):
        simulate_study(v2, n=50, seed=1, log_hazard_ratios={"died": 1.0})
    with pytest.raises(ValueError, match="stability"):
        simulate_study(v2, n=50, seed=1, stability=1.0)


def _coverage(hits) -> float:
    return float(np.mean(hits))


REPS = 200  # coverage SE at 95%: 1.5 points; the 91-99% band is about +-2.7 SE


@pytest.mark.slow
def test_coverage_time_varying_cox_with_cluster_robust_se(v2):
    """Cause-specific Cox on (start, stop] rows with the latest score, SEs clustered by group, with
    the default group effects (random intercepts and fellowship shifts of the scores)."""
    z = stats.norm.ppf(0.975)
    hits = {"dropped_out": [], "graduated": []}
    codes = {"dropped_out": DROPPED_OUT, "graduated": 1}
    for rep in range(REPS):
        study = simulate(v2, n=300, seed=1000 + rep)
        for name, code in codes.items():
            fit = tv_cox(study, cause=code)
            beta = study.log_hazard_ratios[name]
            hits[name].append(abs(fit.coef_["score"] - beta) <= z * fit.se_["score"])
    for name, h in hits.items():
        assert 0.91 <= _coverage(h) <= 0.99, (name, _coverage(h))


@pytest.fixture(scope="module")
def population(v2):
    """Large-sample targets under the design without group effects (n = 40000)."""
    big = simulate(v2, n=40000, seed=99, **NO_GROUP_EFFECTS)
    o = big.outcomes
    cif = {code: float((o["outcome_code"] == code).mean()) for code in (1, 2, 3, 4)}
    icc3, icc2 = population_icc(big, v2)
    return {"cif": cif, "fg": float(fine_gray(big).coef_["score"]), "icc3": icc3, "icc2": icc2}


@pytest.mark.slow
def test_coverage_cumulative_incidence_fine_gray_and_icc(v2, population):
    """Aalen-Johansen CIs at 12 months (every outcome type), Fine-Gray robust CIs for dropping out
    on the baseline score (target: the large-sample limit of the estimator), ICC(3,1) and ICC(2,1)
    F intervals between baseline and 6 months."""
    z = stats.norm.ppf(0.975)
    hits: dict[str, list] = {f"cif{k}": [] for k in (1, 2, 3, 4)}
    hits.update(fg=[], icc3=[], icc2=[])
    for rep in range(REPS):
        study = simulate(v2, n=300, seed=5000 + rep, **NO_GROUP_EFFECTS)
        at = cif_at(study, 12.0)
        for k in (1, 2, 3, 4):
            est, se = at.at[k, "estimate"], np.sqrt(at.at[k, "variance"])
            hits[f"cif{k}"].append(abs(est - population["cif"][k]) <= z * se)
        fg = fine_gray(study)
        hits["fg"].append(abs(fg.coef_["score"] - population["fg"]) <= z * fg.se_["score"])
        table = icc(study, v2)
        for key, row in (("icc3", "ICC3"), ("icc2", "ICC2")):
            hits[key].append(table.at[row, "ci_low"] <= population[key] <= table.at[row, "ci_high"])
    for name, h in hits.items():
        assert 0.91 <= _coverage(h) <= 0.99, (name, _coverage(h))


def test_cli_waves_writes_labelled_long_files(tmp_path, capsys):
    import pandas as pd

    from analysis.cli import main

    out = tmp_path / "study.csv"
    main(
        [
            "simulate",
            "--instrument",
            "mhdq-0.2.0",
            "--n",
            "60",
            "--seed",
            "3",
            "--out",
            str(out),
            "--waves",
            "--groups",
            "6",
        ]
    )
    assert "SYNTHETIC" in capsys.readouterr().out
    responses = pd.read_csv(out, dtype={"wave": str})
    outcomes = pd.read_csv(tmp_path / "study-outcomes.csv")
    assert set(responses["wave"]) <= {"0", "6", "12"} and responses["group_id"].nunique() <= 6
    assert (responses["synthetic"] == "synthetic").all()
    assert set(outcomes["outcome"]) <= set(OUTCOME_TYPES) and len(outcomes) == 60
