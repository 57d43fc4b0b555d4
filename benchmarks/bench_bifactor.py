"""Benchmark: the bifactor and acquiescence models of the MHDQ (0.1.0, 37 items) by ML.

The data are SYNTHETIC: 600 respondents from :func:`analysis.simulate.cohort.simulate_cohort`
(seed 11, as tests/test_validate.py), answers only, complete rows. lavaan's time for the same models
(``to_syntax()``, ``cfa(std.lv = FALSE)``) is measured in the same run when Rscript exists.
Run: ``.venv/bin/python benchmarks/bench_bifactor.py``.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

from analysis.sem.cfa import CFA
from analysis.simulate.cohort import simulate_cohort
from analysis.study.models import answers_only, method_models
from instrument.spec import load_instrument


def main(repeats: int = 3) -> None:
    mhdq = load_instrument("mhdq-0.1.0")
    models, _ = method_models(mhdq)
    items = list(models["bifactor"].observed)
    data = answers_only(simulate_cohort(mhdq, n=600, seed=11).responses, mhdq)[items].dropna()
    print(f"SYNTHETIC MHDQ 0.1.0, n = {len(data)} complete rows, {data.shape[1]} items")
    for name, model in models.items():
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = CFA(model).fit(data)
            times.append(time.perf_counter() - t0)
        fm = fit.fit_measures_
        print(
            f"{name:13s} python median {statistics.median(times):.2f} s "
            f"(chisq {fm['chisq']:.4f}, df {fm['df']:.0f}, converged {fit.converged_})"
        )
        if shutil.which("Rscript") is None:
            continue
        with tempfile.TemporaryDirectory() as tmp:
            csv = Path(tmp) / "synthetic.csv"
            data[list(model.observed)].to_csv(csv, index=False)
            script = Path(tmp) / "fit.R"
            script.write_text(
                "suppressPackageStartupMessages(library(lavaan))\n"
                f"d <- read.csv('{csv}')\n"
                f"m <- '{model.to_syntax()}'\n"
                "t <- c()\n"
                f"for (k in 1:{repeats}) t <- c(t, system.time(f <- cfa(m, d))[['elapsed']])\n"
                "cat(median(t), fitMeasures(f, 'chisq'), '\\n')\n"
            )
            out = subprocess.run(
                ["Rscript", str(script)], capture_output=True, text=True, check=False
            )
            print(f"{'':13s} lavaan median {out.stdout.strip()} (seconds, chisq)")


if __name__ == "__main__":
    main()
