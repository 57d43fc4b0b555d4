"""Recovery tests: the analyses find the structure the simulator put in (issue 6 §2).

Every cohort here is synthetic (:func:`analysis.simulate.cohort.simulate_cohort`). The expected
values are not our own estimates: they are the *generating* parameters (number of factors, loadings,
hazard
ratios) or population values derived from them in closed form (alpha, omega). No reference software
is involved, so the tolerances are statistical: a congruence bound, interval coverage.

Settings (stated once, used by every test unless it says otherwise)
-----------------------------------------------------------------
- N = 2,000 respondents, seed 1, ``careless_share = 0`` (careless respondents are a contamination
  the factor model does not describe), the simulator's other defaults: loadings uniform on (.55,
  .80),
  ``missing_rate = .03`` (MCAR), not-applicable sponsor items by design (MCAR with respect to the
  latent traits), 5-point MHDQ and 6-point bfi response scales.
- MHDQ (embedded, ``gamma = 0.8``, ``root_correlation = 0.3``): the generating model has **7
  first-order factors** — the 6 facets and the separate *meaning* scale. Facets of one theme
  correlate γ² = .64,
  facets of different themes γ⁴ = .41, *meaning* with each facet −.3·γ² = −.19. With 6 items per
  facet and N = 2,000 the facets are identifiable: parallel analysis counts 7 factors, not the 3
  themes or 1 total (a 3-theme count would need γ close to 1, where facets of a theme merge).
- bfi (examples/bfi.yaml, flat, ``root_correlation = 0.2``): 5 factors, the clean case.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtr

from analysis._compat import single_threaded_blas
from analysis.attrition import CoxModel
from analysis.factor.efa import EFA, extract_factors, match_factors
from analysis.factor.polychoric import bivariate_normal_cdf
from analysis.factor.retention import parallel_analysis
from analysis.reliability import cronbach_alpha, key_items, omega
from analysis.simulate.cohort import simulate_cohort, theme_scales
from analysis.study import item_keys
from analysis.study.models import answers_only

N = 2000
SEED = 1


@pytest.fixture(scope="module")
def mhdq_cohort(mhdq_spec):
    return simulate_cohort(mhdq_spec, n=N, seed=SEED, careless_share=0.0)


@pytest.fixture(scope="module")
def bfi_cohort(bfi_spec):
    return simulate_cohort(bfi_spec, n=N, seed=SEED, careless_share=0.0, root_correlation=0.2)


def _true_pattern(cohort, instrument, items) -> np.ndarray:
    """Items × leaf scales matrix of the generating (signed) loadings, zero off the item's facet."""
    leaves = [s.id for s in instrument.leaf_scales]
    pattern = np.zeros((len(items), len(leaves)))
    for row, item in enumerate(items):
        pattern[row, leaves.index(instrument.item(item).scale)] = cohort.loadings[item]
    return pattern


def tucker_congruence(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Tucker's φ per column: Σ a·b / √(Σa² Σb²) (Lorenzo-Seva & ten Berge, 2006; psych::factor.congruence)."""
    return (a * b).sum(axis=0) / np.sqrt((a**2).sum(axis=0) * (b**2).sum(axis=0))


# --------------------------------------------------------------------------------------------
# Number of factors and loadings
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("which, expected", [("mhdq", 7), ("bfi", 5)])
def test_parallel_analysis_recovers_the_generating_number_of_factors(which, expected, request):
    spec = request.getfixturevalue(f"{which}_spec")
    cohort = request.getfixturevalue(f"{which}_cohort")
    assert len(spec.leaf_scales) == expected  # the generating first-order factors
    items = answers_only(cohort.responses, spec)
    pa = parallel_analysis(items, seed=SEED)  # psych::fa.parallel(x, fa = "both") counts
    assert pa.n_factors == expected
    assert pa.n_components == expected


@pytest.mark.parametrize("which", ["mhdq", "bfi"])
def test_efa_loadings_match_the_generating_loadings(which, request):
    spec = request.getfixturevalue(f"{which}_spec")
    cohort = request.getfixturevalue(f"{which}_cohort")
    items = answers_only(cohort.responses, spec)
    truth = _true_pattern(cohort, spec, list(items.columns))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a Heywood or convergence note would not change the check
        efa = EFA(truth.shape[1], method="minres", rotation="oblimin").fit(items)
    estimated = efa.loadings_.to_numpy()
    order, signs = match_factors(estimated, truth)  # Hungarian matching of order, then reflection
    congruence = tucker_congruence(estimated[:, order] * signs, truth)
    # Tucker congruence >= .95 counts as "fairly similar" (Lorenzo-Seva & ten Berge, 2006): per
    # factor
    assert congruence.min() >= 0.95, dict(
        zip([s.id for s in spec.leaf_scales], congruence.round(3), strict=True)
    )
    # and every item's largest loading sits on its own facet
    assert (np.abs(estimated[:, order]).argmax(axis=1) == np.abs(truth).argmax(axis=1)).all()


# --------------------------------------------------------------------------------------------
# Alpha and omega against their population values
# --------------------------------------------------------------------------------------------
def population_covariance(cohort, instrument, items: list[str]) -> np.ndarray:
    """Covariance matrix of the keyed item codes implied by the generating model, exactly.

    A code is ``c_1 + Σ_k Δc_k · 1{y* > τ_k}`` with ``y* = λ η_f + √(1−λ²) ε`` standard normal, so

    - ``Cov(X_i, X_j) = Σ_k Σ_l Δc_ik Δc_jl [Φ₂(−τ_ik, −τ_jl; ρ_ij) − Φ̄(τ_ik) Φ̄(τ_jl)]`` with
      ``ρ_ij = λ_i λ_j φ_{f(i) f(j)}`` (true signed loadings and facet correlations);
    - ``Var(X_i) = Σ_k Σ_l Δc_k Δc_l [Φ̄(max(τ_k, τ_l)) − Φ̄(τ_k) Φ̄(τ_l)]``;
    - reversing an item (``min + max − x``) flips the sign of its covariances.

    Missing answers (MCAR here) do not change it; careless respondents would, so the cohorts of
    this module have none. This loop is an independent implementation of
    ``analysis.simulate.cohort.population_covariance`` (vectorised) and checks it. This closed form
    agrees with a 200,000-respondent draw of the same parameters to ±0.001.
    """
    lam = cohort.loadings[items].to_numpy()
    keyed = np.array([instrument.item(i).keyed for i in items], dtype=float)
    facets = [instrument.item(i).scale for i in items]
    rho = np.outer(lam, lam) * cohort.facet_correlations.loc[facets, facets].to_numpy()
    taus = [cohort.thresholds.loc[i].dropna().to_numpy() for i in items]
    steps = [
        np.diff(np.sort(np.asarray(instrument.response_scale_of(i).codes, dtype=float)))
        for i in items
    ]
    p = len(items)
    cov = np.empty((p, p))
    for a in range(p):
        for b in range(a, p):
            ta, tb = taus[a][:, None], taus[b][None, :]
            joint = (
                1 - ndtr(np.maximum(ta, tb))
                if a == b
                else bivariate_normal_cdf(-ta, -tb, rho[a, b])
            )
            value = np.sum(
                steps[a][:, None] * steps[b][None, :] * (joint - (1 - ndtr(ta)) * (1 - ndtr(tb)))
            )
            cov[a, b] = cov[b, a] = value
    return cov * np.outer(keyed, keyed)


def population_alpha(cov: np.ndarray) -> float:
    k = len(cov)
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


def one_factor_omega(r: np.ndarray) -> float:
    """ω_t of a one-factor minres solution, as :func:`analysis.reliability.omega` (n_factors=1)."""
    load, _, _ = extract_factors(r, 1, method="minres")
    return float((r.sum() - np.sum(1 - load[:, 0] ** 2)) / r.sum())


def population_omega(cov: np.ndarray) -> float:
    """The one-factor omega of the population correlation matrix: what ``omega(n_factors=1)``
    estimates on Pearson correlations of the codes. (The omega of the latent propensities,
    (Σλ)²/((Σλ)² + Σ(1−λ²)), is the target of ordinal omega instead.)"""
    sd = np.sqrt(np.diag(cov))
    return one_factor_omega(cov / np.outer(sd, sd))


def test_population_covariance_matches_a_large_draw(mhdq_spec):
    # The closed form against the empirical covariance of a large draw with the same
    # parameters (50,000 respondents; no missing or not-applicable answers, no careless
    # respondents: everyone had a sponsor, relapsed and attends a twelve-step group).
    cohort = simulate_cohort(
        mhdq_spec,
        n=50_000,
        seed=3,
        careless_share=0.0,
        missing_rate=0.0,
        sponsor_share=1.0,
        relapse_share=1.0,
        group_kind_shares={"twelve_step": 1.0},
    )
    ids = list(mhdq_spec.scale_items("strategy"))
    keyed = key_items(
        answers_only(cohort.responses, mhdq_spec)[ids], keys=item_keys(mhdq_spec)
    ).data
    empirical = keyed.cov().to_numpy()
    # sampling SD of a covariance at n = 50,000 is about .0055: tolerance .02 (3.6 SD)
    np.testing.assert_allclose(population_covariance(cohort, mhdq_spec, ids), empirical, atol=0.02)


def test_plan_population_covariance_is_this_closed_form(mhdq_spec):
    # analysis.simulate.plan.population_covariance (vectorised over pairs, used by mhdq plan)
    # against the
    # loop above, for every MHDQ item
    from analysis.simulate.plan import population_covariance as vectorised

    cohort = simulate_cohort(mhdq_spec, n=50, seed=4)
    ids = list(mhdq_spec.item_ids)
    np.testing.assert_allclose(
        vectorised(cohort, mhdq_spec, ids).to_numpy(),
        population_covariance(cohort, mhdq_spec, ids),
        rtol=1e-10,
        atol=1e-12,
    )


@pytest.mark.slow
def test_alpha_and_omega_intervals_cover_the_population_values(mhdq_spec):
    """Coverage over 30 cohorts of N = 2,000 (seeds 101..130), every scale of the MHDQ.

    One cohort is not enough: its 11 scales share respondents, so one unlucky draw of a theme's
    latent scores moves the estimates of the theme and both its facets together (seed 1 puts the
    *model* theme and its two facets about 2 SE low). Coverage is counted over cohorts instead.

    - alpha: the Feldt 95% interval of :func:`cronbach_alpha` (``psych::alpha``'s ``feldt``).
    - omega: the 95% percentile bootstrap interval of :func:`omega` (one factor, as
      ``psych::omega(x, nfactors = 1, n.iter = B)`` resamples), with B = 200 resamples per
      cohort and scale to keep this test's time modest (the end points then move by about 0.2
      standard errors between seeds, which costs little coverage). A bias shifts the intervals
      away from the population value and lowers the coverage; the mean error of the estimate is
      also checked directly.
    """
    scales = [s.id for s in mhdq_spec.scales]
    rows = []
    with single_threaded_blas():
        for seed in range(101, 131):
            cohort = simulate_cohort(mhdq_spec, n=N, seed=seed, careless_share=0.0)
            items = answers_only(cohort.responses, mhdq_spec)
            for scale in scales:
                ids = list(mhdq_spec.scale_items(scale))
                cov = population_covariance(cohort, mhdq_spec, ids)
                alpha = cronbach_alpha(items[ids], keys=item_keys(mhdq_spec))
                om = omega(
                    items[ids], n_factors=1, keys=item_keys(mhdq_spec), n_boot=200, seed=seed
                )
                rows.append(
                    {
                        "seed": seed,
                        "scale": scale,
                        "alpha_pop": population_alpha(cov),
                        "alpha_low": alpha.ci_low,
                        "alpha_high": alpha.ci_high,
                        "omega": om.estimate,
                        "omega_low": om.ci_low,
                        "omega_high": om.ci_high,
                        "omega_pop": population_omega(cov),
                    }
                )
    t = pd.DataFrame(rows)
    t["alpha_covered"] = (t["alpha_low"] <= t["alpha_pop"]) & (t["alpha_pop"] <= t["alpha_high"])
    t["omega_covered"] = (t["omega_low"] <= t["omega_pop"]) & (t["omega_pop"] <= t["omega_high"])
    t["omega_error"] = t["omega"] - t["omega_pop"]
    by_scale = t.groupby("scale")[["alpha_covered", "omega_covered"]].mean()
    errors = t.groupby("scale")["omega_error"].agg(["mean", "std"])
    # no scale's mean omega error beyond 3 standard errors of the mean (30 cohorts)
    assert (errors["mean"].abs() <= 3 * errors["std"] / np.sqrt(30)).all(), errors
    # the bootstrap interval's width matches the spread of the estimates around their population
    # values: mean width / (2 · 1.96 · SD of the errors). 30 cohorts estimate that SD to about
    # ±13% (1 SE), so per scale within 0.6..1.4 (3 SE) and over the 11 scales on average within
    # 0.8..1.2 (observed: 0.75..1.20 per scale, 0.92 on average)
    ratio = (t["omega_high"] - t["omega_low"]).groupby(t["scale"]).mean() / (
        2 * 1.96 * errors["std"]
    )
    assert ratio.between(0.6, 1.4).all(), ratio
    assert 0.8 <= ratio.mean() <= 1.2, ratio
    # nominal 95%: pooled over 330 intervals at least 90%, and no scale below 25 of 30
    # (P(X <= 24 | n = 30, p = .95) = .016). Observed: alpha 92.4%, omega 91.5% pooled.
    assert t["alpha_covered"].mean() >= 0.90, by_scale
    assert t["omega_covered"].mean() >= 0.90, by_scale
    assert (by_scale >= 25 / 30).all().all(), by_scale


# --------------------------------------------------------------------------------------------
# Attrition: Cox interval coverage of the generating hazard ratios
# --------------------------------------------------------------------------------------------
@pytest.mark.slow
def test_cox_intervals_cover_the_generating_hazard_ratios(mhdq_spec):
    """Coverage of the 95% Wald intervals over 50 seeds.

    The covariates are the *latent* theme scores (unit variance by construction, so the hazard
    ratio per unit is the generating HR per SD). The observed scale scores are the latent scores
    plus measurement error; a Cox model on them estimates an attenuated HR (regression dilution),
    whose interval is not meant to cover the generating value. Coverage of the truth is a property
    of the estimator given the true covariates, which is what this checks.
    """
    themes = theme_scales(mhdq_spec)
    covered = pd.DataFrame(False, index=range(50), columns=themes)
    with single_threaded_blas():
        for seed in range(50):
            cohort = simulate_cohort(mhdq_spec, n=N, seed=1000 + seed)
            X = cohort.latent[[f"theme_{t}" for t in themes]].set_axis(themes, axis=1)
            fit = CoxModel(ties="efron").fit(
                X, cohort.followup["months"], cohort.followup["disengaged"]
            )
            table = fit.summary()
            truth = cohort.hazard_ratios[themes]
            covered.loc[seed] = (table.loc[themes, "ci_low"] <= truth) & (
                truth <= table.loc[themes, "ci_high"]
            )
    # each HR's interval covers the truth in at least 90% of the 50 seeds (nominal 95%;
    # P(fewer than 45 of 50 | 95%) = 0.04 per HR)
    assert (covered.mean() >= 0.90).all(), covered.mean()
