"""Shared pieces of the recovery tests for simulate_study (not a test module)."""

import warnings

import numpy as np
import pandas as pd

from analysis.attrition import CoxModel
from analysis.attrition.competing import FineGrayModel, cumulative_incidence
from analysis.attrition.timevarying import person_period
from analysis.longitudinal import test_retest
from analysis.simulate.waves import simulate_study

NO_GROUP_EFFECTS = {
    "group_sd": 0.0,
    "kind_effects": {k: 0.0 for k in ("twelve_step", "smart", "liferring", "wfs", "other")},
}
DROPPED_OUT = 3


def baseline_scores(study) -> pd.Series:
    first = study.hazard_scores.query("wave_month == 0").set_index("respondent_id")["score"]
    return study.outcomes["respondent_id"].map(first)


def tv_cox(study, cause=DROPPED_OUT, cluster=True):
    """Cause-specific time-varying Cox of ``cause`` on the latest observed score."""
    o = study.outcomes.assign(event=(study.outcomes["outcome_code"] == cause).astype(int))
    pp = person_period(
        study.hazard_scores,
        o,
        id_column="respondent_id",
        wave_time="wave_month",
        time="months",
        event="event",
        covariates=["score"],
    )
    groups = pp["respondent_id"].map(o.set_index("respondent_id")["group_id"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return CoxModel().fit(
            pp[["score"]],
            pp["stop"],
            pp["event"],
            start=pp["start"],
            cluster=groups.to_numpy() if cluster else None,
        )


def fine_gray(study, cause=DROPPED_OUT):
    o = study.outcomes
    X = pd.DataFrame({"score": baseline_scores(study).to_numpy()})
    keep = X["score"].notna().to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return FineGrayModel(cause=cause).fit(
            X[keep], o["months"].to_numpy()[keep], o["outcome_code"].to_numpy()[keep]
        )


def cif_at(study, t):
    o = study.outcomes
    cif = cumulative_incidence(o["months"].to_numpy(), o["outcome_code"].to_numpy())
    return cif.at([t]).set_index("cause")


def icc(study, instrument, scale="total"):
    scores = study.wave_scores(instrument, [scale])
    scores = scores[scores["wave"].isin(["0", "6"])]
    result = test_retest(scores, scales=[scale], waves=("0", "6")).results[0]
    return result.icc


def population_icc(study, instrument, scale="total"):
    """ICC(3,1) and ICC(2,1) targets of two waves from a large sample: 2 cov / (v1 + v2) and
    2 cov / (v1 + v2 + (m1 - m2)^2), the probability limits of the two-way ANOVA estimators."""
    scores = study.wave_scores(instrument, [scale])
    wide = scores.pivot(index="respondent_id", columns="wave", values=scale)[["0", "6"]].dropna()
    a, b = wide["0"].to_numpy(), wide["6"].to_numpy()
    cov = np.cov(a, b)
    icc3 = 2 * cov[0, 1] / (cov[0, 0] + cov[1, 1])
    icc2 = 2 * cov[0, 1] / (cov[0, 0] + cov[1, 1] + (a.mean() - b.mean()) ** 2)
    return icc3, icc2


def simulate(instrument, *, n, seed, **settings):
    return simulate_study(instrument, n=n, seed=seed, **settings)
