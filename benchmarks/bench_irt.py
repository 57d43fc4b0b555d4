"""Benchmark: graded response model fits (EM + Louis SEs) on SYNTHETIC data.

Targets (issue 15 §4): one 12-item, 5-category scale on 20,000 respondents with standard errors
in at most 2 s; six scales on 600 respondents in at most 1 s in total. Also fits the same 20,000
complete responses with girth's ``grm_mml`` (no SEs; girth 0.8) when girth is installed. R's mirt
is not installable on this machine, so there is no R time beside these.

The data are SYNTHETIC: graded-model responses with slopes 0.8-2.5 and ordered intercepts, drawn
by ``analysis.irt.simulate_graded`` (seeded); the 20,000-respondent scale also in a version with
3% of the answers missing at random.

Run: ``.venv/bin/python benchmarks/bench_irt.py [--n 20000] [--repeat 3]``. The script prints the
load average and CPU seconds beside wall-clock seconds: on the shared two-core machine other
jobs can multiply the wall-clock times, the CPU seconds are what one idle core would take.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from analysis.irt import GradedResponseModel, simulate_graded


def scale_parameters(n_items: int, n_cat: int, rng: np.random.Generator):
    a = rng.uniform(0.8, 2.5, n_items)
    d = np.sort(rng.uniform(-3, 3, (n_items, n_cat - 1)), axis=1)[:, ::-1]
    return a, d


def timed(fn, repeat: int) -> tuple[float, Any]:
    """Median wall-clock seconds; also records the median CPU seconds of this process."""
    times, cpu, out = [], [], None
    for _ in range(repeat):
        start, start_cpu = time.perf_counter(), time.process_time()
        out = fn()
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    timed.cpu = statistics.median(cpu)  # type: ignore[attr-defined]
    return statistics.median(times), out


def cpu() -> str:
    return f"{timed.cpu:.2f} s CPU"  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(15)
    print(f"python {platform.python_version()}, numpy {np.__version__}, load {os.getloadavg()}")

    a, d = scale_parameters(12, 5, rng)
    big = simulate_graded(a, d, n=args.n, seed=1)
    holes = big.astype(float).mask(np.random.default_rng(2).random(big.shape) < 0.03)
    for label, frame in (("complete", big), ("3% missing", holes)):
        seconds, model = timed(lambda f=frame: GradedResponseModel().fit(f), args.repeat)
        print(
            f"GRM 12 items x 5 categories, n={args.n} ({label}), Louis SEs: {seconds:.2f} s "
            f"wall, {cpu()} (median of {args.repeat}; {model.n_iter_} iterations)"
        )
    seconds, _ = timed(lambda: GradedResponseModel(se_type=None).fit(big), args.repeat)
    print(f"  same, complete, without SEs: {seconds:.2f} s wall, {cpu()}")

    scales = []
    for n_items in (6, 8, 5, 7, 6, 4):
        a6, d6 = scale_parameters(n_items, 5, rng)
        scales.append(simulate_graded(a6, d6, n=600, seed=int(rng.integers(1_000_000))))

    def all_scales():
        return [GradedResponseModel().fit(s) for s in scales]

    seconds, _ = timed(all_scales, args.repeat)
    print(
        f"GRM for 6 scales (4-8 items, 5 categories), n=600, Louis SEs: {seconds:.2f} s wall, "
        f"{cpu()} in total"
    )

    try:
        import girth
    except ImportError:
        print("girth: not installed (pip install girth)")
        return
    values = big.to_numpy().T.astype(int)
    seconds, _ = timed(lambda: girth.grm_mml(values), args.repeat)
    print(f"girth.grm_mml (no SEs), same complete 20,000 x 12 data: {seconds:.2f} s wall, {cpu()}")
    seconds, _ = timed(lambda: [girth.grm_mml(s.to_numpy().T.astype(int)) for s in scales], 1)
    print(f"girth.grm_mml (no SEs), the 6 scales of 600: {seconds:.2f} s wall, {cpu()} in total")


if __name__ == "__main__":
    main()
