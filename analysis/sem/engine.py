"""The SEM engine shared by CFA, ordinal CFA, multi-group CFA and validity.

A lavaan-like parameter table and :class:`Structure` (model-implied moments and their derivatives),
the normal-theory ML and FIML discrepancy terms per group, the fitting loop, and lavaan's fit
measures. Public to the package: :mod:`analysis.sem.cfa`, :mod:`analysis.sem.wlsmv`,
:mod:`analysis.sem.invariance` and :mod:`analysis.sem.validity` build on it.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, special  # not scipy.stats: ~1 s to import

from analysis._compat import single_threaded_blas
from analysis.errors import ConvergenceWarning, HeywoodCaseWarning
from analysis.sem.fiml import (
    PatternMoments,
    cached_pattern_moments,
    expected_information,
    observed_information,
)
from analysis.sem.syntax import MeasurementModel

__all__ = [
    "LAMBDA",
    "BETA",
    "PSI",
    "THETA",
    "NU",
    "ALPHA",
    "ParameterTable",
    "Structure",
    "GroupStats",
    "group_stats",
    "MissingStats",
    "missing_stats",
    "trace_products",
    "objective",
    "rmsea_interval",
    "prepare_data",
    "EngineFit",
    "fit_structure",
]


LAMBDA, BETA, PSI, THETA, NU, ALPHA = range(6)


_OPS = {LAMBDA: "=~", BETA: "=~", PSI: "~~", THETA: "~~", NU: "~1", ALPHA: "~1"}


@dataclass(frozen=True, slots=True)
class ParameterTable:
    """lavaan-like parameter table: one row per model parameter per group."""

    group: np.ndarray  # group index of the row
    mat: np.ndarray  # matrix code
    row: np.ndarray
    col: np.ndarray
    free: np.ndarray  # 0 = fixed, k = k-th free parameter (1-based); shared numbers = equality
    value: np.ndarray  # fixed value (or start)
    lhs: tuple[str, ...]
    op: tuple[str, ...]
    rhs: tuple[str, ...]

    @property
    def n_free(self) -> int:
        return int(self.free.max()) if self.free.size else 0


class Structure:
    """Matrices of a (multi-group) CFA in LISREL all-y notation.

    Σ = Λ A Ψ Aᵀ Λᵀ + Θ, μ = ν + Λ A α, with A = (I − Β)⁻¹.
    """

    def __init__(
        self,
        model: MeasurementModel,
        n_groups: int,
        *,
        meanstructure: bool,
        equal: Sequence[str] = (),
        free_latent_means: bool = False,
    ):
        self.model = model
        self.obs = model.observed
        self.lat = model.latent
        self.p, self.m = len(self.obs), len(self.lat)
        self.G = n_groups
        self.meanstructure = meanstructure
        oi = {n: i for i, n in enumerate(self.obs)}
        li = {n: i for i, n in enumerate(self.lat)}
        endogenous = {ind for _, inds in model.factors for ind in inds if ind in li}
        exo = [f for f in self.lat if f not in endogenous]
        rows: list[
            tuple
        ] = []  # (group, mat, r, c, key_for_equality_or_None, fixed_value, free?, lhs, op, rhs)
        for g in range(n_groups):

            def add(mat, r, c, free, value, lhs, op, rhs, shared):
                # called within this iteration only, so the loop variable g is current
                rows.append((g, mat, r, c, free, value, lhs, op, rhs, shared))  # noqa: B023

            fixed = {(f, i): v for f, i, v in model.fixed_loadings}
            for f, inds in model.factors:
                for k, ind in enumerate(inds):
                    mat = BETA if ind in li else LAMBDA
                    r = li[ind] if ind in li else oi[ind]
                    if (f, ind) in fixed:
                        add(mat, r, li[f], False, fixed[(f, ind)], f, "=~", ind, "loadings")
                        continue
                    add(mat, r, li[f], k > 0, 1.0 if k == 0 else 0.0, f, "=~", ind, "loadings")
            for a, b in model.residual_covariances:
                i, j = sorted((oi[a], oi[b]), reverse=True)
                add(THETA, i, j, True, 0.0, self.obs[j], "~~", self.obs[i], "residual.covariances")
            for i, n in enumerate(self.obs):
                add(THETA, i, i, True, 0.0, n, "~~", n, "residuals")
            for f in self.lat:
                add(PSI, li[f], li[f], True, 0.0, f, "~~", f, "lv.variances")
            for a_i, a in enumerate(exo):
                for b in exo[a_i + 1 :]:
                    free = a not in model.orthogonal and b not in model.orthogonal
                    add(PSI, li[b], li[a], free, 0.0, a, "~~", b, "lv.covariances")
            if meanstructure:
                for i, n in enumerate(self.obs):
                    add(NU, i, 0, True, 0.0, n, "~1", "", "intercepts")
                for f in self.lat:
                    free = free_latent_means and g > 0 and f not in endogenous
                    add(ALPHA, li[f], 0, free, 0.0, f, "~1", "", "means")
        # number the free parameters; equal classes share numbers across groups
        numbers = np.zeros(len(rows), dtype=int)
        counter = 0
        first_of: dict[tuple, int] = {}
        for k, (_g, mat, r, c, isfree, _value, _lhs, _op, _rhs, shared) in enumerate(rows):
            if not isfree:
                continue
            key = (mat, r, c)
            if shared in equal and key in first_of:
                numbers[k] = first_of[key]
                continue
            counter += 1
            numbers[k] = counter
            if shared in equal:
                first_of[key] = counter
        self.table = ParameterTable(
            group=np.array([r[0] for r in rows]),
            mat=np.array([r[1] for r in rows]),
            row=np.array([r[2] for r in rows]),
            col=np.array([r[3] for r in rows]),
            free=numbers,
            value=np.array([r[5] for r in rows], dtype=float),
            lhs=tuple(r[6] for r in rows),
            op=tuple(r[7] for r in rows),
            rhs=tuple(r[8] for r in rows),
        )
        self.n_free = counter
        self.endogenous = endogenous
        self.has_beta = bool(endogenous)

    # --- matrices ----------------------------------------------------------------------------
    def matrices(self, theta: np.ndarray, g: int) -> tuple[np.ndarray, ...]:
        t = self.table
        L = np.zeros((self.p, self.m))
        B = np.zeros((self.m, self.m))
        P = np.zeros((self.m, self.m))
        T = np.zeros((self.p, self.p))
        nu = np.zeros(self.p)
        al = np.zeros(self.m)
        sel = t.group == g
        vals = np.where(t.free > 0, theta[np.maximum(t.free, 1) - 1], t.value)
        for mat, arr in ((LAMBDA, L), (BETA, B), (PSI, P), (THETA, T)):
            s = sel & (t.mat == mat)
            arr[t.row[s], t.col[s]] = vals[s]
            if mat in (PSI, THETA):
                arr[t.col[s], t.row[s]] = vals[s]
        s = sel & (t.mat == NU)
        nu[t.row[s]] = vals[s]
        s = sel & (t.mat == ALPHA)
        al[t.row[s]] = vals[s]
        return L, B, P, T, nu, al

    def implied(self, theta: np.ndarray, g: int):
        L, B, P, T, nu, al = self.matrices(theta, g)
        A = np.linalg.inv(np.eye(self.m) - B) if self.has_beta else np.eye(self.m)
        LA = L @ A
        sigma = LA @ P @ LA.T + T
        mu = nu + LA @ al
        return sigma, mu, (L, B, P, T, nu, al, A, LA)

    def derivatives(self, theta: np.ndarray, g: int, extra: Sequence[tuple[int, int, int]] = ()):
        """∂Σ/∂θ (k, p, p) and ∂μ/∂θ (k, p) for the free parameters (and ``extra`` fixed positions).

        Positions shared by an equality constraint are summed into their free parameter.
        """
        sigma, mu, (L, B, P, T, nu, al, A, LA) = self.implied(theta, g)
        t = self.table
        sel = (t.group == g) & (t.free > 0)
        mats = np.concatenate([t.mat[sel], np.array([e[0] for e in extra], dtype=int)])
        rows_ = np.concatenate([t.row[sel], np.array([e[1] for e in extra], dtype=int)])
        cols = np.concatenate([t.col[sel], np.array([e[2] for e in extra], dtype=int)])
        target = np.concatenate([t.free[sel] - 1, self.n_free + np.arange(len(extra))]).astype(int)
        n_out = self.n_free + len(extra)
        p = self.p
        C = A @ P @ LA.T  # m × p : cov(η, x) rows
        Aal = A @ al
        n = len(mats)
        dS = np.zeros((n, p, p))
        dM = np.zeros((n, p))
        idx = np.arange(n)
        # Λ[i, j]: e_i c_jᵀ + c_j e_iᵀ ; μ: e_i (Aα)_j
        s = mats == LAMBDA
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            dS[k, i, :] += C[j]
            dS[k, :, i] += C[j]
            dM[k, i] += Aal[j]
        # Β[i, j]: g_i c_jᵀ + c_j g_iᵀ with g = ΛA[:, i]; μ: g_i (Aα)_j
        s = mats == BETA
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            outer = LA[:, i].T[:, :, None] * C[j][:, None, :]
            dS[k] += outer + outer.transpose(0, 2, 1)
            dM[k] += LA[:, i].T * Aal[j][:, None]
        # Ψ[i, j]
        s = mats == PSI
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            outer = LA[:, i].T[:, :, None] * LA[:, j].T[:, None, :]
            off = (i != j)[:, None, None]
            dS[k] += outer + np.where(off, outer.transpose(0, 2, 1), 0.0)
        # Θ[i, j]
        s = mats == THETA
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            dS[k, i, j] += 1.0
            dS[k[i != j], j[i != j], i[i != j]] += 1.0
        s = mats == NU
        if s.any():
            dM[idx[s], rows_[s]] += 1.0
        s = mats == ALPHA
        if s.any():
            dM[idx[s]] += LA[:, rows_[s]].T
        if n == n_out and np.array_equal(target, np.arange(n)):
            return sigma, mu, dS, dM
        agg = np.zeros((n_out, n))
        agg[target, idx] = 1.0
        return sigma, mu, (agg @ dS.reshape(n, -1)).reshape(n_out, p, p), agg @ dM

    def start(self, stats_: Sequence[GroupStats]) -> np.ndarray:
        """Starting values: per-factor first principal axis scaled to the marker (cf. lavaan's
        ``start = "simple"``/``"fabin3"``), residual variances half the observed ones."""
        theta = np.zeros(self.n_free)
        counts = np.zeros(self.n_free)
        t = self.table
        oi = {n: i for i, n in enumerate(self.obs)}
        li = {n: i for i, n in enumerate(self.lat)}
        for g, st in enumerate(stats_):
            S = st.cov
            lam = np.zeros((self.p, self.m))
            psi = np.zeros(self.m)
            for f in self.model.first_order:
                inds = [oi[i] for i in self.model.indicators(f)]
                sub = S[np.ix_(inds, inds)]
                if len(inds) >= 2:
                    w, vecs = np.linalg.eigh(sub)
                    load = vecs[:, -1] * math.sqrt(max(w[-1] - np.mean(w[:-1]), 1e-3 * w[-1]))
                else:
                    load = np.array([math.sqrt(sub[0, 0] / 2)])
                if abs(load[0]) < 1e-6:
                    load[0] = 1e-3
                lam[inds, li[f]] = load / load[0]
                psi[li[f]] = load[0] ** 2
                if f in self.model.orthogonal and len(self.model.orthogonal) > 1:
                    # bifactor: the facets share the items with the general factor; start them
                    # at half its variance so the general factor is not counted twice
                    psi[li[f]] /= 2
                fixed_f = {i for g_, i, _v in self.model.fixed_loadings if g_ == f}
                if fixed_f >= set(self.model.indicators(f)):
                    psi[li[f]] = 0.05 * float(np.mean(np.diag(S)))  # a method factor: small
            for k in np.flatnonzero((t.group == g) & (t.free > 0)):
                mat, r, c = t.mat[k], t.row[k], t.col[k]
                if mat == LAMBDA:
                    v = lam[r, c]
                elif mat == BETA:
                    v = 1.0
                elif mat == THETA:
                    v = S[r, r] / 2 if r == c else 0.0
                elif mat == PSI:
                    if r == c:
                        v = psi[r] if self.lat[r] in self.model.first_order else 0.05
                        if self.lat[r] in self.endogenous:
                            v = psi[r] / 2
                        if self.lat[r] in self.model.second_order:
                            kids = [li[x] for x in self.model.indicators(self.lat[r])]
                            v = max(np.mean(psi[kids]) / 2, 0.05)
                    else:
                        v = 0.0
                elif mat == NU:
                    v = st.mean[r]
                else:
                    v = 0.0
                theta[t.free[k] - 1] += v
                counts[t.free[k] - 1] += 1
        theta /= np.maximum(counts, 1)
        return theta


_LOG2PI = math.log(2 * math.pi)


def _normal_terms(
    S: np.ndarray,
    xbar: np.ndarray | None,
    sigma: np.ndarray,
    mu: np.ndarray,
    dS: np.ndarray | None,
    dM: np.ndarray | None,
    *,
    grad: bool,
    info: bool,
):
    """−2 log-likelihood per observation of moments (S, x̄) under N(μ, Σ), its gradient and the
    expected information (of the same scale) with respect to θ, given ∂Σ/∂θ and ∂μ/∂θ."""
    try:
        cf = np.linalg.cholesky(sigma)
    except np.linalg.LinAlgError:
        return math.inf, None, None
    p = len(sigma)
    logdet = 2 * np.log(np.diag(cf)).sum()
    inv = np.linalg.inv(sigma)
    d = xbar - mu if xbar is not None else np.zeros(p)
    value = p * _LOG2PI + logdet + float(np.sum(S * inv)) + float(d @ inv @ d)
    g = H = None
    if grad:
        assert dS is not None and dM is not None, "the gradient needs the derivatives"
        Wm = inv - inv @ (S + np.outer(d, d)) @ inv
        g = dS.reshape(len(dS), -1) @ Wm.ravel() - 2 * dM @ (inv @ d)
    if info:
        assert dS is not None and dM is not None, "the information needs the derivatives"
        H = trace_products(inv, dS) + 2 * dM @ inv @ dM.T
    return value, g, H


@dataclass(frozen=True, slots=True)
class GroupStats:
    """Complete-data moments of one group."""

    label: object
    n: int
    cov: np.ndarray  # ML covariance (divided by n)
    mean: np.ndarray
    logdet: float

    def terms(self, sigma, mu, dS, dM, *, meanstructure: bool, grad: bool, info: bool):
        return _normal_terms(
            self.cov, self.mean if meanstructure else None, sigma, mu, dS, dM, grad=grad, info=info
        )

    @property
    def h1(self) -> float:
        """−2 logl per observation of the saturated model."""
        return len(self.mean) * (_LOG2PI + 1) + self.logdet

    @property
    def baseline(self) -> float:
        """−2 logl per observation of the independence model (diagonal Σ, free means)."""
        return len(self.mean) * (_LOG2PI + 1) + float(np.log(np.diag(self.cov)).sum())


def group_stats(x: np.ndarray, label: object) -> GroupStats:
    n = x.shape[0]
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / n
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError(
            "data: the covariance matrix of the "
            f"items{'' if label is None else f' in group {label!r}'} "
            "is singular (an item is constant or a linear combination of others)"
        )
    return GroupStats(label, n, cov, mean, logdet)


# Incomplete data (missing = "ml"): the pattern-grouped likelihood and EM live in analysis.sem.fiml
MissingStats = PatternMoments
missing_stats = cached_pattern_moments  # models fitted to the same data share the EM
trace_products = expected_information


def objective(struct: Structure, stats_: Sequence, theta: np.ndarray, *, grad: bool, info: bool):
    """F = Σ_g (N_g/N)·(L_g(θ) − L_g,H1), L = −2 logl per observation (complete data:
    log|Σ| + tr(SΣ⁻¹) − log|S| − p + (x̄ − μ)ᵀΣ⁻¹(x̄ − μ); incomplete data: summed over missing-data
    patterns, H1 = the saturated model by EM). Returns (F, ∂F/∂θ, expected information of F)."""
    N = sum(s.n for s in stats_)
    F = 0.0
    g_ = np.zeros(struct.n_free)
    H = np.zeros((struct.n_free, struct.n_free))
    for g, st in enumerate(stats_):
        w = st.n / N
        if grad or info:
            sigma, mu, dS, dM = struct.derivatives(theta, g)
        else:
            sigma, mu, _ = struct.implied(theta, g)
            dS = dM = None
        value, gg, Hg = st.terms(
            sigma, mu, dS, dM, meanstructure=struct.meanstructure, grad=grad, info=info
        )
        if not math.isfinite(value):
            return (math.inf, None, None)
        F += w * (value - st.h1)
        if grad:
            g_ += w * gg
        if info:
            H += w * Hg
    return F, g_, H


def _fit_ml(
    struct: Structure,
    stats_: Sequence[GroupStats],
    *,
    max_iter: int = 300,
    tol: float = 1e-9,
    polish: bool = True,
):
    """Minimise F_ML by Fisher scoring (Gauss-Newton on the expected information) with
    Levenberg-Marquardt damping and step halving, from :meth:`Structure.start`."""
    theta = struct.start(stats_)
    # the start has uncorrelated factors and residual variances half the observed ones, so Σ is
    # positive definite
    if any(isinstance(s, MissingStats) for s in stats_):
        theta = _saturated_start(struct, stats_, theta)
    F, g, H = objective(struct, stats_, theta, grad=True, info=True)
    damping = 0.0
    converged = False
    for _ in range(max_iter):
        if np.max(np.abs(g)) < tol:
            converged = True
            break
        accepted = False
        for attempt in range(30):
            Hd = H + damping * np.diag(np.diag(H)) if damping > 0 else H
            try:
                step = np.linalg.solve(Hd, g)
            except np.linalg.LinAlgError:
                damping = max(damping * 10, 1e-4)
                continue
            a = 1.0
            for half in range(8):
                cand = theta - a * step
                # the first candidate is usually taken: its gradient and information come with
                # its value (the same numbers the next iteration would compute again)
                first = attempt == 0 and half == 0
                Fc, gc, Hc = objective(struct, stats_, cand, grad=first, info=first)
                if Fc <= F + 1e-15 * max(1.0, abs(F)):
                    accepted = True
                    break
                a /= 2
            if accepted:
                break
            if attempt == 0 and _at_rounding_floor(F, g, step):
                converged = True  # the scoring step can gain nothing F's rounding can show
                break
            damping = max(damping * 10, 1e-4)
        if converged:
            break
        if not accepted:
            break
        damping = damping / 10 if damping > 1e-8 else 0.0
        theta = cand
        F_old = F
        if first:
            F, g, H = Fc, gc, Hc
        else:
            F, g, H = objective(struct, stats_, theta, grad=True, info=True)
        if abs(F_old - F) < 1e-15 and np.max(np.abs(g)) < 1e-6:
            converged = True
            break
    if converged and polish:
        theta, F, g, H = _polish(struct, stats_, theta, F, g, H)
    return theta, F, g, H, converged


def _saturated_start(struct: Structure, stats_: Sequence, theta: np.ndarray) -> np.ndarray:
    """Start values for full-information ML: the model fitted by complete-data ML to the
    saturated model's EM moments (each group's ``cov`` and ``mean``). Those moments are what the
    incomplete data say about Σ and μ, so the fit lands next to the full-information estimates
    and the costly pattern-by-pattern scoring has fewer steps to take (on 20,000 × 36 with 2,362
    patterns: facets model 18 → 14 likelihood passes, bifactor 28 → 18). The full-information fit
    itself is unchanged: it stops by its own rules."""
    moments = [
        GroupStats(st.label, st.n, st.cov, st.mean, st.logdet)
        if isinstance(st, MissingStats)
        else st
        for st in stats_
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # only a start: its troubles are not the fit's
        try:
            start, F, _g, _H, _converged = _fit_ml(struct, moments, tol=1e-6, polish=False)
        except (np.linalg.LinAlgError, ValueError, FloatingPointError):
            return theta
    return start if np.isfinite(F) and np.all(np.isfinite(start)) else theta


#: A scoring step whose predicted gain ½gᵀH⁻¹g is below this share of max(1, |F|) cannot be told
#: from the rounding of F (the full-information F is a difference of sums over respondents).
_FLOOR_GAIN = 1e-13
#: ... and only with every gradient element below this (near the optimum).
_FLOOR_GRADIENT = 1e-4


def _at_rounding_floor(F: float, g: np.ndarray, step: np.ndarray) -> bool:
    """True when the undamped scoring step was refused and its predicted gain is below F's
    rounding: the estimates are at the minimum to the precision F is computed with, although the
    gradient, scaled by a large curvature (e.g. a variance near zero: 1e-6 there is a parameter
    error of ~1e-12), may still exceed the absolute tolerance."""
    gain = 0.5 * float(g @ step)
    return float(np.max(np.abs(g))) < _FLOOR_GRADIENT and 0 <= gain < _FLOOR_GAIN * max(1.0, abs(F))


def _polish(struct: Structure, stats_: Sequence[GroupStats], theta, F, g, H, *, steps: int = 20):
    """Scoring steps past convergence while they shrink the largest gradient (to ~1e-13), so that
    fits of one likelihood from inputs equal to rounding land on one point: in a badly fitting
    model F is flat enough that a gradient of 1e-9 leaves the estimates ~1e-7 from its minimum."""
    for _ in range(steps):
        size = np.max(np.abs(g))
        if size < 1e-13:
            break
        try:
            cand = theta - np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            break
        Fc, gc, Hc = objective(struct, stats_, cand, grad=True, info=True)
        if not (
            np.isfinite(Fc) and np.max(np.abs(gc)) < size and Fc <= F + 1e-13 * max(1.0, abs(F))
        ):
            break
        theta, F, g, H = cand, Fc, gc, Hc
    return theta, F, g, H


def rmsea_interval(
    chisq: float, df: float, n: int, *, n_groups: int = 1, level: float = 0.90
) -> tuple[float, float, float]:
    """RMSEA and its confidence interval from the noncentral χ² distribution.

    Parameters
    ----------
    chisq, df : float
        The model test statistic and its degrees of freedom.
    n : int
        Total sample size N (lavaan divides by N, not N − 1).
    n_groups : int, default 1
        Number of groups G; lavaan multiplies by √G.
    level : float, default 0.90
        Confidence level.

    Returns
    -------
    (rmsea, ci_low, ci_high) : tuple of float

    Notes
    -----
    RMSEA = √G · √(max(χ² − df, 0) / (df·N)). The bounds solve for the noncentrality λ with
    ``pchisq(χ², df, ncp = λ)`` = (1 + level)/2 (lower) and (1 − level)/2 (upper), then
    √G · √(λ/(df·N)) (Browne & Cudeck 1993), as lavaan's ``fitMeasures`` ``rmsea.ci.lower/upper``.

    References
    ----------
    Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
    J. S. Long (Eds.), *Testing structural equation models* (pp. 136-162). Sage.

    Examples
    --------
    >>> [round(v, 3) for v in rmsea_interval(85.3055, 24, 301)]  # lavaan HS model: .092 [.071, .114]
    [0.092, 0.071, 0.114]
    """
    if df <= 0:
        return (math.nan, math.nan, math.nan)
    scale = math.sqrt(n_groups)
    point = scale * math.sqrt(max(chisq - df, 0.0) / (df * n))

    def bound(prob: float) -> float:
        def f(lam):
            return (
                special.chndtr(chisq, df, lam) - prob
                if lam > 0
                else special.chdtr(df, chisq) - prob
            )

        if f(0.0) < 0:  # even λ = 0 puts χ² below the quantile
            return 0.0
        hi = max(chisq, 1.0)
        while f(hi) > 0:
            hi *= 2
        lam = optimize.brentq(f, 0.0, hi, xtol=1e-12, rtol=1e-14, maxiter=500)
        return scale * math.sqrt(lam / (df * n))

    return point, bound((1 + level) / 2), bound((1 - level) / 2)


def _srmr(struct: Structure, stats_: Sequence[GroupStats], theta: np.ndarray) -> float:
    """lavaan's ``srmr`` (Bentler): residuals scaled by the sample SDs, means included with a mean
    structure, groups weighted by N_g."""
    N = sum(s.n for s in stats_)
    total = 0.0
    for g, st in enumerate(stats_):
        sigma, mu, _ = struct.implied(theta, g)
        sd = np.sqrt(np.diag(st.cov))
        R = (st.cov - sigma) / np.outer(sd, sd)
        low = R[np.tril_indices(struct.p)]
        ss, e = float(low @ low), low.size
        if struct.meanstructure:
            rm = (st.mean - mu) / sd
            ss += float(rm @ rm)
            e += struct.p
        total += st.n / N * math.sqrt(ss / e)
    return total


def _fit_measures(struct, stats_, theta, F) -> pd.Series:
    N = sum(s.n for s in stats_)
    G = len(stats_)
    p = struct.p
    pstar = p * (p + 1) // 2 + (p if struct.meanstructure else 0)
    npar = struct.n_free
    df = G * pstar - npar
    chisq = N * F
    # independence model: diagonal Σ, free means, per group
    base = sum(st.n * (st.baseline - st.h1) for st in stats_)
    base_df = G * p * (p - 1) // 2
    cfi_den = max(base - base_df, chisq - df, 0.0)
    cfi = 1 - max(chisq - df, 0.0) / cfi_den if cfi_den > 0 else 1.0
    tli = ((base / base_df) - (chisq / df)) / ((base / base_df) - 1) if df > 0 else math.nan
    rmsea, lo, hi = rmsea_interval(chisq, df, N, n_groups=G)
    logl = 0.0
    unres = 0.0
    for g, st in enumerate(stats_):
        sigma, mu, _ = struct.implied(theta, g)
        value, _, _ = st.terms(
            sigma, mu, None, None, meanstructure=struct.meanstructure, grad=False, info=False
        )
        logl += -st.n / 2 * value
        unres += -st.n / 2 * st.h1
    return pd.Series(
        {
            "npar": npar,
            "fmin": F / 2,
            "chisq": chisq,
            "df": df,
            "pvalue": float(special.chdtrc(df, chisq)) if df > 0 else math.nan,
            "baseline_chisq": base,
            "baseline_df": base_df,
            "baseline_pvalue": float(special.chdtrc(base_df, base)),
            "cfi": cfi,
            "tli": tli,
            "logl": logl,
            "unrestricted_logl": unres,
            "aic": -2 * logl + 2 * npar,
            "bic": -2 * logl + math.log(N) * npar,
            "ntotal": N,
            "rmsea": rmsea,
            "rmsea_ci_lower": lo,
            "rmsea_ci_upper": hi,
            "rmsea_pvalue": float(1.0 - special.chndtr(chisq, df, 0.05**2 * df * N / G))
            if df > 0
            else math.nan,
            "srmr": _srmr(struct, stats_, theta),
        },
        name="value",
        dtype=float,
    )


def prepare_data(
    data: pd.DataFrame, cols: Sequence[str], missing: str, what: str = "data"
) -> np.ndarray:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{what}: expected a pandas DataFrame of item responses, got {type(data).__name__}"
        )
    absent = [c for c in cols if c not in data.columns]
    if absent:
        raise ValueError(
            f"{what}: the model's item(s) {', '.join(map(str, absent))} are not columns of the data"
        )
    sub = data.loc[:, list(cols)]
    bad = [c for c in cols if not pd.api.types.is_numeric_dtype(sub[c])]
    if bad:
        raise ValueError(f"{what}: item column(s) {', '.join(bad)} are not numeric")
    x = sub.to_numpy(dtype=float, na_value=np.nan)
    if missing == "listwise":
        return x[~np.isnan(x).any(axis=1)]
    if missing == "ml":
        x = x[~np.isnan(x).all(axis=1)]  # lavaan drops respondents without any answer
        empty = [c for c, e in zip(cols, np.isnan(x).all(axis=0), strict=True) if e]
        if empty:
            raise ValueError(f"{what}: item column(s) {', '.join(map(str, empty))} have no answers")
        return x
    raise ValueError(f"missing: {missing!r} is not supported; allowed: 'listwise', 'ml'")


#: Fit measures of a table comparing models, in column order (compare_models, invariance steps).
COMPARISON_MEASURES = (
    "npar",
    "chisq",
    "df",
    "pvalue",
    "cfi",
    "tli",
    "rmsea",
    "rmsea_ci_lower",
    "rmsea_ci_upper",
    "srmr",
    "aic",
    "bic",
)


@dataclass(frozen=True, slots=True)
class EngineFit:
    theta: np.ndarray
    converged: bool
    fit_measures: pd.Series
    estimates: pd.DataFrame


def fit_structure(struct: Structure, st: Sequence) -> EngineFit:
    with single_threaded_blas():  # many small products: BLAS threads lose (analysis._compat)
        theta, F, g, H, converged = _fit_ml(struct, st)
        if any(isinstance(s, MissingStats) for s in st):
            H = observed_information(struct.derivatives, st, theta)
    if not converged:
        warnings.warn(
            f"the ML estimation did not converge (largest gradient {np.max(np.abs(g)):.2g}); "
            "results are unreliable",
            ConvergenceWarning,
            stacklevel=3,
        )
    fm = _fit_measures(struct, st, theta, F)
    est = _estimates(struct, st, theta, H)
    return EngineFit(theta, converged, fm, est)


def _estimates(
    struct: Structure, st: Sequence[GroupStats], theta: np.ndarray, H: np.ndarray
) -> pd.DataFrame:
    N = sum(s.n for s in st)
    try:
        vcov = 2 * np.linalg.inv(H) / N
        se_free = np.sqrt(np.clip(np.diag(vcov), 0, None))
    except np.linalg.LinAlgError:
        se_free = np.full(struct.n_free, np.nan)
        warnings.warn(
            "the information matrix is singular: the model may not be identified; "
            "standard errors are not available",
            ConvergenceWarning,
            stacklevel=4,
        )
    t = struct.table
    est = np.where(t.free > 0, theta[np.maximum(t.free, 1) - 1], t.value)
    se = np.where(t.free > 0, se_free[np.maximum(t.free, 1) - 1], 0.0)
    std = np.zeros(len(est))
    heywood = []
    for g in range(struct.G):
        sigma, mu, (L, B, P, T, nu, al, A, LA) = struct.implied(theta, g)
        lat_sd = np.sqrt(np.clip(np.diag(A @ P @ A.T), 1e-300, None))
        ov_sd = np.sqrt(np.clip(np.diag(sigma), 1e-300, None))
        for k in np.flatnonzero(t.group == g):
            mat, r, c, v = t.mat[k], t.row[k], t.col[k], est[k]
            if mat == LAMBDA:
                std[k] = v * lat_sd[c] / ov_sd[r]
            elif mat == BETA:
                std[k] = v * lat_sd[c] / lat_sd[r]
            elif mat == PSI:
                std[k] = v / (lat_sd[r] * lat_sd[c])
            elif mat == THETA:
                # a residual covariance is standardized by the residual variances (a residual
                # correlation), as lavaan's standardizedSolution does
                scale = ov_sd[r] * ov_sd[c] if r == c else math.sqrt(abs(T[r, r] * T[c, c]))
                std[k] = v / scale if scale > 0 else math.nan
                if r == c and v < 0:
                    heywood.append(struct.obs[r])
            elif mat == NU:
                std[k] = v / ov_sd[r]
            else:
                std[k] = v / lat_sd[r]
    if heywood:
        warnings.warn(
            "negative residual variance (Heywood case) for item(s) "
            f"{', '.join(sorted(set(heywood)))}",
            HeywoodCaseWarning,
            stacklevel=4,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(t.free > 0, est / se, np.nan)
    p = np.where(t.free > 0, 2 * special.ndtr(-np.abs(z)), np.nan)
    return pd.DataFrame(
        {
            "group": t.group + 1,
            "lhs": t.lhs,
            "op": t.op,
            "rhs": t.rhs,
            "est": est,
            "se": se,
            "z": z,
            "pvalue": p,
            "std_all": std,
        }
    )
