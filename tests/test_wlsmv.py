"""Ordinal CFA (DWLS on polychoric correlations, WLSMV test) against lavaan 0.6.14 on bfi."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.factor.polychoric import polychoric
from analysis.sem.wlsmv import OrdinalCFA, ordinal_statistics

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def bfi():
    ref = json.loads((DATA / "bfi_reference.json").read_text())["cfa_wlsmv"]
    data = pd.read_csv(DATA / "bfi.csv", index_col=0)
    return ref, data, OrdinalCFA(ref["model"]).fit(data)


@pytest.mark.parametrize(
    "name", ["cfi", "tli", "rmsea", "cfi.scaled", "tli.scaled", "rmsea.scaled", "srmr"]
)
def test_bfi_wlsmv_fit_indices_match_lavaan(bfi, name):
    # R: cfa(five-factor model, data = bfi[, 1:25], ordered = TRUE, estimator = "WLSMV");
    #    fitMeasures(fit, c(...)). Issue 4 asks for 1e-2; achieved 1.3e-8 at most.
    ref, _, fit = bfi
    assert fit.fit_measures_[name.replace(".", "_")] == pytest.approx(ref["fit"][name], abs=1e-7)


def test_bfi_wlsmv_test_statistics_match_lavaan(bfi):
    ref, _, fit = bfi
    # chisq (DWLS) and chisq.scaled (scaled.shifted): achieved 4.1e-9 and 5.1e-8 relative (lavaan's
    # nlminb stops a little short of ours); df exact; listwise N = 2436
    assert fit.fit_measures_["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-8)
    assert fit.fit_measures_["chisq_scaled"] == pytest.approx(ref["fit"]["chisq.scaled"], rel=1e-7)
    assert fit.fit_measures_["df"] == ref["fit"]["df"] == fit.fit_measures_["df_scaled"]
    assert fit.fit_measures_["ntotal"] == ref["fit"]["ntotal"]
    assert (
        fit.fit_measures_["npar"] == 25 * 5 + 20 + 15
    )  # thresholds + loadings + factor (co)variances
    assert fit.converged_


def test_bfi_wlsmv_standardized_loadings_match_lavaan(bfi):
    # R: standardizedSolution(fit) =~ rows (est.std); achieved 2.5e-6 (lavaan's optimizer stop)
    ref, _, fit = bfi
    expected = pd.DataFrame(ref["std_loadings"])
    table = fit.standardized_loadings()
    got = [table.loc[r, lhs] for lhs, r in zip(expected.lhs, expected.rhs, strict=True)]
    np.testing.assert_allclose(got, expected["est.std"], atol=1e-5)


def test_estimates_table_has_thresholds_and_derived_residuals(bfi):
    _, _, fit = bfi
    est = fit.estimates_
    th = est[est["op"] == "|"]
    assert len(th) == 125 and set(th["rhs"]) == {"t1", "t2", "t3", "t4", "t5"}
    resid = est[
        (est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].str.match(r"^[ACENO]\d$")
    ]
    load = est[est["op"] == "=~"].set_index("rhs")["std_all"]
    # delta parameterization: residual variance = 1 − λ*² (latent-response variance 1)
    np.testing.assert_allclose(
        resid.set_index("lhs")["est"], 1 - load.loc[resid["lhs"]].to_numpy() ** 2, atol=1e-10
    )
    assert (resid["se"] == 0).all()
    free = est[(est["op"] == "=~") & (est["se"] > 0)]
    assert (
        len(free) == 20 and (free["z"].abs() > 5).all()
    )  # sanity only: lavaan SEs are not in the reference
    with pytest.raises(NotImplementedError):
        fit.modification_indices()


def test_polychoric_correlations_agree_with_the_polychoric_module(bfi):
    # same two-step ML with no empty-cell correction (psych's global-threshold branch); 6e-10
    _, data, fit = bfi
    complete = data[list(fit.model_.observed)].dropna()
    ours = fit.statistics_.correlations
    other = polychoric(complete, correct=0.0, smooth=False).rho
    np.testing.assert_allclose(
        ours.to_numpy(), other.loc[ours.index, ours.columns].to_numpy(), atol=1e-8
    )


def test_ordinal_statistics_on_synthetic_data():
    # SYNTHETIC: bivariate normal with ρ = .5 cut into 3 and 4 categories; the SE of ρ from Γ should
    # be close to the Monte Carlo-free large-sample value (1 − ρ²)/√N times an ordinal inflation
    rng = np.random.default_rng(2)
    z = rng.multivariate_normal([0, 0, 0], [[1, 0.5, 0.4], [0.5, 1, 0.3], [0.4, 0.3, 1]], size=5000)
    codes = pd.DataFrame(
        {
            "a": np.digitize(z[:, 0], [-0.5, 0.7]),
            "b": np.digitize(z[:, 1], [-1, 0, 1]) + 1,
            "c": np.digitize(z[:, 2], [0.2]) * 3,
        }
    )
    st = ordinal_statistics(codes)
    assert st.categories[2] == (0.0, 3.0) and len(st.thresholds[1]) == 3
    np.testing.assert_allclose(st.thresholds[1], [-1, 0, 1], atol=0.05)
    assert st.correlations.loc["a", "b"] == pytest.approx(0.5, abs=0.05)
    summ = st.summary()
    se = summ.query("lhs == 'a' and op == '~~' and rhs == 'b'")["se"].item()
    assert (1 - 0.25) / np.sqrt(5000) < se < 2 * (1 - 0.25) / np.sqrt(5000)
    with pytest.raises(ValueError, match="non-integer"):
        ordinal_statistics(codes.assign(a=codes["a"] + 0.5))
    with pytest.raises(ValueError, match="single observed answer"):
        ordinal_statistics(codes.assign(c=1))


def test_bad_arguments(bfi):
    ref, data, _ = bfi
    with pytest.raises(ValueError, match="estimator"):
        OrdinalCFA(ref["model"], estimator="ULSMV").fit(data)
    with pytest.raises(ValueError, match="not columns"):
        OrdinalCFA("f =~ A1 + A2 + zz").fit(data)


def test_validity_of_an_ordinal_fit_uses_polychoric_correlations(bfi):
    from analysis.sem.validity import htmt, validity

    _, data, fit = bfi
    res = validity(fit, data)
    expected = htmt(fit.statistics_.correlations, fit.model_, matrix=True)
    assert res.htmt.loc["agree", "extraversion"] == pytest.approx(
        expected.loc["agree", "extraversion"]
    )
    # AVE on the latent-response scale: mean squared standardized loading
    lam = fit.standardized_loadings()["neuroticism"]
    assert res.factors.loc["neuroticism", "ave"] == pytest.approx(
        float((lam[lam != 0] ** 2).mean())
    )


def test_precomputed_statistics_give_the_same_fits_as_per_model_ones(bfi):
    # Statistics computed once on the bfi complete rows (all 25 items) and reused for a one-factor
    # model of a subset of items in another order and for the five-factor lavaan model: the same
    # fit as OrdinalCFA computing them itself (lavaan's numbers, checked above), up to rounding.
    ref, data, per_model = bfi
    items = list(data.columns[:25])
    complete = data[items].dropna()
    shared = ordinal_statistics(complete)
    again = OrdinalCFA(ref["model"]).fit(complete, statistics=shared)
    pd.testing.assert_series_equal(
        again.fit_measures_, per_model.fit_measures_, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        again.estimates_["se"], per_model.estimates_["se"], rtol=1e-8, atol=1e-12
    )
    one = "n =~ N5 + N1 + N3 + N2 + N4"
    direct = OrdinalCFA(one).fit(complete[["N1", "N2", "N3", "N4", "N5"]])
    reused = OrdinalCFA(one).fit(complete, statistics=shared)
    assert reused.statistics_.items == ("N5", "N1", "N3", "N2", "N4")
    np.testing.assert_allclose(
        reused.statistics_.acov, direct.statistics_.acov, rtol=1e-9, atol=1e-15
    )
    pd.testing.assert_series_equal(
        reused.fit_measures_, direct.fit_measures_, rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        reused.estimates_["est"], direct.estimates_["est"], rtol=1e-9, atol=1e-12
    )
    np.testing.assert_allclose(
        reused.estimates_["se"], direct.estimates_["se"], rtol=1e-8, atol=1e-12
    )
    # statistics of other rows are refused
    with pytest.raises(ValueError, match="computed on .* rows, but the model uses"):
        OrdinalCFA(one).fit(complete.iloc[:500], statistics=shared)
    with pytest.raises(ValueError, match="not among the statistics' items"):
        OrdinalCFA("g =~ N1 + N2 + X").fit(complete.assign(X=complete["N3"]), statistics=shared)


# --- issue 11: SEs and RMSEA intervals (tests/data/parity_reference.json, make_parity_reference.R)
PARITY = json.loads((DATA / "parity_reference.json").read_text())


def test_bfi_wlsmv_standard_errors_match_lavaan(bfi):
    # R: fit <- cfa(model, data = bfi[, 1:25], ordered = TRUE, estimator = "WLSMV");
    #    parameterEstimates(fit, standardized = TRUE) — lavaan divides by N − 1 (one group)
    _, _, fit = bfi
    ref = pd.DataFrame(PARITY["wlsmv_listwise"]["estimates"])
    m = fit.estimates_.merge(ref, on=["lhs", "op", "rhs"], suffixes=("", "_r"))
    assert len(m) == len(fit.estimates_) == 190  # loadings, factor (co)variances, thresholds
    tested = m[m["se"] > 0]
    assert len(tested) == 160
    np.testing.assert_allclose(m["est"], m["est_r"], rtol=0, atol=2e-5)  # achieved 7.5e-6
    np.testing.assert_allclose(m["se"], m["se_r"], rtol=0, atol=1e-6)  # achieved 4.0e-7


@pytest.mark.parametrize(
    "name",
    ["rmsea_ci_lower", "rmsea_ci_upper", "rmsea_ci_lower_scaled", "rmsea_ci_upper_scaled"],
)
def test_bfi_wlsmv_rmsea_intervals_match_lavaan(bfi, name):
    # R: fitMeasures(fit, c("rmsea.ci.lower", "rmsea.ci.upper", "rmsea.ci.lower.scaled", ...))
    _, _, fit = bfi
    expected = PARITY["wlsmv_listwise"]["fit"][name.replace("_", ".")]
    assert fit.fit_measures_[name] == pytest.approx(expected, rel=0, abs=1e-8)  # achieved 3e-9


@pytest.mark.parametrize(
    "name",
    [
        "cfi_robust",
        "tli_robust",
        "rmsea_robust",
        "rmsea_ci_lower_robust",
        "rmsea_ci_upper_robust",
    ],
)
def test_bfi_wlsmv_robust_fit_measures_match_lavaan(bfi, name):
    # R (lavaan 0.6.14, lav_fit_catml_dwls): fit <- cfa(model, data = bfi[, 1:25], ordered = TRUE,
    #    estimator = "WLSMV"); fitMeasures(fit, c("cfi.robust", "tli.robust", "rmsea.robust",
    #    "rmsea.ci.lower.robust", "rmsea.ci.upper.robust"))
    _, _, fit = bfi
    expected = PARITY["wlsmv_listwise"]["fit"][name.replace("_", ".")]
    # achieved: CFI/TLI 6.0e-8, RMSEA and its interval 9.8e-9
    assert fit.fit_measures_[name] == pytest.approx(expected, rel=0, abs=1e-7)


def test_robust_fit_measures_are_nan_for_a_polychoric_matrix_that_is_not_positive_definite():
    # lavaan returns NA for cfi.robust & co when an eigenvalue of the polychoric matrix < √ε
    from analysis.sem.wlsmv import _robust_catml

    R = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, -0.9], [0.9, -0.9, 1.0]])  # indefinite
    pairs = np.array([[1, 0], [2, 0], [2, 1]])
    out = _robust_catml(
        R, np.eye(3), pairs, np.ones((3, 1)), np.ones(3), np.eye(1), np.eye(3), 100, 2
    )
    assert all(np.isnan(v) for v in out.values())
