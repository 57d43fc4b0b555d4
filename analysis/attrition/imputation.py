"""Multiple imputation of missing baseline covariates, Rubin's rules and the D2 pooled chi-square.

Three pieces that work apart:

- :func:`impute_chained` draws m completed data sets by chained equations (van Buuren's MICE):
  predictive mean matching (or a normal draw) for numeric columns, a proportional-odds model for
  ordered items, logistic regression for two-valued columns;
- :func:`pool_estimates` pools any list of (estimate, covariance) pairs by Rubin's rules, with
  Barnard-Rubin degrees of freedom and the fraction of missing information, and
  :func:`pool_chi_square` pools chi-square statistics (D2); both are generic, so the
  validation study can pool CFA or reliability results with them as well;
- :func:`pool_models` and :func:`validate_within_imputations` apply them to the attrition models:
  a model fitted on each completed data set, pooled; the bootstrap optimism correction run within
  each imputation and averaged (the order recommended for prediction models).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis._results import Result

__all__ = [
    "PooledChiSquare",
    "ProportionalOdds",
    "PooledEstimates",
    "PooledValidation",
    "fit_proportional_odds",
    "impute_chained",
    "pool_chi_square",
    "pool_estimates",
    "pool_models",
    "validate_within_imputations",
    "wald_chi_square",
]


# --------------------------------------------------------------------------------------------
# Rubin's rules
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class PooledEstimates(Result):
    """Estimates pooled over m imputations by Rubin's rules.

    Attributes
    ----------
    table : DataFrame
        Index ``term``; columns ``estimate`` (mean over imputations), ``ubar`` (mean
        within-imputation variance), ``b`` (between-imputation variance), ``t`` (total variance
        :math:`\\bar U + (1 + 1/m)B`), ``se`` (:math:`\\sqrt t`), ``dfcom``, ``df``
        (Barnard-Rubin), ``riv`` (relative increase in variance), ``lambda`` (proportion of
        variance due to missingness), ``fmi`` (fraction of missing information), ``statistic``
        (estimate / se), ``p`` (t test on df), ``ci_low, ci_high``, ``ci_level``.
    covariance : DataFrame
        Total covariance matrix :math:`\\bar U + (1 + 1/m)B` (for multiparameter tests).
    m : int
        Number of imputations pooled.
    """

    table: pd.DataFrame
    covariance: pd.DataFrame
    m: int

    def summary(self) -> pd.DataFrame:
        return self.table.reset_index()

    def to_dict(self) -> dict:
        return {"terms": self.summary().to_dict(orient="records"), "m": self.m}


def _barnard_rubin(m: int, b, t, dfcom: float):
    lam = (1 + 1 / m) * b / t
    lam = np.maximum(lam, 1e-4)
    dfold = (m - 1) / lam**2
    if np.isinf(dfcom):
        return dfold
    dfobs = (dfcom + 1) / (dfcom + 3) * dfcom * (1 - lam)
    return dfold * dfobs / (dfold + dfobs)


def pool_estimates(
    estimates: Sequence,
    covariances: Sequence,
    *,
    dfcom: float = np.inf,
    ci_level: float = 0.95,
    names: Sequence[str] | None = None,
) -> PooledEstimates:
    """Pool estimates and their covariance matrices from m analyses by Rubin's rules.

    Parameters
    ----------
    estimates : sequence of array or Series, each of length p
        The estimates from each completed data set (Series are aligned by their index).
    covariances : sequence of (p, p) array or DataFrame
        Their covariance matrices (only the diagonal is needed for the per-term table).
    dfcom : float, default inf
        Degrees of freedom of the complete-data analysis (n - p for a regression; ``inf`` for
        large-sample estimators such as CFA or Cox models).
    ci_level : float, default 0.95
    names : sequence of str, optional
        Term names (default: the index of the first Series, else ``x1..xp``).

    Returns
    -------
    PooledEstimates

    Notes
    -----
    :math:`\\bar Q = m^{-1}\\sum Q_l`, :math:`\\bar U = m^{-1}\\sum U_l`,
    :math:`B = (m-1)^{-1}\\sum (Q_l - \\bar Q)^2`, :math:`T = \\bar U + (1 + m^{-1})B`.
    With :math:`\\lambda = (1 + m^{-1})B/T` (at least 1e-4), :math:`\\nu_{old} = (m-1)/\\lambda^2`,
    :math:`\\nu_{obs} = \\frac{\\nu_{com}+1}{\\nu_{com}+3}\\nu_{com}(1-\\lambda)` and
    :math:`\\nu = \\nu_{old}\\nu_{obs}/(\\nu_{old}+\\nu_{obs})` (Barnard & Rubin 1999);
    :math:`r = (1 + m^{-1})B/\\bar U` and :math:`\\text{fmi} = (r + 2/(\\nu + 3))/(r + 1)`.
    Reproduces ``mice::pool()`` (mice 3.15, ``rule = "rubin1987"``) and ``summary(pool(fit),
    conf.int = TRUE)``.

    References
    ----------
    Rubin DB (1987). Multiple Imputation for Nonresponse in Surveys. Wiley.
    Barnard J, Rubin DB (1999). Small-sample degrees of freedom with multiple imputation.
    Biometrika 86:948-955.
    van Buuren S (2018). Flexible Imputation of Missing Data, 2nd ed., sec. 2.3-2.4.

    Examples
    --------
    >>> pooled = pool_estimates([[1.0], [1.2], [0.8]], [[[0.04]], [[0.05]], [[0.03]]])
    >>> round(float(pooled.table["t"].iloc[0]), 4)
    0.0933
    """
    m = len(estimates)
    if m < 2:
        raise ValueError(f"estimates: at least two imputations are needed; got {m}")
    if len(covariances) != m:
        raise ValueError("covariances: must have one matrix per set of estimates")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level: must be between 0 and 1; got {ci_level}")
    first = estimates[0]
    if names is None:
        names = (
            [str(i) for i in first.index]
            if isinstance(first, pd.Series)
            else [f"x{j + 1}" for j in range(len(np.atleast_1d(first)))]
        )
    names = list(names)
    q = np.vstack(
        [
            (e.reindex(names) if isinstance(e, pd.Series) else pd.Series(np.atleast_1d(e)))
            .to_numpy(dtype=float)
            .ravel()
            for e in estimates
        ]
    )
    covs = []
    for c in covariances:
        arr = (
            c.reindex(index=names, columns=names).to_numpy(dtype=float)
            if isinstance(c, pd.DataFrame)
            else np.atleast_2d(np.asarray(c, dtype=float))
        )
        covs.append(arr)
    u = np.stack(covs)
    p = q.shape[1]
    if u.shape[1:] != (p, p) or len(names) != p:
        raise ValueError(f"covariances: each must be {p} x {p} to match the estimates")
    if not (np.isfinite(q).all() and np.isfinite(u).all()):
        raise ValueError("estimates, covariances: must be finite (a term missing in one fit?)")
    qbar = q.mean(axis=0)
    ubar_m = u.mean(axis=0)
    b_m = np.cov(q, rowvar=False, ddof=1).reshape(p, p)
    t_m = ubar_m + (1 + 1 / m) * b_m
    ubar, b, t = np.diag(ubar_m), np.diag(b_m), np.diag(t_m)
    df = _barnard_rubin(m, b, t, float(dfcom))
    riv = (1 + 1 / m) * b / ubar
    lam = (1 + 1 / m) * b / t
    fmi = (riv + 2 / (df + 3)) / (riv + 1)
    se = np.sqrt(t)
    crit = stats.t.ppf(0.5 + ci_level / 2, df)
    table = pd.DataFrame(
        {
            "estimate": qbar,
            "ubar": ubar,
            "b": b,
            "t": t,
            "se": se,
            "dfcom": float(dfcom),
            "df": df,
            "riv": riv,
            "lambda": lam,
            "fmi": fmi,
            "statistic": qbar / se,
            "p": 2 * stats.t.sf(np.abs(qbar / se), df),
            "ci_low": qbar - crit * se,
            "ci_high": qbar + crit * se,
            "ci_level": ci_level,
        },
        index=pd.Index(names, name="term"),
    )
    return PooledEstimates(
        table=table, covariance=pd.DataFrame(t_m, index=names, columns=names), m=m
    )


@dataclass(frozen=True, repr=False)
class PooledChiSquare(Result):
    """A chi-square statistic pooled over imputations by the D2 rule.

    Attributes
    ----------
    statistic : float
        D2 (an F statistic), or the chi-square :math:`D_2 k` when ``asymptotic``.
    df1 : float
        k, the degrees of freedom of each statistic.
    df2 : float
        Denominator degrees of freedom :math:`k^{-3/m}(m-1)(1 + 1/r)^2` (inf when asymptotic).
    p : float
    ariv : float
        Average relative increase in variance :math:`r`.
    fmi : float
        :math:`r / (1 + r)`.
    asymptotic : bool
    m : int
    """

    statistic: float
    df1: float
    df2: float
    p: float
    ariv: float
    fmi: float
    asymptotic: bool
    m: int

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([self.to_dict()])

    def to_dict(self) -> dict:
        return {
            "statistic": self.statistic,
            "df1": self.df1,
            "df2": self.df2,
            "p": self.p,
            "ariv": self.ariv,
            "fmi": self.fmi,
            "asymptotic": self.asymptotic,
            "m": self.m,
        }


def pool_chi_square(statistics, df: float, *, asymptotic: bool = False) -> PooledChiSquare:
    """Pool chi-square statistics (one per imputation) by the D2 rule.

    Parameters
    ----------
    statistics : array of length m
        Chi-square (or Wald, likelihood-ratio) statistics from each completed data set.
    df : float
        Their degrees of freedom k.
    asymptotic : bool, default False
        Return the chi-square :math:`k D_2` on k df instead of the F statistic.

    Notes
    -----
    With :math:`\\bar d` the mean statistic and :math:`r = (1 + m^{-1})\\,
    \\mathrm{Var}(\\sqrt{d_l})`, :math:`D_2 = (\\bar d/k - \\frac{m+1}{m-1}r)/(1 + r)` (set to 0
    when negative), referred to :math:`F(k, k^{-3/m}(m-1)(1 + 1/r)^2)` (Li, Meng, Raghunathan &
    Rubin 1991). Reproduces semTools' ``calculate.D2`` (used by ``lavTestLRT.mi(test = "D2")``)
    and mice's ``D2``.

    References
    ----------
    Li KH, Meng XL, Raghunathan TE, Rubin DB (1991). Significance levels from repeated
    p-values with multiply-imputed data. Statistica Sinica 1:65-92.
    Enders CK (2010). Applied Missing Data Analysis, ch. 8.
    """
    d = np.asarray(statistics, dtype=float)
    d = d[~np.isnan(d)]
    m = len(d)
    if m < 2:
        raise ValueError(f"statistics: at least two non-missing statistics are needed; got {m}")
    if not df > 0:
        raise ValueError(f"df: must be positive; got {df}")
    k = float(df)
    ariv = (1 + 1 / m) * float(np.var(np.sqrt(d), ddof=1))
    d2 = max((d.mean() / k - (m + 1) / (m - 1) * ariv) / (1 + ariv), 0.0)
    fmi = ariv / (1 + ariv)
    if asymptotic:
        return PooledChiSquare(
            statistic=d2 * k,
            df1=k,
            df2=np.inf,
            p=float(stats.chi2.sf(d2 * k, k)),
            ariv=ariv,
            fmi=fmi,
            asymptotic=True,
            m=m,
        )
    df2 = k ** (-3 / m) * (m - 1) * (1 + 1 / ariv) ** 2 if ariv > 0 else np.inf
    return PooledChiSquare(
        statistic=d2,
        df1=k,
        df2=df2,
        p=float(stats.f.sf(d2, k, df2)),
        ariv=ariv,
        fmi=fmi,
        asymptotic=False,
        m=m,
    )


def wald_chi_square(estimate, covariance, terms: Sequence[str] | None = None) -> float:
    """Wald statistic :math:`\\hat\\beta_S^\\top V_S^{-1}\\hat\\beta_S` for the terms S (all by
    default), e.g. one per imputation to be pooled by :func:`pool_chi_square`."""
    est = estimate if isinstance(estimate, pd.Series) else pd.Series(np.atleast_1d(estimate))
    cov = (
        covariance
        if isinstance(covariance, pd.DataFrame)
        else pd.DataFrame(np.atleast_2d(covariance), index=est.index, columns=est.index)
    )
    keep = list(est.index) if terms is None else list(terms)
    missing = [t for t in keep if t not in est.index]
    if missing:
        raise ValueError(f"terms: not in the estimates: {', '.join(map(str, missing))}")
    b = est[keep].to_numpy(dtype=float)
    v = cov.loc[keep, keep].to_numpy(dtype=float)
    return float(b @ np.linalg.solve(v, b))


def _model_estimates(model) -> tuple[pd.Series, pd.DataFrame]:
    if not hasattr(model, "coef_") or not hasattr(model, "cov_"):
        raise TypeError("models: each must be fitted and have coef_ and cov_ (a fitted model)")
    cov = model.cov_
    coef = model.coef_
    est = pd.Series(
        [coef[c] if c in coef.index else getattr(model, "intercept_", np.nan) for c in cov.index],
        index=cov.index,
        dtype=float,
    )
    return est, cov


def pool_models(
    models: Sequence, *, dfcom: float = np.inf, ci_level: float = 0.95
) -> PooledEstimates:
    """Pool fitted models (one per imputation) that expose ``coef_`` and ``cov_``:
    :class:`~analysis.attrition.cox.CoxModel`, :class:`~analysis.attrition.logistic.LogisticModel`
    (its intercept included), :class:`~analysis.attrition.competing.FineGrayModel`,
    :class:`~analysis.attrition.gee.GEEModel`. See :func:`pool_estimates`."""
    pairs = [_model_estimates(m) for m in models]
    return pool_estimates(
        [p[0] for p in pairs], [p[1] for p in pairs], dfcom=dfcom, ci_level=ci_level
    )


# --------------------------------------------------------------------------------------------
# Proportional-odds model (the imputation model of ordered items)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class ProportionalOdds(Result):
    """Fitted proportional-odds (ordered logit) model :math:`P(Y \\le k) = F(\\zeta_k - x\\beta)`.

    Attributes
    ----------
    levels : ndarray
        The ordered categories.
    thresholds : ndarray
        :math:`\\zeta_1 < \\dots < \\zeta_{K-1}`.
    coef : ndarray
        :math:`\\beta` (a positive value shifts answers to higher categories).
    cov : ndarray
        Inverse observed information of ``(coef, thresholds)`` in that order (as ``vcov(polr)``).
    loglik : float
    converged : bool
    """

    levels: np.ndarray
    thresholds: np.ndarray
    coef: np.ndarray
    cov: np.ndarray
    loglik: float
    converged: bool

    def probabilities(self, X, *, coef=None, thresholds=None) -> np.ndarray:
        """Category probabilities (rows of ``X`` x levels), optionally at other parameters."""
        b = self.coef if coef is None else coef
        z = self.thresholds if thresholds is None else np.sort(thresholds)
        cum = expit(z[None, :] - (np.atleast_2d(X) @ b)[:, None])
        cum = np.column_stack([np.zeros(len(cum)), cum, np.ones(len(cum))])
        return np.clip(np.diff(cum, axis=1), 0.0, 1.0)

    def summary(self) -> pd.DataFrame:
        k = len(self.coef)
        names = [f"x{j + 1}" for j in range(k)] + [
            f"{self.levels[j]}|{self.levels[j + 1]}" for j in range(len(self.thresholds))
        ]
        est = np.concatenate([self.coef, self.thresholds])
        return pd.DataFrame({"term": names, "estimate": est, "se": np.sqrt(np.diag(self.cov))})


def _po_parts(codes, X, theta, beta, k_cats):
    """Log-likelihood, score and Hessian of the ordered logit (analytic, vectorised)."""
    n, p = X.shape
    eta = X @ beta
    upper = np.append(theta, np.inf)[codes]  # zeta_y (inf for the top category)
    lower = np.concatenate([[-np.inf], theta])[codes]  # zeta_{y-1}
    fa = expit(upper - eta)
    fb = expit(lower - eta)
    prob = np.maximum(fa - fb, 1e-300)
    da = fa * (1 - fa)  # density at the upper cut
    db = fb * (1 - fb)
    dda = da * (1 - 2 * fa)  # derivative of the density
    ddb = db * (1 - 2 * fb)
    m = k_cats - 1
    at_upper = np.zeros((n, m))
    at_lower = np.zeros((n, m))
    rows = np.arange(n)
    has_upper = codes < m
    has_lower = codes > 0
    at_upper[rows[has_upper], codes[has_upper]] = 1.0
    at_lower[rows[has_lower], codes[has_lower] - 1] = 1.0
    g_beta = -((da - db) / prob)[:, None] * X
    g_theta = (da / prob)[:, None] * at_upper - (db / prob)[:, None] * at_lower
    G = np.hstack([g_beta, g_theta])
    s_bb = ((dda - ddb) / prob)[:, None, None] * X[:, :, None] * X[:, None, :]
    s_bt = (-(dda / prob)[:, None] * at_upper + (ddb / prob)[:, None] * at_lower)[:, None, :] * X[
        :, :, None
    ]
    s_tt_diag = (dda / prob)[:, None] * at_upper - (ddb / prob)[:, None] * at_lower
    S = np.zeros((p + m, p + m))
    S[:p, :p] = s_bb.sum(axis=0)
    S[:p, p:] = s_bt.sum(axis=0)
    S[p:, :p] = S[:p, p:].T
    S[p:, p:] = np.diag(s_tt_diag.sum(axis=0))
    hess = S - G.T @ G
    return float(np.log(prob).sum()), G.sum(axis=0), hess


def fit_proportional_odds(y, X, *, max_iter: int = 100, tol: float = 1e-10) -> ProportionalOdds:
    """Fit a proportional-odds (ordered logit) model by Newton-Raphson with analytic derivatives.

    Parameters
    ----------
    y : array
        Ordered outcome (its sorted distinct values are the categories; at least two).
    X : array, shape (n, p)
        Predictors without an intercept (the thresholds take its place).

    Returns
    -------
    ProportionalOdds

    Notes
    -----
    :math:`P(Y \\le k \\mid x) = \\operatorname{logit}^{-1}(\\zeta_k - x\\beta)`, the
    parameterisation of ``MASS::polr`` (statsmodels ``OrderedModel`` uses the same model with
    threshold increments). Newton steps with step halving that keeps the thresholds ordered; the
    covariance is the inverse of the observed information. About ten times faster than
    ``OrderedModel``, whose derivatives are numerical, which matters when every ordered item is
    refitted in every cycle of every imputation. Matches ``MASS::polr(factor(y) ~ X,
    Hess = TRUE)`` (coefficients, thresholds, ``vcov``, ``logLik``).

    References
    ----------
    McCullagh P (1980). Regression models for ordinal data. JRSS B 42:109-142.
    """
    y = np.asarray(y)
    X = np.atleast_2d(np.asarray(X, dtype=float))
    if X.shape[0] != len(y):
        X = X.T
    levels, codes = np.unique(y, return_inverse=True)
    k = len(levels)
    if k < 2:
        raise ValueError("y: an ordered outcome needs at least two categories")
    p = X.shape[1]
    cum = np.cumsum(np.bincount(codes, minlength=k))[:-1] / len(codes)
    theta = np.log(cum / (1 - cum))
    beta = np.zeros(p)
    ll, grad, hess = _po_parts(codes, X, theta, beta, k)
    converged = False
    for _ in range(max_iter):
        try:
            step = np.linalg.solve(-hess, grad)
        except np.linalg.LinAlgError:
            break
        scale = 1.0
        for _ in range(40):
            new_beta = beta + scale * step[:p]
            new_theta = theta + scale * step[p:]
            if np.all(np.diff(new_theta) > 0):
                new = _po_parts(codes, X, new_theta, new_beta, k)
                if np.isfinite(new[0]) and new[0] >= ll - 1e-12:
                    break
            scale /= 2
        else:
            break
        change = ll - new[0]
        beta, theta = new_beta, new_theta
        ll, grad, hess = new
        if abs(change) < tol * (abs(ll) + tol) and np.max(np.abs(scale * step)) < 1e-7:
            converged = True
            break
    try:
        cov = np.linalg.inv(-hess)
    except np.linalg.LinAlgError:
        cov = np.full((p + k - 1, p + k - 1), np.nan)
    return ProportionalOdds(
        levels=levels, thresholds=theta, coef=beta, cov=cov, loglik=ll, converged=converged
    )


# --------------------------------------------------------------------------------------------
# Chained equations
# --------------------------------------------------------------------------------------------
def _design(frame: pd.DataFrame, target: str) -> np.ndarray:
    other = frame.drop(columns=[target]).to_numpy(dtype=float)
    return np.column_stack([np.ones(len(frame)), other])


def _draw_linear(x_obs, y_obs, rng):
    """Bayesian linear regression draw (mice's ``.norm.draw``): the estimate, beta* and sigma*."""
    xtx = x_obs.T @ x_obs
    ridge = 1e-5 * np.diag(xtx).clip(min=1e-12)
    v = np.linalg.inv(xtx + np.diag(ridge))
    coef = v @ x_obs.T @ y_obs
    resid = y_obs - x_obs @ coef
    df = max(len(y_obs) - x_obs.shape[1], 1)
    sigma = np.sqrt(float(resid @ resid) / rng.chisquare(df))
    chol = np.linalg.cholesky((v + v.T) / 2)
    beta_star = coef + sigma * chol @ rng.standard_normal(len(coef))
    return coef, beta_star, sigma


def _impute_norm(x, y, miss, rng):
    obs = ~miss
    _, beta_star, sigma = _draw_linear(x[obs], y[obs], rng)
    return x[miss] @ beta_star + sigma * rng.standard_normal(int(miss.sum()))


def _impute_pmm(x, y, miss, rng, donors: int):
    obs = ~miss
    coef, beta_star, _ = _draw_linear(x[obs], y[obs], rng)
    # type 1 matching (mice): observed cases predicted with the estimate, missing with the draw
    yhat_obs = x[obs] @ coef
    yhat_mis = x[miss] @ beta_star
    dist = np.abs(yhat_mis[:, None] - yhat_obs[None, :])
    k = min(donors, int(obs.sum()))
    nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]
    pick = nearest[np.arange(len(yhat_mis)), rng.integers(0, k, len(yhat_mis))]
    return y[obs][pick]


def _impute_logistic(x, y, miss, rng):
    import statsmodels.api as sm

    obs = ~miss
    levels = np.unique(y[obs])
    yy = (y[obs] == levels[1]).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = sm.GLM(yy, x[obs], family=sm.families.Binomial()).fit()
    cov = np.asarray(res.cov_params())
    beta = rng.multivariate_normal(np.asarray(res.params), (cov + cov.T) / 2)
    prob = expit(x[miss] @ beta)  # no overflow when the predictors separate the classes
    return np.where(rng.random(len(prob)) < prob, levels[1], levels[0])


def _impute_ordinal(x, y, miss, rng):
    obs = ~miss
    exog = x[:, 1:]  # the thresholds take the intercept's place
    fit = fit_proportional_odds(y[obs], exog[obs])
    params = np.concatenate([fit.coef, fit.thresholds])
    if np.isfinite(fit.cov).all():
        params = rng.multivariate_normal(params, (fit.cov + fit.cov.T) / 2)
    p = exog.shape[1]
    probs = fit.probabilities(exog[miss], coef=params[:p], thresholds=params[p:])
    cum = np.cumsum(probs, axis=1)
    draw = (rng.random(len(cum))[:, None] > cum).sum(axis=1)
    return fit.levels[np.minimum(draw, len(fit.levels) - 1)]


def impute_chained(
    frame: pd.DataFrame,
    *,
    m: int = 5,
    ordinal: Sequence[str] = (),
    numeric: str = "pmm",
    n_iter: int = 10,
    donors: int = 5,
    seed: int = 20240101,
) -> list[pd.DataFrame]:
    """Multiple imputation by chained equations; returns m completed copies of ``frame``.

    Parameters
    ----------
    frame : DataFrame
        Numeric columns; missing values (NaN) in any of them are imputed from all the others.
        Include the outcome (time and event indicator, or its cumulative hazard) so that the
        imputations respect the relation being analysed.
    m : int, default 5
        Number of imputations (at least 2; more for a stable fraction of missing information).
    ordinal : sequence of str
        Ordered items (e.g. Likert answers) imputed by a proportional-odds model, so every
        imputed value is one of the observed categories.
    numeric : {"pmm", "norm"}, default "pmm"
        Model for the other numeric columns: predictive mean matching (imputes observed values
        only; mice's default) or a Bayesian normal linear regression draw (mice's ``norm``;
        less biased when the missing values lie where few observed values are, e.g. when
        missingness depends strongly on the outcome).
    n_iter : int, default 10
        Cycles through the incomplete columns per imputation.
    donors : int, default 5
        Donor pool of predictive mean matching.
    seed : int

    Returns
    -------
    list of DataFrame
        The m completed data sets (index and columns of ``frame``).

    Notes
    -----
    Each imputation is its own chain started from random draws of the observed values. For each
    incomplete column in turn, the model is fitted to the rows where it is observed (with the
    other columns as currently completed), its parameters are drawn from their approximate
    posterior, and the missing values are drawn: numeric columns by predictive mean matching
    (type 1 matching with ``donors`` candidates, mice's ``pmm``), two-valued columns by logistic
    regression (``logreg``), ``ordinal`` columns by a proportional-odds model (statsmodels
    :func:`fit_proportional_odds`, the model of mice's ``polr``, here with its parameters drawn
    too). statsmodels' ``MICEData`` is not used because it has no ordinal or logistic imputation
    model. Valid under missing at random given the columns used.

    References
    ----------
    van Buuren S, Groothuis-Oudshoorn K (2011). mice: Multivariate Imputation by Chained
    Equations in R. J Stat Softw 45(3).
    White IR, Royston P, Wood AM (2011). Multiple imputation using chained equations: issues and
    guidance for practice. Stat Med 30:377-399.
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError("frame: must be a pandas DataFrame")
    if m < 2:
        raise ValueError(f"m: at least 2 imputations; got {m}")
    if numeric not in ("pmm", "norm"):
        raise ValueError(f"numeric: must be 'pmm' or 'norm'; got {numeric!r}")
    if n_iter < 1 or donors < 1:
        raise ValueError("n_iter, donors: must be at least 1")
    unknown = [c for c in ordinal if c not in frame.columns]
    if unknown:
        raise ValueError(f"ordinal: not columns of frame: {', '.join(map(str, unknown))}")
    try:
        values = frame.to_numpy(dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"frame: every column must be numeric ({err})") from None
    if np.isinf(values).any():
        raise ValueError("frame: infinite values")
    miss = np.isnan(values)
    names = list(frame.columns)
    incomplete = [j for j in range(len(names)) if miss[:, j].any()]
    for j in incomplete:
        n_obs = int((~miss[:, j]).sum())
        if n_obs < 2:
            raise ValueError(f"column {names[j]!r}: fewer than two observed values to impute from")
    rng = np.random.default_rng(seed)
    ordinal_idx = {names.index(c) for c in ordinal}
    out = []
    for _ in range(m):
        data = values.copy()
        for j in incomplete:
            observed = values[~miss[:, j], j]
            data[miss[:, j], j] = rng.choice(observed, int(miss[:, j].sum()))
        for _ in range(n_iter):
            for j in incomplete:
                x = np.column_stack([np.ones(len(data)), np.delete(data, j, axis=1)])
                y = data[:, j]
                mj = miss[:, j]
                n_levels = len(np.unique(values[~mj, j]))
                if j in ordinal_idx and n_levels > 2:
                    data[mj, j] = _impute_ordinal(x, y, mj, rng)
                elif n_levels == 2:
                    data[mj, j] = _impute_logistic(x, y, mj, rng)
                elif numeric == "norm":
                    data[mj, j] = _impute_norm(x, y, mj, rng)
                else:
                    data[mj, j] = _impute_pmm(x, y, mj, rng, donors)
        out.append(pd.DataFrame(data, index=frame.index, columns=frame.columns))
    return out


# --------------------------------------------------------------------------------------------
# Validation within imputations
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, repr=False)
class PooledValidation(Result):
    """Bootstrap optimism-corrected performance averaged over imputations.

    Attributes
    ----------
    table : DataFrame
        Index ``metric``; columns ``apparent, optimism, corrected`` (means over imputations),
        ``corrected_sd`` (SD of the corrected value between imputations), ``m``.
    per_imputation : list
        The :class:`~analysis.attrition.validation.Validation` of each completed data set.
    """

    table: pd.DataFrame
    per_imputation: list = field(default_factory=list)

    def summary(self) -> pd.DataFrame:
        return self.table.reset_index()

    def to_dict(self) -> dict:
        return {"metrics": self.summary().to_dict(orient="records"), "m": len(self.per_imputation)}


def validate_within_imputations(
    imputations: Sequence[pd.DataFrame],
    *,
    predictors: Sequence[str],
    model: str = "cox",
    time: str | None = None,
    event: str | None = None,
    outcome: str | None = None,
    validate: Callable | None = None,
    **options,
) -> PooledValidation:
    """Run the bootstrap validation in each completed data set and average the results.

    Parameters
    ----------
    imputations : sequence of DataFrame
        Completed data sets (e.g. from :func:`impute_chained`).
    predictors : sequence of str
        Columns used as predictors.
    model : {"cox", "logistic"}, default "cox"
    time, event : str
        Cox: the follow-up time and event columns.
    outcome : str
        Logistic: the 0/1 outcome column.
    validate : callable, optional
        Replaces :func:`~analysis.attrition.validation.validate_cox` /
        :func:`~analysis.attrition.validation.validate_logistic` (same signature).
    **options
        Passed on (``horizon``, ``n_boot``, ``seed``, ``penalty``...). Each imputation uses
        ``seed + l`` so the resamples differ between imputations.

    Notes
    -----
    Performance is estimated within each imputed data set (apparent, optimism and corrected,
    by Harrell's bootstrap) and averaged over imputations, the approach recommended by Wood,
    Royston & White (2015) and Musoro et al. (2014) for validating prediction models after
    multiple imputation (bootstrapping within imputations, not imputing within bootstraps).
    """
    from analysis.attrition.validation import validate_cox, validate_logistic

    if len(imputations) < 1:
        raise ValueError("imputations: at least one completed data set is needed")
    if model not in ("cox", "logistic"):
        raise ValueError(f"model: must be 'cox' or 'logistic'; got {model!r}")
    needed = list(predictors) + (
        [c for c in (time, event) if c] if model == "cox" else [c for c in (outcome,) if c]
    )
    if model == "cox" and (time is None or event is None):
        raise ValueError("time, event: both columns are needed for a Cox model")
    if model == "logistic" and outcome is None:
        raise ValueError("outcome: the 0/1 outcome column is needed for a logistic model")
    seed = int(options.pop("seed", 20240101))
    runs = []
    for idx, data in enumerate(imputations):
        missing = [c for c in needed if c not in data.columns]
        if missing:
            raise ValueError(f"imputation {idx + 1}: missing column(s) {', '.join(missing)}")
        if data[needed].isna().any().any():
            raise ValueError(f"imputation {idx + 1}: still has missing values in the used columns")
        X = data[list(predictors)]
        if model == "cox":
            fn = validate or validate_cox
            runs.append(fn(X, data[time], data[event], seed=seed + idx, **options))
        else:
            fn = validate or validate_logistic
            runs.append(fn(X, data[outcome], seed=seed + idx, **options))
    cols = ["apparent", "optimism", "corrected"]
    stacked = pd.concat([r.table[cols] for r in runs], keys=range(len(runs)), names=["imp"])
    table = stacked.groupby(level="metric", sort=False).mean()
    table["corrected_sd"] = (
        stacked["corrected"].groupby(level="metric", sort=False).std(ddof=1)
        if len(runs) > 1
        else np.nan
    )
    table["m"] = len(runs)
    return PooledValidation(table=table, per_imputation=runs)
