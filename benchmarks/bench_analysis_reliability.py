"""Benchmark: bootstrap interval of alpha, 1,000 resamples of one 12-item scale, 20,000 respondents.

Target (issue 4 §1): at most 0.4 s; R's ``psych::alpha(x, n.iter = 1000)`` takes 8.1 s for the
same job. Also times the bootstrap interval of omega total (one factor, 1,000 resamples of the
12-item scale; aim: well under 1 s) and of the Schmid-Leiman omega total of all 36 items, and the
other reliability statistics of that scale and of all 36 items. The data
are SYNTHETIC: 20,000 × 36 five-point items, three correlated factors of twelve items, every
fourth item reverse keyed, about 3% missing (``benchmarks/generate.py``'s
``make_benchmark_responses`` when available, an equivalent local generator otherwise).

Run: ``.venv/bin/python benchmarks/bench_analysis_reliability.py [--n 20000] [--boot 1000]``.
On a busy machine, multi-threaded BLAS can be much slower than one thread; compare with
``OPENBLAS_NUM_THREADS=1`` and look at the load average the script prints.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis._compat import single_threaded_blas
from analysis.reliability import bootstrap_alpha, cronbach_alpha, omega, split_half
from analysis.study.items import item_analysis

R_SECONDS = 8.1  # psych::alpha(x, n.iter = 1000) on the same-sized scale, as stated in issue 4


def synthetic_responses(n: int, seed: int) -> tuple[pd.DataFrame, str]:
    """SYNTHETIC 36-item data and where they came from."""
    try:
        from benchmarks.generate import make_benchmark_responses

        frame = make_benchmark_responses(n, seed)
        return frame[[c for c in frame.columns if c.startswith("q")]], "benchmarks/generate.py"
    except ImportError:
        pass
    rng = np.random.default_rng(seed)
    phi = np.array([[1.0, 0.3, 0.4], [0.3, 1.0, 0.5], [0.4, 0.5, 1.0]])
    factors = rng.standard_normal((n, 3)) @ np.linalg.cholesky(phi).T
    loadings = np.zeros((36, 3))
    for j in range(36):
        loadings[j, j // 12] = rng.uniform(0.55, 0.8) * (-1 if (j + 1) % 4 == 0 else 1)
    latent = factors @ loadings.T + rng.standard_normal((n, 36)) * np.sqrt(
        1 - (loadings**2).sum(axis=1)
    )
    codes = 1.0 + np.searchsorted(np.array([-1.6, -0.6, 0.3, 1.2]), latent)
    codes[rng.random(codes.shape) < 0.03] = np.nan
    return pd.DataFrame(codes, columns=[f"q{i:02d}" for i in range(1, 37)]), "local generator"


def timed(fn, repeats: int) -> tuple[float, object, float]:
    """Median wall-clock seconds, the last result, and median CPU seconds of this process."""
    times, cpu, out = [], [], None
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    return statistics.median(times), out, statistics.median(cpu)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--boot", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)

    data, source = synthetic_responses(args.n, args.seed)
    scale = data.iloc[:, :12]
    keys = {c: (-1 if (i + 1) % 4 == 0 else 1) for i, c in enumerate(scale.columns)}
    all_keys = {c: (-1 if (i + 1) % 4 == 0 else 1) for i, c in enumerate(data.columns)}
    missing_share = float(data.isna().to_numpy().mean())

    print("MHDQ reliability benchmark (SYNTHETIC data)")
    print(
        f"machine: {platform.platform()}, {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs"
    )
    print(f"python {platform.python_version()}, numpy {np.__version__}, pandas {pd.__version__}")
    print(f"load average at start (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(
        f"data: {args.n} x {data.shape[1]} five-point items from {source}, {missing_share:.1%} "
        "missing"
    )
    print()

    boot_time, boot, boot_cpu = timed(
        lambda: bootstrap_alpha(
            scale, keys=keys, scale_min=1, scale_max=5, n_boot=args.boot, seed=1
        ),
        args.repeats,
    )
    print(
        f"bootstrap alpha, {args.boot} resamples, 12 items x {args.n}: {boot_time:.3f} s (median "
        "of "
        f"{args.repeats}); R psych::alpha(n.iter = 1000): {R_SECONDS} s; speed-up "
        f"{R_SECONDS / boot_time:.0f}x; "
        f"target <= 0.4 s: {'met' if boot_time <= 0.4 else 'NOT met'}"
    )
    threads = os.environ.get("OPENBLAS_NUM_THREADS", "unset")
    print(f"  CPU time of this process: {boot_cpu:.3f} s (OPENBLAS_NUM_THREADS={threads})")
    print(
        f"  alpha {boot.estimate:.4f}, 95% percentile interval [{boot.ci_low:.4f}, "
        f"{boot.ci_high:.4f}]"
    )
    complete = scale.dropna()
    t_complete, _, _ = timed(
        lambda: bootstrap_alpha(
            complete, keys=keys, scale_min=1, scale_max=5, n_boot=args.boot, seed=1
        ),
        args.repeats,
    )
    print(
        f"  same on the {len(complete)} complete rows (no missing answers, fast path): "
        f"{t_complete:.3f} s"
    )
    omega_time, om, omega_cpu = timed(
        lambda: omega(
            scale, n_factors=1, keys=keys, scale_min=1, scale_max=5, n_boot=args.boot, seed=1
        ),
        args.repeats,
    )
    print(
        f"bootstrap omega total (1 factor, minres), {args.boot} resamples, 12 items x {args.n}: "
        f"{omega_time:.3f} s (CPU {omega_cpu:.3f} s; median of {args.repeats}); "
        f"aim well under 1 s: {'met' if omega_time < 1.0 else 'NOT met'}"
    )
    print(
        f"  omega {om.estimate:.4f}, 95% percentile interval [{om.ci_low:.4f}, {om.ci_high:.4f}], "
        f"psych's Fisher-z interval [{om.bootstrap.fisher_z_ci[0]:.4f}, "
        f"{om.bootstrap.fisher_z_ci[1]:.4f}]"
    )
    with single_threaded_blas():
        t1, _, c1 = timed(
            lambda: omega(
                scale, n_factors=1, keys=keys, scale_min=1, scale_max=5, n_boot=args.boot, seed=1
            ),
            args.repeats,
        )
    print(f"  same with single-threaded BLAS: {t1:.3f} s (CPU {c1:.3f} s)")
    for boot_n in (200, args.boot):
        t_sl, sl, c_sl = timed(
            lambda boot_n=boot_n: omega(
                data, n_factors=3, keys=all_keys, scale_min=1, scale_max=5, n_boot=boot_n, seed=1
            ),
            args.repeats,
        )
        print(
            f"bootstrap omega total (Schmid-Leiman, 3 factors), {boot_n} resamples, 36 items: "
            f"{t_sl:.3f} s (CPU {c_sl:.3f} s); interval [{sl.ci_low:.4f}, {sl.ci_high:.4f}]"
        )
    for label, fn in [
        (
            "cronbach_alpha (all psych::alpha statistics), 12 items",
            lambda: cronbach_alpha(scale, keys=keys, scale_min=1, scale_max=5),
        ),
        (
            "item_analysis, 12 items",
            lambda: item_analysis(scale, keys=keys, scale_min=1, scale_max=5),
        ),
        (
            "omega, 1 factor, 12 items",
            lambda: omega(scale, n_factors=1, keys=keys, scale_min=1, scale_max=5),
        ),
        (
            "split_half, 12 items (462 splits, exhaustive)",
            lambda: split_half(scale, keys=keys, scale_min=1, scale_max=5),
        ),
        (
            "cronbach_alpha, 36 items",
            lambda: cronbach_alpha(data, keys=all_keys, scale_min=1, scale_max=5),
        ),
        (
            "omega, 3 group factors, 36 items (Schmid-Leiman)",
            lambda: omega(data, n_factors=3, keys=all_keys, scale_min=1, scale_max=5),
        ),
    ]:
        t, _, c = timed(fn, args.repeats)
        print(f"{label}: {t:.3f} s (CPU {c:.3f} s)")
    print(f"load average at end (1, 5, 15 min): {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
