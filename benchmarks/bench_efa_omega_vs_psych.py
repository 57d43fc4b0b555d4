"""EFA (minres/oblimin, 3 factors) and omega (one factor; Schmid–Leiman, 3 group factors) against
psych, side by side in the same run.

The data are SYNTHETIC: 20,000 × 36 five-point items from ``bench_analysis_efa.synthetic_items``
(three factors of 12 items, seed 0). Each round times MHDQ and then R on the same CSV, alternating
(``--rounds``), and each side reports the median over ``--repeat`` calls inside its own process
(wall and CPU seconds; R's ``system.time`` elapsed and user + system). R runs ``psych::fa(r, 3,
fm = "minres", rotate = "oblimin")`` and ``psych::omega(r, nfactors = 1 / 3, fm = "minres",
plot = FALSE)`` on the correlation matrix computed inside the timed call from the raw data
(``cor(x)``), as MHDQ computes it from the items. The last line prints the R/MHDQ ratios of the
medians. Run: ``.venv/bin/python benchmarks/bench_efa_omega_vs_psych.py [--rounds 3]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_analysis_efa import synthetic_items  # noqa: E402

from analysis.factor.efa import EFA  # noqa: E402
from analysis.reliability.omega import omega  # noqa: E402

R_SCRIPT = r"""
suppressPackageStartupMessages({library(psych); library(GPArotation)})
args <- commandArgs(TRUE)
x <- as.matrix(read.csv(args[1]))
k <- as.integer(args[2])
med <- function(f) {
  f()
  t <- sapply(seq_len(k), function(i) { s <- system.time(f()); c(s[["elapsed"]], s[["user.self"]] + s[["sys.self"]]) })
  c(median(t[1, ]), median(t[2, ]))
}
efa <- med(function() fa(cor(x), 3, n.obs = nrow(x), fm = "minres", rotate = "oblimin"))
om1 <- med(function() suppressWarnings(omega(cor(x), nfactors = 1, fm = "minres", plot = FALSE)))
om3 <- med(function() omega(cor(x), nfactors = 3, fm = "minres", plot = FALSE))
cat(sprintf("%.6f %.6f", c(efa[1], om1[1], om3[1]), c(efa[2], om1[2], om3[2])), sep = "\n")
"""


def python_times(items, repeat: int) -> dict[str, tuple[float, float]]:
    jobs = {
        "EFA minres/oblimin, 3 factors": lambda: EFA(3).fit(items),
        "omega, one factor": lambda: omega(items, n_factors=1),
        "omega, Schmid-Leiman 3 factors": lambda: omega(items, n_factors=3),
    }
    out = {}
    for name, fn in jobs.items():
        fn()  # warm-up
        wall, cpu = [], []
        for _ in range(repeat):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        out[name] = (statistics.median(wall), statistics.median(cpu))
    return out


def r_times(csv: Path, repeat: int) -> list[tuple[float, float]] | None:
    if shutil.which("Rscript") is None:
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".R", delete=False) as f:
        f.write(R_SCRIPT)
    out = subprocess.run(
        ["Rscript", f.name, str(csv), str(repeat)], capture_output=True, text=True, check=False
    )
    Path(f.name).unlink()
    lines = [line.split() for line in out.stdout.splitlines() if line.strip()]
    if out.returncode != 0 or len(lines) != 3:
        print(out.stderr, file=sys.stderr)
        return None
    return [(float(wall), float(cpu)) for wall, cpu in lines]  # one line per job


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    items = synthetic_items(args.n)
    py: dict[str, list[tuple[float, float]]] = {}
    rr: dict[str, list[tuple[float, float]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp) / "synthetic.csv"
        items.to_csv(csv, index=False)
        for _ in range(args.rounds):
            for name, t in python_times(items, args.repeat).items():
                py.setdefault(name, []).append(t)
            got = r_times(csv, args.repeat)
            if got is not None:
                for name, t in zip(py, got, strict=True):
                    rr.setdefault(name, []).append(t)
    print(f"SYNTHETIC {args.n} x 36 five-point items; medians of {args.rounds} alternating rounds")
    print(
        f"{'job':32s} {'MHDQ wall':>10s} {'MHDQ cpu':>9s} {'R wall':>8s} {'R cpu':>7s} {'R/MHDQ':>7s}"
    )
    for name, runs in py.items():
        wall = statistics.median(w for w, _ in runs)
        cpu = statistics.median(c for _, c in runs)
        if name in rr:
            r_wall = statistics.median(w for w, _ in rr[name])
            r_cpu = statistics.median(c for _, c in rr[name])
            ratio = f"{r_wall / wall:6.1f}x (cpu {r_cpu / cpu:.1f}x)"
            print(f"{name:32s} {wall:10.4f} {cpu:9.4f} {r_wall:8.4f} {r_cpu:7.4f} {ratio}")
        else:
            print(f"{name:32s} {wall:10.4f} {cpu:9.4f}  (Rscript not found)")


if __name__ == "__main__":
    main()
