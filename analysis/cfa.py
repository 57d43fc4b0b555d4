"""Confirmatory factor analysis by maximum likelihood, with lavaan's fit indices.

:class:`MeasurementModel` says which items measure which factor (from lavaan-like syntax or, via
:mod:`analysis.models`, from an instrument specification); :class:`CFA` estimates it by normal-theory
maximum likelihood and reports the fit measures, the parameter estimates with standard errors and
standardized values, and modification indices, numerically as lavaan 0.6 does with its defaults
(``cfa(model, data, estimator = "ML")``: marker-variable identification, ML covariance matrix,
expected information, listwise deletion), or with ``missing = "ml"`` by full-information ML.

The estimator is written here in numpy rather than wrapped from semopy, because semopy has no SRMR,
RMSEA interval, modification indices or equality constraints across groups, and its AIC/BIC are
not on lavaan's log-likelihood scale. The same engine fits one group or several groups with
parameters held equal (:mod:`analysis.invariance`).
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis._compat import single_threaded_blas
from analysis.fiml import (
    PatternMoments,
    expected_information,
    observed_information,
    pattern_moments,
)
from instrument.errors import ConvergenceWarning, HeywoodCaseWarning

__all__ = ["MeasurementModel", "CFA", "compare_models", "rmsea_interval"]


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
_NAME = re.compile(r"^[A-Za-z_.][A-Za-z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class MeasurementModel:
    """Which indicators measure which factor: the hypothesis a CFA tests.

    Parameters
    ----------
    factors : tuple of (str, tuple of str)
        Each factor with its indicators, in order. An indicator that is itself a factor makes a
        second-order factor (``theme =~ facet1 + facet2``). The first indicator of every factor is
        its marker (loading fixed to 1), as lavaan's default ``std.lv = FALSE``.
    residual_covariances : tuple of (str, str), default ()
        Pairs of items whose residuals covary (lavaan ``x7 ~~ x8``).
    keyed : tuple of (str, int), default ()
        Optional scoring key (+1/-1) of the items. It does not change the model: reverse-keyed items
        are modelled raw and simply get negative loadings. :mod:`analysis.validity` uses it to
        orient loadings and correlations.
    name : str, default ""
        A label for tables (``"facets"``, ``"one_factor"``).

    Notes
    -----
    Latent variables that are not indicators of another factor (exogenous) covary freely; a factor
    that is an indicator of a second-order factor has a disturbance variance and no covariances,
    as lavaan's ``cfa()`` does (``auto.cov.lv.x = TRUE``). Observed variables are ordered by first
    appearance in the model, as lavaan's ``lavNames(fit, "ov")``.

    Examples
    --------
    >>> m = MeasurementModel.from_syntax("visual =~ x1 + x2 + x3\\ntextual =~ x4 + x5 + x6")
    >>> m.latent, m.observed[:4]
    (('visual', 'textual'), ('x1', 'x2', 'x3', 'x4'))
    >>> print(m.to_syntax())
    visual =~ x1 + x2 + x3
    textual =~ x4 + x5 + x6
    """

    factors: tuple[tuple[str, tuple[str, ...]], ...]
    residual_covariances: tuple[tuple[str, str], ...] = ()
    keyed: tuple[tuple[str, int], ...] = ()
    name: str = ""

    def __post_init__(self) -> None:
        if not self.factors:
            raise ValueError("factors: a measurement model needs at least one factor")
        names = [f for f, _ in self.factors]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"factors: factor(s) defined twice: {', '.join(dup)}")
        for factor, indicators in self.factors:
            for n in (factor, *indicators):
                if not isinstance(n, str) or not _NAME.match(n):
                    raise ValueError(f"factors: {n!r} is not a valid variable name")
            if len(indicators) == 0:
                raise ValueError(f"factors: factor {factor!r} has no indicators")
            if len(set(indicators)) != len(indicators):
                raise ValueError(f"factors: factor {factor!r} lists an indicator twice")
            if factor in indicators:
                raise ValueError(f"factors: factor {factor!r} cannot measure itself")
        parents: dict[str, list[str]] = {}
        for factor, indicators in self.factors:
            for ind in indicators:
                if ind in names:
                    parents.setdefault(ind, []).append(factor)
        multi = sorted(k for k, v in parents.items() if len(v) > 1)
        if multi:
            raise ValueError(
                f"factors: factor(s) {', '.join(multi)} load on more than one higher-order factor"
            )
        for factor, indicators in self.factors:
            kinds = {ind in names for ind in indicators}
            if len(kinds) > 1:
                raise ValueError(
                    f"factors: factor {factor!r} mixes items and factors as indicators; "
                    "allowed: only items, or only factors (a higher-order factor)"
                )
            if kinds == {True}:
                deeper = [ind for ind in indicators if set(dict(self.factors)[ind]) & set(names)]
                if deeper:
                    raise ValueError(
                        f"factors: factor {factor!r}: only first- and second-order factors are "
                        f"supported ({', '.join(deeper)} is itself second-order)"
                    )
        obs = set(self.observed)
        for a, b in self.residual_covariances:
            if a not in obs or b not in obs or a == b:
                raise ValueError(
                    f"residual_covariances: ({a!r}, {b!r}) must name two different items of the model"
                )

    # --- construction ------------------------------------------------------------------------
    @classmethod
    def from_syntax(cls, text: str, *, name: str = "") -> MeasurementModel:
        """Build a model from lavaan-like syntax.

        Supported: ``factor =~ a + b + c`` (a factor and its indicators; indicators that are factors
        make a second-order factor) and ``a ~~ b`` between two items (a residual covariance). Lines
        may be separated by newlines or ``;``; ``#`` starts a comment. Modifiers such as ``NA*x1``
        or fixed values are not supported and raise ``ValueError``.
        """
        if not isinstance(text, str):
            raise TypeError(
                f"text: expected lavaan-like model syntax as str, got {type(text).__name__}"
            )
        factors: dict[str, list[str]] = {}
        covs: list[tuple[str, str]] = []
        for lineno, raw in enumerate(text.splitlines(), 1):
            for stmt in raw.split("#", 1)[0].split(";"):
                stmt = stmt.strip()
                if not stmt:
                    continue
                if "=~" in stmt:
                    lhs, rhs = (s.strip() for s in stmt.split("=~", 1))
                    terms = [t.strip() for t in rhs.split("+")]
                    bad = [t for t in [lhs, *terms] if not _NAME.match(t)]
                    if bad:
                        raise ValueError(
                            f"model syntax line {lineno}: {bad[0]!r} is not a variable name "
                            "(modifiers such as NA*x1 or 0.5*x1 are not supported)"
                        )
                    factors.setdefault(lhs, []).extend(terms)
                elif "~~" in stmt:
                    lhs, rhs = (s.strip() for s in stmt.split("~~", 1))
                    if not (_NAME.match(lhs) and _NAME.match(rhs)):
                        raise ValueError(f"model syntax line {lineno}: cannot read {stmt!r}")
                    covs.append((lhs, rhs))
                else:
                    raise ValueError(
                        f"model syntax line {lineno}: cannot read {stmt!r}; allowed: "
                        "'factor =~ item1 + item2' and 'item1 ~~ item2'"
                    )
        if not factors:
            raise ValueError("model syntax: no 'factor =~ indicators' line found")
        latent = set(factors)
        residual = []
        for a, b in covs:
            if a in latent and b in latent:
                continue  # latent covariances are free by default, as in lavaan's cfa()
            residual.append((a, b))
        return cls(tuple((f, tuple(i)) for f, i in factors.items()), tuple(residual), name=name)

    def to_syntax(self) -> str:
        """The model in lavaan syntax (paste into R's ``cfa()`` to cross-check)."""
        lines = [f"{f} =~ {' + '.join(i)}" for f, i in self.factors]
        lines += [f"{a} ~~ {b}" for a, b in self.residual_covariances]
        return "\n".join(lines)

    # --- views -------------------------------------------------------------------------------
    @property
    def latent(self) -> tuple[str, ...]:
        """Factor names in definition order."""
        return tuple(f for f, _ in self.factors)

    @property
    def observed(self) -> tuple[str, ...]:
        """Item names in order of first appearance."""
        latent = set(self.latent)
        seen: dict[str, None] = {}
        for _, indicators in self.factors:
            for ind in indicators:
                if ind not in latent:
                    seen.setdefault(ind)
        for a, b in self.residual_covariances:
            seen.setdefault(a)
            seen.setdefault(b)
        return tuple(seen)

    @property
    def first_order(self) -> tuple[str, ...]:
        """Factors measured by items."""
        latent = set(self.latent)
        return tuple(f for f, ind in self.factors if not set(ind) & latent)

    @property
    def second_order(self) -> tuple[str, ...]:
        """Factors measured by other factors."""
        latent = set(self.latent)
        return tuple(f for f, ind in self.factors if set(ind) & latent)

    def indicators(self, factor: str) -> tuple[str, ...]:
        """The indicators of one factor."""
        return dict(self.factors)[factor]

    def items_of(self, factor: str) -> tuple[str, ...]:
        """The items under a factor (through its first-order factors for a second-order one)."""
        latent = set(self.latent)
        out: list[str] = []
        for ind in self.indicators(factor):
            out.extend(self.items_of(ind) if ind in latent else [ind])
        return tuple(out)

    @property
    def keys(self) -> dict[str, int]:
        """Scoring key of the items (+1 where none was given)."""
        k = dict(self.keyed)
        return {item: int(k.get(item, 1)) for item in self.observed}


# --------------------------------------------------------------------------------------------
# Parameter structure
# --------------------------------------------------------------------------------------------
# Parameter positions: matrix codes
_LAMBDA, _BETA, _PSI, _THETA, _NU, _ALPHA = range(6)
_OPS = {_LAMBDA: "=~", _BETA: "=~", _PSI: "~~", _THETA: "~~", _NU: "~1", _ALPHA: "~1"}


@dataclass(frozen=True, slots=True)
class _Table:
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


class _Structure:
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
                rows.append((g, mat, r, c, free, value, lhs, op, rhs, shared))

            for f, inds in model.factors:
                for k, ind in enumerate(inds):
                    mat = _BETA if ind in li else _LAMBDA
                    r = li[ind] if ind in li else oi[ind]
                    add(mat, r, li[f], k > 0, 1.0 if k == 0 else 0.0, f, "=~", ind, "loadings")
            for a, b in model.residual_covariances:
                i, j = sorted((oi[a], oi[b]), reverse=True)
                add(_THETA, i, j, True, 0.0, self.obs[j], "~~", self.obs[i], "residual.covariances")
            for i, n in enumerate(self.obs):
                add(_THETA, i, i, True, 0.0, n, "~~", n, "residuals")
            for f in self.lat:
                add(_PSI, li[f], li[f], True, 0.0, f, "~~", f, "lv.variances")
            for a_i, a in enumerate(exo):
                for b in exo[a_i + 1 :]:
                    add(_PSI, li[b], li[a], True, 0.0, a, "~~", b, "lv.covariances")
            if meanstructure:
                for i, n in enumerate(self.obs):
                    add(_NU, i, 0, True, 0.0, n, "~1", "", "intercepts")
                for f in self.lat:
                    free = free_latent_means and g > 0 and f not in endogenous
                    add(_ALPHA, li[f], 0, free, 0.0, f, "~1", "", "means")
        # number the free parameters; equal classes share numbers across groups
        free = np.zeros(len(rows), dtype=int)
        counter = 0
        first_of: dict[tuple, int] = {}
        for k, (g, mat, r, c, isfree, value, lhs, op, rhs, shared) in enumerate(rows):
            if not isfree:
                continue
            key = (mat, r, c)
            if shared in equal and key in first_of:
                free[k] = first_of[key]
                continue
            counter += 1
            free[k] = counter
            if shared in equal:
                first_of[key] = counter
        self.table = _Table(
            group=np.array([r[0] for r in rows]),
            mat=np.array([r[1] for r in rows]),
            row=np.array([r[2] for r in rows]),
            col=np.array([r[3] for r in rows]),
            free=free,
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
        for mat, arr in ((_LAMBDA, L), (_BETA, B), (_PSI, P), (_THETA, T)):
            s = sel & (t.mat == mat)
            arr[t.row[s], t.col[s]] = vals[s]
            if mat in (_PSI, _THETA):
                arr[t.col[s], t.row[s]] = vals[s]
        s = sel & (t.mat == _NU)
        nu[t.row[s]] = vals[s]
        s = sel & (t.mat == _ALPHA)
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
        p, m = self.p, self.m
        C = A @ P @ LA.T  # m × p : cov(η, x) rows
        Aal = A @ al
        n = len(mats)
        dS = np.zeros((n, p, p))
        dM = np.zeros((n, p))
        idx = np.arange(n)
        # Λ[i, j]: e_i c_jᵀ + c_j e_iᵀ ; μ: e_i (Aα)_j
        s = mats == _LAMBDA
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            dS[k, i, :] += C[j]
            dS[k, :, i] += C[j]
            dM[k, i] += Aal[j]
        # Β[i, j]: g_i c_jᵀ + c_j g_iᵀ with g = ΛA[:, i]; μ: g_i (Aα)_j
        s = mats == _BETA
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            outer = LA[:, i].T[:, :, None] * C[j][:, None, :]
            dS[k] += outer + outer.transpose(0, 2, 1)
            dM[k] += LA[:, i].T * Aal[j][:, None]
        # Ψ[i, j]
        s = mats == _PSI
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            outer = LA[:, i].T[:, :, None] * LA[:, j].T[:, None, :]
            off = (i != j)[:, None, None]
            dS[k] += outer + np.where(off, outer.transpose(0, 2, 1), 0.0)
        # Θ[i, j]
        s = mats == _THETA
        if s.any():
            k, i, j = idx[s], rows_[s], cols[s]
            dS[k, i, j] += 1.0
            dS[k[i != j], j[i != j], i[i != j]] += 1.0
        s = mats == _NU
        if s.any():
            dM[idx[s], rows_[s]] += 1.0
        s = mats == _ALPHA
        if s.any():
            dM[idx[s]] += LA[:, rows_[s]].T
        if n == n_out and np.array_equal(target, np.arange(n)):
            return sigma, mu, dS, dM
        agg = np.zeros((n_out, n))
        agg[target, idx] = 1.0
        return sigma, mu, (agg @ dS.reshape(n, -1)).reshape(n_out, p, p), agg @ dM

    def start(self, stats_: Sequence[_GroupStats]) -> np.ndarray:
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
                    w, v = np.linalg.eigh(sub)
                    load = v[:, -1] * math.sqrt(max(w[-1] - np.mean(w[:-1]), 1e-3 * w[-1]))
                else:
                    load = np.array([math.sqrt(sub[0, 0] / 2)])
                if abs(load[0]) < 1e-6:
                    load[0] = 1e-3
                lam[inds, li[f]] = load / load[0]
                psi[li[f]] = load[0] ** 2
            for k in np.flatnonzero((t.group == g) & (t.free > 0)):
                mat, r, c = t.mat[k], t.row[k], t.col[k]
                if mat == _LAMBDA:
                    v = lam[r, c]
                elif mat == _BETA:
                    v = 1.0
                elif mat == _THETA:
                    v = S[r, r] / 2 if r == c else 0.0
                elif mat == _PSI:
                    if r == c:
                        v = psi[r] if self.lat[r] in self.model.first_order else 0.05
                        if self.lat[r] in self.endogenous:
                            v = psi[r] / 2
                        if self.lat[r] in self.model.second_order:
                            kids = [li[x] for x in self.model.indicators(self.lat[r])]
                            v = max(np.mean(psi[kids]) / 2, 0.05)
                    else:
                        v = 0.0
                elif mat == _NU:
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
        Wm = inv - inv @ (S + np.outer(d, d)) @ inv
        g = dS.reshape(len(dS), -1) @ Wm.ravel() - 2 * dM @ (inv @ d)
    if info:
        H = _trace_products(inv, dS) + 2 * dM @ inv @ dM.T
    return value, g, H


@dataclass(frozen=True, slots=True)
class _GroupStats:
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


def _group_stats(x: np.ndarray, label: object) -> _GroupStats:
    n = x.shape[0]
    mean = x.mean(axis=0)
    xc = x - mean
    cov = xc.T @ xc / n
    sign, logdet = np.linalg.slogdet(cov)
    if sign <= 0:
        raise ValueError(
            f"data: the covariance matrix of the items{'' if label is None else f' in group {label!r}'} "
            "is singular (an item is constant or a linear combination of others)"
        )
    return _GroupStats(label, n, cov, mean, logdet)


# Incomplete data (missing = "ml"): the pattern-grouped likelihood and EM live in analysis.fiml
_MissingStats = PatternMoments
_missing_stats = pattern_moments


# --------------------------------------------------------------------------------------------
# ML estimation
# --------------------------------------------------------------------------------------------
_trace_products = expected_information


def _objective(struct: _Structure, stats_: Sequence, theta: np.ndarray, *, grad: bool, info: bool):
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
    struct: _Structure, stats_: Sequence[_GroupStats], *, max_iter: int = 300, tol: float = 1e-9
):
    """Minimise F_ML by Fisher scoring (Gauss-Newton on the expected information) with
    Levenberg-Marquardt damping and step halving, from :meth:`_Structure.start`."""
    theta = struct.start(stats_)
    # the start has uncorrelated factors and residual variances half the observed ones, so Σ is
    # positive definite
    F, g, H = _objective(struct, stats_, theta, grad=True, info=True)
    damping = 0.0
    converged = False
    for _ in range(max_iter):
        if np.max(np.abs(g)) < tol:
            converged = True
            break
        accepted = False
        for _attempt in range(30):
            Hd = H + damping * np.diag(np.diag(H)) if damping > 0 else H
            try:
                step = np.linalg.solve(Hd, g)
            except np.linalg.LinAlgError:
                damping = max(damping * 10, 1e-4)
                continue
            a = 1.0
            for _half in range(8):
                cand = theta - a * step
                Fc, _, _ = _objective(struct, stats_, cand, grad=False, info=False)
                if Fc <= F + 1e-15 * max(1.0, abs(F)):
                    accepted = True
                    break
                a /= 2
            if accepted:
                break
            damping = max(damping * 10, 1e-4)
        if not accepted:
            break
        damping = damping / 10 if damping > 1e-8 else 0.0
        theta = cand
        F_old = F
        F, g, H = _objective(struct, stats_, theta, grad=True, info=True)
        if abs(F_old - F) < 1e-15 and np.max(np.abs(g)) < 1e-6:
            converged = True
            break
    return theta, F, g, H, converged


# --------------------------------------------------------------------------------------------
# Fit measures
# --------------------------------------------------------------------------------------------
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
        f = lambda lam: (
            stats.ncx2.cdf(chisq, df, lam) - prob if lam > 0 else stats.chi2.cdf(chisq, df) - prob
        )
        if f(0.0) < 0:  # even λ = 0 puts χ² below the quantile
            return 0.0
        hi = max(chisq, 1.0)
        while f(hi) > 0:
            hi *= 2
        lam = optimize.brentq(f, 0.0, hi, xtol=1e-12, rtol=1e-14, maxiter=500)
        return scale * math.sqrt(lam / (df * n))

    return point, bound((1 + level) / 2), bound((1 - level) / 2)


def _srmr(struct: _Structure, stats_: Sequence[_GroupStats], theta: np.ndarray) -> float:
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
            "pvalue": float(stats.chi2.sf(chisq, df)) if df > 0 else math.nan,
            "baseline_chisq": base,
            "baseline_df": base_df,
            "baseline_pvalue": float(stats.chi2.sf(base, base_df)),
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
            "rmsea_pvalue": float(stats.ncx2.sf(chisq, df, 0.05**2 * df * N / G))
            if df > 0
            else math.nan,
            "srmr": _srmr(struct, stats_, theta),
        },
        name="value",
        dtype=float,
    )


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------
def _prepare(
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
        empty = [c for c, e in zip(cols, np.isnan(x).all(axis=0)) if e]
        if empty:
            raise ValueError(f"{what}: item column(s) {', '.join(map(str, empty))} have no answers")
        return x
    raise ValueError(f"missing: {missing!r} is not supported; allowed: 'listwise', 'ml'")


class CFA:
    """Confirmatory factor analysis by maximum likelihood (lavaan's ``cfa()`` defaults).

    Parameters
    ----------
    model : MeasurementModel or str
        The hypothesised model, or lavaan-like syntax for one.
    estimator : {"ML"}, default "ML"
        Normal-theory maximum likelihood on the ML (divide-by-N) covariance matrix. For ordinal
        items see :mod:`analysis.wlsmv`.
    missing : {"listwise", "ml"}, default "listwise"
        ``"listwise"`` drops rows with any missing model item (lavaan ``missing = "listwise"``).
        ``"ml"`` uses every answer by full-information ML under missing at random (lavaan
        ``missing = "ml"``): the model gets a mean structure, the χ² is against the saturated
        model estimated by EM, and standard errors come from the observed information (lavaan's
        default with ``missing = "ml"``). The likelihood is summed over missing-data patterns
        (:mod:`analysis.fiml`); it matches lavaan on bfi with its real missing answers
        (tests/test_fiml.py). Modification indices are not available with it.

    Attributes
    ----------
    fit_measures_ : pandas.Series
        lavaan's ``fitMeasures`` with snake_case names: ``npar, fmin, chisq, df, pvalue,
        baseline_chisq, baseline_df, baseline_pvalue, cfi, tli, logl, unrestricted_logl, aic, bic,
        ntotal, rmsea, rmsea_ci_lower, rmsea_ci_upper, rmsea_pvalue, srmr``.
    estimates_ : pandas.DataFrame
        lavaan's ``parameterEstimates(fit, standardized = TRUE)``: columns ``lhs, op, rhs, est, se,
        z, pvalue, std_all`` (fixed parameters have se 0 and NaN z/pvalue, as lavaan).
    converged_ : bool
    n_obs_ : int
        Respondents used: the complete rows under listwise deletion, every row with at least one
        answer under ``missing = "ml"``.
    implied_cov_ : pandas.DataFrame
        Model-implied covariance matrix Σ̂.
    sample_cov_ : pandas.DataFrame
        ML sample covariance matrix S (divided by N).

    Notes
    -----
    The discrepancy minimised is F_ML = log|Σ| + tr(SΣ⁻¹) − log|S| − p (Jöreskog 1969), with
    Σ = ΛΦΛᵀ + Θ (first-order) or Σ = ΛAΨAᵀΛᵀ + Θ, A = (I − Β)⁻¹ (second-order factors in Β).
    Identification: the first loading of every factor is fixed to 1. Then (Bollen 1989; lavaan
    ``lav_fit_measures.R``):

    - χ² = N·F_ML (lavaan ``chisq``; N, not N − 1, with ``likelihood = "normal"``), df = p(p+1)/2 − q;
    - CFI = 1 − max(χ² − df, 0)/max(χ²_B − df_B, χ² − df, 0) and TLI = (χ²_B/df_B − χ²/df)/(χ²_B/df_B − 1),
      with the independence model (diagonal Σ) as baseline B;
    - RMSEA = √(max(χ² − df, 0)/(df·N)), 90% interval from the noncentral χ² (:func:`rmsea_interval`);
    - SRMR = √(mean over i ≥ j of ((s_ij − σ̂_ij)/√(s_ii s_jj))²) (lavaan ``srmr``, Bentler's form;
      with a mean structure, e.g. ``missing = "ml"``, the standardized mean residuals (x̄_i − μ̂_i)/√s_ii
      are averaged in too, and S, x̄ are the EM estimates of the saturated model);
    - logl = −N/2 (p log 2π + log|Σ̂| + tr(SΣ̂⁻¹)), AIC = −2 logl + 2q, BIC = −2 logl + q log N with q
      free parameters (no means without a mean structure, as lavaan);
    - standard errors from the inverse expected information, (N·½ΔᵀVΔ)⁻¹ (lavaan
      ``information = "expected"``), and ``std_all`` as lavaan's ``standardizedSolution`` (latent and
      observed variances both from the model).

    The criteria conventionally read as good fit (CFI/TLI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08) are from
    Hu & Bentler (1999). Reverse-keyed items are modelled raw and get negative loadings.

    References
    ----------
    Bollen, K. A. (1989). *Structural equations with latent variables*. Wiley.
    Jöreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor analysis.
    *Psychometrika, 34*, 183-202.
    Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure analysis.
    *Structural Equation Modeling, 6*, 1-55.
    Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
    J. S. Long (Eds.), *Testing structural equation models*. Sage.

    Examples
    --------
    >>> rng = np.random.default_rng(1)  # synthetic data: two factors, three items each
    >>> f = rng.normal(size=(500, 2))
    >>> x = np.repeat(f, 3, axis=1) + rng.normal(size=(500, 6))
    >>> data = pd.DataFrame(x, columns=[f"i{k}" for k in range(1, 7)])
    >>> fit = CFA("a =~ i1 + i2 + i3\\nb =~ i4 + i5 + i6").fit(data)
    >>> int(fit.fit_measures_["df"]), bool(fit.fit_measures_["cfi"] > 0.95)
    (8, True)
    """

    def __init__(
        self, model: MeasurementModel | str, *, estimator: str = "ML", missing: str = "listwise"
    ):
        self.model = model
        self.estimator = estimator
        self.missing = missing

    def _model(self) -> MeasurementModel:
        if isinstance(self.model, str):
            return MeasurementModel.from_syntax(self.model)
        if not isinstance(self.model, MeasurementModel):
            raise TypeError(
                f"model: expected a MeasurementModel or lavaan-like syntax, got {type(self.model).__name__}"
            )
        return self.model

    def fit(self, data: pd.DataFrame, y=None) -> CFA:
        """Estimate the model on ``data`` (respondents × items; extra columns are ignored)."""
        if self.estimator != "ML":
            raise ValueError(
                f"estimator: {self.estimator!r} is not supported here; allowed: 'ML' "
                "(ordinal items: analysis.wlsmv)"
            )
        model = self._model()
        x = _prepare(data, model.observed, self.missing)
        if x.shape[0] <= len(model.observed):
            raise ValueError(
                f"data: {x.shape[0]} usable rows for {len(model.observed)} items; need more rows than items"
            )
        fiml = self.missing == "ml"
        st = [_missing_stats(x, None) if fiml else _group_stats(x, None)]
        struct = _Structure(model, 1, meanstructure=fiml)
        result = _fit_structure(struct, st)
        self._struct, self._stats = struct, st
        self.theta_, self.converged_ = result.theta, result.converged
        self.fit_measures_ = result.fit_measures
        self.estimates_ = result.estimates.drop(columns="group")
        self.n_obs_ = x.shape[0]
        sigma, _, _ = struct.implied(result.theta, 0)
        self.implied_cov_ = pd.DataFrame(sigma, index=model.observed, columns=model.observed)
        self.sample_cov_ = pd.DataFrame(st[0].cov, index=model.observed, columns=model.observed)
        self.model_ = model
        return self

    # --- reading the solution -----------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "fit_measures_"):
            raise RuntimeError("this CFA is not fitted yet: call fit(data) first")

    def standardized_loadings(self) -> pd.DataFrame:
        """Standardized loadings (``std_all``) as an indicators × factors table (0 where none)."""
        self._check_fitted()
        e = self.estimates_[self.estimates_["op"] == "=~"]
        tab = e.pivot(index="rhs", columns="lhs", values="std_all").fillna(0.0)
        order_r = [v for v in (*self.model_.observed, *self.model_.latent) if v in tab.index]
        order_c = [f for f in self.model_.latent if f in tab.columns]
        out = tab.loc[order_r, order_c]
        out.index.name, out.columns.name = "indicator", "factor"
        return out

    def factor_correlations(self) -> pd.DataFrame:
        """Model-implied correlations among all factors (std_all of cov(η) = AΨAᵀ)."""
        self._check_fitted()
        _, _, (L, B, P, T, nu, al, A, LA) = self._struct.implied(self.theta_, 0)
        V = A @ P @ A.T
        sd = np.sqrt(np.diag(V))
        R = V / np.outer(sd, sd)
        lat = self.model_.latent
        return pd.DataFrame(
            R, index=pd.Index(lat, name="factor"), columns=pd.Index(lat, name="factor")
        )

    def modification_indices(self, top: int | None = 10) -> pd.DataFrame:
        """Score tests for fixed-to-zero cross-loadings and residual covariances.

        Parameters
        ----------
        top : int or None, default 10
            Keep the ``top`` largest (None: all).

        Returns
        -------
        pandas.DataFrame
            Columns ``lhs, op, rhs, mi, epc``, sorted by ``mi`` (largest first).

        Notes
        -----
        For a fixed parameter c with gradient g_c of F_ML at the estimates and expected information
        H (of F, i.e. twice the per-observation information), MI = N·g_c² / (2·V_c) with
        V_c = H_cc − H_cf H_ff⁻¹ H_fc, and EPC = −g_c / V_c (lavaan ``modindices``: candidates are
        the cross-loadings of first-order factors and the residual covariances of items).
        """
        self._check_fitted()
        if self.missing != "listwise":
            raise NotImplementedError(
                "modification indices are implemented for missing='listwise' only"
            )
        struct, st = self._struct, self._stats
        oi = {n: i for i, n in enumerate(struct.obs)}
        li = {n: i for i, n in enumerate(struct.lat)}
        t = struct.table
        have = {(int(m), int(r), int(c)) for m, r, c in zip(t.mat, t.row, t.col)}
        cand: list[tuple[int, int, int]] = []
        labels: list[tuple[str, str, str]] = []
        for f in self.model_.first_order:
            for item in struct.obs:
                key = (_LAMBDA, oi[item], li[f])
                if key not in have:
                    cand.append(key)
                    labels.append((f, "=~", item))
        for i in range(struct.p):
            for j in range(i):
                key = (_THETA, i, j)
                if key not in have:
                    cand.append(key)
                    labels.append((struct.obs[j], "~~", struct.obs[i]))
        if not cand:
            return pd.DataFrame(columns=["lhs", "op", "rhs", "mi", "epc"])
        sigma, mu, dS, dM = struct.derivatives(self.theta_, 0, extra=cand)
        inv = np.linalg.inv(sigma)
        Wm = inv - inv @ st[0].cov @ inv
        grad = dS.reshape(len(dS), -1) @ Wm.ravel()
        H = _trace_products(inv, dS)
        q = struct.n_free
        Hff, Hcf, Hcc = H[:q, :q], H[q:, :q], H[q:, q:]
        V = np.diag(Hcc) - np.einsum("ij,ji->i", Hcf, np.linalg.solve(Hff, Hcf.T))
        gc = grad[q:]
        with np.errstate(divide="ignore", invalid="ignore"):
            mi = st[0].n * gc**2 / (2 * V)
            epc = -gc / V
        out = pd.DataFrame(labels, columns=["lhs", "op", "rhs"])
        out["mi"], out["epc"] = mi, epc
        out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
        return out if top is None else out.head(top)

    def summary(self) -> pd.DataFrame:
        """The parameter estimates (``estimates_``)."""
        self._check_fitted()
        return self.estimates_.copy()


@dataclass(frozen=True, slots=True)
class _Result:
    theta: np.ndarray
    converged: bool
    fit_measures: pd.Series
    estimates: pd.DataFrame


def _fit_structure(struct: _Structure, st: Sequence) -> _Result:
    with single_threaded_blas():  # many small products: BLAS threads lose (analysis._compat)
        theta, F, g, H, converged = _fit_ml(struct, st)
        if any(isinstance(s, _MissingStats) for s in st):
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
    return _Result(theta, converged, fm, est)


def _estimates(
    struct: _Structure, st: Sequence[_GroupStats], theta: np.ndarray, H: np.ndarray
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
            if mat == _LAMBDA:
                std[k] = v * lat_sd[c] / ov_sd[r]
            elif mat == _BETA:
                std[k] = v * lat_sd[c] / lat_sd[r]
            elif mat == _PSI:
                std[k] = v / (lat_sd[r] * lat_sd[c])
            elif mat == _THETA:
                std[k] = v / (ov_sd[r] * ov_sd[c])
                if r == c and v < 0:
                    heywood.append(struct.obs[r])
            elif mat == _NU:
                std[k] = v / ov_sd[r]
            else:
                std[k] = v / lat_sd[r]
    if heywood:
        warnings.warn(
            f"negative residual variance (Heywood case) for item(s) {', '.join(sorted(set(heywood)))}",
            HeywoodCaseWarning,
            stacklevel=4,
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(t.free > 0, est / se, np.nan)
    p = np.where(t.free > 0, 2 * stats.norm.sf(np.abs(z)), np.nan)
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


# --------------------------------------------------------------------------------------------
# Comparing models
# --------------------------------------------------------------------------------------------
def _nested(a: MeasurementModel, b: MeasurementModel) -> bool:
    """Crude nesting check for the models this module builds: same items, and a's implied structure
    obtainable from b's by constraints (a with fewer parameters whose factors are unions of b's)."""
    if set(a.observed) != set(b.observed):
        return False
    # a factor of `a` must be a union of first-order factors of `b` (one-factor ⊂ themes ⊂ facets),
    # or `a` is b with second-order structure (second-order ⊂ facets).
    b_sets = [set(b.items_of(f)) for f in b.first_order]
    for f in a.first_order:
        items = set(a.items_of(f))
        parts = [s for s in b_sets if s & items]
        if not all(s <= items for s in parts):
            return False
    return True


def compare_models(fits: Mapping[str, CFA]) -> pd.DataFrame:
    """Fit comparison table with χ² difference tests between nested models.

    Parameters
    ----------
    fits : mapping of str to fitted CFA
        Models on the same items and respondents.

    Returns
    -------
    pandas.DataFrame
        One row per model, sorted by df (most constrained first): ``model, n_obs, npar, chisq, df,
        pvalue,
        cfi, tli, rmsea, rmsea_ci_lower, rmsea_ci_upper, srmr, aic, bic, compared_with, delta_chisq,
        delta_df, delta_pvalue, nested``. Each model is compared with the next less constrained model
        in the table; the Δχ² test is only given when the pair is nested (``nested``), otherwise
        only AIC/BIC can compare them (the Δχ² columns are NaN).

    Notes
    -----
    Δχ² = χ²_restricted − χ²_general on df_restricted − df_general (lavaan ``lavTestLRT`` for ML).
    Nesting is recognised structurally: every factor of the restricted model must be a union of
    factors of the general one (one factor ⊂ themes ⊂ facets), or the restricted model is the
    general one with a second-order structure on its factors. Models fitted on different
    respondents cannot be compared and raise ``ValueError``.
    """
    if not fits:
        raise ValueError("fits: no models to compare")
    rows = []
    for name, fit in fits.items():
        if not isinstance(fit, CFA) or not hasattr(fit, "fit_measures_"):
            raise ValueError(f"fits[{name!r}]: expected a fitted CFA")
        rows.append((name, fit))
    ns = {fit.n_obs_ for _, fit in rows}
    if len(ns) > 1:
        raise ValueError(
            f"fits: the models were fitted on different numbers of respondents ({sorted(ns)})"
        )
    rows.sort(key=lambda r: -r[1].fit_measures_["df"])
    cols = [
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
    ]
    out = []
    for k, (name, fit) in enumerate(rows):
        rec = {"model": name, "n_obs": int(fit.n_obs_)}
        rec.update({c: float(fit.fit_measures_[c]) for c in cols})
        rec.update(
            compared_with=None,
            delta_chisq=math.nan,
            delta_df=math.nan,
            delta_pvalue=math.nan,
            nested=False,
        )
        if k + 1 < len(rows):
            gname, gfit = rows[k + 1]
            rec["compared_with"] = gname
            ddf = fit.fit_measures_["df"] - gfit.fit_measures_["df"]
            nested = ddf > 0 and _nested(fit.model_, gfit.model_)
            rec["nested"] = bool(nested)
            if nested:
                dchi = fit.fit_measures_["chisq"] - gfit.fit_measures_["chisq"]
                rec.update(
                    delta_chisq=dchi,
                    delta_df=ddf,
                    delta_pvalue=float(stats.chi2.sf(max(dchi, 0.0), ddf)),
                )
        out.append(rec)
    return pd.DataFrame(out)
