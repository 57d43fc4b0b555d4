"""Issue 10 (CI failure of the kill test): a ``--jobs 2`` run stopped while its process pool
starts a worker prints no traceback.

The stop is placed deterministically: the run's process is patched so that it signals itself
right after the forkserver has forked a worker and before the worker has been handed its work
(the moment CI hit by chance: ``EOFError: Ran out of input`` in the forkserver's child).
SYNTHETIC input.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "data" / "scoring_spec.yaml"
ITEMS = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]

#: Runs ``mhdq score`` with the forkserver's connection patched: at the n-th worker started,
#: the process sends itself the signal between the fork and the hand-over of the work.
PATCHED_MAIN = """
import os, signal, sys
from multiprocessing import forkserver
signum, nth = getattr(signal, sys.argv.pop(1)), int(sys.argv.pop(1))
# Ctrl-C as in an interactive shell: a test run started in the background by a shell without
# job control inherits SIGINT ignored, and Python then keeps it ignored
signal.signal(signal.SIGINT, signal.default_int_handler)
original, started = forkserver.connect_to_new_process, []
def connect(fds):
    result = original(fds)
    started.append(1)
    if len(started) == nth:
        os.kill(os.getpid(), signum)
    return result
forkserver.connect_to_new_process = connect
from analysis.cli import main
main()
"""

pytestmark = pytest.mark.skipif(
    sys.platform == "win32", reason="the forkserver start method is POSIX only"
)


def make_inputs(folder: Path) -> list[Path]:
    paths = []
    for n in range(3):
        rows = [",".join(["respondent_id", *ITEMS])]
        rows += [
            f"f{n}r{i}," + ",".join(str(1 + (i + j) % 5) for j in range(12)) for i in range(50)
        ]
        path = folder / f"in{n}.csv"
        path.write_text("\n".join(rows) + "\n", encoding="utf-8")
        paths.append(path)
    return paths


@pytest.mark.parametrize(
    "signame, nth",
    [("SIGTERM", 1), ("SIGTERM", 2), ("SIGINT", 2), ("SIGKILL", 1), ("SIGKILL", 2)],
)
def test_stop_while_the_pool_starts_a_worker_prints_no_traceback(tmp_path, signame, nth):
    inputs = make_inputs(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    command = [sys.executable, "-c", PATCHED_MAIN, signame, str(nth), "score", *map(str, inputs)]
    command += ["--instrument", str(SPEC), "--out", str(out / "scores.csv"), "--jobs", "2"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MHDQ_DEBUG", None)
    # stderr is shared with the forkserver and its children: communicate() returns once every
    # one of them has exited, so a traceback printed by a cut-off worker is in ``err``
    process = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert "Traceback" not in process.stderr, process.stderr
    assert "Error" not in process.stderr, process.stderr
    if signame == "SIGKILL":
        assert process.returncode == -signal.SIGKILL
        assert not (out / "scores.csv").exists()
    else:
        assert process.returncode != 0
        assert "Aborted." in process.stderr
        assert sorted(p.name for p in out.iterdir()) == []  # no output, no temporary file
