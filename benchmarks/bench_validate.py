"""Benchmark: the whole ``mhdq validate`` command on 20,000 respondents x 36 items.

Target (issue 4 §4): at most 10 s for the command (reading, checking, every analysis, the three
outputs), as a user runs it: a fresh process, ``mhdq validate data.csv --instrument
benchmarks/bench36.yaml --out DIR``. The data are SYNTHETIC (benchmarks/generate.py: three
correlated factors of twelve five-point items, 3% missing at random, a gender column).

Run: ``.venv/bin/python benchmarks/bench_validate.py [--n 20000] [--repeat 3]``. Prints the wall
time of each run, the median, the CPU time (user + system; close to the wall time of an idle
machine, useful when other jobs share the cores), and the time of each analysis step from
results.json. Variants: default options, ``--group-by gender`` and ``--ordinal``.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import SPEC, write_benchmark_csv  # noqa: E402

MHDQ = Path(sys.executable).with_name("mhdq")


def run_once(data: Path, out: Path, extra: list[str]) -> tuple[float, float, dict]:
    """Wall time and CPU time (user + system, all threads) of one run, and its results.json."""
    cmd = [
        str(MHDQ),
        "validate",
        str(data),
        "--instrument",
        str(SPEC),
        "--out",
        str(out),
        "-q",
        *extra,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        raise SystemExit(f"mhdq validate failed ({done.returncode}): {done.stderr[-2000:]}")
    return seconds, cpu, json.loads((out / "results.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="mhdq-bench-validate-"))
    data = write_benchmark_csv(work / f"bench36_{args.n}.csv", args.n, seed=args.seed)
    variants = {
        "default": [],
        "--group-by gender": ["--group-by", "gender"],
        "--ordinal": ["--ordinal"],
    }
    print(
        f"mhdq validate, {args.n:,} synthetic respondents x 36 items (bench36), {args.repeat} runs "
        "each; "
        f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start"
    )
    for label, extra in variants.items():
        times, cpus, steps = [], [], {}
        for k in range(args.repeat):
            seconds, cpu, result = run_once(data, work / f"out-{k}", extra)
            times.append(seconds)
            cpus.append(cpu)
            steps = {s["name"]: s["seconds"] for s in result["steps"]}
        median = statistics.median(times)
        verdict = "meets" if median <= 10 else "misses"
        print(
            f"\n{label}: median wall {median:.2f} s ({', '.join(f'{t:.2f}' for t in times)}); "
            f"median CPU {statistics.median(cpus):.2f} s; target 10 s wall: {verdict}"
        )
        print("  steps (last run): " + ", ".join(f"{k} {v:.2f}" for k, v in steps.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
