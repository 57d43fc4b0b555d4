"""The saturated-model EM is shared by models fitted to identical data (analysis.sem.fiml)."""

from __future__ import annotations

import numpy as np

from analysis.sem.fiml import cached_pattern_moments, pattern_moments


def _holes(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = rng.multivariate_normal(np.zeros(4), 0.5 * np.eye(4) + 0.5, size=200)
    x[rng.random(x.shape) < 0.1] = np.nan
    return x[~np.isnan(x).all(axis=1)]


def test_identical_data_reuse_the_em_and_equal_the_uncached_result() -> None:
    x = _holes(1)
    first = cached_pattern_moments(x)
    again = cached_pattern_moments(x.copy())  # equal bytes, another array
    assert again is first
    plain = pattern_moments(x)
    # the same computation: bit-identical moments
    np.testing.assert_array_equal(first.cov, plain.cov)
    np.testing.assert_array_equal(first.mean, plain.mean)
    assert first.h1 == plain.h1


def test_other_data_or_label_is_computed_afresh() -> None:
    x = _holes(2)
    first = cached_pattern_moments(x)
    y = x.copy()
    y[0, 0] = 0.0 if np.isnan(y[0, 0]) else y[0, 0] + 1.0
    assert cached_pattern_moments(y) is not first
    assert cached_pattern_moments(x, "group b") is not first
    assert cached_pattern_moments(x, "group b").label == "group b"
