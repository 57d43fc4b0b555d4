"""Simulated responses from IRT models (synthetic data for recovery studies and examples)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.irt.items import item_probabilities

__all__ = ["simulate_graded", "simulate_items"]


def simulate_items(
    item_types: list[str],
    params: list[np.ndarray],
    *,
    n: int | None = None,
    theta: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
    item_names: list[str] | None = None,
    first_category: int = 1,
) -> pd.DataFrame:
    """Draw responses from items of the given types and slope-intercept parameters.

    Parameters
    ----------
    item_types : list of str
        ``graded``, ``gpcm`` or ``2PL`` per item.
    params : list of ndarray
        Per item ``(a, d_1, ..., d_{K-1})`` (mirt's slope-intercept form).
    n : int, optional
        Number of respondents, with trait values drawn from N(0, 1). Give ``n`` or ``theta``.
    theta : ndarray, optional
        The respondents' trait values.
    seed : int or Generator, optional
    item_names : list of str, optional
        Default ``item1``, ``item2``, ...
    first_category : int, default 1
        The value of the lowest category (responses are ``first_category + k``).

    Returns
    -------
    DataFrame
        Synthetic responses, one column per item (pass ``theta`` to know the trait values).
    """
    rng = np.random.default_rng(seed)
    if theta is None:
        if n is None:
            raise ValueError("give n or theta")
        theta = rng.standard_normal(int(n))
    theta = np.asarray(theta, dtype=float)
    names = item_names or [f"item{j + 1}" for j in range(len(params))]
    columns = {}
    for name, kind, p in zip(names, item_types, params, strict=True):
        probs = item_probabilities(kind, np.asarray(p, dtype=float), theta)
        cum = np.cumsum(probs, axis=1)
        draw = rng.random(theta.size)[:, None]
        columns[name] = (draw > cum[:, :-1]).sum(axis=1) + first_category
    return pd.DataFrame(columns)


def simulate_graded(
    a: np.ndarray,
    d: np.ndarray,
    *,
    n: int | None = None,
    theta: np.ndarray | None = None,
    seed: int | np.random.Generator | None = None,
    first_category: int = 1,
) -> pd.DataFrame:
    """Synthetic responses from a graded response model with slopes ``a`` and intercepts ``d``.

    ``d`` is ``(n_items, K-1)`` with decreasing rows (mirt's ``simdata(a, d, N, itemtype='graded')``
    parameterisation).
    """
    a = np.asarray(a, dtype=float)
    d = np.atleast_2d(np.asarray(d, dtype=float))
    params = [np.concatenate([[a[j]], d[j]]) for j in range(a.size)]
    return simulate_items(
        ["graded"] * a.size, params, n=n, theta=theta, seed=seed, first_category=first_category
    )
