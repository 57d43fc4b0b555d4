"""Benchmark: full-information ML CFA (missing = "ml") of a three-factor, 36-item model on 20,000
SYNTHETIC respondents with 3% of answers missing completely at random, beside lavaan.

Target (issue 11 §1): at most 1.5 s per fit and faster than lavaan's ``cfa(..., missing = "ml")`` on
the same data, timed in the same run when ``Rscript`` with lavaan is installed. The data are
SYNTHETIC (the design of ``bench_analysis_cfa.py``, then each answer deleted with probability .03).
Run: ``.venv/bin/python benchmarks/bench_fiml.py`` (``--no-r`` skips lavaan).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from bench_analysis_cfa import synthetic_responses
from threadpoolctl import threadpool_limits  # a scikit-learn dependency

from analysis.sem import CFA, MeasurementModel

_R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
model <- readLines(args[2])
times <- numeric(0)
cpu <- numeric(0)
for (i in seq_len(as.integer(args[3]))) {
  t0 <- proc.time()
  fit <- cfa(model, data = d, missing = "ml")
  t1 <- proc.time()
  times <- c(times, t1[["elapsed"]] - t0[["elapsed"]])
  cpu <- c(cpu, t1[["user.self"]] + t1[["sys.self"]] - t0[["user.self"]] - t0[["sys.self"]])
}
fm <- fitMeasures(fit, c("chisq", "df", "cfi", "rmsea"))
cat(sprintf("R_TIMES %s\n", paste(format(times, digits = 6), collapse = " ")))
cat(sprintf("R_CPU %s\n", paste(format(cpu, digits = 6), collapse = " ")))
cat(sprintf("R_FIT %.10f %d %.10f %.10f\n", fm[["chisq"]], as.integer(fm[["df"]]),
            fm[["cfi"]], fm[["rmsea"]]))
"""


def synthetic_incomplete(n: int = 20_000, rate: float = 0.03, seed: int = 7) -> pd.DataFrame:
    """The SYNTHETIC benchmark responses with each answer missing with probability ``rate``."""
    data = synthetic_responses(n=n).astype(float)
    rng = np.random.default_rng(seed)
    return data.mask(rng.random(data.shape) < rate)


def main(repeats: int = 5, r_repeats: int = 2, run_r: bool = True) -> None:
    data = synthetic_incomplete()
    names = list(data.columns)
    model = MeasurementModel(
        tuple((f"F{f + 1}", tuple(names[12 * f : 12 * (f + 1)])) for f in range(3))
    )
    n_patterns = len(data.isna().drop_duplicates())
    print(
        f"SYNTHETIC data: {data.shape[0]} x {data.shape[1]}, {data.isna().mean().mean():.1%} "
        f"missing, {n_patterns} missing-data patterns"
    )
    fit = CFA(model, missing="ml").fit(data)  # warm-up
    for label, limit in (("default BLAS threads", None), ("1 BLAS thread", 1)):
        with threadpool_limits(limits=limit):
            times, cpu = [], []
            for _ in range(repeats):
                t0, c0 = time.perf_counter(), time.process_time()
                fit = CFA(model, missing="ml").fit(data)
                times.append(time.perf_counter() - t0)
                cpu.append(time.process_time() - c0)
        print(
            f"FIML CFA ({label}): median {statistics.median(times):.3f} s wall "
            f"(min {min(times):.3f}, max {max(times):.3f}), "
            f"median CPU {statistics.median(cpu):.3f} s over {repeats} fits"
        )
    fm = fit.fit_measures_
    print(
        f"  chisq {fm['chisq']:.4f}  df {int(fm['df'])}  cfi {fm['cfi']:.6f}  "
        f"rmsea {fm['rmsea']:.6f}  n {fit.n_obs_}"
    )
    if not run_r:
        return
    if shutil.which("Rscript") is None:
        print("lavaan: Rscript not found, not timed")
        return
    with tempfile.TemporaryDirectory() as tmp:
        csv, mod, script = Path(tmp, "d.csv"), Path(tmp, "m.lav"), Path(tmp, "b.R")
        data.to_csv(csv, index=False)
        mod.write_text(model.to_syntax())
        script.write_text(_R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(csv), str(mod), str(r_repeats)],
            capture_output=True,
            text=True,
            check=False,
        )
    lines = dict(line.split(" ", 1) for line in out.stdout.splitlines() if line.startswith("R_"))
    if "R_TIMES" not in lines:
        print("lavaan failed:", out.stderr[-500:])
        return
    r_times = [float(v) for v in lines["R_TIMES"].split()]
    r_cpu = [float(v) for v in lines["R_CPU"].split()]
    print(
        f"lavaan cfa(missing = 'ml'): median {statistics.median(r_times):.3f} s wall, "
        f"median CPU {statistics.median(r_cpu):.3f} s over {r_repeats} fits"
    )
    print(f"  lavaan chisq/df/cfi/rmsea: {lines['R_FIT']}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--r-repeats", type=int, default=2)
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args()
    main(args.repeats, args.r_repeats, not args.no_r)
