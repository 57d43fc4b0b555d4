"""``mhdq score`` and ``mhdq norms`` on the command line: outputs, summary, exit codes, no tracebacks.

Data: psych's bfi (tests/data/bfi.csv) split into files, and small synthetic files.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
BFI = str(ROOT / "examples" / "bfi.yaml")
SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]


def run(argv, capsys):
    """Run the CLI in-process; return (exit code, stdout, stderr)."""
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture()
def bfi_folder(tmp_path):
    frame = pd.read_csv(DATA / "bfi.csv").rename(columns={"Unnamed: 0": "respondent_id"})
    folder = tmp_path / "responses"
    (folder / "site2").mkdir(parents=True)
    frame.iloc[:1400].to_csv(folder / "site1.csv", index=False)
    frame.iloc[1400:].to_csv(folder / "site2" / "rest.csv", index=False)
    return folder


def test_score_folder_to_parquet(tmp_path, bfi_folder, capsys):
    out = tmp_path / "scores.parquet"
    code, stdout, stderr = run(
        ["score", str(bfi_folder), "--instrument", BFI, "--out", str(out), "--quiet"], capsys
    )
    assert code == 0, stderr
    assert stdout == ""  # --quiet
    scores = pd.read_parquet(out)
    reference = pd.read_csv(
        DATA / "bfi_scores_mean_impute_none.csv"
    )  # psych::scoreItems(impute = "none")
    np.testing.assert_allclose(
        scores[SCALES].to_numpy(), reference[SCALES].to_numpy(), rtol=0, atol=1e-9
    )
    assert (tmp_path / "scores.problems.csv").exists()


def test_summary_line_and_problem_counts(tmp_path, capsys):
    # row 5 (c) has a background answer but no item answered: read, then rejected (no_answers)
    frame = pd.DataFrame(
        {
            "respondent_id": ["a", "b", "a", "c"],
            "A1": [1, 2, 3, None],
            "A2": [9, 2, 3, None],
            "gender": [1, 2, 1, 2],
        }
    )
    path = tmp_path / "few.csv"
    frame.to_csv(path, index=False)
    out = tmp_path / "s.csv"
    code, stdout, _ = run(
        [
            "score",
            str(path),
            "--instrument",
            BFI,
            "--out",
            str(out),
            "--problems",
            str(tmp_path / "issues.csv"),
        ],
        capsys,
    )
    assert code == 0
    assert "rows read 4 = scored 2 + rejected 2" in stdout
    assert "duplicate_respondent_id (error) 1" in stdout and "no_answers (error) 1" in stdout
    assert "code_outside_scale (error) 1" in stdout
    problems = pd.read_csv(tmp_path / "issues.csv")
    assert set(problems["rule"]) >= {"duplicate_respondent_id", "no_answers", "code_outside_scale"}


def test_strict_exits_1_and_writes_only_problems(tmp_path, capsys):
    path = tmp_path / "bad.csv"
    pd.DataFrame({"respondent_id": ["a", "b"], "A1": [1, 7]}).to_csv(path, index=False)
    out = tmp_path / "s.xlsx"
    code, _, stderr = run(
        ["score", str(path), "--instrument", BFI, "--out", str(out), "--strict"], capsys
    )
    assert code == 1
    assert not out.exists() and (tmp_path / "s.problems.csv").exists()
    assert "no scores were written" in stderr and "Traceback" not in stderr


@pytest.mark.parametrize(
    "argv, expected_code, message",
    [
        (["score", "missing.csv"], 2, "missing.csv: file not found"),
        (["score", "{data}/notes.md"], 2, "unknown file type"),
        (["score", "{data}/ok.csv", "--out-ext", ".txt"], 2, "unknown output format"),
        (["score", "{data}/ok.csv", "--impute", "mean"], 2, "mean"),
        (["score", "{data}/ok.csv", "--jobs", "0"], 2, "--jobs"),
        (["score", "{data}/broken.sav"], 1, "broken.sav"),
        (["score", "{data}/ok.csv", "--norms", "{data}/nonorms.json"], 2, "norms file not found"),
    ],
)
def test_bad_input_gives_a_clear_message(tmp_path, capsys, argv, expected_code, message):
    (tmp_path / "notes.md").write_text("hello")
    pd.DataFrame({"A1": [1, 2]}).to_csv(tmp_path / "ok.csv", index=False)
    (tmp_path / "broken.sav").write_bytes(b"$FL2 truncated nonsense")
    argv = [a.replace("{data}", str(tmp_path)) for a in argv]
    out = tmp_path / "s.csv"
    if "--out-ext" in argv:
        i = argv.index("--out-ext")
        out = tmp_path / f"s{argv[i + 1]}"
        argv = argv[:i] + argv[i + 2 :]
    code, stdout, stderr = run(argv + ["--instrument", BFI, "--out", str(out)], capsys)
    assert code == expected_code, stderr
    assert message in stderr
    assert "Traceback" not in stderr


def test_norms_then_score_with_norms(tmp_path, bfi_folder, capsys):
    norms = tmp_path / "norms.json"
    code, stdout, stderr = run(
        [
            "norms",
            str(bfi_folder),
            "--instrument",
            BFI,
            "--by",
            "gender",
            "--out",
            str(norms),
            "--format",
            "csv",
        ],
        capsys,
    )
    assert code == 0, stderr
    data = json.loads(norms.read_text())
    assert (
        data["group"] == "gender"
        and data["instrument"]["name"] == "Big Five Inventory (IPIP items, psych::bfi)"
    )
    assert "group,scale,n,mean,sd" in stdout
    out = tmp_path / "normed.csv"
    code, _, stderr = run(
        [
            "score",
            str(bfi_folder),
            "--instrument",
            BFI,
            "--out",
            str(out),
            "--norms",
            str(norms),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, stderr
    scored = pd.read_csv(out)
    assert {"agree_z", "agree_t", "agree_pct", "gender"} <= set(scored.columns)
    # norms made for bfi are refused for another instrument
    code, _, stderr = run(
        [
            "score",
            str(bfi_folder),
            "--instrument",
            str(DATA / "scoring_spec.yaml"),
            "--out",
            str(tmp_path / "x.csv"),
            "--norms",
            str(norms),
        ],
        capsys,
    )
    assert code == 1 and "norms were made for" in stderr
    code, _, stderr = run(
        ["norms", str(bfi_folder), "--instrument", BFI, "--by", "shoe_size", "--out", str(norms)],
        capsys,
    )
    assert code == 2 and "shoe_size" in stderr


def test_rename_and_recode_maps(tmp_path, capsys):
    path = tmp_path / "renamed.csv"
    pd.DataFrame({"id": ["a", "b"], "Q1": [11, 16], "Q2": [12, 13]}).to_csv(path, index=False)
    (tmp_path / "rename.yaml").write_text("Q1: A2\nQ2: A3\nid: respondent_id\n")
    (tmp_path / "recode.csv").write_text(
        "column,value,code\n" + "".join(f"*,{10 + c},{c}\n" for c in range(1, 7))
    )
    out = tmp_path / "s.csv"
    code, _, stderr = run(
        [
            "score",
            str(path),
            "--instrument",
            BFI,
            "--out",
            str(out),
            "--rename",
            str(tmp_path / "rename.yaml"),
            "--recode",
            str(tmp_path / "recode.csv"),
            "--quiet",
        ],
        capsys,
    )
    assert code == 0, stderr
    scores = pd.read_csv(out)
    # agree = mean of A2, A3 (both positively keyed): (1 + 2) / 2 and (6 + 3) / 2
    assert scores["agree"].tolist() == [1.5, 4.5]
    assert scores["respondent_id"].tolist() == ["a", "b"]


def test_progress_bar_on_a_terminal(tmp_path, bfi_folder, capsys, monkeypatch):
    import sys

    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    out = tmp_path / "scores.csv"
    code, stdout, stderr = run(
        ["score", str(bfi_folder), "--instrument", BFI, "--out", str(out), "--jobs", "1"], capsys
    )
    assert code == 0, stderr
    assert "rows read 2,800 = scored 2,800 + rejected 0" in stdout
    assert "Traceback" not in stderr


def test_synthetic_input_stays_labelled(tmp_path, capsys):
    # a simulated file (synthetic marker column, as mhdq simulate writes it) and a file without
    # the marker: the scores keep the marker per row, and the summary says SYNTHETIC
    simulated = pd.DataFrame(
        {
            "respondent_id": ["s1", "s2"],
            "A1": [1, 2],
            "A2": [3, 4],
            "synthetic": ["synthetic", "synthetic"],
        }
    )
    other = pd.DataFrame({"respondent_id": ["r1", "r2"], "A1": [5, 6], "A2": [1, 2]})
    simulated.to_csv(tmp_path / "a_simulated.csv", index=False)
    other.to_csv(tmp_path / "b_other.csv", index=False)
    out = tmp_path / "scores.csv"
    code, stdout, stderr = run(
        [
            "score",
            str(tmp_path / "a_simulated.csv"),
            str(tmp_path / "b_other.csv"),
            "--instrument",
            BFI,
            "--out",
            str(out),
            "--jobs",
            "1",
        ],
        capsys,
    )
    assert code == 0, stderr
    assert stdout.startswith("SYNTHETIC data: rows read 4 = scored 4 + rejected 0")
    scores = pd.read_csv(out, keep_default_na=False)
    assert scores["synthetic"].tolist() == ["synthetic", "synthetic", "", ""]
    problems = pd.read_csv(tmp_path / "scores.problems.csv")
    assert "synthetic" not in set(problems["column"].dropna())  # metadata, not an unknown column


def test_skipped_rows_are_counted_apart(tmp_path, capsys):
    # rows 3 and 6 hold only an id: respondents who answered nothing, read and rejected with a
    # record; row 5 holds nothing at all: not a respondent, skipped with its own record, not read
    path = tmp_path / "gaps.csv"
    path.write_text("respondent_id,A1,A2\na,1,2\nb,,\nc,3,\n,,\nd,,\n", encoding="utf-8")
    out = tmp_path / "s.csv"
    code, stdout, _ = run(
        ["score", str(path), "--instrument", BFI, "--out", str(out), "--chunk-rows", "1"], capsys
    )
    assert code == 0
    assert "rows read 4 = scored 2 + rejected 2 (1 empty row skipped)" in stdout
    problems = pd.read_csv(tmp_path / "s.problems.csv")
    assert problems.loc[problems["rule"] == "empty_row_skipped", "row"].tolist() == [5]
    assert problems.loc[problems["rule"] == "no_answers", "row"].tolist() == [3, 6]
    assert not stdout.startswith("SYNTHETIC")
