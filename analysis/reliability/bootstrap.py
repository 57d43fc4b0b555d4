"""The vectorised bootstrap engine behind the alpha and omega intervals.

Resamples are drawn as pair moments (sums and cross-products over resampled rows), so one pass
yields every resample's pairwise covariance matrix; omega's resamples are refitted by batched
minres solvers, falling back to :func:`analysis.factor.extraction.extract_factors` (the package's
minres, as psych's) one resample at a time.

Why the bootstrap keeps its own batched solvers instead of calling ``extract_factors`` for every
resample: they fit a stack of hundreds of matrices with a few array operations per step, where
``extract_factors`` pays Python and LAPACK call overhead per matrix (about 0.5-1 ms each for 36
items, so 0.5-1 s per 1,000 resamples against tens of milliseconds batched). They solve the same
stationarity condition (``diag(ΛΛ' + Ψ - R) = 0``) and are checked against ``extract_factors``
per resample to 1e-11 in the tests. With one factor the loadings have a closed-form gradient and
Hessian and Newton's method (:func:`one_factor_minres_batch`) converges in a few steps; with
several, rotation leaves the loadings undetermined, so :func:`minres_uniqueness_batch` iterates
the uniquenesses (principal axes). The second also solves the one-factor case, to the same point
within its tolerance (uniquenesses within 2.7e-9 on bfi's five scales, 500 resamples), but 10 to
200 times slower (0.02-0.39 s against 0.002-0.1 s per scale), so the one-factor bootstrap keeps
Newton.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
from scipy import special  # not scipy.stats: ~1 s to import

from analysis.errors import DataQualityWarning
from analysis.reliability.keying import KeyedItems, check_boot_settings
from analysis.reliability.results import BootstrapResult

__all__ = [
    "bootstrap_from_keyed",
    "percentile_result",
    "bootstrap_alphas",
    "bootstrap_correlations",
    "one_factor_minres_batch",
    "minres_uniqueness_batch",
    "resampled_correlations",
    "MAX_BOOT_REFITS",
    "omega_total_replicates",
]


def bootstrap_from_keyed(
    keyed: KeyedItems,
    *,
    n_boot: int,
    ci_level: float,
    seed: int | None,
    estimate: float,
    chunk_size: int | None = None,
) -> BootstrapResult:
    check_boot_settings(n_boot, chunk_size)
    alphas = bootstrap_alphas(
        keyed.data.to_numpy(dtype="float64"), n_boot, np.random.default_rng(seed), chunk_size
    )
    return percentile_result(
        alphas, estimate=estimate, ci_level=ci_level, seed=seed, keyed=keyed,
        coefficient="alpha", reason="had an item pair with fewer than 2 common answers",
    )  # fmt: skip


def percentile_result(
    replicates: np.ndarray,
    *,
    estimate: float,
    ci_level: float,
    seed: int | None,
    keyed: KeyedItems,
    coefficient: str,
    reason: str,
) -> BootstrapResult:
    """Percentile interval (and psych's Fisher-z normal interval) of bootstrap replicates."""
    n_boot = len(replicates)
    finite = replicates[np.isfinite(replicates)]
    if finite.size < n_boot:
        warnings.warn(
            f"{n_boot - finite.size} of {n_boot} bootstrap resamples {reason} and were left out "
            f"of the interval of {coefficient}",
            DataQualityWarning,
            stacklevel=4,
        )
    if finite.size < 2:
        raise ValueError(
            f"n_boot: fewer than 2 of the {n_boot} bootstrap resamples gave a value of "
            f"{coefficient}; no interval"
        )
    lo_q, hi_q = (1.0 - ci_level) / 2.0, (1.0 + ci_level) / 2.0
    low, med, high = np.quantile(finite, [lo_q, 0.5, hi_q])
    # psych::omega(n.iter =)'s interval: mean ± z·sd of the Fisher z of the replicates, back
    # transformed (psych applies it to omega_h, alpha, omega.tot and G6)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.arctanh(np.clip(finite, -1.0, 1.0))
    z = z[np.isfinite(z)]
    q = special.ndtri(hi_q)
    sd = float(np.std(z, ddof=1)) if z.size > 1 else float("nan")
    fisher = (float(np.tanh(z.mean() - q * sd)), float(np.tanh(z.mean() + q * sd)))
    return BootstrapResult(
        estimate=float(estimate),
        ci_low=float(low),
        ci_high=float(high),
        ci_level=ci_level,
        median=float(med),
        n_boot=int(n_boot),
        seed=seed,
        n_obs=keyed.n_obs,
        missing=keyed.missing,
        replicates=replicates,
        coefficient=coefficient,
        fisher_z_ci=fisher,
        n_failed=int(n_boot - finite.size),
    )


def bootstrap_alphas(
    X: np.ndarray, n_boot: int, rng: np.random.Generator, chunk_size: int | None
) -> np.ndarray:
    """Raw alpha of ``n_boot`` row resamples of X (NaN = missing), pairwise covariances.

    The pairwise covariances of every resample come from :func:`_resample_pair_moments`; alpha
    is ``k/(k-1) (1 - tr C / 1'C1)`` of each.
    """
    k = X.shape[1]
    iu, ju = np.triu_indices(k)
    diag = iu == ju
    alphas = np.empty(n_boot)
    for start, mom in _resample_pair_moments(X, n_boot, rng, chunk_size):
        cov = mom.covariance()
        trace = cov[:, diag].sum(axis=1)
        total = trace + 2.0 * cov[:, ~diag].sum(axis=1)
        alphas[start : start + len(cov)] = (1.0 - trace / total) * k / (k - 1)
    return alphas


@dataclass(frozen=True, slots=True)
class _PairMoments:
    """Pairwise-complete moments of a batch of resamples, one row per resample and one column per
    item pair ``(i, j)`` of ``np.triu_indices(k)`` (diagonal included).

    ``n`` rows answering both items, ``s_i``/``s_j`` the sums of item i/j over those rows,
    ``s_ij`` the sum of cross products, and (only when asked for) ``q_i``/``q_j`` the sums of
    squares of item i/j over those rows. Items are shifted by constants, which changes none of
    the covariances or correlations.
    """

    n: np.ndarray
    s_i: np.ndarray
    s_j: np.ndarray
    s_ij: np.ndarray
    q_i: np.ndarray | None = None
    q_j: np.ndarray | None = None

    def covariance(self) -> np.ndarray:
        """``cov(use = "pairwise")``: ``(s_ij - s_i s_j / n) / (n - 1)``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.s_ij - self.s_i * self.s_j / self.n) / (self.n - 1.0)

    def correlation(self) -> np.ndarray:
        """``cor(use = "pairwise")``: each pair's own means and SDs over its complete rows."""
        with np.errstate(invalid="ignore", divide="ignore"):
            cross = self.s_ij - self.s_i * self.s_j / self.n
            var_i = self.q_i - self.s_i**2 / self.n
            var_j = self.q_j - self.s_j**2 / self.n
            return cross / np.sqrt(var_i * var_j)


def _resample_pair_moments(
    X: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    chunk_size: int | None,
    *,
    squares: bool = False,
) -> Iterator[tuple[int, _PairMoments]]:
    """Pairwise moments of ``n_boot`` row resamples of X (NaN = missing), in batches.

    Yields ``(start, moments)`` for resamples ``start, start + 1, ...``. For a resample with row
    counts w (one row of the count matrix W), x zero-filled and m_i the indicator that item i is
    answered:

    - over all rows: ``N = Σw``, ``S_i = Σ w x_i``, ``s_ij = Σ w x_i x_j`` (zero-filling makes
      ``s_ij`` cover only the rows answering both items);
    - over the rows where item j is missing (a sparse part: one small product per item):
      ``K_ij = Σ w x_i (1 - m_j)``, ``Q_ij = Σ w x_i² (1 - m_j)`` and
      ``D_ij = Σ w (1 - m_i)(1 - m_j)``, so that ``L_ij = Σ w (1 - m_i m_j) = D_ii + D_jj - D_ij``;
    - then ``n_ij = N - L_ij``, ``s_i|j = S_i - K_ij`` and ``q_i|j = s_ii - Q_ij`` are the
      pairwise-complete count, sum and sum of squares (``q`` only with ``squares``).

    That is one large matrix product per batch of resamples plus one per item over the rows
    missing that item (about ``3 k × (missing cells)`` per resample instead of a dense product
    over every incomplete row).
    Items are shifted by their rounded means; when every value is then a whole number and
    ``n·max|x|² < 2²⁴`` the products are exact in float32 (about twice as fast as float64,
    which is used otherwise). The random draws depend only on ``n``, ``n_boot``, the generator
    and ``chunk_size``, so alpha and omega with the same seed use the same resamples.
    """
    from analysis._compat import single_threaded_blas

    n, k = X.shape
    answered = ~np.isnan(X)
    shift = np.round(np.nanmean(X, axis=0))
    Xs = np.where(answered, X - shift, 0.0)
    iu, ju = np.triu_indices(k)
    whole = bool(np.all(Xs == np.round(Xs)))
    dtype = (
        np.float32
        if whole and n * float(np.max(np.abs(Xs), initial=0.0)) ** 2 < 2**24
        else np.float64
    )
    # [1, x, x_i x_j for i <= j in triu order]: row i of the upper triangle is one column block
    Xd = Xs.astype(dtype)
    design = np.empty((n, 1 + k + len(iu)), dtype=dtype)
    design[:, 0] = 1.0
    design[:, 1 : k + 1] = Xd
    col = k + 1
    for i in range(k):
        np.multiply(Xd[:, i : i + 1], Xd[:, i:], out=design[:, col : col + k - i])
        col += k - i
    miss = ~answered
    # per item j: the rows where j is missing, and those rows' [x, x², missing] (sparse part)
    lost_rows = [np.flatnonzero(miss[:, j]) for j in range(k)]
    lost_design = [
        np.hstack([Xs[r], Xs[r] ** 2, miss[r].astype("float64")]).astype(dtype) for r in lost_rows
    ]
    if chunk_size is None:
        # few large products: fewer BLAS calls (and thread hand-offs) per resample
        chunk_size = max(1, min(n_boot, 16_000_000 // max(n, 1)))
    sub = max(1, 500_000 // max(n, 1))  # resamples counted at a time (cache-sized index arrays)
    p = len(iu)
    W = np.empty((min(chunk_size, n_boot), n), dtype=dtype)
    for start in range(0, n_boot, chunk_size):
        b = min(chunk_size, n_boot - start)
        for q in range(0, b, sub):
            m = min(sub, b - q)
            rows = rng.integers(0, n, size=(m, n))
            rows += (np.arange(m) * n)[:, None]
            W[q : q + m] = np.bincount(rows.ravel(), minlength=m * n).reshape(m, n)
        with single_threaded_blas():  # see analysis._compat: threads lose on a shared machine
            moments = (W[:b] @ design).astype("float64")
        N, S, sxy = moments[:, 0], moments[:, 1 : k + 1], moments[:, k + 1 :]
        nij = np.repeat(N[:, None], p, axis=1)
        si, sj = S[:, iu], S[:, ju]
        qi = qj = None
        if squares:
            sq = sxy[:, iu == ju]
            qi, qj = sq[:, iu], sq[:, ju]
        if any(r.size for r in lost_rows):
            # [K | Q | D][:, :, j] = Σ over the rows missing j of w·[x_i, x_i², 1 - m_i]
            lost = np.zeros((b, 3 * k, k))
            with single_threaded_blas():
                for j, r in enumerate(lost_rows):
                    if r.size:
                        lost[:, :, j] = W[:b, r] @ lost_design[j]
            K, Q, D = lost[:, :k], lost[:, k : 2 * k], lost[:, 2 * k :]
            M = D[:, np.arange(k), np.arange(k)]  # Σ w over the rows missing item i
            nij = nij - (M[:, iu] + M[:, ju] - D[:, iu, ju])  # L_ij = M_i + M_j - D_ij
            si = si - K[:, iu, ju]
            sj = sj - K[:, ju, iu]
            if squares:
                qi = qi - Q[:, iu, ju]
                qj = qj - Q[:, ju, iu]
        yield start, _PairMoments(nij, si, sj, sxy, qi, qj)


_PSI_LOWER = 0.005  # psych's lower bound on the uniquenesses (fa: optim L-BFGS-B)


def bootstrap_correlations(
    X: np.ndarray, n_boot: int, rng: np.random.Generator, chunk_size: int | None
) -> np.ndarray:
    """``cor(x[rows, ], use = "pairwise")`` of ``n_boot`` row resamples: ``(n_boot, k, k)``.

    From the same pairwise moments as the alpha bootstrap (:func:`_resample_pair_moments`, with
    the sums of squares); a resample with an item pair lacking 2 common answers or variance has
    NaN entries.
    """
    k = X.shape[1]
    iu, ju = np.triu_indices(k)
    out = np.empty((n_boot, k, k))
    for start, mom in _resample_pair_moments(X, n_boot, rng, chunk_size, squares=True):
        r = mom.correlation()
        block = out[start : start + len(r)]
        block[:, iu, ju] = r
        block[:, ju, iu] = r
    return out


def one_factor_minres_batch(
    R: np.ndarray, start: np.ndarray, *, tol: float = 1e-10, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """One-factor minres loadings of a stack of correlation matrices by Newton's method.

    Minimises ``f(λ) = Σ_{i<j} (r_ij - λ_i λ_j)²`` for every matrix at once, from ``start``
    (the full-sample loadings). With ``e_ij = r_ij - λ_i λ_j`` the gradient is
    ``g_i = -Σ_{j≠i} e_ij λ_j`` and the Hessian ``H_ii = Σ_{j≠i} λ_j²``,
    ``H_ij = 2 λ_i λ_j - r_ij`` (both halved). Returns ``(loadings, ok)``: ok marks matrices
    whose iteration converged to a minimum (positive definite Hessian) inside psych's bounds
    ``λ_i² ≤ 1 - 0.005``; psych's L-BFGS-B over the uniquenesses stops at the same point
    there, since at an interior optimum of minres the communalities equal ``λ_i²``.
    """
    b, k, _ = R.shape
    lam = np.broadcast_to(start, (b, k)).copy()
    idx = np.arange(k)
    done = np.zeros(b, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(max_iter):
            ll = lam[:, :, None] * lam[:, None, :]
            E = R - ll
            E[:, idx, idx] = 0.0
            g = -np.einsum("bij,bj->bi", E, lam)
            H = 2.0 * ll - R
            H[:, idx, idx] = (lam**2).sum(axis=1)[:, None] - lam**2
            try:
                step = np.linalg.solve(H, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                break  # a singular Hessian somewhere: the rest are refitted one by one
            step[~np.isfinite(step)] = np.nan
            lam = lam - step
            done = np.nan_to_num(np.abs(step), nan=np.inf).max(axis=1) < tol
            if done.all():
                break
        ll = lam[:, :, None] * lam[:, None, :]
        H = 2.0 * ll - R
        H[:, idx, idx] = (lam**2).sum(axis=1)[:, None] - lam**2
        H[~np.isfinite(H)] = 0.0
        try:  # positive definite Hessians (the usual case) factor; eigenvalues only otherwise
            np.linalg.cholesky(H)
            minimum = np.ones(b, dtype=bool)
        except np.linalg.LinAlgError:
            minimum = np.linalg.eigvalsh(H)[:, 0] > 0
    inside = np.all(lam**2 <= 1.0 - _PSI_LOWER, axis=1) & np.isfinite(lam).all(axis=1)
    return lam, done & minimum & inside


def minres_uniqueness_batch(
    R: np.ndarray, n_factors: int, start: np.ndarray, *, tol: float = 1e-9, max_iter: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Uniquenesses of a ``n_factors`` minres solution of a stack of correlation matrices.

    Iterated principal axes ``ψ ← diag(R) - diag(ΛΛ')``, Λ the first ``n_factors`` principal
    axes of ``S = R - Ψ``, from ``start`` (the full-sample ψ). Its fixed point is the stationary
    point of minres (psych's gradient ``diag(ΛΛ' + Ψ - R)`` is zero there). Instead of a full
    eigendecomposition per step, the principal axes are carried along by one step of subspace
    iteration on ``S + I`` (positive semi-definite, so its dominant subspace is that of the
    largest eigenvalues of S) with a Rayleigh–Ritz projection; at the end one full
    eigendecomposition recomputes ψ exactly and checks that it has not moved. Returns
    ``(psi, ok)``; ok marks matrices that converged (largest change below ``tol``, and below
    ``100 tol`` in that final check) inside psych's bounds ``0.005 ≤ ψ ≤ 1``.
    """
    b, k, _ = R.shape
    psi = np.broadcast_to(start, (b, k)).astype("float64", copy=True)
    idx = np.arange(k)
    finite = np.isfinite(R).all(axis=(1, 2))
    S = np.where(finite[:, None, None], R, np.eye(k))
    diag = S[:, idx, idx].copy()
    done = np.zeros(b, dtype=bool)

    def reduced() -> np.ndarray:
        S[:, idx, idx] = diag - psi
        S[~finite] = np.eye(k)
        return S

    w, v = np.linalg.eigh(reduced())
    axes, values = v[:, :, -n_factors:], w[:, -n_factors:]
    for _ in range(max_iter):
        new = diag - (axes**2 * np.maximum(values, 0.0)[:, None, :]).sum(axis=2)
        change = np.abs(new - psi).max(axis=1)
        psi = new
        done = change < tol
        if done[finite].all():
            break
        reduced()
        q, _ = np.linalg.qr(S @ axes + axes)  # one subspace-iteration step on S + I
        values, rotation = np.linalg.eigh(np.swapaxes(q, 1, 2) @ S @ q)
        axes = q @ rotation
    w, v = np.linalg.eigh(reduced())
    exact = diag - (v[:, :, -n_factors:] ** 2 * np.maximum(w[:, -n_factors:], 0.0)[:, None, :]).sum(
        axis=2
    )
    done &= np.abs(exact - psi).max(axis=1) < 100 * tol
    psi = exact
    inside = np.all((psi >= _PSI_LOWER) & (psi <= 1.0), axis=1)
    return psi, done & inside & finite


def resampled_correlations(
    keyed: KeyedItems, *, n_boot: int, seed: int | None, chunk_size: int | None
) -> np.ndarray:
    return bootstrap_correlations(
        keyed.data.to_numpy(dtype="float64"), n_boot, np.random.default_rng(seed), chunk_size
    )


#: Most resamples of one bootstrap refitted one by one with psych's bounded minres
#: (:func:`analysis.factor.extraction.extract_factors`) when the vectorised solvers stop at a Heywood case
#: or do
#: not converge; further failures are left out of the interval with a warning. About 10 ms each
#: for 37 items and 6 factors, so at most ~1 s per scale.
MAX_BOOT_REFITS = 100


def omega_total_replicates(
    R: np.ndarray,
    *,
    n_factors: int,
    start: np.ndarray,
    signs: np.ndarray | None,
    max_refits: int = MAX_BOOT_REFITS,
) -> np.ndarray:
    """Omega total of each resampled correlation matrix in R (NaN where a resample gives none).

    ``start``: full-sample loadings (one factor) or uniquenesses (several). ``signs``: None to
    flip each resample by the signs of its own one-factor loadings (psych's ``flip``), else
    the fixed ±1 per item applied to every resample (keys, or the full-sample flip).
    ``max_refits``: most resamples refitted one by one (:data:`MAX_BOOT_REFITS`).
    """
    from analysis.factor.extraction import extract_factors

    finite = np.isfinite(R).all(axis=(1, 2))
    from analysis._compat import single_threaded_blas

    # many small factorizations: threaded BLAS only adds hand-offs (100x slower under load)
    with single_threaded_blas():
        if n_factors == 1:
            lam, ok = one_factor_minres_batch(np.where(finite[:, None, None], R, 0.0), start)
            uniq = 1.0 - lam**2
        else:
            uniq, ok = minres_uniqueness_batch(R, n_factors, start)
            lam = None
        ok &= finite
        refit = np.flatnonzero(finite & ~ok)
        if refit.size > max_refits:
            warnings.warn(
                f"{refit.size} of {len(R)} bootstrap resamples needed psych's bounded minres "
                f"(a Heywood case or slow convergence); only the first {max_refits} were refitted "
                "and the rest left out of the interval",
                DataQualityWarning,
                stacklevel=3,
            )
            refit = refit[:max_refits]
        # a Heywood case or slow convergence: psych's bounded minres, one resample at a time.
        # Inside the one-thread block: each L-BFGS-B step is a small eigh, which a threaded
        # BLAS made 10-30 times slower (35 s for 30 respondents before this was moved here)
        for b in refit:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    load, psi, _ = extract_factors(R[b], n_factors, method="minres")
            except (ValueError, np.linalg.LinAlgError, ArithmeticError):
                continue
            uniq[b] = np.diag(R[b]) - (load**2).sum(axis=1)
            if lam is not None:
                lam[b] = load[:, 0]
            ok[b] = np.isfinite(uniq[b]).all()
    if signs is None:
        assert lam is not None  # filled above whenever signs is None
        s = np.where(lam < 0, -1.0, 1.0)
        Vt = np.einsum("bi,bij,bj->b", s, np.where(finite[:, None, None], R, 0.0), s)
    else:
        Vt = np.einsum("i,bij,j->b", signs, np.where(finite[:, None, None], R, 0.0), signs)
    with np.errstate(invalid="ignore", divide="ignore"):
        omega_t = (Vt - uniq.sum(axis=1)) / Vt
    omega_t[~ok] = np.nan
    return omega_t
