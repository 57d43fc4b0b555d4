"""Reliability: parity with R psych 2.2.9 on bfi (tests/data/bfi_reference.json), split-half checked
against formulas computed independently in the test, bootstrap sanity properties."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.reliability import (
    bootstrap_alpha,
    cronbach_alpha,
    key_items,
    omega,
    ordinal_alpha,
    ordinal_omega,
    split_half,
    standard_error_of_measurement,
)
from analysis.study import item_keys
from analysis.study.reliability_table import reliability_table
from instrument.errors import DataQualityWarning
from instrument.spec import load_instrument

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]
# psych::alpha(x, keys, check.keys = FALSE) and the reliability table on bfi (bfi_reference.json):
# the largest gap over the 5 scales is 1.4e-14 (signal/noise); TOL is about 10x that, rounded up to
# a power of ten (was 1e-3). Assertions whose gap is larger say so beside their own tolerance.
TOL = 1e-12


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv", index_col=0)


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "bfi_reference.json").read_text())


@pytest.fixture(scope="module")
def bfi_spec():
    return load_instrument(ROOT / "examples" / "bfi.yaml")


def _keys(spec: dict) -> dict[str, int]:
    return {i: (-1 if i in spec["reversed"] else 1) for i in spec["items"]}


def _by_item(values: dict, items: list[str]) -> np.ndarray:
    # psych marks reversed items with a trailing "-" in row names ("A1-")
    return np.array([values[i] if i in values else values[i + "-"] for i in items])


# --------------------------------------------------------------------------------------------
# psych::alpha parity
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("scale", SCALES)
def test_alpha_matches_psych(bfi, ref, scale):
    spec = ref["scales"][scale]
    res = cronbach_alpha(bfi[spec["items"]], keys=_keys(spec), scale_min=1, scale_max=6)
    # R: a <- psych::alpha(x, keys = reversed, check.keys = FALSE); a$total (use = "pairwise")
    assert res.estimate == pytest.approx(spec["raw_alpha"], abs=TOL)  # a$total$raw_alpha
    assert res.std_alpha == pytest.approx(spec["std_alpha"], abs=TOL)  # a$total$std.alpha
    assert res.g6 == pytest.approx(spec["G6"], abs=TOL)  # a$total$`G6(smc)`
    assert res.average_r == pytest.approx(spec["average_r"], abs=TOL)  # a$total$average_r
    assert res.median_r == pytest.approx(spec["median_r"], abs=TOL)  # a$total$median_r
    assert res.signal_noise == pytest.approx(spec["signal_noise"], abs=TOL)  # a$total$`S/N`
    assert res.ase == pytest.approx(spec["ase"], abs=TOL)  # a$total$ase
    assert res.mean == pytest.approx(spec["mean"], abs=TOL)  # a$total$mean
    assert res.sd == pytest.approx(spec["sd"], abs=TOL)  # a$total$sd
    # a$feldt$lower.ci, a$feldt$upper.ci
    assert res.ci_low == pytest.approx(spec["feldt_ci_lower"], abs=TOL)
    assert res.ci_high == pytest.approx(spec["feldt_ci_upper"], abs=TOL)
    # raw_alpha ± 1.96 * ase (psych prints 1.96; we use qnorm(.975) = 1.959964: differs by < 1e-6)
    # (achieved gap 4.3e-7, from that 1.96)
    assert res.duhachek_ci[0] == pytest.approx(spec["duhachek_ci_lower"], abs=1e-5)
    assert res.duhachek_ci[1] == pytest.approx(spec["duhachek_ci_upper"], abs=1e-5)
    # a$alpha.drop$raw_alpha
    np.testing.assert_allclose(
        res.alpha_if_dropped["raw_alpha"].to_numpy(),
        _by_item(spec["alpha_if_dropped"], spec["items"]),
        rtol=0,
        atol=TOL,
    )
    assert res.n_obs == 2800 and res.missing == "pairwise" and res.n_items == len(spec["items"])


@pytest.mark.parametrize("scale", SCALES)
def test_alpha_keys_given_as_instrument_or_reversed_list(bfi, ref, bfi_spec, scale):
    spec = ref["scales"][scale]
    # keys from examples/bfi.yaml (reversed on its 1..6 response scale) and psych's list form
    by_spec = cronbach_alpha(bfi[spec["items"]], keys=item_keys(bfi_spec))
    by_list = cronbach_alpha(bfi[spec["items"]], keys=spec["reversed"])  # observed range 1..6
    assert by_spec.estimate == pytest.approx(spec["raw_alpha"], abs=TOL)  # a$total$raw_alpha
    assert by_list.estimate == pytest.approx(spec["raw_alpha"], abs=TOL)
    assert by_spec.mean == pytest.approx(spec["mean"], abs=TOL)  # a$total$mean (7 - x reversal)


@pytest.mark.parametrize("scale", SCALES)
def test_omega_one_factor_matches_psych(bfi, ref, scale):
    spec = ref["scales"][scale]
    res = omega(bfi[spec["items"]], n_factors=1, keys=_keys(spec), scale_min=1, scale_max=6)
    # R: psych::omega(x, nfactors = 1, key = ifelse(items %in% reversed, -1, 1))$omega.tot
    # observed gap with the package's minres (extract_factors): at most 4.0e-8 over the 5 scales
    assert res.omega_total == pytest.approx(spec["omega_total_1f"], abs=1e-7)
    assert res.estimate == res.omega_total
    assert np.isnan(res.omega_hierarchical)  # psych: "Omega_h for 1 factor is not meaningful"
    assert res.flipped == ()  # a key was given, so psych sets flip = FALSE


def test_omega_schmid_leiman_matches_psych(bfi, ref):
    res = omega(bfi.iloc[:, :25], n_factors=5)
    expected = ref["omega_all"]
    # R: om <- psych::omega(bfi[1:25], nfactors = 5) (minres, oblimin, Schmid-Leiman, flip = TRUE)
    # observed gaps with the package's minres: omega_h 9.6e-7, omega_total 5.1e-9 (were 2e-3
    # tolerances with factor_analyzer's minres)
    assert res.omega_hierarchical == pytest.approx(expected["omega_h"], abs=2e-6)  # om$omega_h
    assert res.omega_total == pytest.approx(expected["omega_total"], abs=1e-8)  # om$omega.tot
    assert res.alpha_std == pytest.approx(expected["alpha"], abs=TOL)  # om$alpha (gap 4.4e-16)
    assert res.n_factors == 5 and res.loadings.shape == (25, 5 + 4)
    summary = res.summary()
    assert list(summary["coefficient"]) == [
        "omega_total",
        "omega_hierarchical",
        "omega_h_asymptotic",
        "alpha_std",
        "g6",
        "ecv",
    ]


def test_ordinal_alpha_matches_alpha_of_psych_polychoric(bfi, ref):
    # Gadermann et al. (2012): standardized alpha of the polychoric matrix. Expected value: the
    # formula applied to R's psych::polychoric(bfi[1:25])$rho (reference file), reversed items'
    # correlations negated; our polychoric agrees with psych to about 1e-4.
    spec = ref["scales"]["agree"]
    rho = ref["polychoric"]["rho"]
    full = pd.DataFrame(rho["values"], index=rho["rows"], columns=rho["cols"]).loc[
        spec["items"], spec["items"]
    ]
    sign = np.array([_keys(spec)[i] for i in spec["items"]], dtype=float)
    R = full.to_numpy() * np.outer(sign, sign)
    k = len(sign)
    expected = k / (k - 1) * (1 - k / R.sum())
    res = ordinal_alpha(bfi[spec["items"]], keys=_keys(spec), scale_min=1, scale_max=6)
    # expected from R's polychoric(x)$rho: achieved gap 3.2e-6 (our polychoric vs psych's)
    assert res.estimate == pytest.approx(expected, abs=1e-4)
    assert res.coefficient == "ordinal_alpha" and res.missing == "pairwise"
    # ordinal omega runs on the same matrix; polychoric r exceed Pearson r for these items
    oo = ordinal_omega(bfi[spec["items"]], keys=_keys(spec), scale_min=1, scale_max=6)
    assert oo.correlation == "polychoric"
    assert oo.omega_total > ref["scales"]["agree"]["omega_total_1f"]


# --------------------------------------------------------------------------------------------
# Split half: expected values computed independently in the test
# --------------------------------------------------------------------------------------------
def _exact_sample(R: np.ndarray, n: int, seed: int) -> pd.DataFrame:
    """Data whose sample correlation matrix is exactly R."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((n, R.shape[0]))
    Z -= Z.mean(axis=0)
    Z = Z @ np.linalg.inv(np.linalg.cholesky(np.cov(Z, rowvar=False))).T
    return pd.DataFrame(Z @ np.linalg.cholesky(R).T, columns=[f"i{j}" for j in range(R.shape[0])])


def test_split_half_parallel_items_equal_spearman_brown():
    # Four parallel items (all r = .3): every split gives the Spearman-Brown value 2ρ/(1+ρ) of the
    # half-test correlation ρ = 4r / (2 + 2r), i.e. 4r / (1 + 3r) (Guttman, 1945; Cronbach, 1951).
    r = 0.3
    R = np.full((4, 4), r) + (1 - r) * np.eye(4)
    res = split_half(_exact_sample(R, 500, 1))
    rho = 4 * r / (2 + 2 * r)
    expected = 2 * rho / (1 + rho)
    assert expected == pytest.approx(4 * r / (1 + 3 * r))
    assert res.n_splits == 3 and res.exhaustive
    for value in (res.lambda4, res.beta, res.mean_split_half, res.odd_even, res.alpha):
        assert value == pytest.approx(expected, abs=1e-10)


def test_split_half_against_brute_force_on_raw_scores():
    # Expected values from the raw data: for every split, Guttman's lambda 4
    # 2 (1 - (var(A) + var(B)) / var(A + B)) of the standardized half sums, enumerated here with
    # itertools (each unordered split once); mean over all splits = standardized alpha for even k.
    rng = np.random.default_rng(7)
    loadings = np.array([0.8, 0.7, 0.6, 0.5, 0.4, 0.3])
    f = rng.standard_normal((400, 2))
    X = (
        f[:, [0]] * loadings
        + 0.5 * f[:, [1]] * np.array([1, -1, 1, -1, 0, 0])
        + rng.standard_normal((400, 6))
    )
    df = pd.DataFrame(X, columns=list("abcdef"))
    Z = (X - X.mean(axis=0)) / X.std(axis=0, ddof=1)
    values = {}
    for half in combinations(range(6), 3):
        if 0 not in half:
            continue
        other = [j for j in range(6) if j not in half]
        a, b = Z[:, list(half)].sum(axis=1), Z[:, other].sum(axis=1)
        values[half] = 2 * (1 - (a.var(ddof=1) + b.var(ddof=1)) / (a + b).var(ddof=1))
    R = np.corrcoef(X, rowvar=False)
    std_alpha = 6 / 5 * (1 - 6 / R.sum())
    odd, even = Z[:, [0, 2, 4]].sum(axis=1), Z[:, [1, 3, 5]].sum(axis=1)
    r_oe = np.corrcoef(odd, even)[0, 1]
    res = split_half(df)
    assert res.n_splits == len(values) == 10
    assert res.lambda4 == pytest.approx(max(values.values()), abs=1e-10)
    assert res.beta == pytest.approx(min(values.values()), abs=1e-10)
    assert res.mean_split_half == pytest.approx(np.mean(list(values.values())), abs=1e-10)
    assert res.mean_split_half == pytest.approx(std_alpha, abs=1e-10)  # Cronbach (1951)
    assert res.odd_even == pytest.approx(2 * r_oe / (1 + r_oe), abs=1e-10)
    best = max(values, key=values.get)
    assert set(res.best_split) in (
        {"abcdef"[j] for j in best},
        {c for j, c in enumerate("abcdef") if j not in best},
    )


def test_split_half_samples_beyond_n_sample_and_is_seeded():
    rng = np.random.default_rng(3)
    f = rng.standard_normal((300, 1))
    df = pd.DataFrame(
        0.6 * f + rng.standard_normal((300, 18)), columns=[f"x{j}" for j in range(18)]
    )
    full = split_half(df, n_sample=30000)  # C(17, 8) = 24310 splits: all of them
    sampled = split_half(df, n_sample=2000, seed=5)
    again = split_half(df, n_sample=2000, seed=5)
    assert full.exhaustive and full.n_splits == 24310
    assert (
        not sampled.exhaustive
        and sampled.n_splits == 2000
        and sampled.method == "split_half_sampled"
    )
    assert sampled.lambda4 == again.lambda4
    assert full.beta <= sampled.beta <= sampled.lambda4 <= full.lambda4


# --------------------------------------------------------------------------------------------
# Bootstrap: reproducibility and sanity (not parity: R's random numbers differ)
# --------------------------------------------------------------------------------------------
def test_bootstrap_vectorised_moments_equal_per_resample_refits():
    # The batched pairwise moments must give exactly the alpha of pandas' pairwise covariance on
    # each resampled data set (same row indices), with missing answers and non-integer data.
    from analysis.reliability.alpha import alpha_from_covariance
    from analysis.reliability.bootstrap import bootstrap_alphas

    rng = np.random.default_rng(5)
    X = rng.integers(1, 6, size=(250, 5)).astype(float) + np.round(rng.normal(size=(250, 1)))
    X[rng.random(X.shape) < 0.1] = np.nan
    for data in (X, X + 0.25 * rng.random(X.shape)):
        got = bootstrap_alphas(data, 12, np.random.default_rng(3), 5)
        draw = np.random.default_rng(3)
        expected = []
        for start in range(0, 12, 5):
            for rows in draw.integers(0, 250, size=(min(5, 12 - start), 250)):
                expected.append(
                    alpha_from_covariance(pd.DataFrame(data[rows]).cov().to_numpy())["raw_alpha"]
                )
        np.testing.assert_allclose(got, expected, atol=1e-12)


def test_bootstrap_seeded_and_close_to_feldt(bfi, ref):
    spec = ref["scales"]["conscientious"]
    items = bfi[spec["items"]]
    a = bootstrap_alpha(items, keys=_keys(spec), n_boot=500, seed=11)
    b = bootstrap_alpha(items, keys=_keys(spec), n_boot=500, seed=11)
    c = bootstrap_alpha(items, keys=_keys(spec), n_boot=500, seed=12)
    assert a.ci_low == b.ci_low and a.ci_high == b.ci_high
    np.testing.assert_array_equal(a.replicates, b.replicates)
    assert not np.array_equal(a.replicates, c.replicates)
    # Sanity property, not parity: the percentile interval holds the estimate and lies near the
    # Feldt interval (psych: alpha.ci) for n = 2800.
    assert a.ci_low < a.estimate < a.ci_high
    assert a.estimate == pytest.approx(spec["raw_alpha"], abs=TOL)
    assert a.ci_low == pytest.approx(spec["feldt_ci_lower"], abs=0.01)
    assert a.ci_high == pytest.approx(spec["feldt_ci_upper"], abs=0.01)
    assert a.n_boot == 500 and a.seed == 11 and a.missing == "pairwise"


def test_alpha_with_bootstrap_in_summary(bfi, ref):
    spec = ref["scales"]["agree"]
    res = cronbach_alpha(bfi[spec["items"]], keys=_keys(spec), n_boot=200, seed=1, scale="agree")
    summary = res.summary()
    assert list(summary.loc[summary["coefficient"] == "alpha", "ci_method"]) == [
        "feldt",
        "duhachek",
        "bootstrap_percentile",
    ]
    assert set(summary["scale"]) == {"agree"}
    assert {"estimate", "ci_low", "ci_high", "ci_level", "n_obs", "method", "missing"} <= set(
        summary.columns
    )


# --------------------------------------------------------------------------------------------
# Omega bootstrap: batched fits equal refits; reproducibility and sanity (not parity: R's random
# numbers differ, and psych prints a Fisher-z normal interval, not percentiles)
# --------------------------------------------------------------------------------------------
def _small_items(seed: int = 7, n: int = 250) -> pd.DataFrame:
    # SYNTHETIC: six 5-point items of one factor, item f reversed, 8% missing at random
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 1))
    latent = 0.7 * f + 0.7 * rng.normal(size=(n, 6))
    latent[:, 5] *= -1
    X = np.clip(np.round(3 + latent), 1, 5)
    X[rng.random(X.shape) < 0.08] = np.nan
    return pd.DataFrame(X, columns=list("abcdef"))


def test_omega_bootstrap_correlations_equal_pandas_pairwise_cor_per_resample():
    # The batched pairwise moments (with sums of squares) give exactly cor(use = "pairwise") of
    # each resampled data set (same row indices as numpy's Generator draws them).
    from analysis.reliability.bootstrap import bootstrap_correlations

    df = _small_items()
    X = df.to_numpy()
    got = bootstrap_correlations(X, 15, np.random.default_rng(4), None)
    rows = np.random.default_rng(4).integers(0, len(X), size=(15, len(X)))
    for b in range(15):
        expected = pd.DataFrame(X[rows[b]]).corr().to_numpy()
        np.testing.assert_allclose(got[b], expected, atol=1e-12)


@pytest.mark.parametrize("n_factors, keys", [(1, {"f": -1}), (1, None), (2, {"f": -1})])
def test_omega_bootstrap_batched_fits_equal_per_resample_refits(n_factors, keys):
    # Each replicate must be omega total refitted on that resample: Newton (one factor) or
    # iterated principal axes (two factors) against analysis.factor.extraction.extract_factors
    # (psych's minres, solved by Newton's method to a gradient below 1e-10) on pandas' pairwise
    # correlations of the keyed resample. keys=None checks psych's per-resample flip (by the
    # signs of the one-factor loadings). Achieved gaps 2.5e-14 (one factor) and 7.7e-13 (two);
    # 1e-11 is 10x rounded up (was 1e-6 while the reference stopped at about 1e-7).
    from analysis.factor.extraction import extract_factors

    df = _small_items()
    if keys is not None:
        keys = {c: keys.get(c, 1) for c in df.columns}
    res = omega(df, n_factors=n_factors, keys=keys, scale_min=1, scale_max=5, n_boot=12, seed=9)
    rows = np.random.default_rng(9).integers(0, len(df), size=(12, len(df)))
    expected = []
    for b in range(12):
        data = key_items(df.iloc[rows[b]], keys=keys, scale_min=1, scale_max=5).data
        r = data.corr().to_numpy()
        load, _, _ = extract_factors(r, n_factors, method="minres")
        signs = np.where(load[:, 0] < 0, -1.0, 1.0) if keys is None else np.ones(len(r))
        vt = signs @ r @ signs
        # psych: u2 = 1 - h2 with h2 the loadings' communalities (not the optimiser's ψ, which
        # differs from them when a uniqueness sits on its bound)
        expected.append((vt - np.sum(1 - (load**2).sum(axis=1))) / vt)
    np.testing.assert_allclose(res.bootstrap.replicates, expected, rtol=0, atol=1e-11)
    if keys is None:  # f is flipped relative to the others (either orientation of the factor)
        assert set(res.flipped) in ({"f"}, {"a", "b", "c", "d", "e"})


def test_heywood_resamples_are_refitted_with_bounded_minres():
    # r12 = r13 = .9, r23 = .5: the unbounded one-factor solution has λ1² = .81/.5 > 1. The batch
    # must flag it and use psych's bounded minres (uniqueness >= .005) instead.
    from analysis.factor.extraction import extract_factors
    from analysis.reliability.bootstrap import omega_total_replicates, one_factor_minres_batch

    R = np.array([[1, 0.9, 0.9], [0.9, 1, 0.5], [0.9, 0.5, 1]])
    good = np.array([[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]])
    stack = np.stack([good, R])
    _, ok = one_factor_minres_batch(stack, np.array([0.7, 0.6, 0.5]))
    assert ok.tolist() == [True, False]
    reps = omega_total_replicates(
        stack, n_factors=1, start=np.array([0.7, 0.6, 0.5]), signs=np.ones(3)
    )
    for b, r in enumerate(stack):
        load, _, _ = extract_factors(r, 1, method="minres")
        assert reps[b] == pytest.approx((r.sum() - np.sum(1 - load[:, 0] ** 2)) / r.sum(), abs=1e-6)


def test_omega_bootstrap_seeded_and_holds_the_estimate(bfi, ref):
    spec = ref["scales"]["agree"]
    items = bfi[spec["items"]]
    a = omega(items, n_factors=1, keys=_keys(spec), n_boot=300, seed=21)
    b = omega(items, n_factors=1, keys=_keys(spec), n_boot=300, seed=21)
    c = omega(items, n_factors=1, keys=_keys(spec), n_boot=300, seed=22)
    narrow = omega(items, n_factors=1, keys=_keys(spec), n_boot=300, seed=21, ci_level=0.8)
    assert (a.ci_low, a.ci_high) == (b.ci_low, b.ci_high)
    np.testing.assert_array_equal(a.bootstrap.replicates, b.bootstrap.replicates)
    assert not np.array_equal(a.bootstrap.replicates, c.bootstrap.replicates)
    assert a.ci_low < a.estimate < a.ci_high
    assert a.ci_low < narrow.ci_low < narrow.ci_high < a.ci_high
    # psych::omega(x, 1, key = ...)$omega.tot: the point estimate is unchanged by the bootstrap
    assert a.estimate == pytest.approx(spec["omega_total_1f"], abs=1e-7)  # gap 3.1e-9
    assert a.bootstrap.coefficient == "omega_total" and a.bootstrap.n_failed == 0
    summary = a.summary().set_index("coefficient")
    assert summary.loc["omega_total", "ci_low"] == a.ci_low
    assert np.isnan(summary.loc["omega_hierarchical", "ci_low"])


@pytest.mark.parametrize("scale", SCALES)
def test_omega_interval_width_is_what_large_sample_reasoning_expects(bfi, ref, scale):
    # Sanity property, not parity (there is no R reference for a bootstrap interval). For a
    # one-factor scale whose omega is close to its alpha (bfi: within .02), the sampling SD of
    # omega is close to alpha's; Duhachek's ase (psych::alpha's ase, large-sample delta method)
    # gives that SD. So the half-width of omega's 95% percentile interval should be near
    # 1.96 · ase: within 30% (observed on bfi: 0.85-0.95). psych's own Fisher-z normal interval
    # from the same replicates must nearly coincide with the percentile one.
    spec = ref["scales"][scale]
    items = bfi[spec["items"]]
    res = omega(items, n_factors=1, keys=_keys(spec), n_boot=500, seed=3)
    alpha = cronbach_alpha(items, keys=_keys(spec))
    half = (res.ci_high - res.ci_low) / 2
    assert 0.7 < half / (1.96 * alpha.ase) < 1.3
    lo, hi = res.bootstrap.fisher_z_ci
    assert lo == pytest.approx(res.ci_low, abs=0.25 * half)
    assert hi == pytest.approx(res.ci_high, abs=0.25 * half)


def test_omega_schmid_leiman_bootstrap_gives_omega_total_an_interval(bfi):
    res = omega(bfi.iloc[:, :25], n_factors=5, n_boot=60, seed=2)
    assert res.ci_low < res.omega_total < res.ci_high
    assert res.bootstrap.n_failed == 0
    summary = res.summary().set_index("coefficient")
    assert np.isnan(summary.loc["omega_hierarchical", "ci_low"])  # no interval for omega_h


def test_omega_bootstrap_rejects_bad_settings(bfi):
    items = bfi[["C1", "C2", "C3", "C4"]]
    with pytest.raises(ValueError, match="n_boot"):
        omega(items, n_factors=1, n_boot=1)
    with pytest.raises(ValueError, match="Pearson"):
        omega(items, n_factors=1, n_boot=10, correlation="polychoric")


# --------------------------------------------------------------------------------------------
# Missing data, SEM, validation, the instrument table
# --------------------------------------------------------------------------------------------
def test_listwise_equals_pairwise_on_complete_rows(bfi, ref):
    spec = ref["scales"]["neuroticism"]
    items = bfi[spec["items"]]
    listwise = cronbach_alpha(items, missing="listwise")
    complete = cronbach_alpha(items.dropna())
    assert listwise.missing == "listwise" and complete.missing == "pairwise"
    assert listwise.n_obs == len(items.dropna()) < 2800
    assert listwise.estimate == pytest.approx(complete.estimate, abs=1e-12)
    assert listwise.estimate != pytest.approx(spec["raw_alpha"], abs=1e-6)


def test_standard_error_of_measurement():
    # SEM = SD sqrt(1 - reliability): 10 sqrt(.91) -> 3; 15 sqrt(1 - .84) = 6
    assert standard_error_of_measurement(10.0, 0.91) == pytest.approx(3.0)
    np.testing.assert_allclose(
        standard_error_of_measurement([15.0, 10.0], [0.84, 0.75]), [6.0, 5.0]
    )
    with pytest.raises(ValueError, match="reliability"):
        standard_error_of_measurement(1.0, 1.5)


def test_alpha_sem_uses_score_sd(bfi, ref):
    spec = ref["scales"]["openness"]
    res = cronbach_alpha(bfi[spec["items"]], keys=_keys(spec))
    # a$total$sd * sqrt(1 - a$total$raw_alpha)
    assert res.sem == pytest.approx(
        spec["sd"] * np.sqrt(1 - spec["raw_alpha"]), abs=1e-11
    )  # 4.8e-13


def test_bad_input_is_named():
    df = pd.DataFrame({"a": [1, 2, 3], "b": ["1", "x", "3"], "c": [1, 1, 1]})
    with pytest.raises(ValueError, match="b"):
        cronbach_alpha(df)
    with pytest.raises(ValueError, match="no variance.*c"):
        cronbach_alpha(df[["a", "c"]])
    with pytest.raises(ValueError, match="missing"):
        cronbach_alpha(df[["a"]].assign(d=[3, 1, 2]), missing="everything")
    with pytest.raises(ValueError, match="no key.*d"):
        cronbach_alpha(df[["a"]].assign(d=[3, 1, 2]), keys={"a": 1})
    with pytest.raises(ValueError, match="-1"):
        cronbach_alpha(df[["a"]].assign(d=[3, 1, 2]), keys={"a": 1, "d": 2})
    with pytest.raises(ValueError, match="at least 2"):
        cronbach_alpha(df[["a"]])
    with pytest.raises(TypeError, match="DataFrame"):
        cronbach_alpha(np.ones((3, 3)))
    with pytest.raises(ValueError, match="n_boot"):
        bootstrap_alpha(df[["a"]].assign(d=[3, 1, 2]), n_boot=1)


def test_key_items_reverses_on_the_response_scale():
    df = pd.DataFrame({"a": [1.0, 2.0, np.nan], "b": [5.0, 1.0, 3.0]})
    out = key_items(df, keys=["b"], scale_min=1, scale_max=7)
    assert out.data["b"].tolist() == [3.0, 7.0, 5.0]  # 8 - x
    observed = key_items(df, keys={"a": 1, "b": -1})  # observed range 1..5: 6 - x
    assert observed.data["b"].tolist() == [1.0, 5.0, 3.0]
    assert key_items(df, missing="listwise").n_obs == 2


def test_reliability_table_on_bfi(bfi, ref, bfi_spec):
    tab = reliability_table(bfi, bfi_spec)
    table = tab.table.set_index("scale")
    assert list(table.index) == SCALES
    for scale in SCALES:
        spec = ref["scales"][scale]
        # psych::alpha(x, keys)$total$raw_alpha and psych::omega(x, 1, key = )$omega.tot
        assert table.loc[scale, "alpha"] == pytest.approx(spec["raw_alpha"], abs=TOL)
        assert table.loc[scale, "alpha_ci_low"] == pytest.approx(spec["feldt_ci_lower"], abs=TOL)
        # psych::omega(x, 1)$omega.tot: gap 4.1e-8 over the 5 scales
        assert table.loc[scale, "omega_total"] == pytest.approx(spec["omega_total_1f"], abs=1e-6)
        assert 0 < table.loc[scale, "lambda4"] <= 1
    assert tab.problems == ()
    assert (table["missing"] == "pairwise").all()
    assert table["omega_hierarchical"].isna().all()  # single-facet scales: no Schmid-Leiman
    # the omega intervals: TABLE_OMEGA_N_BOOT resamples by default, around each estimate
    assert (table["omega_n_boot"] == 200).all()
    assert (table["omega_total_ci_low"] < table["omega_total"]).all()
    assert (table["omega_total"] < table["omega_total_ci_high"]).all()
    assert table["omega_total_sl_ci_low"].isna().all()
    # the same resamples as omega(n_boot = 200, seed = 5) on that scale
    again = reliability_table(bfi, bfi_spec, scales=["agree"], seed=5).table.iloc[0]
    spec = ref["scales"]["agree"]
    direct = omega(bfi[spec["items"]], n_factors=1, keys=item_keys(bfi_spec), n_boot=200, seed=5)
    assert (again["omega_total_ci_low"], again["omega_total_ci_high"]) == (
        direct.ci_low,
        direct.ci_high,
    )
    none = reliability_table(bfi, bfi_spec, scales=["agree"], omega_n_boot=0).table.iloc[0]
    assert np.isnan(none["omega_total_ci_low"]) and pd.isna(none["omega_n_boot"])


def test_reliability_table_on_mhdq_hierarchy():
    # SYNTHETIC responses to the embedded MHDQ: one factor per facet, correlated through a total.
    mhdq = load_instrument()
    rng = np.random.default_rng(2)
    n = 600
    general = rng.standard_normal(n)
    columns = {}
    facet_scores = {s.id: 0.6 * general + 0.8 * rng.standard_normal(n) for s in mhdq.leaf_scales}
    for item in mhdq.items:
        latent = item.keyed * facet_scores[item.scale] + 0.8 * rng.standard_normal(n)
        columns[item.id] = np.clip(np.round(3 + latent), 1, 5)
    data = pd.DataFrame(columns)
    tab = reliability_table(data, mhdq, scales=["total", "model", "strategy"])
    row = tab.table.set_index("scale")

    def root(sid):
        while mhdq.scale(sid).parent is not None:
            sid = mhdq.scale(sid).parent
        return sid

    facets_of_total = [s.id for s in mhdq.leaf_scales if root(s.id) == "total"]
    assert len(facets_of_total) >= 3
    assert row.loc["total", "omega_n_factors"] == len(facets_of_total)  # one group factor per facet
    assert 0 < row.loc["total", "omega_hierarchical"] < row.loc["total", "omega_total_sl"] <= 1
    assert row.loc["total", "omega_total_sl_ci_low"] < row.loc["total", "omega_total_sl"]
    assert row.loc["total", "omega_total_sl"] < row.loc["total", "omega_total_sl_ci_high"]
    assert (row["omega_total_ci_low"] < row["omega_total_ci_high"]).all()
    assert np.isnan(
        row.loc["model", "omega_hierarchical"]
    )  # two facets: psych needs 3 group factors
    assert row.loc["strategy", "alpha"] > 0.5


def test_unkeyed_negative_items_warn_as_psych(bfi):
    # psych::alpha(x) without keys warns that reversed items "probably should be reversed"
    with pytest.warns(DataQualityWarning, match="A1"):
        cronbach_alpha(bfi[["A1", "A2", "A3", "A4", "A5"]])


def test_split_half_check_keys_reverses_like_psych(bfi, ref):
    # psych::splitHalf(x) has check.keys = TRUE: A1 (negative on the first component) is reversed,
    # which gives the same splits as keying it explicitly.
    items = bfi[ref["scales"]["agree"]["items"]]
    with pytest.warns(DataQualityWarning, match="A1"):
        auto = split_half(items)
    keyed = split_half(items, keys=["A1"])
    assert auto.lambda4 == pytest.approx(keyed.lambda4, abs=1e-12)
    assert auto.beta == pytest.approx(keyed.beta, abs=1e-12)
    unchecked = split_half(items, check_keys=False)
    assert unchecked.lambda4 < keyed.lambda4


def test_instrument_keys_reject_codes_outside_the_response_scale(bfi, bfi_spec):
    items = bfi[["C1", "C2", "C3"]].copy()
    items.iloc[3, 1] = 9  # e.g. an unconverted not-applicable code
    with pytest.raises(ValueError, match="C2.*response scale"):
        cronbach_alpha(items, keys=item_keys(bfi_spec))


def _simulated_mhdq_items(n: int, seed: int) -> tuple[pd.DataFrame, object]:
    """SYNTHETIC MHDQ answers (analysis.simulate.cohort), not-applicable codes set to NaN."""
    from analysis.simulate.cohort import simulate_cohort

    mhdq = load_instrument()
    responses = simulate_cohort(mhdq, n=n, seed=seed).responses
    items = responses[[c for c in responses.columns if c in set(mhdq.item_ids)]].copy()
    for c in items.columns:
        items[c] = items[c].where(items[c].isin(mhdq.response_scale_of(c).codes))
    return items, mhdq


def test_reliability_table_skips_the_omega_bootstrap_below_its_minimum_n(monkeypatch):
    # 30 respondents (< TABLE_OMEGA_MIN_N): the 200-resample omega bootstrap used to refit
    # nearly every Schmid-Leiman resample one by one (35 s); now it is skipped with a reason.
    import analysis.factor.extraction
    from analysis.study.reliability_table import TABLE_OMEGA_MIN_N

    calls = []
    real = analysis.factor.extraction.extract_factors
    monkeypatch.setattr(
        analysis.factor.extraction,
        "extract_factors",
        lambda *a, **k: calls.append(1) or real(*a, **k),
    )
    items, mhdq = _simulated_mhdq_items(30, seed=1)
    assert TABLE_OMEGA_MIN_N > 30
    tab = reliability_table(items, mhdq, seed=1)
    table = tab.table.set_index("scale")
    # no resample was refitted: the only extractions are the point estimates' (omega's minres is
    # extract_factors: at most one one-factor and one Schmid-Leiman fit per scale)
    assert len(calls) <= 2 * len(table)
    assert table["omega_total_ci_low"].isna().all() and table["omega_total_sl_ci_high"].isna().all()
    assert table["omega_n_boot"].isna().all()
    assert table["omega_total"].notna().all()  # the point estimates are still there
    skipped = [p for p in tab.problems if "omega_interval: skipped: 30 respondents" in p]
    assert len(skipped) == len(table)


def test_omega_bootstrap_refits_are_bounded_and_single_threaded(monkeypatch):
    # Heywood resamples (λ² = 0.999 > 1 - 0.005) fail the vectorised one-factor solver and go to
    # extract_factors one by one: at most max_refits of them, each with one BLAS thread.
    from threadpoolctl import threadpool_info

    import analysis.factor.extraction
    from analysis.reliability.bootstrap import omega_total_replicates

    threads = []
    real = analysis.factor.extraction.extract_factors

    def spy(*args, **kwargs):
        threads.append(
            max((d["num_threads"] for d in threadpool_info() if d["user_api"] == "blas"), default=1)
        )
        return real(*args, **kwargs)

    monkeypatch.setattr(analysis.factor.extraction, "extract_factors", spy)
    R = np.full((10, 3, 3), 0.999)
    R[:, np.arange(3), np.arange(3)] = 1.0
    with pytest.warns(
        DataQualityWarning, match="10 of 10 bootstrap resamples needed psych's bounded minres"
    ):
        out = omega_total_replicates(
            R, n_factors=1, start=np.full(3, 0.9), signs=np.ones(3), max_refits=3
        )
    assert len(threads) == 3 and set(threads) == {1}
    assert np.isfinite(out[:3]).all() and np.isnan(out[3:]).all()


def test_statistics_take_item_keys_not_an_instrument(bfi, bfi_spec):
    items = bfi[["C1", "C2", "C3", "C4", "C5"]]
    with pytest.raises(TypeError, match="item_keys"):
        cronbach_alpha(items, keys=bfi_spec)
    keys = item_keys(bfi_spec)
    assert keys.keys[["C4", "C5"]].tolist() == [-1, -1]
    by_keys = cronbach_alpha(items, keys=keys)
    by_list = cronbach_alpha(items, keys=["C4", "C5"], scale_min=1, scale_max=6)
    assert by_keys.estimate == pytest.approx(by_list.estimate, abs=1e-14)
