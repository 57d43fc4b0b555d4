"""Rotations against R on the same unrotated loadings (tests/data/rotation_reference.json).

R: tests/data/make_rotation_reference.R (psych 2.2.9, GPArotation 2022.10-2): psych's unrotated
five-factor minres loadings of bfi, rotated by GPArotation::oblimin, GPArotation::geominQ,
stats::varimax and psych::kaiser(rotate = "Promax"). The rotations follow R step by step (same
start, steps and stopping rule), so they agree to rounding: achieved gaps 1e-15 to 2e-15;
1e-12 leaves room for floating-point differences between machines.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.factor.rotation import gpf_oblique, oblimin_criterion, reflect_and_sort, rotate

REF = json.loads((Path(__file__).parent / "data" / "rotation_reference.json").read_text())
UNROTATED = np.array(REF["unrotated"])


@pytest.mark.parametrize("method", ["oblimin", "geomin", "varimax", "promax"])
def test_rotation_matches_r(method):
    expected = REF[method]
    got = rotate(UNROTATED, method)
    np.testing.assert_allclose(got.loadings, np.array(expected["loadings"]), rtol=0, atol=1e-12)
    if "phi" in expected:
        np.testing.assert_allclose(got.phi, np.array(expected["phi"]), rtol=0, atol=1e-12)
    else:
        assert got.phi is None
    assert got.converged


def test_gpf_oblique_reports_non_convergence():
    res = gpf_oblique(UNROTATED, oblimin_criterion(0.0), max_iter=2)
    assert not res.converged


def test_reflect_and_sort_orders_by_variance_with_factor_correlations():
    # psych:::fac: columns with negative sums flipped, then ordered by diag(Phi L'L)
    lam = np.array([[0.1, -0.8], [0.2, -0.7], [0.6, 0.0]])
    phi = np.array([[1.0, 0.3], [0.3, 1.0]])
    got, got_phi = reflect_and_sort(lam, phi)
    np.testing.assert_allclose(got, np.array([[0.8, 0.1], [0.7, 0.2], [0.0, 0.6]]))
    np.testing.assert_allclose(got_phi, np.array([[1.0, -0.3], [-0.3, 1.0]]))
