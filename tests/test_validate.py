"""``mhdq validate`` end to end: results.json against R on psychTools' bfi, the MHDQ on synthetic data,
skipped analyses, privacy, CLI errors.

Expected numbers come from tests/data/bfi_reference.json (R 4.2.2, psych 2.2.9, lavaan 0.6.14; see
tests/data/README.md and /work/shared/reference/README.md). They test that the command wires every
analysis to the right items, keys, missing-data rule and sample: the statistics themselves are
tested in their own modules' tests.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from analysis.simulate.cohort import simulate_cohort
from analysis.study.validate import structure_items, validate
from instrument.errors import UsageError

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
REF = json.loads((DATA / "bfi_reference.json").read_text(encoding="utf-8"))
FIML_REF = json.loads((DATA / "fiml_reference.json").read_text(encoding="utf-8"))
SCHEMA_DOC = ROOT / "docs" / "results-schema.md"


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out, out.err


@pytest.fixture(scope="module")
def bfi_run(tmp_path_factory) -> tuple[dict, Path]:
    """mhdq validate on psychTools' bfi with --group-by gender (2,800 respondents)."""
    out = tmp_path_factory.mktemp("bfi-validate")
    with pytest.raises(SystemExit) as exit_info:
        main(
            [
                "validate",
                str(DATA / "bfi.csv"),
                "--instrument",
                str(ROOT / "examples" / "bfi.yaml"),
                "--group-by",
                "gender",
                "--out",
                str(out),
                "-q",
            ]
        )
        raise SystemExit(0)
    assert exit_info.value.code in (0, None)
    return json.loads((out / "results.json").read_text(encoding="utf-8")), out


@pytest.fixture(scope="module")
def mhdq_run(tmp_path_factory) -> tuple[dict, Path, pd.DataFrame]:
    """mhdq validate on 600 SYNTHETIC MHDQ respondents written as CSV in the Data entry layout."""
    work = tmp_path_factory.mktemp("mhdq-validate")
    from instrument.spec import load_instrument

    data = simulate_cohort(load_instrument(), n=600, seed=11).responses
    data.to_csv(work / "synthetic.csv", index=False)
    out = work / "out"
    with pytest.raises(SystemExit) as exit_info:
        main(["validate", str(work / "synthetic.csv"), "--out", str(out), "-q", "--seed", "5"])
        raise SystemExit(0)
    assert exit_info.value.code in (0, None)
    return json.loads((out / "results.json").read_text(encoding="utf-8")), out, data


# --------------------------------------------------------------------------------------------
# bfi: results.json against R
# --------------------------------------------------------------------------------------------
def test_bfi_writes_four_outputs(bfi_run):
    result, out = bfi_run
    assert sorted(p.name for p in out.iterdir()) == [
        "irt_params.json",  # the IRT section ran (5 items, 2,800 respondents per scale)
        "report.html",
        "results.json",
        "tables.xlsx",
    ]
    assert result["data"]["n_read"] == 2800 and result["data"]["n_used"] == 2800
    assert [s["status"] for s in result["steps"] if s["status"] != "ok"] == []


def test_bfi_reliability_matches_psych_alpha(bfi_run):
    result, _ = bfi_run
    scales = {row["scale"]: row for row in result["reliability"]["scales"]}
    for scale, ref in REF["scales"].items():
        row = scales[scale]
        # psych::alpha(x, keys = reversed) on the pairwise covariances: observed gap 1.1e-15, so
        # 1e-12 (the floating-point floor; was 1e-6); Duhachek 4.3e-7 (psych's 1.96), kept at 1e-6
        assert row["alpha"] == pytest.approx(ref["raw_alpha"], abs=1e-12)
        assert row["alpha_ci_low"] == pytest.approx(ref["feldt_ci_lower"], abs=1e-12)
        assert row["alpha_ci_high"] == pytest.approx(ref["feldt_ci_upper"], abs=1e-12)
        assert row["alpha_duhachek_ci_low"] == pytest.approx(ref["duhachek_ci_lower"], abs=1e-6)
        # psych::omega(x, nfactors = 1, key = ±1)$omega.tot: observed gap 4.1e-8 (iterative
        # minres), so 1e-6 (was 1e-3)
        assert row["omega_total"] == pytest.approx(ref["omega_total_1f"], abs=1e-6)
        # the default run bootstraps omega (200 resamples): an interval around the estimate
        assert row["omega_total_ci_low"] < row["omega_total"] < row["omega_total_ci_high"]
    assert result["options"]["omega_n_boot"] == 200 and result["options"]["n_boot"] == 0


def test_bfi_item_statistics_match_psych_alpha(bfi_run):
    result, _ = bfi_run
    items = {row["item"]: row for row in result["item_statistics"]["items"]}
    for ref in REF["scales"].values():
        for name, value in ref["r_drop"].items():
            # psych::alpha(...)$item.stats$r.drop and $alpha.drop$raw_alpha: observed gap 1.3e-15,
            # so 1e-12 (the floating-point floor; was 1e-6)
            assert items[name.rstrip("-")]["r_drop"] == pytest.approx(value, abs=1e-12)
            assert items[name.rstrip("-")]["alpha_if_dropped"] == pytest.approx(
                ref["alpha_if_dropped"][name], abs=1e-12
            )


def test_bfi_factorability_and_retention_match_psych(bfi_run):
    result, _ = bfi_run
    # psych::KMO(x)$MSA and cortest.bartlett(cor(x, use = "pairwise"), n = 2800): observed gaps
    # 3.3e-16 and 4.0e-11 (of about 2e4), so 1e-12 and 1e-9 (were 1e-6 and 1e-3)
    assert result["factorability"]["kmo"]["overall"] == pytest.approx(
        REF["kmo"]["overall"], abs=1e-12
    )
    assert result["factorability"]["bartlett"]["chi_square"] == pytest.approx(
        REF["bartlett"]["chisq"], abs=1e-9
    )
    # psych::fa.parallel(x, fa = "both", n.iter = 20)$nfact and vss(x, n = 8)$map minimum: exact
    # counts
    assert result["retention"]["parallel"]["n_factors"] == REF["parallel"]["nfact"]
    assert result["retention"]["map"]["n_factors"] == REF["map"]["best"]
    observed = [row["fa_observed"] for row in result["retention"]["parallel"]["eigenvalues"]]
    # fa.parallel's observed fa.values (deterministic): observed gap 2.1e-7, so 1e-5 (was 1e-4)
    np.testing.assert_allclose(observed, REF["parallel"]["fa_values"], rtol=0, atol=1e-5)
    assert result["efa"]["n_factors"] == REF["parallel"]["nfact"]


def test_bfi_cfa_of_the_five_scales_matches_lavaan(bfi_run):
    """bfi has missing answers, so the default is full-information ML with listwise beside it."""
    result, _ = bfi_run
    assert result["options"]["cfa_missing"] == "ml"
    assert result["options"]["cfa_missing_requested"] == "auto"
    facets = result["cfa"]["models"]["facets"]
    ref = FIML_REF["fit"]
    # lavaan::cfa(model, data = bfi[, 1:25], estimator = "ML", missing = "ml"); fitMeasures
    # (tests/data/make_fiml_reference.R); observed gaps χ² 3.2e-7, indices 5.0e-8 (lavaan's EM
    # stops at 1e-5), so χ² abs 1e-5 (was 1e-4) and indices 1e-6
    assert facets["n_obs"] == FIML_REF["nobs"]
    fm = facets["fit_measures"]
    assert fm["chisq"] == pytest.approx(ref["chisq"], abs=1e-5)
    assert fm["df"] == ref["df"]
    for key, ref_key in (
        ("cfi", "cfi"),
        ("tli", "tli"),
        ("rmsea", "rmsea"),
        ("srmr", "srmr"),
        ("rmsea_ci_lower", "rmsea.ci.lower"),
        ("rmsea_ci_upper", "rmsea.ci.upper"),
    ):
        assert fm[key] == pytest.approx(ref[ref_key], abs=1e-6)
    assert set(result["cfa"]["skipped"]) == {"themes", "second_order"}
    # the listwise sensitivity fit beside it:
    # lavaan::cfa(model, estimator = "ML", missing = "listwise"): observed gaps χ² 4.4e-7, indices
    # 1.9e-9, so 1e-5 and 1e-7 (were 1e-2 and 1e-3)
    row = next(r for r in result["cfa"]["comparison"] if r["model"] == "facets")
    lw = REF["cfa_ml"]["fit"]
    assert row["n_obs"] == FIML_REF["nobs"]
    assert row["listwise_n_obs"] == lw["ntotal"]
    assert row["listwise_chisq"] == pytest.approx(lw["chisq"], abs=1e-5)
    for key in ("cfi", "tli", "rmsea", "srmr"):
        assert row[f"listwise_{key}"] == pytest.approx(lw[key], abs=1e-7)
    cc = result["cfa"]["complete_case"]
    assert cc["n_complete"] == lw["ntotal"]


def test_bfi_invariance_across_gender_matches_lavaan(bfi_run):
    result, _ = bfi_run
    steps = {row["step"]: row for row in result["invariance"]["steps"]}
    ref = FIML_REF["invariance_gender"]
    # lavaan cfa(..., group = "gender", group.equal = c() / "loadings" / c("loadings",
    # "intercepts"), missing = "ml") (tests/data/make_fiml_reference.R): observed gaps χ² 3.2e-6
    # and CFI 1.5e-10, so χ² abs 1e-4 and CFI 1e-8 (were 1e-3 and 1e-6)
    for step, key in (
        ("configural", "none"),
        ("metric", "loadings"),
        ("scalar", "loadings+intercepts"),
    ):
        assert steps[step]["chisq"] == pytest.approx(ref[key]["fit"]["chisq"], abs=1e-4)
        assert steps[step]["df"] == ref[key]["fit"]["df"]
        assert steps[step]["cfi"] == pytest.approx(ref[key]["fit"]["cfi"], abs=1e-8)
    assert result["invariance"]["groups"] == [
        "Male",
        "Female",
    ]  # lavaan's order: first appearance in the data


def test_bfi_tables_xlsx_has_a_sheet_per_table(bfi_run):
    from openpyxl import load_workbook

    _, out = bfi_run
    book = load_workbook(out / "tables.xlsx", read_only=True)
    for sheet in (
        "Item statistics",
        "Reliability",
        "Polychoric correlations",
        "KMO",
        "Retention",
        "EFA loadings",
        "CFA fit comparison",
        "CFA standardized loadings",
        "CFA factor correlations",
        "CR and AVE",
        "HTMT",
        "Fornell-Larcker",
        "Invariance",
    ):
        assert sheet in book.sheetnames, sheet
    rel = book["Reliability"]
    header = [c.value for c in next(rel.iter_rows(max_row=1))]
    first = [c.value for c in next(rel.iter_rows(min_row=2, max_row=2))]
    alpha = first[header.index("α")]
    assert isinstance(alpha, float)  # numbers stay numbers
    assert alpha == pytest.approx(REF["scales"]["agree"]["raw_alpha"], abs=1e-12)  # gap 3.3e-16


# --------------------------------------------------------------------------------------------
# The results.json schema
# --------------------------------------------------------------------------------------------
def documented_top_level_keys() -> list[str]:
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    section = text.split("## Top-level keys", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([a-z_]+)` \|", section, flags=re.MULTILINE)


def test_results_json_has_the_documented_top_level_keys(bfi_run, mhdq_run):
    documented = documented_top_level_keys()
    assert len(documented) >= 15
    for result in (bfi_run[0], mhdq_run[0]):
        assert list(result) == documented


def test_every_analysis_block_states_its_status(mhdq_run):
    result, _, _ = mhdq_run
    for step in result["steps"]:
        block = result.get(step["name"], None)
        if block is not None:
            assert block["status"] == step["status"]
            if step["status"] != "ok":
                assert block["reason"]


# --------------------------------------------------------------------------------------------
# The MHDQ on synthetic data
# --------------------------------------------------------------------------------------------
def test_mhdq_runs_every_analysis(mhdq_run):
    result, out, _ = mhdq_run
    status = {s["name"]: s["status"] for s in result["steps"]}
    assert status.pop("invariance") == "not_requested"
    assert set(status.values()) == {"ok"}, status
    assert result["data"]["synthetic"] is True
    assert len(result["data"]["structure_items"]) == 37
    assert set(result["cfa"]["models"]) == {"one_factor", "themes", "second_order", "facets"}
    scales = [row["scale"] for row in result["reliability"]["scales"]]
    assert "meaning" in scales and "total" in scales
    # the separate meaning scale enters discriminant validity against the total
    criterion = result["validity"]["criterion"]
    assert [(c["scale"], c["criterion"]) for c in criterion] == [("total", "meaning")]
    assert "SYNTHETIC" in (out / "report.html").read_text(encoding="utf-8")


def test_outputs_never_show_respondent_identifiers(mhdq_run):
    _, out, data = mhdq_run
    ids = data["respondent_id"].astype(str)
    assert ids.str.startswith("SIM").all()
    from openpyxl import load_workbook

    text = (out / "report.html").read_text(encoding="utf-8") + (out / "results.json").read_text(
        encoding="utf-8"
    )
    book = load_workbook(out / "tables.xlsx", read_only=True)
    text += " ".join(
        str(c) for s in book.worksheets for row in s.iter_rows(values_only=True) for c in row
    )
    assert not any(i in text for i in ids.head(50)), "a respondent id appears in the outputs"


def test_structure_items_are_the_hierarchy(mhdq_spec, bfi_spec):
    assert structure_items(mhdq_spec) == mhdq_spec.scale_items("total")
    assert structure_items(bfi_spec) == bfi_spec.item_ids


# --------------------------------------------------------------------------------------------
# Too few respondents, groups, several files
# --------------------------------------------------------------------------------------------
def test_too_few_respondents_skips_with_reasons_and_still_writes(mhdq_spec, tmp_out):
    data = simulate_cohort(mhdq_spec, n=30, seed=2).responses  # synthetic
    res = validate(data, mhdq_spec, n_boot=0)
    for name in ("polychoric", "factorability", "retention", "efa", "cfa"):
        step = res.step(name)
        assert step.status == "skipped" and "respondents" in step.reason, (name, step)
    assert res.step("reliability").status == "ok"
    from analysis.report.validation import write_validation_outputs

    paths = write_validation_outputs(res, tmp_out)
    saved = json.loads(paths["json"].read_text(encoding="utf-8"))
    assert saved["cfa"]["status"] == "skipped" and "respondents" in saved["cfa"]["reason"]
    assert "Skipped" in paths["html"].read_text(encoding="utf-8")


def test_bootstrap_at_small_n_records_why_omega_has_no_interval(mhdq_spec):
    # 30 respondents (< TABLE_OMEGA_MIN_N = 50) with n_boot = 200 (--bootstrap 200): alpha gets its
    # bootstrap interval, omega's is skipped with the reason in the table and in the step's record.
    data = simulate_cohort(mhdq_spec, n=30, seed=2).responses  # synthetic
    res = validate(data, mhdq_spec, n_boot=200, seed=1)
    assert all(
        s.status in ("ok", "skipped", "not_requested") and (s.status == "ok" or s.reason)
        for s in res.steps
    )
    step = res.step("reliability")
    assert step.status == "ok"
    assert any(
        "omega bootstrap intervals not computed" in w and "fewer than 50 respondents" in w
        for w in step.warnings
    )
    table = res.reliability.table
    assert table["omega_total_ci_low"].isna().all() and table["omega_n_boot"].isna().all()
    assert (table["alpha_boot_ci_low"].dropna() < table["alpha"].dropna()).all()
    assert table["alpha_boot_ci_low"].notna().any()
    assert any("omega_interval: skipped: " in p for p in res.reliability.problems)


def test_one_group_only_skips_invariance(bfi_spec):
    data = simulate_cohort(bfi_spec, n=200, seed=3).responses  # synthetic
    data["gender"] = 1
    res = validate(data, bfi_spec, group_by="gender", n_boot=0)
    step = res.step("invariance")
    assert step.status == "skipped" and "fewer than two groups" in step.reason


def test_unknown_group_column_lists_the_available_ones(bfi_spec):
    data = simulate_cohort(bfi_spec, n=60, seed=3).responses  # synthetic
    with pytest.raises(UsageError, match="available: .*gender"):
        validate(data, bfi_spec, group_by="sex")


def test_duplicate_ids_are_found_across_files(bfi_spec, tmp_path):
    from instrument.read import read_responses

    data = simulate_cohort(bfi_spec, n=80, seed=4).responses  # synthetic
    data.to_csv(tmp_path / "a.csv", index=False)
    data.head(10).to_csv(tmp_path / "b.csv", index=False)
    tables = [read_responses(tmp_path / name, bfi_spec) for name in ("a.csv", "b.csv")]
    res = validate(tables, bfi_spec, n_boot=0)
    assert (res.data.n_read, res.data.n_rejected, res.data.n_used) == (90, 10, 80)
    assert res.data.rejected_by_rule == {"duplicate_respondent_id": 10}


def test_bad_options_raise_value_errors(bfi_spec):
    data = simulate_cohort(bfi_spec, n=60, seed=3).responses  # synthetic
    with pytest.raises(ValueError, match="missing"):
        validate(data, bfi_spec, missing="fiml")
    with pytest.raises(ValueError, match="n_boot"):
        validate(data, bfi_spec, n_boot=-1)
    with pytest.raises(ValueError, match="at least 2 resamples"):  # one resample: no interval
        validate(data, bfi_spec, n_boot=1)
    with pytest.raises(TypeError, match="responses"):
        validate("data.csv", bfi_spec)


# --------------------------------------------------------------------------------------------
# CLI errors
# --------------------------------------------------------------------------------------------
def test_cli_missing_input_is_a_usage_error(tmp_out, capsys):
    code, _, err = run_cli(
        ["validate", str(tmp_out / "nothing.csv"), "--out", str(tmp_out)], capsys
    )
    assert code == 2
    assert "nothing.csv" in err and "Traceback" not in err


def test_cli_unknown_group_by_lists_columns(tmp_out, capsys):
    code, _, err = run_cli(
        [
            "validate",
            str(DATA / "bfi.csv"),
            "--instrument",
            str(ROOT / "examples" / "bfi.yaml"),
            "--group-by",
            "sex",
            "--out",
            str(tmp_out),
        ],
        capsys,
    )
    assert code == 2
    assert "sex" in err and "gender" in err and "education" in err and "Traceback" not in err


def test_cli_out_must_be_a_folder(tmp_path, capsys):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run_cli(
        [
            "validate",
            str(DATA / "bfi.csv"),
            "--instrument",
            str(ROOT / "examples" / "bfi.yaml"),
            "--out",
            str(blocker),
        ],
        capsys,
    )
    assert code == 2 and "Traceback" not in err


@pytest.mark.slow
def test_mhdq_workbook_filled_with_synthetic_answers(mhdq_spec, tmp_path, capsys):
    """The questionnaire workbook (instrument/forms/workbook.py) with 300 SYNTHETIC respondents typed in."""
    from instrument.forms.workbook import fill_data_entry, write_workbook

    path = write_workbook(mhdq_spec, tmp_path / "mhdq.xlsx", rows=400)
    data = simulate_cohort(mhdq_spec, n=300, seed=8, missing_rate=0.01).responses  # synthetic
    fill_data_entry(path, data, note="SYNTHETIC DATA for a test")
    out = tmp_path / "out"
    code, _, err = run_cli(
        ["validate", str(path), "--out", str(out), "-q", "--bootstrap", "0"], capsys
    )
    assert code == 0, err
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert result["data"]["platforms"] == ["mhdq_workbook"]
    assert result["data"]["n_used"] == 300
    assert result["data"]["synthetic"] is True  # the appended `synthetic` column marks it
    status = {s["name"]: s["status"] for s in result["steps"]}
    assert {k: v for k, v in status.items() if v != "ok"} == {"invariance": "not_requested"}
    assert sorted(p.name for p in out.iterdir()) == [
        "irt_params.json",  # the IRT section ran by default (6-item facets, 300 respondents)
        "report.html",
        "results.json",
        "tables.xlsx",
    ]


def test_full_information_ml_uses_every_respondent(bfi_spec):
    data = simulate_cohort(bfi_spec, n=200, seed=6, missing_rate=0.05).responses  # synthetic
    res = validate(data, bfi_spec, cfa_missing="ml", n_boot=0)
    assert res.data.n_complete < 200
    assert {fit.n_obs_ for fit in res.cfa.values()} == {200}
    assert res.to_dict()["cfa"]["missing"] == "ml"
    with pytest.raises(ValueError, match="ordinal"):
        validate(data, bfi_spec, cfa_missing="ml", ordinal=True)


@pytest.mark.slow
def test_ordinal_uses_polychoric_and_wlsmv(bfi_spec, monkeypatch):
    import analysis.sem.wlsmv

    seen = []
    real = analysis.sem.wlsmv.ordinal_statistics
    monkeypatch.setattr(
        analysis.sem.wlsmv,
        "ordinal_statistics",
        lambda d, *a, **k: seen.append(d) or real(d, *a, **k),
    )
    data = simulate_cohort(bfi_spec, n=400, seed=7).responses  # synthetic
    res = validate(data, bfi_spec, ordinal=True, n_boot=0)
    # the WLSMV statistics: once for all the CFA models and the validity model (bfi has no criterion
    # scale, so validity uses the same complete rows)
    assert len(res.cfa) >= 2 and len(seen) == 1
    from analysis.sem.validity import validity

    primary = res.cfa[
        res.validity_model
    ].model_  # no criterion scale: the validity model is this one
    rule = res.options["cfa_missing"]  # the synthetic cohort has gaps: pairwise-present WLSMV
    assert rule == "pairwise"
    direct = validity(analysis.sem.wlsmv.OrdinalCFA(primary, missing=rule).fit(seen[0]), seen[0])
    pd.testing.assert_frame_equal(res.validity.summary(), direct.summary(), rtol=1e-9)
    assert all(s.status == "ok" for s in res.steps if s.name in ("cfa", "validity"))
    for fit in res.cfa.values():  # each model's fit is the one it computes on its own
        alone = analysis.sem.wlsmv.OrdinalCFA(fit.model_, missing=rule).fit(seen[0])
        pd.testing.assert_series_equal(
            fit.fit_measures_, alone.fit_measures_, rtol=1e-9, atol=1e-12
        )
        np.testing.assert_allclose(
            fit.estimates_["est"], alone.estimates_["est"], rtol=1e-9, atol=1e-12
        )
    assert res.options["correlation"] == "polychoric" and res.cfa_estimator == "WLSMV"
    assert res.reliability.table["ordinal_alpha"].notna().all()
    assert {"cfi_scaled", "rmsea_scaled"} <= set(res.cfa_comparison.columns)
    # the EFA analysed the polychoric matrix itself
    np.testing.assert_allclose(res.efa.correlation_.to_numpy(), res.polychoric.rho.to_numpy())
    from analysis.report.validation import verdicts

    labels = [v.label for v in verdicts(res)]
    assert any(label.startswith("facets: scaled CFI") for label in labels)


def test_cli_ordinal_with_fiml_is_a_usage_error(tmp_out, capsys):
    code, _, err = run_cli(
        [
            "validate",
            str(DATA / "bfi.csv"),
            "--instrument",
            str(ROOT / "examples" / "bfi.yaml"),
            "--ordinal",
            "--cfa-missing",
            "ml",
            "--out",
            str(tmp_out),
        ],
        capsys,
    )
    assert code == 2 and "--cfa-missing" in err and "Traceback" not in err


def test_every_key_of_every_block_is_documented(bfi_run, mhdq_run):
    text = SCHEMA_DOC.read_text(encoding="utf-8")
    sections = {
        m.group(1): m.group(2)
        for m in re.finditer(r"^## (\w+)\n(.*?)(?=^## |\Z)", text, re.S | re.M)
    }
    head = {"status", "reason", "warnings", "seconds"}
    for result in (bfi_run[0], mhdq_run[0]):
        for block in (
            "instrument",
            "options",
            "provenance",
            "data",
            "reliability",
            "polychoric",
            "factorability",
            "retention",
            "efa",
            "cfa",
            "validity",
            "invariance",
        ):
            section = sections[block]
            for key in set(result[block]) - head:
                assert re.search(rf"`{key}[`.]|`{key}`|{key}\.", section), (
                    f"{block}.{key} is not documented"
                )


def test_cli_reads_a_folder_of_response_files(tmp_path, capsys, bfi_spec):
    folder = tmp_path / "collected"
    folder.mkdir()
    data = simulate_cohort(bfi_spec, n=120, seed=9).responses  # synthetic
    data.head(70).to_csv(folder / "wave1.csv", index=False)
    data.tail(50).to_csv(folder / "wave2.csv", index=False)
    out = tmp_path / "out"
    code, _, err = run_cli(
        [
            "validate",
            str(folder),
            "--instrument",
            str(ROOT / "examples" / "bfi.yaml"),
            "--out",
            str(out),
            "-q",
            "--bootstrap",
            "0",
        ],
        capsys,
    )
    assert code == 0, err
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert [Path(s).name for s in result["data"]["sources"]] == ["wave1.csv", "wave2.csv"]
    assert result["data"]["n_used"] == 120


def test_cli_unknown_platform_is_a_usage_error(tmp_out, capsys):
    code, _, err = run_cli(
        ["validate", str(DATA / "bfi.csv"), "--platform", "spreadsheet", "--out", str(tmp_out)],
        capsys,
    )
    assert code == 2 and "--platform" in err and "csv" in err and "Traceback" not in err


def test_mhdq_total_score_rests_on_the_bifactor_evidence(mhdq_run):
    # issue 13 §5: the 37-item total is judged by ECV and ω_h of the bifactor model (Rodriguez,
    # Reise & Haviland 2016), not by α ≥ .70; ML on 5-category items is flagged
    result, out, _ = mhdq_run
    block = result["bifactor"]
    assert block["status"] == "ok"
    assert set(block["fits"]) == {"bifactor", "acquiescence"}
    ind = block["indices"]
    assert ind["general"] == "total" and 0 < ind["ecv"] < 1 and 0 < ind["omega_h"] <= ind["omega"]
    expected = "justified" if ind["ecv"] >= 0.70 and ind["omega_h"] >= 0.80 else "not justified"
    assert result["total_score"]["label"] == expected
    total_alpha = [v for v in result["verdicts"] if v["label"].startswith("α of total")]
    assert len(total_alpha) == 1 and total_alpha[0]["passed"] is None
    assert f"total score {expected}" in total_alpha[0]["label"]
    assert {
        v["label"].split(" of ")[0] for v in result["verdicts"] if v["section"] == "bifactor"
    } == {
        "ECV",
        "ω_h",
    }
    assert "--ordinal" in result["estimator_warning"]
    import html

    text = html.unescape((out / "report.html").read_text(encoding="utf-8"))
    assert "Bifactor indices of the general factor" in text and "--ordinal" in text
