"""Logistic regression of disengagement status on scale scores and covariates."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis._estimator import Estimator, ModelResults
from analysis.attrition.concordance import Concordance, concordance_index
from analysis.attrition.cox import check_estimable, check_settings, effect_table
from analysis.errors import ConvergenceWarning

__all__ = ["LogisticModel", "logistic_irls"]


def logistic_irls(
    X: np.ndarray,
    y: np.ndarray,
    *,
    penalty: float = 0.0,
    offset: np.ndarray | None = None,
    max_iter: int = 100,
    tol: float = 1e-10,
    init: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Fit a logistic regression by iteratively reweighted least squares.

    Parameters
    ----------
    X : array, shape (n, p)
        Design matrix; the first column must be the intercept (1s), which is never penalised.
    y : array
        0/1 outcome.
    penalty : float, default 0
        Ridge penalty :math:`\\tfrac{\\lambda}{2}\\sum_{j\\ge1}\\beta_j^2` on the scale of ``X``.
    offset : array, optional
        Known part of the linear predictor.
    init : array, optional
        Starting coefficients (default 0; the bootstrap starts from the full-data estimate).

    Returns
    -------
    coef : ndarray
    information : ndarray
        :math:`X^\\top W X` plus the penalty (its inverse is the covariance when penalty = 0).
    converged : bool

    Notes
    -----
    Newton-Raphson on the (penalised) binomial log-likelihood, as ``glm(family = binomial)``.

    Examples
    --------
    >>> X = np.c_[np.ones(6), [0, 1, 2, 3, 4, 5]]
    >>> coef, _, ok = logistic_irls(X, np.array([0, 0, 1, 0, 1, 1]))
    >>> ok, bool(coef[1] > 0)
    (True, True)
    """
    n, p = X.shape
    beta = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
    off = np.zeros(n) if offset is None else np.asarray(offset, dtype=float)
    pen = np.full(p, float(penalty))
    pen[0] = 0.0
    converged = False
    dev_old = np.inf
    info = np.eye(p)
    for _ in range(max_iter):
        eta = X @ beta + off
        mu = expit(eta)
        w = np.clip(mu * (1 - mu), 1e-12, None)
        info = (X * w[:, None]).T @ X + np.diag(pen)
        grad = X.T @ (y - mu) - pen * beta
        step = np.linalg.solve(info, grad)
        beta = beta + step
        with np.errstate(divide="ignore"):
            eta = X @ beta + off
            dev = -2 * float(np.sum(y * eta - np.logaddexp(0, eta))) + float(np.sum(pen * beta**2))
        if abs(dev - dev_old) <= tol * (abs(dev) + 0.1):
            converged = True
            break
        dev_old = dev
    eta = X @ beta + off
    mu = expit(eta)
    w = mu * (1 - mu)
    info = (X * w[:, None]).T @ X + np.diag(pen)
    return beta, info, converged


class LogisticModel(Estimator):
    """Logistic regression of disengagement (yes/no) at follow-up (scikit-learn style).

    Parameters
    ----------
    penalty : float, default 0
        Ridge penalty on the standardised predictors (0 = maximum likelihood by statsmodels
        ``Logit``). With a penalty the coefficients are shrunk and no standard errors are given.
    ci_level : float, default 0.95

    Attributes
    ----------
    feature_names_in_ : list of str
    intercept_ : float
    coef_, se_ : Series
        Log odds ratios per unit and their standard errors.
    cov_ : DataFrame
        Covariance of (intercept, coefficients): model-based, or cluster-robust with ``cluster``.
    n_clusters_ : int or None
        Clusters of the robust covariance.
    means_, sds_ : Series
        Predictor means and SDs (ddof = 1), used for the per-SD odds ratios and the penalty.
    loglik_, loglik_null_ : float
    n_obs_, n_events_ : int
    auc_ : Concordance
        Apparent area under the ROC curve (C for a binary outcome).
    results_ : ModelResults
        The :meth:`summary` table and the scalar statistics (log-likelihoods, counts).

    Notes
    -----
    :math:`\\operatorname{logit} P(y = 1) = \\beta_0 + x\\beta`; odds ratio per point
    :math:`e^{\\beta_j}`, per SD :math:`e^{\\beta_j s_j}` with Wald intervals. Reproduces
    ``glm(y ~ ..., family = binomial)``; tests pin coefficients and SEs on lung within 1e-4.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> X = pd.DataFrame({"cohesion": rng.normal(size=400)})
    >>> y = rng.random(400) < 1 / (1 + np.exp(X["cohesion"]))
    >>> bool(LogisticModel().fit(X, y).coef_["cohesion"] < 0)
    True
    """

    def __init__(self, *, penalty: float = 0.0, ci_level: float = 0.95):
        self.penalty = penalty
        self.ci_level = ci_level

    def fit(self, X: pd.DataFrame, y, *, cluster=None) -> LogisticModel:
        """Fit the model.

        Parameters
        ----------
        X : DataFrame
            Numeric predictors.
        y : array
            1 = disengaged, 0 = still engaged.
        cluster : array, optional
            Group of each respondent (meeting, fellowship): standard errors become cluster-robust
            (statsmodels ``cov_type="cluster"``, with the small-sample factor
            :math:`\tfrac{G}{G-1}\tfrac{N-1}{N-K}`, as ``sandwich::vcovCL(type = "HC1")``).

        Returns
        -------
        self
        """
        check_settings(X, ci_level=self.ci_level, penalty=self.penalty)
        values = X.to_numpy(dtype=float)
        y = np.asarray(y, dtype=float)
        if len(y) != len(values):
            raise ValueError("X, y: must have the same number of rows")
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y: must be 0 (still engaged) or 1 (disengaged)")
        if not np.isfinite(values).all():
            raise ValueError("X: must not contain missing values (drop them first)")
        if y.sum() in (0, len(y)):
            raise ValueError("y: needs both outcomes (0 and 1) to fit a logistic model")
        groups = None
        if cluster is not None:
            groups, _ = pd.factorize(pd.Series(np.asarray(cluster)), sort=True)
            if len(groups) != len(y):
                raise ValueError("cluster: must have one value per row")
            if (groups < 0).any():
                raise ValueError("cluster: must not contain missing values")
        names = [str(c) for c in X.columns]
        check_estimable(values, names)
        self.feature_names_in_ = names
        self.n_clusters_ = None if groups is None else int(groups.max()) + 1
        means = values.mean(axis=0)
        sds = values.std(axis=0, ddof=1)
        self.means_ = pd.Series(means, index=names)
        self.sds_ = pd.Series(sds, index=names)
        if self.penalty > 0:
            scale = np.where(sds > 0, sds, 1.0)
            design = np.c_[np.ones(len(y)), (values - means) / scale]
            coef_std, _, converged = logistic_irls(design, y, penalty=self.penalty)
            slopes = coef_std[1:] / scale
            intercept = coef_std[0] - slopes @ means
            cov = np.full((len(names) + 1, len(names) + 1), np.nan)
        else:
            import statsmodels.api as sm

            design = np.c_[np.ones(len(y)), values]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                if groups is None:
                    res = sm.Logit(y, design).fit(disp=0, method="newton", maxiter=100)
                else:
                    res = sm.Logit(y, design).fit(
                        disp=0,
                        method="newton",
                        maxiter=100,
                        cov_type="cluster",
                        cov_kwds={"groups": groups},
                    )
            converged = bool(res.mle_retvals.get("converged", True))
            intercept, slopes = float(res.params[0]), np.asarray(res.params[1:])
            cov = np.asarray(res.cov_params())
        if not converged:
            warnings.warn(
                "logistic model did not converge (complete separation?); estimates may be infinite",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.intercept_ = float(intercept)
        self.coef_ = pd.Series(slopes, index=names)
        self.se_ = pd.Series(np.sqrt(np.diag(cov))[1:], index=names)
        labels = ["(Intercept)", *names]
        self.cov_ = pd.DataFrame(cov, index=labels, columns=labels)
        lp = self._lp(values)
        self.loglik_ = float(np.sum(y * lp - np.logaddexp(0, lp)))
        rate = y.mean()
        self.loglik_null_ = float(len(y) * (rate * np.log(rate) + (1 - rate) * np.log(1 - rate)))
        self.n_obs_ = int(len(y))
        self.n_events_ = int(y.sum())
        self.converged_ = bool(converged)
        self.auc_ = auc(y, lp)
        return self._finish_fit(ModelResults.of(self, self._table()))

    def _lp(self, values: np.ndarray) -> np.ndarray:
        return self.intercept_ + (values * self.coef_.to_numpy()).sum(axis=1)

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"X: missing predictor column(s) {', '.join(missing)}")
        return X[self.feature_names_in_].to_numpy(dtype=float)

    def linear_predictor(self, X: pd.DataFrame) -> pd.Series:
        """Log odds of disengagement for each row."""
        self._check_fitted()
        return pd.Series(self._lp(self._matrix(X)), index=X.index, name="linear_predictor")

    def predict_risk(self, X: pd.DataFrame) -> pd.Series:
        """Predicted probability of disengagement for each row."""
        lp = self.linear_predictor(X)
        return pd.Series(expit(lp.to_numpy()), index=X.index, name="risk")

    def summary(self) -> pd.DataFrame:
        """One row per term (intercept first): ``estimate`` (log OR), ``se``, ``z``, ``p``,
        ``odds_ratio``, ``ci_low``, ``ci_high``, ``sd``, ``odds_ratio_per_sd``,
        ``odds_ratio_per_sd_ci_low``, ``odds_ratio_per_sd_ci_high``, ``ci_level``."""
        self._check_fitted()
        return self.results_.summary()

    def _table(self) -> pd.DataFrame:
        coef = pd.concat([pd.Series({"(Intercept)": self.intercept_}), self.coef_])
        se = pd.Series(np.sqrt(np.diag(self.cov_.to_numpy())), index=coef.index)
        sds = pd.concat([pd.Series({"(Intercept)": np.nan}), self.sds_])
        table = effect_table(coef, se, sds, self.ci_level, ratio="odds_ratio")
        return table


def auc(y, score) -> Concordance:
    """Area under the ROC curve as the concordance of ``score`` with a 0/1 outcome (ties count 1/2).

    Examples
    --------
    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).estimate
    0.75
    """
    y = np.asarray(y, dtype=float)
    # a binary outcome as "time": cases (1) at time 0 with the event, controls later, censored
    return concordance_index(1.0 - y, y, score)


__all__ += ["auc"]
