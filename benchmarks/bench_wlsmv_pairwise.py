"""Benchmark: pairwise-present WLSMV (lavaan ``missing = "pairwise"``) of the five-factor bfi model
on psychTools' bfi (2,800 respondents, 25 six-point items, its real missing answers), beside
lavaan's ``cfa(..., ordered = TRUE, estimator = "WLSMV", missing = "pairwise")`` plus
``fitMeasures`` (which computes the robust indices) timed in the same run when ``Rscript`` with
lavaan is installed.

Run: ``.venv/bin/python benchmarks/bench_wlsmv_pairwise.py`` (``--no-r`` skips lavaan).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import pandas as pd

from analysis.sem.wlsmv import OrdinalCFA

DATA = Path(__file__).resolve().parents[1] / "tests" / "data"

_R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1], row.names = 1)[, 1:25]
model <- readLines(args[2])
times <- numeric(0)
cpu <- numeric(0)
for (i in seq_len(as.integer(args[3]))) {
  t0 <- proc.time()
  fit <- cfa(model, data = d, ordered = TRUE, estimator = "WLSMV", missing = "pairwise")
  fm <- fitMeasures(fit, c("chisq.scaled", "cfi.robust", "rmsea.robust"))
  t1 <- proc.time()
  times <- c(times, t1[["elapsed"]] - t0[["elapsed"]])
  cpu <- c(cpu, t1[["user.self"]] + t1[["sys.self"]] - t0[["user.self"]] - t0[["sys.self"]])
}
cat(sprintf("R_TIMES %s\n", paste(format(times, digits = 6), collapse = " ")))
cat(sprintf("R_CPU %s\n", paste(format(cpu, digits = 6), collapse = " ")))
cat(sprintf("R_FIT %.10f %.10f %.10f\n", fm[["chisq.scaled"]], fm[["cfi.robust"]],
            fm[["rmsea.robust"]]))
"""


def main(repeats: int = 3, r_repeats: int = 1, run_r: bool = True) -> None:
    model = json.loads((DATA / "parity_reference.json").read_text())["model"]
    data = pd.read_csv(DATA / "bfi.csv", index_col=0)
    items = list(data.columns[:25])
    print(
        f"bfi: {len(data)} x {len(items)}, {data[items].isna().mean().mean():.1%} missing answers"
    )
    times, cpu = [], []
    for _ in range(repeats):
        t0, c0 = time.perf_counter(), time.process_time()
        fit = OrdinalCFA(model, missing="pairwise").fit(data)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    fm = fit.fit_measures_
    print(
        f"MHDQ pairwise WLSMV (robust indices included): median {statistics.median(times):.2f} s "
        f"wall, median CPU {statistics.median(cpu):.2f} s over {repeats} fits; chisq.scaled "
        f"{fm['chisq_scaled']:.4f}, cfi.robust {fm['cfi_robust']:.6f}, rmsea.robust "
        f"{fm['rmsea_robust']:.6f}"
    )
    if not run_r or shutil.which("Rscript") is None:
        print("lavaan: not run")
        return
    with tempfile.TemporaryDirectory() as tmp:
        script, model_file = Path(tmp) / "bench.R", Path(tmp) / "model.txt"
        script.write_text(_R_SCRIPT)
        model_file.write_text(model)
        out = subprocess.run(
            ["Rscript", str(script), str(DATA / "bfi.csv"), str(model_file), str(r_repeats)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    got = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("R_")}
    r_times = [float(v) for v in got["R_TIMES"]]
    r_cpu = [float(v) for v in got["R_CPU"]]
    print(
        f"lavaan (cfa + fitMeasures): median {statistics.median(r_times):.2f} s wall, median CPU "
        f"{statistics.median(r_cpu):.2f} s over {r_repeats} fits; chisq.scaled "
        f"{float(got['R_FIT'][0]):.4f}, cfi.robust {float(got['R_FIT'][1]):.6f}, rmsea.robust "
        f"{float(got['R_FIT'][2]):.6f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--r-repeats", type=int, default=1)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    main(args.repeats, args.r_repeats, not args.no_r)
