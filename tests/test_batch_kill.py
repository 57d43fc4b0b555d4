"""Issue 10, case 9 and case 3: ``mhdq score`` killed at random moments leaves no partial output.

SIGKILL and SIGTERM are sent at random moments (seeded) of a run over SYNTHETIC files, ten
times. After each kill the visible outputs are either absent or complete (the scores and the
problem list of one finished run); after SIGTERM no temporary file is left; after the next
(unkilled) run nothing stale is left whatever the signal was.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "data" / "scoring_spec.yaml"
ITEMS = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]
ROWS_PER_FILE = 60_000
#: Rows of each file without any answer (rejected as no_answers).
EMPTY_EVERY = 1_000

pytestmark = pytest.mark.slow


def make_inputs(folder: Path) -> list[Path]:
    """Two SYNTHETIC files; every EMPTY_EVERY-th row has an id but no answers."""
    paths = []
    for n in range(2):
        lines = [",".join(["respondent_id", *ITEMS])]
        for i in range(ROWS_PER_FILE):
            rid = f"f{n}r{i}"
            if i % EMPTY_EVERY == 0:
                lines.append(rid + "," * len(ITEMS))
            else:
                lines.append(rid + "," + ",".join(str(1 + (i + j) % 5) for j in range(12)))
        path = folder / f"in{n}.csv"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


def start(inputs: list[Path], out: Path, jobs: int) -> subprocess.Popen:
    command = [
        sys.executable,
        "-c",
        "from analysis.cli import main; main()",
        "score",
        *map(str, inputs),
        "--instrument",
        str(SPEC),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
        "--chunk-rows",
        "20000",
        "--quiet",
    ]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )


def hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def check_visible(folder: Path) -> None:
    """Either no output, or both outputs of one complete run."""
    scores, problems = folder / "scores.csv", folder / "scores.problems.csv"
    if scores.exists():
        assert problems.exists(), "scores without their problem list"
        # both files of one run: the run id of every row is that of the problem list
        ids = set(pd.read_csv(scores, usecols=["run_id"], dtype=str)["run_id"])
        assert len(ids) == 1 and ids == set(pd.read_csv(problems, dtype=str)["run_id"])
        assert len(pd.read_csv(scores)) == 2 * (ROWS_PER_FILE - ROWS_PER_FILE // EMPTY_EVERY)
        rules = pd.read_csv(problems)["rule"]
        assert (rules == "no_answers").sum() == 2 * ROWS_PER_FILE // EMPTY_EVERY


def test_kills_at_random_moments_leave_no_partial_output(tmp_path):
    inputs = make_inputs(tmp_path)
    timing = tmp_path / "timing"
    timing.mkdir()
    began = time.perf_counter()
    process = start(inputs, timing / "scores.csv", 1)
    _, err = process.communicate(timeout=600)
    assert process.returncode == 0, err
    duration = time.perf_counter() - began
    rng = random.Random(20261202)
    for attempt in range(10):
        folder = tmp_path / f"run{attempt}"
        folder.mkdir()
        if (
            attempt % 3 == 2
        ):  # a complete earlier run in the folder: it must survive or be replaced whole
            done = start(inputs, folder / "scores.csv", 1)
            done.communicate(timeout=600)
        kill = signal.SIGKILL if attempt % 2 == 0 else signal.SIGTERM
        jobs = 1 + attempt % 2
        process = start(inputs, folder / "scores.csv", jobs)
        time.sleep(rng.uniform(0.1, 1.0) * duration)
        process.send_signal(kill)
        _, err = process.communicate(timeout=600)
        assert "Traceback" not in err, err
        check_visible(folder)
        if kill == signal.SIGTERM:
            time.sleep(0.5)  # terminated workers finish dying
            assert hidden(folder) == [], (attempt, hidden(folder))
        after = start(inputs, folder / "scores.csv", jobs)
        _, err = after.communicate(timeout=600)
        assert after.returncode == 0, err
        check_visible(folder)
        assert (folder / "scores.csv").exists()
        assert hidden(folder) == [], (attempt, hidden(folder))
