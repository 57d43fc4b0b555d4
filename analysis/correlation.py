"""Pairwise covariances and correlations and squared multiple correlations (smc), once for every room."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from analysis.errors import DataQualityWarning

__all__ = ["pairwise_cov", "pairwise_cor", "smc"]


def pairwise_cov(frame: pd.DataFrame) -> np.ndarray:
    """``cov(x, use = "pairwise")``: each entry from the rows where both items are answered."""
    C = frame.cov(ddof=1).to_numpy()
    if np.isnan(C).any():
        i, j = np.argwhere(np.isnan(C))[0]
        raise ValueError(
            f"items: items {frame.columns[i]} and {frame.columns[j]} have fewer than 2 respondents "
            "in common; pairwise covariances cannot be computed"
        )
    return C


def pairwise_cor(frame: pd.DataFrame) -> np.ndarray:
    R = frame.corr().to_numpy()
    if np.isnan(R).any():
        i, j = np.argwhere(np.isnan(R))[0]
        raise ValueError(
            f"items: the correlation of {frame.columns[i]} and {frame.columns[j]} cannot be "
            "computed "
            "(fewer than 2 common answers or no variance)"
        )
    return R


def smc(R: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` (``psych::smc``), bounded to [0, 1]."""
    try:
        inv = np.linalg.inv(R)
    except np.linalg.LinAlgError:
        warnings.warn(
            "the correlation matrix is singular; squared multiple correlations use its "
            "pseudo-inverse (as psych::smc does)",
            DataQualityWarning,
            stacklevel=3,
        )
        inv = np.linalg.pinv(R)
    smc = 1.0 - 1.0 / np.diag(inv)
    return np.clip(smc, 0.0, 1.0)
