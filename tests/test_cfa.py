"""ML CFA against lavaan 0.6.14 (tests/data/hs39_reference.json, bfi_reference.json; make_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.errors import NotFittedError
from analysis.sem.cfa import CFA, compare_models
from analysis.sem.engine import rmsea_interval
from analysis.sem.syntax import MeasurementModel
from instrument.errors import HeywoodCaseWarning

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def hs():
    ref = json.loads((DATA / "hs39_reference.json").read_text())
    data = pd.read_csv(DATA / "HolzingerSwineford1939.csv")
    return ref, data, CFA(ref["model"]).fit(data)


@pytest.fixture(scope="module")
def bfi():
    ref = json.loads((DATA / "bfi_reference.json").read_text())["cfa_ml"]
    data = pd.read_csv(DATA / "bfi.csv", index_col=0)
    return ref, data, CFA(ref["model"], missing="listwise").fit(data)


# R: fit <- cfa("visual =~ x1 + x2 + x3\ntextual =~ x4 + x5 + x6\nspeed =~ x7 + x8 + x9",
#               data = HolzingerSwineford1939); fitMeasures(fit, c(...))
@pytest.mark.parametrize(
    "name",
    [
        "chisq",
        "df",
        "cfi",
        "tli",
        "rmsea",
        "rmsea.ci.lower",
        "rmsea.ci.upper",
        "srmr",
        "aic",
        "bic",
        "logl",
        "npar",
    ],
)
def test_hs_fit_measures_match_lavaan(hs, name):
    ref, _, fit = hs
    # R: fitMeasures(cfa(HS.model, HolzingerSwineford1939)); achieved gap at most 3.7e-10 over
    # these measures (logl, chisq included); 10x rounded up to a power of ten (was 1e-3)
    assert fit.fit_measures_[name.replace(".", "_")] == pytest.approx(ref["fit"][name], abs=1e-8)


def test_hs_pvalue_and_sample_size(hs):
    ref, data, fit = hs
    # fitMeasures(fit)["pvalue"]: achieved relative gap 6.1e-9 (was rel 1e-4)
    assert fit.fit_measures_["pvalue"] == pytest.approx(ref["fit"]["pvalue"], rel=1e-7)
    assert fit.n_obs_ == len(data) == 301
    assert fit.converged_


def test_hs_estimates_se_and_standardized_match_lavaan(hs):
    # R: parameterEstimates(fit, standardized = TRUE)[, c("lhs","op","rhs","est","se","std.all")];
    # achieved gaps 9.9e-7 (est), 1.3e-7 (se), 3.8e-7 (std.all): lavaan's optimizer stops there;
    # 10x rounded up to a power of ten (was 1e-3)
    ref, _, fit = hs
    expected = pd.DataFrame(ref["estimates"])
    merged = expected.merge(
        fit.estimates_, on=["lhs", "op", "rhs"], suffixes=("_r", ""), validate="1:1"
    )
    assert len(merged) == len(expected) == len(fit.estimates_) == 24
    np.testing.assert_allclose(merged["est"], merged["est_r"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(merged["se"], merged["se_r"], rtol=0, atol=1e-5)
    np.testing.assert_allclose(merged["std_all"], merged["std.all"], rtol=0, atol=1e-5)


def test_hs_top_modification_indices_match_lavaan(hs):
    # R: modindices(fit, sort. = TRUE, maximum.number = 5); achieved gap 3.7e-5 (MI of about 36):
    # 10x rounded up to a power of ten is the 1e-3 kept
    ref, _, fit = hs
    expected = pd.DataFrame(ref["top_modindices"])
    got = fit.modification_indices(top=5)
    assert list(zip(got.lhs, got.op, got.rhs, strict=True)) == list(
        zip(expected.lhs, expected.op, expected.rhs, strict=True)
    )
    np.testing.assert_allclose(got["mi"], expected["mi"], atol=1e-3)
    assert len(fit.modification_indices()) == 10


@pytest.mark.parametrize(
    "name", ["cfi", "tli", "rmsea", "rmsea.ci.lower", "rmsea.ci.upper", "srmr"]
)
def test_bfi_five_factor_fit_matches_lavaan(bfi, name):
    # R: cfa(bfi five-factor model, data = bfi[, 1:25], estimator = "ML", missing = "listwise");
    # achieved gap at most 1.9e-9 over these measures; 10x rounded up (was 1e-3)
    ref, _, fit = bfi
    assert fit.fit_measures_[name.replace(".", "_")] == pytest.approx(ref["fit"][name], abs=1e-7)


def test_bfi_chisq_aic_bic_and_loadings(bfi):
    ref, _, fit = bfi
    # achieved gaps: chisq relative 1.1e-10, AIC and BIC 4.5e-7 (of about 2e5); 10x rounded up
    # (were rel 1e-3 and 1e-2). df exact; listwise N = 2436 as lavaan's ntotal
    assert fit.fit_measures_["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-9)
    assert fit.fit_measures_["df"] == ref["fit"]["df"]
    assert fit.fit_measures_["ntotal"] == ref["fit"]["ntotal"]
    assert fit.fit_measures_["aic"] == pytest.approx(ref["fit"]["aic"], abs=1e-5)
    assert fit.fit_measures_["bic"] == pytest.approx(ref["fit"]["bic"], abs=1e-5)
    # R: standardizedSolution(fit) loadings (=~ est.std): achieved gap 5.0e-6, so 1e-4 (was 1e-3);
    # reverse-keyed items load negatively
    expected = pd.DataFrame(ref["std_loadings"])
    table = fit.standardized_loadings()
    got = [table.loc[r, lhs] for lhs, r in zip(expected.lhs, expected.rhs, strict=True)]
    np.testing.assert_allclose(got, expected["est.std"], rtol=0, atol=1e-4)


def test_rmsea_interval_is_lavaans(hs):
    ref, _, _ = hs
    point, lo, hi = rmsea_interval(ref["fit"]["chisq"], 24, 301)
    assert (point, lo, hi) == pytest.approx(
        (ref["fit"]["rmsea"], ref["fit"]["rmsea.ci.lower"], ref["fit"]["rmsea.ci.upper"]), abs=1e-6
    )
    assert rmsea_interval(10.0, 24, 301)[:2] == (0.0, 0.0)  # χ² below df: point and lower bound 0


def test_model_syntax_parsing_and_errors():
    m = MeasurementModel.from_syntax(
        "# comment\nf1 =~ a + b + c; f2 =~ d + e + f\na ~~ d\nf1 ~~ f2"
    )
    assert m.latent == ("f1", "f2") and m.residual_covariances == (("a", "d"),)
    assert "a ~~ d" in m.to_syntax()
    h = MeasurementModel.from_syntax("g =~ f1 + f2 + f3\nf1 =~ a + b\nf2 =~ c + d\nf3 =~ e + f")
    assert h.second_order == ("g",) and h.first_order == ("f1", "f2", "f3")
    assert h.observed == ("a", "b", "c", "d", "e", "f")
    assert h.items_of("g") == ("a", "b", "c", "d", "e", "f")
    with pytest.raises(ValueError, match="modifiers"):
        MeasurementModel.from_syntax("f =~ NA*x1 + x2")
    with pytest.raises(ValueError, match="cannot read"):
        MeasurementModel.from_syntax("y ~ x")
    with pytest.raises(ValueError, match="mixes items and factors"):
        MeasurementModel.from_syntax("f1 =~ a + b\ng =~ f1 + c")
    with pytest.raises(ValueError, match="defined twice"):
        MeasurementModel((("f", ("a", "b")), ("f", ("c", "d"))))


def test_bad_data_is_reported_by_name(hs):
    ref, data, _ = hs
    with pytest.raises(ValueError, match="x1, x2"):
        CFA(ref["model"]).fit(data.drop(columns=["x1", "x2"]))
    with pytest.raises(ValueError, match="not numeric"):
        CFA(ref["model"]).fit(data.assign(x3="a"))
    with pytest.raises(ValueError, match="missing"):
        CFA(ref["model"], missing="pairwise").fit(data)
    with pytest.raises(NotFittedError, match="not fitted"):
        CFA(ref["model"]).modification_indices()


def test_refit_on_reordered_columns_is_identical(hs):
    ref, data, fit = hs
    again = CFA(ref["model"]).fit(data[data.columns[::-1]])
    assert again.fit_measures_["chisq"] == pytest.approx(fit.fit_measures_["chisq"], abs=1e-8)


def test_second_order_model_equivalent_to_three_correlated_factors(hs):
    # With three first-order factors a second-order factor is just-identified at the factor level:
    # the same Σ̂ as the correlated-factors model (Bollen 1989, ch. 7), so the same χ² and df.
    ref, data, fit = hs
    higher = CFA("g =~ visual + textual + speed\n" + ref["model"]).fit(data)
    assert higher.fit_measures_["df"] == 24
    # lavaan's chisq of the correlated-factors model: achieved gap 1.8e-10 (was 1e-3)
    assert higher.fit_measures_["chisq"] == pytest.approx(ref["fit"]["chisq"], abs=1e-8)
    loadings = higher.standardized_loadings()
    assert set(loadings.columns) == {"g", "visual", "textual", "speed"}


def test_compare_models_nested_difference_test(hs):
    ref, data, fit = hs
    one = CFA("g =~ " + " + ".join(f"x{k}" for k in range(1, 10))).fit(data)
    table = compare_models({"three": fit, "one": one})
    assert list(table["model"]) == ["one", "three"]
    row = table.iloc[0]
    assert row["nested"] and row["delta_df"] == 3
    assert row["delta_chisq"] == pytest.approx(
        one.fit_measures_["chisq"] - fit.fit_measures_["chisq"]
    )
    assert np.isnan(table.iloc[1]["delta_chisq"])


def test_heywood_case_warns():
    # SYNTHETIC data with sample correlations r12 = .8, r13 = .9, r23 = .6 exactly: the
    # just-identified
    # one-factor solution has λ1² = r12·r13/r23 = 1.2, i.e. a residual variance of −0.2 for a.
    target = np.array([[1, 0.8, 0.9], [0.8, 1, 0.6], [0.9, 0.6, 1]])
    z = np.random.default_rng(0).normal(size=(400, 3))
    z -= z.mean(axis=0)
    z = z @ np.linalg.inv(np.linalg.cholesky(z.T @ z / 400).T) @ np.linalg.cholesky(target).T
    with pytest.warns(HeywoodCaseWarning, match="a"):
        fit = CFA("f =~ a + b + c").fit(pd.DataFrame(z, columns=list("abc")))
    theta_a = fit.estimates_.query("lhs == 'a' and op == '~~' and rhs == 'a'")["est"].item()
    assert theta_a == pytest.approx(-0.2, abs=1e-6)


def test_compare_models_does_not_test_non_nested_models(hs):
    _, data, _ = hs
    a = CFA("f =~ x1 + x2 + x3 + x4\ng =~ x5 + x6 + x7 + x8 + x9").fit(data)
    b = CFA("f =~ x1 + x2 + x3 + x4 + x5\ng =~ x6 + x7 + x8 + x9").fit(data)
    table = compare_models({"a": a, "b": b})
    assert not table["nested"].any() and table["delta_chisq"].isna().all()
    assert table["aic"].notna().all()
    other = CFA("f =~ x1 + x2 + x3").fit(data.iloc[:200])
    with pytest.raises(ValueError, match="different numbers of respondents"):
        compare_models({"a": a, "other": other})


# --- full-information ML (missing = "ml") -----------------------------------------------------
def _with_holes(data: pd.DataFrame, share: float, seed: int) -> pd.DataFrame:
    """HS items with a share of cells deleted completely at random (SYNTHETIC missingness)."""
    items = data[[f"x{k}" for k in range(1, 10)]]
    return items.mask(np.random.default_rng(seed).random(items.shape) < share)


def test_fiml_on_complete_data_is_ml_with_a_mean_structure(hs):
    # With no missing answers FIML is ML with saturated means: lavaan's χ², df, CFI, TLI, RMSEA and
    # logl are unchanged (reference values: achieved gap 1.8e-10 for these, 1.6e-10 for AIC and BIC;
    # 1e-8 is 10x rounded up, was 1e-3) and 9 intercepts join the 21 parameters, so
    # AIC = −2·logl + 2·30 and BIC = −2·logl + 30·log N from lavaan's logl.
    ref, data, _ = hs
    fit = CFA(ref["model"], missing="ml").fit(data)
    for name in ["chisq", "df", "cfi", "tli", "rmsea", "logl"]:
        assert fit.fit_measures_[name] == pytest.approx(ref["fit"][name], abs=1e-8)
    assert fit.fit_measures_["npar"] == 30
    assert fit.fit_measures_["aic"] == pytest.approx(-2 * ref["fit"]["logl"] + 60, abs=1e-8)
    assert fit.fit_measures_["bic"] == pytest.approx(
        -2 * ref["fit"]["logl"] + 30 * np.log(301), abs=1e-8
    )
    est = fit.estimates_
    expected = pd.DataFrame(ref["estimates"]).merge(
        est, on=["lhs", "op", "rhs"], suffixes=("_r", "")
    )
    np.testing.assert_allclose(expected["est"], expected["est_r"], atol=1e-4)
    intercepts = est[(est["op"] == "~1") & est["lhs"].str.startswith("x")].set_index("lhs")["est"]
    np.testing.assert_allclose(intercepts, data[[f"x{k}" for k in range(1, 10)]].mean(), atol=1e-6)
    with pytest.raises(NotImplementedError):
        fit.modification_indices()


def test_fiml_just_identified_model_reaches_the_em_saturated_likelihood(hs):
    # Two independent routes to the same maximum: a just-identified model (3 items, df 0) fitted by
    # FIML must attain the saturated log-likelihood that EM finds, so χ² ≈ 0.
    _, data, _ = hs
    holes = _with_holes(data, 0.2, seed=3)
    fit = CFA("f =~ x1 + x2 + x3", missing="ml").fit(holes)
    assert fit.fit_measures_["df"] == 0
    assert fit.fit_measures_["chisq"] == pytest.approx(0.0, abs=1e-6)
    assert fit.fit_measures_["logl"] == pytest.approx(
        fit.fit_measures_["unrestricted_logl"], abs=1e-6
    )


def test_fiml_gradient_is_the_derivative_of_the_likelihood(hs):
    from analysis.sem.engine import Structure, missing_stats, objective

    ref, data, _ = hs
    holes = _with_holes(data, 0.2, seed=4).to_numpy()
    model = MeasurementModel.from_syntax(ref["model"])
    struct = Structure(model, 1, meanstructure=True)
    st = [missing_stats(holes, None)]
    theta = struct.start(st) * 1.1
    _, grad, _ = objective(struct, st, theta, grad=True, info=False)
    numeric = []
    for k in range(len(theta)):
        e = np.zeros_like(theta)
        e[k] = 1e-6
        numeric.append(
            (
                objective(struct, st, theta + e, grad=False, info=False)[0]
                - objective(struct, st, theta - e, grad=False, info=False)[0]
            )
            / 2e-6
        )
    np.testing.assert_allclose(grad, numeric, atol=1e-6)


def test_fiml_with_missing_answers_uses_everyone(hs):
    ref, data, complete = hs
    holes = _with_holes(data, 0.1, seed=7)
    listwise = CFA(ref["model"]).fit(holes)
    fiml = CFA(ref["model"], missing="ml").fit(holes)
    assert listwise.n_obs_ < 301 == fiml.n_obs_ == fiml.fit_measures_["ntotal"]
    assert fiml.converged_
    fm = fiml.fit_measures_
    assert fm["logl"] < fm["unrestricted_logl"] and 0 < fm["chisq"] < fm["baseline_chisq"]
    # estimates stay near the complete-data ones (10% MCAR holes)
    a = fiml.estimates_.query("op == '=~'")["est"].to_numpy()
    b = complete.estimates_.query("op == '=~'")["est"].to_numpy()
    np.testing.assert_allclose(a, b, atol=0.2)
    se = fiml.estimates_.query("op == '=~' and se > 0")["se"]
    assert (se > complete.estimates_.query("op == '=~' and se > 0")["se"].to_numpy() * 0.9).all()
