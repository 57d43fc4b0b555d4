"""Benchmark: Cox fit + 200-resample bootstrap validation on 10,000 respondents x 10 predictors. Not a test.

Target (issue 5): <= 20 s on a 2-core machine. The data are SYNTHETIC (seeded Weibull proportional
hazards, uniform censoring, times rounded to 0.01 month so there are ties). When ``Rscript`` with
the survival package is on PATH, the same data are written to a temporary CSV and R's time for
``coxph`` plus 200 refits in a loop (each with its concordance) is reported beside ours.

Usage::

    .venv/bin/python benchmarks/bench_attrition.py [--n 10000] [--p 10] [--boot 200] [--repeat 1]
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

from analysis.attrition.cox import CoxModel  # noqa: E402
from analysis.attrition.validation import validate_cox  # noqa: E402

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); B <- as.integer(args[2])
f <- as.formula(paste("Surv(time, event) ~", paste(setdiff(names(d), c("time", "event")), collapse = " + ")))
set.seed(1)
t0 <- proc.time()[["elapsed"]]
fit <- coxph(f, data = d, ties = "efron")
for (b in seq_len(B)) {
  i <- sample.int(nrow(d), replace = TRUE)
  fb <- coxph(f, data = d[i, ], ties = "efron")
  lp <- predict(fb, newdata = d, type = "lp")
  cc <- concordance(Surv(d$time, d$event) ~ lp, reverse = TRUE)$concordance
}
cat(proc.time()[["elapsed"]] - t0, "\n")
"""


def synthetic(n: int, p: int, seed: int = 2024) -> pd.DataFrame:
    """SYNTHETIC benchmark cohort."""
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, p))
    beta = np.linspace(-0.4, 0.4, p)
    t = rng.weibull(0.8, n) * 12 * np.exp(-(X @ beta) / 0.8)
    c = rng.uniform(0, 24, n)
    frame = pd.DataFrame(X, columns=[f"scale{j + 1}" for j in range(p)])
    frame["time"] = np.round(np.minimum(t, c), 2) + 0.01
    frame["event"] = (t <= c).astype(int)
    return frame


def run_python(frame: pd.DataFrame, boot: int) -> dict:
    X = frame.drop(columns=["time", "event"])
    t0 = time.perf_counter()
    model = CoxModel().fit(X, frame["time"], frame["event"])
    t1 = time.perf_counter()
    val = validate_cox(X, frame["time"], frame["event"], horizon=12, n_boot=boot, seed=1)
    t2 = time.perf_counter()
    return {
        "fit_s": t1 - t0,
        "validation_s": t2 - t1,
        "total_s": t2 - t0,
        "c_apparent": float(val.table.loc["c_index", "apparent"]),
        "c_corrected": float(val.table.loc["c_index", "corrected"]),
        "converged": model.converged_,
    }


def run_r(frame: pd.DataFrame, boot: int) -> float | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.csv"
        script = Path(tmp) / "bench.R"
        frame.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        done = subprocess.run(
            [rscript, str(script), str(data), str(boot)], capture_output=True, text=True
        )
        if done.returncode != 0:
            print(f"R failed: {done.stderr[-500:]}", file=sys.stderr)
            return None
        return float(done.stdout.split()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--p", type=int, default=10)
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    frame = synthetic(args.n, args.p)
    runs = [run_python(frame, args.boot) for _ in range(args.repeat)]
    result = {
        "synthetic": True,
        "n": args.n,
        "p": args.p,
        "n_boot": args.boot,
        "events": int(frame["event"].sum()),
        "python_total_s_median": statistics.median(r["total_s"] for r in runs),
        "runs": runs,
        "target_s": 20.0,
        "cpus": os.cpu_count(),
        "platform": platform.platform(),
        "r_total_s": run_r(frame, args.boot),
    }
    if result["r_total_s"] is None:
        result["r_note"] = "Rscript with survival not found: no R timing on this machine"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
