"""Pairwise-present WLSMV (lavaan ``missing = "pairwise"``) against lavaan 0.6.14 on bfi.

References: tests/data/parity_reference.json, made by tests/data/make_parity_reference.R.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sem.wlsmv import OrdinalCFA, ordinal_statistics

DATA = Path(__file__).parent / "data"
PARITY = json.loads((DATA / "parity_reference.json").read_text())
REF = PARITY["wlsmv_pairwise"]


@pytest.fixture(scope="module")
def fit():
    # R: cfa(model, data = bfi[, 1:25], ordered = TRUE, estimator = "WLSMV", missing = "pairwise")
    data = pd.read_csv(DATA / "bfi.csv", index_col=0)
    return OrdinalCFA(PARITY["model"], missing="pairwise").fit(data)


@pytest.mark.slow
def test_pairwise_uses_every_respondent_and_reports_the_pair_counts(fit):
    # lavInspect(fit, "nobs") = 2800; bfi's pairs are answered by 2739-2791 respondents
    assert fit.n_obs_ == REF["nobs"] == 2800
    assert fit.fit_measures_["ntotal"] == REF["fit"]["ntotal"]
    assert fit.pair_n_range_ == (2739, 2791)
    assert fit.statistics_.missing == "pairwise"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "atol"),
    [
        # achieved |ours − lavaan|, written beside each: the χ²s are ~6800, so 2e-5 and 3e-4
        # absolute are 3e-9 and 4e-8 relative (lavaan's nlminb stops a little short of ours)
        ("chisq", 1e-4),  # 1.9e-5
        ("chisq.scaled", 1e-3),  # 2.6e-4
        ("cfi", 1e-8),  # 8.6e-10
        ("tli", 1e-8),  # 9.8e-10
        ("rmsea", 1e-9),  # 1.4e-10
        ("rmsea.ci.lower", 1e-9),  # 1.4e-10
        ("rmsea.ci.upper", 1e-9),  # 1.4e-10
        ("cfi.scaled", 1e-7),  # 9.3e-9
        ("tli.scaled", 1e-7),  # 1.1e-8
        ("rmsea.scaled", 1e-8),  # 1.9e-9
        ("rmsea.ci.lower.scaled", 1e-8),  # 1.9e-9
        ("rmsea.ci.upper.scaled", 1e-8),  # 1.9e-9
        ("cfi.robust", 1e-7),  # 4.4e-8
        ("tli.robust", 1e-7),  # 4.9e-8
        ("rmsea.robust", 1e-7),  # 7.7e-9
        ("rmsea.ci.lower.robust", 1e-7),  # 7.5e-9
        ("rmsea.ci.upper.robust", 1e-7),  # 7.8e-9
        ("srmr", 1e-7),  # 8.3e-9
    ],
)
def test_pairwise_fit_measures_match_lavaan(fit, name, atol):
    # R: fitMeasures(fit, c("chisq", "chisq.scaled", "cfi", ..., "rmsea.ci.upper.robust", "srmr"))
    assert fit.fit_measures_[name.replace(".", "_")] == pytest.approx(
        REF["fit"][name], rel=0, abs=atol
    )
    assert fit.fit_measures_["df"] == REF["fit"]["df"] == 265


@pytest.mark.slow
def test_pairwise_estimates_and_standard_errors_match_lavaan(fit):
    # R: parameterEstimates(fit, standardized = TRUE)
    ref = pd.DataFrame(REF["estimates"])
    m = fit.estimates_.merge(ref, on=["lhs", "op", "rhs"], suffixes=("", "_r"))
    assert len(m) == len(fit.estimates_) == 190  # loadings, factor (co)variances, thresholds
    np.testing.assert_allclose(m["est"], m["est_r"], rtol=0, atol=2e-5)  # achieved 1.0e-5
    np.testing.assert_allclose(m["se"], m["se_r"], rtol=0, atol=2e-6)  # achieved 1.0e-6
    np.testing.assert_allclose(m["std_all"], m["std.all"], rtol=0, atol=5e-6)  # achieved 1.5e-6


def _synthetic(n=600, p=4, seed=3, missing_rate=0.0):
    rng = np.random.default_rng(seed)  # synthetic: one factor, 4-point items
    y = 0.7 * rng.normal(size=(n, 1)) + np.sqrt(0.51) * rng.normal(size=(n, p))
    codes = pd.DataFrame(
        (np.digitize(y, [-1, 0, 1]) + 1).astype(float), columns=[f"i{k}" for k in range(p)]
    )
    if missing_rate:
        codes = codes.mask(rng.random(codes.shape) < missing_rate)
    return codes


def test_pairwise_on_complete_data_equals_listwise():
    codes = _synthetic()
    a = OrdinalCFA("f =~ i0 + i1 + i2 + i3").fit(codes)
    b = OrdinalCFA("f =~ i0 + i1 + i2 + i3", missing="pairwise").fit(codes)
    pd.testing.assert_series_equal(a.fit_measures_, b.fit_measures_, rtol=1e-12)
    assert b.pair_n_range_ == (600, 600)


def test_pairwise_statistics_use_each_pairs_respondents():
    codes = _synthetic(missing_rate=0.1)
    st = ordinal_statistics(codes, missing="pairwise")
    both = codes.notna().astype(int)
    expected = [int((both.iloc[:, i] * both.iloc[:, j]).sum()) for i, j in st.pairs]
    assert st.pair_n.tolist() == expected
    # each item's thresholds come from all its own answers: Φ⁻¹ of the cumulative proportions
    from scipy.stats import norm

    for item, tau in zip(st.items, st.thresholds, strict=True):
        answers = codes[item].dropna()
        expected_tau = norm.ppf(answers.value_counts(normalize=True).sort_index().cumsum()[:-1])
        np.testing.assert_allclose(tau, expected_tau, rtol=0, atol=1e-12)
        assert len(answers) < len(codes)
    with pytest.raises(ValueError, match="complete rows"):
        ordinal_statistics(codes)  # listwise needs complete rows
    with pytest.raises(ValueError, match="missing"):
        ordinal_statistics(codes, missing="ml")


def test_precomputed_pairwise_statistics_give_the_same_fit_for_a_subset_model():
    codes = _synthetic(p=6, missing_rate=0.1)
    codes.loc[codes.index[:5], ["i0", "i1", "i2"]] = np.nan  # rows empty on the subset's items
    st = ordinal_statistics(codes, missing="pairwise")
    model = "f =~ i0 + i1 + i2"
    direct = OrdinalCFA(model, missing="pairwise").fit(codes)
    shared = OrdinalCFA(model, missing="pairwise").fit(codes, statistics=st)
    assert direct.n_obs_ == shared.n_obs_ < st.n_obs
    pd.testing.assert_series_equal(direct.fit_measures_, shared.fit_measures_, rtol=1e-9)
    with pytest.raises(ValueError, match="missing='pairwise'"):
        OrdinalCFA(model).fit(codes.dropna(), statistics=st)
