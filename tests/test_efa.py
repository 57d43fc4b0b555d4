"""EFA against psych::fa 2.2.9 on bfi (tests/data/bfi_reference.json)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.factor.efa import EFA, extract_factors, match_factors
from analysis.factor.polychoric import polychoric
from instrument.errors import HeywoodCaseWarning

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv", index_col=0).iloc[:, :25]


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "bfi_reference.json").read_text())


def _aligned(efa: EFA, block: dict):
    """Our loadings (and phi) with columns matched to R's by congruence and sign."""
    expected = np.array(block["loadings"]["values"])
    assert list(efa.loadings_.index) == block["loadings"]["rows"]
    order, signs = match_factors(efa.loadings_.to_numpy(), expected)
    loadings = efa.loadings_.to_numpy()[:, order] * signs
    phi = None
    if efa.phi_ is not None:
        phi = efa.phi_.to_numpy()[np.ix_(order, order)] * np.outer(signs, signs)
    return loadings, phi, expected


def test_minres_oblimin(items, ref):
    # R: psych::fa(bfi[, 1:25], nfactors = 5, fm = "minres", rotate = "oblimin"). Tolerances are
    # 10x the achieved gap rounded up to a power of ten (were 2e-3): gaps 1.5e-6 (loadings),
    # 3.8e-7 (phi), 2.2e-6 (communalities, uniquenesses)
    block = ref["fa_minres_oblimin"]
    efa = EFA(5).fit(items)
    loadings, phi, expected = _aligned(efa, block)
    np.testing.assert_allclose(loadings, expected, rtol=0, atol=1e-4)
    np.testing.assert_allclose(phi, np.array(block["phi"]["values"]), rtol=0, atol=1e-5)
    communality, uniqueness = pd.Series(block["communality"]), pd.Series(block["uniquenesses"])
    np.testing.assert_allclose(efa.communalities_, communality, rtol=0, atol=1e-4)
    np.testing.assert_allclose(efa.uniquenesses_, uniqueness, rtol=0, atol=1e-4)


def test_psych_factor_order(items, ref):
    # psych sorts factors by the column sums of squared pattern loadings: R's order is ours
    efa = EFA(5).fit(items)
    order, _ = match_factors(
        efa.loadings_.to_numpy(), np.array(ref["fa_minres_oblimin"]["loadings"]["values"])
    )
    assert order.tolist() == [0, 1, 2, 3, 4]


def test_ml_varimax_and_fit_statistics(items, ref):
    # R: psych::fa(bfi[, 1:25], nfactors = 5, fm = "ml", rotate = "varimax")
    block = ref["fa_ml_varimax"]
    efa = EFA(5, method="ml", rotation="varimax").fit(items)
    loadings, phi, expected = _aligned(efa, block)
    assert phi is None
    # 10x the achieved gap rounded up to a power of ten (were 2e-3, 1e-3 and 1e-4): loadings
    # 3.8e-6, communalities 2.7e-6, STATISTIC rel 5.1e-11, RMSEA 1.6e-12 / 1.2e-10 / 2.0e-11 (est,
    # low, high), TLI 7.3e-12, BIC rel 3.2e-10
    np.testing.assert_allclose(loadings, expected, rtol=0, atol=1e-4)
    communality = pd.Series(block["communality"])
    np.testing.assert_allclose(efa.communalities_, communality, rtol=0, atol=1e-4)
    fit = efa.fit_
    assert fit.chi_square == pytest.approx(block["STATISTIC"], rel=1e-9)  # $STATISTIC
    assert fit.dof == block["dof"]
    est, low, high, level = block["RMSEA"]  # $RMSEA: estimate, lower, upper, confidence
    assert fit.rmsea == pytest.approx(est, abs=1e-11)
    assert fit.rmsea_low == pytest.approx(low, abs=1e-8)
    assert fit.rmsea_high == pytest.approx(high, abs=1e-9)
    assert fit.ci_level == pytest.approx(level)
    assert fit.tli == pytest.approx(block["TLI"], abs=1e-10)
    assert fit.bic == pytest.approx(block["BIC"], rel=1e-8)
    assert set(fit.summary()["statistic"]) >= {"chi_square", "rmsea", "tli", "bic"}


def test_pa_promax(items, ref):
    # R: psych::fa(bfi[, 1:25], nfactors = 5, fm = "pa", rotate = "promax"): achieved gaps
    # 4.0e-15 (loadings) and 3.4e-15 (communalities); 1e-12 is the floor kept for floating-point
    # differences between machines (was 2e-3)
    block = ref["fa_pa_promax"]
    efa = EFA(5, method="pa", rotation="promax").fit(items)
    loadings, _, expected = _aligned(efa, block)
    np.testing.assert_allclose(loadings, expected, rtol=0, atol=1e-12)
    communality = pd.Series(block["communality"])
    np.testing.assert_allclose(efa.communalities_, communality, rtol=0, atol=1e-12)


def test_polychoric_minres_oblimin(items, ref):
    # R: fa(polychoric(x)$rho, nfactors = 5, n.obs = 2800, fm = "minres", rotate = "oblimin")
    block = ref["fa_poly_minres_oblimin"]
    efa = EFA(5).fit(polychoric(items))
    loadings, phi, expected = _aligned(efa, block)
    # achieved gaps 4.6e-5 (loadings) and 1.8e-5 (phi), from the polychoric correlations; 10x
    # rounded up to a power of ten (were 2e-3)
    np.testing.assert_allclose(loadings, expected, rtol=0, atol=1e-3)
    np.testing.assert_allclose(phi, np.array(block["phi"]["values"]), rtol=0, atol=1e-3)
    assert efa.n_obs_ == 2800
    same = EFA(5, correlation="polychoric").fit(items)
    np.testing.assert_allclose(same.loadings_, efa.loadings_, atol=1e-10)


def test_variance_accounted(items):
    efa = EFA(5).fit(items)
    v = efa.variance_
    # psych's Vaccounted for an oblique solution: SS = diag(Phi L'L); proportions of p
    lam, phi = efa.loadings_.to_numpy(), efa.phi_.to_numpy()
    np.testing.assert_allclose(v.loc["ss_loadings"], np.diag(phi @ lam.T @ lam))
    np.testing.assert_allclose(v.loc["proportion_var"], v.loc["ss_loadings"] / 25)
    assert v.loc["cumulative_proportion"].iloc[-1] == pytest.approx(1.0)


def test_regression_scores(items):
    efa = EFA(5).fit(items)
    scores = efa.transform(items)
    assert list(scores.columns) == list(efa.loadings_.columns)
    assert scores.index.equals(items.index)
    complete = items.notna().all(axis=1)
    assert scores[complete].notna().all().all() and scores[~complete].isna().all().all()
    # Thurstone scores: weights R^-1 S, their variance is diag(S' R^-1 S) on standardised items
    z = (items - items.mean()) / items.std()
    np.testing.assert_allclose(scores[complete], (z[complete] @ efa.weights_.to_numpy()).to_numpy())
    with pytest.raises(ValueError, match="lacks the fitted items"):
        efa.transform(items.drop(columns="A1"))


def test_correlation_matrix_input(items):
    a = EFA(3).fit(items)
    b = EFA(3).fit(items.corr(), n_obs=2800)
    np.testing.assert_allclose(a.loadings_, b.loadings_, atol=1e-8)
    assert b.fit_.chi_square == pytest.approx(a.fit_.chi_square)
    assert EFA(3).fit(items.corr()).fit_ is None


def test_heywood_case_is_flagged():
    # synthetic: item a and b nearly identical force a communality to the bound
    rng = np.random.default_rng(0)
    f = rng.standard_normal(400)
    x = pd.DataFrame(
        {
            "a": f + rng.normal(0, 0.01, 400),
            "b": f + rng.normal(0, 0.01, 400),
            "c": f + rng.normal(0, 1, 400),
            "d": rng.normal(size=400) + 0.3 * f,
            "e": rng.normal(size=400),
        }
    )
    with pytest.warns(HeywoodCaseWarning):
        efa = EFA(1, rotation=None).fit(x)
    assert "a" in efa.heywood_items_ or "b" in efa.heywood_items_


def test_bad_settings(items):
    with pytest.raises(ValueError, match="method"):
        EFA(2, method="uls").fit(items)
    with pytest.raises(ValueError, match="rotation"):
        EFA(2, rotation="quartimax").fit(items)
    with pytest.raises(ValueError, match="below the number of items"):
        EFA(25).fit(items)
    with pytest.raises(ValueError, match="not fitted"):
        EFA(2).transform(items)


def test_extract_one_factor_exact():
    # a correlation matrix generated by loadings .8, .6, .5 is reproduced exactly by minres
    # and ml (one factor fits perfectly)
    lam = np.array([0.8, 0.6, 0.5])
    r = np.outer(lam, lam)
    np.fill_diagonal(r, 1)
    for method in ("minres", "ml", "pa"):
        load, _, _ = extract_factors(r, 1, method=method)
        np.testing.assert_allclose(load.ravel(), lam, atol=1e-2 if method == "pa" else 1e-5)


def test_match_factors():
    a = np.array([[0.8, 0.1, 0], [0.7, 0, 0.1], [0, 0.9, 0], [0, 0.1, 0.7]])
    shuffled = a[:, [2, 0, 1]] * np.array([1, -1, 1])
    order, signs = match_factors(shuffled, a)
    np.testing.assert_allclose(shuffled[:, order] * signs, a)


def test_no_warnings_on_bfi(items):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        EFA(5).fit(items)
        EFA(5, method="ml", rotation="varimax").fit(items)


def test_sklearn_contract(items):
    from sklearn.base import clone

    efa = EFA(3, method="ml", rotation="varimax")
    assert efa.get_params() == {
        "n_factors": 3,
        "method": "ml",
        "rotation": "varimax",
        "correlation": "pearson",
        "alpha": 0.1,
        "min_err": 0.001,
        "max_iter": 50,
    }
    copy = clone(efa)
    assert not hasattr(copy, "loadings_")
    assert efa.fit(items) is efa
    scores = efa.fit_transform(items)
    assert scores.shape == (2800, 3)


@pytest.mark.parametrize("rotation", ["oblimin", "promax", "varimax", "geomin"])
def test_rotation_keeps_the_common_part(items, rotation):
    # any rotation leaves the model-implied correlations (L Phi L') of the unrotated solution
    unrotated = EFA(4, rotation=None).fit(items)
    rotated = EFA(4, rotation=rotation).fit(items)
    lam0 = unrotated.loadings_.to_numpy()
    lam = rotated.loadings_.to_numpy()
    phi = np.eye(4) if rotated.phi_ is None else rotated.phi_.to_numpy()
    np.testing.assert_allclose(lam @ phi @ lam.T, lam0 @ lam0.T, atol=1e-8)
    np.testing.assert_allclose(np.diag(phi), 1.0, atol=1e-10)
    assert (rotated.phi_ is None) == (rotation == "varimax")


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("method", ["minres", "ml"])
def test_extraction_agrees_with_factor_analyzer(items, method):
    # factor_analyzer 0.5.1 (unrotated, on the same pairwise correlation matrix) as a second
    # implementation of the same estimators; both match psych on bfi to ~1e-6
    from factor_analyzer import FactorAnalyzer

    r = items.corr()
    fa = FactorAnalyzer(n_factors=5, method=method, rotation=None, is_corr_matrix=True).fit(r)
    ours = EFA(5, method=method, rotation=None).fit(r, n_obs=2800).loadings_.to_numpy()
    order, signs = match_factors(fa.loadings_, ours)
    np.testing.assert_allclose(fa.loadings_[:, order] * signs, ours, atol=1e-4)


def test_factor_order_is_psychs_variance_explained_with_factor_correlations():
    # R: e <- fa(bfi[, 1:25], nfactors = 6, rotate = "oblimin", fm = "minres");
    #    psych orders by diag(Phi %*% t(L) %*% L), which here differs from colSums(L^2)
    #    (tests/data/parity_reference.json, make_parity_reference.R)
    ref = json.loads((DATA / "parity_reference.json").read_text())["efa_order"]
    data = pd.read_csv(DATA / "bfi.csv", index_col=0).iloc[:, :25]
    ss = np.array(ref["ss_loadings"])
    assert ss[1] < ss[2]  # the case discriminates: by squared loadings F2 and F3 would swap
    fit = EFA(n_factors=6, rotation="oblimin", method="minres").fit(data)
    np.testing.assert_allclose(fit.loadings_.to_numpy(), ref["loadings"], rtol=0, atol=2e-5)
    np.testing.assert_allclose(fit.phi_.to_numpy(), ref["phi"], rtol=0, atol=2e-5)  # 4.6e-6
    assert list(fit.loadings_.index) == ref["items"]
