"""Norm tables (instrument/norms.py): z, T, mid-rank percentiles, groups, JSON round trip."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instrument.errors import DataError
from instrument.norms import NormTable
from instrument.score import score_items
from instrument.spec import load_instrument

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def bfi():
    return load_instrument(ROOT / "examples" / "bfi.yaml")


@pytest.fixture(scope="module")
def bfi_scores():
    # psych::scoreItems(keys, bfi[1:25], totals = FALSE, impute = "none")$scores, plus gender
    scores = pd.read_csv(DATA / "bfi_scores_mean_impute_none.csv")
    scores["gender"] = pd.read_csv(DATA / "bfi.csv")["gender"].to_numpy()
    return scores


def test_statistics_match_r(bfi, bfi_scores):
    norms = NormTable(instrument=bfi).fit(bfi_scores)
    summary = norms.summary().set_index("scale")
    # R: mean(s$agree); sd(s$agree); quantile(s$agree, c(.05, .25, .5, .95)) (type 7) computed here
    # with numpy's identical definitions (np.std ddof=1, np.percentile "linear" = R type 7)
    for scale in ["agree", "openness"]:
        x = bfi_scores[scale].to_numpy()
        assert summary.loc[scale, "n"] == 2800
        assert summary.loc[scale, "mean"] == pytest.approx(x.mean(), abs=1e-12)
        assert summary.loc[scale, "sd"] == pytest.approx(x.std(ddof=1), abs=1e-12)
        for p in (5, 25, 50, 95):
            assert summary.loc[scale, f"p{p}"] == pytest.approx(np.percentile(x, p), abs=1e-12)


def test_transform_z_t_and_midrank_percentile(bfi_scores):
    norms = NormTable(scales=["agree"]).fit(bfi_scores)
    out = norms.transform(bfi_scores)
    x = bfi_scores["agree"].to_numpy()
    z = (x - x.mean()) / x.std(ddof=1)
    np.testing.assert_allclose(out["agree_z"], z, atol=1e-12)
    np.testing.assert_allclose(out["agree_t"], 50 + 10 * z, atol=1e-10)
    # mid-rank percentile by its definition, counted directly
    for value in (1.0, 4.0, 4.2, 6.0):
        expected = 100 * ((x < value).sum() + (x == value).sum() / 2) / len(x)
        got = norms.transform(pd.DataFrame({"agree": [value]}))["agree_pct"].iloc[0]
        assert got == pytest.approx(expected, abs=1e-12)
    assert np.isnan(norms.transform(pd.DataFrame({"agree": [np.nan]}))["agree_pct"].iloc[0])
    assert list(out.columns[-3:]) == ["agree_z", "agree_t", "agree_pct"]


def test_groups_and_partial_fit(bfi_scores):
    whole = NormTable(scales=["neuroticism"]).fit(bfi_scores, group="gender")
    parts = NormTable(scales=["neuroticism"])
    parts.partial_fit(bfi_scores.iloc[:1234], group="gender").partial_fit(
        bfi_scores.iloc[1234:], group="gender"
    )
    assert whole.norms_ == parts.norms_
    assert sorted(whole.norms_) == ["1", "2"]
    women = bfi_scores.loc[bfi_scores["gender"] == 2, "neuroticism"]
    assert whole.norms_["2"]["neuroticism"]["mean"] == pytest.approx(women.mean(), abs=1e-12)
    out = whole.transform(bfi_scores)
    first_woman = women.index[0]
    assert out.loc[first_woman, "neuroticism_z"] == pytest.approx(
        (women[first_woman] - women.mean()) / women.std(ddof=1), abs=1e-12
    )
    unknown = whole.transform(pd.DataFrame({"neuroticism": [3.0], "gender": [3]}))
    assert np.isnan(unknown["neuroticism_z"].iloc[0])


def test_json_round_trip_and_instrument_check(tmp_path, bfi, bfi_scores):
    norms = NormTable(instrument=bfi).fit(bfi_scores, group="gender")
    path = norms.save(tmp_path / "norms.json")
    data = json.loads(path.read_text())
    assert data["instrument"] == {"name": bfi.name, "version": bfi.version}
    loaded = NormTable.load(path, instrument=bfi)
    pd.testing.assert_frame_equal(loaded.transform(bfi_scores), norms.transform(bfi_scores))
    other = load_instrument(DATA / "scoring_spec.yaml")
    with pytest.raises(DataError, match="norms were made for"):
        NormTable.load(path, instrument=other)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(DataError, match="not an MHDQ norms file"):
        NormTable.load(tmp_path / "bad.json")


def test_sklearn_contract(bfi):
    table = NormTable(scales=["a"])
    assert table.scales == ["a"] and not hasattr(table, "norms_")
    with pytest.raises(ValueError, match="not fitted"):
        table.transform(pd.DataFrame({"a": [1.0]}))
    fitted = table.fit(pd.DataFrame({"a": [1.0, 2.0]}))
    assert fitted is table
    scores = pd.DataFrame({"a": [1.5]})
    before = scores.copy()
    table.transform(scores)
    pd.testing.assert_frame_equal(scores, before)
    with pytest.raises(ValueError, match="missing score column"):
        table.transform(pd.DataFrame({"b": [1.0]}))


def test_scores_from_score_items_can_be_normed():
    spec = load_instrument(DATA / "scoring_spec.yaml")
    codes = pd.DataFrame({f"a{i}": [1.0, 3.0, 5.0] for i in range(1, 7)})
    scores = score_items(codes, spec)
    norms = NormTable(instrument=spec).fit(scores)
    assert norms.scales_ == ["total", "a", "b"]
    assert norms.norms_["all"]["b"]["n"] == 0  # nobody answered b
    assert norms.transform(scores)["b_pct"].isna().all()
