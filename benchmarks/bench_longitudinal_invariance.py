"""Benchmark: longitudinal measurement invariance (configural, metric, scalar; FIML). Not a test.

Public data: psychTools::msqR study XRAY, times 1 and 2 (tests/data/msqR_xray_waves_fiml.csv; 200
people, 20 observed per scale model, missing answers). Times ``longitudinal_invariance`` for the EA
and TA scales, and, when ``Rscript`` with lavaan is on PATH, lavaan's ``cfa(missing = "ml")`` for
the same three models per scale plus ``lavTestLRT`` in the same run (the models are written by
``LongitudinalInvarianceCFA.to_syntax()``). CPU seconds (all threads) and wall seconds, medians.

Usage::

    .venv/bin/python benchmarks/bench_longitudinal_invariance.py [--repeat 3]
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

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.longitudinal.invariance import longitudinal_invariance  # noqa: E402

DATA = ROOT / "tests" / "data"
R_SCRIPT = r"""
suppressPackageStartupMessages(library(lavaan))
args <- commandArgs(trailingOnly = TRUE)
wide <- read.csv(args[1])
models <- readLines(args[2])
specs <- strsplit(paste(models, collapse = "\n"), "\n----\n")[[1]]
cpu <- proc.time()
for (k in seq(1, length(specs), by = 3)) {
  f <- lapply(specs[k:(k + 2)], function(m) cfa(m, data = wide, missing = "ml"))
  lavTestLRT(f[[1]], f[[2]], f[[3]])
}
t <- proc.time() - cpu
cat(sprintf("%.3f %.3f\n", t[["user.self"]] + t[["sys.self"]], t[["elapsed"]]))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    ref = json.loads((DATA / "longitudinal_invariance_reference.json").read_text())
    long = pd.read_csv(DATA / "msqR_xray_waves_fiml.csv")
    scales = {s: ref[s]["items"] for s in ("EA", "TA")}
    cpu, wall = [], []
    last = {}
    for _ in range(args.repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        last = {
            s: longitudinal_invariance(long, {s: items}, id="id", wave="time")
            for s, items in scales.items()
        }
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    print(
        f"MHDQ longitudinal_invariance, EA + TA, 3 steps each: CPU {statistics.median(cpu):.2f} s, "
        f"wall {statistics.median(wall):.2f} s (median of {args.repeat})"
    )
    if shutil.which("Rscript") is None:
        print("Rscript not found: no R timing")
        return
    with tempfile.TemporaryDirectory() as tmp:
        parts = []
        for k, w in enumerate((1, 2)):
            part = long[long["time"] == w].set_index("id").drop(columns="time")
            parts.append(part.add_suffix(f"_t{k + 1}"))
        wide = pd.concat(parts, axis=1)
        wide.to_csv(Path(tmp) / "wide.csv", index=False)
        syntax = [f.to_syntax() for s in scales for f in last[s].fits.values()]
        (Path(tmp) / "models.txt").write_text("\n----\n".join(syntax) + "\n")
        (Path(tmp) / "bench.R").write_text(R_SCRIPT)
        r_cpu, r_wall = [], []
        for _ in range(args.repeat):
            out = subprocess.run(
                [
                    "Rscript",
                    str(Path(tmp) / "bench.R"),
                    str(Path(tmp) / "wide.csv"),
                    str(Path(tmp) / "models.txt"),
                ],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.split()
            r_cpu.append(float(out[0]))
            r_wall.append(float(out[1]))
    print(
        f"R lavaan cfa(missing = 'ml') x3 + lavTestLRT, EA + TA: CPU {statistics.median(r_cpu):.2f}"
        f" s, wall {statistics.median(r_wall):.2f} s (median of {args.repeat})"
    )


if __name__ == "__main__":
    main()
