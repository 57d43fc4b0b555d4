"""Item analysis: parity with R psych 2.2.9 on bfi (tests/data/bfi_reference.json) and descriptive
statistics checked against independent formulas (scipy, pandas)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from analysis.study.items import item_analysis
from instrument.spec import load_instrument

DATA = Path(__file__).resolve().parent / "data"
ROOT = Path(__file__).resolve().parent.parent
SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]
# psych::alpha(x, keys, check.keys = FALSE)$item.stats and $alpha.drop on bfi: achieved gap at most
# 1.6e-15; 1e-12 is the floor kept for floating-point differences between machines (was 1e-3)
TOL = 1e-12


@pytest.fixture(scope="module")
def bfi() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv", index_col=0)


@pytest.fixture(scope="module")
def ref() -> dict:
    return json.loads((DATA / "bfi_reference.json").read_text())


def _by_item(values: dict, items: list[str]) -> np.ndarray:
    # psych marks reversed items with a trailing "-" in row names ("A1-")
    return np.array([values[i] if i in values else values[i + "-"] for i in items])


@pytest.mark.parametrize("scale", SCALES)
def test_item_scale_statistics_match_psych(bfi, ref, scale):
    spec = ref["scales"][scale]
    items = spec["items"]
    res = item_analysis(bfi[items], keys=spec["reversed"], scale_min=1, scale_max=6, scale=scale)
    table = res.items
    # R: a <- psych::alpha(x, keys = reversed, check.keys = FALSE)
    np.testing.assert_allclose(
        table["r_drop"], _by_item(spec["r_drop"], items), rtol=0, atol=TOL
    )  # a$item.stats$r.drop
    np.testing.assert_allclose(
        table["r_cor"], _by_item(spec["r_cor"], items), rtol=0, atol=TOL
    )  # a$item.stats$r.cor
    np.testing.assert_allclose(  # a$alpha.drop$raw_alpha
        table["alpha_if_dropped"], _by_item(spec["alpha_if_dropped"], items), rtol=0, atol=TOL
    )
    np.testing.assert_array_equal(table["n"], _by_item(spec["item_n"], items))  # a$item.stats$n
    assert list(table["keyed"]) == [-1 if i in spec["reversed"] else 1 for i in items]
    assert res.missing == "pairwise" and res.n_obs == 2800


def test_keys_from_the_instrument_give_the_same_table(bfi, ref):
    spec = ref["scales"]["extraversion"]
    bfi_spec = load_instrument(ROOT / "examples" / "bfi.yaml")
    res = item_analysis(bfi[spec["items"]], keys=bfi_spec)
    np.testing.assert_allclose(
        res.items["r_drop"], _by_item(spec["r_drop"], spec["items"]), rtol=0, atol=TOL
    )
    assert res.codes == (1.0, 2.0, 3.0, 4.0, 5.0, 6.0)  # the response scale's codes
    assert (res.scale_min, res.scale_max) == (1.0, 6.0)


def test_descriptives_against_independent_formulas(bfi):
    items = ["O1", "O2", "O3", "O4", "O5"]
    res = item_analysis(bfi[items], keys=["O2", "O5"], scale_min=1, scale_max=6)
    table = res.items
    for item in items:
        x = bfi[item].dropna().to_numpy(float)
        n = len(x)
        # psych::describe type 3: b1 = g1 ((n-1)/n)^(3/2), b2 = (g2 + 3) ((n-1)/n)^2 - 3
        b1 = stats.skew(x, bias=True) * ((n - 1) / n) ** 1.5
        b2 = (stats.kurtosis(x, fisher=True, bias=True) + 3) * ((n - 1) / n) ** 2 - 3
        assert table.loc[item, "skew"] == pytest.approx(b1, abs=1e-10)
        assert table.loc[item, "kurtosis"] == pytest.approx(b2, abs=1e-10)
        # described as answered, before reverse keying
        assert table.loc[item, "mean"] == pytest.approx(x.mean(), abs=1e-12)
        assert table.loc[item, "sd"] == pytest.approx(x.std(ddof=1), abs=1e-12)
        shares = pd.Series(x).value_counts(normalize=True)
        for code in range(1, 7):
            assert table.loc[item, f"share_{code}"] == pytest.approx(
                shares.get(float(code), 0.0), abs=1e-12
            )
        assert table.loc[item, "floor"] == pytest.approx(shares.get(1.0, 0.0), abs=1e-12)
        assert table.loc[item, "ceiling"] == pytest.approx(shares.get(6.0, 0.0), abs=1e-12)
        assert table.loc[item, "missing_share"] == pytest.approx(bfi[item].isna().mean(), abs=1e-12)
    # raw.r: correlation with the mean of the answered keyed items (pairwise complete)
    keyed = bfi[items].copy()
    keyed[["O2", "O5"]] = 7 - keyed[["O2", "O5"]]
    score = keyed.mean(axis=1)
    for item in items:
        both = keyed[item].notna() & score.notna()
        r = np.corrcoef(keyed.loc[both, item], score[both])[0, 1]
        assert table.loc[item, "raw_r"] == pytest.approx(r, abs=1e-12)


def test_listwise_and_summary(bfi):
    items = ["N1", "N2", "N3", "N4", "N5"]
    res = item_analysis(bfi[items], missing="listwise", scale="neuroticism")
    complete = bfi[items].dropna()
    assert res.missing == "listwise" and res.n_obs == len(complete)
    assert (res.items["n"] == len(complete)).all()
    assert (res.items["missing_share"] == 0).all()
    summary = res.summary()
    assert list(summary.columns[:2]) == ["scale", "item"]
    assert set(summary["scale"]) == {"neuroticism"} and len(summary) == 5


def test_two_items_have_no_alpha_if_dropped():
    df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [2, 1, 4, 3]})
    res = item_analysis(df)
    assert res.items["alpha_if_dropped"].isna().all()
    # item-rest r of two items is their correlation, (1.0) / (5/3) = 0.6
    np.testing.assert_allclose(res.items["r_drop"], [0.6, 0.6])


def test_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        item_analysis(pd.DataFrame({"a": [1, 2, 3]}))
    with pytest.raises(ValueError, match="non-numeric.*b"):
        item_analysis(pd.DataFrame({"a": [1, 2, 3], "b": ["x", "2", "3"]}))
    with pytest.raises(ValueError, match="scale_min"):
        item_analysis(pd.DataFrame({"a": [1, 2, 3], "b": [3, 1, 2]}), scale_min=1)
