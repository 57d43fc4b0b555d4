"""Split-half reliability (``psych::splitHalf``)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from itertools import combinations
from math import comb
from typing import Any

import numpy as np
import pandas as pd

from analysis._results import Result
from analysis.correlation import pairwise_cov, smc
from analysis.errors import DataQualityWarning
from analysis.reliability.keying import drop_constant_items, key_items

__all__ = ["SplitHalfResult", "split_half"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class SplitHalfResult(Result):
    """Split-half reliabilities over many ways of halving a scale (``psych::splitHalf``).

    Attributes
    ----------
    estimate : float
        Guttman's lambda 4, the largest split-half reliability (``maxrb``).
    ci_low, ci_high : float
        NaN (no interval).
    ci_level : float
    n_obs : int
    n_items : int
    method : str
        ``split_half_exhaustive`` or ``split_half_sampled``.
    missing : str
    lambda4 : float
        Largest split-half coefficient (``maxrb``).
    beta : float
        Smallest split-half coefficient, Revelle's β (``minrb``).
    mean_split_half : float
        Mean over the splits tried (``meanr``); equals standardized alpha when every split of an
        even number of items is tried.
    odd_even : float
        Spearman–Brown corrected correlation of the odd- and even-numbered items' sums (in column
        order): ``2 r / (1 + r)``.
    alpha : float
        Alpha of the same matrix (standardized when ``covar`` is False).
    lambda6 : float
    n_splits : int
        Splits evaluated.
    exhaustive : bool
        True when every split was evaluated.
    best_split, worst_split : tuple of str
        Items of one half of the lambda-4 and beta splits.
    covar : bool
        True: computed from covariances (raw scores); False: correlations (psych's default).
    scale : str or None
    """

    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_obs: int
    n_items: int
    method: str
    missing: str
    lambda4: float
    beta: float
    mean_split_half: float
    odd_even: float
    alpha: float
    lambda6: float
    n_splits: int
    exhaustive: bool
    best_split: tuple[str, ...]
    worst_split: tuple[str, ...]
    covar: bool
    scale: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row per coefficient (``lambda4, beta, mean_split_half, odd_even, alpha,
        lambda6``), columns ``scale, coefficient, estimate, n_obs, n_items, n_splits,
        exhaustive, method, missing``."""
        names = ("lambda4", "beta", "mean_split_half", "odd_even", "alpha", "lambda6")
        frame = pd.DataFrame({"coefficient": names, "estimate": [getattr(self, n) for n in names]})
        frame.insert(0, "scale", self.scale)
        for col in ("n_obs", "n_items", "n_splits", "exhaustive", "method", "missing"):
            frame[col] = getattr(self, col)
        return frame


def _split_masks(k: int, n_sample: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    half = k // 2
    # even k: the splits with item 0 in the first half count each unordered split exactly once
    count = comb(k - 1, half - 1) if k % 2 == 0 else comb(k, half)
    if count <= n_sample:
        if k % 2 == 0:
            combos = [(0, *c) for c in combinations(range(1, k), half - 1)]
        else:
            combos = list(combinations(range(k), half))
        masks = np.zeros((len(combos), k), dtype=bool)
        rows = np.repeat(np.arange(len(combos)), half)
        masks[rows, np.asarray(combos).ravel()] = True
        return masks, True
    keys = rng.random((n_sample, k))
    order = np.argsort(keys, axis=1)[:, :half]
    masks = np.zeros((n_sample, k), dtype=bool)
    np.put_along_axis(masks, order, True, axis=1)
    return masks, False


def split_half(
    items: pd.DataFrame,
    *,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    covar: bool = False,
    check_keys: bool = True,
    n_sample: int = 10000,
    seed: int | None = None,
    ci_level: float = 0.95,
    scale: str | None = None,
) -> SplitHalfResult:
    """Guttman's lambda 4 (best split), Revelle's beta (worst split) and the mean split half.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item (at least 2), NaN for missing answers.
    keys, scale_min, scale_max, missing
        As :func:`cronbach_alpha`.
    covar : bool, default False
        False: work on the correlation matrix (psych's default, standardized items); True: on
        the covariance matrix (raw scores).
    check_keys : bool, default True
        When no ``keys`` are given, reverse the items that load negatively on the first
        principal component, with a warning (psych's ``check.keys = TRUE``).
    n_sample : int, default 10000
        When there are more distinct splits than this, that many random splits are evaluated
        instead of all (psych 2.2.9's ``n.sample``; psych 2.5 raised it to 15000).
    seed : int, optional
        Seed for the random splits.
    ci_level : float, default 0.95
        Recorded only.
    scale : str, optional

    Returns
    -------
    SplitHalfResult

    Notes
    -----
    Reproduces ``psych::splitHalf(x, key = reversed)``'s ``maxrb``, ``minrb`` and ``meanr``.
    For a split of the items into halves A (⌊k/2⌋ items) and B with matrix V (correlations, or
    covariances when ``covar``), the split-half reliability is Guttman's

    ``λ4(A, B) = 4 · 1'_A V 1_B / 1'V1 = 2 (1 - (V_A + V_B) / V_X)``,

    the Flanagan–Rulon coefficient. All ``C(k, ⌊k/2⌋)`` splits (halved for even k, where A and
    B are interchangeable) are evaluated in one matrix product when they number at most
    ``n_sample`` (up to 16 items); otherwise ``n_sample`` random splits are drawn, so
    ``lambda4`` and ``beta`` are then bounds reached by the sample. ``odd_even`` is the
    Spearman–Brown step-up ``2r/(1+r)`` of the correlation r between the odd- and
    even-positioned halves. For even k the mean over all splits equals alpha of V (Cronbach,
    1951).

    Known differences from psych 2.2.9's brute-force branch: for odd k psych visits only the
    first ``C(k, ⌊k/2⌋)/2`` combinations in lexicographic order (half of the distinct splits),
    here all of them; and psych leaves the first split out of the sum behind ``meanr`` (while
    dividing by the full count), so its ``meanr`` is lower by that split's value / count.
    ``maxrb`` and ``minrb`` agree whenever the same splits are visited.

    References
    ----------
    Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10, 255-282.
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.
    Revelle, W., & Zinbarg, R. E. (2009). Psychometrika, 74, 145-154.

    Examples
    --------
    >>> R = np.full((4, 4), 0.5) + 0.5 * np.eye(4)
    >>> df = pd.DataFrame(np.random.default_rng(0).multivariate_normal(np.zeros(4), R, 400), columns=list("abcd"))
    >>> res = split_half(df)
    >>> res.n_splits, res.exhaustive
    (3, True)
    """
    if not isinstance(n_sample, (int, np.integer)) or n_sample < 1:
        raise ValueError(f"n_sample: must be a positive whole number, got {n_sample!r}")
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    drop_constant_items(keyed, 2)
    names = [str(c) for c in keyed.data.columns]
    k = len(names)
    C = pairwise_cov(keyed.data)
    if not covar:
        sd = np.sqrt(np.diag(C))
        C = C / np.outer(sd, sd)
    if keys is None and check_keys:
        sd = np.sqrt(np.diag(C))
        _, vectors = np.linalg.eigh(C / np.outer(sd, sd))
        first = vectors[:, -1] * np.sign(vectors[:, -1].sum() or 1.0)
        sign = np.where(first < 0, -1.0, 1.0)
        if (sign < 0).any():
            reversed_names = [n for n, v in zip(names, sign, strict=True) if v < 0]
            warnings.warn(
                f"item(s) {', '.join(reversed_names)} correlate negatively with the scale and were "
                "reversed (check_keys=True, as psych::splitHalf); give keys= to control this",
                DataQualityWarning,
                stacklevel=2,
            )
            C = C * np.outer(sign, sign)
    total = C.sum()
    trace = np.trace(C)
    alpha = (total - trace) / total * k / (k - 1)
    sd_c = np.sqrt(np.diag(C))
    lambda6 = (total - trace + (smc(C / np.outer(sd_c, sd_c)) * np.diag(C)).sum()) / total
    masks, exhaustive = _split_masks(k, n_sample, np.random.default_rng(seed))
    A = masks.astype("float64")
    cross = np.einsum("si,ij,sj->s", A, C, 1.0 - A)
    rab = 4.0 * cross / total
    best, worst = int(np.argmax(rab)), int(np.argmin(rab))
    odd = np.zeros(k)
    odd[0::2] = 1.0
    even = 1.0 - odd
    r_oe = (odd @ C @ even) / np.sqrt((odd @ C @ odd) * (even @ C @ even))
    return SplitHalfResult(
        estimate=float(rab[best]),
        ci_low=float("nan"),
        ci_high=float("nan"),
        ci_level=ci_level,
        n_obs=keyed.n_obs,
        n_items=k,
        method="split_half_exhaustive" if exhaustive else "split_half_sampled",
        missing=keyed.missing,
        lambda4=float(rab[best]),
        beta=float(rab[worst]),
        mean_split_half=float(rab.mean()),
        odd_even=float(2.0 * r_oe / (1.0 + r_oe)),
        alpha=float(alpha),
        lambda6=float(lambda6),
        n_splits=len(rab),
        exhaustive=exhaustive,
        best_split=tuple(n for n, m in zip(names, masks[best], strict=True) if m),
        worst_split=tuple(n for n, m in zip(names, masks[worst], strict=True) if m),
        covar=covar,
        scale=scale,
    )
