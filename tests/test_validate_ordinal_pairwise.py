"""`validate(ordinal=True)` with missing answers: pairwise-present WLSMV by default (lavaan
``missing = "pairwise"``), each model's n and its range of respondents per item pair in the tables
and the report; ``cfa_missing="listwise"`` still works.

All data here are SYNTHETIC (simulate_cohort)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.report.validation import build_report, verdicts
from analysis.sem.wlsmv import OrdinalCFA
from analysis.simulate.cohort import simulate_cohort
from analysis.study.validate import validate
from instrument.spec import load_instrument

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def spec():
    return load_instrument(ROOT / "examples" / "bfi.yaml")


@pytest.fixture(scope="module")
def gappy(spec):
    """300 synthetic bfi respondents; 30% have no answer to A1 and 5% none to C1."""
    data = simulate_cohort(spec, n=300, seed=21).responses.copy()  # synthetic
    rng = np.random.default_rng(5)
    data.loc[rng.random(len(data)) < 0.30, "A1"] = np.nan
    data.loc[rng.random(len(data)) < 0.05, "C1"] = np.nan
    return data


@pytest.fixture(scope="module")
def pairwise_run(gappy, spec):
    return validate(gappy, spec, ordinal=True, n_boot=0)


@pytest.mark.slow
def test_ordinal_validate_uses_pairwise_wlsmv_and_every_respondent(pairwise_run, gappy):
    res = pairwise_run
    assert res.options["cfa_missing"] == "pairwise"
    assert res.options["cfa_missing_requested"] == "auto"
    assert res.cfa_estimator == "WLSMV"
    assert res.data.n_complete < 300
    assert {fit.n_obs_ for fit in res.cfa.values()} == {300}
    cmp = res.cfa_comparison
    assert (cmp["n_obs"] == 300).all()
    assert (cmp["pair_n_min"] < cmp["pair_n_max"]).all() and (cmp["pair_n_max"] <= 300).all()
    assert (cmp["pair_n_min"] < 0.8 * 300).all()  # A1 is missing for about 30%
    assert {"cfi_robust", "tli_robust", "rmsea_robust", "rmsea_ci_upper_robust"} <= set(cmp)
    assert cmp["cfi_robust"].between(0, 1).all()
    # each model is the pairwise-present fit computed on its own (shared statistics are exact)
    for fit in res.cfa.values():
        alone = OrdinalCFA(fit.model_, missing="pairwise").fit(gappy)
        pd.testing.assert_series_equal(fit.fit_measures_, alone.fit_measures_, rtol=1e-9)
    d = res.to_dict()["cfa"]
    assert d["missing"] == "pairwise"
    assert all(m["pair_n_range"][0] < m["n_obs"] for m in d["models"].values())


@pytest.mark.slow
def test_report_states_the_rule_and_the_pair_counts(pairwise_run):
    res = pairwise_run
    html = build_report(res).render()
    assert "pairwise-present" in html and "n per item pair" in html
    assert "CFI (robust)" in html
    low = int(res.cfa_comparison["pair_n_min"].min())
    labels = [v.label for v in verdicts(res)]
    sample = next(label for label in labels if label.startswith("sample size"))
    assert f"n = {low} " in sample and "item pair" in sample


@pytest.mark.slow
def test_listwise_is_still_available_with_ordinal(gappy, spec):
    res = validate(gappy, spec, ordinal=True, n_boot=0, cfa_missing="listwise")
    assert res.options["cfa_missing"] == "listwise"
    assert {fit.n_obs_ for fit in res.cfa.values()} == {res.data.n_complete}
    cmp = res.cfa_comparison
    assert (cmp["pair_n_min"] == cmp["n_obs"]).all()


def test_pairwise_needs_ordinal_and_fiml_is_refused_with_it(gappy, spec):
    with pytest.raises(ValueError, match="pairwise"):
        validate(gappy, spec, cfa_missing="pairwise", n_boot=0)
    with pytest.raises(ValueError, match="pairwise"):
        validate(gappy, spec, cfa_missing="ml", ordinal=True, n_boot=0)
