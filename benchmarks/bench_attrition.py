"""Benchmark: attrition models against R on the same machine, in the same run. Not a test.

Three timings on 10,000 SYNTHETIC respondents x 10 predictors (seeded Weibull proportional
hazards, uniform censoring, times rounded to 0.01 month so there are ties), each beside R's time
for the same work (issue 17 targets in brackets):

1. a single Cox fit (Efron) - ``CoxModel().fit`` against ``survival::coxph`` [ours <= R];
2. Cox + 200-resample optimism validation of C, IPCW Brier at 12 months, calibration slope and
   log(O/E) - ``validate_cox`` against a ``coxph`` bootstrap loop computing the same four
   metrics on the resample and on the original data [R / ours >= 10];
3. logistic + 200-resample validation of AUC, Brier, calibration slope and intercept -
   ``validate_logistic`` against a ``glm`` loop doing the same [R / ours >= 10].

Python and R alternate (``--repeat`` rounds, each: Python then R) and medians are reported. R's
times are measured inside R (``proc.time`` around the work, after reading the data), ours
around the library call; both exclude start-up. The first Python round includes starting the
worker processes of the parallel bootstrap.

Usage::

    .venv/bin/python benchmarks/bench_attrition.py [--n 10000] [--p 10] [--boot 200] [--repeat 3]
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
from analysis.attrition.validation import validate_cox, validate_logistic  # noqa: E402

HORIZON = 12.0
FIT_REPEATS = 5

R_SCRIPT = r"""
suppressPackageStartupMessages(library(survival))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); B <- as.integer(args[2]); h <- as.numeric(args[3])
reps <- as.integer(args[4])
preds <- setdiff(names(d), c("time", "event"))
f <- as.formula(paste("Surv(time, event) ~", paste(preds, collapse = " + ")))
fl <- as.formula(paste("event ~", paste(preds, collapse = " + ")))
elapsed <- function(expr) {
  t0 <- proc.time()[["elapsed"]]; force(expr); proc.time()[["elapsed"]] - t0
}

cox_metrics <- function(fit, d, apparent) {
  lp <- predict(fit, newdata = d, type = "lp")
  bh <- basehaz(fit, centered = TRUE)
  H <- stepfun(bh$time, c(0, bh$hazard))
  risk <- 1 - exp(-H(h) * exp(lp))
  cc <- concordance(Surv(d$time, d$event) ~ lp, reverse = TRUE)$concordance
  G <- survfit(Surv(time, 1 - event) ~ 1, data = d)
  Gs <- stepfun(G$time, c(1, G$surv))
  died <- d$time <= h & d$event == 1; alive <- d$time > h
  brier <- mean(ifelse(died, (1 - risk)^2 / Gs(d$time - 1e-9), 0) +
                ifelse(alive, risk^2 / Gs(h), 0))
  slope <- if (apparent) 1 else coef(coxph(Surv(d$time, d$event) ~ lp))[[1]]
  c(cc, brier, slope, log(sum(died) / sum(H(pmin(d$time, h)) * exp(lp))))
}
glm_metrics <- function(fit, d) {
  lp <- predict(fit, newdata = d); p <- plogis(lp); y <- d$event
  r <- rank(lp); n1 <- sum(y); n0 <- length(y) - n1
  auc <- (sum(r[y == 1]) - n1 * (n1 + 1) / 2) / (n1 * n0)
  slope <- coef(glm(y ~ lp, family = binomial))[[2]]
  int <- coef(glm(y ~ offset(lp), family = binomial))[[1]]
  c(auc, mean((y - p)^2), slope, int)
}

set.seed(1)
fit_times <- sapply(seq_len(reps), function(i) elapsed(coxph(f, data = d, ties = "efron")))
cox_val <- elapsed({
  fit <- coxph(f, data = d, ties = "efron"); app <- cox_metrics(fit, d, TRUE)
  opt <- matrix(NA, B, 4)
  for (b in seq_len(B)) {
    db <- d[sample.int(nrow(d), replace = TRUE), ]
    fb <- coxph(f, data = db, ties = "efron")
    opt[b, ] <- cox_metrics(fb, db, TRUE) - cox_metrics(fb, d, FALSE)
  }
  corrected <- app - colMeans(opt)
})
glm_val <- elapsed({
  fit <- glm(fl, family = binomial, data = d); app <- glm_metrics(fit, d)
  opt <- matrix(NA, B, 4)
  for (b in seq_len(B)) {
    db <- d[sample.int(nrow(d), replace = TRUE), ]
    fb <- glm(fl, family = binomial, data = db)
    opt[b, ] <- glm_metrics(fb, db) - glm_metrics(fb, d)
  }
  corrected_glm <- app - colMeans(opt)
})
cat(median(fit_times), cox_val, glm_val, corrected[1], corrected_glm[1], "\n")
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
    fits = []
    for _ in range(FIT_REPEATS):
        t0 = time.perf_counter()
        model = CoxModel().fit(X, frame["time"], frame["event"])
        fits.append(time.perf_counter() - t0)
    t0 = time.perf_counter()
    val = validate_cox(X, frame["time"], frame["event"], horizon=HORIZON, n_boot=boot, seed=1)
    t1 = time.perf_counter()
    lval = validate_logistic(X, frame["event"], n_boot=boot, seed=1)
    t2 = time.perf_counter()
    return {
        "cox_fit_s": statistics.median(fits),
        "cox_validation_s": t1 - t0,
        "logistic_validation_s": t2 - t1,
        "c_corrected": float(val.table.loc["c_index", "corrected"]),
        "auc_corrected": float(lval.table.loc["auc", "corrected"]),
        "converged": model.converged_,
    }


def run_r(data: Path, script: Path, boot: int) -> dict | None:
    rscript = shutil.which("Rscript")
    if rscript is None:
        return None
    done = subprocess.run(
        [rscript, str(script), str(data), str(boot), str(HORIZON), str(FIT_REPEATS)],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        print(f"R failed: {done.stderr[-500:]}", file=sys.stderr)
        return None
    fit, cox_val, glm_val, c_corr, auc_corr = (float(v) for v in done.stdout.split())
    return {
        "cox_fit_s": fit,
        "cox_validation_s": cox_val,
        "logistic_validation_s": glm_val,
        "c_corrected": c_corr,
        "auc_corrected": auc_corr,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--p", type=int, default=10)
    parser.add_argument("--boot", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    frame = synthetic(args.n, args.p)
    python_runs, r_runs = [], []
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "d.csv"
        script = Path(tmp) / "bench.R"
        frame.to_csv(data, index=False)
        script.write_text(R_SCRIPT)
        for round_ in range(args.repeat):
            python_runs.append(run_python(frame, args.boot))
            print(json.dumps({"round": round_, "python": python_runs[-1]}), file=sys.stderr)
            r = run_r(data, script, args.boot)
            if r is not None:
                r_runs.append(r)
                print(json.dumps({"round": round_, "r": r}), file=sys.stderr)
    keys = ("cox_fit_s", "cox_validation_s", "logistic_validation_s")
    ours = {k: statistics.median(r[k] for r in python_runs) for k in keys}
    result: dict = {
        "synthetic": True,
        "n": args.n,
        "p": args.p,
        "n_boot": args.boot,
        "events": int(frame["event"].sum()),
        "python_median": ours,
        "cpus": os.cpu_count(),
        "load_average_at_end": os.getloadavg(),
        "platform": platform.platform(),
        "python_runs": python_runs,
    }
    if r_runs:
        theirs = {k: statistics.median(r[k] for r in r_runs) for k in keys}
        result["r_median"] = theirs
        result["r_runs"] = r_runs
        result["r_over_python"] = {k: theirs[k] / ours[k] for k in keys}
        result["targets"] = {
            "cox_fit_s: python <= R": ours["cox_fit_s"] <= theirs["cox_fit_s"],
            "cox_validation_s: R / python >= 10": theirs["cox_validation_s"]
            >= 10 * ours["cox_validation_s"],
            "logistic_validation_s: R / python >= 10": theirs["logistic_validation_s"]
            >= 10 * ours["logistic_validation_s"],
        }
    else:
        result["r_note"] = "Rscript with survival not found: no R timing on this machine"
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
