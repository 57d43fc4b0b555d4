"""Norms and individual scores: the reliability warning and each T score's measurement-error
interval (instrument/norms.py).

Expected values by hand: with reliability r the SEM in T units is 10 * sqrt(1 - r); for
r = .91 that is exactly 3, and the 95% interval is T -/+ 1.959963984540054 * 3 (the normal
quantile, R ``qnorm(0.975)``)."""

from __future__ import annotations

import warnings

import pandas as pd
import pytest

from instrument.norms import IndividualScoreWarning, NormTable

REF = pd.DataFrame({"anx": [1.0, 2.0, 2.0, 3.0], "dep": [1.0, 1.0, 2.0, 4.0]})
QNORM_975 = 1.959963984540054  # qnorm(0.975) in R


def test_interval_from_reliability():
    norms = NormTable(reliability={"anx": 0.91, "dep": 0.95}).fit(REF)
    out = norms.transform(pd.DataFrame({"anx": [2.0], "dep": [1.0]}))
    assert out.loc[0, "anx_t"] == pytest.approx(50.0, abs=1e-12)
    assert out.loc[0, "anx_t_low"] == pytest.approx(50 - QNORM_975 * 3, abs=1e-9)
    assert out.loc[0, "anx_t_high"] == pytest.approx(50 + QNORM_975 * 3, abs=1e-9)
    half = (out.loc[0, "dep_t_high"] - out.loc[0, "dep_t_low"]) / 2
    assert half == pytest.approx(QNORM_975 * 10 * 0.05**0.5, abs=1e-9)


def test_ci_level_changes_the_width():
    norms = NormTable(reliability={"anx": 0.91}, ci_level=0.6826894921370859).fit(REF[["anx"]])
    out = norms.transform(pd.DataFrame({"anx": [2.0]}))
    assert out.loc[0, "anx_t_high"] - out.loc[0, "anx_t"] == pytest.approx(3.0, abs=1e-9)


def test_warns_when_reliability_is_low_or_unknown():
    with pytest.warns(IndividualScoreWarning, match=r"anx \(0.80\).*not given: dep"):
        norms = NormTable(reliability={"anx": 0.80}).fit(REF)
    out = norms.transform(pd.DataFrame({"anx": [2.0], "dep": [2.0]}))
    assert "anx_t_low" in out and "dep_t_low" not in out
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        NormTable(reliability={"anx": 0.92, "dep": 0.90}).fit(REF)


def test_bad_reliability():
    with pytest.raises(ValueError, match="reliability: anx must be a number between 0 and 1"):
        NormTable(reliability={"anx": 1.2}).fit(REF)
    with pytest.raises(ValueError, match="unknown scale"):
        NormTable(reliability={"stress": 0.9}).fit(REF)


def test_reliability_survives_save_and_load(tmp_path):
    norms = NormTable(reliability={"anx": 0.91, "dep": 0.93}).fit(REF)
    path = norms.save(tmp_path / "norms.json")
    loaded = NormTable.load(path)
    new = pd.DataFrame({"anx": [3.0], "dep": [4.0]})
    pd.testing.assert_frame_equal(loaded.transform(new), norms.transform(new))
