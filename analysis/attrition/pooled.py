"""An attrition prediction model fitted on each of m completed data sets and pooled by Rubin's rules.

:func:`analysis.attrition.study.fit_attrition` calls :func:`impute_design` and
:func:`fit_pooled` when it is given ``impute=m`` (``mhdq attrition fit --impute M``).
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis._estimator import ModelResults
from analysis.attrition.cox import CoxModel, cox_newton, effect_table
from analysis.attrition.imputation import PooledEstimates, impute_chained, pool_models
from analysis.attrition.logistic import LogisticModel

__all__ = ["fit_pooled", "impute_design", "nelson_aalen"]


def nelson_aalen(time, event) -> np.ndarray:
    """Nelson-Aalen cumulative hazard at each row's own time (the outcome summary that White &
    Royston 2009 recommend, with the event indicator, in the imputation model of a Cox analysis).

    Examples
    --------
    >>> nelson_aalen([1, 2, 2, 3], [1, 1, 0, 1]).round(4).tolist()
    [0.25, 0.5833, 0.5833, 1.5833]
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    order = np.argsort(time, kind="stable")
    t = time[order]
    uniq, first = np.unique(t, return_index=True)
    at_risk = len(t) - first
    deaths = np.bincount(np.searchsorted(uniq, t), weights=event[order], minlength=len(uniq))
    cum = np.cumsum(deaths / at_risk)
    return cum[np.searchsorted(uniq, time)]


def impute_design(
    data: pd.DataFrame,
    columns: Sequence[str],
    *,
    model: str,
    m: int,
    seed: int,
) -> list[pd.DataFrame]:
    """m completed copies of ``data`` whose missing ``columns`` (the design's) are imputed by
    chained equations (:func:`~analysis.attrition.imputation.impute_chained`, predictive mean
    matching for numeric columns, logistic regression for two-valued ones such as dummy columns).

    The imputation model holds every design column and the outcome: the event indicator and, for
    a Cox model, the Nelson-Aalen cumulative hazard (White & Royston 2009); ``data`` must have
    ``event`` (and ``time``) complete.
    """
    frame = data[list(columns)].astype(float).copy()
    frame["__event__"] = data["event"].to_numpy(dtype=float)
    if model == "cox":
        frame["__cumhaz__"] = nelson_aalen(data["time"], data["event"])
    completed = impute_chained(frame, m=m, seed=seed)
    out = []
    for filled in completed:
        copy_ = data.copy()
        copy_[list(columns)] = filled[list(columns)].to_numpy()
        out.append(copy_)
    return out


def fit_pooled(
    imputations: Sequence[pd.DataFrame],
    *,
    predictors: Sequence[str],
    model: str,
    ties: str = "efron",
    penalty: float = 0.0,
    ci_level: float = 0.95,
    cluster: str | None = None,
) -> tuple[CoxModel | LogisticModel, pd.DataFrame, PooledEstimates, list]:
    """Fit the model on each completed data set and pool by Rubin's rules.

    Parameters
    ----------
    imputations : sequence of DataFrame
        Completed data sets with ``predictors``, ``event`` and (Cox) ``time``.
    model : {"cox", "logistic"}

    Returns
    -------
    pooled_model : CoxModel or LogisticModel
        A model carrying the pooled coefficients and total covariance (for saving and
        predicting); a Cox model's baseline hazard is Breslow's at the pooled coefficients,
        averaged over the imputations at the mean of the predictor means.
    effects : DataFrame
        The model's effect table with Rubin's pooled estimates: ``se`` is the square root of the
        total variance, ``p`` and the intervals use Barnard-Rubin degrees of freedom (``df``);
        ``fmi`` is the fraction of missing information.
    pooled : PooledEstimates
    models : list
        The per-imputation fits.

    Notes
    -----
    Matches ``mice::pool(with(imp, coxph(...)))`` / ``with(imp, glm(..., family = binomial))``.
    The complete-data degrees of freedom are n minus the number of coefficients (intercept
    included), as ``mice`` takes from ``df.residual``.
    """
    if model not in ("cox", "logistic"):
        raise ValueError(f"model: must be 'cox' or 'logistic'; got {model!r}")
    names = list(predictors)
    models: list = []
    for data in imputations:
        X = data[names]
        groups = None if cluster is None else data[cluster].to_numpy()
        event = data["event"].to_numpy(dtype=float)
        if model == "cox":
            models.append(
                CoxModel(ties=ties, penalty=penalty, ci_level=ci_level).fit(
                    X, data["time"].to_numpy(dtype=float), event, cluster=groups
                )
            )
        else:
            models.append(
                LogisticModel(penalty=penalty, ci_level=ci_level).fit(X, event, cluster=groups)
            )
    n = len(imputations[0])
    dfcom = float(n - len(names) - (model == "logistic"))
    pooled = pool_models(models, dfcom=dfcom, ci_level=ci_level)
    table = pooled.table
    first = models[0]
    result = copy.copy(first)
    sds = pd.concat([m.sds_ for m in models], axis=1).mean(axis=1)
    means = pd.concat([m.means_ for m in models], axis=1).mean(axis=1)
    coef = table.loc[names, "estimate"]
    result.coef_ = pd.Series(coef.to_numpy(), index=names)
    result.cov_ = pooled.covariance.copy()
    result.se_ = pd.Series(table.loc[names, "se"].to_numpy(), index=names)
    result.sds_ = sds
    result.means_ = means
    ratio = "hazard_ratio" if model == "cox" else "odds_ratio"
    if model == "cox":
        beta = coef.to_numpy()
        increments = []
        for data in imputations:
            values = data[names].to_numpy(dtype=float)
            fit = cox_newton(
                data["time"].to_numpy(dtype=float),
                data["event"].to_numpy(dtype=float),
                values,
                ties=ties,
                init=beta,
                max_iter=0,
            )
            # hazard at x = this imputation's means, moved to the pooled means
            increments.append(
                fit.hazard_increments * np.exp((means.to_numpy() - fit.centre) @ beta)
            )
            event_times = fit.event_times
        cumhaz = np.cumsum(np.mean(increments, axis=0))
        result.baseline_ = pd.DataFrame(
            {"time": event_times, "cumulative_hazard": cumhaz, "survival": np.exp(-cumhaz)}
        )
        all_coef = result.coef_
        all_sds = sds
    else:
        result.intercept_ = float(table.loc["(Intercept)", "estimate"])
        all_coef = pd.concat([pd.Series({"(Intercept)": result.intercept_}), result.coef_])
        all_sds = pd.concat([pd.Series({"(Intercept)": np.nan}), sds])
    terms = list(all_coef.index)
    effects = effect_table(all_coef, table.loc[terms, "se"], all_sds, ci_level, ratio=ratio)
    log_low = table.loc[terms, "ci_low"].to_numpy()
    log_high = table.loc[terms, "ci_high"].to_numpy()
    sd = all_sds.reindex(terms).to_numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        effects["z"] = table.loc[terms, "statistic"].to_numpy()
        effects["p"] = table.loc[terms, "p"].to_numpy()
        effects["ci_low"] = np.exp(log_low)
        effects["ci_high"] = np.exp(log_high)
        effects[f"{ratio}_per_sd_ci_low"] = np.exp(log_low * sd)
        effects[f"{ratio}_per_sd_ci_high"] = np.exp(log_high * sd)
    effects["df"] = table.loc[terms, "df"].to_numpy()
    effects["fmi"] = table.loc[terms, "fmi"].to_numpy()
    result.results_ = ModelResults.of(result, effects, {"m_imputations": len(models)})
    return result, effects, pooled, models
