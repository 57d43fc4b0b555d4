"""The IRT section of ``mhdq validate`` and IRT scoring with ``mhdq score --irt-params`` (issue 15 §3).

Data: psych's bfi (tests/data/bfi.csv, 2,800 respondents, 5 scales of 5 six-point items). The
section's numbers come from :mod:`analysis.irt` (checked against mirt in tests/test_irt_*.py);
these tests check that the study keys, fits and reports them, and that saved parameters score a
cohort exactly as :func:`analysis.irt.eap_scores` does.
"""

from __future__ import annotations

import dataclasses
import html
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from analysis.cli import main
from analysis.irt import GradedResponseModel, eap_scores
from analysis.report.validation import expected_figures, write_validation_outputs
from analysis.study.irt import irt_study, keyed_items
from analysis.study.validate import validate
from instrument.read import read_responses
from tests.browser import render_in_chromium

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
BFI = str(ROOT / "examples" / "bfi.yaml")
SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]
REVERSED = {"A1", "C4", "C5", "E1", "E2", "O2", "O5"}  # psych's bfi.keys


def run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def bfi_irt(bfi_spec):
    """validate() on bfi (IRT on by default: 5 items, 2,800 respondents), DIF by gender added."""
    table = read_responses(DATA / "bfi.csv", bfi_spec)
    res = validate(table, bfi_spec, n_boot=0)
    gender = pd.read_csv(DATA / "bfi.csv")["gender"].map({1: "male", 2: "female"})
    codes = pd.read_csv(DATA / "bfi.csv")[list(bfi_spec.item_ids)].astype(float)
    with_dif = irt_study(codes, bfi_spec, groups={"gender": gender})
    return res, dataclasses.replace(res, irt=with_dif), codes


def test_irt_runs_by_default_with_every_table(bfi_irt):
    res, _, codes = bfi_irt
    assert res.step("irt").status == "ok"
    assert list(res.irt.scales) == SCALES
    tables = res.tables()
    for sheet in ("IRT fit", "IRT parameters", "IRT traditional", "IRT item fit", "IRT sum scores"):
        assert sheet in tables and len(tables[sheet]) > 0
    # each scale: 5 slopes + 5 x 5 intercepts (six categories)
    assert (tables["IRT parameters"].groupby("scale").size() == 30).all()
    # 26 summed scores (0..25) per scale, raw sums 5..30 on the keyed codes
    sums = tables["IRT sum scores"]
    assert (sums.groupby("scale")["raw_sum"].agg(["min", "max"]) == [5.0, 30.0]).all().all()
    fit = res.irt.summary().set_index("scale")
    assert (fit["m2_type"] == "C2").all() and (fit["n_calibration"] == 2800).all()
    # marginal (mirt marginal_rxx) and empirical (empirical_rxx of the EAPs) reliability agree
    # closely when the model fits the trait distribution
    assert fit["marginal_reliability"].between(0.5, 1).all()
    assert (fit["marginal_reliability"] - fit["empirical_reliability"]).abs().max() < 0.05


def test_items_are_keyed_before_fitting(bfi_irt, bfi_spec):
    res, _, codes = bfi_irt
    s = res.irt.scales["agree"]
    assert set(s.reversed_items) == REVERSED & set(s.items)
    # an independent fit on hand-reversed codes (7 - x on the 1..6 scale) gives the same model
    data = codes[list(s.items)].copy()
    data["A1"] = 7 - data["A1"]
    direct = GradedResponseModel().fit(data[data.notna().any(axis=1)])
    assert np.allclose(direct.results_.parameters["estimate"], s.parameters["estimate"], atol=1e-10)
    slopes = s.parameters.loc[s.parameters["parameter"] == "a1", "estimate"]
    assert (slopes > 0).all()  # every item points the scale's way once reversed


def test_no_irt_and_too_small_samples(bfi_spec):
    from analysis.simulate.cohort import simulate_cohort

    small = simulate_cohort(bfi_spec, n=120, seed=3).responses  # synthetic
    res = validate(small, bfi_spec, n_boot=0, irt=None)
    assert res.step("irt").status == "not_requested" and res.irt is None
    assert "--irt forces it" in res.step("irt").reason
    forced = irt_study(keyed_items(small, bfi_spec, list(bfi_spec.item_ids)), bfi_spec, forced=True)
    assert list(forced.scales) == SCALES  # --irt: 3 items and 50 respondents suffice
    off = validate(small, bfi_spec, n_boot=0, irt=False)
    assert off.step("irt").status == "not_requested" and off.to_dict()["irt"]["status"] == (
        "not_requested"
    )


def test_calibration_subsample_is_seeded_and_reported(bfi_spec, bfi_irt):
    _, _, codes = bfi_irt
    a = irt_study(codes, bfi_spec, max_calibration=1000, seed=5)
    b = irt_study(codes, bfi_spec, max_calibration=1000, seed=5)
    s = a.scales["openness"]
    assert s.n_calibration == 1000 and s.n_obs == 2800
    assert s.model.n_obs_ == 1000
    assert np.array_equal(s.parameters["estimate"], b.scales["openness"].parameters["estimate"])


def test_dif_section_flags_items_and_draws_curves(bfi_irt):
    _, res, _ = bfi_irt
    dif = res.irt.scales["neuroticism"].dif["gender"]
    assert dif.result is not None and dif.result.group_labels == ["female", "male"]
    assert set(dif.result.flagged) <= {"N1", "N2", "N3", "N4", "N5"} and dif.result.flagged
    assert set(dif.curves["item"]) == {*dif.result.flagged, "scale"}
    assert set(dif.curves["group"]) == {"female", "male"}
    assert "IRT DIF" in res.tables()


def test_outputs_hold_the_irt_block_and_the_report_renders(bfi_irt, tmp_path):
    _, res, _ = bfi_irt
    paths = write_validation_outputs(res, tmp_path)
    block = json.loads(paths["json"].read_text(encoding="utf-8"))["irt"]
    assert block["status"] == "ok" and list(block["scales"]) == SCALES
    n_block = block["scales"]["neuroticism"]
    assert n_block["sum_scores"]["table"][0]["raw_sum"] == 5.0
    assert n_block["dif"]["gender"]["result"]["flagged"]
    assert n_block["marginal_reliability"] == res.irt.scales["neuroticism"].marginal_reliability
    sheets = load_workbook(paths["xlsx"], read_only=True).sheetnames
    assert "IRT sum scores" in sheets and "IRT DIF" in sheets
    text = html.unescape(paths["html"].read_text(encoding="utf-8"))
    for caption in (
        "Item response theory",
        "slope-intercept parameters a, d_k (SE)",
        "traditional parameters a, b_k",
        "category response curves",
        "conditional standard error",
        "item fit, S-X²",
        "EAP for each summed score",
        "DIF across gender",
        "expected scores of the flagged items",
    ):
        assert caption in text, caption
    seen = render_in_chromium(paths["html"], screenshot=True)
    assert seen["errors"] == [] and seen["broken"] == 0
    assert seen["images"] == expected_figures(res)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory, bfi_spec):
    """mhdq validate on the first 600 bfi respondents: writes irt_params.json."""
    folder = tmp_path_factory.mktemp("irt_cli")
    frame = pd.read_csv(DATA / "bfi.csv").rename(columns={"Unnamed: 0": "respondent_id"})
    frame.iloc[:600].to_csv(folder / "calibration.csv", index=False)
    frame.iloc[600:900].to_csv(folder / "cohort.csv", index=False)
    main_args = [
        "validate",
        str(folder / "calibration.csv"),
        "--instrument",
        BFI,
        "--bootstrap",
        "0",
        "--out",
        str(folder / "validation"),
        "-q",
    ]
    try:
        main(main_args)
    except SystemExit as exc:
        assert not exc.code
    return folder


def test_validate_saves_parameters_and_score_reproduces_eap(calibrated, bfi_spec, capsys):
    params = calibrated / "validation" / "irt_params.json"
    content = json.loads(params.read_text(encoding="utf-8"))
    assert content["instrument"]["fingerprint"] == bfi_spec.fingerprint
    assert list(content["scales"]) == SCALES
    code, out, err = run(
        [
            "score",
            str(calibrated / "cohort.csv"),
            "--instrument",
            BFI,
            "--irt-params",
            str(params),
            "--out",
            str(calibrated / "scores.csv"),
            "--jobs",
            "1",
        ],
        capsys,
    )
    assert code == 0, err
    assert "rows read 300 = scored 300 + rejected 0" in out
    scores = pd.read_csv(calibrated / "scores.csv")
    # the same calibration fitted here directly, the cohort scored by analysis.irt.eap_scores
    calibration = pd.read_csv(calibrated / "calibration.csv")
    cohort = pd.read_csv(calibrated / "cohort.csv")
    for scale in SCALES:
        items = list(bfi_spec.scale_items(scale))
        fit_data = calibration[items].astype(float)
        score_data = cohort[items].astype(float)
        for item in set(items) & REVERSED:
            fit_data[item] = 7 - fit_data[item]
            score_data[item] = 7 - score_data[item]
        model = GradedResponseModel().fit(fit_data[fit_data.notna().any(axis=1)])
        expected = eap_scores(model, score_data)
        # same data, same deterministic fit; JSON keeps doubles exactly (repr round trip)
        np.testing.assert_allclose(scores[f"{scale}_theta"], expected["theta"], atol=1e-9)
        np.testing.assert_allclose(scores[f"{scale}_theta_se"], expected["se"], atol=1e-9)


def test_score_refuses_parameters_of_another_instrument_version(calibrated, tmp_path, capsys):
    text = Path(BFI).read_text(encoding="utf-8").replace("version: '1.0'", "version: '1.1'")
    other = tmp_path / "bfi_v11.yaml"
    other.write_text(text, encoding="utf-8")
    code, out, err = run(
        [
            "score",
            str(calibrated / "cohort.csv"),
            "--instrument",
            str(other),
            "--irt-params",
            str(calibrated / "validation" / "irt_params.json"),
            "--out",
            str(tmp_path / "scores.csv"),
        ],
        capsys,
    )
    assert code == 2
    assert "calibrated on another instrument version" in err
    assert "Traceback" not in err
    assert not (tmp_path / "scores.csv").exists()
