"""The commands chained as a researcher chains them: simulate -> score -> attrition fit / validate."""

import json

import pandas as pd
import pytest

from analysis.cli import main


@pytest.fixture(scope="module")
def scored(tmp_path_factory):
    folder = tmp_path_factory.mktemp("journey")
    main(["simulate", "--n", "400", "--seed", "5", "--out", str(folder / "baseline.csv")])
    main(["score", str(folder / "baseline.csv"), "--out", str(folder / "scores.csv"), "--quiet"])
    return folder


def test_scores_file_feeds_the_attrition_model(scored, capsys):
    # The scores file from `mhdq score` carries source_file/source_row of the response file.
    scores = pd.read_csv(scored / "scores.csv")
    assert {"respondent_id", "source_row", "total"} <= set(scores.columns)
    main(
        [
            "attrition",
            "fit",
            str(scored / "scores.csv"),
            "--followup",
            str(scored / "baseline-followup.csv"),
            "--time",
            "months",
            "--event",
            "disengaged",
            "--n-boot",
            "20",
            "--seed",
            "1",
            "--out",
            str(scored / "attrition"),
        ]
    )
    results = json.loads((scored / "attrition" / "results.json").read_text())
    flow = {step["step"]: step["n"] for step in results["flow"]}
    assert flow["baseline_rows"] == len(scores) and flow["analysed"] == len(scores)
    assert (scored / "attrition" / "report.html").exists()
