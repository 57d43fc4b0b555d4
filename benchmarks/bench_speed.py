"""Benchmark (issue 16): start-up, import cost and the single steps omega / EFA / alpha beside R.

SYNTHETIC data: ``benchmarks/generate.py`` (20,000 respondents x 36 five-point items, three
factors of twelve, every fourth item reverse keyed; reversed here before timing so neither side
spends time on keys). Python and R rounds alternate; every figure is the median over rounds of
CPU time (user + system; for R ``proc.time()``), with wall time beside it, because the machine
these run on is shared and wall times are inflated by other jobs. ``data.table`` is not
installed, so R reads with base ``read.csv`` (reading is not timed on either side).

Run: ``.venv/bin/python benchmarks/bench_speed.py [--rounds 3] [--n 20000]``
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import write_benchmark_csv  # noqa: E402

MHDQ = Path(sys.executable).with_name("mhdq")
ITEMS = [f"q{i:02d}" for i in range(1, 37)]
REVERSED = ITEMS[3::4]
SCALES = [ITEMS[0:12], ITEMS[12:24], ITEMS[24:36]]

R_SCRIPT = r"""
suppressMessages(library(psych))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
items <- sprintf("q%02d", 1:36)
x <- d[, items]
for (v in items[seq(4, 36, by = 4)]) x[[v]] <- 6 - x[[v]]
reps <- as.integer(args[2])
tm <- function(expr) {
  out <- numeric(reps); wall <- numeric(reps)
  for (r in seq_len(reps)) {
    t0 <- proc.time(); force(eval(expr, parent.frame())); t1 <- proc.time() - t0
    out[r] <- t1[["user.self"]] + t1[["sys.self"]]; wall[r] <- t1[["elapsed"]]
  }
  sprintf("[%.6f, %.6f]", median(out), median(wall))
}
res <- c(
  omega_1 = tm(quote(suppressWarnings(omega(x[, 1:12], nfactors = 1, plot = FALSE)))),
  omega_sl = tm(quote(suppressWarnings(omega(x, nfactors = 3, plot = FALSE)))),
  efa = tm(quote(fa(x, nfactors = 3, fm = "minres", rotate = "oblimin"))),
  alpha_3 = tm(quote(for (s in 0:2) alpha(x[, (12 * s + 1):(12 * s + 12)])))
)
cat("{", paste(sprintf('"%s": %s', names(res), res), collapse = ", "), "}\n")
"""


def python_steps(data: Path, reps: int) -> dict[str, list[float]]:
    """CPU and wall seconds (medians over ``reps`` calls) of each step in this process."""
    import pandas as pd

    from analysis import EFA, cronbach_alpha, omega

    x = pd.read_csv(data)[ITEMS].astype(float)
    x[REVERSED] = 6 - x[REVERSED]
    steps = {
        "omega_1": lambda: omega(x[ITEMS[:12]], n_factors=1, flip=False),
        "omega_sl": lambda: omega(x, n_factors=3, flip=False),
        "efa": lambda: EFA(3).fit(x),
        "alpha_3": lambda: [cronbach_alpha(x[s]) for s in SCALES],
    }
    out = {}
    for name, step in steps.items():
        step()  # first call pays the lazy imports; timed calls below measure the statistics
        cpu, wall = [], []
        for _ in range(reps):
            c, w = time.process_time(), time.perf_counter()
            step()
            cpu.append(time.process_time() - c)
            wall.append(time.perf_counter() - w)
        out[name] = [statistics.median(cpu), statistics.median(wall)]
    return out


def child_cpu(cmd: list[str]) -> tuple[float, float]:
    """CPU (user + system of the child) and wall seconds of one command."""
    import resource

    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    w = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True)
    wall = time.perf_counter() - w
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime, wall)


IMPORT_PROBE = r"""
import sys, time
t = time.process_time()
import analysis.cli, analysis.cli.validate, analysis.study.validate, analysis.report.validation
import openpyxl, matplotlib.figure, matplotlib.backends.backend_agg, instrument.batch.pipeline
import analysis.reliability, analysis.factor, analysis.sem
print(time.process_time() - t, sorted({m.split('.')[0] for m in sys.modules}
      & {'scipy', 'sklearn', 'matplotlib', 'openpyxl', 'pyarrow', 'pandas'}))
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--n", type=int, default=20_000)
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_speed_"))
    try:
        data = write_benchmark_csv(tmp / "d.csv", args.n)
        rscript = shutil.which("Rscript")
        (tmp / "steps.R").write_text(R_SCRIPT)
        py: dict[str, list[list[float]]] = {}
        r: dict[str, list[list[float]]] = {}
        for round_ in range(args.rounds):
            for cmd, key in (
                ([str(MHDQ), "--help"], "help"),
                ([str(MHDQ), "validate", "--help"], "validate_help"),
            ):
                py.setdefault(key, []).append(list(child_cpu(cmd)))
            probe = subprocess.run(
                [sys.executable, "-c", IMPORT_PROBE], capture_output=True, text=True, check=True
            )
            cpu_s, loaded = probe.stdout.split(" ", 1)
            py.setdefault("validate_imports", []).append([float(cpu_s), float("nan")])
            got = subprocess.run(
                [sys.executable, __file__, "--_python-steps", str(data), str(args.reps)],
                capture_output=True,
                text=True,
                check=True,
            )
            for k, v in json.loads(got.stdout).items():
                py.setdefault(k, []).append(v)
            if rscript:
                got = subprocess.run(
                    [rscript, str(tmp / "steps.R"), str(data), str(args.reps)],
                    capture_output=True,
                    text=True,
                    check=True,
                )
                for k, v in json.loads(got.stdout).items():
                    r.setdefault(k, []).append(v)
            print(
                f"round {round_ + 1}: python {json.dumps({k: v[-1] for k, v in py.items()})}",
                flush=True,
            )
            if r:
                print(
                    f"round {round_ + 1}: R {json.dumps({k: v[-1] for k, v in r.items()})}",
                    flush=True,
                )
        print(f"loaded by the validate import probe: {loaded.strip()}")
        print("| Step | MHDQ CPU (wall) | R CPU (wall) | R/MHDQ (CPU) |")
        print("|---|---|---|---|")
        for k, v in py.items():
            c = statistics.median(x[0] for x in v)
            w = statistics.median(x[1] for x in v)
            if k in r:
                rc = statistics.median(x[0] for x in r[k])
                rw = statistics.median(x[1] for x in r[k])
                print(f"| {k} | {c:.3f} s ({w:.3f} s) | {rc:.3f} s ({rw:.3f} s) | {rc / c:.1f}× |")
            else:
                print(f"| {k} | {c:.3f} s ({w:.3f} s) | — | — |")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--_python-steps":
        print(json.dumps(python_steps(Path(sys.argv[2]), int(sys.argv[3]))))
        raise SystemExit(0)
    raise SystemExit(main())
