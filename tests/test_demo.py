"""``mhdq demo`` / :func:`analysis.simulate.demo.run_demo`: the whole journey on synthetic data.

The demo is glue over library functions tested elsewhere; these tests check that every output is
written, readable and labelled synthetic, and that the pieces were joined correctly (the checks
flag the simulated careless respondents, the scores are those of the scoring API, the attrition
model used the follow-up of the right respondents).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.simulate.cohort import simulate_cohort
from analysis.simulate.demo import SYNTHETIC_NOTICE, run_demo
from analysis.simulate.waves import simulate_study
from instrument import load_instrument
from instrument.score import score_items

N, SEED = 400, 11


@pytest.fixture(scope="module")
def v2():
    """The demo's default instrument: item bank 0.2.0."""
    return load_instrument("mhdq-0.2.0")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, n=N, seed=SEED, n_boot=20)


def test_every_output_is_written(demo):
    expected = {
        "readme",
        "forms.xlsx",
        "forms.xlsform",
        "forms.redcap",
        "forms.html",
        "data.responses",
        "data.followup",
        "scores",
        "scores.problems",
        "validation.results",
        "validation.tables",
        "validation.report",
        "attrition.model",
        "attrition.results",
        "attrition.tables",
        "attrition.problems",
        "attrition.report",
        "data.waves",
        "data.outcomes",
        "longitudinal.report",
        "longitudinal.tables",
        "longitudinal.results",
        "longitudinal.competing_incidence",
        "longitudinal.gray_tests",
        "figures.parallel_analysis",
        "figures.kaplan_meier",
        "figures.efa_loadings",
        "figures.competing_outcomes",
    }
    assert set(demo.outputs) == expected
    for name, path in demo.outputs.items():
        assert path.is_file() and path.stat().st_size > 0, name
        assert demo.out in path.parents
    for name in ("figures.parallel_analysis", "figures.kaplan_meier", "figures.efa_loadings"):
        assert demo.outputs[name].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(demo.timings) == {
        "build",
        "simulate",
        "score",
        "validate",
        "attrition",
        "longitudinal",
        "figures",
    }
    assert list(demo.summary().columns) == ["step", "output", "path"]


def test_every_data_output_says_synthetic(demo):
    assert SYNTHETIC_NOTICE in demo.outputs["readme"].read_text(encoding="utf-8")
    responses = pd.read_csv(demo.outputs["data.responses"])
    followup = pd.read_csv(demo.outputs["data.followup"])
    assert (responses["synthetic"] == "synthetic").all() and (
        followup["synthetic"] == "synthetic"
    ).all()
    assert json.loads(demo.outputs["validation.results"].read_text())["data"]["synthetic"] is True
    assert (
        "synthetic" in json.dumps(json.loads(demo.outputs["attrition.results"].read_text())).lower()
    )
    for report in ("validation.report", "attrition.report"):
        assert "SYNTHETIC" in demo.outputs[report].read_text(encoding="utf-8").upper(), report
    from openpyxl import load_workbook

    for tables in ("validation.tables", "attrition.tables"):
        book = load_workbook(demo.outputs[tables], read_only=True)
        cells = [
            str(c)
            for ws in book.worksheets[:3]
            for row in ws.iter_rows(values_only=True)
            for c in row
            if c
        ]
        assert any("SYNTHETIC" in c.upper() for c in cells), tables
    assert all(
        "synthetic" in demo.outputs[k].name for k in ("data.responses", "data.followup", "scores")
    )


def test_scores_are_the_scoring_api_scores_of_the_simulated_cohort(demo, v2):
    cohort = simulate_cohort(v2, n=N, seed=SEED)  # the demo's cohort, drawn again
    expected = score_items(cohort.responses, v2)
    scores = pd.read_csv(demo.outputs["scores"], dtype={"respondent_id": str})
    assert list(scores["respondent_id"]) == list(cohort.responses["respondent_id"])
    for scale in ("total", "model", "meaning"):
        np.testing.assert_allclose(
            scores[scale].to_numpy(), expected[scale].to_numpy(), equal_nan=True
        )
    assert demo.facts["n"] == N


def test_problem_list_flags_the_simulated_straight_liners(demo, v2):
    cohort = simulate_cohort(v2, n=N, seed=SEED)
    problems = pd.read_csv(demo.outputs["scores.problems"])
    flagged = problems.loc[problems["rule"] == "straight_lining", "row"].astype(int)
    assert len(flagged) > 0
    # problem rows are file rows (header = row 1); every flagged respondent was simulated careless
    ids = cohort.responses["respondent_id"].to_numpy()[flagged.to_numpy() - 2]
    assert cohort.careless[ids].all()


def test_attrition_used_the_simulated_followup(demo, v2):
    cohort = simulate_cohort(v2, n=N, seed=SEED)
    results = json.loads(demo.outputs["attrition.results"].read_text())
    text = json.dumps(results)
    assert "frustration" in text and "cage" in text
    # every event counted by the model is a disengagement in the follow-up file
    # (switching = censored)
    assert demo.facts["events"] == int(
        (cohort.followup["disengaged"] == 1).sum() - cohort.followup["switched"].sum()
    )
    assert 0.5 < demo.facts["c_index"] < 1


@pytest.mark.slow  # the whole demo in a subprocess (minutes on a loaded machine)
def test_cli_demo(tmp_path):
    out = tmp_path / "cli-demo"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from analysis.cli import main; main()",
            "demo",
            "--out",
            str(out),
            "--n",
            "200",
            "--n-boot",
            "5",
            "--no-figures",
        ],
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert done.returncode == 0, done.stderr
    assert "SYNTHETIC DATA" in done.stdout
    assert str(out / "validation" / "report.html") in done.stdout
    assert (out / "attrition" / "report.html").is_file() and not (
        out / "figures" / "kaplan-meier.png"
    ).exists()


def test_demo_uses_bank_020_with_skips_and_fiml(demo, v2):
    assert demo.facts["instrument"] == "MHDQ 0.2.0"
    responses = pd.read_csv(demo.outputs["data.responses"])
    # sponsor items skipped by design (blank) for members who never had a sponsor; no code 9
    never = responses["sponsor_ever"] == 0
    assert never.any() and responses.loc[never, ["ne_so1", "ne_so2"]].isna().all().all()
    assert not (responses[list(v2.item_ids)] == 9).any().any()
    # the CFA used every respondent (full-information ML), and the true model fits
    assert demo.facts["cfa_n"] == N
    assert demo.facts["cfa_cfi"] > 0.95


def test_longitudinal_journey_is_the_simulated_study(demo, v2):
    study = simulate_study(v2, n=N, seed=SEED, wave_months=(0.0, 6.0, 12.0))  # drawn again
    waves = pd.read_csv(demo.outputs["data.waves"], dtype={"wave": str, "respondent_id": str})
    assert (waves["synthetic"] == "synthetic").all()
    assert (
        waves.groupby("wave").size().to_dict() == study.responses.groupby("wave").size().to_dict()
    )
    # retention flow: members seen per wave as in the data
    assert demo.facts["waves"] == {w: int(k) for w, k in waves.groupby("wave").size().items()}
    assert 0 < demo.facts["retest_icc"] < 1 and demo.facts["retest_n"] > 0.7 * N
    assert 0 <= demo.facts["fellowship_p"] <= 1
    counts = study.outcomes["outcome"].value_counts()
    assert demo.facts["outcomes"] == {k: int(v) for k, v in counts.items()}
    # with no censoring before 12 months the cumulative incidence at 12 is the share leaving
    for outcome, share in demo.facts["cif_end"].items():
        assert share == pytest.approx(counts[outcome] / N, abs=1e-12)
    report = demo.outputs["longitudinal.report"].read_text(encoding="utf-8")
    assert "SYNTHETIC" in report.upper()
    # issue 14 §4: the retention flow (with its CONSORT-style diagram), test-retest and the
    # comparison across fellowships are sections of the demo's longitudinal report
    for heading in (
        "Retention across waves",
        "Test–retest reliability and measurement error",
        "Comparison across groups (known-groups validity)",
    ):
        assert heading in report, heading
    assert "Participant flow across waves." in report  # the diagram's caption
    # the competing-outcome curves are a section of the report: its table, the questions each
    # model answers, Gray's tests across fellowships and the figure inline
    assert "Competing outcomes: who leaves, for which reason" in report
    assert "Fine-Gray: How many end up leaving for each reason?" in report
    assert "Gray&#x27;s test: do the curves of the fellowships differ" in report
    assert "cumulative incidence curves by outcome type" in report  # the figure's alt text
    incidence = pd.read_csv(demo.outputs["longitudinal.competing_incidence"])
    assert (incidence["synthetic"] == "synthetic").all()
    assert set(incidence["cause"]) == {"graduated", "switched", "dropped_out", "relapsed"}
    assert demo.outputs["figures.competing_outcomes"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
