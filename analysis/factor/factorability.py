"""Is a correlation matrix worth factoring? KMO sampling adequacy and Bartlett's sphericity test.

Both accept item responses (Pearson correlations from pairwise complete observations), a
correlation matrix, or a :class:`~analysis.factor.polychoric.PolychoricResult`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: ~1 s to import

from analysis._compat import single_threaded_blas
from analysis._results import Result
from analysis.correlation import pairwise_correlation_array as _pairwise
from analysis.factor.polychoric import PolychoricResult, polychoric

__all__ = [
    "BartlettResult",
    "KMOResult",
    "as_correlation",
    "bartlett_sphericity",
    "kmo",
    "pairwise_correlation",
]


def pairwise_correlation(items: pd.DataFrame) -> pd.DataFrame:
    """Pearson correlations from pairwise complete observations (R: ``cor(x, use = "pairwise")``).

    Parameters
    ----------
    items : DataFrame
        Numeric columns; NaN marks a missing answer.

    Returns
    -------
    DataFrame
        Items × items correlations; NaN where a pair has fewer than two joint answers or no
        variance among them.

    Notes
    -----
    For each pair only the rows answering both count: means, variances and the covariance are
    those of these rows, as R and ``DataFrame.corr`` compute them. Done with a few matrix
    products over the whole table (after centring each column at its mean, for accuracy)
    instead of a loop over pairs.

    Examples
    --------
    >>> x = pd.DataFrame({"a": [1, 2, 3, 4, np.nan], "b": [2, 1, 4, 3, 5], "c": [1, 2, 3, 5, 4]})
    >>> bool(np.allclose(pairwise_correlation(x), x.corr()))
    True
    """
    values = items.to_numpy(dtype=float, na_value=np.nan)
    mask = np.isfinite(values)
    with single_threaded_blas():
        r = _pairwise(values, mask)
    return pd.DataFrame(r, index=items.columns, columns=items.columns)


def _is_correlation(x: pd.DataFrame) -> bool:
    """psych's ``isCorrelation``: square, symmetric, unit diagonal."""
    if x.shape[0] != x.shape[1] or list(x.index) != list(x.columns):
        return False
    if not all(pd.api.types.is_numeric_dtype(t) for t in x.dtypes):
        return False
    v = x.to_numpy(dtype=float, na_value=np.nan)
    return bool(np.all(np.isfinite(v)) and np.allclose(v, v.T) and np.allclose(np.diag(v), 1.0))


def as_correlation(
    data, *, n_obs: int | None = None, correlation: str = "pearson"
) -> tuple[pd.DataFrame, int | None, pd.DataFrame | None]:
    """The correlation matrix, number of observations and raw items behind ``data``.

    Parameters
    ----------
    data : DataFrame, ndarray or PolychoricResult
        Item responses (rows = respondents), or a square correlation matrix with matching row
        and column labels and unit diagonal, or a polychoric result.
    n_obs : int, optional
        Observations behind a correlation matrix (ignored for item data, where it is the number
        of rows, as psych).
    correlation : {"pearson", "polychoric"}, default "pearson"
        How to correlate item data: Pearson on pairwise complete observations (R's
        ``cor(x, use = "pairwise")``) or :func:`~analysis.factor.polychoric.polychoric`.

    Returns
    -------
    (R, n, items)
        The correlation DataFrame, n (None when unknown) and the item DataFrame (None when a
        matrix was given).
    """
    if correlation not in ("pearson", "polychoric"):
        raise ValueError(f"correlation must be 'pearson' or 'polychoric', got {correlation!r}")
    if isinstance(data, PolychoricResult):
        return data.rho, (n_obs if n_obs is not None else data.n_respondents), None
    if isinstance(data, np.ndarray):
        data = pd.DataFrame(data, columns=[f"V{i + 1}" for i in range(data.shape[1])])
        if data.shape[0] == data.shape[1]:
            data.index = data.columns
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"expected a DataFrame, ndarray or PolychoricResult, got {type(data)!r}")
    if _is_correlation(data):
        if n_obs is not None and n_obs < 2:
            raise ValueError(f"n_obs must be at least 2, got {n_obs}")
        return data.astype(float), n_obs, None
    # dtypes, not data[c]: a column lookup per item cost ~5 ms on 36 items
    bad = [c for c, t in data.dtypes.items() if not pd.api.types.is_numeric_dtype(t)]
    if bad:
        raise ValueError(f"item columns must be numeric; non-numeric: {bad}")
    if data.shape[1] < 2:
        raise ValueError("at least two items are needed")
    r = polychoric(data).rho if correlation == "polychoric" else pairwise_correlation(data)
    if r.isna().to_numpy().any():
        bad_items = sorted({c for c in r.columns if r[c].isna().any()})
        raise ValueError(
            f"correlations could not be computed for items {bad_items} "
            "(no variance or no pairwise overlap)"
        )
    return r, int(data.shape[0]), data  # not a float copy (~2 ms): EFA reads it as floats


@dataclass(frozen=True, slots=True, repr=False)
class KMOResult(Result):
    """Kaiser–Meyer–Olkin measure of sampling adequacy.

    Attributes
    ----------
    overall : float
        Overall MSA.
    items : pandas.Series
        MSA of each item.
    """

    overall: float
    items: pd.Series

    def summary(self) -> pd.DataFrame:
        """One row per item plus ``overall``: columns ``item, msa``."""
        rows = [("overall", self.overall)] + list(self.items.items())
        return pd.DataFrame(rows, columns=["item", "msa"])


@dataclass(frozen=True, slots=True, repr=False)
class BartlettResult(Result):
    """Bartlett's test that a correlation matrix is an identity matrix.

    Attributes
    ----------
    chi_square, dof, p_value : float
    n_obs : int
    """

    chi_square: float
    dof: float
    p_value: float
    n_obs: int

    def summary(self) -> pd.DataFrame:
        """One row: ``chi_square, dof, p_value, n_obs``."""
        return pd.DataFrame(
            [
                {
                    "chi_square": self.chi_square,
                    "dof": self.dof,
                    "p_value": self.p_value,
                    "n_obs": self.n_obs,
                }
            ]
        )


def kmo(data, *, correlation: str = "pearson") -> KMOResult:
    """Kaiser–Meyer–Olkin sampling adequacy, overall and per item (``psych::KMO``).

    Parameters
    ----------
    data : DataFrame or PolychoricResult
        Items, a correlation matrix or a polychoric result (see :func:`as_correlation`).
    correlation : {"pearson", "polychoric"}, default "pearson"
        Correlation used for item data.

    Returns
    -------
    KMOResult

    Notes
    -----
    With ``Q = R⁻¹`` rescaled to unit diagonal (the anti-image correlations up to sign),
    ``MSA = Σ_{i≠j} r²_ij / (Σ_{i≠j} r²_ij + Σ_{i≠j} q²_ij)`` and, per item, the same sums over
    its column. If R is singular psych uses R itself as Q (with a message); here the
    Moore–Penrose inverse is used and a warning issued.

    References
    ----------
    Kaiser, H. F. (1970). A second generation little jiffy. *Psychometrika*, 35, 401–415.

    Examples
    --------
    >>> r = pd.DataFrame([[1, .5, .4], [.5, 1, .3], [.4, .3, 1]], index=list("abc"),
    ...                  columns=list("abc"))
    >>> round(kmo(r).overall, 3)
    0.628
    """
    r_df, _, _ = as_correlation(data, correlation=correlation)
    r = r_df.to_numpy(dtype=float)
    try:
        q = np.linalg.inv(r)
    except np.linalg.LinAlgError:
        warnings.warn(
            "the correlation matrix is singular; KMO uses its pseudo-inverse",
            UserWarning,
            stacklevel=2,
        )
        q = np.linalg.pinv(r)
    d = np.sqrt(np.diag(q))
    q = q / np.outer(d, d)
    np.fill_diagonal(q, 0.0)
    r0 = r.copy()
    np.fill_diagonal(r0, 0.0)
    r2, q2 = r0**2, q**2
    overall = r2.sum() / (r2.sum() + q2.sum())
    items = r2.sum(axis=0) / (r2.sum(axis=0) + q2.sum(axis=0))
    return KMOResult(overall=float(overall), items=pd.Series(items, index=r_df.columns, name="msa"))


def bartlett_sphericity(
    data, *, n_obs: int | None = None, correlation: str = "pearson"
) -> BartlettResult:
    """Bartlett's test of sphericity (``psych::cortest.bartlett(R, n)``).

    Parameters
    ----------
    data : DataFrame or PolychoricResult
        Items, a correlation matrix or a polychoric result (see :func:`as_correlation`).
    n_obs : int, optional
        Observations; required for a correlation matrix (psych falls back to 100 with a
        warning; here it is an error). For items it is the number of rows.
    correlation : {"pearson", "polychoric"}, default "pearson"

    Returns
    -------
    BartlettResult

    Notes
    -----
    ``χ² = −(n − 1 − (2p + 5)/6) · ln|R|`` on ``p(p − 1)/2`` degrees of freedom.

    References
    ----------
    Bartlett, M. S. (1951). The effect of standardization on a χ² approximation in factor
    analysis. *Biometrika*, 38, 337–344.

    Examples
    --------
    >>> r = pd.DataFrame([[1, .5], [.5, 1]], index=["a", "b"], columns=["a", "b"])
    >>> res = bartlett_sphericity(r, n_obs=100)
    >>> round(res.chi_square, 3), res.dof
    (28.049, 1.0)
    """
    r_df, n, _ = as_correlation(data, n_obs=n_obs, correlation=correlation)
    if n is None:
        raise ValueError("n_obs is required when data is a correlation matrix")
    r = r_df.to_numpy(dtype=float)
    p = r.shape[0]
    sign, logdet = np.linalg.slogdet(r)
    if sign <= 0:
        raise ValueError(
            "the correlation matrix is not positive definite; Bartlett's test needs ln|R|"
        )
    chisq = -logdet * (n - 1 - (2 * p + 5) / 6)
    dof = p * (p - 1) / 2
    return BartlettResult(
        chi_square=float(chisq),
        dof=float(dof),
        p_value=float(special.chdtrc(dof, chisq)),
        n_obs=int(n),
    )
