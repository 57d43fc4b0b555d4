"""Factor extraction as ``psych::fa`` does it (psych's ``fac``): minres, ml, principal axis.

The one minres of the package: EFA, omega (Schmid–Leiman and one factor), factor retention, the
sample-size plan and the omega bootstrap's refits call :func:`extract_factors`. (The bootstrap
also has batched solvers for stacks of resampled matrices; see
:mod:`analysis.reliability.bootstrap`.)
"""

from __future__ import annotations

import numpy as np

from analysis.correlation import smc

__all__ = ["METHODS", "PSI_LOWER", "PSI_UPPER", "extract_factors"]

METHODS = ("minres", "ml", "pa")
#: psych's bounds on the uniquenesses (``optim(method = "L-BFGS-B", lower = .005, upper = 1)``)
PSI_LOWER, PSI_UPPER = 0.005, 1.0


def _eig_desc(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    vals, vecs = np.linalg.eigh(m)
    return vals[::-1], vecs[:, ::-1]


def _loadings_from_psi(r: np.ndarray, psi: np.ndarray, k: int) -> np.ndarray:
    """psych's ``FAout.wls``: principal axes of R with 1 − ψ on the diagonal."""
    s = r.copy()
    np.fill_diagonal(s, 1.0 - psi)
    vals, vecs = _eig_desc(s)
    with np.errstate(invalid="ignore"):
        return vecs[:, :k] * np.sqrt(vals[:k])


def _lbfgs(objective, gradient, start: np.ndarray) -> tuple[np.ndarray, bool]:
    """Minimise over ψ ∈ [0.005, 1] (psych: ``optim(method = "L-BFGS-B")``, tighter tolerances)."""
    from scipy import optimize

    start = np.clip(start, PSI_LOWER, PSI_UPPER)
    res = optimize.minimize(
        objective,
        start,
        jac=gradient,
        method="L-BFGS-B",
        bounds=[(PSI_LOWER, PSI_UPPER)] * len(start),
        options={"ftol": 1e-12, "gtol": 1e-8, "maxiter": 2000},
    )
    g = gradient(res.x)
    # projected gradient: components pushing against an active bound do not count
    free = ~(((res.x <= PSI_LOWER) & (g > 0)) | ((res.x >= PSI_UPPER) & (g < 0)))
    small = np.all(np.abs(g[free]) < 1e-5)
    return res.x, bool(res.success or small)


def _minres_newton(
    r: np.ndarray, k: int, psi: np.ndarray, *, tol: float = 1e-10, max_iter: int = 50
) -> np.ndarray | None:
    """Newton's method on the minres gradient; None when it leaves psych's bounds or stalls.

    With ``S = R − Ψ = V diag(λ) Vᵀ`` (λ descending) the concentrated least-squares criterion
    is ``F(ψ) = ½ Σ_{b>k} λ_b²``, its gradient psych's ``diag(ΛΛᵀ + Ψ − R)`` (Λ the first k
    principal axes of S), and its Hessian, from first-order eigenvalue and eigenvector
    perturbation (``∂λ_a/∂ψ_j = −v_ja²``, ``∂v_a/∂ψ_j = −Σ_{b≠a} v_b v_jb v_ja/(λ_a − λ_b)``),

    ``H = I − P∘P − 2 Σ_{a≤k} (v_a v_aᵀ) ∘ (V_{>k} diag(λ_a/(λ_a − λ_b)) V_{>k}ᵀ)``

    with ``P = V_{≤k} V_{≤k}ᵀ`` and ∘ the elementwise product. Steps are halved until F
    does not increase (one eigendecomposition per step otherwise). Converged when the largest
    gradient component is below ``tol``.
    """
    d = np.diag(r)
    s = r.copy()
    idx = np.arange(len(d))

    def decompose(p: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        s[idx, idx] = d - p
        vals, vecs = np.linalg.eigh(s)  # ascending: the first k axes are the last columns
        return vals, vecs, 0.5 * float(vals[:-k] @ vals[:-k])

    vals, vecs, f = decompose(psi)
    for _ in range(max_iter):
        top, rest = vecs[:, -k:], vecs[:, :-k]
        ltop, lrest = vals[-k:], vals[:-k]
        if ltop[0] <= 0.0:
            return None
        g = (top**2) @ ltop + psi - d
        if np.max(np.abs(g)) < tol:
            return psi
        proj = top @ top.T
        hess = np.eye(len(d)) - proj * proj
        for a in range(k):
            coef = ltop[a] / (ltop[a] - lrest)
            hess -= 2.0 * np.outer(top[:, a], top[:, a]) * ((rest * coef) @ rest.T)
        try:
            step = np.linalg.solve(hess, g)
        except np.linalg.LinAlgError:
            return None
        if g @ step <= 0:  # not a descent direction (indefinite Hessian far from the optimum)
            step = g
        new = psi - step
        if np.any((new <= PSI_LOWER) | (new >= PSI_UPPER)):
            return None  # heading for a bound: left to the bounded L-BFGS-B
        for _ in range(30):  # halve the step until the criterion does not increase
            vals, vecs, f_new = decompose(new)
            if f_new <= f * (1.0 + 1e-12):
                break
            step = 0.5 * step
            new = psi - step
        else:
            return None
        psi, f = new, f_new
    return None


def _minres(r: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, bool]:
    start = np.clip(np.diag(r) - smc(r), PSI_LOWER, PSI_UPPER)
    psi = _minres_newton(r, k, start)
    if psi is not None:
        return _loadings_from_psi(r, psi, k), psi, True
    # a bound is active (Heywood case) or Newton stalled: psych's bounded L-BFGS-B, with its
    # objective (off-diagonal residuals) and gradient
    p = r.shape[0]
    low = np.tril_indices(p, -1)

    def objective(psi):
        s = r.copy()
        np.fill_diagonal(s, 1.0 - psi)
        vals, vecs = _eig_desc(s)
        vals = np.where(vals < np.finfo(float).eps, 100 * np.finfo(float).eps, vals)
        load = vecs[:, :k] * np.sqrt(vals[:k])
        resid = (s - load @ load.T)[low]
        return float(np.sum(resid**2))

    def gradient(psi):
        # psych's FAgr.minres: diag(model + Ψ − S) with the loadings of S − Ψ
        vals, vecs = _eig_desc(r - np.diag(psi))
        load = vecs[:, :k] * np.sqrt(np.maximum(vals[:k], 0.0))
        return np.diag(load @ load.T) + psi - np.diag(r)

    psi, ok = _lbfgs(objective, gradient, start)
    return _loadings_from_psi(r, psi, k), psi, ok


def _ml(r: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, bool]:
    p = r.shape[0]

    def objective(psi):
        sc = 1.0 / np.sqrt(psi)
        e = np.linalg.eigvalsh(r * np.outer(sc, sc))[::-1][k:]
        return -(np.sum(np.log(e) - e) - k + p)

    def gradient(psi):
        sc = 1.0 / np.sqrt(psi)
        vals, vecs = _eig_desc(r * np.outer(sc, sc))
        load = vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1.0, 0.0))
        load = np.sqrt(psi)[:, None] * load
        g = load @ load.T + np.diag(psi) - r
        return np.diag(g) / psi**2

    psi, ok = _lbfgs(objective, gradient, np.diag(r) - smc(r))
    sc = 1.0 / np.sqrt(psi)
    vals, vecs = _eig_desc(r * np.outer(sc, sc))
    load = vecs[:, :k] * np.sqrt(np.maximum(vals[:k] - 1.0, 0.0))
    return np.sqrt(psi)[:, None] * load, psi, ok


def _pa(r: np.ndarray, k: int, *, min_err: float, max_iter: int):
    rmat = r.copy()
    np.fill_diagonal(rmat, smc(r))
    comm = np.trace(rmat)
    converged = False
    for _ in range(max_iter):
        vals, vecs = _eig_desc(rmat)
        load = vecs[:, :k] * np.sqrt(vals[:k])
        new = np.sum(load**2, axis=1)
        comm1 = new.sum()
        np.fill_diagonal(rmat, new)
        err = abs(comm - comm1)
        comm = comm1
        if err < min_err:
            converged = True
            break
    return load, 1.0 - np.sum(load**2, axis=1), converged


def extract_factors(
    r: np.ndarray,
    n_factors: int,
    *,
    method: str = "minres",
    min_err: float = 0.001,
    max_iter: int = 50,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Unrotated loadings of a correlation matrix (psych's ``fac`` extraction step).

    Parameters
    ----------
    r : ndarray
        p × p correlation matrix.
    n_factors : int
        Factors to extract.
    method : {"minres", "ml", "pa"}, default "minres"
        Minimum residual (unweighted least squares), maximum likelihood, or iterated principal
        axis.
    min_err, max_iter : float, int
        Convergence of principal axis (change in the sum of communalities; psych's defaults).

    Returns
    -------
    (loadings, uniquenesses, converged)

    Notes
    -----
    minres minimises ``Σ_{i<j} (r_ij − (ΛΛᵀ)_ij)²`` over the uniquenesses ψ ∈ [0.005, 1]
    (psych's ``fit.residuals``/``FAout.wls``), with Λ the first k principal axes of ``R − Ψ``.
    psych runs L-BFGS-B from ``ψ = 1 − smc`` with the gradient ``diag(ΛΛᵀ + Ψ − R)``; at an
    interior solution that gradient is zero, and here Newton's method finds that point from
    the same start with the analytic Hessian (see ``_minres_newton``: a few
    eigendecompositions instead of L-BFGS-B's dozens), to a gradient below 1e-10. Should an
    iterate reach a bound (a Heywood case) or Newton stall, psych's bounded L-BFGS-B runs from
    the start instead (same objective and gradient as psych, tighter tolerances). ml minimises
    ``factanal``'s ``−Σ_{j>k}(log e_j − e_j) − k + p`` (e: eigenvalues of
    ``Ψ^{-1/2} R Ψ^{-1/2}``) by L-BFGS-B. pa starts from the SMCs on the diagonal and iterates
    ``diag ← rowSums(Λ²)`` until the sum of communalities changes by less than ``min_err`` (at
    most ``max_iter`` times). Signs are set so that each column sums to a positive value.

    Examples
    --------
    >>> r = np.array([[1, .48, .40], [.48, 1, .30], [.40, .30, 1]])
    >>> load, psi, ok = extract_factors(r, 1)
    >>> np.round(load.ravel(), 2).tolist(), ok
    ([0.8, 0.6, 0.5], True)
    """
    if method == "minres":
        load, psi, ok = _minres(r, n_factors)
    elif method == "ml":
        load, psi, ok = _ml(r, n_factors)
    elif method == "pa":
        load, psi, ok = _pa(r, n_factors, min_err=min_err, max_iter=max_iter)
    else:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    signs = np.sign(load.sum(axis=0))
    signs[signs == 0] = 1
    return load * signs, psi, ok
