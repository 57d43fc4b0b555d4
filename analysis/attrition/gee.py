"""Repeated binary outcomes (e.g. attending at each wave): generalised estimating equations.

The fit is statsmodels' :class:`~statsmodels.genmod.generalized_estimating_equations.GEE`; the
working-correlation parameter is estimated by geepack's moment equations (exchangeable: the mean
product of standardised residuals over all pairs within a member; AR(1): the least-squares fit of
:math:`\\alpha^{|t_j - t_k|}` to those products), so that coefficients, robust standard errors and
the correlation parameter agree with ``geepack::geeglm``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.genmod import cov_struct as cs

from analysis._estimator import Estimator
from analysis._results import Result
from analysis.errors import ConvergenceWarning

__all__ = ["CORRELATIONS", "GEEModel", "GEEResult"]

CORRELATIONS = ("independence", "exchangeable", "ar1")


def _scaled_residuals(model) -> list[np.ndarray]:
    """Pearson residuals per cluster, as geepack's ``PR``."""
    out = []
    for i in range(model.num_group):
        expval, _ = model.cached_means[i]
        out.append((model.endog_li[i] - expval) / np.sqrt(model.family.variance(expval)))
    return out


class _Exchangeable(cs.Exchangeable):
    """Exchangeable working correlation with geepack's estimator: scale
    :math:`\\phi = N^{-1}\\sum e^2` and
    :math:`\\alpha = \\sum_{j<k} e_j e_k / (\\phi\\,n_{pairs})`."""

    def update(self, params):
        resid = _scaled_residuals(self.model)
        phi = sum(float(r @ r) for r in resid) / sum(len(r) for r in resid)
        pairs = sum(len(r) * (len(r) - 1) / 2 for r in resid)
        cross = sum((r.sum() ** 2 - r @ r) / 2 for r in resid)
        self.dep_params = float(cross / (phi * pairs))
        self.scale_ = phi


class _AR1(cs.CovStruct):
    """AR(1) working correlation :math:`\\alpha^{|t_j - t_k|}` on the time values, with geepack's
    estimator: Gauss-Newton on :math:`\\sum (z_{jk} - \\alpha^{d_{jk}})` weighted by the
    derivative, :math:`z_{jk} = e_j e_k / \\phi` over all pairs within a member."""

    def initialize(self, model):
        super().initialize(model)
        self.dep_params = 0.0

    def _lags(self, index):
        t = np.asarray(self.model.time_li[index], dtype=float).ravel()
        return np.abs(t[:, None] - t[None, :])

    def update(self, params):
        resid = _scaled_residuals(self.model)
        phi = sum(float(r @ r) for r in resid) / sum(len(r) for r in resid)
        z_all, d_all = [], []
        for i, r in enumerate(resid):
            if len(r) < 2:
                continue
            iu = np.triu_indices(len(r), 1)
            z_all.append((np.outer(r, r) / phi)[iu])
            d_all.append(self._lags(i)[iu])
        z = np.concatenate(z_all)
        d = np.concatenate(d_all)
        a = float(self.dep_params)
        for _ in range(100):
            rho = a**d
            deriv = d * np.where(d > 0, a ** np.maximum(d - 1, 0), 0.0)
            step = float(deriv @ (z - rho) / (deriv @ deriv))
            a += step
            if abs(step) < 1e-14:
                break
        self.dep_params = a
        self.scale_ = phi

    def covariance_matrix(self, endog_expval, index):
        return self.dep_params ** self._lags(index), True

    def summary(self):
        return f"AR(1) on time lags, alpha = {self.dep_params:.4f}"


@dataclass(frozen=True, repr=False)
class GEEResult(Result):
    """Summary of a fitted GEE (see :class:`GEEModel`).

    Attributes
    ----------
    table : DataFrame
        Index ``term``; columns ``estimate, se, z, p, odds_ratio, ci_low, ci_high, ci_level``
        (``se`` robust; ``odds_ratio`` and its interval for the logit link).
    correlation : str
    alpha : float
        Working-correlation parameter (NaN for independence).
    scale : float
        Dispersion :math:`N^{-1}\\sum e^2` of the Pearson residuals (geepack's ``gamma``).
    n_obs, n_clusters : int
    """

    table: pd.DataFrame
    correlation: str
    alpha: float
    scale: float
    n_obs: int
    n_clusters: int

    def summary(self) -> pd.DataFrame:
        return self.table.reset_index()

    def to_dict(self) -> dict:
        return {
            "terms": self.summary().to_dict(orient="records"),
            "correlation": self.correlation,
            "alpha": self.alpha,
            "scale": self.scale,
            "n_obs": self.n_obs,
            "n_clusters": self.n_clusters,
        }


class GEEModel(Estimator):
    """Logistic GEE for a repeated binary outcome with a working correlation within members.

    Parameters
    ----------
    correlation : {"exchangeable", "ar1", "independence"}, default "exchangeable"
        Working correlation. ``ar1`` uses the time values given to :meth:`fit` (lags of 2 for a
        skipped wave), or the position within the member when no time is given.
    ci_level : float, default 0.95
    max_iter : int, default 200

    Attributes
    ----------
    feature_names_in_ : list of str
    coef_, se_ : Series
        Coefficients (log odds ratios, first ``intercept``) and robust (sandwich) standard errors.
    cov_ : DataFrame
        Robust covariance.
    alpha_, scale_ : float
    n_obs_, n_clusters_ : int
    converged_ : bool
    results_ : GEEResult

    Notes
    -----
    Liang & Zeger's estimating equations with the robust variance
    :math:`A^{-1}(\\sum_i D_i^\\top V_i^{-1} e_i e_i^\\top V_i^{-1} D_i)A^{-1}`; the mean model is
    fitted by statsmodels GEE and the correlation parameter by geepack's moment equations (see
    the module docstring). Rows are sorted by cluster and time first. Reproduces
    ``geepack::geeglm(y ~ x, id = id, family = binomial, corstr = correlation)`` (estimates,
    ``Std.err``, ``alpha``) once geepack is run to convergence (``geese.control(epsilon =
    1e-12)``; its default stops at 1e-4).

    References
    ----------
    Liang KY, Zeger SL (1986). Longitudinal data analysis using generalized linear models.
    Biometrika 73:13-22.
    Halekoh U, Hojsgaard S, Yan J (2006). The R package geepack for generalized estimating
    equations. J Stat Softw 15(2).

    Examples
    --------
    >>> rng = np.random.default_rng(3)
    >>> member = np.repeat(np.arange(200), 3)
    >>> x = rng.normal(size=600)
    >>> y = (rng.random(600) < 1 / (1 + np.exp(-x))).astype(int)
    >>> gee = GEEModel(correlation="exchangeable").fit(pd.DataFrame({"x": x}), y, groups=member)
    >>> bool(gee.coef_["x"] > 0)
    True
    """

    def __init__(
        self, *, correlation: str = "exchangeable", ci_level: float = 0.95, max_iter: int = 200
    ):
        self.correlation = correlation
        self.ci_level = ci_level
        self.max_iter = max_iter

    def fit(self, X: pd.DataFrame, y, *, groups, time=None) -> GEEModel:
        import statsmodels.api as sm
        from statsmodels.genmod.generalized_estimating_equations import GEE

        if self.correlation not in CORRELATIONS:
            raise ValueError(
                f"correlation: must be one of {', '.join(CORRELATIONS)}; got {self.correlation!r}"
            )
        if not 0 < self.ci_level < 1:
            raise ValueError(f"ci_level: must be between 0 and 1; got {self.ci_level}")
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X: must be a pandas DataFrame of numeric predictors")
        values = X.to_numpy(dtype=float)
        y = np.asarray(y, dtype=float)
        groups = np.asarray(groups)
        n = len(y)
        if values.shape[0] != n or len(groups) != n:
            raise ValueError("X, y and groups: must have the same number of rows")
        if not np.isfinite(values).all():
            cols = [str(c) for c in X.columns[~np.isfinite(values).all(axis=0)]]
            raise ValueError(f"X: missing or infinite values in column(s) {', '.join(cols)}")
        constant = [
            str(c) for c, sd in zip(X.columns, values.std(axis=0), strict=True) if not sd > 0
        ]
        if constant:
            raise ValueError(
                f"predictor(s) {', '.join(constant)} take a single value; a coefficient cannot "
                "be estimated - leave them out"
            )
        if not np.isin(y, (0, 1)).all():
            raise ValueError("y: must be 0 or 1 (no missing values)")
        if pd.isna(groups).any():
            raise ValueError("groups: missing values")
        t = (
            pd.Series(np.zeros(n)).groupby(groups).cumcount().to_numpy(dtype=float)
            if time is None
            else np.asarray(time, dtype=float)
        )
        if len(t) != n or not np.isfinite(t).all():
            raise ValueError("time: must be finite and have one value per row")
        order = np.lexsort((t, pd.factorize(groups, sort=True)[0]))
        names = ["intercept"] + [str(c) for c in X.columns]
        exog = np.column_stack([np.ones(n), values])[order]
        struct = {
            "independence": cs.Independence,
            "exchangeable": _Exchangeable,
            "ar1": _AR1,
        }[self.correlation]()
        model = GEE(
            y[order],
            exog,
            groups=groups[order],
            time=t[order],
            family=sm.families.Binomial(),
            cov_struct=struct,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            res = model.fit(maxiter=self.max_iter, ctol=1e-10)
        resid = _scaled_residuals(model)
        self.feature_names_in_ = names[1:]
        self.coef_ = pd.Series(np.asarray(res.params), index=names)
        cov = np.asarray(res.cov_robust)
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.se_ = pd.Series(np.sqrt(np.diag(cov)), index=names)
        self.alpha_ = np.nan if self.correlation == "independence" else float(struct.dep_params)
        self.scale_ = sum(float(r @ r) for r in resid) / n
        self.n_obs_ = int(n)
        self.n_clusters_ = int(model.num_group)
        self.converged_ = bool(getattr(res, "converged", True))
        if not self.converged_:
            warnings.warn(
                f"GEE ({self.correlation}): did not converge in {self.max_iter} iterations; "
                "estimates may be unreliable",
                ConvergenceWarning,
                stacklevel=2,
            )
        return self._finish_fit(self._result())

    def result(self) -> GEEResult:
        """The fitted model's results (``results_``)."""
        self._check_fitted()
        return self.results_

    def _result(self) -> GEEResult:
        z = stats.norm.ppf(0.5 + self.ci_level / 2)
        est = self.coef_.to_numpy()
        se = self.se_.to_numpy()
        table = pd.DataFrame(
            {
                "estimate": est,
                "se": se,
                "z": est / se,
                "p": 2 * stats.norm.sf(np.abs(est / se)),
                "odds_ratio": np.exp(est),
                "ci_low": np.exp(est - z * se),
                "ci_high": np.exp(est + z * se),
                "ci_level": self.ci_level,
            },
            index=pd.Index(self.coef_.index, name="term"),
        )
        return GEEResult(
            table=table,
            correlation=self.correlation,
            alpha=self.alpha_,
            scale=self.scale_,
            n_obs=self.n_obs_,
            n_clusters=self.n_clusters_,
        )

    def summary(self) -> pd.DataFrame:
        """One row per term: ``term, estimate, se, z, p, odds_ratio, ci_low, ci_high,
        ci_level``."""
        return self.result().summary()
