"""Issue 10, case 11: ``mhdq validate --group-by`` as disclosure control (SYNTHETIC data).

Free-text questions are never a grouping, sensitive ones only when allowed, and a group smaller
than the minimum (default 5) stops the run before anything is written; messages never show the
small groups' labels.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main
from instrument.errors import UsageError
from instrument.grouping import check_group_sizes, check_grouping
from instrument.spec import load_instrument

SPEC = Path(__file__).parent / "data" / "scoring_spec.yaml"
ITEMS = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]


@pytest.fixture(scope="module")
def spec():
    return load_instrument(SPEC)


def run(argv, capsys):
    try:
        main(argv)
        code = 0
    except SystemExit as exc:
        code = exc.code or 0
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def answers(path: Path, genders: list[int]) -> Path:
    """SYNTHETIC answers: a common factor so validate has something to analyse."""
    rng = np.random.default_rng(11)
    n = len(genders)
    factor = rng.normal(size=(n, 1))
    codes = np.clip(np.rint(3 + factor + rng.normal(scale=0.8, size=(n, 12))), 1, 5).astype(int)
    frame = pd.DataFrame(codes, columns=ITEMS)
    frame.insert(0, "respondent_id", [f"r{i}" for i in range(n)])
    frame["gender"] = genders
    frame["hiv"] = [i % 2 for i in range(n)]
    frame["comments"] = [f"secret text {i}" for i in range(n)]
    frame.to_csv(path, index=False)
    return path


def test_free_text_and_identifying_columns_are_refused(spec):
    with pytest.raises(UsageError, match="free-text"):
        check_grouping(spec, "comments")
    with pytest.raises(UsageError, match="free-text"):
        check_grouping(spec, "comments", allow_sensitive=True)
    with pytest.raises(UsageError, match="identifies"):
        check_grouping(spec, "respondent_id")


def test_sensitive_question_needs_explicit_permission(spec):
    with pytest.raises(UsageError, match="sensitive"):
        check_grouping(spec, "hiv")
    check_grouping(spec, "hiv", allow_sensitive=True)
    check_grouping(spec, "gender")


def test_small_groups_are_refused_without_naming_them():
    with pytest.raises(UsageError) as caught:
        check_group_sizes({"Man": 50, "Woman": 4, "Other": 1}, "gender")
    message = str(caught.value)
    assert "2 group(s)" in message and "smallest: 1" in message
    assert "Woman" not in message and "Other" not in message
    check_group_sizes({"Man": 50, "Woman": 4}, "gender", minimum=4)
    with pytest.raises(ValueError, match="minimum"):
        check_group_sizes({"Man": 5}, "gender", minimum=0)


def test_cli_refuses_free_text_grouping(tmp_path, capsys):
    data = answers(tmp_path / "a.csv", [1, 2] * 30)
    out = tmp_path / "report"
    code, _, err = run(
        [
            "validate",
            str(data),
            "--instrument",
            str(SPEC),
            "--group-by",
            "comments",
            "--out",
            str(out),
        ],
        capsys,
    )
    assert code == 2
    assert "free-text" in err and "secret text" not in err and "Traceback" not in err
    assert not out.exists() or not any(out.iterdir())


def test_cli_refuses_a_small_group_and_writes_nothing(tmp_path, capsys):
    data = answers(tmp_path / "a.csv", [1] * 57 + [2] * 3)
    out = tmp_path / "report"
    argv = ["validate", str(data), "--instrument", str(SPEC), "--group-by", "gender"]
    code, _, err = run([*argv, "--bootstrap", "0", "--out", str(out)], capsys)
    assert code == 2, err
    assert "fewer than 5 respondents" in err and "Woman" not in err
    assert not (out / "report.html").exists() and not (out / "results.json").exists()
    code, _, err = run(
        [*argv, "--bootstrap", "0", "--min-group-size", "3", "--out", str(out)], capsys
    )
    assert code == 0, err
    assert (out / "results.json").exists()
