"""``mhdq build``: default run on the embedded MHDQ, format selection, and every usage error."""

from __future__ import annotations

from pathlib import Path

import openpyxl

from analysis.cli import main

ROOT = Path(__file__).resolve().parent.parent


def run(capsys, *args) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_default_builds_all_four_forms_of_the_embedded_mhdq(capsys, tmp_path, mhdq_spec):
    out = tmp_path / "out"  # created by the command
    code, stdout, _ = run(capsys, "build", "--out", str(out))
    assert code == 0
    lang = mhdq_spec.default_language
    names = [
        f"mhdq-{lang}.xlsx",
        f"mhdq-{lang}-xlsform.xlsx",
        f"mhdq-{lang}-redcap.csv",
        f"mhdq-{lang}.html",
    ]
    assert stdout.split() == [str(out / name) for name in names]
    for name in names:
        assert (out / name).stat().st_size > 1000


def test_language_group_and_format_selection(capsys, tmp_out):
    code, stdout, _ = run(
        capsys,
        "build",
        "--instrument",
        str(ROOT / "tests/data/forms_spec.yaml"),
        "--lang",
        "nb",
        "--group",
        "AA",
        "--format",
        "xlsx, html",
        "--out",
        str(tmp_out),
    )
    assert code == 0
    assert stdout.split() == [str(tmp_out / "ftq-nb.xlsx"), str(tmp_out / "ftq-nb.html")]
    assert sorted(p.name for p in tmp_out.iterdir()) == ["ftq-nb.html", "ftq-nb.xlsx"]
    meta = {
        k: v
        for k, v in openpyxl.load_workbook(tmp_out / "ftq-nb.xlsx")["_mhdq"].iter_rows(
            values_only=True
        )
    }
    assert (meta["language"], meta["group"]) == ("nb", "AA")


def test_unknown_format_is_a_usage_error(capsys, tmp_out):
    code, _, err = run(capsys, "build", "--format", "xlsx,pdf", "--out", str(tmp_out))
    assert code == 2
    assert "pdf" in err and "allowed: xlsx, xlsform, redcap, html" in err
    assert list(tmp_out.iterdir()) == []


def test_unknown_language_is_a_usage_error(capsys, tmp_out):
    code, _, err = run(
        capsys,
        "build",
        "--instrument",
        str(ROOT / "examples/bfi.yaml"),
        "--lang",
        "nb",
        "--out",
        str(tmp_out),
    )
    assert code == 2 and "--lang" in err and "'nb'" in err and "allowed: en" in err


def test_group_without_parameter_is_a_usage_error(capsys, tmp_out):
    code, _, err = run(
        capsys,
        "build",
        "--instrument",
        str(ROOT / "examples/bfi.yaml"),
        "--group",
        "AA",
        "--out",
        str(tmp_out),
    )
    assert code == 2 and "--group" in err and "no {group} parameter" in err


def test_out_that_is_a_file_is_a_usage_error(capsys, tmp_path):
    blocker = tmp_path / "file.txt"
    blocker.write_text("x")
    code, _, err = run(capsys, "build", "--out", str(blocker))
    assert code == 2 and "not a folder" in err
    code, _, err = run(capsys, "build", "--out", str(blocker / "below"))
    assert code == 2 and "cannot create the folder" in err


def test_missing_out_is_a_usage_error(capsys):
    code, _, err = run(capsys, "build")
    assert code == 2 and "--out" in err


def test_malformed_spec_is_exit_1(capsys, tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text(
        "format: 1\nlanguages: [{code: en, name: English, default: true}]\nitems: 3\n",
        encoding="utf-8",
    )
    code, _, err = run(capsys, "build", "--instrument", str(spec), "--out", str(tmp_path / "o"))
    assert code == 1 and "bad.yaml" in err and "items: must be a list" in err


def test_followup_form_with_recall_and_group_kind(capsys, tmp_out):
    code, stdout, _ = run(
        capsys,
        "build",
        "--instrument",
        "mhdq-0.2.0",
        "--form",
        "followup",
        "--recall",
        "6 months",
        "--group",
        "SMART Recovery",
        "--group-kind",
        "smart",
        "--format",
        "xlsx,html",
        "--out",
        str(tmp_out),
    )
    assert code == 0
    assert stdout.split() == [
        str(tmp_out / "mhdq-en-followup.xlsx"),
        str(tmp_out / "mhdq-en-followup.html"),
    ]
    html = (tmp_out / "mhdq-en-followup.html").read_text(encoding="utf-8")
    assert "past 6 months in SMART Recovery" in html
    wb = openpyxl.load_workbook(tmp_out / "mhdq-en-followup.xlsx")
    assert dict(wb["_mhdq"].iter_rows(values_only=True))["form"] == "followup"
    header = [c.value for c in wb["Data entry"][1]]
    assert {"wave_form", "group_name", "group_kind"} <= set(header)


def test_wave_form_usage_errors(capsys, tmp_out):
    base = ["build", "--instrument", "mhdq-0.2.0", "--out", str(tmp_out)]
    code, _, err = run(capsys, *base, "--form", "weekly")
    assert code == 2 and "--form: unknown wave form 'weekly'; allowed: baseline, followup" in err
    code, _, err = run(capsys, *base, "--form", "baseline", "--recall", "6 months")
    assert code == 2 and "--recall: the baseline form has no recall period" in err
    code, _, err = run(capsys, *base, "--group-kind", "aa")
    assert code == 2 and "--group-kind: unknown kind 'aa'" in err
    code, _, err = run(
        capsys,
        "build",
        "--instrument",
        "mhdq-0.1.0",
        "--form",
        "followup",
        "--out",
        str(tmp_out / "x"),
    )
    assert code == 2 and "--form" in err  # 0.1.0 declares no wave forms
    assert list(tmp_out.iterdir()) == []
