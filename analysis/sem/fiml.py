"""Full-information ML for incomplete multivariate normal data, by missing-data pattern.

The likelihood of respondents with missing answers (lavaan ``missing = "ml"``) is a sum over
respondents of the normal log-density of the answers each gave. Respondents with the same
missing-data pattern share the submatrix Σ_oo of the answered items, so the sum is taken over
patterns with each pattern's sufficient statistics (count, mean, cross-products) instead of over
respondents. Each pattern's inverse and determinant come from the precision matrix Ω = Σ⁻¹ of all
items through its missing block (a Schur complement),

    Σ_oo⁻¹ = Ω_oo − Ω_om Ω_mm⁻¹ Ω_mo,        |Σ_oo| = |Σ| · |Ω_mm|,

so one Cholesky factor of Σ and one small m × m inverse per pattern (m = items missing in it)
give the likelihood and its exact gradient at a cost of patterns × items² × m, not
respondents × items³. The same identities give the E-step of the EM algorithm for the saturated
model (lavaan's ``h1``), whose likelihood is the reference of the χ² test.

The :class:`PatternMoments` are used by :class:`analysis.sem.cfa.CFA` and
:class:`analysis.sem.invariance.MultiGroupCFA` with ``missing = "ml"``; :func:`pattern_moments`
builds them from a respondents × items array.
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from analysis._compat import single_threaded_blas
from analysis.errors import ConvergenceWarning

__all__ = [
    "PatternMoments",
    "pattern_moments",
    "cached_pattern_moments",
    "expected_information",
    "observed_information",
]

_LOG2PI = math.log(2 * math.pi)
#: Numbers per slice of the respondent-level arrays of the observed information (memory bound).
_HESSIAN_SLICE = 4_000_000


def expected_information(inv: np.ndarray, dS: np.ndarray) -> np.ndarray:
    """H_kl = tr(Σ⁻¹ D_k Σ⁻¹ D_l) for symmetric D_k, as one matrix product: with Σ⁻¹ = LLᵀ and
    C_k = Lᵀ D_k L, H_kl = vec(C_k)·vec(C_l)."""
    L = np.linalg.cholesky(inv)
    C = L.T @ dS @ L
    flat = C.reshape(len(dS), -1)
    return flat @ flat.T


@dataclass(frozen=True, slots=True)
class _Bucket:
    """The respondents whose pattern misses the same number m ≥ 1 of items."""

    missing: np.ndarray  # patterns × m, indices of the missing items
    n: np.ndarray  # respondents per pattern
    rows: np.ndarray  # respondents × p, answers with 0 where missing
    mask: np.ndarray  # respondents × p, 1.0 = answered
    row_missing: np.ndarray  # respondents × m, indices of each respondent's missing items
    row_pattern: np.ndarray  # respondents, index of the pattern within the bucket
    weight: np.ndarray  # respondents, each row's weight (1 for respondents; see pattern_moments)


@dataclass(frozen=True, slots=True)
class _Pieces:
    """One bucket at (Ω, μ): with y_i = x_i − μ on the answered items, z_i = (Ω y_i)[m] = U_kᵀ y_i,
    V_k = Ω_mm⁻¹ and r_i = V_k z_i."""

    Y: np.ndarray  # respondents × p
    V: np.ndarray  # patterns × m × m
    logdet_mm: np.ndarray  # log|Ω_mm| per pattern
    z: np.ndarray  # respondents × m
    r: np.ndarray  # respondents × m


def _pieces(b: _Bucket, omega: np.ndarray, mu: np.ndarray) -> _Pieces | None:
    miss = b.missing
    omm = omega[miss[:, :, None], miss[:, None, :]]
    try:
        cf = np.linalg.cholesky(omm)
    except np.linalg.LinAlgError:
        return None
    logdet_mm = 2 * np.log(np.diagonal(cf, axis1=1, axis2=2)).sum(axis=1)
    V = np.linalg.inv(omm)
    Y = (b.rows - mu[None]) * b.mask
    z = np.take_along_axis(Y @ omega, b.row_missing, axis=1)
    r = np.einsum("rij,rj->ri", V[b.row_pattern], z)
    return _Pieces(Y, V, logdet_mm, z, r)


def _spread(b: _Bucket, r: np.ndarray) -> np.ndarray:
    """Each respondent's m-vector put at its missing items of a p-vector (E_m r)."""
    out = np.zeros(b.rows.shape)
    np.put_along_axis(out, b.row_missing, r, axis=1)
    return out


def _block_sum(b: _Bucket, V: np.ndarray, p: int) -> np.ndarray:
    """Σ_k n_k E_m V_k E_mᵀ: the patterns' m × m blocks added into p × p."""
    out = np.zeros((p, p))
    np.add.at(out, (b.missing[:, :, None], b.missing[:, None, :]), b.n[:, None, None] * V)
    return out


@dataclass(frozen=True, slots=True)
class PatternMoments:
    """Incomplete data of one group, reduced to its missing-data patterns.

    Built by :func:`pattern_moments`. The private fields hold the pattern statistics.

    Attributes
    ----------
    label : object
        The group label (None for one group).
    n : int
        Respondents (each with at least one answer).
    n_patterns : int
        Distinct missing-data patterns (complete rows are one pattern).
    cov, mean : numpy.ndarray
        The saturated (h1) model's estimates by EM: the "sample" moments lavaan reports with
        ``missing = "ml"`` and uses for the SRMR.
    logdet : float
        log|cov|.
    h1 : float
        −2 log-likelihood per respondent of the saturated model.
    baseline : float
        −2 log-likelihood per respondent of the independence model (diagonal Σ, free means), whose
        maximum has each item's mean and variance over the respondents who answered it.
    em_iterations : int
        EM iterations used for the saturated model.
    pair_counts : numpy.ndarray
        Respondents answering each pair of items (diagonal: each item).
    """

    label: object
    n: int
    n_patterns: int
    cov: np.ndarray
    mean: np.ndarray
    logdet: float
    h1: float
    baseline: float
    em_iterations: int
    pair_counts: np.ndarray
    _stats: _Totals

    def terms(self, sigma, mu, dS, dM, *, meanstructure: bool, grad: bool, info: bool):
        """−2 log-likelihood per respondent at (Σ, μ), its gradient with respect to θ given
        ∂Σ/∂θ (k × p × p) and ∂μ/∂θ (k × p), and the complete-data expected information at (Σ, μ)
        (a cheap stand-in that only steers Fisher scoring; SEs use the observed information)."""
        value, W, v = _loglik(self._stats, sigma, mu, grad=grad)
        if not math.isfinite(value):
            return math.inf, None, None
        g = H = None
        if grad:
            g = (dS.reshape(len(dS), -1) @ W.ravel() - 2 * dM @ v) / self.n
        if info:
            full_inv = np.linalg.inv(sigma)
            H = expected_information(full_inv, dS) + 2 * dM @ full_inv @ dM.T
        return value / self.n, g, H

    def hessian_terms(self, sigma, mu, dS, dM):
        """The observed-information part of the Hessian that comes from the data.

        Returns (H, W, v) per respondent: the Hessian of −2 logl/n with respect to θ is
        H + ∂²(tr(WΣ) − 2vᵀμ)/∂θ∂θ at fixed W, v (the curvature of the model's Σ(θ), μ(θ), which
        the caller adds), with W and v as in :meth:`loglik_moments` (divided by n).
        """
        H, W, v = _hessian_data(self._stats, sigma, mu, dS, dM)
        return H / self.n, W / self.n, v / self.n

    def loglik_moments(self, sigma: np.ndarray, mu: np.ndarray, *, grad: bool = True):
        """−2 log-likelihood (sum over respondents) at (Σ, μ) and, with ``grad``, W (p × p) and
        v (p) with d(−2 logl) = tr(W dΣ) − 2 vᵀ dμ."""
        return _loglik(self._stats, sigma, mu, grad=grad)


@dataclass(frozen=True, slots=True)
class _Totals:
    n: int
    n_answered: float  # Σ over respondents of items answered
    scatter_total: np.ndarray  # Σ_k n_k S_k (each about its pattern mean; masked), p × p
    sum_masked: np.ndarray  # Σ_k n_k x̄_k (masked), p
    mean_outer: np.ndarray  # Σ_k n_k x̄_k x̄_kᵀ (masked), p × p
    mean_mask: np.ndarray  # Σ_k n_k x̄_k M_kᵀ, p × p (A_ij = Σ n x̄_ki M_kj)
    pair_counts: np.ndarray  # Σ_k n_k M_k M_kᵀ
    buckets: tuple[_Bucket, ...]

    def dd_sum(self, mu: np.ndarray) -> np.ndarray:
        """Σ_k n_k d_k d_kᵀ with d_k = x̄_k − μ on each pattern's answered items."""
        a = self.mean_mask * mu[None, :]
        return self.mean_outer - a - a.T + self.pair_counts * np.outer(mu, mu)

    def d_sum(self, mu: np.ndarray) -> np.ndarray:
        """Σ_k n_k d_k."""
        return self.sum_masked - np.diag(self.pair_counts) * mu


def _precision(sigma: np.ndarray) -> tuple[np.ndarray, float] | None:
    try:
        cf = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return None
    inv_cf = np.linalg.inv(cf)
    omega = inv_cf.T @ inv_cf
    return (omega + omega.T) / 2, 2 * float(np.log(np.diag(cf)).sum())


def _loglik(t: _Totals, sigma: np.ndarray, mu: np.ndarray, *, grad: bool):
    """Σ_k n_k [p_k log 2π + log|Σ_oo| + tr(Σ_oo⁻¹ (S_k + d_k d_kᵀ))] with, when ``grad``, W and v
    such that its differential is tr(W dΣ) − 2 vᵀ dμ.

    With K_k = Σ_oo⁻¹ embedded in p × p (zero on the missing items) = Ω − U_k V_k U_kᵀ,
    U_k = Ω[:, m_k], V_k = Ω_mm⁻¹: log|Σ_oo| = log|Σ| + log|Ω_mm| and
    y_iᵀK y_i = y_iᵀΩ y_i − z_iᵀ V z_i. The gradient W = Σ n_k K_k − Σ_i K y_i y_iᵀ K and
    v = Σ_i K y_i expand, with w_i = U V z_i = Ω E_m r_i, into
    W = NΩ − ΩTΩ − ΩCΩ − Σ w wᵀ + ΩQ + QᵀΩ (T = Σ y yᵀ, C = Σ n_k E V_k Eᵀ, Q = Σ y wᵀ) and
    v = Ω Σ y − Σ w: a few respondents × items × items products.
    """
    prec = _precision(sigma)
    if prec is None:
        return math.inf, None, None
    omega, logdet = prec
    p = len(sigma)
    T_total = t.scatter_total + t.dd_sum(mu)
    value = t.n_answered * _LOG2PI + t.n * logdet + float(np.sum(omega * T_total))
    C = np.zeros((p, p))
    Q = np.zeros((p, p))
    WW = np.zeros((p, p))
    w_sum = np.zeros(p)
    for b in t.buckets:
        pc = _pieces(b, omega, mu)
        if pc is None:
            return math.inf, None, None
        value += float(b.n @ pc.logdet_mm) - float(np.sum(b.weight[:, None] * pc.z * pc.r))
        if grad:
            w = _spread(b, pc.r) @ omega
            ww = b.weight[:, None] * w
            Q += pc.Y.T @ ww
            WW += w.T @ ww
            w_sum += ww.sum(axis=0)
            C += _block_sum(b, pc.V, p)
    if not grad:
        return value, None, None
    OQ = omega @ Q
    W = t.n * omega - omega @ (T_total + C) @ omega - WW + OQ + OQ.T
    v = omega @ t.d_sum(mu) - w_sum
    return value, (W + W.T) / 2, v


def _hessian_data(t: _Totals, sigma: np.ndarray, mu: np.ndarray, dS: np.ndarray, dM: np.ndarray):
    """Σ_i ∂²ℓ_i/∂θ_a∂θ_b without the model-curvature term, for ℓ_i = log|Σ_oo| + y_iᵀK_i y_i:

        −Σ_k n_k tr(K D_a K D_b) + 2 Σ_k n_k m_aᵀK m_b + 2 Σ_i κ_iᵀD_a K D_b κ_i
        + 2 Σ_i (m_bᵀK D_a κ_i + m_aᵀK D_b κ_i),

    with D_a = ∂Σ/∂θ_a, m_a = ∂μ/∂θ_a, κ_i = K_i y_i. Each K_k = Ω − U V Uᵀ splits every sum into
    a complete-data part on Ω (a few q × p³ products) and a part on the missing blocks: per
    respondent the m-vectors (Ω D_a κ_i)[m_i], per pattern the m × m blocks (Ω D_a Ω)[m, m].
    """
    prec = _precision(sigma)
    if prec is None:
        raise np.linalg.LinAlgError("the implied covariance matrix is not positive definite")
    omega, _ = prec
    q, p = len(dS), len(sigma)
    n = t.n
    T_total = t.scatter_total + t.dd_sum(mu)
    OD = omega[None] @ dS  # Ω D_a
    ODO = OD @ omega  # Ω D_a Ω
    C = np.zeros((p, p))
    Q = np.zeros((p, p))
    WW = np.zeros((p, p))
    w_sum = np.zeros(p)
    A_miss = np.zeros((q, q))  # Σ_k n_k tr(V F_a V F_b)
    C_miss = np.zeros((q, q))  # Σ_i g_aᵀ V g_b
    X = np.zeros((q, q))  # X[b, a] = Σ_i (Ω m_b)[m]ᵀ V g_a
    OM = omega @ dM.T  # p × q
    for b in t.buckets:
        pc = _pieces(b, omega, mu)
        if pc is None:
            raise np.linalg.LinAlgError("the implied covariance matrix is not positive definite")
        w = _spread(b, pc.r) @ omega
        ww = b.weight[:, None] * w
        Q += pc.Y.T @ ww
        WW += w.T @ ww
        w_sum += ww.sum(axis=0)
        C += _block_sum(b, pc.V, p)
        Lk = np.linalg.cholesky(pc.V)  # V = L Lᵀ per pattern
        m = b.missing.shape[1]
        # per pattern: Lᵀ (Ω D_a Ω)[m, m] L, weighted by √n_k; in slices of patterns, so that
        # the q × patterns × m × m arrays stay small whatever the number of patterns
        k_step = max(1, _HESSIAN_SLICE // max(1, q * m * m))
        for lo in range(0, len(b.n), k_step):
            ks = slice(lo, lo + k_step)
            miss = b.missing[ks]
            F = ODO[:, miss[:, :, None], miss[:, None, :]]  # q × k × m × m
            G2 = np.einsum("kji,akjl,klr->akir", Lk[ks], F, Lk[ks], optimize=True)
            G2 = (G2 * np.sqrt(b.n[ks])[None, :, None, None]).reshape(q, -1)
            A_miss += G2 @ G2.T
        # per respondent: g[i, r, a] = (Ω D_a κ_i)[m_i[r]] with κ_i = Ω y_i − w_i; in slices of
        # rows, so that the rows × m × q arrays stay small whatever the number of respondents
        kappa_all = pc.Y @ omega - w
        step = max(1, _HESSIAN_SLICE // max(1, m * q))
        for lo in range(0, len(kappa_all), step):
            sl = slice(lo, lo + step)
            kappa, row_missing = kappa_all[sl], b.row_missing[sl]
            g = np.empty((len(kappa), m, q))
            for j in range(p):
                rows, slots = np.nonzero(row_missing == j)
                if len(rows):
                    g[rows, slots] = kappa[rows] @ OD[:, j, :].T
            Lr = Lk[b.row_pattern[sl]]
            h = np.einsum("rji,rjq->riq", Lr, g).reshape(-1, q)
            hw = np.repeat(b.weight[sl], m)[:, None] * h
            C_miss += h.T @ hw
            P = OM[row_missing]  # rows × m × q: (Ω m_b)[m_i]
            hp = np.einsum("rji,rjq->riq", Lr, P).reshape(-1, q)
            X += hp.T @ hw
    OQ = omega @ Q
    B_all = omega @ T_total @ omega - OQ - OQ.T + WW  # Σ_i κ_i κ_iᵀ
    Ct = omega @ C @ omega  # Σ_k n_k U V Uᵀ
    v = omega @ t.d_sum(mu) - w_sum  # Σ_i κ_i
    flat = dS.reshape(q, -1)
    A = n * (OD.reshape(q, -1) @ OD.transpose(0, 2, 1).reshape(q, -1).T)  # N tr(ΩD_aΩD_b)
    A -= flat @ (Ct[None] @ dS @ omega[None] + OD @ Ct[None]).reshape(q, -1).T
    A += A_miss
    Bmu = dM @ (n * omega - Ct) @ dM.T
    Cc = flat @ (OD @ B_all[None]).transpose(0, 2, 1).reshape(q, -1).T - C_miss
    Dd = (OD @ v).T.T @ dM.T  # [a, b] = m_bᵀ Ω D_a v
    Dd = Dd - X.T
    H = -A + 2 * Bmu + 2 * Cc + 2 * (Dd + Dd.T)
    W = n * omega - omega @ (T_total + C) @ omega - WW + OQ + OQ.T
    return (H + H.T) / 2, (W + W.T) / 2, v


def _em_step(t: _Totals, sigma: np.ndarray, mu: np.ndarray):
    """One EM step for the saturated model: the expected sufficient statistics under (Σ, μ).

    For a respondent, the missing items' conditional mean is μ_m + B y with y = x_o − μ_o and
    B = Σ_mo Σ_oo⁻¹ = −V Ω_mo, so B y = −V z = −r, and their conditional covariance is
    V = Ω_mm⁻¹. With the completed deviations ŷ = y − E_m r:
    Σ ŷ = Σ y − Σ E_m r and Σ ŷŷᵀ + Σ n_k E V Eᵀ = T − RᵀY − YᵀR + RᵀR + C."""
    prec = _precision(sigma)
    if prec is None:
        raise np.linalg.LinAlgError("the EM covariance matrix is not positive definite")
    omega, _ = prec
    p = len(sigma)
    s1 = t.d_sum(mu)
    s2 = t.scatter_total + t.dd_sum(mu)
    for b in t.buckets:
        pc = _pieces(b, omega, mu)
        if pc is None:
            raise np.linalg.LinAlgError("the EM covariance matrix is not positive definite")
        R = _spread(b, pc.r)
        Rw = b.weight[:, None] * R
        RY = Rw.T @ pc.Y
        s2 += R.T @ Rw - RY - RY.T + _block_sum(b, pc.V, p)
        s1 -= Rw.sum(axis=0)
    n = t.n
    shift = s1 / n  # new μ − μ
    new_sigma = s2 / n - np.outer(shift, shift)
    return mu + shift, (new_sigma + new_sigma.T) / 2


def observed_information(
    derivatives: Callable[[np.ndarray, int], tuple],
    groups: Sequence[PatternMoments],
    theta: np.ndarray,
    *,
    step: float = 1e-6,
) -> np.ndarray:
    """The observed information (Hessian) of F = Σ_g (n_g/N)·(−2 logl_g/n_g) at θ.

    Parameters
    ----------
    derivatives : callable
        ``derivatives(theta, g)`` → (Σ, μ, ∂Σ/∂θ, ∂μ/∂θ) of group g.
    groups : sequence of PatternMoments
    theta : numpy.ndarray
    step : float, default 1e-6
        Relative step of the forward differences for the model's curvature term.

    Notes
    -----
    The data part is analytic (:meth:`PatternMoments.hessian_terms`); the curvature of the model,
    ∂²(tr(WΣ(θ)) − 2vᵀμ(θ))/∂θ∂θ with W, v fixed, is the Jacobian of ∂Σ/∂θ·W − 2∂μ/∂θ·v by
    forward differences (no data involved). lavaan's default with ``missing = "ml"`` is this
    observed information (``information = "observed"``, ``observed.information = "hessian"``),
    which lavaan takes by numerical differences of its analytic gradient.
    """
    N = sum(st.n for st in groups)
    q = len(theta)
    H = np.zeros((q, q))
    for g, st in enumerate(groups):
        sigma, mu, dS, dM = derivatives(theta, g)
        Hd, W, v = st.hessian_terms(sigma, mu, dS, dM)
        base = dS.reshape(q, -1) @ W.ravel() - 2 * dM @ v
        curv = np.empty((q, q))
        for k in range(q):
            h = step * max(1.0, abs(theta[k]))
            up = theta.copy()
            up[k] += h
            _, _, dS_k, dM_k = derivatives(up, g)
            curv[:, k] = (dS_k.reshape(q, -1) @ W.ravel() - 2 * dM_k @ v - base) / h
        H += st.n / N * (Hd + (curv + curv.T) / 2)
    return H


def _unique_rows(answered: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct rows of a boolean matrix and each row's index among them, by sorting the rows
    packed into 64-bit words (much faster than ``np.unique(axis=0)`` on the booleans)."""
    n, p = answered.shape
    packed = np.packbits(answered, axis=1, bitorder="little")
    width = -(-packed.shape[1] // 8) * 8
    words = np.zeros((n, width), dtype=np.uint8)
    words[:, : packed.shape[1]] = packed
    keys64 = words.view(np.uint64)
    if keys64.shape[1] == 1:
        _, first, inverse = np.unique(keys64[:, 0], return_index=True, return_inverse=True)
    else:
        _, first, inverse = np.unique(keys64, axis=0, return_index=True, return_inverse=True)
    return answered[first], inverse.ravel()


def pattern_moments(
    x: np.ndarray,
    label: object = None,
    *,
    tol: float = 1e-10,
    max_iter: int = 10_000,
    weights: np.ndarray | None = None,
) -> PatternMoments:
    """Reduce incomplete data to its missing-data patterns and fit the saturated model by EM.

    Parameters
    ----------
    x : numpy.ndarray
        Respondents × items, NaN = missing; every row must have at least one answer.
    label : object, default None
        Group label for messages.
    tol : float, default 1e-10
        EM stops when no mean or covariance changes by more than ``tol`` (lavaan stops at 1e-5;
        the tighter rule puts the saturated likelihood at its maximum to machine precision).
    max_iter : int, default 10000
    weights : numpy.ndarray, optional
        A non-negative weight per row (default 1). Rows with weights stand for respondents whose
        answers have the same count, sums and cross-products per missing-data pattern, which is
        all the likelihood uses: :mod:`analysis.moments` replaces a large pattern's respondents by
        a few weighted rows so that memory does not grow with respondents. The weights of a
        pattern must add up to its number of respondents.

    Returns
    -------
    PatternMoments

    Notes
    -----
    EM for the multivariate normal with missing data (Dempster, Laird & Rubin 1977; Little &
    Rubin 2002, ch. 11), started as lavaan's ``lav_mvnorm_missing_h1_estimate_moments`` at the
    available-case means and variances.

    References
    ----------
    Dempster, A. P., Laird, N. M., & Rubin, D. B. (1977). Maximum likelihood from incomplete data
    via the EM algorithm. *JRSS B, 39*, 1-38.
    Little, R. J. A., & Rubin, D. B. (2002). *Statistical analysis with missing data* (2nd ed.).
    Wiley.
    """
    where = "" if label is None else f" in group {label!r}"
    x = np.asarray(x, dtype=float)
    rows_n, p = x.shape
    w = np.ones(rows_n) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (rows_n,) or (w < 0).any():
        raise ValueError(f"weights: expected {rows_n} non-negative numbers, one per row")
    n = rows_n if weights is None else int(round(float(w.sum())))
    answered = ~np.isnan(x)
    if not answered.any(axis=1).all():
        raise ValueError(f"data: rows without any answer must be dropped first{where}")
    empty = ~answered.any(axis=0)
    if empty.any():
        raise ValueError(f"data: {int(empty.sum())} item column(s) have no answers{where}")
    keys, inverse = _unique_rows(answered)
    counts = np.bincount(inverse, weights=w, minlength=len(keys))
    z = np.where(answered, x, 0.0)
    sums = np.zeros((len(keys), p))
    np.add.at(sums, inverse, w[:, None] * z)
    means = sums / counts[:, None]
    M = keys.astype(float)
    n_missing = p - keys.sum(axis=1)
    row_missing_count = n_missing[inverse]
    buckets = []
    for m in np.unique(n_missing):
        if m == 0:
            continue
        sel = np.flatnonzero(n_missing == m)
        missing = np.array([np.flatnonzero(~keys[k]) for k in sel], dtype=int).reshape(len(sel), m)
        local = np.full(len(keys), -1)
        local[sel] = np.arange(len(sel))
        rows = np.flatnonzero(row_missing_count == m)
        row_pattern = local[inverse[rows]]
        buckets.append(
            _Bucket(
                missing=missing,
                n=counts[sel],
                rows=z[rows],
                mask=answered[rows].astype(float),
                row_missing=missing[row_pattern],
                row_pattern=row_pattern,
                weight=w[rows],
            )
        )
    cm = counts[:, None] * means
    mean_outer = cm.T @ means
    t = _Totals(
        n=n,
        n_answered=float((w @ answered).sum()),
        scatter_total=z.T @ (w[:, None] * z) - mean_outer,
        sum_masked=cm.sum(axis=0),
        mean_outer=mean_outer,
        mean_mask=cm.T @ M,
        pair_counts=(counts[:, None] * M).T @ M,
        buckets=tuple(buckets),
    )
    # available-case moments: EM start (as lavaan) and the independence model
    n_item = w @ answered
    mean0 = (w[:, None] * z).sum(axis=0) / n_item
    var0 = (w[:, None] * np.where(answered, x - mean0, 0.0) ** 2).sum(axis=0) / n_item
    if (var0 <= 0).any():
        raise ValueError(f"data: an item has no variance{where}")
    baseline = float(np.sum(n_item * (_LOG2PI + np.log(var0) + 1))) / n
    mu, sigma = mean0, np.diag(var0)
    it, change = 0, math.inf
    with single_threaded_blas():  # many small products: BLAS threads lose (analysis._compat)
        while it < max_iter:
            it += 1
            new_mu, new_sigma = _em_step(t, sigma, mu)
            change = max(np.max(np.abs(new_mu - mu)), np.max(np.abs(new_sigma - sigma)))
            mu, sigma = new_mu, new_sigma
            if change < tol:
                break
    if change >= tol:
        warnings.warn(
            f"the EM estimate of the saturated model{where} did not converge in {max_iter} "
            "iterations; χ² and fit indices are approximate",
            ConvergenceWarning,
            stacklevel=2,
        )
    sign, logdet = np.linalg.slogdet(sigma)
    if sign <= 0:
        raise ValueError(f"data: the (EM) covariance matrix of the items{where} is singular")
    h1, _, _ = _loglik(t, sigma, mu, grad=False)
    return PatternMoments(
        label, n, len(keys), sigma, mu, float(logdet), h1 / n, baseline, it, t.pair_counts, t
    )


#: The last few results of :func:`cached_pattern_moments`, keyed by a digest of the data.
_CACHE: OrderedDict[tuple, PatternMoments] = OrderedDict()
_CACHE_SIZE = 2


def cached_pattern_moments(
    x: np.ndarray, label: object = None, *, tol: float = 1e-10, max_iter: int = 10_000
) -> PatternMoments:
    """:func:`pattern_moments`, reusing the result of a recent call on identical data.

    A validation fits several models (the hypothesised CFAs, the bifactor and acquiescence models)
    to the same items and respondents; the saturated model's EM, the costliest part of a
    full-information fit, then runs once instead of once per model. The key is a BLAKE2 digest of
    the array's bytes with its shape, the label and the settings, so a hit is the same
    computation; only converged results are kept (a non-converged EM warns on every call), and
    only the last two.
    """
    arr = np.ascontiguousarray(x, dtype=float)
    digest = hashlib.blake2b(arr.tobytes(), digest_size=20).hexdigest()
    try:
        key: tuple | None = (digest, arr.shape, label, tol, max_iter)
        hash(key)
    except TypeError:  # an unhashable label: no caching
        key = None
    if key is not None and key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    result = pattern_moments(arr, label, tol=tol, max_iter=max_iter)
    if key is not None and result.em_iterations < max_iter:
        _CACHE[key] = result
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return result
