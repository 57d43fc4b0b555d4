"""``mhdq longitudinal`` end to end on a small synthetic three-wave cohort built from bfi rows."""

import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from analysis.cli import main

DATA = Path(__file__).parent / "data"
SPEC = Path(__file__).parents[1] / "examples" / "bfi.yaml"


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    """Synthetic: 300 bfi respondents at baseline, answers jittered at 6 and 12 months."""
    folder = tmp_path_factory.mktemp("waves")
    bfi = pd.read_csv(DATA / "bfi.csv", index_col=0).iloc[:300]
    items = [c for c in bfi.columns if c[0] in "ACENO" and c[1:].isdigit()]
    rng = np.random.default_rng(7)
    base = bfi[items + ["education"]].copy()
    base.insert(0, "respondent_id", [f"P{i:04d}" for i in range(len(base))])
    base["synthetic"] = "synthetic"
    files = {}
    kept = base
    for label, share in (("t0", 1.0), ("t6", 0.8), ("t12", 0.75)):
        wave = kept.sample(frac=share, random_state=1) if share < 1 else kept.copy()
        if label != "t0":
            noise = rng.integers(-1, 2, size=(len(wave), len(items)))
            wave[items] = (wave[items] + noise).clip(1, 6)
        wave["visit"] = {"t0": "2024-01-15", "t6": "2024-07-15", "t12": "2025-01-15"}[label]
        path = folder / f"{label}.csv"
        wave.to_csv(path, index=False)
        files[label] = path
        kept = wave
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    raw["hypotheses"] = [
        "agree: r >= .10 with conscientious",
        "neuroticism: r <= -.90 with agree",
        {"difference": {"scale": "agree", "group": "education", "higher": "5", "lower": "1"}},
    ]
    spec = folder / "bfi_h.yaml"
    spec.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder, files, spec


def run(args, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(args)
        raise SystemExit(0)
    return exit_info.value.code, capsys.readouterr()


def test_longitudinal_command_writes_every_output(cohort, capsys):
    folder, files, spec = cohort
    out = folder / "out"
    args = ["longitudinal", "--instrument", str(spec), "--date", "visit", "--group", "education"]
    args += ["--scales", "agree,conscientious,neuroticism"]
    for label, path in files.items():
        args += ["--wave-of", f"{path}={label}"]
    code, printed = run([*args, "--out", str(out)], capsys)
    assert code == 0, printed.err
    assert printed.out.startswith("SYNTHETIC DATA: ")
    results = json.loads((out / "results.json").read_text())
    assert results["synthetic"] is True and results["waves"] == ["t0", "t6", "t12"]
    flow = results["retention"]["table"]
    assert [row["n_observed"] for row in flow] == [300, 240, 180]
    icc = results["test_retest"]["results"][0]
    assert icc["n_obs"] == 240 and icc["interval_days_median"] == 182.0
    hyp = results["hypotheses"]
    assert hyp["n_evaluated"] == 3 and [r["id"] for r in hyp["table"]] == ["h1", "h2", "h3"]
    assert hyp["table"][1]["confirmed"] is False  # r(neuroticism, agree) is nowhere near -.90
    assert results["groups"]["notes"][0].startswith("means are compared without evidence")
    html = (out / "report.html").read_text()
    assert "SYNTHETIC DATA" in html and "Test–retest" in html and "Hypotheses" in html
    # longitudinal invariance per scale across the three waves: 15 observed, 135 moments;
    # configural npar 63 (12 loadings, 15 + 15 residual (co)variances, 15 intercepts, 3 + 3
    # factor (co)variances), metric −8 loadings, scalar −10 intercepts + 2 latent means.
    # The report says when wave means are compared without scalar invariance
    inv = results["longitudinal_invariance"]
    assert set(inv) == {"agree", "conscientious", "neuroticism"}
    steps = inv["agree"]["steps"]
    assert [s["step"] for s in steps] == ["configural", "metric", "scalar"]
    assert [s["df"] for s in steps] == [72.0, 80.0, 88.0]
    assert len(inv["agree"]["latent_means"]) == 2
    assert "Longitudinal measurement invariance" in html
    without = results["means_without_scalar_invariance"]
    assert without == [s for s in inv if not inv[s]["scalar_supported"]]
    if without:
        assert "compared across waves without scalar invariance" in html
    # no identifiers in the report, the tables or the results
    with zipfile.ZipFile(out / "tables.xlsx") as book:
        sheets = " ".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    for text in (html, json.dumps(results), sheets):
        assert "P0001" not in text and "P0299" not in text
    person_period = pd.read_csv(out / "person_period.csv")
    assert len(person_period) == 720 and {"agree", "wave", "respondent_id"} <= set(person_period)


def test_one_file_with_wave_column(capsys, tmp_path):
    out = tmp_path / "out"
    code, printed = run(
        [
            "longitudinal",
            str(DATA / "msqR_xray_waves.csv"),
            "--instrument",
            str(DATA / "msqR_spec.yaml"),
            "--wave",
            "time",
            "--id-column",
            "id",
            "--no-invariance",
            "--out",
            str(out),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, printed.err
    results = json.loads((out / "results.json").read_text())
    ref = json.loads((DATA / "icc_reference.json").read_text())
    icc = {row["type"]: row for row in results["test_retest"]["results"][0]["icc"]}
    # psych::ICC(cbind(time1, time2), lmer = FALSE)$results["ICC2", "ICC"] (EA)
    assert icc["ICC2"]["estimate"] == pytest.approx(ref["EA"]["icc"][1], abs=1e-13)
    assert results["synthetic"] is False
    html = (out / "report.html").read_text()
    assert "SYNTHETIC" not in html
    # --no-invariance: nothing tested, and the report says the means are compared without it
    assert results["longitudinal_invariance"] == {}
    assert results["means_without_scalar_invariance"] == ["EA", "TA"]
    assert "without a test of scalar invariance across waves" in html
    code, printed = run(
        [
            "longitudinal",
            str(DATA / "msqR_xray_waves.csv"),
            "--instrument",
            str(DATA / "msqR_spec.yaml"),
            "--wave",
            "time",
            "--id-column",
            "id",
            "--retest",
            "1,3",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2 and "--retest: wave(s) 3 not found; waves: 1, 2" in printed.err


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "give INPUT with --wave COLUMN"),
        (["--wave-of", "x.csv"], "FILE=LABEL"),
        (["--wave-of", "a.csv=t0", "--waves", "t0"], "--waves applies to --wave"),
        (["--scales", "nope", "--wave-of", "a.csv=t0"], "--scales"),
    ],
)
def test_usage_errors_are_named(extra, message, capsys, tmp_path):
    code, printed = run(["longitudinal", "--out", str(tmp_path / "o"), *extra], capsys)
    assert code == 2 and message in printed.err and "Traceback" not in printed.err


def test_repeated_binary_outcome_gee(cohort, capsys, tmp_path):
    # issue 14 §3, repeated binary outcomes from the command line: a SYNTHETIC 0/1 "attended"
    # column in each wave file, modelled by logistic GEE on the same wave's scale scores; the
    # command's table is GEEModel's on the person-period rows it writes (GEEModel itself is
    # matched to geepack::geeglm in test_attrition_gee.py)
    from analysis.attrition.gee import GEEModel

    folder, files, _ = cohort
    # the outcome is a background question of the specification (read at every wave)
    raw = yaml.safe_load(SPEC.read_text(encoding="utf-8"))
    raw["background"].append(
        {
            "id": "attended",
            "type": "single_choice",
            "label": {"en": "Attended a meeting in the last month"},
            "choices": [{"code": 0, "label": {"en": "No"}}, {"code": 1, "label": {"en": "Yes"}}],
        }
    )
    spec = tmp_path / "bfi_attended.yaml"
    spec.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    rng = np.random.default_rng(12)
    wave_of = []
    for label, path in files.items():
        frame = pd.read_csv(path)
        frame["attended"] = (rng.random(len(frame)) < 0.7).astype(int)
        frame.loc[frame.index[:3], "attended"] = np.nan  # not known: left out of the GEE
        target = tmp_path / f"{label}.csv"
        frame.to_csv(target, index=False)
        wave_of += ["--wave-of", f"{target}={label}"]
    out = tmp_path / "gee"
    args = ["longitudinal", *wave_of, "--instrument", str(spec), "--no-invariance"]
    args += ["--scales", "agree,neuroticism", "--repeated-outcome", "attended"]
    code, printed = run([*args, "--gee-correlation", "ar1", "--out", str(out), "-q"], capsys)
    assert code == 0, printed.err
    results = json.loads((out / "results.json").read_text())
    gee = results["repeated_outcome"]
    assert gee["outcome"] == "attended" and gee["correlation"] == "ar1"
    pp = pd.read_csv(out / "person_period.csv").dropna(subset=["attended", "agree", "neuroticism"])
    pp["wave_index"] = pp["wave"].map({"t0": 0, "t6": 1, "t12": 2})
    direct = GEEModel(correlation="ar1").fit(
        pp[["agree", "neuroticism", "wave_index"]],
        pp["attended"],
        groups=pp["respondent_id"],
        time=pp["wave_index"],
    )
    assert gee["n_obs"] == direct.n_obs_ == len(pp)
    terms = {row["term"]: row for row in gee["terms"]}
    assert list(terms) == ["intercept", "agree", "neuroticism", "wave_index"]
    for term in terms:  # the same fit: identical to rounding
        assert terms[term]["estimate"] == pytest.approx(direct.coef_[term], rel=1e-10)
        assert terms[term]["se"] == pytest.approx(direct.se_[term], rel=1e-10)
    html = (out / "report.html").read_text()
    assert "Repeated binary outcome (GEE)" in html and "ar1 working correlation" in html
    assert "SYNTHETIC" in html
    code, printed = run([*args[:-2], "--repeated-outcome", "nope", "--out", str(out)], capsys)
    assert code == 2 and "--repeated-outcome 'nope': not a column" in printed.err
