"""Chunked vs in-memory CFA on a SYNTHETIC benchmark file (issue 17: equal to 1e-10 on 200k rows).

``.venv/bin/python benchmarks/compare_chunked_cfa.py [FILE]`` (default: benchmarks/_data/bench_200000.csv,
written by benchmarks/generate.py's design when missing). Prints, per CFA model and missing-data rule,
the largest relative gap of the fit measures and the largest absolute gaps of estimates and SEs
between ``mhdq validate --chunk-rows 100000``'s fits and the same models fitted in memory.
"""

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from generate import SPEC, write_benchmark_csv  # noqa: E402

from analysis.sem.cfa import CFA  # noqa: E402
from analysis.study.chunked import validate_chunked  # noqa: E402
from instrument.read import read_responses  # noqa: E402
from instrument.spec import load_instrument  # noqa: E402

path = (
    Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent / "_data" / "bench_200000.csv"
)
path.parent.mkdir(parents=True, exist_ok=True)
if not path.exists():
    write_benchmark_csv(path, 200_000)
spec = load_instrument(SPEC)
t = time.time()
res = validate_chunked(path, spec, chunk_rows=100_000)
print("chunked", round(time.time() - t, 1), "s; models", list(res.cfa))
table = read_responses(path, spec)
items = table.items.apply(pd.to_numeric, errors="coerce")
for rule, fits in (("ml", res.cfa), ("listwise", res.cfa_listwise)):
    for name, fit in fits.items():
        ref = CFA(fit.model, missing=rule).fit(items)
        a, b = fit.fit_measures_, ref.fit_measures_
        rel = ((a - b).abs() / b.abs().clip(lower=1)).max()
        est = np.abs(fit.estimates_["est"].to_numpy() - ref.estimates_["est"].to_numpy()).max()
        se = np.abs(fit.estimates_["se"].to_numpy() - ref.estimates_["se"].to_numpy()).max()
        print(
            f"{rule:8s} {name:20s} n {fit.n_obs_} vs {ref.n_obs_}  fit rel {rel:.2g}  est {est:.2g}  se {se:.2g}"
        )
