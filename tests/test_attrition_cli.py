"""``mhdq attrition fit`` / ``predict`` end to end on a SYNTHETIC cohort, and the report in Chromium."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.attrition.model_io import load_model
from analysis.simulate.cohort import simulate_cohort
from instrument.spec import load_instrument


def run(*args):
    """Run ``mhdq`` in this process (as the console script would) and capture its output."""
    import contextlib
    import io

    from analysis.cli import main

    out, err = io.StringIO(), io.StringIO()
    code = 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            main([str(a) for a in args])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
    return subprocess.CompletedProcess(list(args), code, out.getvalue(), err.getvalue())


def run_child(*args):
    return subprocess.run(
        [sys.executable, "-c", "from analysis.cli import main; main()", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """SYNTHETIC cohort from the simulator (issue 6), written as the CLI's input files."""
    folder = tmp_path_factory.mktemp("attrition")
    sim = simulate_cohort(load_instrument(None), n=500, seed=11, event_rate=0.45)
    responses = folder / "responses.csv"
    followup = folder / "followup.csv"
    sim.responses.to_csv(responses, index=False)
    fu = sim.followup.copy()
    # join problems on purpose: a follow-up row without baseline, a negative time
    fu = pd.concat(
        [
            fu,
            pd.DataFrame(
                {
                    "respondent_id": ["NOBODY"],
                    "months": [3.0],
                    "disengaged": [1],
                    "switched": [0],
                    "synthetic": ["synthetic"],
                }
            ),
        ],
        ignore_index=True,
    )
    fu.loc[0, "months"] = -1.0
    fu.to_csv(followup, index=False)
    raw = pd.read_csv(responses, dtype={"respondent_id": str})
    first_item = load_instrument(None).item_ids[0]
    raw[first_item] = raw[first_item].astype(object)
    raw.loc[3, first_item] = "=cmd()"  # an invalid cell: blanked and recorded, not fatal
    raw.to_csv(responses, index=False)
    out = folder / "out"
    done = run(
        "attrition",
        "fit",
        responses,
        "--followup",
        followup,
        "--time",
        "months",
        "--event",
        "disengaged",
        "--competing",
        "switched",
        "--covariates",
        "age,gender",
        "--horizon",
        6,
        "--n-boot",
        20,
        "--seed",
        5,
        "--out",
        out,
        "--format",
        "json",
    )
    assert done.returncode == 0, done.stderr
    return {
        "folder": folder,
        "responses": responses,
        "followup": followup,
        "out": out,
        "fit": done,
        "sim": sim,
    }


def test_fit_writes_every_output(cohort):
    out = cohort["out"]
    for name in ("model.json", "results.json", "tables.xlsx", "problems.csv", "report.html"):
        assert (out / name).exists(), name
    effects = json.loads(cohort["fit"].stdout)
    assert {row["term"] for row in effects} >= {"model", "frustration", "cage", "age"}
    assert "SYNTHETIC DATA" in cohort["fit"].stderr


def test_results_json_follows_the_schema(cohort):
    results = json.loads((cohort["out"] / "results.json").read_text())
    assert results["schema"] == "mhdq-attrition-results" and results["schema_version"] == 1
    assert results["synthetic"] is True
    for key in (
        "software",
        "instrument",
        "inputs",
        "options",
        "flow",
        "problems",
        "time_summary",
        "model",
        "effects",
        "proportional_hazards",
        "kaplan_meier",
        "validation",
        "sample_size",
        "comparison",
        "tripod",
        "competing_incidence",
    ):
        assert key in results, key
    assert results["instrument"]["short_name"] == "MHDQ"
    by_rule = results["problems"]["by_rule"]
    assert (by_rule["no_baseline"], by_rule["negative_time"], by_rule["text_not_code"]) == (1, 1, 1)
    assert set(by_rule) <= {"no_baseline", "negative_time", "text_not_code", "not_applicable"}
    assert set(results["flow"][0]) == {"step", "n"}
    flow = {row["step"]: row["n"] for row in results["flow"]}
    assert flow["analysed"] == 499 and flow["followup_only"] == 1 and flow["invalid_followup"] == 1
    assert {m["metric"] for m in results["validation"]["metrics"]} == {
        "c_index",
        "brier",
        "calibration_slope",
        "calibration_intercept",
    }
    assert results["validation"]["n_boot"] == 20
    assert results["proportional_hazards"][-1]["term"] == "GLOBAL"
    assert {row["status"] for row in results["tripod"]} <= {"reported", "partly", "authors"}
    text = (cohort["out"] / "results.json").read_text()
    assert "SIM0" not in text  # no respondent identifiers in results


def test_tables_and_problem_records(cohort):
    book = load_workbook(cohort["out"] / "tables.xlsx", read_only=True)
    assert {"effects", "validation", "comparison", "tripod", "flow"} <= set(book.sheetnames)
    problems = pd.read_csv(cohort["out"] / "problems.csv")
    problems = problems[problems["rule"] != "not_applicable"]  # info records of N/A answers
    assert sorted(problems["rule"]) == ["negative_time", "no_baseline", "text_not_code"]
    assert sorted(problems["file"]) == ["followup.csv", "followup.csv", "responses.csv"]
    assert not problems["value"].astype(str).str.startswith("=").any()  # neutralised in the CSV


def test_report_renders_in_chromium(cohort):
    from tests.browser import render_in_chromium

    html = (cohort["out"] / "report.html").read_text()
    assert "SIM0" not in html  # no identifiers in the report
    assert "SYNTHETIC DATA" in html
    for heading in (
        "Kaplan-Meier",
        "Validation",
        "Model comparison",
        "TRIPOD checklist",
        "Proportional hazards",
        "Competing outcomes: who leaves, for which reason",
        "What each model tells you",
        "Cause-specific Cox: How fast do members still in the group leave",
        "1 - KM",
    ):
        assert heading in html
    assert (
        "http://" not in html.replace("http://www.w3.org", "") and "<script" not in html
    )  # self-contained
    seen = render_in_chromium(cohort["out"] / "report.html")
    assert seen["errors"] == [] and seen["broken"] == 0
    # forest plot, competing-outcome curves, PH residuals, KM curves, ROC, calibration
    assert seen["images"] == 6


def test_predict_matches_the_saved_model(cohort, tmp_path):
    pred = tmp_path / "pred.csv"
    done = run(
        "attrition",
        "predict",
        cohort["out"] / "model.json",
        cohort["responses"],
        "--horizon",
        6,
        "--out",
        pred,
    )
    assert done.returncode == 0, done.stderr
    got = pd.read_csv(pred, dtype={"respondent_id": str})
    assert len(got) == 500 and got["risk"].between(0, 1).all()
    model = load_model(cohort["out"] / "model.json")
    results = json.loads((cohort["out"] / "results.json").read_text())
    s0 = results["model"]["baseline_survival_at_horizon"]
    np.testing.assert_allclose(got["risk"], 1 - s0 ** np.exp(got["linear_predictor"]), rtol=1e-10)
    assert (
        model.model_type == "cox" and model.instrument["version"] == load_instrument(None).version
    )


def test_every_output_of_synthetic_data_is_labelled(cohort, tmp_path):
    # issue 12 point 3: every tables.xlsx sheet, the model file, and the predictions made with a
    # model fitted on synthetic data carry the label
    book = load_workbook(cohort["out"] / "tables.xlsx", read_only=True)
    unlabelled = [
        sheet.title
        for sheet in book.worksheets
        if not any(
            isinstance(v, str) and "SYNTHETIC DATA" in v
            for row in sheet.iter_rows(values_only=True)
            for v in row
        )
    ]
    assert unlabelled == []
    assert json.loads((cohort["out"] / "model.json").read_text())["synthetic"] is True
    assert load_model(cohort["out"] / "model.json").synthetic
    pred = tmp_path / "pred.xlsx"
    done = run(
        "attrition",
        "predict",
        cohort["out"] / "model.json",
        cohort["responses"],
        "--horizon",
        6,
        "--out",
        tmp_path / "pred.csv",
    )
    assert done.returncode == 0, done.stderr
    assert "SYNTHETIC MODEL" in done.stderr
    got = pd.read_csv(tmp_path / "pred.csv")
    assert (got["synthetic"] == "synthetic").all()
    done = run(
        "attrition",
        "predict",
        cohort["out"] / "model.json",
        cohort["responses"],
        "--horizon",
        6,
        "--out",
        pred,
        "-q",
    )
    assert done.returncode == 0, done.stderr
    cells = [
        v
        for row in load_workbook(pred, read_only=True).active.iter_rows(values_only=True)
        for v in row
    ]
    assert any(isinstance(v, str) and "SYNTHETIC DATA" in v for v in cells)


def test_predict_refuses_another_instrument(cohort, tmp_path):
    done = run_child(
        "attrition",
        "predict",
        cohort["out"] / "model.json",
        cohort["responses"],
        "--horizon",
        6,
        "--out",
        tmp_path / "p.csv",
        "--instrument",
        "examples/bfi.yaml",
    )
    assert done.returncode == 2
    assert "fitted on MHDQ version" in done.stderr and "Traceback" not in done.stderr


def test_status_design_fits_a_logistic_model(cohort, tmp_path):
    done = run(
        "attrition",
        "fit",
        cohort["responses"],
        "--followup",
        cohort["followup"],
        "--event",
        "disengaged",
        "--n-boot",
        10,
        "--out",
        tmp_path / "lg",
        "-q",
        "--penalty",
        "0.5",
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "lg" / "results.json").read_text())
    assert results["model"]["type"] == "logistic" and results["proportional_hazards"] is None
    assert {m["metric"] for m in results["validation"]["metrics"]} >= {"auc", "brier"}


def test_bad_inputs_are_clear_errors(cohort, tmp_path):
    done = run(
        "attrition",
        "fit",
        cohort["responses"],
        "--followup",
        cohort["followup"],
        "--time",
        "weeks",
        "--event",
        "disengaged",
        "--out",
        tmp_path / "x",
    )
    assert (
        done.returncode == 1
        and "no column 'weeks'" in done.stderr
        and "Traceback" not in done.stderr
    )
    done = run(
        "attrition",
        "fit",
        cohort["responses"],
        "--followup",
        cohort["followup"],
        "--event",
        "disengaged",
        "--horizon",
        6,
        "--out",
        tmp_path / "x",
    )
    assert done.returncode == 2 and "--horizon" in done.stderr
    bad = tmp_path / "model.json"
    bad.write_text("{}")
    done = run(
        "attrition",
        "predict",
        bad,
        cohort["responses"],
        "--horizon",
        6,
        "--out",
        tmp_path / "p.csv",
    )
    assert done.returncode == 1 and "not an MHDQ attrition model" in done.stderr


def test_fit_from_an_attendance_log_and_scored_file(tmp_path):
    """SYNTHETIC scored file + attendance log: dropout = first 90-day gap without a meeting."""
    rng = np.random.default_rng(21)
    n = 300
    scores = pd.DataFrame(
        {
            "respondent_id": [f"P{i:03d}" for i in range(n)],
            "model": rng.normal(2.5, 0.7, n),
            "frustration": rng.normal(2.5, 0.7, n),
            "cage": rng.normal(2.5, 0.7, n),
            "baseline_date": "2024-01-01",
            "synthetic": "synthetic",
        }
    )
    stop_weeks = rng.exponential(40 * np.exp(-0.8 * (scores["model"] - 2.5))).astype(int)
    rows = [
        (pid, pd.Timestamp("2024-01-01") + pd.Timedelta(weeks=w + 1))
        for pid, stop in zip(scores["respondent_id"], stop_weeks, strict=True)
        for w in range(min(stop, 70))
    ]
    log = pd.DataFrame(rows, columns=["respondent_id", "meeting_date"])
    log.loc[len(log)] = ["STRANGER", pd.Timestamp("2024-02-01")]
    scores.to_csv(tmp_path / "scores.csv", index=False)
    log.to_csv(tmp_path / "attendance.csv", index=False)
    done = run(
        "attrition",
        "fit",
        tmp_path / "scores.csv",
        "--attendance",
        tmp_path / "attendance.csv",
        "--baseline-date",
        "baseline_date",
        "--end-date",
        "2025-06-30",
        "--window-days",
        90,
        "--time-unit",
        "days",
        "--horizon",
        365,
        "--n-boot",
        10,
        "--out",
        tmp_path / "out",
        "-q",
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert results["problems"]["by_rule"] == {"no_baseline": 1}
    assert results["model"]["n_obs"] == n
    # respondents who never attended disengage at day 90 exactly; the others later
    fu, _ = __import__("analysis.attrition.followup", fromlist=["x"]).dropout_from_attendance(
        log, scores, end_date="2025-06-30", window_days=90, unit="days"
    )
    assert (fu.loc[stop_weeks == 0, "time"] == 90).all()
    assert results["model"]["n_events"] == int(fu["disengaged"].sum())
    effects = {row["term"]: row for row in results["effects"]}
    assert effects["model"]["hazard_ratio"] > 1  # built in: higher 'model' score, earlier stop
    done = run(
        "attrition",
        "fit",
        tmp_path / "scores.csv",
        "--attendance",
        tmp_path / "attendance.csv",
        "--out",
        tmp_path / "o2",
    )
    assert done.returncode == 2 and "--baseline-date" in done.stderr


def test_logistic_model_by_the_horizon_on_time_data(cohort, tmp_path):
    done = run(
        "attrition",
        "fit",
        cohort["responses"],
        "--followup",
        cohort["followup"],
        "--time",
        "months",
        "--event",
        "disengaged",
        "--model",
        "logistic",
        "--horizon",
        6,
        "--n-boot",
        10,
        "--out",
        tmp_path / "lh",
        "-q",
    )
    assert done.returncode == 0, done.stderr
    results = json.loads((tmp_path / "lh" / "results.json").read_text())
    flow = {row["step"]: row["n"] for row in results["flow"]}
    fu = pd.read_csv(cohort["followup"])
    fu = fu[(fu["months"] >= 0) & (fu["respondent_id"] != "NOBODY")]
    assert flow["censored_before_horizon"] == int(
        ((fu["months"] < 6) & (fu["disengaged"] == 0)).sum()
    )
    assert flow["modelled_events"] == int(((fu["months"] <= 6) & (fu["disengaged"] == 1)).sum())
    assert results["options"]["horizon"] == 6 and results["model"]["type"] == "logistic"
    done = run(
        "attrition",
        "predict",
        tmp_path / "lh" / "model.json",
        cohort["responses"],
        "--horizon",
        12,
        "--out",
        tmp_path / "p.csv",
    )
    assert done.returncode == 2 and "by 6 months only" in done.stderr
    done = run(
        "attrition",
        "predict",
        tmp_path / "lh" / "model.json",
        cohort["responses"],
        "--out",
        tmp_path / "p.csv",
    )
    assert done.returncode == 0 and pd.read_csv(tmp_path / "p.csv")["horizon"].eq(6).all()


def test_covariates_alone_clustered_with_binary_groups_by_value(cohort, tmp_path, monkeypatch):
    # issue 12 point 15/17 and issue 14 section 3: --scales "" with covariates that are not
    # scales, a text --cluster column, a binary covariate's Kaplan-Meier groups named by value,
    # an APA p and a table that fits an 80-column terminal (SYNTHETIC data)
    monkeypatch.setenv("COLUMNS", "80")
    raw = pd.read_csv(cohort["responses"], dtype={"respondent_id": str})
    fu = pd.read_csv(cohort["followup"], dtype={"respondent_id": str})
    rng = np.random.default_rng(3)
    left = raw["respondent_id"].map(dict(zip(fu["respondent_id"], fu["disengaged"], strict=False)))
    raw["meetings_90d"] = np.clip(
        np.round(9 - 5 * left.fillna(0) + rng.normal(0, 2, len(raw))), 0, 30
    )
    raw["sponsor"] = rng.integers(0, 2, len(raw))
    raw["home_group"] = rng.choice(
        ["north", "south", "east", "west", "centre", "harbour"], len(raw)
    )
    responses = tmp_path / "responses.csv"
    raw.to_csv(responses, index=False)
    out = tmp_path / "cov"
    done = run(
        "attrition",
        "fit",
        responses,
        "--followup",
        cohort["followup"],
        "--time",
        "months",
        "--event",
        "disengaged",
        "--scales",
        "",
        "--covariates",
        "age,meetings_90d,sponsor",
        "--cluster",
        "home_group",
        "--frailty",
        "gamma",
        "--horizon",
        6,
        "--n-boot",
        10,
        "--out",
        out,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert any("< .001" in line for line in lines if line.startswith("meetings_90d"))
    assert "0.0000" not in done.stdout
    results = json.loads((out / "results.json").read_text())
    assert [row["term"] for row in results["effects"]] == ["age", "meetings_90d", "sponsor"]
    assert results["options"]["cluster"] == "home_group" and results["options"]["n_clusters"] == 6
    # the shared gamma frailty by home group beside the prediction model
    assert results["frailty"]["cluster"] == "home_group"
    assert [row["term"] for row in results["frailty"]["effects"]] == [
        "age",
        "meetings_90d",
        "sponsor",
    ]
    assert "shared gamma frailty variance theta" in done.stderr + done.stdout
    p_full = {row["term"]: row["p"] for row in results["effects"]}["meetings_90d"]
    assert 0 <= p_full < 0.001 and isinstance(p_full, float)  # full value kept
    groups = {}
    for row in results["kaplan_meier"]["survival"]:
        groups.setdefault(row["predictor"], set()).add(row["group"])
    assert groups["sponsor"] == {"0", "1"}
    assert groups["age"] == {"low", "middle", "high"}
    pred = tmp_path / "pred.csv"
    done = run(
        "attrition", "predict", out / "model.json", responses, "--horizon", 6, "--out", pred, "-q"
    )
    assert done.returncode == 0, done.stderr
    assert pd.read_csv(pred)["risk"].between(0, 1).all()


def test_scales_empty_without_covariates_is_a_usage_error(cohort, tmp_path):
    done = run(
        "attrition",
        "fit",
        cohort["responses"],
        "--followup",
        cohort["followup"],
        "--time",
        "months",
        "--event",
        "disengaged",
        "--scales",
        "",
        "--out",
        tmp_path / "x",
    )
    assert done.returncode == 2 and "--covariates" in done.stderr


def test_predict_help_describes_every_option():
    done = run("attrition", "predict", "--help")
    assert done.returncode == 0
    assert "Respondent ID column" in done.stdout and "Print nothing but errors" in done.stdout
