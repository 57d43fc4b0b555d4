"""Timings of polychoric correlations, parallel analysis and EFA on 20,000 × 36 five-point items.

Synthetic data (labelled as such): a three-factor model, 12 items per factor with loadings
drawn from U(.5, .8), factor correlations .3, cut into five categories at −1.5, −.5, .5, 1.5.
Prints the median of ``--repeat`` runs of each step (after one warm-up run).

Usage: ``.venv/bin/python benchmarks/bench_analysis_efa.py [--n 20000] [--repeat 5]``
R references on the same size (psych 2.2.9, from the task brief): polychoric 1.6 s,
fa.parallel(n.iter = 20) 1.5 s, fa(minres, oblimin) 0.15 s.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd

from analysis.factor.efa import EFA
from analysis.factor.polychoric import polychoric
from analysis.factor.retention import parallel_analysis


def synthetic_items(n: int, seed: int = 0) -> pd.DataFrame:
    """SYNTHETIC five-point responses from a three-factor model (36 items)."""
    rng = np.random.default_rng(seed)
    p, k = 36, 3
    lam = np.zeros((p, k))
    for f in range(k):
        lam[f * 12 : (f + 1) * 12, f] = rng.uniform(0.5, 0.8, 12)
    phi = np.full((k, k), 0.3)
    np.fill_diagonal(phi, 1.0)
    factors = rng.standard_normal((n, k)) @ np.linalg.cholesky(phi).T
    unique = np.sqrt(1 - np.sum((lam @ phi) * lam, axis=1))
    z = factors @ lam.T + rng.standard_normal((n, p)) * unique
    codes = np.digitize(z, [-1.5, -0.5, 0.5, 1.5]) + 1
    return pd.DataFrame(codes, columns=[f"item{j + 1:02d}" for j in range(p)])


def timed(fn, repeat: int) -> float:
    fn()  # warm-up
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    items = synthetic_items(args.n)
    poly = polychoric(items)
    steps = {
        "polychoric (two-step ML, 630 pairs)": lambda: polychoric(items),
        "parallel_analysis (n_iter=20, fa+pc)": lambda: parallel_analysis(items, seed=1),
        "EFA(3) minres/oblimin on Pearson": lambda: EFA(3).fit(items),
        "EFA(3) minres/oblimin on polychoric": lambda: EFA(3).fit(poly),
        "EFA(3) ml/varimax on Pearson": lambda: EFA(3, method="ml", rotation="varimax").fit(items),
    }
    print(f"synthetic data: {args.n} x {items.shape[1]} five-point items; median of {args.repeat}")
    for name, fn in steps.items():
        print(f"{name:45s} {timed(fn, args.repeat):8.3f} s")


if __name__ == "__main__":
    main()
