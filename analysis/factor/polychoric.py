"""Polychoric correlations of ordinal items, as R's ``psych::polychoric`` computes them.

The estimator is the two-step one: each item's thresholds come from its own marginal
proportions, then each pair's correlation maximises the bivariate-normal likelihood of the
pair's contingency table with those thresholds held fixed. Everything is vectorised over the
item pairs: all contingency tables come from one matrix product of one-hot codes, and one
safeguarded Newton iteration runs over all pairs at once.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from analysis._compat import single_threaded_blas
from analysis._results import Result
from analysis.errors import ConvergenceWarning

__all__ = [
    "PolychoricResult",
    "bivariate_normal_cdf",
    "bivariate_normal_pdf",
    "cor_smooth",
    "polychoric",
]

#: Most categories psych::polychoric accepts ("polychoric is probably not needed" above it).
MAX_CATEGORIES = 8

# Gauss-Legendre rule on [-1, 1] used by Genz's bivariate normal algorithm (20 points is the
# rule Genz uses for the hardest correlations; using it everywhere keeps the code branch-free).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(20)
_TWO_PI = 2.0 * np.pi
# Thresholds beyond this are treated as infinite when evaluating the bivariate normal.
_BIG = 38.0


def _bvn_upper(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> np.ndarray:
    """P(X > h, Y > k) for a standard bivariate normal with correlation r (finite h, k).

    Vectorised transcription of Genz's ``bvnu`` (Drezner & Wesolowsky 1990, as revised by
    Genz 2004); accurate to about 1e-15.
    """
    h, k, r = np.broadcast_arrays(np.asarray(h, float), np.asarray(k, float), np.asarray(r, float))
    out = np.empty(h.shape)
    hk = h * k
    low = np.abs(r) < 0.925
    if low.any():
        hl, kl, rl, hkl = h[low], k[low], r[low], hk[low]
        hs = (hl * hl + kl * kl) / 2.0
        asr = np.arcsin(rl) / 2.0
        # nodes mapped to [0, 2]: sin(asr * (1 + x))
        sn = np.sin(asr[..., None] * (1.0 + _GL_X))
        terms = np.exp((sn * hkl[..., None] - hs[..., None]) / (1.0 - sn * sn))
        bvn = terms @ _GL_W
        out[low] = bvn * asr / _TWO_PI + ndtr(-hl) * ndtr(-kl)
    high = ~low
    if high.any():
        hh, kh, rh = h[high], k[high], r[high]
        kh = np.where(rh < 0, -kh, kh)
        hkh = hh * kh
        bvn = np.zeros(hh.shape)
        inner = np.abs(rh) < 1.0
        a_s = np.where(inner, 1.0 - rh * rh, 1.0)
        a = np.sqrt(a_s)
        bs = (hh - kh) ** 2
        c = (4.0 - hkh) / 8.0
        d = (12.0 - hkh) / 80.0
        asr = -(bs / a_s + hkh) / 2.0
        with np.errstate(over="ignore", under="ignore", invalid="ignore", divide="ignore"):
            term1 = np.where(
                asr > -100,
                a * np.exp(asr) * (1 - c * (bs - a_s) * (1 - d * bs) / 3 + c * d * a_s * a_s),
                0.0,
            )
            b = np.sqrt(bs)
            sp = np.sqrt(_TWO_PI) * ndtr(-b / a)
            term2 = np.where(
                hkh > -100, np.exp(-hkh / 2) * sp * b * (1 - c * bs * (1 - d * bs) / 3), 0.0
            )
            bvn = term1 - term2
            half_a = a / 2.0
            # nodes on [0, 2] as in Genz (1 - x, 1 + x); the full rule covers both halves
            xs = (half_a[..., None] * (1.0 + _GL_X)) ** 2
            asr2 = -(bs[..., None] / xs + hkh[..., None]) / 2.0
            sp2 = 1 + c[..., None] * xs * (1 + 5 * d[..., None] * xs)
            rs = np.sqrt(1 - xs)
            ep = np.exp(-hkh[..., None] * xs / (2 * (1 + rs) ** 2)) / rs
            contrib = np.where(asr2 > -100, np.exp(asr2) * (ep - sp2), 0.0)
            bvn = bvn + half_a * (contrib @ _GL_W)
        bvn = np.where(inner, -bvn / _TWO_PI, 0.0)
        pos = rh > 0
        lower_l = np.where(hh < 0, ndtr(kh) - ndtr(hh), ndtr(-hh) - ndtr(-kh))
        bvn = np.where(
            pos,
            bvn + ndtr(-np.maximum(hh, kh)),
            np.where(hh >= kh, -bvn, np.maximum(lower_l, 0.0) - bvn),
        )
        out[high] = bvn
    return np.clip(out, 0.0, 1.0)


def bivariate_normal_cdf(h, k, rho) -> np.ndarray:
    """Lower-orthant probability Φ₂(h, k; ρ) = P(X ≤ h, Y ≤ k) of a standard bivariate normal.

    Parameters
    ----------
    h, k : array_like
        Upper limits (broadcast together); ``±inf`` allowed.
    rho : array_like
        Correlation in [-1, 1].

    Returns
    -------
    numpy.ndarray
        The probabilities, shape of the broadcast inputs.

    Notes
    -----
    Vectorised version of Genz's ``bvnu`` (the algorithm behind ``mnormt::sadmvn`` and
    ``mvtnorm`` in two dimensions): Drezner–Wesolowsky's integral over ``asin ρ`` for
    ``|ρ| < 0.925`` and Genz's expansion for larger ``|ρ|``, both with 20-point
    Gauss–Legendre quadrature. Infinite limits use the exact marginals.

    References
    ----------
    Drezner, Z., & Wesolowsky, G. O. (1990). On the computation of the bivariate normal
    integral. *Journal of Statistical Computation and Simulation*, 35, 101–107.
    Genz, A. (2004). Numerical computation of rectangular bivariate and trivariate normal and
    t probabilities. *Statistics and Computing*, 14, 251–260.

    Examples
    --------
    >>> round(float(bivariate_normal_cdf(0.0, 0.0, 0.5)), 6)  # 1/4 + asin(.5)/(2π) = 1/3
    0.333333
    """
    h, k, rho = np.broadcast_arrays(
        np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float)
    )
    hc = np.clip(h, -_BIG, _BIG)
    kc = np.clip(k, -_BIG, _BIG)
    out = _bvn_upper(-hc, -kc, rho)
    out = np.where(np.isposinf(h), ndtr(k), out)
    out = np.where(np.isposinf(k), np.where(np.isposinf(h), 1.0, ndtr(h)), out)
    out = np.where(np.isneginf(h) | np.isneginf(k), 0.0, out)
    return out


def bivariate_normal_pdf(h, k, rho) -> np.ndarray:
    """Density φ₂(h, k; ρ) of a standard bivariate normal, 0 where h or k is infinite.

    The one implementation of the package; polychoric correlations and the WLSMV weight matrix
    use it. ``φ₂(h, k; ρ) = exp(−(h² − 2ρhk + k²) / (2(1 − ρ²))) / (2π √(1 − ρ²))``.

    Examples
    --------
    >>> round(float(bivariate_normal_pdf(0.0, 0.0, 0.0)), 6)
    0.159155
    """
    h, k, rho = np.broadcast_arrays(
        np.asarray(h, float), np.asarray(k, float), np.asarray(rho, float)
    )
    one_m = 1.0 - rho * rho
    finite = np.isfinite(h) & np.isfinite(k)
    hf = np.where(finite, h, 0.0)
    kf = np.where(finite, k, 0.0)
    q = hf * hf - 2.0 * rho * hf * kf + kf * kf
    dens = np.exp(-q / (2.0 * one_m)) / (_TWO_PI * np.sqrt(one_m))
    return np.where(finite, dens, 0.0)


def _bvn_density(h: np.ndarray, k: np.ndarray, r: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Density φ₂(h, k; r) and its derivative in r (both 0 at infinite limits)."""
    one_m = 1.0 - r * r
    finite = np.isfinite(h) & np.isfinite(k)
    hf = np.where(finite, h, 0.0)
    kf = np.where(finite, k, 0.0)
    q = hf * hf - 2.0 * r * hf * kf + kf * kf
    dens = bivariate_normal_pdf(h, k, r)
    dlog = r / one_m + hf * kf / one_m - q * r / (one_m * one_m)
    return dens, dens * dlog


@dataclass(frozen=True, slots=True, repr=False)
class PolychoricResult(Result):
    """Polychoric correlation matrix with the thresholds it was estimated from.

    Attributes
    ----------
    rho : pandas.DataFrame
        Items × items polychoric correlations (smoothed when ``smoothed`` is True).
    thresholds : pandas.DataFrame
        Items × cut points (columns ``1 .. K-1``): ``Φ⁻¹`` of the cumulative proportion of each
        item's categories. A category nobody chose gives a repeated or infinite cut point.
    n_obs : pandas.DataFrame
        Pairwise complete observations for each pair (diagonal: answers to the item).
    n_respondents : int
        Rows in the data (what psych reports as ``n.obs``).
    categories : tuple of float
        The response values, in order, that define the K categories.
    corrected_cells : int
        Empty cells (over all pair tables) that received the continuity correction.
    smoothed : bool
        True if the matrix was not positive definite and :func:`cor_smooth` was applied.
    correct : float
        The continuity correction used.
    global_thresholds : bool
        True if the thresholds came from each item's own marginal (psych's ``global=TRUE``).
    """

    rho: pd.DataFrame
    thresholds: pd.DataFrame
    n_obs: pd.DataFrame
    n_respondents: int
    categories: tuple
    corrected_cells: int
    smoothed: bool
    correct: float
    global_thresholds: bool

    def summary(self) -> pd.DataFrame:
        """One row per item pair: ``item_1, item_2, estimate, n_obs``."""
        names = list(self.rho.columns)
        i, j = np.triu_indices(len(names), k=1)
        return pd.DataFrame(
            {
                "item_1": [names[a] for a in i],
                "item_2": [names[b] for b in j],
                "estimate": self.rho.to_numpy()[i, j],
                "n_obs": self.n_obs.to_numpy()[i, j],
            }
        )


def cor_smooth(r: pd.DataFrame | np.ndarray, *, eig_tol: float = 1e-12) -> tuple:
    """Smooth a correlation matrix that is not positive definite (``psych::cor.smooth``).

    Parameters
    ----------
    r : DataFrame or ndarray
        Symmetric correlation matrix.
    eig_tol : float, default 1e-12
        Eigenvalues below this are set to ``100 * eig_tol``.

    Returns
    -------
    (matrix, smoothed)
        The (possibly) smoothed matrix, same type and labels as ``r``, and whether smoothing was
        done.

    Notes
    -----
    As psych: if the smallest eigenvalue is below machine epsilon, eigenvalues below
    ``eig_tol`` become ``100·eig_tol``, all eigenvalues are rescaled to sum to p, the matrix is
    rebuilt as ``V diag(λ) Vᵀ`` and rescaled to unit diagonal (``cov2cor``).

    Examples
    --------
    >>> m = np.array([[1, .9, .9], [.9, 1, -.9], [.9, -.9, 1]])
    >>> s, done = cor_smooth(m)
    >>> done, bool(np.linalg.eigvalsh(s).min() > 0)
    (True, True)
    """
    values = r.to_numpy(dtype=float) if isinstance(r, pd.DataFrame) else np.asarray(r, float)
    lam, vec = np.linalg.eigh(values)
    if lam.min() >= np.finfo(float).eps:
        return r, False
    lam = np.where(lam < eig_tol, 100 * eig_tol, lam)
    lam = lam * len(lam) / lam.sum()
    rebuilt = (vec * lam) @ vec.T
    d = np.sqrt(np.diag(rebuilt))
    rebuilt = rebuilt / np.outer(d, d)
    if isinstance(r, pd.DataFrame):
        return pd.DataFrame(rebuilt, index=r.index, columns=r.columns), True
    return rebuilt, True


def _check_items(items: pd.DataFrame) -> tuple[np.ndarray, tuple]:
    if not isinstance(items, pd.DataFrame):
        raise TypeError(f"items must be a pandas DataFrame of item responses, got {type(items)!r}")
    if items.shape[1] < 2:
        raise ValueError("items needs at least two columns (items) for polychoric correlations")
    bad = [c for c in items.columns if not pd.api.types.is_numeric_dtype(items[c])]
    if bad:
        raise ValueError(f"items must hold numeric response codes; non-numeric columns: {bad}")
    values = items.to_numpy(dtype=float, na_value=np.nan)
    finite = np.isfinite(values)
    nonint = [
        items.columns[j]
        for j in range(values.shape[1])
        if np.any(finite[:, j] & (values[:, j] != np.round(values[:, j])))
    ]
    if nonint:
        raise ValueError(
            f"items must hold whole-number response codes; columns with others: {nonint}"
        )
    if not finite.any():
        raise ValueError("items has no answers")
    lo, hi = np.nanmin(values), np.nanmax(values)
    n_cat = int(hi - lo) + 1
    if n_cat > MAX_CATEGORIES:
        raise ValueError(
            f"items span {n_cat} response values ({lo:g} to {hi:g}); polychoric correlations are "
            f"for at most {MAX_CATEGORIES} ordered categories (as psych::polychoric)"
        )
    constant = [
        items.columns[j]
        for j in range(values.shape[1])
        if finite[:, j].sum() < 2 or np.nanstd(values[:, j]) == 0
    ]
    if constant:
        raise ValueError(f"items without variance cannot be correlated: {constant}")
    return values, tuple(lo + np.arange(n_cat))


def polychoric(
    items: pd.DataFrame,
    *,
    correct: float = 0.5,
    smooth: bool = True,
    global_thresholds: bool = True,
    tol: float = 1e-9,
    max_iter: int = 100,
) -> PolychoricResult:
    """Polychoric correlations of ordinal items (``psych::polychoric`` defaults).

    Parameters
    ----------
    items : pandas.DataFrame
        One column per item, whole-number response codes (at most 8 distinct values over all
        items, as psych), NaN for missing answers.
    correct : float, default 0.5
        Continuity correction for empty cells, used (as in psych 2.2.9) only when thresholds
        are estimated per pair: each empty cell of a pair's table (after dropping empty rows
        and columns) gets ``correct`` observations. 0 disables it.
    smooth : bool, default True
        Apply :func:`cor_smooth` if the matrix is not positive definite.
    global_thresholds : bool, default True
        True (psych's ``global=TRUE``): thresholds from each item's own marginal over all its
        answers. False: thresholds from the margins of each pair's corrected table. As in
        psych, it is set to False (with a warning) when the items do not all reach the same
        highest response value.
    tol : float, default 1e-9
        Convergence tolerance on ρ of the Newton iteration.
    max_iter : int, default 100
        Most Newton iterations.

    Returns
    -------
    PolychoricResult
        ``rho``, ``thresholds``, pairwise ``n_obs``, ``smoothed`` and the settings used.

    Notes
    -----
    Categories are the integers from the smallest to the largest code over all items (psych
    subtracts the global minimum), K of them. For item j with category proportions
    ``p_j1..p_jK`` over its answers, the thresholds are ``τ_jc = Φ⁻¹(p_j1 + … + p_jc)``,
    c = 1..K-1. For a pair with table proportions ``n_ab / N``, ρ maximises

    ``ℓ(ρ) = Σ_ab (n_ab/N) log P_ab(ρ)``,  ``P_ab = Φ₂(τ_a, τ'_b; ρ) − Φ₂(τ_{a−1}, τ'_b; ρ)
    − Φ₂(τ_a, τ'_{b−1}; ρ) + Φ₂(τ_{a−1}, τ'_{b−1}; ρ)``

    over the pair's pairwise-complete table (N answers to both), with cells of probability 0
    left out of the sum (psych sets ``log 0`` to NA). With global thresholds psych 2.2.9 applies
    no continuity correction (its ``polyc`` corrects empty cells only in the per-pair branch,
    since a 2020 fix); later psych versions also correct the global case, which moves ρ of
    pairs with empty cells by up to about 1e-3 on bfi. psych finds the maximum with
    ``optimize`` on (−1, 1) (tolerance about 1e-4); here a safeguarded Newton iteration
    (``dΦ₂/dρ = φ₂``, so gradient and Hessian are closed-form) runs over all pairs at once to
    ``tol``; on bfi the matrix agrees with psych's to 2e-5. With ``global_thresholds=False``
    each pair's empty rows and columns are dropped, its other empty cells get ``correct / N``
    (when there are any) and the thresholds come from that table's margins. If the matrix has an
    eigenvalue below machine epsilon and ``smooth`` is True it is smoothed as ``psych::cor.smooth``
    does.

    Differences from psych 2.2.9: items without variance raise ``ValueError`` (psych drops them
    with a message); weights are not supported.

    References
    ----------
    Olsson, U. (1979). Maximum likelihood estimation of the polychoric correlation coefficient.
    *Psychometrika*, 44, 443–460.
    Revelle, W. (2022). *psych: Procedures for Psychological, Psychometric, and Personality
    Research* (R package 2.2.9), ``polychoric``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> z = rng.multivariate_normal([0, 0], [[1, .6], [.6, 1]], size=4000)  # synthetic
    >>> codes = pd.DataFrame(np.digitize(z, [-1, 0, 1]) + 1, columns=["a", "b"])
    >>> res = polychoric(codes)
    >>> bool(abs(res.rho.loc["a", "b"] - 0.6) < 0.05)
    True
    """
    if correct < 0:
        raise ValueError(f"correct must be >= 0, got {correct}")
    with single_threaded_blas():
        return _polychoric(
            items,
            correct=correct,
            smooth=smooth,
            global_thresholds=global_thresholds,
            tol=tol,
            max_iter=max_iter,
        )


def _polychoric(items, *, correct, smooth, global_thresholds, tol, max_iter) -> PolychoricResult:
    values, categories = _check_items(items)
    names = list(items.columns)
    n, p = values.shape
    K = len(categories)
    lo = categories[0]

    # One-hot codes: missing answers are all-zero rows, so X'X holds every pairwise-complete
    # contingency table at once.
    finite = np.isfinite(values)
    codes = np.where(finite, values - lo, 0).astype(np.intp)
    onehot = np.zeros((n, p, K), dtype=np.float32 if n < 2**24 else np.float64)
    rows, cols = np.nonzero(finite)
    onehot[rows, cols, codes[rows, cols]] = 1.0
    flat = onehot.reshape(n, p * K)
    cross = (flat.T @ flat).astype(np.float64).reshape(p, K, p, K)

    counts = onehot.sum(axis=0, dtype=np.float64)  # p × K
    n_item = counts.sum(axis=1)
    cum = np.cumsum(counts, axis=1)[:, :-1] / n_item[:, None]
    tau = ndtri(np.clip(cum, 0.0, 1.0))  # p × (K-1), ±inf for unused end categories

    ii, jj = np.triu_indices(p, k=1)
    tabs = cross[ii, :, jj, :]  # pairs × K × K, rows = item ii, cols = item jj
    tot = tabs.sum(axis=(1, 2))
    n_pair = cross.sum(axis=(1, 3))
    if np.any(tot == 0):
        a, b = ii[tot == 0][0], jj[tot == 0][0]
        raise ValueError(
            f"items {names[a]!r} and {names[b]!r} have no respondent answering both; "
            "their polychoric correlation is undefined"
        )
    props = tabs / tot[:, None, None]

    item_max = np.array([np.nanmax(values[:, j]) for j in range(p)])
    if global_thresholds and item_max.min() != item_max.max():
        # psych::polychoric 2.2.9 does the same (with a warning)
        warnings.warn(
            "the items do not all use the same highest response value, so thresholds are "
            "estimated per pair (global_thresholds set to False, as psych::polychoric does)",
            UserWarning,
            stacklevel=3,
        )
        global_thresholds = False

    corrected_cells = 0
    if global_thresholds:
        tx, ty = tau[ii], tau[jj]
    else:
        # psych's global=FALSE branch: empty rows and columns of the pair's table are dropped,
        # then empty cells get correct/N and the thresholds come from the corrected margins.
        # A dropped row is emulated by a zero-width category (its cells have P = 0 and are
        # left out of the likelihood).
        keep_r = tabs.sum(axis=2) > 0
        keep_c = tabs.sum(axis=1) > 0
        kept = keep_r[:, :, None] & keep_c[:, None, :]
        zero = (tabs == 0) & kept
        if correct > 0:
            fix = zero & zero.any(axis=(1, 2))[:, None, None]
            props = np.where(fix, correct / tot[:, None, None], props)
            corrected_cells = int(fix.sum())
        tx = _pair_thresholds(props.sum(axis=2), keep_r)
        ty = _pair_thresholds(props.sum(axis=1), keep_c)

    rho, unconverged = _fit_pairs(
        props, tx, ty, tol=tol, max_iter=max_iter, start=_pearson_start(tabs, K)
    )
    if unconverged.any():
        pairs = [
            (names[a], names[b]) for a, b in zip(ii[unconverged], jj[unconverged], strict=True)
        ]
        warnings.warn(
            f"polychoric: {len(pairs)} pair(s) did not converge in {max_iter} iterations, "
            f"e.g. {pairs[:3]}",
            ConvergenceWarning,
            stacklevel=3,
        )

    mat = np.eye(p)
    mat[ii, jj] = rho
    mat[jj, ii] = rho
    smoothed = False
    if smooth:
        mat, smoothed = cor_smooth(mat)
        if smoothed:
            warnings.warn(
                "the polychoric matrix was not positive definite and was smoothed (cor_smooth)",
                UserWarning,
                stacklevel=3,
            )
    return PolychoricResult(
        rho=pd.DataFrame(mat, index=names, columns=names),
        thresholds=pd.DataFrame(tau, index=names, columns=[str(c) for c in range(1, K)]),
        n_obs=pd.DataFrame(n_pair.astype(np.int64), index=names, columns=names),
        n_respondents=int(n),
        categories=tuple(float(c) for c in categories),
        corrected_cells=corrected_cells,
        smoothed=bool(smoothed),
        correct=float(correct),
        global_thresholds=bool(global_thresholds),
    )


def _pair_thresholds(margin: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Cut points from one margin of each pair's table (psych's ``global=FALSE`` branch)."""
    K = margin.shape[1]
    cum = np.cumsum(margin, axis=1)[:, :-1]
    idx = np.arange(K - 1)
    last = K - 1 - np.argmax(keep[:, ::-1], axis=1)  # index of the last kept category
    with np.errstate(divide="ignore", invalid="ignore"):
        t = ndtri(cum)
    return np.where(idx[None, :] >= last[:, None], np.inf, t)


def _pearson_start(tabs: np.ndarray, K: int) -> np.ndarray:
    """Pearson r of the codes from each pair's table: a cheap starting value."""
    s = np.arange(K, dtype=float)
    tot = tabs.sum(axis=(1, 2))
    px = tabs.sum(axis=2) / tot[:, None]
    py = tabs.sum(axis=1) / tot[:, None]
    mx, my = px @ s, py @ s
    vx = px @ s**2 - mx**2
    vy = py @ s**2 - my**2
    exy = np.einsum("pab,a,b->p", tabs, s, s) / tot
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (exy - mx * my) / np.sqrt(vx * vy)
    return np.clip(np.nan_to_num(r), -0.95, 0.95)


def _loglik_derivs(props, tx, ty, r):
    """ℓ(ρ), ℓ'(ρ), ℓ''(ρ) for all pairs at their current ρ."""
    m = tx.shape[0]
    K = props.shape[1]
    h = tx[:, :, None]
    k = ty[:, None, :]
    rr = r[:, None, None]
    inner = bivariate_normal_cdf(h, k, rr)  # m × (K-1) × (K-1)
    d1, d2 = _bvn_density(np.broadcast_to(h, inner.shape), np.broadcast_to(k, inner.shape), rr)
    F = np.zeros((m, K + 1, K + 1))
    F[:, 1:K, 1:K] = inner
    F[:, K, 1:K] = ndtr(ty)
    F[:, 1:K, K] = ndtr(tx)
    F[:, K, K] = 1.0
    G1 = np.zeros_like(F)
    G1[:, 1:K, 1:K] = d1
    G2 = np.zeros_like(F)
    G2[:, 1:K, 1:K] = d2

    def cells(A):
        return A[:, 1:, 1:] - A[:, :-1, 1:] - A[:, 1:, :-1] + A[:, :-1, :-1]

    P, P1, P2 = cells(F), cells(G1), cells(G2)
    use = P > 0
    Ps = np.where(use, P, 1.0)
    w = np.where(use, props, 0.0)
    ll = np.sum(w * np.log(Ps), axis=(1, 2))
    g = np.sum(w * P1 / Ps, axis=(1, 2))
    H = np.sum(w * (P2 / Ps - (P1 / Ps) ** 2), axis=(1, 2))
    return ll, g, H


def _fit_pairs(props, tx, ty, *, tol, max_iter, start):
    """Maximise ℓ(ρ) for every pair: Newton steps kept inside a shrinking bracket.

    As in Numerical Recipes' ``rtsafe``: a bisection replaces the Newton step when that step
    would leave the bracket, when ℓ is not concave there, or when it is not at most half the
    step before last (so a maximum on the boundary is still reached quickly).
    """
    limit = 1.0 - 1e-7
    m = len(start)
    lo = np.full(m, -limit)
    hi = np.full(m, limit)
    r = start.copy()
    last = np.full(m, 2.0)
    before_last = np.full(m, 2.0)
    active = np.ones(m, dtype=bool)
    for _ in range(max_iter):
        idx = np.nonzero(active)[0]
        if idx.size == 0:
            break
        _, g, H = _loglik_derivs(props[idx], tx[idx], ty[idx], r[idx])
        ra, loa, hia = r[idx], lo[idx], hi[idx]
        # ℓ is unimodal in ρ: a positive slope means the maximum lies to the right
        loa = np.where(g > 0, ra, loa)
        hia = np.where(g <= 0, ra, hia)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = -g / H
        newton = ra + step
        ok = (
            (H < 0)
            & np.isfinite(newton)
            & (newton > loa)
            & (newton < hia)
            & (np.abs(step) <= 0.5 * np.abs(before_last[idx]))
        )
        new = np.where(ok, newton, 0.5 * (loa + hia))
        taken = new - ra
        done = np.abs(taken) < tol
        before_last[idx] = last[idx]
        last[idx] = taken
        r[idx], lo[idx], hi[idx] = new, loa, hia
        active[idx[done]] = False
    return r, active
