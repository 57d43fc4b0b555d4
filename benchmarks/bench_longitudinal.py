"""Benchmark: reading two waves and the longitudinal statistics on SYNTHETIC data. Not a test.

SYNTHETIC cohort: ``--n`` respondents answer the 25 bfi items (examples/bfi.yaml) at baseline; 80%
answer again at a second wave with each answer moved by -1, 0 or +1; four groups. Timed steps:

* ``read_waves`` of the one-file CSV (wave column) and scoring the person-period table;
* ``test_retest`` (5 scales: ICC, F tests, CIs, SEM, SDC);
* ``reliable_change`` (5 scales);
* ``compare_groups`` (5 scales x 4 groups: Welch, Games-Howell with simultaneous CIs, Hedges' g);
* ``retention_flow``.

When ``Rscript`` with psych is on PATH, R's time for the same statistics on the same scores is
reported beside ours: ``psych::ICC(lmer = FALSE)`` per scale, ``oneway.test`` plus the Games-Howell
pairs with ``ptukey``/``qtukey`` per scale.

Usage::

    .venv/bin/python benchmarks/bench_longitudinal.py [--n 2000] [--repeat 3]
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

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from analysis.longitudinal import (  # noqa: E402
    compare_groups,
    reliable_change,
    retention_flow,
    test_retest,
)
from instrument.score import score_items  # noqa: E402
from instrument.spec import load_instrument  # noqa: E402
from instrument.waves import read_waves  # noqa: E402

SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]
R_SCRIPT = r"""
suppressPackageStartupMessages(library(psych))
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1]); scales <- strsplit(args[2], ",")[[1]]
t0 <- proc.time()
for (s in scales) {
  a <- d[d$wave == 1, c("respondent_id", s)]; b <- d[d$wave == 2, c("respondent_id", s)]
  w <- merge(a, b, by = "respondent_id"); w <- w[complete.cases(w), ]
  r <- psych::ICC(as.matrix(w[, 2:3]), lmer = FALSE)
}
t1 <- proc.time()
base <- d[d$wave == 1, ]
for (s in scales) {
  y <- base[[s]]; g <- factor(base$group); ok <- !is.na(y); y <- y[ok]; g <- g[ok]
  o <- oneway.test(y ~ g, var.equal = FALSE)
  lev <- levels(g); k <- length(lev)
  m <- tapply(y, g, mean); v <- tapply(y, g, var); n <- tapply(y, g, length)
  for (i in 1:(k - 1)) for (j in (i + 1):k) {
    se <- sqrt(v[i] / n[i] + v[j] / n[j]); t <- (m[i] - m[j]) / se
    df <- (v[i] / n[i] + v[j] / n[j])^2 /
      ((v[i] / n[i])^2 / (n[i] - 1) + (v[j] / n[j])^2 / (n[j] - 1))
    p <- ptukey(abs(t) * sqrt(2), k, df, lower.tail = FALSE); q <- qtukey(0.95, k, df)
  }
}
t2 <- proc.time()
use <- c("elapsed", "user.self")
cat((t1 - t0)[use], (t2 - t1)[use], "\n")
"""


def synthetic(n: int, seed: int = 2026) -> pd.DataFrame:
    """SYNTHETIC two-wave file: respondent_id, wave, group, synthetic marker, 25 bfi items."""
    spec = load_instrument(ROOT / "examples" / "bfi.yaml")
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=(n, 5))
    items = list(spec.item_ids)
    loadings = np.repeat(np.eye(5), 5, axis=0)  # item j on scale j // 5
    latent = trait @ loadings.T + rng.normal(scale=0.8, size=(n, 25))
    sign = np.array([1 if spec.item(i).keyed > 0 else -1 for i in items])
    base = np.clip(np.round(3.5 + 1.2 * latent * sign), 1, 6)
    keep = rng.random(n) < 0.8
    second = np.clip(base[keep] + rng.integers(-1, 2, size=(int(keep.sum()), 25)), 1, 6)
    ids = np.array([f"S{i:06d}" for i in range(n)])
    group = rng.integers(1, 5, size=n)
    first = pd.DataFrame(base, columns=items)
    first.insert(0, "respondent_id", ids)
    first.insert(1, "wave", 1)
    first.insert(2, "group", group)
    later = pd.DataFrame(second, columns=items)
    later.insert(0, "respondent_id", ids[keep])
    later.insert(1, "wave", 2)
    later.insert(2, "group", group[keep])
    out = pd.concat([first, later], ignore_index=True)
    out["synthetic"] = "synthetic"
    return out


def timed(fn, repeat: int) -> tuple[tuple[float, float], object]:
    """Median wall-clock and CPU seconds over ``repeat`` runs (CPU time: shared machines)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    return (statistics.median(walls), statistics.median(cpus)), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    spec = load_instrument(ROOT / "examples" / "bfi.yaml")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "waves.csv"
        synthetic(args.n).to_csv(path, index=False)
        t_read, table = timed(lambda: read_waves(path, spec, wave="wave"), args.repeat)
        pp = table.person_period
        t_score, scores = timed(lambda: score_items(pp, spec, scales=SCALES), args.repeat)
        frame = pd.concat([pp[["respondent_id", "wave"]], scores[SCALES]], axis=1)
        raw = pd.read_csv(path, usecols=["respondent_id", "wave", "group"])
        frame["group"] = raw["group"].to_numpy()  # same row order: no problem rows dropped
        results = {
            "read_waves": t_read,
            "score_items": t_score,
            "test_retest": timed(lambda: test_retest(frame, scales=SCALES), args.repeat)[0],
            "reliable_change": timed(
                lambda: [reliable_change(frame, scale=s) for s in SCALES], args.repeat
            )[0],
            "compare_groups": timed(
                lambda: compare_groups(frame[frame["wave"] == "1"], scales=SCALES, group="group"),
                args.repeat,
            )[0],
            "retention_flow": timed(lambda: retention_flow(frame), args.repeat)[0],
        }
        print(f"SYNTHETIC data: n = {args.n} at wave 1, {len(pp) - args.n} at wave 2")
        for name, (wall, cpu) in results.items():
            print(f"  {name:16s} {wall:8.3f} s wall, {cpu:8.3f} s CPU (median of {args.repeat})")
        rscript = shutil.which("Rscript")
        if rscript:
            data = Path(tmp) / "scores.csv"
            frame.to_csv(data, index=False)
            script = Path(tmp) / "bench.R"
            script.write_text(R_SCRIPT, encoding="utf-8")
            done = subprocess.run(
                [rscript, str(script), str(data), ",".join(SCALES)],
                capture_output=True,
                text=True,
                check=True,
            )
            icc_wall, icc_cpu, groups_wall, groups_cpu = map(float, done.stdout.split())
            print(f"  R psych::ICC x5  {icc_wall:8.3f} s wall, {icc_cpu:8.3f} s CPU")
            print(f"  R Welch + Games-Howell x5 {groups_wall:8.3f} s wall, {groups_cpu:8.3f} s CPU")
        else:
            print("  Rscript not found: no R timing")


if __name__ == "__main__":
    main()
