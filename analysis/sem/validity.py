"""Convergent and discriminant validity from a CFA: composite reliability, AVE, Fornell–Larcker, HTMT.

All of these read a fitted :class:`~analysis.sem.cfa.CFA` (standardized loadings and factor
correlations) except the HTMT ratio, which needs only the item correlations and the model's item
groupings. :func:`validity` puts them together.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._results import Result
from analysis.sem.cfa import CFA
from analysis.sem.engine import prepare_data
from analysis.sem.syntax import MeasurementModel

__all__ = [
    "composite_reliability",
    "average_variance_extracted",
    "fornell_larcker",
    "htmt",
    "validity",
    "ValidityResult",
]


def _check_fit(fit: CFA) -> None:
    if not isinstance(fit, CFA):
        raise TypeError(f"fit: expected a fitted analysis.sem.cfa.CFA, got {type(fit).__name__}")
    if not hasattr(fit, "fit_measures_"):
        raise ValueError("fit: the CFA is not fitted yet; call fit(data) first")


def _std_residual_variances(fit: CFA) -> dict[str, float]:
    """Each item's standardized residual variance (std_all of ``item ~~ item``), in one pass."""
    est = fit.estimates_
    rows = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"])]
    return dict(zip(rows["lhs"], rows["std_all"].to_numpy(dtype=float), strict=True))


def _std_loadings(fit: CFA, factor: str) -> tuple[np.ndarray, list[str]]:
    est = fit.estimates_
    rows = est[(est["op"] == "=~") & (est["lhs"] == factor)]
    return rows["std_all"].to_numpy(dtype=float), list(rows["rhs"])


def composite_reliability(fit: CFA, *, keyed: bool = True) -> pd.Series:
    """Composite (construct) reliability of every first-order factor from standardized loadings.

    Parameters
    ----------
    fit : CFA
        A fitted model.
    keyed : bool, default True
        Orient each loading by the model's scoring key (λ·key), i.e. the reliability of the keyed
        composite. With ``False`` raw loadings are summed, as in textbook formulas and semTools,
        which understates the reliability of scales with reverse-keyed items.

    Returns
    -------
    pandas.Series
        Indexed by factor, named ``composite_reliability``.

    Notes
    -----
    CR = (Σλ)² / ((Σλ)² + Σθ) with standardized loadings λ and residual variances θ = 1 − λ²
    (the std_all residual variances of the solution), the reliability of the unit-weighted
    composite of standardized items implied by the model (Fornell & Larcker 1981; Raykov 1997).
    semTools' ``compRelSEM`` (default ``obs.var = TRUE``) instead puts the observed total variance
    of the raw sum in the denominator, so its values differ somewhat.

    References
    ----------
    Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable
    variables and measurement error. *Journal of Marketing Research, 18*, 39-50.
    Raykov, T. (1997). Estimation of composite reliability for congeneric measures. *Applied
    Psychological Measurement, 21*, 173-184.
    """
    _check_fit(fit)
    keys = fit.model_.keys
    residual = _std_residual_variances(fit)
    out = {}
    for f in fit.model_.first_order:
        lam, items = _std_loadings(fit, f)
        if keyed:
            lam = lam * np.array([keys[i] for i in items])
        theta = np.array([residual[i] for i in items])
        s = lam.sum() ** 2
        out[f] = s / (s + theta.sum())
    return pd.Series(out, name="composite_reliability").rename_axis("factor")


def average_variance_extracted(fit: CFA) -> pd.Series:
    """Average variance extracted (AVE) of every first-order factor.

    Returns
    -------
    pandas.Series
        Indexed by factor, named ``ave``.

    Notes
    -----
    AVE = Σλ² / (Σλ² + Σθ) = mean λ² for standardized loadings with θ = 1 − λ²
    (Fornell & Larcker 1981); AVE ≥ .50 is the usual reading of convergent validity.

    References
    ----------
    Fornell, C., & Larcker, D. F. (1981). Evaluating structural equation models with unobservable
    variables and measurement error. *Journal of Marketing Research, 18*, 39-50.
    """
    _check_fit(fit)
    residual = _std_residual_variances(fit)
    out = {}
    for f in fit.model_.first_order:
        lam, items = _std_loadings(fit, f)
        theta = np.array([residual[i] for i in items])
        out[f] = float((lam**2).sum() / ((lam**2).sum() + theta.sum()))
    return pd.Series(out, name="ave").rename_axis("factor")


def fornell_larcker(fit: CFA) -> pd.DataFrame:
    """The Fornell–Larcker table: √AVE on the diagonal, factor correlations off it.

    Returns
    -------
    pandas.DataFrame
        First-order factors × factors.

    Notes
    -----
    Discriminant validity holds for factors i and j when |φ_ij| < √AVE_i and |φ_ij| < √AVE_j, i.e.
    each factor shares more variance with its items than with the other factor (Fornell &
    Larcker 1981). Factor correlations are the model's (lavaan ``std.all`` of ``~~``).
    """
    ave = average_variance_extracted(fit)
    first = list(fit.model_.first_order)
    table = fit.factor_correlations().loc[first, first].copy()
    arr = table.to_numpy(copy=True)
    np.fill_diagonal(arr, np.sqrt(ave[first].to_numpy()))
    return pd.DataFrame(arr, index=table.index, columns=table.columns)


def htmt(
    data: pd.DataFrame,
    model: MeasurementModel | str,
    *,
    correlations: str = "absolute",
    mean: str = "arithmetic",
    matrix: bool = False,
    missing: str = "listwise",
) -> pd.DataFrame:
    """Heterotrait–monotrait ratio of correlations between the first-order factors.

    Parameters
    ----------
    data : pandas.DataFrame
        Respondents × items, or with ``matrix=True`` an item covariance or correlation matrix.
    model : MeasurementModel or str
        Which items belong to which factor.
    correlations : {"absolute", "keyed", "raw"}, default "absolute"
        ``absolute`` uses |r| (semTools ``htmt(absolute = TRUE)``, its default); ``keyed`` first
        reverses the reverse-keyed items of the model's key (r_ij·k_i·k_j), which keeps a genuinely
        negative correlation negative; ``raw`` uses r as is.
    mean : {"arithmetic", "geometric"}, default "arithmetic"
        ``arithmetic`` is Henseler et al.'s HTMT; ``geometric`` is HTMT2 (Roemer et al. 2021; needs
        positive correlations).
    matrix : bool, default False
        Treat ``data`` as a covariance/correlation matrix indexed by item.
    missing : {"listwise"}, default "listwise"
        Rows with a missing model item are dropped before correlating (semTools' default).

    Returns
    -------
    pandas.DataFrame
        Factors × factors, 1 on the diagonal.

    Notes
    -----
    HTMT_ij = mean(r_ab : a ∈ i, b ∈ j) / √(mean(r_ab : a < b ∈ i) · mean(r_ab : a < b ∈ j)), the
    mean heterotrait–heteromethod correlation over the geometric mean of the two mean
    monotrait–heteromethod correlations (Henseler, Ringle & Sarstedt 2015); as semTools' ``htmt``
    with Pearson correlations. Values above .85 (strict) or .90 (liberal) signal a lack of
    discriminant validity.

    References
    ----------
    Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). A new criterion for assessing discriminant
    validity in variance-based structural equation modeling. *Journal of the Academy of Marketing
    Science, 43*, 115-135.
    Roemer, E., Schuberth, F., & Henseler, J. (2021). HTMT2 – an improved criterion for assessing
    discriminant validity in structural equation modeling. *Industrial Management & Data Systems,
    121*, 2637-2650.

    Examples
    --------
    >>> R = pd.DataFrame([[1, .5, .3, .3], [.5, 1, .3, .3], [.3, .3, 1, .8], [.3, .3, .8, 1]],
    ...                  index=list("abcd"), columns=list("abcd"))
    >>> round(float(htmt(R, "f =~ a + b\\ng =~ c + d", matrix=True).loc["f", "g"]), 4)  # .3/√(.5·.8)
    0.4743
    """
    if correlations not in ("absolute", "keyed", "raw"):
        raise ValueError(
            f"correlations: {correlations!r} not allowed; allowed: 'absolute', 'keyed', 'raw'"
        )
    if mean not in ("arithmetic", "geometric"):
        raise ValueError(f"mean: {mean!r} not allowed; allowed: 'arithmetic', 'geometric'")
    model = MeasurementModel.from_syntax(model) if isinstance(model, str) else model
    items = list(model.observed)
    if matrix:
        if not isinstance(data, pd.DataFrame):
            raise TypeError(
                f"data: expected a DataFrame matrix indexed by item, got {type(data).__name__}"
            )
        absent = [i for i in items if i not in data.index or i not in data.columns]
        if absent:
            raise ValueError(f"data: item(s) {', '.join(absent)} missing from the matrix")
        C = data.loc[items, items].to_numpy(dtype=float)
        sd = np.sqrt(np.diag(C))
        R = C / np.outer(sd, sd)
    else:
        x = prepare_data(data, items, missing)
        R = np.corrcoef(x, rowvar=False)
    keys = np.array([model.keys[i] for i in items], dtype=float)
    if correlations == "absolute":
        R = np.abs(R)
    elif correlations == "keyed":
        R = R * np.outer(keys, keys)
    idx = {i: k for k, i in enumerate(items)}
    factors = list(model.first_order)
    groups = [[idx[i] for i in model.indicators(f)] for f in factors]
    avg = np.mean if mean == "arithmetic" else (lambda v: float(np.exp(np.mean(np.log(v)))))
    if mean == "geometric" and (R <= 0).any():
        raise ValueError(
            "mean: the geometric HTMT2 needs positive correlations; use correlations='absolute' or "
            "'keyed'"
        )
    within = []
    for g in groups:
        if len(g) < 2:
            raise ValueError("model: every factor needs at least two items for the HTMT")
        sub = R[np.ix_(g, g)]
        within.append(avg(sub[np.triu_indices(len(g), 1)]))
    out = np.eye(len(factors))
    for a in range(len(factors)):
        for b in range(a + 1, len(factors)):
            between = avg(R[np.ix_(groups[a], groups[b])].ravel())
            prod = within[a] * within[b]
            # a non-positive mean within-factor correlation (raw correlations of mixed keys) has
            # no geometric mean: the ratio is undefined
            out[a, b] = out[b, a] = between / math.sqrt(prod) if prod > 0 else math.nan
    return pd.DataFrame(
        out, index=pd.Index(factors, name="factor"), columns=pd.Index(factors, name="factor")
    )


@dataclass(frozen=True, slots=True, repr=False)
class ValidityResult(Result):
    """Convergent and discriminant validity of a CFA's factors.

    Attributes
    ----------
    factors : pandas.DataFrame
        Per factor: ``n_items, composite_reliability, ave, sqrt_ave, max_shared_variance`` (the
        largest squared correlation with another factor).
    fornell_larcker : pandas.DataFrame
        √AVE on the diagonal, factor correlations off it.
    htmt : pandas.DataFrame
        HTMT matrix.
    pairs : pandas.DataFrame
        One row per pair: ``factor_a, factor_b, correlation, htmt, fornell_larcker_ok, htmt_ok``.
    htmt_threshold : float
    n_obs : int
        Respondents the CFA used (all with at least one answer under ``missing = "ml"``, the
        complete rows under listwise deletion).
    """

    factors: pd.DataFrame
    fornell_larcker: pd.DataFrame
    htmt: pd.DataFrame
    pairs: pd.DataFrame
    htmt_threshold: float
    n_obs: int

    def summary(self) -> pd.DataFrame:
        """The per-pair table (``pairs``)."""
        return self.pairs.copy()


def validity(
    fit: CFA,
    data: pd.DataFrame,
    *,
    htmt_threshold: float = 0.85,
    correlations: str = "absolute",
    keyed: bool = True,
) -> ValidityResult:
    """Composite reliability, AVE, Fornell–Larcker and HTMT for a fitted CFA.

    Parameters
    ----------
    fit : CFA
        A fitted model with at least one first-order factor.
    data : pandas.DataFrame
        The responses it was fitted on (for the HTMT item correlations: Pearson for a
        :class:`~analysis.sem.cfa.CFA`; for an :class:`~analysis.sem.wlsmv.OrdinalCFA` its
        polychoric correlations are used, as semTools' ``htmt(..., ordered = ...)``).
    htmt_threshold : float, default 0.85
        HTMT above this flags a pair (Henseler et al. 2015: .85 strict, .90 liberal).
    correlations : {"absolute", "keyed", "raw"}, default "absolute"
        Passed to :func:`htmt`.
    keyed : bool, default True
        Passed to :func:`composite_reliability`.

    Returns
    -------
    ValidityResult
    """
    if not 0 < htmt_threshold <= 1:
        raise ValueError(f"htmt_threshold: {htmt_threshold!r} must be in (0, 1]")
    cr = composite_reliability(fit, keyed=keyed)
    ave = average_variance_extracted(fit)
    fl = fornell_larcker(fit)
    first = list(fit.model_.first_order)
    phi = fit.factor_correlations().loc[first, first]
    shared = (phi**2).to_numpy(copy=True)
    np.fill_diagonal(shared, np.nan)
    with np.errstate(all="ignore"):
        max_shared = np.nanmax(shared, axis=1) if len(first) > 1 else np.full(len(first), np.nan)
    factors = pd.DataFrame(
        {
            "n_items": [len(fit.model_.indicators(f)) for f in first],
            "composite_reliability": cr[first].to_numpy(),
            "ave": ave[first].to_numpy(),
            "sqrt_ave": np.sqrt(ave[first].to_numpy()),
            "max_shared_variance": max_shared,
        },
        index=pd.Index(first, name="factor"),
    )
    polychoric = getattr(fit, "statistics_", None)  # an OrdinalCFA: its polychoric correlations
    if len(first) > 1 and polychoric is not None:
        ht = htmt(polychoric.correlations, fit.model_, correlations=correlations, matrix=True)
    elif len(first) > 1:
        ht = htmt(data, fit.model_, correlations=correlations)
    else:
        ht = pd.DataFrame(
            [[1.0]], index=pd.Index(first, name="factor"), columns=pd.Index(first, name="factor")
        )
    rows = []
    for a in range(len(first)):
        for b in range(a + 1, len(first)):
            fa, fb = first[a], first[b]
            r = float(phi.loc[fa, fb])
            rows.append(
                {
                    "factor_a": fa,
                    "factor_b": fb,
                    "correlation": r,
                    "htmt": float(ht.loc[fa, fb]),
                    "fornell_larcker_ok": bool(
                        abs(r) < min(factors.loc[fa, "sqrt_ave"], factors.loc[fb, "sqrt_ave"])
                    ),
                    "htmt_ok": bool(ht.loc[fa, fb] < htmt_threshold),
                }
            )
    pairs = pd.DataFrame(
        rows,
        columns=["factor_a", "factor_b", "correlation", "htmt", "fornell_larcker_ok", "htmt_ok"],
    )
    return ValidityResult(factors, fl, ht, pairs, htmt_threshold, int(fit.n_obs_))
