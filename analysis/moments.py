"""Sufficient statistics of item responses, accumulated chunk by chunk in bounded memory.

A validation study needs far less than the respondents × items table: Pearson correlations and
covariances (pairwise or listwise), and with them alpha, omega, EFA, parallel analysis and
complete-data CFA, depend on the data only through counts, sums and cross-products; the
full-information likelihood of CFA with missing answers only through each missing-data
pattern's count, sums and cross-products. :class:`MomentAccumulator` reads rows in chunks and
keeps exactly these, so its memory depends on the number of items and missing-data patterns, not
on the number of respondents, and two accumulators over disjoint rows add up
(:meth:`MomentAccumulator.merge`), which is how partitions of a data set processed apart (e.g. by
dask) are combined.

What is kept, per update of a chunk ``x`` (rows × items, NaN = missing):

- per item: counts of every answer category;
- per item pair (pairwise complete rows): count, each item's sum and sum of squares, the sum of
  cross-products, and the bivariate contingency table of the categories (the data of a
  polychoric correlation);
- over the rows answering every item: count, sums and cross-products (listwise moments);
- per missing-data pattern with at least one gap: either its rows (while there are no more than
  ``2·items + 1`` of them) or its count, sums and cross-products; :meth:`fiml_rows` turns a
  pattern's moments into at most ``2·answered + 1`` weighted rows with the same count, sums and
  cross-products, which :func:`analysis.sem.fiml.pattern_moments` accepts;
- a uniform random subsample of at most ``reservoir_size`` rows (reservoir sampling, Vitter's
  algorithm R, seeded; the sample does not depend on the chunk size), for analyses that need
  rows (bootstrap intervals, split-half sampling, IRT).

Sums are kept as float64 sums of the raw codes: for integer answer codes they are exact (every
partial sum is an integer below 2⁵³), so the moments do not depend on how the rows are chunked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis._compat import single_threaded_blas

__all__ = [
    "MomentAccumulator",
    "PatternBlock",
    "DEFAULT_RESERVOIR_SIZE",
    "partition_moments",
    "merge_moments",
    "accumulate_dask",
]

#: Rows kept in the random subsample (analyses that need rows use it; the reports say which).
DEFAULT_RESERVOIR_SIZE = 20_000


@dataclass
class PatternBlock:
    """One missing-data pattern: its rows while few, else its count, sums and cross-products."""

    answered: np.ndarray  # items, bool
    rows: list[np.ndarray]  # blocks of rows (answered columns only), while few
    n: int = 0
    total: np.ndarray | None = None  # sums of the answered columns
    cross: np.ndarray | None = None  # cross-products of the answered columns

    def add(self, block: np.ndarray, limit: int) -> None:
        self.n += len(block)
        if self.total is None:
            self.rows.append(block)
            if self.n <= limit:
                return
            block = np.concatenate(self.rows)
            self.rows = []
            self.total = np.zeros(block.shape[1])
            self.cross = np.zeros((block.shape[1], block.shape[1]))
        assert self.total is not None and self.cross is not None
        self.total += block.sum(axis=0)
        self.cross += block.T @ block

    def merge(self, other: PatternBlock, limit: int) -> None:
        if other.total is None:
            for block in other.rows:
                self.add(block, limit)
            return
        if self.total is None:
            assert other.cross is not None
            rows, self.rows, count = self.rows, [], self.n
            self.n, self.total, self.cross = other.n, other.total.copy(), other.cross.copy()
            for block in rows:
                self.add(block, limit)
            assert self.n == other.n + count
            return
        assert self.cross is not None and other.cross is not None
        self.n += other.n
        self.total += other.total
        self.cross += other.cross

    def weighted_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows (answered columns) and weights with this pattern's count, sums and cross-products.

        Kept rows come back as they are (weight 1). From moments: the mean with weight n − r and,
        for each of the r positive eigenvalues λ of the scatter matrix about the mean with
        eigenvector v, the rows mean ± √λ·v with weight 1/2 each (so the weights add up to n,
        the weighted sum is n·mean and the weighted scatter is Σ λ v vᵀ).
        """
        if self.total is None:
            block = np.concatenate(self.rows)
            return block, np.ones(len(block))
        assert self.cross is not None
        mean = self.total / self.n
        scatter = self.cross - np.outer(self.total, mean)
        values, vectors = np.linalg.eigh((scatter + scatter.T) / 2)
        keep = values > values.max(initial=0.0) * 1e-13
        arms = vectors[:, keep] * np.sqrt(values[keep])
        r = arms.shape[1]
        rows = np.vstack([mean[None], mean + arms.T, mean - arms.T])
        weights = np.concatenate([[self.n - r], np.full(2 * r, 0.5)])
        return rows, weights


class MomentAccumulator:
    """Counts, sums and cross-products of item responses, accumulated over chunks of rows.

    Parameters
    ----------
    items : sequence of str
        Item names, the columns of every chunk.
    categories : sequence of float, optional
        The answer codes whose per-item counts and bivariate tables are kept (e.g. 1..5). None:
        no category counts or tables. Answers outside it are counted in ``n_other``.
    reservoir_size : int, default 20000
        Rows of the random subsample (0: none).
    seed : int, default 20240601
        Seed of the subsample.
    patterns : bool, default True
        Keep the missing-data patterns (needed for full-information ML).

    Examples
    --------
    >>> acc = MomentAccumulator(["a", "b"], categories=[1, 2, 3], reservoir_size=2, seed=1)
    >>> acc.update(np.array([[1.0, 2.0], [3.0, np.nan]]))
    >>> acc.update(np.array([[2.0, 3.0]]))
    >>> acc.n, acc.pair_n.tolist(), acc.n_complete
    (3, [[3.0, 2.0], [2.0, 2.0]], 2)
    >>> acc.pairwise_cov().round(3).tolist()
    [[1.0, 0.5], [0.5, 0.5]]
    """

    def __init__(
        self,
        items: Sequence[str],
        *,
        categories: Sequence[float] | None = None,
        reservoir_size: int = DEFAULT_RESERVOIR_SIZE,
        seed: int | np.random.SeedSequence = 20240601,
        patterns: bool = True,
    ) -> None:
        self.items = tuple(str(i) for i in items)
        p = len(self.items)
        if p < 1:
            raise ValueError("items: need at least one item")
        if isinstance(reservoir_size, bool) or not isinstance(reservoir_size, (int, np.integer)):
            raise TypeError(f"reservoir_size: expected a whole number, got {reservoir_size!r}")
        if reservoir_size < 0:
            raise ValueError(f"reservoir_size: must be 0 or more, got {reservoir_size}")
        self.categories = None if categories is None else np.asarray(categories, dtype=float)
        self.reservoir_size = int(reservoir_size)
        self.seed = seed
        self.keep_patterns = patterns
        self.n = 0
        self.n_empty = 0  # rows without any answer
        self.pair_n = np.zeros((p, p))
        self.pair_sum = np.zeros((p, p))  # [i, j]: Σ x_i over rows answering i and j
        self.pair_sq = np.zeros((p, p))  # [i, j]: Σ x_i² over rows answering i and j
        self.cross = np.zeros((p, p))  # Σ x_i x_j over rows answering both
        self.n_complete = 0
        self.complete_sum = np.zeros(p)
        self.complete_cross = np.zeros((p, p))
        k = 0 if self.categories is None else len(self.categories)
        self.category_counts = np.zeros((p, k), dtype=np.int64)
        self.tables = np.zeros((p * k, p * k))  # bivariate tables, items × categories blocks
        self.n_other = np.zeros(p, dtype=np.int64)
        self.patterns: dict[bytes, PatternBlock] = {}
        self.pattern_row_limit = 2 * p + 1
        self._rng = np.random.default_rng(seed)
        self._sample = np.empty((self.reservoir_size, p))
        self._sample_index = np.empty(self.reservoir_size, dtype=np.int64)

    # ---------------------------------------------------------------------------------------
    def update(self, x: np.ndarray | pd.DataFrame) -> None:
        """Add a chunk of rows (rows × items; NaN = missing; a DataFrame is read by item name)."""
        if isinstance(x, pd.DataFrame):
            absent = [c for c in self.items if c not in x.columns]
            if absent:
                raise ValueError(f"chunk: no column for item(s) {', '.join(absent)}")
            x = x.loc[:, list(self.items)].to_numpy(dtype=float, na_value=np.nan)
        x = np.asarray(x, dtype=float)
        p = len(self.items)
        if x.ndim != 2 or x.shape[1] != p:
            raise ValueError(f"chunk: expected rows × {p} items, got shape {x.shape}")
        if not len(x):
            return
        # thin products (rows × 36 by 36): one BLAS thread is several times faster, and on a
        # shared machine ten times (analysis._compat.single_threaded_blas)
        with single_threaded_blas():
            self._update(x)

    def _update(self, x: np.ndarray) -> None:
        answered = ~np.isnan(x)
        mask = answered.astype(float)
        z = np.where(answered, x, 0.0)
        self.pair_n += mask.T @ mask
        self.pair_sum += z.T @ mask
        self.pair_sq += (z * z).T @ mask
        self.cross += z.T @ z
        complete = answered.all(axis=1)
        zc = z[complete]
        self.n_complete += len(zc)
        self.complete_sum += zc.sum(axis=0)
        self.complete_cross += zc.T @ zc
        if self.categories is not None:
            self._update_categories(x, answered)
        n_answers = answered.sum(axis=1)
        self.n_empty += int((n_answers == 0).sum())
        if self.keep_patterns:
            self._update_patterns(x, answered, (n_answers > 0) & ~complete)
        if self.reservoir_size:
            self._update_sample(x)
        self.n += len(x)

    def _update_categories(self, x: np.ndarray, answered: np.ndarray) -> None:
        assert self.categories is not None
        k = len(self.categories)
        n, p = x.shape
        position = np.searchsorted(self.categories, np.where(answered, x, self.categories[0]))
        position = np.minimum(position, k - 1)
        known = answered & (self.categories[position] == x)
        self.n_other += (answered & ~known).sum(axis=0)
        # one-hot rows × (items · categories); float32 counts are exact below 2²⁴ rows a chunk
        dtype = np.float32 if n < 2**24 else np.float64
        one_hot = np.zeros((n, p * k), dtype=dtype)
        rows, cols = np.nonzero(known)
        one_hot[rows, cols * k + position[rows, cols]] = 1.0
        self.category_counts += one_hot.sum(axis=0, dtype=np.float64).reshape(p, k).astype(np.int64)
        self.tables += one_hot.T @ one_hot

    def _update_patterns(self, x: np.ndarray, answered: np.ndarray, keep: np.ndarray) -> None:
        rows = np.flatnonzero(keep)
        if not len(rows):
            return
        packed = np.packbits(answered[rows], axis=1)
        keys = [bytes(r) for r in packed]
        order = np.argsort(np.array(keys, dtype=object), kind="stable")
        sorted_keys = [keys[i] for i in order]
        start = 0
        while start < len(order):
            stop = start + 1
            while stop < len(order) and sorted_keys[stop] == sorted_keys[start]:
                stop += 1
            members = rows[order[start:stop]]
            key = sorted_keys[start]
            mask = answered[members[0]]
            block = self.patterns.get(key)
            if block is None:
                block = self.patterns[key] = PatternBlock(mask.copy(), [])
            block.add(x[np.ix_(members, np.flatnonzero(mask))], self.pattern_row_limit)
            start = stop

    def _update_sample(self, x: np.ndarray) -> None:
        k = self.reservoir_size
        m = len(x)
        index = self.n + np.arange(m)  # 0-based position of each row in the data
        fill = index < k
        self._sample[index[fill]] = x[fill]
        self._sample_index[index[fill]] = index[fill]
        rest = np.flatnonzero(~fill)
        if not len(rest):
            return
        # algorithm R: row t (0-based) replaces slot j ~ U{0..t} when j < k; one uniform per row
        # past the first k, drawn in order, so the sample does not depend on the chunking
        slots = np.floor(self._rng.random(len(rest)) * (index[rest] + 1)).astype(np.int64)
        chosen = slots < k
        for row, slot in zip(rest[chosen], slots[chosen], strict=True):
            self._sample[slot] = x[row]
            self._sample_index[slot] = index[row]

    # ---------------------------------------------------------------------------------------
    def merge(self, other: MomentAccumulator) -> MomentAccumulator:
        """Add the statistics of ``other`` (rows disjoint from this one's), in place; returns self.

        The subsample becomes a uniform sample of the union: each slot is drawn from this
        sample or ``other``'s with probability proportional to the rows behind them (seeded by
        this accumulator's generator); it is not the sample one pass over the union would draw.
        """
        if other.items != self.items:
            raise ValueError("other: the accumulators have different items")
        same = (self.categories is None and other.categories is None) or (
            self.categories is not None
            and other.categories is not None
            and np.array_equal(self.categories, other.categories)
        )
        if not same:
            raise ValueError("other: the accumulators have different categories")
        for name in (
            "pair_n",
            "pair_sum",
            "pair_sq",
            "cross",
            "complete_sum",
            "complete_cross",
            "category_counts",
            "tables",
            "n_other",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.n_complete += other.n_complete
        self.n_empty += other.n_empty
        for key, block in other.patterns.items():
            mine = self.patterns.get(key)
            if mine is None:
                mine = self.patterns[key] = PatternBlock(block.answered.copy(), [])
            mine.merge(block, self.pattern_row_limit)
        self._merge_sample(other)
        self.n += other.n
        return self

    def _merge_sample(self, other: MomentAccumulator) -> None:
        k = self.reservoir_size
        a, b = self.sample_rows(), other.sample_rows()
        ia, ib = self.sample_index(), other.sample_index() + self.n
        if len(a) + len(b) <= k:
            rows, index = np.vstack([a, b]), np.concatenate([ia, ib])
        else:
            # how many of the k slots come from each side: hypergeometric on the rows behind them
            from_a = int(self._rng.hypergeometric(self.n, other.n, k))
            from_a = min(from_a, len(a))
            from_b = min(k - from_a, len(b))
            pick_a = self._rng.choice(len(a), from_a, replace=False)
            pick_b = self._rng.choice(len(b), from_b, replace=False)
            rows = np.vstack([a[pick_a], b[pick_b]])
            index = np.concatenate([ia[pick_a], ib[pick_b]])
        order = np.argsort(index)
        self._sample[: len(rows)] = rows[order]
        self._sample_index[: len(rows)] = index[order]
        self._sample_taken = len(rows)

    # ---------------------------------------------------------------------------------------
    @property
    def n_patterns(self) -> int:
        """Distinct missing-data patterns among rows with at least one answer (complete: one)."""
        return len(self.patterns) + (1 if self.n_complete else 0)

    def sample_rows(self) -> np.ndarray:
        """The subsample (rows × items), in the order of the data."""
        taken = getattr(self, "_sample_taken", None)
        size = min(self.n, self.reservoir_size) if taken is None else taken
        order = np.argsort(self._sample_index[:size])
        return self._sample[:size][order]

    def sample_index(self) -> np.ndarray:
        """0-based positions in the data of the subsample's rows, in order."""
        taken = getattr(self, "_sample_taken", None)
        size = min(self.n, self.reservoir_size) if taken is None else taken
        return np.sort(self._sample_index[:size])

    def sample_frame(self) -> pd.DataFrame:
        """The subsample as a DataFrame of the items."""
        return pd.DataFrame(self.sample_rows(), columns=list(self.items))

    def means(self) -> np.ndarray:
        """Each item's mean over the rows answering it."""
        return np.diag(self.pair_sum) / np.diag(self.pair_n)

    def pairwise_cov(self) -> np.ndarray:
        """``cov(x, use = "pairwise")``: each entry from the rows answering both items.

        Raises ValueError naming the first pair with fewer than 2 common answers.
        """
        n = self.pair_n
        with np.errstate(invalid="ignore", divide="ignore"):
            C = (self.cross - self.pair_sum * self.pair_sum.T / n) / (n - 1)
        C[n < 2] = np.nan
        if np.isnan(C).any():
            i, j = np.argwhere(np.isnan(C))[0]
            raise ValueError(
                f"items: items {self.items[i]} and {self.items[j]} have fewer than 2 respondents "
                "in common; pairwise covariances cannot be computed"
            )
        return (C + C.T) / 2

    def pairwise_cor(self) -> np.ndarray:
        """``cor(x, use = "pairwise")``: each entry from the rows answering both items, with
        both standard deviations over those rows (as R and pandas)."""
        n = self.pair_n
        with np.errstate(invalid="ignore", divide="ignore"):
            mi = self.pair_sum / n  # [i, j]: mean of i over rows answering i and j
            ssi = self.pair_sq - self.pair_sum * mi
            sxy = self.cross - self.pair_sum * self.pair_sum.T / n
            R = sxy / np.sqrt(ssi * ssi.T)
        R[n < 2] = np.nan
        np.fill_diagonal(R, 1.0)
        if np.isnan(R).any():
            i, j = np.argwhere(np.isnan(R))[0]
            raise ValueError(
                f"items: the correlation of {self.items[i]} and {self.items[j]} cannot be "
                "computed (fewer than 2 common answers or no variance)"
            )
        R = np.clip((R + R.T) / 2, -1.0, 1.0)
        return R

    def complete_moments(self) -> tuple[int, np.ndarray, np.ndarray]:
        """(n, mean, ML covariance divided by n) of the rows answering every item."""
        n = self.n_complete
        if n < 2:
            raise ValueError(f"data: {n} rows answer every item; need at least 2")
        mean = self.complete_sum / n
        cov = self.complete_cross / n - np.outer(mean, mean)
        return n, mean, (cov + cov.T) / 2

    def listwise_cov(self) -> np.ndarray:
        """``cov(x, use = "complete.obs")`` (divided by n − 1)."""
        n, _, cov = self.complete_moments()
        return cov * n / (n - 1)

    def bivariate_table(self, i: int, j: int) -> np.ndarray:
        """Contingency table of items i and j (rows: i's categories) over rows answering both."""
        if self.categories is None:
            raise ValueError("categories: this accumulator keeps no category tables")
        k = len(self.categories)
        return self.tables[i * k : (i + 1) * k, j * k : (j + 1) * k].copy()

    def fiml_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """Weighted rows (rows × items, NaN = missing) and weights for full-information ML.

        Rows with at least one answer: the complete rows as one pattern (their mean with weight
        n − r and mean ± √λ·v), then every incomplete pattern's rows or weighted rows
        (:meth:`PatternBlock.weighted_rows`). Same count, sums and cross-products per pattern as
        the data, so :func:`analysis.sem.fiml.pattern_moments` (``weights=``) gives the same
        likelihood as on the rows themselves.
        """
        if not self.keep_patterns:
            raise ValueError("patterns: this accumulator keeps no missing-data patterns")
        p = len(self.items)
        blocks, weights = [], []
        if self.n_complete:
            full = PatternBlock(np.ones(p, dtype=bool), [], self.n_complete)
            full.total, full.cross = self.complete_sum.copy(), self.complete_cross.copy()
            rows, w = full.weighted_rows()
            blocks.append(rows)
            weights.append(w)
        for block in self.patterns.values():
            rows, w = block.weighted_rows()
            wide = np.full((len(rows), p), np.nan)
            wide[:, block.answered] = rows
            blocks.append(wide)
            weights.append(w)
        if not blocks:
            raise ValueError("data: no row has an answer")
        return np.vstack(blocks), np.concatenate(weights)

    def summary(self) -> pd.DataFrame:
        """Per item: ``item, n, mean, sd`` (over the rows answering it) and category counts."""
        n = np.diag(self.pair_n)
        mean = self.means()
        with np.errstate(invalid="ignore", divide="ignore"):
            var = (np.diag(self.pair_sq) - np.diag(self.pair_sum) * mean) / (n - 1)
        out = pd.DataFrame(
            {"item": self.items, "n": n.astype(int), "mean": mean, "sd": np.sqrt(var)}
        )
        if self.categories is not None:
            for c, column in zip(self.categories, self.category_counts.T, strict=True):
                out[f"n_{c:g}"] = column
        return out


def partition_moments(
    frame: pd.DataFrame | np.ndarray,
    items: Sequence[str],
    *,
    partition: int = 0,
    seed: int = 20240601,
    **kwargs: Any,
) -> MomentAccumulator:
    """The statistics of one partition of rows (one dask task): its subsample is seeded by
    ``(seed, partition)``, so every partition draws its own stream. ``kwargs`` go to
    :class:`MomentAccumulator`."""
    acc = MomentAccumulator(items, seed=np.random.SeedSequence([seed, partition]), **kwargs)
    acc.update(frame)
    return acc


def merge_moments(parts: Sequence[MomentAccumulator]) -> MomentAccumulator:
    """Partitions' statistics summed, in partition order (:meth:`MomentAccumulator.merge`)."""
    if not parts:
        raise ValueError("parts: no partition to merge")
    total = parts[0]
    for part in parts[1:]:
        total.merge(part)
    return total


def accumulate_dask(
    frame: Any,
    items: Sequence[str],
    *,
    seed: int = 20240601,
    client: Any = None,
    **kwargs: Any,
) -> MomentAccumulator:
    """Accumulate a dask DataFrame's statistics: partial moments per partition, summed.

    Parameters
    ----------
    frame : dask.dataframe.DataFrame
        Rows of the items (other columns ignored).
    items : sequence of str
    seed : int, default 20240601
    client : dask.distributed.Client, optional
        Where to compute (default: dask's current scheduler).
    **kwargs
        Passed to :class:`MomentAccumulator` (``categories``, ``reservoir_size``, ``patterns``).

    Returns
    -------
    MomentAccumulator
        Counts, sums, cross-products, bivariate tables and missing-data patterns equal to one
        local pass over the same rows (exactly, for integer codes); the subsample is a uniform
        sample of the rows, drawn per partition and merged (not the one a single pass draws).

    Notes
    -----
    The partitions are reduced pairwise in a tree (``dask.delayed``), so no worker holds more
    than two partitions' statistics at a time, and these do not grow with the rows.
    """
    import dask

    parts = [
        dask.delayed(partition_moments)(piece, list(items), partition=i, seed=seed, **kwargs)
        for i, piece in enumerate(frame.to_delayed())
    ]
    while len(parts) > 1:
        parts = [dask.delayed(merge_moments)(parts[i : i + 2]) for i in range(0, len(parts), 2)]
    if client is not None:
        return client.compute(parts[0]).result()
    return parts[0].compute()
