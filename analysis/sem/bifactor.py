"""Bifactor indices: is a total score of a multidimensional instrument justified?

A bifactor model (a general factor over every item plus orthogonal group factors, the facets)
separates the variance a total score shares across all items from the variance specific to
facets. :func:`bifactor_indices` turns its standardized loadings into the indices of Rodriguez,
Reise & Haviland (2016) as ``BifactorIndicesCalculator::bifactorIndices`` reports them (ECV, PUC,
ω, ω_h, relative ω, H; per facet ω, ω_hs, ECV_SS, H; per item IECV) and, from a fitted
:class:`analysis.sem.cfa.CFA`, the raw-score ω of each factor as ``semTools::compRelSEM(fit,
obs.var = FALSE)``. :func:`total_score_verdict` applies the usual thresholds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis._results import Result

__all__ = ["BifactorIndices", "bifactor_indices", "bifactor_indices_of_fit", "total_score_verdict"]

#: Thresholds commonly used to call an instrument essentially unidimensional (Rodriguez, Reise &
#: Haviland, 2016a, 2016b): ECV ≥ .70 and ω_h ≥ .80.
ECV_MIN, OMEGA_H_MIN = 0.70, 0.80


@dataclass(frozen=True, slots=True, repr=False)
class BifactorIndices(Result):
    """Indices of a bifactor solution (Rodriguez, Reise & Haviland, 2016).

    Attributes
    ----------
    general : str
        The general factor.
    omega, omega_h, relative_omega : float
        ω of the total score, ω hierarchical (share of total-score variance due to the general
        factor) and ω_h/ω.
    ecv : float
        Explained common variance of the general factor.
    puc : float
        Percentage of uncontaminated correlations (item pairs in different facets).
    h_general : float
        Construct replicability H of the general factor.
    facets : pandas.DataFrame
        One row per facet: ``facet, n_items, omega, omega_hs, relative_omega, ecv_ss, h`` and,
        when computed from a fit, ``omega_hs_raw`` (semTools ``compRelSEM``).
    iecv : pandas.Series
        Item explained common variance, λ_G²/(λ_G² + λ_S²), by item.
    omega_h_raw : float
        The general factor's ω on the raw sum of items (semTools ``compRelSEM(fit, obs.var =
        FALSE)``); NaN when computed from standardized loadings only.
    """

    general: str
    omega: float
    omega_h: float
    relative_omega: float
    ecv: float
    puc: float
    h_general: float
    facets: pd.DataFrame
    iecv: pd.Series
    omega_h_raw: float = float("nan")

    def summary(self) -> pd.DataFrame:
        """Tidy table: one row per index, columns ``scale, index, estimate``."""
        rows = [
            {"scale": self.general, "index": k, "estimate": float(getattr(self, k))}
            for k in ("omega", "omega_h", "relative_omega", "ecv", "puc", "h_general")
        ]
        if not np.isnan(self.omega_h_raw):
            rows.append(
                {"scale": self.general, "index": "omega_h_raw", "estimate": self.omega_h_raw}
            )
        for _, r in self.facets.iterrows():
            for k in self.facets.columns:
                if k in ("facet", "n_items"):
                    continue
                rows.append({"scale": r["facet"], "index": k, "estimate": float(r[k])})
        return pd.DataFrame(rows)

    def to_dict(self) -> dict[str, Any]:
        return {
            "general": self.general,
            "omega": self.omega,
            "omega_h": self.omega_h,
            "relative_omega": self.relative_omega,
            "ecv": self.ecv,
            "puc": self.puc,
            "h_general": self.h_general,
            "omega_h_raw": None if np.isnan(self.omega_h_raw) else self.omega_h_raw,
            "facets": self.facets.to_dict(orient="records"),
            "iecv": {str(k): float(v) for k, v in self.iecv.items()},
        }


def _h(loadings: np.ndarray) -> float:
    """Hancock & Mueller's construct replicability H = 1 / (1 + 1/Σ λ²/(1 − λ²))."""
    s = float(np.sum(loadings**2 / (1 - loadings**2)))
    return 1.0 / (1.0 + 1.0 / s) if s > 0 else 0.0


def bifactor_indices(
    loadings: pd.DataFrame,
    *,
    general: str,
    raw: tuple[pd.DataFrame, pd.Series, pd.DataFrame] | None = None,
) -> BifactorIndices:
    """ECV, PUC, ω, ω_h and the facet indices of a bifactor solution.

    Parameters
    ----------
    loadings : pandas.DataFrame
        Standardized loadings, items × factors (0 where an item does not load), from an orthogonal
        bifactor model: ``general`` plus the facets, each item on the general factor and on at
        most one facet (e.g. ``CFA.standardized_loadings()``).
    general : str
        The column of the general factor.
    raw : (loadings, factor_variances, implied_cov) or None, default None
        Unstandardized loadings (items × factors), factor variances and the model-implied
        covariance matrix, for the raw-score ω of each factor (semTools ``compRelSEM``).

    Returns
    -------
    BifactorIndices

    Notes
    -----
    With standardized loadings λ_G (general), λ_Sk (facet k) and uniquenesses u_i = 1 − h²_i
    (Rodriguez, Reise & Haviland, 2016a; BifactorIndicesCalculator ``bifactorIndices``):

    - ω = [(Σλ_G)² + Σ_k(Σλ_Sk)²] / [(Σλ_G)² + Σ_k(Σλ_Sk)² + Σu_i], ω_h = (Σλ_G)² / same;
    - per facet, over its items: ω_k = [(Σλ_G)² + (Σλ_Sk)²] / [... + Σu_i], ω_hs = (Σλ_Sk)² / same;
    - ECV = Σλ_G² / (Σλ_G² + ΣΣλ_Sk²); ECV_SS_k = Σλ_Sk² / (Σ_{i∈k}λ_G² + Σλ_Sk²);
    - PUC = 1 − Σ_k n_k(n_k − 1)/2 / (n(n − 1)/2) (Reise, Scheines, Widaman & Haviland, 2013);
    - H = 1 / (1 + 1/Σ λ²/(1 − λ²)) (Hancock & Mueller, 2001); IECV_i = λ_Gi² / (λ_Gi² + λ_Si²).

    The raw-score version of a factor F is (Σλ_F)²ψ_F / 1ᵀΣ̂1 over the items of F, with
    unstandardized λ and the model-implied covariance Σ̂, as ``semTools::compRelSEM(fit, obs.var =
    FALSE)``; it weighs items by their raw variances, so it differs from the standardized ω_h
    when items have unequal variances.

    References
    ----------
    Rodriguez, A., Reise, S. P., & Haviland, M. G. (2016a). Evaluating bifactor models: Calculating
    and interpreting statistical indices. *Psychological Methods, 21*(2), 137-150.
    Rodriguez, A., Reise, S. P., & Haviland, M. G. (2016b). Applying bifactor statistical indices
    in the evaluation of psychological measures. *Journal of Personality Assessment, 98*(3),
    223-237.
    Reise, S. P., Scheines, R., Widaman, K. F., & Haviland, M. G. (2013). Multidimensionality and
    structural coefficient bias in structural equation modeling: A bifactor perspective.
    *Educational and Psychological Measurement, 73*(1), 5-26.
    Hancock, G. R., & Mueller, R. O. (2001). Rethinking construct reliability within latent
    variable systems. In *Structural equation modeling: Present and future*. SSI.

    Examples
    --------
    >>> lam = pd.DataFrame({"g": [.6, .6, .6, .6], "a": [.4, .4, 0, 0], "b": [0, 0, .4, .4]},
    ...                    index=["i1", "i2", "i3", "i4"])
    >>> ind = bifactor_indices(lam, general="g")
    >>> round(ind.ecv, 3), round(ind.puc, 3)
    (0.692, 0.667)
    """
    if not isinstance(loadings, pd.DataFrame):
        raise TypeError(f"loadings: expected a pandas DataFrame, got {type(loadings).__name__}")
    if general not in loadings.columns:
        raise ValueError(
            f"general: {general!r} is not a column of loadings; allowed: "
            f"{', '.join(map(str, loadings.columns))}"
        )
    lam = loadings.astype(float)
    facets = [c for c in lam.columns if c != general]
    if not facets:
        raise ValueError("loadings: a bifactor solution needs at least one facet besides general")
    S = lam[facets].to_numpy()
    multi = [str(i) for i, n in zip(lam.index, (S != 0).sum(axis=1), strict=True) if n > 1]
    if multi:
        raise ValueError(f"loadings: item(s) {', '.join(multi)} load on more than one facet")
    g = lam[general].to_numpy()
    u = 1 - (lam.to_numpy() ** 2).sum(axis=1)
    common = g.sum() ** 2 + sum(S[:, k].sum() ** 2 for k in range(len(facets)))
    den = common + u.sum()
    n = len(lam)
    rows = []
    pairs_within = 0.0
    for k, f in enumerate(facets):
        ink = S[:, k] != 0
        nk = int(ink.sum())
        pairs_within += nk * (nk - 1) / 2
        ck = g[ink].sum() ** 2 + S[ink, k].sum() ** 2
        dk = ck + u[ink].sum()
        row = {
            "facet": f,
            "n_items": nk,
            "omega": ck / dk if nk else np.nan,
            "omega_hs": S[ink, k].sum() ** 2 / dk if nk else np.nan,
        }
        row["relative_omega"] = row["omega_hs"] / row["omega"] if nk else np.nan
        sg = float((g[ink] ** 2).sum() + (S[ink, k] ** 2).sum())
        row["ecv_ss"] = float((S[ink, k] ** 2).sum()) / sg if sg > 0 else np.nan
        row["h"] = _h(S[ink, k])
        rows.append(row)
    with np.errstate(divide="ignore", invalid="ignore"):
        iecv = g**2 / (g**2 + (S**2).sum(axis=1))
    omega_h_raw = float("nan")
    table = pd.DataFrame(rows)
    if raw is not None:
        raw_lam, psi, sigma = raw
        sig = sigma.loc[lam.index, lam.index].to_numpy()

        def raw_omega(f: str) -> float:
            col = raw_lam.loc[lam.index, f].to_numpy(dtype=float)
            on = col != 0
            return float(col[on].sum() ** 2 * psi[f] / sig[np.ix_(on, on)].sum())

        omega_h_raw = raw_omega(general)
        table["omega_hs_raw"] = [raw_omega(f) for f in facets]
    return BifactorIndices(
        general=general,
        omega=float(common / den),
        omega_h=float(g.sum() ** 2 / den),
        relative_omega=float(g.sum() ** 2 / common),
        ecv=float((g**2).sum() / ((g**2).sum() + (S**2).sum())),
        puc=float(1 - pairs_within / (n * (n - 1) / 2)),
        h_general=_h(g),
        facets=table,
        iecv=pd.Series(iecv, index=lam.index, name="iecv"),
        omega_h_raw=omega_h_raw,
    )


def total_score_verdict(
    indices: BifactorIndices | None,
    *,
    ecv_min: float = ECV_MIN,
    omega_h_min: float = OMEGA_H_MIN,
) -> tuple[str, str]:
    """Whether a total score is justified by the bifactor evidence.

    Parameters
    ----------
    indices : BifactorIndices or None
        None when no bifactor model could be fitted.
    ecv_min, omega_h_min : float, default .70 and .80
        The thresholds (Rodriguez, Reise & Haviland, 2016a, 2016b).

    Returns
    -------
    (str, str)
        A label — ``"justified"``, ``"not justified"`` or ``"provisional"`` (no bifactor evidence)
        — and a sentence saying why.

    Examples
    --------
    >>> total_score_verdict(None)[0]
    'provisional'
    """
    if indices is None or not np.isfinite(indices.ecv) or not np.isfinite(indices.omega_h):
        return (
            "provisional",
            "no bifactor model was fitted, so whether the items share enough common variance for "
            "one total score is untested; alpha of a multidimensional total does not answer it",
        )
    ok = indices.ecv >= ecv_min and indices.omega_h >= omega_h_min
    text = (
        f"ECV = {indices.ecv:.2f} (criterion ≥ {ecv_min:.2f}) and ω_h = {indices.omega_h:.2f} "
        f"(criterion ≥ {omega_h_min:.2f}; Rodriguez, Reise & Haviland, 2016)"
    )
    if ok:
        return "justified", f"{text}: the total score mainly reflects the general factor"
    return (
        "not justified",
        f"{text}: the total score is substantially multidimensional; report facet scores",
    )


def bifactor_indices_of_fit(fit: Any, *, general: str) -> BifactorIndices:
    """:func:`bifactor_indices` of a fitted bifactor :class:`analysis.sem.cfa.CFA`.

    Uses the fit's standardized loadings, and its unstandardized loadings, factor variances and
    model-implied covariances for the raw-score ω (``semTools::compRelSEM(fit, obs.var = FALSE)``).
    """
    std = fit.standardized_loadings()
    items = list(fit.model_.observed)
    est = fit.estimates_
    ld = est[est["op"] == "=~"]
    raw_lam = ld.pivot(index="rhs", columns="lhs", values="est").reindex(
        index=items, columns=std.columns
    )
    var = est[(est["op"] == "~~") & (est["lhs"] == est["rhs"]) & est["lhs"].isin(std.columns)]
    psi = pd.Series(var["est"].to_numpy(dtype=float), index=var["lhs"])
    return bifactor_indices(
        std.loc[items], general=general, raw=(raw_lam.fillna(0.0), psi, fit.implied_cov_)
    )
