"""Benchmark: ``mhdq validate --bootstrap 0`` against an R script running the same analyses.

The data are SYNTHETIC: 20,000 × 36 five-point items with 3% missing from benchmarks/generate.py
(bench36: a total and three 12-item facets). MHDQ runs as a user runs it (a fresh process:
``mhdq validate DATA --instrument benchmarks/bench36.yaml --out DIR --bootstrap 0 -q``, report,
tables and results.json included); R runs benchmarks/validate_equivalent.R (data.table::fread;
psych alpha/omega/splitHalf/KMO/fa.parallel/vss/fa; lavaan CFA by full-information ML;
semTools validity; JSON out) in a fresh ``Rscript`` process. The two alternate for ``--rounds``
rounds; the table gives the median wall time and CPU time (user + system of the child process)
of each side and the ratio R/MHDQ beside each figure.

Run: ``.venv/bin/python benchmarks/bench_validate_vs_r.py [--n 20000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
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


def timed(cmd: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    from instrument.spec import load_instrument

    spec = load_instrument(SPEC)
    reversed_items = ",".join(i for i in spec.item_ids if spec.item(i).keyed in ("-", -1))
    work = Path(tempfile.mkdtemp(prefix="mhdq-bench-validate-r-"))
    data = write_benchmark_csv(work / f"bench36_{args.n}.csv", args.n, seed=args.seed)
    mhdq = [str(MHDQ), "validate", str(data), "--instrument", str(SPEC), "--bootstrap", "0", "-q"]
    script = HERE / "validate_equivalent.R"
    have_r = shutil.which("Rscript") is not None
    ours: list[tuple[float, float]] = []
    theirs: list[tuple[float, float]] = []
    load = os.getloadavg()[0]
    for k in range(args.rounds):
        ours.append(timed([*mhdq, "--out", str(work / f"out-{k}")]))
        if have_r:
            out = work / f"r-{k}.json"
            theirs.append(timed(["Rscript", str(script), str(data), str(out), reversed_items]))
    shutil.rmtree(work, ignore_errors=True)
    wall = statistics.median(w for w, _ in ours)
    cpu = statistics.median(c for _, c in ours)
    print(
        f"validate, {args.n:,} SYNTHETIC respondents x 36 items, --bootstrap 0; medians of "
        f"{args.rounds} alternating rounds; {os.cpu_count()} cores, load {load:.1f} at the start"
    )
    print(f"MHDQ  wall {wall:7.2f} s  cpu {cpu:7.2f} s")
    if theirs:
        r_wall = statistics.median(w for w, _ in theirs)
        r_cpu = statistics.median(c for _, c in theirs)
        print(f"R     wall {r_wall:7.2f} s  cpu {r_cpu:7.2f} s")
        print(f"R/MHDQ wall {r_wall / wall:.1f}x  cpu {r_cpu / cpu:.1f}x")
    else:
        print("R: Rscript not found")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
