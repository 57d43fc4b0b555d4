"""Recovery of the simulated truth (issue 14 §4): 95% intervals of the GEE model of a repeated
binary outcome and of the fellowship comparison (Games–Howell differences, Hedges' g) cover the
generating values in 91–99% of repetitions. All data here are SYNTHETIC, drawn in the tests.

The repeated binary outcome (e.g. attending at each wave) is drawn with a Gaussian copula:
y_ij = 1{Φ(z_ij) < expit(x_ij β)} with z_i normal with exchangeable or AR(1) correlation, so the
*marginal* model logit P(y_ij = 1 | x_ij) = x_ij β holds exactly (the model GEE estimates) and the
answers of one member are correlated.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit

from analysis.attrition.gee import GEEModel
from analysis.longitudinal.groups import compare_groups

REPS = 200  # coverage SE at 95%: 1.5 points; the 91-99% band is about +-2.7 SE
BETA = {"intercept": -0.3, "score": 0.6, "wave": -0.25}


def _repeated_binary(rng, *, n, waves, correlation, rho):
    if correlation == "exchangeable":
        corr = np.full((waves, waves), rho) + (1 - rho) * np.eye(waves)
    else:
        lag = np.abs(np.subtract.outer(np.arange(waves), np.arange(waves)))
        corr = rho**lag
    z = rng.multivariate_normal(np.zeros(waves), corr, size=n)
    score = rng.normal(0, 1, n)
    wave = np.tile(np.arange(waves), n)
    x_score = np.repeat(score, waves) + rng.normal(0, 0.5, n * waves)  # score drifts per wave
    eta = BETA["intercept"] + BETA["score"] * x_score + BETA["wave"] * wave
    y = (stats.norm.cdf(z.ravel()) < expit(eta)).astype(float)
    return pd.DataFrame(
        {"member": np.repeat(np.arange(n), waves), "wave": wave, "score": x_score, "y": y}
    )


@pytest.mark.slow
@pytest.mark.parametrize("correlation", ["exchangeable", "ar1"])
def test_gee_intervals_cover_the_marginal_coefficients(correlation):
    rng = np.random.default_rng(20240 + len(correlation))
    hits = {term: [] for term in BETA}
    alphas = []
    for _ in range(REPS):
        data = _repeated_binary(rng, n=300, waves=4, correlation=correlation, rho=0.5)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = GEEModel(correlation=correlation).fit(
                data[["score", "wave"]], data["y"], groups=data["member"], time=data["wave"]
            )
        table = model.summary().set_index("term")
        for term, true in BETA.items():
            low, high = np.log(table.loc[term, ["ci_low", "ci_high"]].astype(float))
            hits[term].append(low <= true <= high)
        alphas.append(model.alpha_)
    for term, h in hits.items():
        assert 0.91 <= np.mean(h) <= 0.99, (correlation, term, np.mean(h))
    # the working correlation of the binary answers is positive (the latent one is 0.5)
    assert np.mean(alphas) > 0.1


@pytest.mark.slow
def test_games_howell_and_hedges_intervals_cover_the_true_differences():
    # three fellowships: means 3.0, 3.4, 3.5, SDs 0.6, 0.9, 0.6 (unequal: Games-Howell's case),
    # unequal sizes; Games-Howell intervals are simultaneous, so all three pairs are covered
    # together in ~95% of repetitions. Hedges' g against the true standardised difference of
    # the equal-SD pair (a, c), whose pooled SD is 0.6.
    rng = np.random.default_rng(77)
    means = {"a": 3.0, "b": 3.4, "c": 3.5}
    sds = {"a": 0.6, "b": 0.9, "c": 0.6}
    sizes = {"a": 40, "b": 60, "c": 50}
    all_pairs, g_hits = [], []
    for _ in range(REPS):
        frame = pd.concat(
            [
                pd.DataFrame({"fellowship": k, "score": rng.normal(means[k], sds[k], sizes[k])})
                for k in means
            ],
            ignore_index=True,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pairs = compare_groups(frame, scales="score", group="fellowship").pairs
        covered = []
        for _, row in pairs.iterrows():
            a, b = str(row["group_a"]), str(row["group_b"])
            diff = means[a] - means[b]  # the table's diff is mean_a - mean_b
            covered.append(row["diff_ci_low"] <= diff <= row["diff_ci_high"])
            if {a, b} == {"a", "c"}:
                delta = (means[a] - means[b]) / 0.6
                g_hits.append(row["g_ci_low"] <= delta <= row["g_ci_high"])
        all_pairs.append(all(covered))
    assert 0.91 <= np.mean(all_pairs) <= 0.99, np.mean(all_pairs)
    assert 0.91 <= np.mean(g_hits) <= 0.99, np.mean(g_hits)
