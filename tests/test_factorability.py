"""KMO and Bartlett's test against psych 2.2.9 on bfi (tests/data/bfi_reference.json)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.factor.factorability import as_correlation, bartlett_sphericity, kmo
from analysis.factor.polychoric import polychoric

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def items() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv", index_col=0).iloc[:, :25]


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "bfi_reference.json").read_text())


def test_kmo_matches_psych(items, ref):
    # R: psych::KMO(bfi[, 1:25]) (pairwise correlations): achieved gaps 3.3e-16 (overall) and
    # 8.9e-16 (items); 1e-12 is the floor kept for floating-point differences between machines
    # (was 1e-3)
    res = kmo(items)
    assert res.overall == pytest.approx(ref["kmo"]["overall"], abs=1e-12)
    expected = pd.Series(ref["kmo"]["items"])
    np.testing.assert_allclose(res.items[expected.index], expected, rtol=0, atol=1e-12)
    s = res.summary()
    assert list(s.columns) == ["item", "msa"] and len(s) == 26


def test_kmo_same_from_matrix(items):
    r = items.corr()
    assert kmo(r).overall == pytest.approx(kmo(items).overall, abs=1e-12)


def test_bartlett_matches_psych(items, ref):
    # R: psych::cortest.bartlett(cor(x, use = "pairwise"), n = 2800): chi2 achieved relative gap
    # 2.0e-15, so rel 1e-12 (the floating-point floor; was 1e-3)
    b = ref["bartlett"]
    res = bartlett_sphericity(items)
    assert res.chi_square == pytest.approx(b["chisq"], rel=1e-12)
    assert res.dof == b["df"]
    assert res.p_value == pytest.approx(b["p"], abs=1e-12)
    assert res.n_obs == 2800
    via_matrix = bartlett_sphericity(items.corr(), n_obs=2800)
    assert via_matrix.chi_square == pytest.approx(b["chisq"], rel=1e-12)  # gap 9.0e-16


def test_on_polychoric(items):
    poly = polychoric(items)
    res = bartlett_sphericity(poly)
    assert res.n_obs == 2800 and res.chi_square > 0
    assert 0 < kmo(poly).overall < 1


def test_matrix_without_n_is_an_error(items):
    with pytest.raises(ValueError, match="n_obs is required"):
        bartlett_sphericity(items.corr())


def test_as_correlation_rejects_text():
    with pytest.raises(ValueError, match="non-numeric"):
        as_correlation(pd.DataFrame({"a": ["x", "y"], "b": [1, 2]}))
    with pytest.raises(ValueError, match="correlation must be"):
        as_correlation(pd.DataFrame({"a": [1, 2]}), correlation="spearman")
