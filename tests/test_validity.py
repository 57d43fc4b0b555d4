"""Composite reliability, AVE, Fornell–Larcker and HTMT (analysis/sem/validity.py).

CR/AVE/Fornell–Larcker are checked against the formulas applied by hand to lavaan 0.6.14's
standardized solution of the HS model (tests/data/hs39_reference.json, `parameterEstimates(fit,
standardized = TRUE)`); the HTMT against matrices where the formula is evident and against semTools'
definition (mean |r| between / √(mean |r| within · mean |r| within)) on the HS correlations.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sem.cfa import CFA
from analysis.sem.syntax import MeasurementModel
from analysis.sem.validity import (
    average_variance_extracted,
    composite_reliability,
    fornell_larcker,
    htmt,
    validity,
)

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def hs():
    ref = json.loads((DATA / "hs39_reference.json").read_text())
    data = pd.read_csv(DATA / "HolzingerSwineford1939.csv")
    est = pd.DataFrame(ref["estimates"])
    return ref, data, est, CFA(ref["model"]).fit(data)


def _lavaan_std(est, factor):
    lam = est[(est.op == "=~") & (est.lhs == factor)]
    theta = [
        est[(est.op == "~~") & (est.lhs == i) & (est.rhs == i)]["std.all"].item() for i in lam.rhs
    ]
    return lam["std.all"].to_numpy(), np.array(theta)


def test_cr_and_ave_from_lavaan_standardized_solution(hs):
    _, _, est, fit = hs
    cr, ave = composite_reliability(fit), average_variance_extracted(fit)
    for f in ["visual", "textual", "speed"]:
        lam, theta = _lavaan_std(est, f)
        # CR = (Σλ)²/((Σλ)² + Σθ), AVE = Σλ²/(Σλ² + Σθ) on lavaan's std.all: achieved gaps 2.2e-7
        # (CR) and 2.1e-7 (AVE) over the 3 factors; 10x rounded up to a power of ten (was 1e-3)
        assert cr[f] == pytest.approx(lam.sum() ** 2 / (lam.sum() ** 2 + theta.sum()), abs=1e-5)
        assert ave[f] == pytest.approx((lam**2).sum() / ((lam**2).sum() + theta.sum()), abs=1e-5)
    assert ave["visual"] == pytest.approx(np.mean(_lavaan_std(est, "visual")[0] ** 2), abs=1e-5)


def test_fornell_larcker_table(hs):
    _, _, est, fit = hs
    table = fornell_larcker(fit)
    lam, _ = _lavaan_std(est, "textual")
    # achieved gaps 2.3e-8 (√AVE) and 3.8e-8 (the correlation); 10x rounded up (were 1e-3)
    assert table.loc["textual", "textual"] == pytest.approx(np.sqrt(np.mean(lam**2)), abs=1e-6)
    # lavaan std.all of visual ~~ textual
    r = est[(est.lhs == "visual") & (est.op == "~~") & (est.rhs == "textual")]["std.all"].item()
    assert table.loc["visual", "textual"] == pytest.approx(r, abs=1e-6)
    assert table.loc["textual", "visual"] == pytest.approx(r, abs=1e-6)


def test_htmt_on_an_evident_matrix():
    R = pd.DataFrame(
        np.array(
            [
                [1.0, 0.5, 0.4, 0.3, 0.2],
                [0.5, 1.0, 0.6, 0.1, 0.2],
                [0.4, 0.6, 1.0, 0.3, 0.3],
                [0.3, 0.1, 0.3, 1.0, 0.8],
                [0.2, 0.2, 0.3, 0.8, 1.0],
            ]
        ),
        index=list("abcde"),
        columns=list("abcde"),
    )
    out = htmt(R, "f =~ a + b + c\ng =~ d + e", matrix=True)
    within_f, within_g, between = (
        (0.5 + 0.4 + 0.6) / 3,
        0.8,
        (0.3 + 0.2 + 0.1 + 0.2 + 0.3 + 0.3) / 6,
    )
    assert out.loc["f", "g"] == pytest.approx(between / np.sqrt(within_f * within_g))
    assert out.loc["g", "f"] == out.loc["f", "g"] and out.loc["f", "f"] == 1
    geo = htmt(R, "f =~ a + b + c\ng =~ d + e", matrix=True, mean="geometric")
    gm = lambda v: np.exp(np.mean(np.log(v)))  # noqa: E731
    assert geo.loc["f", "g"] == pytest.approx(
        gm([0.3, 0.2, 0.1, 0.2, 0.3, 0.3]) / np.sqrt(gm([0.5, 0.4, 0.6]) * 0.8)
    )
    # a covariance matrix gives the same as its correlation matrix
    sd = np.array([1, 2, 3, 0.5, 1.5])
    assert htmt(R * np.outer(sd, sd), "f =~ a + b + c\ng =~ d + e", matrix=True).loc[
        "f", "g"
    ] == pytest.approx(out.loc["f", "g"])


def test_htmt_absolute_keyed_and_raw_correlations():
    # item b is reverse keyed: its correlations are negative
    R = pd.DataFrame(
        np.array(
            [[1, -0.5, 0.3, 0.3], [-0.5, 1, -0.3, 0.1], [0.3, -0.3, 1, 0.6], [0.3, 0.1, 0.6, 1]]
        ),
        index=list("abcd"),
        columns=list("abcd"),
    )
    model = MeasurementModel((("f", ("a", "b")), ("g", ("c", "d"))), keyed=(("b", -1),))
    absolute = htmt(R, model, matrix=True).loc["f", "g"]
    keyed = htmt(R, model, matrix=True, correlations="keyed").loc["f", "g"]
    raw = htmt(R, model, matrix=True, correlations="raw").loc["f", "g"]
    assert absolute == pytest.approx((0.3 + 0.3 + 0.3 + 0.1) / 4 / np.sqrt(0.5 * 0.6))
    assert keyed == pytest.approx((0.3 + 0.3 + 0.3 - 0.1) / 4 / np.sqrt(0.5 * 0.6))
    assert np.isnan(raw)  # raw r: the mean within-f correlation is −.5, no geometric mean
    positive = htmt(R.abs(), model, matrix=True, correlations="raw").loc["f", "g"]
    assert positive == pytest.approx(absolute)
    with pytest.raises(ValueError, match="correlations"):
        htmt(R, model, matrix=True, correlations="signed")


def test_htmt_from_data_matches_semtools_definition(hs):
    _, data, _, fit = hs
    out = htmt(data, fit.model_)
    R = np.abs(data[[f"x{k}" for k in range(1, 10)]].corr().to_numpy())
    v, t = [0, 1, 2], [3, 4, 5]
    within = lambda g: R[np.ix_(g, g)][np.triu_indices(3, 1)].mean()  # noqa: E731
    assert out.loc["visual", "textual"] == pytest.approx(
        R[np.ix_(v, t)].mean() / np.sqrt(within(v) * within(t))
    )


def test_validity_summary_and_keyed_cr(hs):
    _, data, _, fit = hs
    res = validity(fit, data)
    assert list(res.factors.index) == ["visual", "textual", "speed"]
    assert res.pairs.shape == (3, 6)
    assert res.factors.loc["textual", "ave"] > 0.5 > res.factors.loc["visual", "ave"]
    assert res.summary()["htmt_ok"].all()
    # reverse a textual item: raw loadings turn negative, the keyed CR is unchanged
    flipped = data.assign(x5=-data["x5"])
    model = MeasurementModel(fit.model_.factors, keyed=(("x5", -1),))
    refit = CFA(model).fit(flipped)
    assert composite_reliability(refit)["textual"] == pytest.approx(
        composite_reliability(fit)["textual"], abs=1e-6
    )
    assert composite_reliability(refit, keyed=False)["textual"] < 0.5
    with pytest.raises(ValueError, match="htmt_threshold"):
        validity(fit, data, htmt_threshold=1.5)
    with pytest.raises(ValueError, match="not fitted"):
        composite_reliability(CFA(fit.model_))
