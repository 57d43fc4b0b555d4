"""Benchmark: ``mhdq validate --chunk-rows`` (bounded memory) on 2k to 2,000,000 respondents.

Targets (issue 17, "Validation at scale"): on 2,000,000 respondents × 36 items with 3% missing,
peak memory under 1.5 GB and wall time at most 10 × the 200,000 time. The data are SYNTHETIC
(benchmarks/generate.py: three correlated factors of twelve five-point items, 3% of the answers
missing at random); files are written once into benchmarks/_data/ and reused.

Each run is a fresh process, ``mhdq validate DATA --instrument benchmarks/bench36.yaml --out DIR
--chunk-rows 100000 -q``, started from a wrapper process whose ``getrusage(RUSAGE_CHILDREN)``
gives the command's own peak resident memory (ru_maxrss) and CPU time (user + system, all
threads). The in-memory ``mhdq validate`` (no ``--chunk-rows``) is timed beside it up to
``--in-memory-max`` respondents.

Run: ``.venv/bin/python benchmarks/bench_validate_scale.py [--sizes 2000 20000 200000 2000000]
[--chunk-rows 100000] [--in-memory-max 200000]``. Prints a Markdown table (docs/performance.md).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import SPEC, write_benchmark_csv  # noqa: E402

MHDQ = Path(sys.executable).with_name("mhdq")
DATA = HERE / "_data"

_WRAPPER = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode\n"
    "usage = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
    "print(usage.ru_maxrss, code, usage.ru_utime + usage.ru_stime, file=sys.stderr)\n"
)


def data_file(n: int) -> Path:
    """The synthetic benchmark file of n respondents (written once)."""
    path = DATA / f"bench_{n}.csv"
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        write_benchmark_csv(path, n)
    return path


def run(data: Path, out: Path, extra: list[str]) -> dict:
    """Wall and CPU seconds and peak resident MiB of one ``mhdq validate`` process."""
    cmd = [str(MHDQ), "validate", str(data), "--instrument", str(SPEC), "--out", str(out), "-q"]
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _WRAPPER, *cmd, *extra], capture_output=True, text=True
    )
    wall = time.perf_counter() - start
    maxrss, code, cpu = done.stderr.strip().splitlines()[-1].split()
    if int(code) != 0:
        raise SystemExit(f"mhdq validate failed ({code}): {done.stderr[-2000:]}")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    return {"wall": wall, "cpu": float(cpu), "mib": int(maxrss) / 1024, "results": results}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 20000, 200000, 2000000])
    parser.add_argument("--chunk-rows", type=int, default=100_000)
    parser.add_argument("--in-memory-max", type=int, default=200_000)
    args = parser.parse_args(argv)
    rows = []
    chunked_wall: dict[int, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for n in args.sizes:
            data = data_file(n)
            got = run(data, Path(tmp) / f"c{n}", ["--chunk-rows", str(args.chunk_rows)])
            chunked_wall[n] = got["wall"]
            steps = got["results"]["steps"]
            read = sum(s["seconds"] for s in steps if s["step"] == "read_and_accumulate")
            rows.append((n, f"chunked ({args.chunk_rows:,})", got, read, got["results"]["data"]))
            print(f"{n:>9,} chunked   {got['wall']:8.1f} s  {got['mib']:7.0f} MiB", flush=True)
            if n <= args.in_memory_max:
                mem = run(data, Path(tmp) / f"m{n}", [])
                rows.append((n, "in memory", mem, float("nan"), None))
                print(f"{n:>9,} in memory {mem['wall']:8.1f} s  {mem['mib']:7.0f} MiB", flush=True)
    print()
    print("| respondents | mode | wall (s) | CPU (s) | peak memory (MiB) | read + accumulate (s) "
          "| patterns |")  # fmt: skip
    print("|---:|---|---:|---:|---:|---:|---:|")
    for n, mode, got, read, data in rows:
        patterns = "" if data is None else f"{data['n_patterns']:,}"
        read_s = "" if read != read else f"{read:.1f}"
        print(
            f"| {n:,} | {mode} | {got['wall']:.1f} | {got['cpu']:.1f} | {got['mib']:.0f} "
            f"| {read_s} | {patterns} |"
        )
    if 200_000 in chunked_wall and 2_000_000 in chunked_wall:
        ratio = chunked_wall[2_000_000] / chunked_wall[200_000]
        print(f"\nwall time 2M / 200k (chunked): {ratio:.1f} (target ≤ 10)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
