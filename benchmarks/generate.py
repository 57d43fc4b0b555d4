"""Synthetic benchmark data: N respondents x 36 five-point items (benchmarks/bench36.yaml).

Three correlated factors (r = .30, .40, .50) of 12 items each; every fourth item is reverse
keyed; about 3% of the answers are missing completely at random; a ``gender`` column (1/2) and a
``respondent_id`` (``R0000001``, ...). Everything is seeded, so a given (n, seed) always gives
the same file. The data are SYNTHETIC: they describe no real people.

Usage::

    python benchmarks/generate.py 1000000 benchmarks/_data/bench_1m.csv [--seed 2026]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

SPEC = Path(__file__).with_name("bench36.yaml")
N_ITEMS = 36
ITEMS = [f"q{i:02d}" for i in range(1, N_ITEMS + 1)]
FACTOR_CORRELATIONS = np.array([[1.0, 0.3, 0.4], [0.3, 1.0, 0.5], [0.4, 0.5, 1.0]])
MISSING_SHARE = 0.03
#: Category thresholds on the latent response scale (five categories), shifted per item.
THRESHOLDS = np.array([-1.6, -0.6, 0.3, 1.2])


def _parameters() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Loadings (36 x 3, reverse keyed items negative), uniquenesses and item shifts (fixed)."""
    rng = np.random.default_rng(12345)
    loadings = np.zeros((N_ITEMS, 3))
    for j in range(N_ITEMS):
        loadings[j, j // 12] = rng.uniform(0.55, 0.8) * (-1 if (j + 1) % 4 == 0 else 1)
    uniqueness = np.sqrt(1 - (loadings**2).sum(axis=1))
    shifts = rng.uniform(-0.4, 0.4, N_ITEMS)
    return loadings, uniqueness, shifts


def _block(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    loadings, uniqueness, shifts = _parameters()
    factors = rng.multivariate_normal(np.zeros(3), FACTOR_CORRELATIONS, size=n)
    latent = factors @ loadings.T + rng.standard_normal((n, N_ITEMS)) * uniqueness + shifts
    codes = (latent[..., None] > THRESHOLDS).sum(axis=-1).astype("int8") + 1
    missing = rng.random((n, N_ITEMS)) < MISSING_SHARE
    return codes, missing


BLOCK = 500_000


def _blocks(n: int, seed: int, block: int = BLOCK):
    """(start, codes, missing mask, gender) per block; each block has its own seeded stream, so
    the data do not depend on how they are consumed."""
    for start in range(0, n, block):
        size = min(block, n - start)
        rng = np.random.default_rng([seed, start])
        codes, missing = _block(size, rng)
        yield start, codes, missing, rng.integers(1, 3, size).astype("int8")


def make_benchmark_responses(n: int, seed: int = 2026) -> pd.DataFrame:
    """Synthetic responses to bench36.yaml as a DataFrame (the same rows the CSV of the same n and seed holds).

    Parameters
    ----------
    n : int
        Number of respondents.
    seed : int, default 2026

    Returns
    -------
    DataFrame
        ``respondent_id`` (text ``R00000001`` ...), ``gender`` (1/2, float64), ``q01`` ... ``q36``
        (float64 codes 1-5, NaN where missing).
    """
    frames = []
    for start, codes, missing, gender in _blocks(n, seed):
        frame = pd.DataFrame(np.where(missing, np.nan, codes.astype("float64")), columns=ITEMS)
        frame.insert(0, "gender", gender.astype("float64"))
        frame.insert(
            0, "respondent_id", [f"R{i:08d}" for i in range(start + 1, start + len(codes) + 1)]
        )
        frames.append(frame)
    if not frames:
        return pd.DataFrame(columns=["respondent_id", "gender"] + ITEMS)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def write_benchmark_csv(path: str | Path, n: int, seed: int = 2026) -> Path:
    """Write ``n`` synthetic respondents as CSV, block by block (memory bounded by one block)."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(path.suffix + ".part")
    writer = None
    try:
        for start, codes, missing, gender in _blocks(n, seed):
            size = len(codes)
            ids = pa.array(
                np.char.add(
                    "R", np.char.zfill(np.arange(start + 1, start + size + 1).astype(str), 8)
                )
            )
            arrays = [ids, pa.array(gender)] + [
                pa.array(codes[:, j], mask=missing[:, j]) for j in range(N_ITEMS)
            ]
            table = pa.Table.from_arrays(arrays, names=["respondent_id", "gender"] + ITEMS)
            if writer is None:
                writer = pacsv.CSVWriter(
                    temp, table.schema, write_options=pacsv.WriteOptions(quoting_style="none")
                )
            writer.write_table(table)
        if writer is not None:
            writer.close()
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, help="number of respondents")
    parser.add_argument("out", help="CSV file to write")
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args(argv)
    write_benchmark_csv(args.out, args.n, args.seed)
    print(f"wrote {args.n:,} synthetic respondents to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
