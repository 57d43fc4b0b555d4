"""Result types shared by the reliability coefficients: one coefficient and its bootstrap."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis._results import Result

__all__ = ["Coefficient", "BootstrapResult"]


@dataclass(frozen=True, slots=True, repr=False)
class Coefficient(Result):
    """One reliability coefficient with its interval.

    Attributes
    ----------
    coefficient : str
        Name, e.g. ``ordinal_alpha``.
    estimate, ci_low, ci_high : float
        Point estimate and interval (NaN where no interval is computed).
    ci_level : float
        Confidence level of the interval.
    n_obs : int
        Respondents (rows) the estimate is based on.
    n_items : int
        Items in the scale.
    method : str
        How it was computed.
    missing : str
        ``pairwise`` or ``listwise``.
    scale : str or None
        Scale id, if given.
    """

    coefficient: str
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_obs: int
    n_items: int
    method: str
    missing: str
    scale: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row: ``scale, coefficient, estimate, ci_low, ci_high, ci_level, n_obs, n_items, method, missing``."""
        return pd.DataFrame(
            [{k: getattr(self, k) for k in _SUMMARY_COLUMNS}], columns=_SUMMARY_COLUMNS
        )


_SUMMARY_COLUMNS = [
    "scale",
    "coefficient",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "n_obs",
    "n_items",
    "method",
    "missing",
]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class BootstrapResult(Result):
    """Percentile bootstrap interval of a reliability coefficient (raw alpha or omega total).

    Attributes
    ----------
    estimate : float
        The coefficient on the full data.
    ci_low, ci_high : float
        Percentiles ``(1-ci_level)/2`` and ``(1+ci_level)/2`` of the resampled values (R's
        ``quantile`` type 7, numpy's default ``linear``).
    ci_level : float
    median : float
        Median of the resampled values (psych's middle ``boot.ci`` value for alpha).
    n_boot : int
        Resamples drawn.
    seed : int or None
        Seed of the ``numpy.random.Generator`` used.
    n_obs : int
    missing : str
    replicates : numpy.ndarray
        The ``n_boot`` resampled values (NaN where a resample gave none).
    method : str
        ``bootstrap_percentile``.
    coefficient : str
        ``alpha`` (raw alpha, ``psych::alpha(n.iter =)``) or ``omega_total``.
    fisher_z_ci : tuple of float
        The interval ``psych::omega(n.iter =)`` prints: ``tanh(mean(z) ± z_{(1+level)/2} sd(z))``
        with z the Fisher z (``atanh``) of the replicates.
    n_failed : int
        Resamples left out (no value: an item pair without 2 common answers, or a factor model
        that could not be fitted).
    """

    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    median: float
    n_boot: int
    seed: int | None
    n_obs: int
    missing: str
    replicates: np.ndarray = field(repr=False)
    method: str = "bootstrap_percentile"
    coefficient: str = "alpha"
    fisher_z_ci: tuple[float, float] = (float("nan"), float("nan"))
    n_failed: int = 0

    def summary(self) -> pd.DataFrame:
        """One row: ``coefficient, estimate, ci_low, ci_high, ci_level, median, n_boot, seed,
        n_obs, method, missing``."""
        cols = [
            "coefficient",
            "estimate",
            "ci_low",
            "ci_high",
            "ci_level",
            "median",
            "n_boot",
            "seed",
            "n_obs",
            "method",
            "missing",
        ]
        return pd.DataFrame([{c: getattr(self, c) for c in cols}], columns=cols)
