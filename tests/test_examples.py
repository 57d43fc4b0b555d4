"""Every examples/*.py runs as a user would run it: a fresh process, in an empty folder, writing to
the output folder given on its command line."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT

EXAMPLES = ROOT / "examples"

#: What each example must leave in its output folder.
EXPECTED = {
    "build_questionnaire.py": [
        "forms/mhdq-en.xlsx",
        "forms/mhdq-nb-xlsform.xlsx",
        "forms/mhdq-en-redcap.csv",
        "forms/mhdq-nb.html",
    ],
    "score_cohort.py": [
        "scores/synthetic-scores.csv",
        "scores/problems.csv",
        "scores/synthetic-responses.csv",
    ],
    "validate_scales.py": [
        "validation/results.json",
        "validation/tables.xlsx",
        "validation/report.html",
    ],
    "attrition_model.py": [
        "attrition/model.json",
        "attrition/results.json",
        "attrition/report.html",
    ],
    "plan_study.py": ["plan/plan.png", "plan/search.png"],
    "own_instrument_bfi.py": ["bfi/bfi-scores.csv", "bfi/bfi-en.xlsx", "bfi/bfi-en.html"],
}
SLOW = {"validate_scales.py", "plan_study.py"}


def test_every_example_is_listed():
    assert {p.name for p in EXAMPLES.glob("*.py")} == set(EXPECTED)


def _run(script: str, cwd: Path, *args: str) -> subprocess.CompletedProcess:
    # the package is importable from the repository root whatever the working folder
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        "MPLBACKEND": "Agg",
    }
    return subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.mark.parametrize(
    "script",
    [
        pytest.param(name, marks=pytest.mark.slow) if name in SLOW else name
        for name in sorted(EXPECTED)
    ],
)
def test_example_runs_and_writes_its_outputs(script, tmp_path):
    out = tmp_path / "out"
    done = _run(script, tmp_path, str(out))
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    for relative in EXPECTED[script]:
        path = out / relative
        assert path.is_file() and path.stat().st_size > 0, relative
    assert not (tmp_path / "example-output").exists()  # the folder given was used


def test_default_output_folder(tmp_path):
    done = _run("build_questionnaire.py", tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert (tmp_path / "example-output" / "forms" / "mhdq-en.html").is_file()
