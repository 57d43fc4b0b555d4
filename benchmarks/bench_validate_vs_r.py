"""Benchmark: ``mhdq validate --bootstrap 0`` against an R script running the same analyses.

The data are SYNTHETIC: 20,000 × 36 five-point items from benchmarks/generate.py (bench36: a total
and three 12-item facets). Two designs, because missing answers change what both sides compute:

- ``complete`` (the headline): generate.py's rows without its missing answers. ``mhdq validate``
  then fits every CFA by ML on the complete rows (its ``--cfa-missing auto`` picks listwise, which
  is FIML on complete data), and R fits lavaan's default (listwise ML): the same work.
- ``missing``: generate.py's file as written, 3% of the answers missing completely at random
  (about 2,400 missing-data patterns). ``mhdq validate`` fits every CFA by full-information ML and
  refits each model on the complete rows as a sensitivity check; R does the same with lavaan
  ``missing = "ml"``. lavaan's FIML is very slow with this many patterns, so R gets a time cap
  (``--r-cap`` seconds, killed after it; the table then says "> cap").

MHDQ runs as a user runs it (a fresh process: ``mhdq validate DATA --instrument
benchmarks/bench36.yaml --out DIR --bootstrap 0 --no-irt -q``, report.html, tables.xlsx and
results.json included); R runs benchmarks/validate_equivalent.R (data.table::fread; psych
alpha/omega/splitHalf/polychoric/KMO/cortest.bartlett/fa.parallel/vss/fa; lavaan CFA of the same
generated models, the bifactor and acquiescence models, the validity model; semTools
compRelSEM/AVE/htmt; JSON out) in a fresh ``Rscript`` process. The IRT section is left out on both
sides (``--no-irt``): mirt, its R counterpart, is not installable here; ``--irt`` times MHDQ with
it as well, in a separate column. The two sides alternate for ``--rounds`` rounds; the table gives
medians of wall time and of CPU time (user + system of the child process) and the ratio R/MHDQ.

``--phases`` also times one MHDQ run phase by phase in a fresh process (imports, reading, each
analysis step as ``ValidationResults.steps`` records it, writing the outputs) and prints R's own
step times (``R_STEP`` lines of the script).

Run: ``.venv/bin/python benchmarks/bench_validate_vs_r.py [--n 20000] [--rounds 3]
[--design complete|missing|both] [--phases]``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ITEMS, SPEC, write_benchmark_csv  # noqa: E402

MHDQ = Path(sys.executable).with_name("mhdq")

#: One MHDQ run, phase by phase, in a fresh interpreter (argv: data, out folder, irt flag).
_PHASES = r"""
import json, sys, time
clock = lambda: (time.perf_counter(), time.process_time())
marks = [("start", *clock())]
from analysis.report.validation import write_validation_outputs
from analysis.study.validate import validate
from instrument.read import read_responses
from instrument.spec import load_instrument
marks.append(("imports", *clock()))
spec = load_instrument(sys.argv[4])
table = read_responses(sys.argv[1], spec)
marks.append(("read", *clock()))
def progress(done, total, step):  # called before each step: the time since is the last step's
    marks.append((f"begin {step}", *clock()))
res = validate([table], spec, n_boot=0, irt=sys.argv[3] == "irt", progress=progress)
marks.append(("validate end", *clock()))
write_validation_outputs(res, sys.argv[2])
marks.append(("write outputs", *clock()))
def label(a, b):
    if a[0].startswith("begin "):
        return "step " + a[0][6:]
    return "validate set-up" if b[0].startswith("begin ") else b[0]
phases = [(label(a, b), b[1] - a[1], b[2] - a[2]) for a, b in zip(marks, marks[1:])]
print(json.dumps(phases))
"""


def complete_csv(path: Path, n: int, seed: int) -> Path:
    """generate.py's rows with every answer kept (its missing mask not applied)."""
    import pandas as pd
    from generate import _blocks  # the drawn codes before the missing mask

    frames = []
    for start, codes, _missing, gender in _blocks(n, seed):
        frame = pd.DataFrame(codes, columns=ITEMS)
        frame.insert(0, "gender", gender)
        frame.insert(
            0, "respondent_id", [f"R{i:08d}" for i in range(start + 1, start + len(codes) + 1)]
        )
        frames.append(frame)
    pd.concat(frames, ignore_index=True).to_csv(path, index=False)
    return path


def model_spec(path: Path) -> Path:
    """The generated models as lavaan syntax, for the R script (both sides fit the same models)."""
    from analysis.study.models import hypothesised_models, method_models
    from instrument.spec import load_instrument

    spec = load_instrument(SPEC)
    cfa = hypothesised_models(spec)
    method, _ = method_models(spec)
    primary = next(m for m in ("facets", "themes", "one_factor") if m in cfa)
    payload = {
        "reversed": [i for i in spec.item_ids if spec.item(i).keyed < 0],
        "cfa": {name: m.to_syntax() for name, m in cfa.items()},
        "method": {name: m.to_syntax() for name, m in method.items()},
        "validity": primary,
    }
    path.write_text(json.dumps(payload, indent=1))
    return path


#: Environment of the child processes (``--threads``: BLAS threads of both sides).
CHILD_ENV = dict(os.environ)


def timed(cmd: list[str], cap: float | None = None) -> tuple[float, float, str]:
    """Wall and CPU seconds (user + system) of one child process, and its stdout; wall = inf when
    it was killed at ``cap`` seconds."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    try:
        done = subprocess.run(
            cmd, capture_output=True, text=True, check=False, timeout=cap, env=CHILD_ENV
        )
    except subprocess.TimeoutExpired:
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        return math.inf, cpu, ""
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({done.returncode}): {done.stderr[-2000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, done.stdout


def _fmt(x: float, cap: float | None) -> str:
    return f"> {cap:.0f}" if not np.isfinite(x) else f"{x:7.2f}"


def run_design(design: str, args: argparse.Namespace, work: Path, spec_json: Path) -> None:
    if design == "complete":
        data = complete_csv(work / f"bench36_{args.n}_complete.csv", args.n, args.seed)
        rule = "listwise"
    else:
        data = write_benchmark_csv(work / f"bench36_{args.n}.csv", args.n, seed=args.seed)
        rule = "ml"
    base = [str(MHDQ), "validate", str(data), "--instrument", str(SPEC), "--bootstrap", "0", "-q"]
    script = HERE / "validate_equivalent.R"
    have_r = shutil.which("Rscript") is not None and not args.no_r
    cap = args.r_cap if design == "missing" else None
    ours, with_irt, theirs = [], [], []
    r_steps: list[str] = []
    load = os.getloadavg()[0]
    for k in range(args.rounds):
        ours.append(timed([*base, "--no-irt", "--out", str(work / f"out-{design}-{k}")])[:2])
        if args.irt:
            with_irt.append(timed([*base, "--out", str(work / f"irt-{design}-{k}")])[:2])
        if have_r and (k == 0 or np.isfinite(theirs[0][0])):
            out = work / f"r-{design}-{k}.json"
            wall, cpu, stdout = timed(
                ["Rscript", str(script), str(data), str(out), str(spec_json), rule], cap
            )
            theirs.append((wall, cpu))
            r_steps = [line for line in stdout.splitlines() if line.startswith("R_STEP")] or r_steps
    wall = statistics.median(w for w, _ in ours)
    cpu = statistics.median(c for _, c in ours)
    print(
        f"[{design}: CFA {'FIML' if rule == 'ml' else 'ML on complete rows'}] validate, "
        f"{args.n:,} SYNTHETIC respondents x 36 items, --bootstrap 0 --no-irt; medians of "
        f"{args.rounds} alternating rounds; {os.cpu_count()} cores, load {load:.1f} at the start; "
        f"BLAS threads {CHILD_ENV.get('OPENBLAS_NUM_THREADS', 'default')}"
    )
    print(f"  MHDQ            wall {wall:7.2f} s  cpu {cpu:7.2f} s")
    if with_irt:
        print(
            f"  MHDQ with IRT   wall {statistics.median(w for w, _ in with_irt):7.2f} s  cpu "
            f"{statistics.median(c for _, c in with_irt):7.2f} s (no R counterpart: mirt)"
        )
    if theirs:
        r_wall = statistics.median(w for w, _ in theirs)
        r_cpu = statistics.median(c for _, c in theirs)
        print(f"  R               wall {_fmt(r_wall, cap)} s  cpu {r_cpu:7.2f} s")
        if np.isfinite(r_wall):
            print(f"  R/MHDQ          wall {r_wall / wall:.1f}x  cpu {r_cpu / cpu:.1f}x")
        else:
            print(f"  R/MHDQ          wall > {cap / wall:.0f}x (R killed at {cap:.0f} s)")
        for line in r_steps:
            _, name, secs = line.split()
            print(f"    R step {name:<16} {float(secs):7.2f} s")
    elif have_r:
        print("  R: not run")
    else:
        print("  R: Rscript not found")
    if args.phases:
        phases(data, work / f"phases-{design}", irt=False)


def phases(data: Path, out: Path, *, irt: bool) -> None:
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PHASES, str(data), str(out), "irt" if irt else "no", str(SPEC)],
        capture_output=True,
        text=True,
        check=True,
        env=CHILD_ENV,
    )
    total = time.perf_counter() - start
    got = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"  MHDQ phases (one fresh process, {total:.2f} s including interpreter start):")
    print(f"    {'phase':<24} {'wall':>8} {'cpu':>8}")
    for name, wall, cpu in got:
        print(f"    {name:<24} {wall:8.3f} {cpu:8.3f}")
    print(f"    {'sum':<24} {sum(w for _, w, _ in got):8.3f} {sum(c for _, _, c in got):8.3f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--design", choices=("complete", "missing", "both"), default="both")
    parser.add_argument("--r-cap", type=float, default=600.0, help="R time cap (missing design)")
    parser.add_argument("--irt", action="store_true", help="also time MHDQ with the IRT section")
    parser.add_argument("--phases", action="store_true", help="MHDQ's time phase by phase")
    parser.add_argument("--no-r", action="store_true")
    parser.add_argument(
        "--threads",
        type=int,
        help="BLAS threads of both sides (OPENBLAS/OMP/MKL_NUM_THREADS); on a loaded machine 1 "
        "keeps idle BLAS threads from spinning into the CPU time",
    )
    args = parser.parse_args(argv)
    if args.threads is not None:
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            CHILD_ENV[var] = str(args.threads)
    work = Path(tempfile.mkdtemp(prefix="mhdq-bench-validate-r-"))
    try:
        spec_json = model_spec(work / "models.json")
        designs = ("complete", "missing") if args.design == "both" else (args.design,)
        for design in designs:
            run_design(design, args, work, spec_json)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
