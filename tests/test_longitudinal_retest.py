"""Test–retest ICCs, SEM and SDC against psych::ICC on psychTools::msqR (study XRAY, times 1-2).

Reference: tests/data/make_icc_reference.R -> icc_reference.json, msqR_xray_waves.csv.
"""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pingouin as pg
import pytest

from analysis.longitudinal import icc_intervals, test_retest

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "icc_reference.json").read_text())
KEYS = {
    "EA": [
        "active",
        "energetic",
        "vigorous",
        "wakeful",
        "wide_awake",
        "full_of_pep",
        "lively",
        "-sleepy",
        "-tired",
        "-drowsy",
    ],
    "TA": [
        "intense",
        "jittery",
        "fearful",
        "tense",
        "clutched_up",
        "-quiet",
        "-still",
        "-placid",
        "-calm",
        "-at_rest",
    ],
}
R_ORDER = ["ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k"]


@pytest.fixture(scope="module")
def scores():
    d = pd.read_csv(DATA / "msqR_xray_waves.csv")
    for scale, keys in KEYS.items():
        cols = [3 - d[k[1:]] if k.startswith("-") else d[k] for k in keys]
        d[scale] = sum(cols) / len(keys)
    return d


@pytest.fixture(scope="module")
def result(scores):
    return test_retest(scores, scales=["EA", "TA"], id="id", wave="time")


@pytest.mark.parametrize("scale", ["EA", "TA"])
def test_icc_matches_psych(result, scale):
    ref = REF[scale]
    got = result[scale]
    assert got.n_obs == ref["n_obs"]
    for key in ["ICC2", "ICC3", "ICC2k", "ICC3k"]:
        i = R_ORDER.index(key)
        row = got.icc.loc[key]
        # psych::ICC(cbind(time1, time2), lmer = FALSE, alpha = 0.05)$results
        # observed gaps: ICC 1e-15, F 3e-15, p 2e-13, CI bounds 1e-15
        assert row["estimate"] == pytest.approx(ref["icc"][i], abs=1e-14)
        assert row["f"] == pytest.approx(ref["f"][i], rel=1e-14)
        assert row["df1"] == ref["df1"][i] and row["df2"] == ref["df2"][i]
        assert row["p_value"] == pytest.approx(ref["p"][i], rel=1e-12)
        assert row["ci_low"] == pytest.approx(ref["ci_low"][i], abs=1e-14)
        assert row["ci_high"] == pytest.approx(ref["ci_high"][i], abs=1e-14)


@pytest.mark.parametrize("scale", ["EA", "TA"])
def test_sem_and_sdc_match_r_formula(result, scale):
    ref = REF[scale]
    got = result[scale]
    # psych::ICC(...)$stats["MS", ]; SEM/SDC by de Vet et al. (2006) in make_icc_reference.R
    # observed: MS waves rel 4e-14 (a small difference of sums), the rest ~1e-15
    assert got.ms_subjects == pytest.approx(ref["ms_subjects"][0], rel=1e-14)
    assert got.ms_waves == pytest.approx(ref["ms_waves"][0], rel=1e-12)
    assert got.ms_error == pytest.approx(ref["ms_error"][0], rel=1e-14)
    assert got.sem_agreement == pytest.approx(ref["sem_agreement"][0], rel=1e-14)
    assert got.sem_consistency == pytest.approx(ref["sem_consistency"][0], rel=1e-14)
    # R uses 1.96; we use qnorm(.975) = 1.959964 -> relative gap 1.8e-5
    assert got.sdc_agreement == pytest.approx(ref["sdc_agreement"][0], rel=2e-5)
    assert got.sdc_consistency == pytest.approx(ref["sdc_consistency"][0], rel=2e-5)
    assert got.sd_first == pytest.approx(ref["sd_time1"][0], rel=1e-13)
    assert got.mean_first == pytest.approx(ref["mean_time1"][0], rel=1e-13)


def test_intervals_agree_with_pingouin_rounded_ci(scores):
    # pingouin fixes 95% and rounds CI95 to 2 decimals; ours must round to the same numbers.
    wide = scores.pivot(index="id", columns="time", values="EA").dropna()
    long = wide.reset_index().melt(id_vars="id", var_name="time", value_name="EA")
    theirs = pg.intraclass_corr(long, targets="id", raters="time", ratings="EA").set_index("Type")
    ours = test_retest(scores, scales="EA", id="id", wave="time")["EA"].icc
    for key, name in [("ICC2", "ICC(A,1)"), ("ICC3", "ICC(C,1)"), ("ICC3k", "ICC(C,k)")]:
        low, high = theirs.at[name, "CI95"]
        assert abs(ours.at[key, "ci_low"] - low) <= 0.005 + 1e-12
        assert abs(ours.at[key, "ci_high"] - high) <= 0.005 + 1e-12


def test_other_level_narrows_interval(result, scores):
    narrow = test_retest(scores, scales="EA", id="id", wave="time", ci_level=0.80)["EA"].icc
    wide = result["EA"].icc
    assert (narrow["ci_low"] > wide["ci_low"]).all() and (narrow["ci_high"] < wide["ci_high"]).all()
    # the level changes the interval only
    np.testing.assert_array_equal(narrow["estimate"], wide["estimate"])


def test_interval_days_and_n_reported(scores):
    d = scores.copy()
    d["when"] = pd.Timestamp("2024-01-01") + pd.to_timedelta(
        np.where(d["time"] == 2, 14 + (d["id"] % 3), 0), unit="D"
    )
    r = test_retest(d, scales="EA", id="id", wave="time", date="when")["EA"]
    assert (r.interval_days_min, r.interval_days_max) == (14.0, 16.0)
    table = r.summary()
    assert set(table["n_obs"]) == {175} and set(table["wave_first"]) == {"1"}


def test_bad_input_is_named(scores):
    with pytest.raises(ValueError, match="'nope'"):
        test_retest(scores, scales="nope", id="id", wave="time")
    with pytest.raises(ValueError, match="ci_level"):
        test_retest(scores, scales="EA", id="id", wave="time", ci_level=95)
    with pytest.raises(ValueError, match="waves: .*3"):
        test_retest(scores, scales="EA", id="id", wave="time", waves=(1, 3))
    doubled = pd.concat([scores, scores.iloc[:1]])
    with pytest.raises(ValueError, match="share a respondent id"):
        test_retest(doubled, scales="EA", id="id", wave="time")


def test_icc_intervals_two_waves_symmetry():
    # ICC(3,1) bounds are a monotone function of F: equal MS give ICC 0 inside its interval
    ci = icc_intervals(1.0, 1.0, 1.0, n=50, k=2)
    assert ci["ICC3"][0] < 0 < ci["ICC3"][1]
