"""Benchmark: a whole WLSMV fit of the three-factor bench36 model on 20,000 × 36 SYNTHETIC
five-point items, beside lavaan's ``cfa(..., ordered = TRUE, estimator = "WLSMV")`` timed in the
same run.

A whole fit is what a user waits for: thresholds, polychoric correlations and their asymptotic
covariance Γ (the costly part), the DWLS minimisation, robust standard errors and every fit
measure (lavaan: ``cfa`` + ``fitMeasures``, which computes the robust indices). Two designs:

- ``complete``: the benchmark data without missing answers (listwise = every row);
- ``pairwise``: the same data with benchmarks/generate.py's 3% missing answers, fitted with
  ``missing = "pairwise"`` on both sides.

MHDQ fits in this process (``OrdinalCFA(model, missing=...).fit(data)``); lavaan fits in an
``Rscript`` process that has read the same CSV, and only the fit is timed (``proc.time`` around
``cfa`` + ``fitMeasures``; R's start-up and reading are excluded on both sides). The two alternate
for ``--rounds`` rounds; medians of wall and CPU time. The scaled χ² and robust CFI of both are
printed so a reader sees the same fit was computed.

Run: ``.venv/bin/python benchmarks/bench_wlsmv_vs_lavaan.py [--n 20000] [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from generate import ITEMS, SPEC, make_benchmark_responses  # noqa: E402

_R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
model <- paste(readLines(args[2]), collapse = "\n")
t0 <- proc.time()
fit <- cfa(model, data = d, ordered = TRUE, estimator = "WLSMV", missing = args[3])
fm <- fitMeasures(fit, c("chisq.scaled", "cfi.robust", "rmsea.robust"))
t1 <- proc.time()
cat(sprintf("R_TIME %.6f %.6f\n", t1[["elapsed"]] - t0[["elapsed"]],
            t1[["user.self"]] + t1[["sys.self"]] - t0[["user.self"]] - t0[["sys.self"]]))
cat(sprintf("R_FIT %.10f %.10f %.10f\n", fm[["chisq.scaled"]], fm[["cfi.robust"]],
            fm[["rmsea.robust"]]))
"""


def facets_syntax() -> str:
    """lavaan syntax of bench36's facets model (the markers MHDQ's generated model uses)."""
    from analysis.study.models import hypothesised_models
    from instrument.spec import load_instrument

    model = hypothesised_models(load_instrument(SPEC))["facets"]
    return "\n".join(f"{f} =~ {' + '.join(model.indicators(f))}" for f in model.first_order)


def complete_responses(n: int, seed: int) -> pd.DataFrame:
    """The benchmark rows with the missing answers filled by the codes generate.py drew."""
    from generate import _blocks  # the drawn codes before the missing mask

    codes = np.concatenate([c for _, c, _, _ in _blocks(n, seed)]).astype("float64")
    return pd.DataFrame(codes, columns=ITEMS)


def run_r(csv: Path, model_file: Path, missing: str) -> tuple[float, float, list[float]]:
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "bench.R"
        script.write_text(_R_SCRIPT)
        out = subprocess.run(
            ["Rscript", str(script), str(csv), str(model_file), missing],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
    got = {line.split()[0]: line.split()[1:] for line in out.splitlines() if line.startswith("R_")}
    wall, cpu = (float(v) for v in got["R_TIME"])
    return wall, cpu, [float(v) for v in got["R_FIT"]]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--design", choices=("complete", "pairwise", "both"), default="both")
    parser.add_argument("--no-r", action="store_true")
    args = parser.parse_args(argv)
    from analysis.sem.wlsmv import OrdinalCFA

    syntax = facets_syntax()
    have_r = not args.no_r and shutil.which("Rscript") is not None
    designs = ("complete", "pairwise") if args.design == "both" else (args.design,)
    print(
        f"WLSMV, bench36 facets model (3 factors, 36 items), {args.n:,} SYNTHETIC respondents; "
        f"medians of {args.rounds} alternating rounds; {os.cpu_count()} cores, load "
        f"{os.getloadavg()[0]:.1f} at the start"
    )
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "model.txt"
        model_file.write_text(syntax)
        for design in designs:
            if design == "complete":
                data, missing = complete_responses(args.n, args.seed), "listwise"
            else:
                data, missing = make_benchmark_responses(args.n, args.seed)[ITEMS], "pairwise"
            csv = Path(tmp) / f"{design}.csv"
            data.to_csv(csv, index=False, na_rep="NA")
            ours, theirs = [], []
            for _ in range(args.rounds):
                t0, c0 = time.perf_counter(), time.process_time()
                fit = OrdinalCFA(syntax, missing=missing).fit(data)
                ours.append((time.perf_counter() - t0, time.process_time() - c0))
                if have_r:
                    wall, cpu, r_fit = run_r(csv, model_file, missing)
                    theirs.append((wall, cpu))
            fm = fit.fit_measures_
            wall = statistics.median(w for w, _ in ours)
            cpu = statistics.median(c for _, c in ours)
            print(f"[{design}: missing = {missing!r}]")
            print(
                f"  MHDQ    wall {wall:6.2f} s  cpu {cpu:6.2f} s   chisq.scaled "
                f"{fm['chisq_scaled']:.4f}  cfi.robust {fm['cfi_robust']:.6f}  rmsea.robust "
                f"{fm['rmsea_robust']:.6f}"
            )
            if theirs:
                r_wall = statistics.median(w for w, _ in theirs)
                r_cpu = statistics.median(c for _, c in theirs)
                print(
                    f"  lavaan  wall {r_wall:6.2f} s  cpu {r_cpu:6.2f} s   chisq.scaled "
                    f"{r_fit[0]:.4f}  cfi.robust {r_fit[1]:.6f}  rmsea.robust {r_fit[2]:.6f}"
                )
                print(f"  lavaan/MHDQ wall {r_wall / wall:.1f}x  cpu {r_cpu / cpu:.1f}x")
            else:
                print("  lavaan: not run")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
