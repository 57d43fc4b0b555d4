"""Differential item functioning: lordif's ordinal logistic regression method, and DTF curves.

For each item three nested proportional-odds models of the item response are compared (Crane et
al.; lordif): (1) on the matching trait score, (2) plus group, (3) plus the trait-by-group
interaction. Likelihood-ratio chi-squares test uniform DIF (1 vs 2), non-uniform DIF (2 vs 3) and
both (1 vs 3); pseudo-R-square changes and the relative change of the trait coefficient are the
effect sizes. The matching score is the EAP of a graded response model, purified iteratively: items
flagged for DIF get group-specific parameters and the trait is re-estimated until the flagged set
no longer changes.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: ~1 s to import
from scipy.special import expit

from analysis._results import Result
from analysis.errors import ConvergenceWarning
from analysis.irt.model import GradedResponseModel
from analysis.irt.scoring import eap_scores

__all__ = [
    "DIFResult",
    "collapse_sparse_categories",
    "dif_lordif",
    "expected_score_curves",
    "ordinal_logistic_dif",
    "proportional_odds_fit",
]


def proportional_odds_fit(
    y: np.ndarray, x: np.ndarray, *, max_iter: int = 100, tol: float = 1e-10
) -> dict[str, Any]:
    """Cumulative-logit (proportional odds) model by Newton's method with analytic derivatives.

    Parameters
    ----------
    y : ndarray of int
        Ordered categories coded 0..K-1 (every code present).
    x : ndarray (n, p)
        Predictors (no constant: the thresholds play its part).

    Returns
    -------
    dict
        ``loglik``, ``deviance`` (``-2 loglik``), ``coef`` (slopes, in R ``polr``'s sign),
        ``thresholds``, ``null_deviance`` (thresholds only), ``converged``, ``n_iter``.

    Notes
    -----
    The likelihood of R's ``MASS::polr(factor(y) ~ x)``, ``rms::lrm`` and statsmodels'
    ``OrderedModel(y, x, distr="logit")``: ``logit P(Y <= k) = zeta_k - x' beta``. Newton's
    method with the exact Hessian converges in a handful of steps; statsmodels' numerical
    Hessian was 100 times slower here and stopped short of R's deviances.
    """
    y = np.asarray(y, dtype=np.int64)
    x = np.asarray(x, dtype=float)
    n, p = x.shape
    counts = np.bincount(y)
    k = counts.size
    null_loglik = float(np.sum(counts[counts > 0] * np.log(counts[counts > 0] / n)))
    # u: gradient of the upper linear predictor zeta_y - x beta, v: of the lower one
    upper_ok = y < k - 1
    lower_ok = y > 0
    u = np.zeros((n, p + k - 1))
    v = np.zeros((n, p + k - 1))
    u[:, :p] = -x
    v[:, :p] = -x
    rows = np.arange(n)
    u[rows[upper_ok], p + y[upper_ok]] = 1.0
    v[rows[lower_ok], p + y[lower_ok] - 1] = 1.0

    def pieces(params):
        eta_u = u @ params
        eta_v = v @ params
        f_u = np.where(upper_ok, expit(eta_u), 1.0)
        f_v = np.where(lower_ok, expit(eta_v), 0.0)
        prob = np.maximum(f_u - f_v, 1e-300)
        return eta_u, eta_v, f_u, f_v, prob

    params = np.concatenate([np.zeros(p), _null_thresholds(counts)])
    _, _, _, _, prob = pieces(params)
    loglik = float(np.log(prob).sum())
    converged = False
    n_iter = 0
    for n_iter in range(1, int(max_iter) + 1):  # noqa: B007
        _, _, f_u, f_v, prob = pieces(params)
        d_u = np.where(upper_ok, f_u * (1 - f_u), 0.0)
        d_v = np.where(lower_ok, f_v * (1 - f_v), 0.0)
        dd_u = d_u * (1 - 2 * f_u)
        dd_v = d_v * (1 - 2 * f_v)
        score = (d_u[:, None] * u - d_v[:, None] * v) / prob[:, None]
        gradient = score.sum(axis=0)
        hessian = u.T @ ((dd_u / prob)[:, None] * u) - v.T @ ((dd_v / prob)[:, None] * v)
        hessian -= score.T @ score
        step = np.linalg.solve(hessian, -gradient)
        scale = 1.0
        while scale > 1e-8:
            trial = params + scale * step
            thresholds = trial[p:]
            if np.all(np.diff(thresholds) > 0):
                new = float(np.log(pieces(trial)[4]).sum())
                if new >= loglik - 1e-12 * abs(loglik):
                    break
            scale /= 2
        else:
            break
        params, loglik = trial, new
        if np.abs(scale * step).max() < tol:
            converged = True
            break
    return {
        "loglik": loglik,
        "deviance": -2.0 * loglik,
        "null_deviance": -2.0 * null_loglik,
        "coef": params[:p].copy(),
        "thresholds": params[p:].copy(),
        "converged": converged,
        "n_iter": n_iter,
    }


def _null_thresholds(counts: np.ndarray) -> np.ndarray:
    cum = np.cumsum(counts)[:-1] / counts.sum()
    return np.log(cum / (1.0 - cum))


def ordinal_logistic_dif(
    data: pd.DataFrame, group: pd.Series | np.ndarray, theta: pd.Series | np.ndarray
) -> pd.DataFrame:
    """LR tests and effect sizes for DIF of every item, given the matching score.

    Parameters
    ----------
    data : DataFrame
        Item responses (whole numbers; categories are recoded 0..K-1 per item from the observed
        values among the respondents used).
    group : array-like
        Group of each respondent (two or more groups).
    theta : array-like
        Matching trait score of each respondent.

    Returns
    -------
    DataFrame
        One row per item: ``item, n_obs, n_categories, chi2_12, df_12, p_12, chi2_13, df_13, p_13,
        chi2_23, df_23, p_23, beta_change`` (``|b1(2) - b1(1)| / |b1(1)|``), ``mcfadden_12,
        mcfadden_13, mcfadden_23, nagelkerke_12, nagelkerke_13, nagelkerke_23, coxsnell_12,
        coxsnell_13, coxsnell_23, deviance_1, deviance_2, deviance_3, null_deviance``.

    Notes
    -----
    lordif's ``rundif``/``runolr`` (which call ``rms::lrm``) without its rounding to 4 decimals;
    the model deviances equal R's ``MASS::polr`` fits of ``item ~ theta``, ``item ~ theta +
    group`` and ``item ~ theta * group``. Pseudo-R-squares as lordif: Cox-Snell
    ``1 - exp((D_model - D_null)/n)``, Nagelkerke ``CoxSnell / (1 - exp(-D_null/n))``, McFadden
    ``1 - D_model / D_null``.

    References
    ----------
    Crane, P. K., Gibbons, L. E., Jolley, L., & van Belle, G. (2006). Differential item
    functioning analysis with ordinal logistic regression techniques. Medical Care, 44, S115-S123.
    Choi, S. W., Gibbons, L. E., & Crane, P. K. (2011). lordif: An R package for detecting
    differential item functioning using iterative hybrid ordinal logistic regression/item response
    theory and Monte Carlo simulations. Journal of Statistical Software, 39(8).
    """
    group = pd.Series(np.asarray(group), index=data.index)
    theta = pd.Series(np.asarray(theta, dtype=float), index=data.index)
    rows = []
    for item in data.columns:
        keep = data[item].notna() & group.notna() & theta.notna()
        values = data.loc[keep, item].to_numpy(dtype=float)
        levels = np.unique(values)
        y = np.searchsorted(levels, values)
        g = group[keep]
        labels = sorted(pd.unique(g), key=str)
        if len(labels) < 2:
            raise ValueError(f"item {item!r}: fewer than 2 groups among its respondents")
        t = theta[keep].to_numpy()
        dummies = np.column_stack([(g == lab).to_numpy(float) for lab in labels[1:]])
        x1 = t[:, None]
        x2 = np.column_stack([t, dummies])
        x3 = np.column_stack([t, dummies, dummies * t[:, None]])
        fits = [proportional_odds_fit(y, x) for x in (x1, x2, x3)]
        if not all(f["converged"] for f in fits):
            warnings.warn(
                f"an ordinal logistic model for item {item!r} did not converge",
                ConvergenceWarning,
                stacklevel=2,
            )
        n = int(y.size)
        d0 = fits[0]["null_deviance"]
        d1, d2, d3 = (f["deviance"] for f in fits)
        ng = len(labels)
        cox = [1 - np.exp((d - d0) / n) for d in (d1, d2, d3)]
        nagel = [c / (1 - np.exp(-d0 / n)) for c in cox]
        mcf = [1 - d / d0 for d in (d1, d2, d3)]
        b1, b2 = fits[0]["coef"][0], fits[1]["coef"][0]
        row = {"item": str(item), "n_obs": n, "n_categories": int(levels.size)}
        for name, chi2, df in (
            ("12", d1 - d2, ng - 1),
            ("13", d1 - d3, 2 * (ng - 1)),
            ("23", d2 - d3, ng - 1),
        ):
            row[f"chi2_{name}"] = float(max(chi2, 0.0))
            row[f"df_{name}"] = df
            row[f"p_{name}"] = float(special.chdtrc(df, max(chi2, 0.0))) if df > 0 else np.nan
        row["beta_change"] = float(abs((b2 - b1) / b1))
        for label, values in (("mcfadden", mcf), ("nagelkerke", nagel), ("coxsnell", cox)):
            row[f"{label}_12"] = float(values[1] - values[0])
            row[f"{label}_13"] = float(values[2] - values[0])
            row[f"{label}_23"] = float(values[2] - values[1])
        row.update(
            {"deviance_1": d1, "deviance_2": d2, "deviance_3": d3, "null_deviance": float(d0)}
        )
        rows.append(row)
    return pd.DataFrame(rows)


def collapse_sparse_categories(
    data: pd.DataFrame, group: pd.Series, *, min_cell: int = 5
) -> pd.DataFrame:
    """Merge response categories used by fewer than ``min_cell`` respondents in any group.

    A sparse category is merged into its neighbour (the next lower one; the lowest into the next
    higher one) until every category has at least ``min_cell`` answers in every group, as
    lordif's ``collapse(..., minCell)`` intends. Returns recoded responses ``1..K'`` per item.
    """
    out = pd.DataFrame(index=data.index)
    for item in data.columns:
        column = data[item]
        levels = sorted(column.dropna().unique())
        mapping = {v: i for i, v in enumerate(levels)}
        codes = column.map(mapping)
        while True:
            present = sorted(codes.dropna().unique())
            if len(present) <= 2:
                break
            table = pd.crosstab(codes, group).reindex(present, fill_value=0)
            sparse = table.index[(table < min_cell).any(axis=1)]
            if len(sparse) == 0:
                break
            target = sparse[0]
            position = present.index(target)
            into = present[position - 1] if position > 0 else present[1]
            codes = codes.replace(target, into)
        present = sorted(codes.dropna().unique())
        out[item] = codes.map({v: i + 1 for i, v in enumerate(present)})
    return out


@dataclass(frozen=True, repr=False)
class DIFResult(Result):
    """Ordinal logistic regression DIF with an iteratively purified matching score.

    Attributes
    ----------
    statistics : DataFrame
        :func:`ordinal_logistic_dif`'s table for the final matching score, plus ``flagged``.
    flagged : list of str
        Items flagged by the criterion.
    theta : Series
        The final (purified) matching score, by respondent.
    iterations : int
    converged : bool
        The flagged set repeated before ``max_iter``.
    group_labels : list
    options : dict
        ``criterion, alpha, beta_change, r2_change, pseudo_r2, max_iter, min_cell``.
    """

    statistics: pd.DataFrame
    flagged: list[str]
    theta: pd.Series
    iterations: int
    converged: bool
    group_labels: list[Any]
    options: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        cols = [
            "item",
            "n_obs",
            "chi2_12",
            "p_12",
            "chi2_13",
            "p_13",
            "chi2_23",
            "p_23",
            "beta_change",
            "mcfadden_13",
            "nagelkerke_13",
            "flagged",
        ]
        return self.statistics[cols].copy()

    def to_dict(self) -> dict[str, Any]:
        return {
            "statistics": self.statistics.to_dict(orient="records"),
            "flagged": list(self.flagged),
            "iterations": self.iterations,
            "converged": self.converged,
            "group_labels": [str(g) for g in self.group_labels],
            "options": dict(self.options),
        }


def _flags(table: pd.DataFrame, criterion: str, alpha, beta_change, r2_change, pseudo_r2):
    if criterion == "chisqr":
        return (table["p_12"] <= alpha) | (table["p_13"] <= alpha) | (table["p_23"] <= alpha)
    if criterion == "beta":
        return table["beta_change"] >= beta_change
    return table[f"{pseudo_r2}_13"] >= r2_change


def _split_flagged(data: pd.DataFrame, group: pd.Series, flagged: list[str]) -> pd.DataFrame:
    frame = data.drop(columns=flagged)
    for item in flagged:
        for label in sorted(pd.unique(group), key=str):
            frame[f"{item}@{label}"] = data[item].where(group == label)
    return frame


def dif_lordif(
    data: pd.DataFrame,
    group: pd.Series | np.ndarray,
    *,
    criterion: str = "chisqr",
    alpha: float = 0.01,
    beta_change: float = 0.1,
    r2_change: float = 0.02,
    pseudo_r2: str = "mcfadden",
    max_iter: int = 10,
    min_cell: int = 5,
) -> DIFResult:
    """lordif: ordinal logistic regression DIF with an iteratively purified IRT matching score.

    Parameters
    ----------
    data : DataFrame
        Item responses (at least 5 items as lordif requires... 3 are accepted here).
    group : array-like
        Group of each respondent (rows with a missing group are dropped).
    criterion : {"chisqr", "beta", "r2"}, default "chisqr"
        lordif's flagging rule: any of the three LR p-values ``<= alpha``; or ``beta_change >=
        beta_change``; or the 1-vs-3 pseudo-R-square change ``>= r2_change``.
    alpha : float, default 0.01
    beta_change : float, default 0.1
    r2_change : float, default 0.02
    pseudo_r2 : {"mcfadden", "nagelkerke", "coxsnell"}, default "mcfadden"
    max_iter : int, default 10
    min_cell : int, default 5
        Categories with fewer answers in any group are merged with a neighbour first.

    Returns
    -------
    DIFResult

    Notes
    -----
    Follows R lordif's ``lordif(resp.data, group)`` defaults. Differences: the matching score is
    the EAP of this package's graded model (61 nodes on [-6, 6]) instead of ltm's fit scored on a
    grid of -4..4 by 0.1; in the purification step the flagged items' group-specific parameters
    are estimated jointly with the anchors under the same N(0, 1) trait, so no Stocking-Lord
    equating to the first calibration is needed.

    References
    ----------
    Choi, S. W., Gibbons, L. E., & Crane, P. K. (2011). lordif. Journal of Statistical Software,
    39(8).
    """
    criterion = criterion.lower()
    pseudo_r2 = pseudo_r2.lower()
    if criterion not in ("chisqr", "beta", "r2"):
        raise ValueError(f"criterion must be 'chisqr', 'beta' or 'r2', got {criterion!r}")
    if pseudo_r2 not in ("mcfadden", "nagelkerke", "coxsnell"):
        raise ValueError(f"pseudo_r2 must be mcfadden, nagelkerke or coxsnell, got {pseudo_r2!r}")
    if data.shape[1] < 3:
        raise ValueError(f"DIF needs at least 3 items, got {data.shape[1]}")
    group = pd.Series(np.asarray(group), index=data.index, name="group")
    if len(group) != len(data):
        raise ValueError("group must have one value per row of data")
    keep = group.notna() & data.notna().any(axis=1)
    data, group = data.loc[keep], group.loc[keep]
    labels = sorted(pd.unique(group), key=str)
    if len(labels) < 2:
        raise ValueError("group has fewer than 2 groups among respondents with answers")
    recoded = collapse_sparse_categories(data, group, min_cell=min_cell)
    theta = eap_scores(GradedResponseModel(se_type=None).fit(recoded), recoded)["theta"]
    table = ordinal_logistic_dif(recoded, group, theta)
    flags = _flags(table, criterion, alpha, beta_change, r2_change, pseudo_r2)
    seen = [tuple([False] * len(flags)), tuple(flags)]
    iterations, converged = 1, True
    while flags.any() and not flags.all():
        if iterations >= max_iter:
            converged = False
            break
        iterations += 1
        flagged = list(table.loc[flags, "item"])
        split = _split_flagged(recoded, group, flagged)
        theta = eap_scores(GradedResponseModel(se_type=None).fit(split), split)["theta"]
        table = ordinal_logistic_dif(recoded, group, theta)
        flags = _flags(table, criterion, alpha, beta_change, r2_change, pseudo_r2)
        if tuple(flags) in seen:
            break
        seen.append(tuple(flags))
    if flags.all():
        warnings.warn("every item was flagged for DIF: no anchor items", UserWarning, stacklevel=2)
    table = table.assign(flagged=flags.to_numpy())
    return DIFResult(
        statistics=table,
        flagged=list(table.loc[flags, "item"]),
        theta=theta.rename("theta"),
        iterations=iterations,
        converged=converged,
        group_labels=labels,
        options={
            "criterion": criterion,
            "alpha": alpha,
            "beta_change": beta_change,
            "r2_change": r2_change,
            "pseudo_r2": pseudo_r2,
            "max_iter": max_iter,
            "min_cell": min_cell,
        },
    )


def expected_score_curves(models: dict[Any, GradedResponseModel], theta=None) -> pd.DataFrame:
    """Expected item and scale scores along the trait for each group's item parameters (DTF).

    Parameters
    ----------
    models : dict
        Group label -> fitted model on the same items (e.g. group-wise calibrations on a common
        scale, or the group-specific parameters of a purified lordif run).
    theta : array-like, optional
        Default 161 points on [-4, 4].

    Returns
    -------
    DataFrame
        Long format: ``group, theta, item`` (``"scale"`` for the sum) and ``expected`` (on the
        items' own response values). Differences between groups at the same ``theta`` are the
        expected score differences (item) and differential test functioning (scale).
    """
    grid = np.linspace(-4, 4, 161) if theta is None else np.asarray(theta, float)
    frames = []
    for label, model in models.items():
        total = np.zeros(grid.size)
        for item, probs, cats in zip(
            model.items_, model.item_probabilities(grid), model.categories_, strict=True
        ):
            expected = probs @ np.asarray(cats)
            total += expected
            frames.append(
                pd.DataFrame({"group": label, "theta": grid, "item": item, "expected": expected})
            )
        frames.append(
            pd.DataFrame({"group": label, "theta": grid, "item": "scale", "expected": total})
        )
    return pd.concat(frames, ignore_index=True)


def plot_expected_scores(curves: pd.DataFrame, item: str = "scale", *, ax=None):
    """Expected-score curves of one item (or ``"scale"``) by group; returns the Axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for label, part in curves[curves["item"] == item].groupby("group", sort=False):
        ax.plot(part["theta"], part["expected"], label=str(label))
    ax.set_xlabel("trait (theta)")
    ax.set_ylabel(f"expected score: {item}")
    ax.legend(title="group")
    return ax
