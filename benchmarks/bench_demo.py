"""Benchmark: ``mhdq demo`` (the whole journey on 600 SYNTHETIC respondents with 12-month follow-up).

Target (issue 6 §4): at most 60 s on a 2-core machine, as a user runs it: a fresh process,
``mhdq demo --out DIR``. The run builds every form, simulates the cohort, checks and scores it,
runs the validation (reports, tables, results) and the attrition analysis (200 bootstrap
resamples), and draws the figures.

Run: ``.venv/bin/python benchmarks/bench_demo.py [--repeat 3]``. Prints the wall time of each run,
the median, the CPU time (user + system of the child process; close to the wall time on an idle
machine, useful when other jobs share the cores), and the seconds of each step from one in-process
run of :func:`analysis.simulate.demo.run_demo`.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_cli(out: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one ``mhdq demo`` in a fresh process."""
    cmd = [
        sys.executable,
        "-c",
        "from analysis.cli import main; main()",
        "demo",
        "--out",
        str(out),
        "-q",
    ]
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"mhdq demo failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mhdq-bench-demo-"))
    print(
        f"mhdq demo (n = 600, 12 months, 200 bootstrap resamples), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    walls, cpus = [], []
    for k in range(args.repeat):
        wall, cpu = run_cli(work / f"run{k}")
        walls.append(wall)
        cpus.append(cpu)
        print(f"  run {k + 1}: {wall:6.1f} s wall, {cpu:6.1f} s CPU")
    print(
        f"median: {statistics.median(walls):.1f} s wall, {statistics.median(cpus):.1f} s CPU "
        "(target <= 60 s)"
    )
    sys.path.insert(0, str(ROOT))
    from analysis.simulate.demo import run_demo

    result = run_demo(work / "steps")
    print("steps (in-process): " + ", ".join(f"{k} {v:.1f} s" for k, v in result.timings.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
