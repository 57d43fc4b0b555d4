"""Rows without any answer count in n as psych counts them (issue 11 §4): Bartlett's test and
alpha's analytic intervals against psych 2.2.9 on bfi with 40 empty rows appended
(tests/data/parity_reference.json, make_parity_reference.R)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.factor.factorability import bartlett_sphericity
from analysis.reliability import cronbach_alpha

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "parity_reference.json").read_text())["empty_rows"]


@pytest.fixture(scope="module")
def with_empty_rows():
    items = pd.read_csv(DATA / "bfi.csv", index_col=0).iloc[:, :25]
    empty = pd.DataFrame(np.nan, index=range(40), columns=items.columns)
    data = pd.concat([items, empty], ignore_index=True)
    assert len(data) == REF["n_rows"] == 2840
    return data


def test_bartlett_counts_rows_without_answers(with_empty_rows):
    # R: cortest.bartlett(x) with x = rbind(bfi[, 1:25], 40 rows of NA): n = nrow(x)
    res = bartlett_sphericity(with_empty_rows)
    assert res.n_obs == 2840
    assert res.chi_square == pytest.approx(REF["bartlett"]["chisq"], rel=1e-12)  # 1e-15 achieved
    assert res.dof == REF["bartlett"]["df"]


def test_alpha_intervals_count_rows_without_answers(with_empty_rows):
    # R: alpha(x[, c("C1", ..., "C5")], keys = c("C4", "C5")): Feldt interval and ase on nrow(x)
    ref = REF["alpha_conscientiousness"]
    res = cronbach_alpha(with_empty_rows[["C1", "C2", "C3", "C4", "C5"]], keys=["C4", "C5"])
    table = res.summary()
    alpha = table[table["coefficient"] == "alpha"].set_index("ci_method")
    assert (alpha["n_obs"] == 2840).all()
    assert alpha["estimate"].tolist() == pytest.approx([ref["raw_alpha"]] * len(alpha), abs=1e-12)
    assert alpha.loc["feldt", "standard_error"] == pytest.approx(ref["ase"], abs=1e-12)
    assert alpha.loc["feldt", "ci_low"] == pytest.approx(ref["feldt_lower"], abs=1e-10)
    assert alpha.loc["feldt", "ci_high"] == pytest.approx(ref["feldt_upper"], abs=1e-10)


@pytest.mark.slow
def test_validate_leaves_rows_without_answers_out_and_the_report_says_so(tmp_path):
    """mhdq validate (which calls the API's validate) rejects empty rows at the check step, so
    every n counts respondents with answers; the report's data section states how that differs
    from psych and from the statistics functions called directly."""
    from click.testing import CliRunner

    from analysis.cli import cli
    from analysis.simulate.cohort import simulate_cohort
    from instrument.spec import load_instrument

    bfi = load_instrument("examples/bfi.yaml")
    data = simulate_cohort(bfi, n=120, seed=3).responses  # synthetic
    empty = data.iloc[:7].copy()
    empty[list(bfi.item_ids)] = np.nan
    empty["respondent_id"] = [f"EMPTY{k}" for k in range(7)]
    both = pd.concat([data, empty], ignore_index=True)
    path = tmp_path / "with-empty.csv"
    both.to_csv(path, index=False)
    args = [
        "validate",
        str(path),
        "--instrument",
        "examples/bfi.yaml",
        "--out",
        str(tmp_path / "o"),
    ]
    result = CliRunner().invoke(cli, [*args, "--bootstrap", "0", "--no-irt"])
    assert result.exit_code == 0, result.output
    out = json.loads((tmp_path / "o" / "results.json").read_text())
    assert out["data"]["n_read"] == 127 and out["data"]["n_used"] == 120
    assert out["data"]["rejected_by_rule"] == {"no_answers": 7}
    html = (tmp_path / "o" / "report.html").read_text()
    assert "7 row(s) without any answer were left out" in html and "psych" in html
