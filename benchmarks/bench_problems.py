"""Benchmark of ``mhdq score`` on a file with one problem in every row (issue 10, case 8).

Not a test.

Generates SYNTHETIC responses to tests/data/scoring_spec.yaml (12 five-point items) in which
every row holds one code outside the scale (``code_outside_scale``: one error record per row),
runs ``mhdq score`` on it in a child process and measures the peak resident memory of the
child (``getrusage(RUSAGE_CHILDREN).ru_maxrss``) and the wall time. Before the problem records
were spilled to disk, memory grew by about 1.4 KB per record (3M records: 4.16 GB). The figures
go to docs/performance.md under ``## Many problems`` (that section only is replaced).

Usage::

    .venv/bin/python benchmarks/bench_problems.py [--rows 3000000] [--no-write]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPEC = ROOT / "tests" / "data" / "scoring_spec.yaml"
DOC = ROOT / "docs" / "performance.md"
ITEMS = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]
TARGET_MB = 1024

_MEASURE = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(usage.ru_maxrss, code, file=sys.stderr)\n"
)


def write_problem_csv(path: Path, n: int, seed: int = 10) -> Path:
    """SYNTHETIC: ``n`` respondents, each with exactly one code (7) outside the 1-5 scale."""
    rng = np.random.default_rng(seed)
    block = 500_000
    with open(path, "w", encoding="utf-8", newline="") as handle:
        handle.write(",".join(["respondent_id", *ITEMS]) + "\n")
        for start in range(0, n, block):
            m = min(block, n - start)
            codes = rng.integers(1, 6, size=(m, len(ITEMS)))
            codes[np.arange(m), rng.integers(0, len(ITEMS), size=m)] = 7
            frame = pd.DataFrame(codes, columns=ITEMS)
            frame.insert(0, "respondent_id", [f"s{i}" for i in range(start, start + m)])
            frame.to_csv(handle, header=False, index=False)
    return path


def run(data: Path, out: Path, jobs: int) -> tuple[float, float, int, str]:
    """(wall seconds, peak MB of the child, exit code, summary line)."""
    command = [
        sys.executable,
        "-c",
        "from analysis.cli import main; main()",
        "score",
        str(data),
        "--instrument",
        str(SPEC),
        "--out",
        str(out),
        "--jobs",
        str(jobs),
    ]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _MEASURE, *command], capture_output=True, text=True
    )
    seconds = time.perf_counter() - start
    rss_kib, code = done.stderr.strip().splitlines()[-1].split()[:2]
    summary = next((s for s in done.stdout.splitlines() if s.startswith("rows read")), "")
    return seconds, int(rss_kib) / 1024, int(code), summary


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=3_000_000)
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="mhdq-bench-problems-") as folder:
        data = write_problem_csv(Path(folder) / "one_problem_per_row.csv", args.rows)
        size_mb = data.stat().st_size / 1e6
        seconds, peak_mb, code, summary = run(data, Path(folder) / "scores.parquet", args.jobs)
        problems = Path(folder) / "scores.problems.csv"
        n_records = 0
        if problems.exists():
            with open(problems, encoding="utf-8") as handle:
                n_records = sum(1 for _ in handle) - 1
    print(f"{args.rows:,} rows ({size_mb:.0f} MB): {seconds:.1f} s, peak {peak_mb:.0f} MB")
    print(f"exit code {code}")
    print(summary)
    print(f"problem records written: {n_records:,}")
    if args.no_write:
        return 0
    section = (
        "## Many problems\n\n"
        f"`mhdq score` on a SYNTHETIC CSV of {args.rows:,} rows x 12 items in which every row "
        f"holds one code outside the scale ({size_mb:.0f} MB; one `code_outside_scale` error "
        f"record per row, {n_records:,} records written), `--jobs {args.jobs}`, Parquet output. "
        "Measured by `.venv/bin/python benchmarks/bench_problems.py` (it rewrites this section) on "
        f"{os.cpu_count()} cores, in one run alongside other work on the machine.\n\n"
        "| Measure | Value | Target |\n|---|---|---|\n"
        "| Peak resident memory of the `mhdq score` process | "
        f"{peak_mb:,.0f} MB | < {TARGET_MB:,} MB |\n"
        f"| Wall time | {seconds:.1f} s | |\n"
        f"| Summary printed | {summary} | |\n\n"
        "Problem records are held in memory 20,000 at a time and spilled to a temporary Parquet "
        "file beside the output (`instrument/batch/tally.py`), then streamed into the problem "
        "list; before, every record stayed in memory (about 1.4 KB each: 4.16 GB for 3M).\n"
    )
    text = DOC.read_text(encoding="utf-8")
    pattern = re.compile(r"## Many problems\n.*?(?=\n## |\Z)", re.DOTALL)
    text = (
        pattern.sub(section.rstrip("\n"), text)
        if pattern.search(text)
        else text.rstrip("\n") + "\n\n" + section
    )
    DOC.write_text(text, encoding="utf-8")
    return 0 if code in (0, 1) else code


if __name__ == "__main__":
    raise SystemExit(main())
