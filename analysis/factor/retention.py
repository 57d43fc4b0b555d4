"""How many factors to retain: parallel analysis, Velicer's MAP and scree eigenvalues (R's psych).

Results are frozen dataclasses with ``.summary()`` and an optional ``plot(ax=None)`` that draws on
a matplotlib Axes and returns it (matplotlib is imported only when plotting).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._compat import single_threaded_blas
from analysis._results import Result
from analysis.factor.efa import extract_factors
from analysis.factor.factorability import as_correlation

__all__ = [
    "MAPResult",
    "ParallelAnalysis",
    "Scree",
    "parallel_analysis",
    "scree",
    "velicer_map",
]


def _fa_values(r: np.ndarray, method: str = "minres") -> np.ndarray:
    """Eigenvalues of R with the communalities of a one-factor solution on the diagonal."""
    load, _, _ = extract_factors(r, 1, method=method)
    reduced = r.copy()
    np.fill_diagonal(reduced, np.sum(load**2, axis=1))
    return np.linalg.eigvalsh(reduced)[::-1]


def _normal_correlations(rng: np.random.Generator, n: int, p: int, size: int) -> np.ndarray:
    """``size`` Pearson correlation matrices of n independent standard-normal p-vectors.

    The centred scatter matrix of such a sample is Wishart(n − 1, I); it is drawn by Bartlett's
    decomposition ``S = AAᵀ`` (A lower triangular, ``A_ii = √χ²(n − i)``, i = 1..p, and
    ``A_ij ~ N(0, 1)`` below the diagonal), then scaled to unit diagonal. Same distribution as
    ``cor(matrix(rnorm(n * p), n))`` in R, without generating the n × p data.
    """
    a = np.tril(rng.standard_normal((size, p, p)), k=-1)
    diag = np.sqrt(rng.chisquare(n - 1 - np.arange(p), size=(size, p)))
    idx = np.arange(p)
    a[:, idx, idx] = diag
    s = a @ np.swapaxes(a, 1, 2)
    d = np.sqrt(np.einsum("kii->ki", s))
    c = s / (d[:, :, None] * d[:, None, :])
    c[:, idx, idx] = 1.0
    return c


def _leading_count(observed: np.ndarray, threshold: np.ndarray) -> int:
    """Number of leading observed values above the threshold (psych: ``which(!(x > s))[1] - 1``)."""
    fails = np.nonzero(~(observed > threshold))[0]
    return int(fails[0]) if fails.size else int(len(observed))


def _plot_eigen(ax, series: dict, title: str):
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots()
    for label, (values, style) in series.items():
        ax.plot(np.arange(1, len(values) + 1), values, style, label=label)
    ax.axhline(1.0, color="grey", linewidth=0.8)
    ax.set_xlabel("Factor / component number")
    ax.set_ylabel("Eigenvalue")
    ax.set_title(title)
    ax.legend()
    return ax


@dataclass(frozen=True, slots=True, repr=False)
class ParallelAnalysis(Result):
    """Horn's parallel analysis, principal components and factors (``psych::fa.parallel``).

    Attributes
    ----------
    pc_values, fa_values : ndarray
        Observed eigenvalues of R and of the one-factor reduced R.
    pc_simulated, fa_simulated : ndarray
        The ``quantile`` of the eigenvalues over the simulated data sets.
    pc_simulated_mean, fa_simulated_mean : ndarray
        Their means.
    n_components, n_factors : int
        Leading observed eigenvalues above the simulated ones (psych's ``ncomp``, ``nfact``).
    n_iter : int
    quantile : float
    n_obs : int
    seed : int or None
    """

    pc_values: np.ndarray
    fa_values: np.ndarray
    pc_simulated: np.ndarray
    fa_simulated: np.ndarray
    pc_simulated_mean: np.ndarray
    fa_simulated_mean: np.ndarray
    n_components: int
    n_factors: int
    n_iter: int
    quantile: float
    n_obs: int
    seed: int | None

    def summary(self) -> pd.DataFrame:
        """One row per position.

        Columns ``number, pc_observed, pc_simulated, fa_observed, fa_simulated``.
        """
        return pd.DataFrame(
            {
                "number": np.arange(1, len(self.pc_values) + 1),
                "pc_observed": self.pc_values,
                "pc_simulated": self.pc_simulated,
                "fa_observed": self.fa_values,
                "fa_simulated": self.fa_simulated,
            }
        )

    def plot(self, ax=None):
        """Scree lines of observed and simulated eigenvalues; returns the Axes."""
        return _plot_eigen(
            ax,
            {
                "PC observed": (self.pc_values, "x-"),
                "PC simulated": (self.pc_simulated, ":"),
                "FA observed": (self.fa_values, "^-"),
                "FA simulated": (self.fa_simulated, "--"),
            },
            "Parallel analysis",
        )


def parallel_analysis(
    data,
    *,
    n_iter: int = 20,
    quantile: float = 0.95,
    n_obs: int | None = None,
    correlation: str = "pearson",
    method: str = "minres",
    seed: int | np.random.Generator | None = None,
) -> ParallelAnalysis:
    """Parallel analysis with ``psych::fa.parallel(x, fa = "both", n.iter = 20)`` defaults.

    Parameters
    ----------
    data : DataFrame or PolychoricResult
        Items (rows = respondents), a correlation matrix or a polychoric result.
    n_iter : int, default 20
        Simulated data sets.
    quantile : float, default 0.95
        Quantile of the simulated eigenvalues the observed ones must exceed (psych has always
        applied its ``quant = .95`` since 2018, although its help page still speaks of the mean).
    n_obs : int, optional
        Observations behind a correlation matrix (required then; psych would assume 100).
    correlation : {"pearson", "polychoric"}, default "pearson"
        Correlation of the observed items.
    method : {"minres", "ml", "pa"}, default "minres"
        Extraction of the one-factor solution behind the FA eigenvalues.
    seed : int or numpy Generator, optional
        Random numbers for the simulated data.

    Returns
    -------
    ParallelAnalysis

    Notes
    -----
    Observed PC eigenvalues are those of R; observed FA eigenvalues are those of R with the
    communalities of a one-factor ``method`` solution on the diagonal (psych's
    ``fa(r)$values``). Each iteration takes the Pearson correlations of an n × p
    standard-normal sample and their PC and FA eigenvalues in the same way; the correlation
    matrices are drawn directly from their sampling distribution (Bartlett's decomposition of
    Wishart(n − 1, I), which is exact), so the n × p data are never generated. ``n_components``
    counts the leading observed PC eigenvalues greater than the ``quantile`` (R's type-7 quantile)
    of the
    simulated ones, stopping at the first that is not; ``n_factors`` likewise for FA values.
    psych also computes eigenvalues of resampled (column-wise bootstrapped) data and plots
    them, but with ``fa = "both"`` and raw data its ``nfact``/``ncomp`` come from the simulated
    normal data, which is what is computed here; resampling is not done. The simulated values
    depend on the random numbers, so they differ from R's; the counts agree in practice.

    References
    ----------
    Horn, J. L. (1965). A rationale and test for the number of factors in factor analysis.
    *Psychometrika*, 30, 179–185.

    Examples
    --------
    >>> rng = np.random.default_rng(0)  # synthetic one-factor data
    >>> x = pd.DataFrame(rng.standard_normal((300, 1)) @ np.full((1, 6), .7)
    ...                  + rng.standard_normal((300, 6)) * .7, columns=list("abcdef"))
    >>> pa = parallel_analysis(x, seed=1)
    >>> pa.n_components, pa.n_factors
    (1, 1)
    """
    if not (isinstance(n_iter, (int, np.integer)) and n_iter >= 1):
        raise ValueError(f"n_iter must be a positive integer, got {n_iter!r}")
    if not 0 < quantile < 1:
        raise ValueError(f"quantile must be between 0 and 1, got {quantile}")
    r_df, n, _ = as_correlation(data, n_obs=n_obs, correlation=correlation)
    if n is None:
        raise ValueError("n_obs is required when data is a correlation matrix")
    r = r_df.to_numpy(dtype=float)
    p = r.shape[0]
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    pc_sim = np.empty((n_iter, p))
    fa_sim = np.empty((n_iter, p))
    with single_threaded_blas():
        pc_obs = np.linalg.eigvalsh(r)[::-1]
        fa_obs = _fa_values(r, method)
        sims = _normal_correlations(rng, n, p, n_iter)
        pc_sim[:] = np.linalg.eigvalsh(sims)[:, ::-1]
        for i in range(n_iter):
            fa_sim[i] = _fa_values(sims[i], method)
    pc_q = np.quantile(pc_sim, quantile, axis=0)
    fa_q = np.quantile(fa_sim, quantile, axis=0)
    return ParallelAnalysis(
        pc_values=pc_obs,
        fa_values=fa_obs,
        pc_simulated=pc_q,
        fa_simulated=fa_q,
        pc_simulated_mean=pc_sim.mean(axis=0),
        fa_simulated_mean=fa_sim.mean(axis=0),
        n_components=_leading_count(pc_obs, pc_q),
        n_factors=_leading_count(fa_obs, fa_q),
        n_iter=int(n_iter),
        quantile=float(quantile),
        n_obs=int(n),
        seed=seed if isinstance(seed, (int, np.integer)) else None,
    )


@dataclass(frozen=True, slots=True, repr=False)
class MAPResult(Result):
    """Velicer's minimum average partial criterion.

    Attributes
    ----------
    values : pandas.Series
        Average squared partial correlation after removing 1..k components (index = k).
    n_factors : int
        The k with the smallest value.
    """

    values: pd.Series
    n_factors: int

    def summary(self) -> pd.DataFrame:
        """One row per number of components: ``n_components, map``."""
        return pd.DataFrame({"n_components": self.values.index, "map": self.values.to_numpy()})

    def plot(self, ax=None):
        """MAP values against the number of components; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots()
        ax.plot(self.values.index, self.values.to_numpy(), "o-")
        ax.axvline(self.n_factors, color="grey", linewidth=0.8)
        ax.set_xlabel("Components removed")
        ax.set_ylabel("Average squared partial correlation")
        ax.set_title("Velicer's MAP")
        return ax


def velicer_map(data, *, max_factors: int = 8, correlation: str = "pearson") -> MAPResult:
    """Velicer's MAP values for 1..``max_factors`` components (``psych::vss(x, n = 8)$map``).

    Parameters
    ----------
    data : DataFrame or PolychoricResult
        Items, a correlation matrix or a polychoric result.
    max_factors : int, default 8
        Largest number of components (at most p − 1 are used, as psych).
    correlation : {"pearson", "polychoric"}, default "pearson"

    Returns
    -------
    MAPResult

    Notes
    -----
    With A_k the first k principal-component loadings (eigenvectors scaled by √λ),
    ``C_k = R − A_k A_kᵀ`` is rescaled to unit diagonal and
    ``MAP_k = Σ_{i≠j} c²_ij / (p(p − 1))``. psych's version starts at k = 1 (Velicer's original
    also reports k = 0, the average squared correlation).

    References
    ----------
    Velicer, W. F. (1976). Determining the number of components from the matrix of partial
    correlations. *Psychometrika*, 41, 321–327.

    Examples
    --------
    >>> lam = np.array([.8, .7, .6, .7, .6, .5])  # a one-factor correlation matrix
    >>> r = np.outer(lam, lam)
    >>> np.fill_diagonal(r, 1)
    >>> velicer_map(pd.DataFrame(r, index=list("abcdef"), columns=list("abcdef"))).n_factors
    1
    """
    r_df, _, _ = as_correlation(data, correlation=correlation)
    r = r_df.to_numpy(dtype=float)
    p = r.shape[0]
    if max_factors < 1:
        raise ValueError(f"max_factors must be at least 1, got {max_factors}")
    n1 = min(max_factors, p - 1)
    vals, vecs = np.linalg.eigh(r)
    vals, vecs = vals[::-1], vecs[:, ::-1]
    comp = vecs * np.sqrt(np.maximum(vals, 0.0))
    out = np.empty(n1)
    for k in range(1, n1 + 1):
        c = r - comp[:, :k] @ comp[:, :k].T
        d = 1.0 / np.sqrt(np.diag(c))
        rstar = c * np.outer(d, d)
        np.fill_diagonal(rstar, 0.0)
        out[k - 1] = np.sum(rstar**2) / (p * (p - 1))
    values = pd.Series(out, index=pd.RangeIndex(1, n1 + 1, name="n_components"), name="map")
    return MAPResult(values=values, n_factors=int(np.argmin(out) + 1))


@dataclass(frozen=True, slots=True, repr=False)
class Scree(Result):
    """Eigenvalues for a scree plot.

    Attributes
    ----------
    pc_values : ndarray
        Eigenvalues of R.
    fa_values : ndarray
        Eigenvalues of R with one-factor communalities on the diagonal.
    """

    pc_values: np.ndarray
    fa_values: np.ndarray

    def summary(self) -> pd.DataFrame:
        """One row per position: ``number, pc_value, fa_value``."""
        return pd.DataFrame(
            {
                "number": np.arange(1, len(self.pc_values) + 1),
                "pc_value": self.pc_values,
                "fa_value": self.fa_values,
            }
        )

    def plot(self, ax=None):
        """Scree plot of both sets of eigenvalues with a line at 1; returns the Axes."""
        return _plot_eigen(
            ax, {"PC": (self.pc_values, "x-"), "FA": (self.fa_values, "^-")}, "Scree plot"
        )


def scree(data, *, correlation: str = "pearson", method: str = "minres") -> Scree:
    """Principal-component and factor eigenvalues of the correlation matrix (``psych::scree``).

    Parameters
    ----------
    data : DataFrame or PolychoricResult
        Items, a correlation matrix or a polychoric result.
    correlation : {"pearson", "polychoric"}, default "pearson"
    method : {"minres", "ml", "pa"}, default "minres"

    Returns
    -------
    Scree

    Examples
    --------
    >>> r = pd.DataFrame(np.eye(3), index=list("abc"), columns=list("abc"))
    >>> scree(r).pc_values.tolist()
    [1.0, 1.0, 1.0]
    """
    r_df, _, _ = as_correlation(data, correlation=correlation)
    r = r_df.to_numpy(dtype=float)
    return Scree(pc_values=np.linalg.eigvalsh(r)[::-1], fa_values=_fa_values(r, method))
