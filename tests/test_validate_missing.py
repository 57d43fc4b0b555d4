"""Missing answers in `validate`'s CFA: FIML by default when a model item has a gap, listwise as a
sensitivity check beside it, each model's own n, and the complete-case report line.

All data here are SYNTHETIC (simulate_cohort)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.report.validation import build_report, verdicts
from analysis.simulate.cohort import simulate_cohort
from analysis.study.validate import resolve_cfa_missing, validate


@pytest.fixture(scope="module")
def gappy(bfi_spec_module):
    """300 synthetic bfi respondents; 40% have no answer to A1 and 5% none to C1."""
    data = simulate_cohort(bfi_spec_module, n=300, seed=21).responses.copy()  # synthetic
    rng = np.random.default_rng(5)
    data.loc[rng.random(len(data)) < 0.40, "A1"] = np.nan
    data.loc[rng.random(len(data)) < 0.05, "C1"] = np.nan
    return data


@pytest.fixture(scope="module")
def bfi_spec_module():
    from pathlib import Path

    from instrument.spec import load_instrument

    return load_instrument(Path(__file__).resolve().parents[1] / "examples" / "bfi.yaml")


@pytest.fixture(scope="module")
def auto_run(gappy, bfi_spec_module):
    return validate(gappy, bfi_spec_module, n_boot=0)


def test_resolve_cfa_missing():
    frame = pd.DataFrame({"a": [1.0, 2.0, np.nan, np.nan], "b": [2.0, 3.0, 4.0, np.nan]})
    assert resolve_cfa_missing("auto", frame, ["a", "b"], ordinal=False) == "ml"
    # a row with no answer at all is not a gap FIML could use, and listwise drops it anyway
    assert resolve_cfa_missing("auto", frame.iloc[[0, 1, 3]], ["a", "b"], ordinal=False) == (
        "listwise"
    )
    assert resolve_cfa_missing("auto", frame, ["a", "b"], ordinal=True) == "pairwise"
    assert resolve_cfa_missing("listwise", frame, ["a", "b"], ordinal=False) == "listwise"
    assert resolve_cfa_missing("ml", frame, ["b"], ordinal=False) == "ml"


def test_auto_uses_fiml_and_every_respondent(auto_run, gappy):
    res = auto_run
    assert res.options["cfa_missing"] == "ml" and res.options["cfa_missing_requested"] == "auto"
    assert {fit.n_obs_ for fit in res.cfa.values()} == {300}
    cmp = res.cfa_comparison
    assert (cmp["n_obs"] == 300).all()
    complete = int(
        gappy[[c for c in gappy.columns if c[:1] in "ACENO" and c[1:].isdigit()]]
        .notna()
        .all(axis=1)
        .sum()
    )
    assert res.data.n_complete == complete < 200
    # the sensitivity fit is the listwise CFA of the same model
    from analysis.sem.cfa import CFA

    fit = res.cfa["facets"]
    lw = CFA(fit.model_, missing="listwise").fit(gappy[list(fit.model_.observed)])
    row = cmp.set_index("model").loc["facets"]
    assert row["listwise_n_obs"] == lw.n_obs_ == complete
    for key in ("chisq", "df", "cfi", "tli", "rmsea", "srmr"):
        assert row[f"listwise_{key}"] == pytest.approx(float(lw.fit_measures_[key]), abs=1e-12)
    assert row["cfi"] != pytest.approx(row["listwise_cfi"], abs=1e-6)


def test_report_states_each_models_n_and_the_complete_case_share(auto_run):
    res = auto_run
    html = build_report(res).render()
    assert "Listwise n" in html and "sensitivity check" in html
    note = res.complete_case.note()
    assert note is not None and note.startswith("Listwise deletion would keep")
    assert "A1" in note
    assert note.split(" would keep ")[1].split(" respondents")[0] in html
    labels = [v.label for v in verdicts(res) if v.section == "cfa"]
    assert "facets: sample size n = 300 for 25 items (12.0 per item)" in labels


def test_complete_data_stays_listwise_without_a_sensitivity_column(bfi_spec_module):
    data = simulate_cohort(bfi_spec_module, n=150, seed=8, missing_rate=0.0).responses  # synthetic
    res = validate(data, bfi_spec_module, n_boot=0)
    assert res.options["cfa_missing"] == "listwise"
    assert "listwise_n_obs" not in res.cfa_comparison.columns
    assert res.complete_case.note() is None


def test_explicit_listwise_is_kept(gappy, bfi_spec_module):
    res = validate(gappy, bfi_spec_module, n_boot=0, cfa_missing="listwise")
    assert res.options["cfa_missing"] == "listwise"
    assert {fit.n_obs_ for fit in res.cfa.values()} == {res.data.n_complete}
    assert "listwise_n_obs" not in res.cfa_comparison.columns


def test_validity_table_states_n(auto_run):
    res = auto_run
    assert res.validity is not None and res.validity.n_obs == 300  # FIML: every respondent
    html = build_report(res).render()
    assert "n = 300 respondents" in html
