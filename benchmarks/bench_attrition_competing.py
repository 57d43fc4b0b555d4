"""Benchmark: competing outcomes (cumulative incidence with Gray's test, Fine-Gray, cause-specific
Cox) on synthetic respondents. Not a test.

The data are SYNTHETIC (seeded): three outcome types with cause-specific Weibull hazards that depend
on five predictors, uniform censoring, times rounded to 0.1 month so there are ties, three groups.
When ``Rscript`` with cmprsk and survival is on PATH, the same data are written to a temporary CSV
and R's times for ``cuminc(group =)``, ``crr`` (cause 1) and three ``coxph`` fits are measured in
the same run and reported beside ours.

Usage::

    .venv/bin/python benchmarks/bench_attrition_competing.py [--n 5000] [--p 5] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.attrition.competing import (  # noqa: E402
    FineGrayModel,
    cause_specific_cox,
    cumulative_incidence,
)

R_SCRIPT = r"""
suppressPackageStartupMessages({ library(survival); library(cmprsk) })
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); reps <- as.integer(args[2])
X <- as.matrix(d[, grep("^x", names(d))])
f <- as.formula(paste("Surv(time, status == k) ~", paste(colnames(X), collapse = " + ")))
el <- function(expr) { t0 <- proc.time()[["elapsed"]]; force(expr); proc.time()[["elapsed"]] - t0 }
res <- NULL
for (r in seq_len(reps)) {
  a <- el(cuminc(d$time, d$status, group = d$group))
  b <- el(crr(d$time, d$status, cov1 = X, failcode = 1, cencode = 0))
  c <- el(for (k in 1:3) coxph(f, data = d, ties = "efron"))
  res <- rbind(res, c(a, b, c))
}
cat(apply(res, 2, median), "\n")
"""


def synthetic(n: int, p: int, seed: int = 2025) -> pd.DataFrame:
    """SYNTHETIC competing-outcomes cohort."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    group = rng.integers(0, 3, n)
    times = []
    for k, scale in enumerate((30.0, 20.0, 40.0)):
        beta = np.linspace(-0.3, 0.3, p) * (1 if k % 2 == 0 else -1)
        times.append(rng.weibull(1.2, n) * scale * np.exp(-(X @ beta + 0.2 * group * k) / 1.2))
    t = np.column_stack(times)
    c = rng.uniform(0, 36, n)
    first = t.min(axis=1)
    frame = pd.DataFrame(X, columns=[f"x{j + 1}" for j in range(p)])
    frame["group"] = group
    frame["time"] = np.round(np.minimum(first, c), 1) + 0.1
    frame["status"] = np.where(first <= c, t.argmin(axis=1) + 1, 0)
    return frame


def run_python(frame: pd.DataFrame) -> dict:
    X = frame.filter(regex="^x")
    t0 = time.perf_counter()
    cumulative_incidence(frame["time"], frame["status"], group=frame["group"])
    t1 = time.perf_counter()
    FineGrayModel(cause=1).fit(X, frame["time"], frame["status"])
    t2 = time.perf_counter()
    cause_specific_cox(X, frame["time"], frame["status"])
    t3 = time.perf_counter()
    return {"cuminc_s": t1 - t0, "fine_gray_s": t2 - t1, "cause_specific_cox_s": t3 - t2}


def run_r(frame: pd.DataFrame, reps: int) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.csv"
        script = Path(tmp) / "bench.R"
        frame.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        done = subprocess.run(
            [rscript, str(script), str(data), str(reps)], capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"R failed: {done.stderr[-500:]}", file=sys.stderr)
            return None
        a, b, c = (float(v) for v in done.stdout.split()[-3:])
        return {"cuminc_s": a, "fine_gray_s": b, "cause_specific_cox_s": c}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5_000)
    parser.add_argument("--p", type=int, default=5)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame = synthetic(args.n, args.p)
    run_python(frame.iloc[:200])  # warm-up: imports and first-call overheads
    runs = [run_python(frame) for _ in range(args.repeat)]
    python = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
    result = {
        "synthetic": True,
        "n": args.n,
        "p": args.p,
        "events_by_cause": {
            str(k): int(v) for k, v in frame["status"].value_counts().sort_index().items()
        },
        "python_median_s": python,
        "runs": runs,
        "r_median_s": run_r(frame, args.repeat),
        "cpus": os.cpu_count(),
        "load_average": os.getloadavg(),
        "platform": platform.platform(),
    }
    if result["r_median_s"] is None:
        result["r_note"] = "Rscript with cmprsk and survival not found: no R timing on this machine"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
