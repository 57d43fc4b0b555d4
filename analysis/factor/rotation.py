"""Factor rotations as R computes them: ``stats::varimax``, psych's ``Promax``/``kaiser`` and
GPArotation's gradient projection (``GPFoblq``: oblimin, quartimin, geominQ).

The one rotation code of the package (EFA and omega's Schmid–Leiman step). Each function follows
its R counterpart step by step (same start, step sizes and stopping rule), so the rotated
loadings agree with R's to rounding, not just to the convergence tolerance.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

__all__ = [
    "ROTATIONS",
    "Rotation",
    "geomin_criterion",
    "gpf_oblique",
    "kaiser_promax",
    "oblimin_criterion",
    "promax",
    "reflect_and_sort",
    "rotate",
    "varimax",
]

ROTATIONS = ("oblimin", "promax", "varimax", "geomin", None)


@dataclass(frozen=True, slots=True)
class Rotation:
    """Rotated loadings, the factor correlations (None when orthogonal) and convergence."""

    loadings: np.ndarray
    phi: np.ndarray | None
    converged: bool = True


def varimax(loadings: np.ndarray, *, normalize: bool = True, eps: float = 1e-5) -> Rotation:
    """``stats::varimax(x, normalize, eps)``: Kaiser's varimax by successive SVDs.

    Rows are scaled to unit length first when ``normalize`` (Kaiser normalisation); iterations
    stop when the criterion (sum of singular values) grows by less than a factor ``1 + eps``
    (at most 1,000).
    """
    rotated, _ = _varimax_matrix(loadings, normalize=normalize, eps=eps)
    return Rotation(rotated, None)


def _varimax_matrix(
    x: np.ndarray, *, normalize: bool = True, eps: float = 1e-5
) -> tuple[np.ndarray, np.ndarray]:
    p, nc = x.shape
    if nc < 2:
        return x.copy(), np.eye(nc)
    if normalize:
        sc = np.sqrt(np.sum(x**2, axis=1))
        x = x / sc[:, None]
    tt = np.eye(nc)
    d = 0.0
    for _ in range(1000):
        z = x @ tt
        b = x.T @ (z**3 - z * (np.sum(z**2, axis=0) / p))
        u, sv, vt = np.linalg.svd(b)
        tt = u @ vt
        dpast, d = d, float(np.sum(sv))
        if d < dpast * (1 + eps):
            break
    z = x @ tt
    if normalize:
        z = z * sc[:, None]
    return z, tt


def promax(loadings: np.ndarray, *, m: int = 4) -> Rotation:
    """psych's ``Promax(x, m)``: varimax, then the least-squares fit to ``x·|x|^(m−1)``.

    ``U = (XᵀX)⁻¹XᵀQ`` with X the varimax loadings and Q the target, columns rescaled by
    ``sqrt(diag((UᵀU)⁻¹))``; loadings ``XU``, factor correlations ``U⁻¹U⁻ᵀ`` with U combined
    with the varimax rotation.
    """
    if loadings.shape[1] < 2:
        return Rotation(loadings.copy(), None)
    x, rot = _varimax_matrix(loadings)
    q = x * np.abs(x) ** (m - 1)
    u = np.linalg.lstsq(x, q, rcond=None)[0]
    d = np.diag(np.linalg.inv(u.T @ u))
    u = u * np.sqrt(d)
    z = x @ u
    ui = np.linalg.inv(rot @ u)
    return Rotation(z, ui @ ui.T)


def kaiser_promax(loadings: np.ndarray, *, m: int = 4) -> Rotation:
    """psych's ``kaiser(f, rotate = "Promax")``: :func:`promax` of the rows scaled by 1/√h²."""
    h = np.sqrt(np.sum(loadings**2, axis=1))
    res = promax(loadings / h[:, None], m=m)
    return Rotation(res.loadings * h[:, None], res.phi)


Criterion = Callable[[np.ndarray], tuple[np.ndarray, float]]


def oblimin_criterion(gam: float) -> Criterion:
    """GPArotation's ``vgQ.oblimin``: f = Σ(L² ∘ X)/4, X = (I − γ/p) L² (11ᵀ − I)."""

    def vgq(lam: np.ndarray) -> tuple[np.ndarray, float]:
        l2 = lam * lam
        x = l2.sum(axis=1, keepdims=True) - l2  # L² (11ᵀ − I)
        if gam != 0:
            x = x - gam * x.mean(axis=0)
        return lam * x, float((l2 * x).sum()) / 4

    return vgq


def geomin_criterion(delta: float) -> Criterion:
    """GPArotation's ``vgQ.geomin``: f = Σ_i (Π_j (λ_ij² + δ))^(1/k)."""

    def vgq(lam: np.ndarray) -> tuple[np.ndarray, float]:
        k = lam.shape[1]
        l2 = lam**2 + delta
        pro = np.exp(np.log(l2).sum(axis=1) / k)
        return (2 / k) * (lam / l2) * pro[:, None], float(pro.sum())

    return vgq


def gpf_oblique(
    loadings: np.ndarray,
    criterion: Criterion,
    *,
    normalize: bool = False,
    eps: float = 1e-5,
    max_iter: int = 1000,
) -> Rotation:
    """GPArotation's ``GPFoblq``: oblique rotation by gradient projection (Jennrich, 2002).

    From ``T = I``: ``L = A T⁻ᵀ``, gradient ``G = −(Lᵀ Gq T⁻¹)ᵀ``, projected
    ``Gp = G − T diag(1ᵀ(T ∘ G))``; stop when ``‖Gp‖_F < eps``; otherwise double the step α
    and halve it (at most 11 times) until the criterion falls by more than ``½‖Gp‖²α``, moving
    to ``T − αGp`` with unit-length columns. ``normalize`` scales rows to unit length first
    (Kaiser). Returns the loadings and ``Φ = TᵀT``.
    """
    a = loadings
    if normalize:
        w = np.sqrt(np.sum(a**2, axis=1))[:, None]
        a = a / w
    k = a.shape[1]
    tmat = np.eye(k)
    lam = a.copy()
    gq, f = criterion(lam)
    g = -(lam.T @ gq).T  # T⁻¹ = I
    al = 1.0
    converged = False
    inv = np.linalg.inv
    for _ in range(max_iter + 1):
        gp = g - tmat * (tmat * g).sum(axis=0)
        s = math.sqrt((gp * gp).sum())
        if s < eps:
            converged = True
            break
        al *= 2
        for _ in range(11):
            x = tmat - al * gp
            tnew = x / np.sqrt((x * x).sum(axis=0))
            tinv = inv(tnew)
            lam = a @ tinv.T
            gq_new, f_new = criterion(lam)
            if f - f_new > 0.5 * s * s * al:
                break
            al /= 2
        tmat, f = tnew, f_new
        g = -(lam.T @ gq_new @ tinv).T
    if normalize:
        lam = lam * w
    return Rotation(lam, tmat.T @ tmat, converged)


def rotate(loadings: np.ndarray, method: str | None) -> Rotation:
    """Rotate as ``psych::fa(rotate = method)`` does, with psych's settings.

    ``varimax``: ``stats::varimax`` (Kaiser-normalised, eps 1e-5); ``promax``: psych's
    ``kaiser(…, "Promax")`` (m = 4); ``oblimin``: ``GPArotation::oblimin``
    (γ = 0, not normalised, eps 1e-5, 1,000 iterations); ``geomin``: ``GPArotation::geominQ``
    (δ = .01). None (or one factor): unrotated. Loadings exactly 0 become 1e-15 first (psych).
    """
    if method is None or loadings.shape[1] < 2:
        return Rotation(loadings, None)
    load = np.where(loadings == 0.0, 1e-15, loadings)
    if method == "varimax":
        return varimax(load)
    if method == "promax":
        return kaiser_promax(load)
    if method == "oblimin":
        return gpf_oblique(load, oblimin_criterion(0.0))
    if method == "geomin":
        return gpf_oblique(load, geomin_criterion(0.01))
    raise ValueError(f"rotation must be one of {ROTATIONS}, got {method!r}")


def reflect_and_sort(
    loadings: np.ndarray, phi: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray | None]:
    """psych's last step in ``fa``: columns flipped to positive sums, then ordered by variance.

    The variance of a factor counts the factor correlations, ``diag(Φ ΛᵀΛ)`` (``diag(ΛᵀΛ)``
    when orthogonal), largest first (``psych:::fac``; ties keep their order).
    """
    signs = np.sign(loadings.sum(axis=0))
    signs[signs == 0] = 1
    loadings = loadings * signs
    if phi is not None:
        phi = phi * np.outer(signs, signs)
    explained = np.sum(loadings**2, axis=0) if phi is None else np.diag(phi @ loadings.T @ loadings)
    order = np.argsort(-explained, kind="stable")
    loadings = loadings[:, order]
    if phi is not None:
        phi = phi[np.ix_(order, order)]
    return loadings, phi
