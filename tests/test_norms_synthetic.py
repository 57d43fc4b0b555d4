"""Norms fitted on synthetic input carry the label (issue 12 §3): the table, its saved file, the
scores normed against it, and mhdq norms' output. All data here are synthetic."""

from __future__ import annotations

import json

import pandas as pd
from click.testing import CliRunner

from instrument.norms import NormTable


def _scores(marked: bool) -> pd.DataFrame:
    frame = pd.DataFrame({"anx": [1.0, 2.0, 2.5, 3.0, 4.0], "dep": [2.0, 2.0, 3.0, 3.5, 1.0]})
    if marked:
        frame["synthetic"] = "synthetic"
    return frame


def test_norms_of_synthetic_scores_are_labelled_through_save_load_and_transform(tmp_path):
    table = NormTable().fit(_scores(marked=True))
    assert table.synthetic_ is True and table.scales_ == ["anx", "dep"]
    assert table.to_dict()["synthetic"] is True
    loaded = NormTable.load(table.save(tmp_path / "norms.json"))
    assert loaded.synthetic_ is True
    normed = loaded.transform(_scores(marked=False))  # even new, unmarked scores
    assert (normed["norms_synthetic"] == "synthetic").all()


def test_norms_of_real_scores_are_not_labelled(tmp_path):
    table = NormTable().fit(_scores(marked=False))
    assert table.synthetic_ is False and table.to_dict()["synthetic"] is False
    assert "norms_synthetic" not in NormTable.load(table.save(tmp_path / "n.json")).transform(
        _scores(marked=False)
    )
    # a streamed fit is labelled when any chunk is synthetic
    streamed = NormTable().partial_fit(_scores(marked=False)).partial_fit(_scores(marked=True))
    assert streamed.synthetic_ is True


def test_mhdq_norms_on_simulated_responses_writes_a_labelled_file(tmp_path):
    from analysis.cli import cli
    from analysis.simulate.cohort import simulate_cohort
    from instrument.spec import load_instrument

    bfi = load_instrument("examples/bfi.yaml")
    path = tmp_path / "simulated.csv"
    simulate_cohort(bfi, n=60, seed=2).responses.to_csv(path, index=False)  # synthetic
    out = tmp_path / "norms.json"
    result = CliRunner().invoke(
        cli, ["norms", str(path), "--instrument", "examples/bfi.yaml", "--out", str(out), "-q"]
    )
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["synthetic"] is True
    assert "SYNTHETIC DATA" in result.output
