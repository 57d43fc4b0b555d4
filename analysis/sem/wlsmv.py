"""Ordinal CFA: diagonally weighted least squares on polychoric correlations (lavaan's WLSMV).

Likert answers are ordered categories, not interval numbers. :class:`OrdinalCFA` fits a
:class:`~analysis.sem.cfa.MeasurementModel` to the items' latent-response correlations the way
lavaan does with ``cfa(model, data, ordered = TRUE, estimator = "WLSMV")``:

1. thresholds from each item's marginal proportions, then each pair's polychoric correlation by
   maximum likelihood with the thresholds held fixed (two-step; no correction of empty cells);
2. the asymptotic covariance matrix Γ of thresholds and correlations from the casewise scores
   of both steps (Muthén 1984; lavaan's ``muthen1984``);
3. the model fitted by DWLS (weights 1/diag Γ), delta parameterization (latent-response variances
   1);
4. the mean-and-variance adjusted ("scaled and shifted") test statistic and the robust fit indices
   (Asparouhov & Muthén 2010).
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: ~1 s to import
from scipy.special import ndtr, ndtri

from analysis._results import Result
from analysis.errors import ConvergenceWarning, HeywoodCaseWarning
from analysis.factor.polychoric import bivariate_normal_cdf, bivariate_normal_pdf
from analysis.sem.cfa import CFA
from analysis.sem.engine import THETA, GroupStats, Structure, prepare_data, rmsea_interval
from analysis.sem.syntax import MeasurementModel

__all__ = ["OrdinalCFA", "OrdinalStatistics", "ordinal_statistics"]


# --------------------------------------------------------------------------------------------
# Step 1-2: thresholds, polychoric correlations and their asymptotic covariance
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, repr=False)
class OrdinalStatistics(Result):
    """Sample statistics of ordinal items for WLS estimation.

    Attributes
    ----------
    items : tuple of str
    categories : tuple of tuple of float
        Each item's observed answer codes, in order.
    thresholds : tuple of numpy.ndarray
        Each item's K − 1 thresholds τ = Φ⁻¹(cumulative proportion).
    correlations : pandas.DataFrame
        Polychoric correlation matrix.
    pairs : numpy.ndarray
        (pstar, 2) item indices (i > j) in lavaan's order (column-wise lower triangle).
    acov : numpy.ndarray
        Asymptotic covariance of (thresholds, correlations in ``pairs`` order), i.e. Γ/N.
    n_obs : int
        Respondents used (with ``missing="pairwise"``: those answering at least one item).
    pair_n : numpy.ndarray or None
        Respondents answering both items of each pair, in ``pairs`` order (``None``: all
        ``n_obs``, as with listwise deletion).
    missing : {"listwise", "pairwise"}
        The missing-data rule the statistics were computed with.
    """

    items: tuple[str, ...]
    categories: tuple[tuple[float, ...], ...]
    thresholds: tuple[np.ndarray, ...]
    correlations: pd.DataFrame
    pairs: np.ndarray
    acov: np.ndarray
    n_obs: int
    pair_n: np.ndarray | None = None
    missing: str = "listwise"

    @property
    def pair_n_range(self) -> tuple[int, int]:
        """Fewest and most respondents answering both items of a pair."""
        if self.pair_n is None or len(self.pair_n) == 0:
            return self.n_obs, self.n_obs
        return int(self.pair_n.min()), int(self.pair_n.max())

    @property
    def n_thresholds(self) -> int:
        return sum(len(t) for t in self.thresholds)

    def subset(self, items: list[str] | tuple[str, ...]) -> OrdinalStatistics:
        """The statistics of some of the items, in the order given (what :func:`ordinal_statistics`
        computes on those columns of the same rows).

        Thresholds and correlations are per item and per pair, so they are copied. The rows of
        ``B`` in ``acov = B⁻¹ M B⁻ᵀ`` of a subset's thresholds and correlations involve only that
        subset's parameters (each ρ-score depends on its own two items' thresholds), so the
        subset's acov is the corresponding block of the full one (equal up to rounding, about
        1e-15 relative).

        Examples
        --------
        >>> rng = np.random.default_rng(1)  # synthetic
        >>> codes = pd.DataFrame(rng.integers(1, 4, size=(200, 3)), columns=list("abc"))
        >>> st = ordinal_statistics(codes)
        >>> sub = st.subset(["c", "a"])
        >>> sub.items, bool(sub.correlations.loc["a", "c"] == st.correlations.loc["a", "c"])
        (('c', 'a'), True)
        """
        items = list(items)
        if tuple(items) == self.items:
            return self
        unknown = [str(i) for i in items if i not in self.items]
        if unknown:
            raise ValueError(f"items: {', '.join(unknown)} are not among the statistics' items")
        if len(set(items)) != len(items):
            raise ValueError("items: each item may be given once")
        where = [self.items.index(i) for i in items]
        sizes = [len(t) for t in self.thresholds]
        first = np.concatenate([[0], np.cumsum(sizes)])
        th_idx = [k for w in where for k in range(first[w], first[w + 1])]
        pos = {(int(a), int(b)): k for k, (a, b) in enumerate(self.pairs)}
        p = len(items)
        pairs = np.array([(i, j) for j in range(p) for i in range(j + 1, p)], dtype=int).reshape(
            -1, 2
        )
        nth = self.n_thresholds
        cor_idx = [nth + pos[(max(where[i], where[j]), min(where[i], where[j]))] for i, j in pairs]
        idx = np.array(th_idx + cor_idx, dtype=int)
        pair_n = (
            None
            if self.pair_n is None
            else self.pair_n[
                [pos[(max(where[i], where[j]), min(where[i], where[j]))] for i, j in pairs]
            ]
        )
        return OrdinalStatistics(
            items=tuple(items),
            categories=tuple(self.categories[w] for w in where),
            thresholds=tuple(self.thresholds[w] for w in where),
            correlations=self.correlations.loc[items, items].copy(),
            pairs=pairs,
            acov=self.acov[np.ix_(idx, idx)],
            n_obs=self.n_obs,
            pair_n=pair_n,
            missing=self.missing,
        )

    def summary(self) -> pd.DataFrame:
        """Thresholds and correlations with their standard errors: ``lhs, op, rhs, estimate, se``."""
        se = np.sqrt(np.diag(self.acov))
        rows = []
        k = 0
        for item, tau in zip(self.items, self.thresholds, strict=True):
            for t, v in enumerate(tau, 1):
                rows.append((item, "|", f"t{t}", float(v), float(se[k])))
                k += 1
        R = self.correlations.to_numpy()
        for i, j in self.pairs:
            rows.append((self.items[j], "~~", self.items[i], float(R[i, j]), float(se[k])))
            k += 1
        return pd.DataFrame(rows, columns=["lhs", "op", "rhs", "estimate", "se"])


def _phi(t: np.ndarray) -> np.ndarray:
    t = np.asarray(t, dtype=float)
    fin = np.isfinite(t)
    return np.where(fin, np.exp(-0.5 * np.where(fin, t, 0.0) ** 2) / math.sqrt(2 * math.pi), 0.0)


def _cells(ti: np.ndarray, tj: np.ndarray, r: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Cell probabilities P_kl and ∂P_kl/∂ρ of a pair (thresholds padded with ±inf), or of a
    stack of pairs (``ti``, ``tj`` of shape pairs × thresholds, ``r`` one ρ per pair)."""
    a, b = ti[..., :, None], tj[..., None, :]
    rr = np.asarray(r, dtype=float)[..., None, None]
    F = bivariate_normal_cdf(a, b, rr)
    P = F[..., 1:, 1:] - F[..., :-1, 1:] - F[..., 1:, :-1] + F[..., :-1, :-1]
    f = bivariate_normal_pdf(a, b, rr)
    dP = f[..., 1:, 1:] - f[..., :-1, 1:] - f[..., 1:, :-1] + f[..., :-1, :-1]
    return np.clip(P, 1e-300, None), dP


def _threshold_derivatives(
    t_own: np.ndarray, t_other: np.ndarray, r: float, own_axis: int
) -> np.ndarray:
    """∂P_kl/∂τ_a for every threshold a of one item of the pair: (K_own − 1, K_i, K_j).

    Uses ∂Φ₂(h, k; ρ)/∂h = φ(h)·Φ((k − ρh)/√(1 − ρ²)).
    """
    s = math.sqrt(1 - r * r)
    K_own, K_other = len(t_own) - 1, len(t_other) - 1
    out = np.zeros((K_own - 1, K_own, K_other))
    for a in range(K_own - 1):
        h = t_own[a + 1]
        G = ndtr((t_other - r * h) / s)
        strip = _phi(np.array(h)) * (G[1:] - G[:-1])
        out[a, a, :] += strip
        out[a, a + 1, :] -= strip
    return out if own_axis == 0 else out.transpose(0, 2, 1)


def _pair_tables(
    x: np.ndarray,
    obs: np.ndarray,
    codes: np.ndarray,
    K: list[int],
    pairs: np.ndarray,
    items: list[str],
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each pair's contingency table (padded to the most categories), its respondents answering
    both, and the start value of ρ (the Pearson correlation, clipped to ±0.95)."""
    k_max = max(K)
    tabs = np.zeros((len(pairs), k_max, k_max))
    pair_n = np.zeros(len(pairs), dtype=int)
    start = np.zeros(len(pairs))
    complete = bool(obs.all())
    for k, (i, j) in enumerate(pairs):
        rows = np.flatnonzero(obs[:, i] & obs[:, j]) if not complete else None
        both: slice | np.ndarray = slice(None) if rows is None else rows
        n_ij = len(x) if rows is None else len(rows)
        if n_ij == 0:
            raise ValueError(
                f"data: no respondent answered both {items[j]!r} and {items[i]!r}; their "
                "polychoric correlation cannot be estimated"
            )
        pair_n[k] = n_ij
        ci, cj = codes[both, i], codes[both, j]
        counts = np.bincount(ci * K[j] + cj, minlength=K[i] * K[j])
        tabs[k, : K[i], : K[j]] = counts.reshape(K[i], K[j])
        if (K[i], K[j]) == (2, 2) and (tabs[k, :2, :2] == 0).any():
            raise ValueError(
                f"data: items {items[j]!r} and {items[i]!r} have an empty cell in their 2 x 2 table"
            )
        with np.errstate(invalid="ignore", divide="ignore"):
            r0 = np.corrcoef(x[both, i], x[both, j])[0, 1] if n_ij > 1 else 0.0
        start[k] = float(np.clip(r0, -0.95, 0.95)) if np.isfinite(r0) else 0.0
    return tabs, pair_n, start


def _fisher_rho(
    tabs: np.ndarray,
    pair_n: np.ndarray,
    t_i: np.ndarray,
    t_j: np.ndarray,
    rho: np.ndarray,
    *,
    tol: float,
    max_iter: int = 100,
) -> tuple[np.ndarray, np.ndarray]:
    """Every pair's ρ by Fisher scoring with the thresholds fixed, all pairs at once: each pair
    steps ρ += score/information (clipped to ±0.9999) until its step is below ``tol``, then
    stays (the per-pair iteration, vectorised over the pairs still moving). Returns ρ and the
    pairs that had not converged after ``max_iter`` steps."""
    rho = rho.copy()
    active = np.arange(len(rho))
    for _ in range(max_iter):
        if not len(active):
            break
        r = rho[active]
        P, dP = _cells(t_i[active], t_j[active], r)
        score = np.sum(tabs[active] * dP / P, axis=(1, 2))
        info = pair_n[active] * np.sum(dP * dP / P, axis=(1, 2))
        new = np.clip(r + score / info, -0.9999, 0.9999)
        rho[active] = new
        active = active[np.abs(new - r) >= tol]
    return rho, active


def ordinal_statistics(
    data: pd.DataFrame,
    items: list[str] | None = None,
    *,
    tol: float = 1e-10,
    missing: str = "listwise",
) -> OrdinalStatistics:
    """Thresholds, polychoric correlations and their asymptotic covariance (lavaan's two-step).

    Parameters
    ----------
    data : pandas.DataFrame
        Ordinal answers (whole-number codes), one column per item; complete rows unless
        ``missing="pairwise"``.
    items : list of str, optional
        Columns to use (default: all).
    tol : float, default 1e-10
        Convergence tolerance of each pair's Fisher-scoring iteration for ρ.
    missing : {"listwise", "pairwise"}, default "listwise"
        ``"pairwise"`` (lavaan ``missing = "pairwise"``): rows without any answer are dropped;
        each item's thresholds come from its own answers, each polychoric correlation from the
        respondents answering both items, and a missing answer adds nothing to the estimating
        equations' scores (lavaan's NA, skipped in every cross-product).

    Returns
    -------
    OrdinalStatistics

    Notes
    -----
    Each item's categories are the codes it was observed with (lavaan's ordered factor levels).
    τ_ik = Φ⁻¹(P(x_i ≤ k)). ρ_ij maximises Σ n_kl log P_kl(ρ; τ_i, τ_j) with the thresholds fixed;
    unlike ``psych::polychoric``, no continuity correction is applied to empty cells (lavaan's
    default ``zero.add = c(0.5, 0)`` corrects 2 × 2 tables only, which ordinal items rarely give;
    a 2 × 2 table with an empty cell raises ``ValueError`` here). ``acov`` = B⁻¹ M B⁻ᵀ (so
    Γ = N·acov), with M the cross-product over respondents of the casewise scores of all threshold
    and correlation estimating equations and B block lower-triangular: per-item blocks of M for the
    thresholds, the ρ-scores' squares on the diagonal, and Σ_n s_ρ s_τ (the bivariate-likelihood
    threshold scores) below (Muthén 1984;
    lavaan ``muthen1984``, whose conventions are followed exactly, including that a cell whose
    probability is below √ε contributes no ρ-score). With ``missing="pairwise"`` the same sums run
    over the answers present, and Γ = N·acov with N the respondents answering at least one item,
    which is what lavaan 0.6.14 builds (``lav_samplestats_from_data``: ``NACOV = WLS.W * nobs``).

    References
    ----------
    Muthén, B. (1984). A general structural equation model with dichotomous, ordered categorical,
    and continuous latent variable indicators. *Psychometrika, 49*, 115-132.
    Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation coefficient.
    *Psychometrika, 44*, 443-460.
    """
    items = list(data.columns) if items is None else list(items)
    if missing not in ("listwise", "pairwise"):
        raise ValueError(f"missing: {missing!r} is not supported; allowed: 'listwise', 'pairwise'")
    x = data.loc[:, items].to_numpy(dtype=float, na_value=np.nan)
    obs = ~np.isnan(x)
    if missing == "listwise" and not obs.all():
        raise ValueError(
            "data: ordinal_statistics needs complete rows (drop rows with missing answers first, "
            "or use missing='pairwise')"
        )
    x = x[obs.any(axis=1)]  # lavaan drops respondents without any answer
    obs = ~np.isnan(x)
    xf = np.where(obs, x, 0.0)
    if not np.all(xf == np.round(xf)):
        bad = [items[j] for j in range(x.shape[1]) if not np.all(xf[:, j] == np.round(xf[:, j]))]
        raise ValueError(
            f"data: item(s) {', '.join(bad)} hold non-integer codes; ordinal items need "
            "whole-number codes"
        )
    N, p = x.shape
    cats = [np.unique(x[obs[:, i], i]) for i in range(p)]
    few = [items[i] for i in range(p) if len(cats[i]) < 2]
    if few:
        raise ValueError(
            f"data: item(s) {', '.join(few)} have a single observed answer; no thresholds or "
            "correlations"
        )
    # category index per answer (0 where missing; ``obs`` says which are answers)
    codes = np.column_stack([np.searchsorted(cats[i], xf[:, i]) for i in range(p)])
    codes[~obs] = 0
    K = [len(c) for c in cats]
    # thresholds from each item's own answers (lavaan's univariate probit fits)
    taus = [
        ndtri(np.cumsum(np.bincount(codes[obs[:, i], i], minlength=K[i]))[:-1] / obs[:, i].sum())
        for i in range(p)
    ]
    padded = [np.concatenate([[-np.inf], t, [np.inf]]) for t in taus]
    pairs = np.array([(i, j) for j in range(p) for i in range(j + 1, p)], dtype=int).reshape(-1, 2)
    pst = len(pairs)
    start = np.concatenate([[0], np.cumsum([k - 1 for k in K])])
    nth = int(start[-1])
    # threshold scores: ∂ log P(x_i = k)/∂τ (zero for a missing answer: lavaan's NA, skipped)
    sc_th = np.zeros((N, nth))
    for i in range(p):
        rows = np.flatnonzero(obs[:, i])
        t, c = padded[i], codes[rows, i]
        Pk = ndtr(t[c + 1]) - ndtr(t[c])
        up, lo = c < K[i] - 1, c > 0
        sc_th[rows[up], start[i] + c[up]] += _phi(t[c[up] + 1]) / Pk[up]
        sc_th[rows[lo], start[i] + c[lo] - 1] -= _phi(t[c[lo]]) / Pk[lo]
    tabs, pair_n, rho = _pair_tables(x, obs, codes, K, pairs, items)
    # pad every item's thresholds to the most categories with +inf: the padded cells have
    # probability 0 and no count, so each pair's likelihood is unchanged
    k_max = max(K)
    grid = np.array([np.concatenate([t, np.full(k_max + 1 - len(t), np.inf)]) for t in padded])
    t_i, t_j = grid[pairs[:, 0]], grid[pairs[:, 1]]
    rho, stuck = _fisher_rho(tabs, pair_n, t_i, t_j, rho, tol=tol)
    for k in stuck:
        warnings.warn(
            f"polychoric correlation of {items[pairs[k, 1]]} and {items[pairs[k, 0]]} did not "
            "converge",
            ConvergenceWarning,
            stacklevel=2,
        )
    for k in np.flatnonzero(np.abs(rho) > 0.99):
        warnings.warn(
            f"polychoric correlation of {items[pairs[k, 1]]} and {items[pairs[k, 0]]} is "
            "(nearly) 1",
            UserWarning,
            stacklevel=2,
        )
    P_all, dP_all = _cells(t_i, t_j, rho)
    sc_cor = np.zeros((pst, N))  # a pair's scores in a row (written row by row), transposed below
    a21 = np.zeros((pst, nth))
    tiny = math.sqrt(np.finfo(float).eps)  # lavaan: a likelihood below √ε gives NA scores
    complete = bool(obs.all())
    for k, (i, j) in enumerate(pairs):
        both = slice(None) if complete else np.flatnonzero(obs[:, i] & obs[:, j])
        ci, cj = codes[both, i], codes[both, j]
        r = float(rho[k])
        P, dP = P_all[k, : K[i], : K[j]], dP_all[k, : K[i], : K[j]]
        tab = tabs[k, : K[i], : K[j]]
        ok = np.greater(P, tiny)
        s_r = np.where(ok, dP / P, 0.0)
        sc_cor[k, both] = s_r[ci, cj]
        d_i = np.where(ok, _threshold_derivatives(padded[i], padded[j], r, 0) / P, 0.0)
        d_j = np.where(ok, _threshold_derivatives(padded[j], padded[i], r, 1) / P, 0.0)
        a21[k, start[i] : start[i + 1]] = np.einsum("kl,akl->a", tab * s_r, d_i)
        a21[k, start[j] : start[j + 1]] = np.einsum("kl,akl->a", tab * s_r, d_j)
    sc = np.hstack([sc_th, sc_cor.T])
    inner = sc.T @ sc
    a11 = np.zeros((nth, nth))
    for i in range(p):
        blk = slice(start[i], start[i + 1])
        a11[blk, blk] = inner[blk, blk]
    a22 = np.diag((sc_cor**2).sum(axis=1))
    B = np.block([[a11, np.zeros((nth, pst))], [a21, a22]])
    Binv = np.linalg.inv(B)
    acov = Binv @ inner @ Binv.T
    R = np.eye(p)
    R[pairs[:, 0], pairs[:, 1]] = rho
    R[pairs[:, 1], pairs[:, 0]] = rho
    return OrdinalStatistics(
        items=tuple(items),
        categories=tuple(tuple(float(v) for v in c) for c in cats),
        thresholds=tuple(taus),
        correlations=pd.DataFrame(R, index=items, columns=items),
        pairs=pairs,
        acov=acov,
        n_obs=N,
        pair_n=pair_n if missing == "pairwise" else None,
        missing=missing,
    )


# --------------------------------------------------------------------------------------------
# Step 3-4: DWLS estimation and robust test
# --------------------------------------------------------------------------------------------
def _scaled_shifted(T: float, df: int, UG: np.ndarray) -> tuple[float, float, float]:
    """lavaan ``test = "scaled.shifted"``: T' = a·T + b, a = √(df/tr((UΓ)²)), b = df − a·tr(UΓ)."""
    tr1 = float(np.trace(UG))
    tr2 = float(np.sum(UG * UG.T))
    a = math.sqrt(df / tr2)
    b = df - a * tr1
    return a * T + b, a, b


ROBUST_FIT_MEASURES = (
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "rmsea_ci_lower_robust",
    "rmsea_ci_upper_robust",
)


def _robust_catml(
    R: np.ndarray,
    sigma: np.ndarray,
    pairs: np.ndarray,
    J: np.ndarray,
    w: np.ndarray,
    Hinv: np.ndarray,
    Grr: np.ndarray,
    N: int,
    df: int,
) -> dict[str, float]:
    """lavaan's robust CFI, TLI and RMSEA for DWLS with categorical data (``lav_fit_catml_dwls``).

    The normal-theory ML discrepancy of the polychoric correlations R from the DWLS-implied
    correlations Σ̂ (lavaan's "catML" model evaluated at the DWLS estimates, not refitted) gives
    XX3 = N·(log|Σ̂| − log|R| + tr(RΣ̂⁻¹) − p) and, for the independence model, −N·log|R|. Its
    scaling c = tr(Uᵀ V U Γ)/df with U = I − Δ(ΔᵀWΔ)⁻¹ΔᵀW, W the DWLS weights and V the ML
    weights of the correlations at Σ̂ (V_ab = A_ik A_jl + A_il A_jk, A = Σ̂⁻¹, a = (i, j),
    b = (k, l)); the baseline's c₀ = tr(Γ)/p* (V = I). Then, as lavaan 0.6-13 and later:
    CFI = 1 − max(XX3 − c·df, 0)/max(XX3 − c·df, XX3₀ − c₀·p*, 0), TLI = 1 − (XX3 − c·df)p* /
    ((XX3₀ − c₀·p*)df), RMSEA = √(max(XX3 − c·df, 0)/(df·(N − 1))) and its 90% interval
    √c times the interval of XX3/c on df (N − 1 as for the other DWLS RMSEAs). A polychoric
    matrix that is not positive definite (an eigenvalue below √ε) gives NaN, as lavaan's NA.

    References
    ----------
    Savalei, V. (2021). Improving fit indices in structural equation modeling with categorical
    data. *Multivariate Behavioral Research, 56*, 390-407.
    """
    nan = dict.fromkeys(ROBUST_FIT_MEASURES, math.nan)
    p = R.shape[0]
    pst = len(pairs)
    if df <= 0 or np.linalg.eigvalsh(R).min() < math.sqrt(np.finfo(float).eps):
        return nan
    try:
        A = np.linalg.inv(sigma)
    except np.linalg.LinAlgError:
        return nan
    ld_s = np.linalg.slogdet(sigma)
    ld_r = np.linalg.slogdet(R)
    if ld_s[0] <= 0:
        return nan
    xx3 = N * (ld_s[1] - ld_r[1] + float(np.sum(R * A)) - p)
    xx3_null = -N * ld_r[1]
    i, j = pairs[:, 0], pairs[:, 1]
    V = A[np.ix_(i, i)] * A[np.ix_(j, j)] + A[np.ix_(i, j)] * A[np.ix_(j, i)]
    U = np.eye(pst) - J @ Hinv @ (J.T * w)
    c = float(np.sum((U.T @ V @ U) * Grr.T)) / df
    c_null = float(np.trace(Grr)) / pst
    t1 = max(xx3 - c * df, 0.0)
    t2 = max(xx3 - c * df, xx3_null - c_null * pst, 0.0)
    cfi = (
        1.0
        if math.isclose(t1, 0.0, abs_tol=1.5e-8) and math.isclose(t2, 0.0, abs_tol=1.5e-8)
        else 1 - t1 / t2
    )
    den = (xx3_null - c_null * pst) * df
    tli = 1 - (xx3 - c * df) * pst / den if den != 0 else 1.0
    n = N - 1
    _, lo, hi = rmsea_interval(xx3 / c, df, n)
    return {
        "cfi_robust": cfi,
        "tli_robust": tli,
        "rmsea_robust": math.sqrt(max(xx3 / n / df - c / n, 0.0)),
        "rmsea_ci_lower_robust": math.sqrt(c) * lo,
        "rmsea_ci_upper_robust": math.sqrt(c) * hi,
    }


def _model_statistics(
    x: np.ndarray, items: list[str], missing: str, statistics: OrdinalStatistics | None
) -> OrdinalStatistics:
    """Ordinal statistics of the model's rows ``x``: computed, or checked and taken from ``statistics``."""
    pairwise = missing == "pairwise"
    if statistics is None:
        return ordinal_statistics(pd.DataFrame(x, columns=items), missing=missing)
    if not isinstance(statistics, OrdinalStatistics):
        raise TypeError(f"statistics: expected OrdinalStatistics, got {type(statistics).__name__}")
    if statistics.missing != missing:
        raise ValueError(
            f"statistics: computed with missing={statistics.missing!r}, but the model uses "
            f"missing={missing!r}"
        )
    if pairwise and statistics.n_obs < len(x):
        raise ValueError(
            f"statistics: computed on {statistics.n_obs} rows, fewer than the {len(x)} rows "
            "the model uses; compute them with ordinal_statistics on the same data"
        )
    if not pairwise and statistics.n_obs != len(x):
        raise ValueError(
            f"statistics: computed on {statistics.n_obs} rows, but the model uses {len(x)} "
            "complete rows of "
            "data; compute them with ordinal_statistics on the rows the model uses"
        )
    st = statistics.subset(items)
    if pairwise and st.n_obs != len(x):
        # rows without any of the model's items add nothing to the sums of the
        # estimating equations: acov is unchanged, only N (Γ = N·acov) is the model's own
        st = dataclasses.replace(st, n_obs=len(x))
    return st


def _minimise_dwls(
    model_r: Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]],
    th: np.ndarray,
    r: np.ndarray,
    w: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float, bool]:
    """Minimise the DWLS discrepancy by Gauss-Newton with step halving; returns th, σ, J, F, converged."""
    converged = False
    sig, J = model_r(th)
    F = float(np.sum(w * (r - sig) ** 2))
    for _ in range(200):
        H = J.T @ (w[:, None] * J)
        g = J.T @ (w * (r - sig))
        try:
            step = np.linalg.solve(H, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(H, g, rcond=None)[0]
        a = 1.0
        while a > 1e-6:
            sig2, J2 = model_r(th + a * step)
            F2 = float(np.sum(w * (r - sig2) ** 2))
            if F2 <= F + 1e-15:
                break
            a /= 2
        else:
            break
        th, sig, J, F_old, F = th + a * step, sig2, J2, F, F2
        if np.max(np.abs(a * step)) < 1e-10 or abs(F_old - F) < 1e-15 * max(1.0, F):
            converged = True
            break
    return th, sig, J, F, converged


def _cfi_tli(t_m: float, t_b: float, df: int, pst: int) -> tuple[float, float]:
    """CFI and TLI of a model statistic ``t_m`` on ``df`` against a baseline ``t_b`` on ``pst``."""
    den = max(t_b - pst, t_m - df, 0.0)
    cfi = 1 - max(t_m - df, 0.0) / den if den > 0 else 1.0
    tli = (t_b / pst - t_m / df) / (t_b / pst - 1) if df > 0 else math.nan
    return cfi, tli


def _dwls_fit_measures(
    r: np.ndarray,
    sig: np.ndarray,
    J: np.ndarray,
    w: np.ndarray,
    Hinv: np.ndarray,
    Grr: np.ndarray,
    R: np.ndarray,
    sigma_hat: np.ndarray,
    s: np.ndarray,
    *,
    F: float,
    N: int,
    p: int,
    nth: int,
) -> pd.Series:
    """lavaan's fit measures of a DWLS fit: naive, scaled-shifted and robust (``fitMeasures``)."""
    res = r - sig
    q = J.shape[1]
    pst = len(r)
    df = pst - q
    T = (N - 1) * F
    W = np.diag(w)
    WJ = w[:, None] * J
    U = W - WJ @ Hinv @ WJ.T
    if df > 0:
        Ts, a_, b_ = _scaled_shifted(T, df, U @ Grr)
    else:
        Ts, a_, b_ = T, math.nan, math.nan
    Tb = (N - 1) * float(np.sum(w * r**2))
    Tbs, _, _ = _scaled_shifted(Tb, pst, w[:, None] * Grr)

    # lavaan's naive and scaled RMSEA intervals for DWLS divide by N − 1, as the point values
    ci = rmsea_interval(T, df, N - 1) if df > 0 else (math.nan,) * 3
    ci_s = rmsea_interval(Ts, df, N - 1) if df > 0 else (math.nan,) * 3
    cfi, tli = _cfi_tli(T, Tb, df, pst)
    cfi_s, tli_s = _cfi_tli(Ts, Tbs, df, pst)
    rm = lambda tt: math.sqrt(max(tt - df, 0.0) / (df * (N - 1))) if df > 0 else math.nan  # noqa: E731
    robust = _robust_catml(R, sigma_hat, s, J, w, Hinv, Grr, N, df)
    return pd.Series(
        {
            "npar": nth + q,
            "chisq": T,
            "df": df,
            "pvalue": float(special.chdtrc(df, T)) if df > 0 else math.nan,
            "chisq_scaled": Ts,
            "df_scaled": df,
            "pvalue_scaled": float(special.chdtrc(df, Ts)) if df > 0 else math.nan,
            "scaling_factor": 1 / a_ if df > 0 else math.nan,
            "shift_parameter": b_,
            "baseline_chisq": Tb,
            "baseline_df": pst,
            "baseline_chisq_scaled": Tbs,
            "cfi": cfi,
            "tli": tli,
            "rmsea": rm(T),
            "rmsea_ci_lower": ci[1],
            "rmsea_ci_upper": ci[2],
            "cfi_scaled": cfi_s,
            "tli_scaled": tli_s,
            "rmsea_scaled": rm(Ts),
            "rmsea_ci_lower_scaled": ci_s[1],
            "rmsea_ci_upper_scaled": ci_s[2],
            **robust,
            "srmr": math.sqrt(float(res @ res) / (p * (p + 1) / 2)),
            "ntotal": N,
        },
        name="value",
        dtype=float,
    )


def _estimates_table(
    t: Any,
    theta: np.ndarray,
    se_full: np.ndarray,
    resid_free: set[int],
    lat_sd: np.ndarray,
    st: OrdinalStatistics,
    items: list[str],
) -> pd.DataFrame:
    """Parameter table (lavaan's ``parameterEstimates`` columns and ``std.all``), thresholds last."""
    N, nth = st.n_obs, st.n_thresholds
    rows = []
    for k in range(len(t.mat)):
        mat, rr, cc = t.mat[k], t.row[k], t.col[k]
        free = t.free[k] > 0
        est = theta[t.free[k] - 1] if free else t.value[k]
        derived = free and (t.free[k] - 1) in resid_free
        se = 0.0 if (not free or derived) else se_full[t.free[k] - 1]
        if mat == 0:  # loading
            std = est * lat_sd[cc]
        elif mat == 1:
            std = est * lat_sd[cc] / lat_sd[rr]
        elif mat == 2:
            std = est / (lat_sd[rr] * lat_sd[cc])
        else:
            std = est
        rows.append((t.lhs[k], t.op[k], t.rhs[k], est, se, free and not derived, std))
    se_th = np.sqrt(np.diag(st.acov)[:nth] * N / (N - 1))  # acov = Γ/N; lavaan: Γ/(N − 1)
    k = 0
    for item, tau in zip(items, st.thresholds, strict=True):
        for n_t, v in enumerate(tau, 1):
            rows.append((item, "|", f"t{n_t}", float(v), float(se_th[k]), True, float(v)))
            k += 1
    table = pd.DataFrame(rows, columns=["lhs", "op", "rhs", "est", "se", "tested", "std_all"])
    with np.errstate(divide="ignore", invalid="ignore"):
        table["z"] = np.where(table["tested"], table["est"] / table["se"], np.nan)
    table["pvalue"] = np.where(table["tested"], 2 * special.ndtr(-np.abs(table["z"])), np.nan)
    return table[["lhs", "op", "rhs", "est", "se", "z", "pvalue", "std_all"]]


class OrdinalCFA(CFA):
    """CFA of ordinal items by DWLS on polychoric correlations with a robust test (WLSMV).

    Parameters
    ----------
    model : MeasurementModel or str
    estimator : {"WLSMV"}, default "WLSMV"
        DWLS estimates, robust (sandwich) standard errors and the mean-and-variance adjusted
        ("scaled and shifted") χ², as lavaan's ``estimator = "WLSMV"``.
    missing : {"listwise", "pairwise"}, default "listwise"
        ``"listwise"`` (lavaan's default for ordered data) drops every respondent with a missing
        model item; ``"pairwise"`` (lavaan ``missing = "pairwise"``) keeps every respondent with at
        least one answer: thresholds from each item's answers, each polychoric correlation from
        the respondents answering both items, Γ from the answers present (see
        :func:`ordinal_statistics`).

    Attributes
    ----------
    fit_measures_ : pandas.Series
        ``npar, chisq, df, pvalue, chisq_scaled, df_scaled, pvalue_scaled, scaling_factor,
        shift_parameter, baseline_chisq, baseline_df, baseline_chisq_scaled, cfi, tli, rmsea,
        rmsea_ci_lower, rmsea_ci_upper, cfi_scaled, tli_scaled, rmsea_scaled,
        rmsea_ci_lower_scaled, rmsea_ci_upper_scaled, cfi_robust, tli_robust, rmsea_robust,
        rmsea_ci_lower_robust, rmsea_ci_upper_robust, srmr, ntotal`` (lavaan's ``fitMeasures`` names
        with ``_`` for ``.``).
    estimates_ : pandas.DataFrame
        ``lhs, op, rhs, est, se, z, pvalue, std_all``; thresholds are ``op == "|"`` rows
        (``rhs`` t1, t2, …); latent-response residual variances are derived (se 0), as in lavaan's
        delta parameterization.
    statistics_ : OrdinalStatistics
        Thresholds, polychoric correlations and Γ.
    converged_ : bool
    n_obs_ : int
        Respondents used (``ntotal``).
    pair_n_range_ : tuple of int
        Fewest and most respondents answering both items of a pair (both ``n_obs_`` for
        listwise deletion).

    Notes
    -----
    With s the polychoric correlations, σ(θ) the model's (off-diagonal of ΛAΨAᵀΛᵀ + Θ, Θ such that
    diag Σ* = 1) and W = diag(Γ_ρρ)⁻¹ (Γ = N·acov), the estimates minimise
    F = (s − σ(θ))ᵀ W (s − σ(θ)); thresholds are saturated and equal the sample thresholds. Then:

    - χ² = (N − 1)·F on df = p(p−1)/2 − q (q without thresholds), which is what lavaan 0.6.14
      reports as ``chisq`` for DWLS;
    - U = W − WΔ(ΔᵀWΔ)⁻¹ΔᵀW, a = √(df/tr((UΓ)²)), b = df − a·tr(UΓ): ``chisq.scaled`` = a·χ² + b,
      ``scaling.factor`` = 1/a, ``shift.parameter`` = b (Asparouhov & Muthén 2010);
    - baseline: all correlations 0 (χ²_B = (N − 1)·s'Ws on p(p−1)/2 df, scaled the same way);
      CFI/TLI as for ML from (χ², χ²_B), and ``cfi.scaled``/``tli.scaled`` from the scaled pair;
    - RMSEA = √(max(χ² − df, 0)/(df·(N − 1))), ``rmsea.scaled`` from the scaled χ², each with
      its 90% interval from the noncentral χ² on N − 1 (:func:`~analysis.sem.engine.rmsea_interval`);
    - ``cfi_robust``, ``tli_robust``, ``rmsea_robust`` and its interval: lavaan's
      ``lav_fit_catml_dwls`` (0.6-13 and later; Savalei 2021), from the ML discrepancy of the
      polychoric correlations at the DWLS estimates, rescaled by its own trace correction
      (details in ``_robust_catml``);
    - SRMR = √(Σ_{i<j}(s_ij − σ̂_ij)² / (p(p+1)/2)) (lavaan ``srmr`` for categorical data);
    - standard errors from (ΔᵀWΔ)⁻¹ΔᵀWΓWΔ(ΔᵀWΔ)⁻¹/(N − 1) (lavaan ``se = "robust.sem"``, which
      divides by N minus the number of groups for estimators other than ML); thresholds'
      standard errors √(Γ_ττ/(N − 1)).

    These reproduce lavaan 0.6.14's ``cfa(model, data, ordered = TRUE, estimator = "WLSMV")`` on
    bfi to better than 1e-6 (tests/test_wlsmv.py), and ``missing = "pairwise"`` on bfi with its
    missing answers to 1e-5 (estimates) and 5e-8 relative (χ²) (tests/test_wlsmv_pairwise.py).
    Polychoric correlations here are lavaan's (per-pair ML, no empty-cell correction), which
    differ slightly from ``psych::polychoric``'s default ``correct = 0.5`` on tables with empty
    cells.

    References
    ----------
    Muthén, B. (1984). A general structural equation model with dichotomous, ordered categorical,
    and continuous latent variable indicators. *Psychometrika, 49*, 115-132.
    Muthén, B., du Toit, S. H. C., & Spisic, D. (1997). Robust inference using weighted least
    squares and quadratic estimating equations in latent variable modeling with categorical and
    continuous outcomes. Unpublished manuscript.
    Asparouhov, T., & Muthén, B. (2010). Simple second order chi-square correction. Mplus technical
    appendix.
    Savalei, V. (2021). Improving fit indices in structural equation modeling with categorical
    data. *Multivariate Behavioral Research, 56*, 390-407.
    Flora, D. B., & Curran, P. J. (2004). An empirical evaluation of alternative methods of
    estimation for confirmatory factor analysis with ordinal data. *Psychological Methods, 9*,
    466-491.

    Examples
    --------
    >>> rng = np.random.default_rng(5)  # synthetic: one factor, four 4-point items
    >>> f = rng.normal(size=(800, 1))
    >>> y = 0.7 * f + np.sqrt(1 - 0.49) * rng.normal(size=(800, 4))
    >>> codes = pd.DataFrame(np.digitize(y, [-1, 0, 1]) + 1, columns=list("abcd"))
    >>> fit = OrdinalCFA("f =~ a + b + c + d").fit(codes)
    >>> int(fit.fit_measures_["df"]), bool(abs(fit.standardized_loadings().loc["a", "f"] - 0.7) < 0.1)
    (2, True)
    """

    def __init__(
        self, model: MeasurementModel | str, *, estimator: str = "WLSMV", missing: str = "listwise"
    ):
        self.model = model
        self.estimator = estimator
        self.missing = missing

    def fit(
        self, data: pd.DataFrame, y=None, *, statistics: OrdinalStatistics | None = None
    ) -> OrdinalCFA:
        """Estimate the model on ordinal ``data`` (whole-number answer codes).

        Parameters
        ----------
        data : pandas.DataFrame
            Answer codes, one column per item (listwise: rows with a missing model item are
            dropped; pairwise: rows without any model item are).
        y : None
            Ignored (scikit-learn convention).
        statistics : OrdinalStatistics, optional
            Precomputed :func:`ordinal_statistics` of these rows, for fitting several models to the
            same data without recomputing the polychoric correlations and Γ (the costly step). They
            must cover the model's items and come from exactly the rows the model uses: the
            complete rows of ``data`` on the model's items, e.g.
            ``ordinal_statistics(data.dropna())`` when every model uses those same rows. The fit
            equals the one computed without them (to
            rounding when the model uses a subset of the items; see
            :meth:`OrdinalStatistics.subset`). A different number of rows raises ``ValueError``.
            With ``missing="pairwise"`` they must be ``ordinal_statistics(data, missing="pairwise")``
            of these rows, possibly on more items: rows without any of the model's items add
            nothing to the sums, so only N is the model's own.
        """
        if self.estimator != "WLSMV":
            raise ValueError(f"estimator: {self.estimator!r} is not supported; allowed: 'WLSMV'")
        if self.missing not in ("listwise", "pairwise"):
            raise ValueError(
                f"missing: {self.missing!r} is not supported; allowed: 'listwise', 'pairwise'"
            )
        model = self._model()
        pairwise = self.missing == "pairwise"
        # pairwise: every respondent with at least one answer (lavaan drops empty rows)
        x = prepare_data(data, model.observed, "ml" if pairwise else "listwise")
        items = list(model.observed)
        st = _model_statistics(x, items, self.missing, statistics)
        N, p = st.n_obs, len(items)
        nth = st.n_thresholds
        G = N * st.acov
        Grr = G[nth:, nth:]
        w = 1.0 / np.diag(Grr)
        s = st.pairs
        r = st.correlations.to_numpy()[s[:, 0], s[:, 1]]

        struct = Structure(model, 1, meanstructure=False)
        t = struct.table
        resid = (t.mat == THETA) & (t.row == t.col) & (t.free > 0)
        resid_free = set((t.free[resid] - 1).tolist())
        keep = np.array([k for k in range(struct.n_free) if k not in resid_free], dtype=int)
        resid_idx = np.array(sorted(resid_free), dtype=int)
        resid_item = {int(t.free[k] - 1): int(t.row[k]) for k in np.flatnonzero(resid)}
        R = st.correlations.to_numpy()
        base = struct.start([GroupStats(None, N, R, np.zeros(p), float(np.linalg.slogdet(R)[1]))])

        def full(th: np.ndarray) -> np.ndarray:
            out = base.copy()
            out[keep] = th
            out[resid_idx] = 0.0
            common, _, _ = struct.implied(out, 0)
            for k in resid_idx:
                out[k] = 1.0 - common[resid_item[k], resid_item[k]]
            return out

        def model_r(th: np.ndarray):
            sigma, _, dS, _ = struct.derivatives(full(th), 0)
            return sigma[s[:, 0], s[:, 1]], dS[keep][:, s[:, 0], s[:, 1]].T

        th, sig, J, F, converged = _minimise_dwls(model_r, base[keep], r, w)
        if not converged:
            warnings.warn(
                "the DWLS estimation did not converge; results are unreliable",
                ConvergenceWarning,
                stacklevel=2,
            )
        theta = full(th)
        WJ = w[:, None] * J
        Hinv = np.linalg.inv(J.T @ WJ)
        sigma_hat = struct.implied(theta, 0)[0]
        self.fit_measures_ = _dwls_fit_measures(
            r, sig, J, w, Hinv, Grr, R, sigma_hat, s, F=F, N=N, p=p, nth=nth
        )

        # robust standard errors
        # lavaan divides by N − (number of groups) for estimators other than ML
        vc = Hinv @ (WJ.T @ Grr @ WJ) @ Hinv / (N - 1)
        se_keep = np.sqrt(np.clip(np.diag(vc), 0, None))
        se_full = np.zeros(struct.n_free)
        se_full[keep] = se_keep
        _, _, (L, B, P, T_, nu, al, A, LA) = struct.implied(theta, 0)
        lat_sd = np.sqrt(np.clip(np.diag(A @ P @ A.T), 1e-300, None))
        if any(theta[k] < 0 for k in resid_idx):
            bad = [items[resid_item[k]] for k in resid_idx if theta[k] < 0]
            warnings.warn(
                "negative latent-response residual variance (Heywood case) for item(s) "
                f"{', '.join(bad)}",
                HeywoodCaseWarning,
                stacklevel=2,
            )
        self.estimates_ = _estimates_table(t, theta, se_full, resid_free, lat_sd, st, items)
        self._struct = struct
        self._stats = None  # type: ignore[assignment]  # WLSMV keeps no ML moments
        self.theta_ = theta
        self.converged_ = converged
        self.statistics_ = st
        self.n_obs_ = N
        self.pair_n_range_ = st.pair_n_range
        self.model_ = model
        self.implied_cov_ = pd.DataFrame(struct.implied(theta, 0)[0], index=items, columns=items)
        self.sample_cov_ = st.correlations.copy()
        return self._finish_fit(self._results())

    def modification_indices(self, top: int | None = 10) -> pd.DataFrame:
        """Not available for WLSMV (lavaan's need the DWLS information); raises ``NotImplementedError``."""
        raise NotImplementedError(
            "modification indices are implemented for ML (analysis.sem.cfa.CFA) only"
        )
