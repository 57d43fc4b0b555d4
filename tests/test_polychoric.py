"""Polychoric correlations against psych::polychoric 2.2.9 on bfi.

Reference numbers: tests/data/bfi_reference.json (see tests/data/README.md).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import multivariate_normal

from analysis.factor.polychoric import bivariate_normal_cdf, cor_smooth, polychoric

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def bfi_items() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv", index_col=0).iloc[:, :25]


@pytest.fixture(scope="module")
def reference() -> dict:
    return json.loads((DATA / "bfi_reference.json").read_text())


@pytest.fixture(scope="module")
def bfi_poly(bfi_items):
    return polychoric(bfi_items)


def test_rho_matches_psych(bfi_poly, reference):
    # R: psych::polychoric(bfi[, 1:25])$rho ; psych's optimize() tolerance is ~1e-4: achieved gap
    # 2.0e-5, so 5e-4 stays (25x)
    ref = reference["polychoric"]["rho"]
    assert list(bfi_poly.rho.columns) == ref["cols"]
    np.testing.assert_allclose(bfi_poly.rho.to_numpy(), np.array(ref["values"]), atol=5e-4)
    assert not bfi_poly.smoothed


def test_thresholds_match_psych(bfi_poly, reference):
    # R: psych::polychoric(bfi[, 1:25])$tau (both are qnorm of proportions): achieved gap 4.9e-15,
    # so 1e-12, the floor kept for floating-point differences between machines (was 1e-6)
    ref = reference["polychoric"]["tau"]
    assert list(bfi_poly.thresholds.index) == ref["rows"]
    expected = np.array(ref["values"])
    np.testing.assert_allclose(bfi_poly.thresholds.to_numpy(), expected, rtol=0, atol=1e-12)


def test_pairwise_n(bfi_items, bfi_poly):
    answered = bfi_items.notna().astype(int)
    expected = answered.T @ answered
    np.testing.assert_array_equal(bfi_poly.n_obs.to_numpy(), expected.to_numpy())
    assert bfi_poly.n_respondents == 2800


def test_summary_one_row_per_pair(bfi_poly):
    s = bfi_poly.summary()
    assert list(s.columns) == ["item_1", "item_2", "estimate", "n_obs"]
    assert len(s) == 25 * 24 // 2
    row = s[(s.item_1 == "A1") & (s.item_2 == "A2")].iloc[0]
    assert row.estimate == bfi_poly.rho.loc["A1", "A2"]


def test_bivariate_normal_cdf_matches_scipy():
    # scipy.stats.multivariate_normal.cdf (Genz's algorithm in Fortran) as the reference
    rng = np.random.default_rng(7)
    h = rng.normal(scale=1.5, size=60)
    k = rng.normal(scale=1.5, size=60)
    r = np.concatenate(
        [
            rng.uniform(-0.999, 0.999, 50),
            [0.95, -0.95, 0.99, -0.99, 0, 0.3, -0.3, 0.75, -0.75, 0.925],
        ]
    )
    ours = bivariate_normal_cdf(h, k, r)
    ref = [
        multivariate_normal(cov=[[1, c], [c, 1]]).cdf([a, b])
        for a, b, c in zip(h, k, r, strict=True)
    ]
    np.testing.assert_allclose(ours, ref, atol=1e-7)


def test_bivariate_normal_cdf_infinite_limits():
    from scipy.stats import norm

    assert bivariate_normal_cdf(np.inf, 0.3, 0.5) == pytest.approx(norm.cdf(0.3))
    assert bivariate_normal_cdf(-0.2, np.inf, 0.5) == pytest.approx(norm.cdf(-0.2))
    assert bivariate_normal_cdf(-np.inf, 0.3, 0.5) == 0.0
    assert bivariate_normal_cdf(np.inf, np.inf, -0.5) == 1.0


def test_cor_smooth_makes_positive_definite():
    m = np.array([[1, 0.9, 0.9], [0.9, 1, -0.9], [0.9, -0.9, 1]])
    assert np.linalg.eigvalsh(m).min() < 0
    s, done = cor_smooth(pd.DataFrame(m, index=list("abc"), columns=list("abc")))
    assert done
    assert np.linalg.eigvalsh(s.to_numpy()).min() > 0
    np.testing.assert_allclose(np.diag(s.to_numpy()), 1.0)
    assert list(s.columns) == list("abc")
    same, done = cor_smooth(np.eye(3))
    assert not done and np.array_equal(same, np.eye(3))


def test_recovers_latent_correlation():
    # synthetic data: a bivariate normal with rho = .5 cut into 5 categories
    rng = np.random.default_rng(3)
    z = rng.multivariate_normal([0, 0], [[1, 0.5], [0.5, 1]], size=20000)
    codes = pd.DataFrame(np.digitize(z, [-1.2, -0.3, 0.4, 1.1]) + 1, columns=["a", "b"])
    res = polychoric(codes)
    assert res.rho.loc["a", "b"] == pytest.approx(0.5, abs=0.03)
    np.testing.assert_allclose(res.thresholds.loc["a"], [-1.2, -0.3, 0.4, 1.1], atol=0.05)


def test_unequal_maxima_switch_to_pair_thresholds(bfi_items):
    x = bfi_items[["A1", "A2", "A3"]].copy()
    x.loc[x["A3"] == 6, "A3"] = 5
    with pytest.warns(UserWarning, match="global_thresholds set to False"):
        res = polychoric(x)
    assert not res.global_thresholds
    assert np.isposinf(res.thresholds.loc["A3", "5"])


def test_bad_input_is_named():
    with pytest.raises(ValueError, match="at most 8"):
        polychoric(pd.DataFrame({"a": [1, 9, 3], "b": [1, 2, 3]}))
    with pytest.raises(ValueError, match=r"whole-number.*\['a'\]"):
        polychoric(pd.DataFrame({"a": [1.5, 2, 3], "b": [1, 2, 3]}))
    with pytest.raises(ValueError, match=r"without variance.*\['b'\]"):
        polychoric(pd.DataFrame({"a": [1, 2, 3], "b": [2, 2, 2]}))
    with pytest.raises(TypeError):
        polychoric(np.ones((3, 2)))


def test_boundary_maximum_converges():
    # synthetic: b copies a (after 50 of a's answers are removed), d reverses a: |rho| -> 1
    rng = np.random.default_rng(0)
    a = rng.integers(1, 6, 500).astype(float)
    x = pd.DataFrame({"a": a, "b": a, "c": rng.integers(1, 6, 500), "d": 6 - a})
    x.iloc[:50, 0] = np.nan
    import warnings

    from instrument.errors import ConvergenceWarning

    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)
        warnings.simplefilter("ignore", UserWarning)
        res = polychoric(x)
    assert res.rho.loc["a", "b"] > 0.999 and res.rho.loc["a", "d"] < -0.999
    assert np.linalg.eigvalsh(res.rho.to_numpy()).min() > 0  # smoothed


def test_dichotomous_items_give_tetrachoric():
    # synthetic: two binary items cut from a bivariate normal with rho = .4
    rng = np.random.default_rng(2)
    z = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=20000)
    res = polychoric(pd.DataFrame((z > 0.3).astype(int), columns=["x", "y"]))
    assert res.rho.loc["x", "y"] == pytest.approx(0.4, abs=0.03)
    assert res.thresholds.shape == (2, 1)


def test_bivariate_normal_pdf_is_scipys_density_and_zero_at_infinity():
    from scipy.stats import multivariate_normal

    from analysis.factor.polychoric import bivariate_normal_pdf

    h = np.array([-1.3, 0.0, 0.7, 2.1])
    k = np.array([0.4, -0.2, 1.5, -2.0])
    for rho in (-0.8, 0.0, 0.35, 0.95):
        ref = multivariate_normal(cov=[[1.0, rho], [rho, 1.0]]).pdf(np.column_stack([h, k]))
        # observed relative gap to scipy 1.4e-13 (a density of 1e-37 at rho = 0.95)
        np.testing.assert_allclose(bivariate_normal_pdf(h, k, rho), ref, rtol=1e-12)
    assert bivariate_normal_pdf(np.inf, 0.3, 0.5) == 0.0
    assert bivariate_normal_pdf(0.3, -np.inf, 0.5) == 0.0


def test_one_smc_and_one_density_in_the_package():
    import analysis
    from analysis import correlation
    from analysis.factor import extraction
    from analysis.sem import wlsmv

    assert analysis.smc is correlation.smc
    assert extraction.smc is correlation.smc  # the extraction's starting values use the one smc
    assert not hasattr(wlsmv, "_bvn_pdf")
