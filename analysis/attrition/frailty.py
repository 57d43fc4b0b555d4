"""Shared gamma frailty Cox model: members nested in groups that share an unobserved risk.

Each group :math:`j` multiplies the hazard of its members by a frailty :math:`u_j = e^{w_j}`,
gamma distributed with mean 1 and variance :math:`\\theta`. The fit is survival's penalised partial
likelihood (Therneau, Grambsch & Pankratz 2003): for a given :math:`\\theta` the coefficients and
the log frailties maximise

.. math:: PPL(\\beta, w) = PL(\\beta, w) - \\nu \\sum_j (e^{w_j} - w_j), \\quad \\nu = 1/\\theta,

and :math:`\\theta` is chosen by maximising the integrated (marginal) log-likelihood, which for the
gamma frailty is :math:`PPL` plus a closed-form correction. Built on the Newton Cox engine of
:mod:`analysis.attrition.cox` (the frailties are indicator columns of the same partial likelihood).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from analysis._estimator import Estimator, ModelResults
from analysis.attrition.cox import (
    RiskSets,
    check_estimable,
    check_settings,
    effect_table,
    partial_likelihood,
)
from analysis.errors import ConvergenceWarning

__all__ = ["FrailtyCoxModel", "gamma_frailty_correction"]

DISTRIBUTIONS = ("gamma",)
#: above this many groups survival treats the frailty term as sparse (``frailty(sparse = )``)
SPARSE_GROUPS = 5


def gamma_frailty_correction(events: np.ndarray, nu: float) -> float:
    """Integrated minus penalised log-likelihood of a gamma frailty (up to the penalty's constant).

    Parameters
    ----------
    events : array of int
        Number of events in each group.
    nu : float
        Inverse of the frailty variance, :math:`\\nu = 1/\\theta` (> 0).

    Returns
    -------
    float
        :math:`\\sum_j [d_j - \\nu\\log(1 + d_j/\\nu) + \\log\\Gamma(\\nu + d_j) - \\log\\Gamma(\\nu)
        - d_j \\log(\\nu + d_j)]`.

    Notes
    -----
    Added to :math:`PL(\\hat\\beta, \\hat w) + \\nu\\sum_j \\hat w_j` it gives the integrated
    log-likelihood that ``coxph(... + frailty(g))`` maximises over :math:`\\theta` (its
    ``frailty.gammacon``; equation 15 of Therneau, Grambsch & Pankratz 2003). The log-gamma
    difference is summed as :math:`\\sum_{k<d_j}\\log(\\nu + k)` so that it keeps its precision when
    :math:`\\nu` is large. survival switches the first sum to a Taylor series when
    :math:`\\nu > 10^7 \\max d_j`; here ``log1p`` keeps it exact.

    Examples
    --------
    >>> round(gamma_frailty_correction(np.array([2, 0, 1]), 2.0), 10)  # frailty.gammacon
    -0.5835189385
    """
    d = np.asarray(events, dtype=float)
    term1 = float(np.sum(d - nu * np.log1p(d / nu)))
    counts = d.astype(int)
    group_d = np.repeat(d, counts)
    k = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    term2 = float(np.sum(np.log1p((k - group_d) / (nu + group_d))))
    return term1 + term2


@dataclass(frozen=True, slots=True)
class _PenalisedFit:
    beta: np.ndarray  # covariates, then log frailties
    loglik: float  # partial likelihood with the frailties, no penalty
    information: np.ndarray  # penalised observed information
    n_iter: int
    converged: bool


def _penalised_newton(
    Xc: np.ndarray, rs: RiskSets, n_cov: int, nu: float | None, init: np.ndarray, max_iter: int
) -> _PenalisedFit:
    """Newton-Raphson with step halving on PL - nu * sum(exp(w) - w) (nu None: no frailty, w = 0)."""
    p = Xc.shape[1] if nu is not None else n_cov
    X = Xc[:, :p]
    beta = init[:p].copy()

    def objective(b):
        ll, grad, info = partial_likelihood(X, b, rs)
        if nu is None:
            return ll, ll, grad, info
        w = b[n_cov:]
        obj = ll - nu * float(np.sum(np.expm1(w) - w))
        grad = grad.copy()
        grad[n_cov:] -= nu * np.expm1(w)
        info = info.copy()
        info[np.arange(n_cov, p), np.arange(n_cov, p)] += nu * np.exp(w)
        return obj, ll, grad, info

    obj, ll, grad, info = objective(beta)
    converged = False
    n_iter = 0
    while n_iter < max_iter:
        n_iter += 1
        step = np.linalg.solve(info, grad)
        for _ in range(30):
            trial = beta + step
            new = objective(trial)
            if np.isfinite(new[0]) and new[0] >= obj - 1e-12 * abs(obj):
                break
            step = step / 2
        beta = trial
        change = abs(new[0] - obj)
        obj, ll, grad, info = new
        if change <= 1e-13 * max(abs(obj), 1.0) and np.max(np.abs(step)) < 1e-9:
            converged = True
            break
    full = np.zeros(Xc.shape[1])
    full[:p] = beta
    return _PenalisedFit(beta=full, loglik=ll, information=info, n_iter=n_iter, converged=converged)


def _brent_step(x: np.ndarray, y: np.ndarray, lower: float) -> float:
    """Next point of the bracketing / parabolic search for the maximum of y(x) (history order)."""
    n = len(x)
    if n < 3:
        return float(np.mean(x))
    order = np.argsort(x, kind="stable")
    xs, ys = x[order], y[order]
    best = int(np.argmax(ys))
    if best == 0:
        new = xs[0] - 3 * (xs[1] - xs[0])
        if new < lower:
            new = lower + (np.min(xs[xs > lower]) - lower) / 10
        return float(new)
    if best == n - 1:
        return float(xs[-1] + 3 * (xs[-1] - xs[-2]))
    a, b, c = xs[best - 1 : best + 2]
    fa, fb, fc = ys[best - 1 : best + 2]
    # vertex of the parabola through the best point and its two neighbours
    num = (b - a) ** 2 * (fb - fc) - (b - c) ** 2 * (fb - fa)
    den = (b - a) * (fb - fc) - (b - c) * (fb - fa)
    new = b - 0.5 * num / den
    bouncing = n > 4 and (new - x[-1]) > 0.5 * abs(x[-2] - x[-3])
    if new < a or new > c or bouncing:
        # golden-section step into the larger side
        return float(b - 0.38 * (b - a) if (b - a) > (c - b) else b + 0.32 * (c - b))
    return float(new)


class FrailtyCoxModel(Estimator):
    """Cox model with a shared gamma frailty per group (scikit-learn style).

    Parameters
    ----------
    distribution : {"gamma"}, default "gamma"
        Distribution of the frailties (mean 1, variance ``theta``).
    theta : float, optional
        Fix the frailty variance (``frailty(g, theta = )``); default: estimated by maximising the
        integrated log-likelihood.
    ties : {"efron", "breslow"}, default "efron"
    eps : float, default 1e-5
        The search for theta stops when the integrated log-likelihood changes by less than this
        relative amount between two trials (survival's ``frailty(eps = )``).
    max_outer : int, default 10
        Values of theta tried at most (``coxph.control(outer.max = )``).
    ci_level : float, default 0.95

    Attributes
    ----------
    feature_names_in_ : list of str
    coef_, se_, se2_ : Series
        Log hazard ratios given the frailties; ``se_`` from the inverse penalised information
        (R's ``se(coef)``, ``vcov(fit)``), ``se2_`` from the sandwich
        :math:`H^{-1} I H^{-1}` with the penalty removed from the middle (R's ``se2``).
    cov_, cov2_ : DataFrame
        The two covariances.
    theta_ : float
        Frailty variance at which the coefficients were estimated (R's printed "Variance of
        random effect", the last row of ``fit$history[[1]]$history``).
    theta_next_ : float
        The search's next proposal, computed after it stopped (R's ``fit$history[[1]]$theta``);
        equal to ``theta_`` when theta is fixed.
    history_ : DataFrame
        Every theta tried: ``theta, penalised_loglik, integrated_loglik`` (R's history columns
        ``theta, loglik, c.loglik``).
    frailty_ : Series
        Estimated log frailties :math:`\\hat w_j` by group (R's ``fit$frail``).
    loglik_null_, loglik_ : float
        Partial log-likelihood with all coefficients and frailties 0, and at the estimate with the
        frailties (R's ``fit$loglik``).
    integrated_loglik_ : float
        Integrated log-likelihood at ``theta_`` (R's "I-likelihood").
    df_ : Series
        Effective degrees of freedom of each covariate and of the frailty term (``fit$df``).
    n_obs_, n_events_, n_groups_ : int
    means_, sds_ : Series
    converged_ : bool

    Notes
    -----
    For fixed :math:`\\theta` the covariates and log frailties maximise the penalised partial
    likelihood :math:`PL(\\beta, w) - \\nu\\sum_j(e^{w_j} - w_j)`, :math:`\\nu = 1/\\theta`, by
    Newton-Raphson on the partial likelihood of :mod:`analysis.attrition.cox` with one indicator
    column per group (Efron or Breslow ties, right-censored or (start, stop] data). The
    integrated log-likelihood is :math:`PL + \\nu\\sum_j\\hat w_j` plus
    :func:`gamma_frailty_correction`; :math:`\\theta` is searched as survival does: 0, then 1,
    then 0.5 (or 2 when 1 improved the integrated likelihood by more than 1), then parabolic
    interpolation on the :math:`\\sqrt\\theta` scale with bracketing and golden-section safeguards,
    until the relative change is below ``eps``. Because the search stops at a tolerance,
    :math:`\\theta` is R's to that tolerance, not the exact maximiser; following the same
    sequence of trials reproduces R's value. Reproduces ``survival::coxph(Surv(time, status) ~
    x + frailty(group))`` (``frailty.gamma``, ``coxpenal.fit``): tests pin coef, se, se2, theta,
    the history, the log-likelihoods and the frailties on lung grouped by institution.

    References
    ----------
    Therneau TM, Grambsch PM, Pankratz VS (2003). Penalized survival models and frailty. J Comput
    Graph Stat 12:156-175.
    Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox Model, ch. 9.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> group = np.repeat(np.arange(20), 15)
    >>> u = rng.gamma(2.0, 0.5, 20)[group]
    >>> X = pd.DataFrame({"x": rng.normal(size=300)})
    >>> t = rng.exponential(1 / (u * np.exp(0.5 * X["x"])))
    >>> m = FrailtyCoxModel(max_outer=30).fit(X, t, np.ones(300), group=group)
    >>> bool(0.2 < m.coef_["x"] < 0.8), bool(m.theta_ > 0.1)
    (True, True)
    """

    def __init__(
        self,
        *,
        distribution: str = "gamma",
        theta: float | None = None,
        ties: str = "efron",
        eps: float = 1e-5,
        max_outer: int = 10,
        ci_level: float = 0.95,
    ):
        self.distribution = distribution
        self.theta = theta
        self.ties = ties
        self.eps = eps
        self.max_outer = max_outer
        self.ci_level = ci_level

    def _check_settings(self, X) -> None:
        if self.distribution not in DISTRIBUTIONS:
            raise ValueError(
                f"distribution: must be one of {', '.join(DISTRIBUTIONS)}; got "
                f"{self.distribution!r}"
            )
        if self.ties not in ("efron", "breslow"):
            raise ValueError(f"ties: must be efron or breslow; got {self.ties!r}")
        if self.theta is not None and not (np.isfinite(self.theta) and self.theta >= 0):
            raise ValueError(f"theta: must be a number >= 0; got {self.theta!r}")
        if not (self.eps > 0):
            raise ValueError(f"eps: must be > 0; got {self.eps!r}")
        if int(self.max_outer) < 3:
            raise ValueError(f"max_outer: must be at least 3; got {self.max_outer!r}")
        check_settings(X, ci_level=self.ci_level, penalty=0.0)

    def fit(  # noqa: C901 - survival's theta search: one branch per step of its schedule
        self, X: pd.DataFrame, time, event, *, group, start=None
    ) -> FrailtyCoxModel:
        """Fit the model.

        Parameters
        ----------
        X : DataFrame
            Numeric predictors, one row per respondent (or per interval with ``start``).
        time, event : array
            Follow-up (stop) time and event indicator (1 = event, 0 = censored).
        group : array
            Group of each row (meeting, fellowship); its members share one frailty.
        start : array, optional
            Entry times of counting-process (start, stop] rows.

        Returns
        -------
        self
        """
        self._check_settings(X)
        values = X.to_numpy(dtype=float)
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=float)
        group = np.asarray(group)
        n = len(time)
        if values.shape[0] != n or len(event) != n or len(group) != n:
            raise ValueError("X, time, event and group: must have the same number of rows")
        if not np.isfinite(values).all() or not np.isfinite(time).all():
            raise ValueError("X, time: must not contain missing or infinite values")
        if not np.isin(event, (0, 1)).all():
            raise ValueError("event: must be 0 (censored) or 1 (event)")
        if event.sum() == 0:
            raise ValueError("event: no events; a Cox model needs at least one")
        if pd.isna(group).any():
            raise ValueError("group: must not contain missing values")
        if start is not None:
            start = np.asarray(start, dtype=float)
            if start.shape != time.shape or not (start < time).all():
                raise ValueError("start: one value per row, before the stop time in every row")
        codes, labels = pd.factorize(pd.Series(group), sort=True)
        n_groups = len(labels)
        if n_groups < 2:
            raise ValueError("group: at least two groups are needed for a shared frailty")
        names = [str(c) for c in X.columns]
        check_estimable(values, names)
        p = len(names)

        order = np.argsort(time, kind="stable")
        indicators = np.zeros((n, n_groups))
        indicators[np.arange(n), codes] = 1.0
        full = np.hstack([values, indicators])[order]
        full = full - full.mean(axis=0)
        rs = RiskSets(time[order], event[order], self.ties, None if start is None else start[order])
        events_per_group = np.bincount(codes, weights=event, minlength=n_groups)
        n_par = p + n_groups

        def fit_at(theta: float, init: np.ndarray) -> tuple[_PenalisedFit, float, float]:
            nu = None if theta == 0 else 1.0 / theta
            res = _penalised_newton(full, rs, p, nu, init, max_iter=50)
            if nu is None:
                return res, res.loglik, res.loglik
            penalised = res.loglik + nu * float(res.beta[p:].sum())
            return res, penalised, penalised + gamma_frailty_correction(events_per_group, nu)

        null_loglik = partial_likelihood(full[:, :p], np.zeros(p), rs)[0]
        fits: list[_PenalisedFit] = []
        thetas: list[float] = []
        rows: list[tuple[float, float, float]] = []
        theta = 0.0 if self.theta is None else float(self.theta)
        next_theta = theta
        for outer in range(1, int(self.max_outer) + 1):
            # start from the fit of the closest theta tried so far (as coxpenal.fit does)
            init = (
                np.zeros(n_par)
                if not fits
                else fits[int(np.argmin((np.array(thetas) - theta) ** 2))].beta
            )
            res, penalised, integrated = fit_at(theta, init)
            fits.append(res)
            thetas.append(theta)
            rows.append((theta, penalised, integrated))
            if self.theta is not None:
                next_theta = theta
                break
            x = np.array([r[0] for r in rows])
            y = np.array([r[2] for r in rows])
            done = False
            if outer == 1:
                next_theta = 1.0
            elif outer == 2:
                next_theta = float(np.mean(x)) if y[1] < y[0] + 1 else 2 * x[1]
            else:
                done = abs(1 - y[-1] / y[-2]) < self.eps
                if y[-1] == y.max() and x[-1] == x.max():
                    next_theta = 2 * float(x.max())
                else:
                    next_theta = _brent_step(np.sqrt(x), y, lower=0.0) ** 2
            if done:
                break
            theta = next_theta
        else:
            if self.theta is None:
                warnings.warn(
                    f"shared frailty: the search for theta did not settle in {self.max_outer} "
                    "trials; theta is the last value tried",
                    ConvergenceWarning,
                    stacklevel=2,
                )
        final = fits[-1]
        if not final.converged:
            warnings.warn(
                "shared frailty: Newton-Raphson did not converge at the final theta",
                ConvergenceWarning,
                stacklevel=2,
            )
        theta_fit = thetas[-1]
        info = final.information
        if theta_fit == 0:
            cov = np.linalg.inv(info)
            cov2 = cov
            df_frailty = 0.0
        else:
            nu = 1.0 / theta_fit
            if n_groups > SPARSE_GROUPS:
                # survival's sparse computation (more than 5 groups): the frailty-by-frailty block
                # of the information keeps only its diagonal (each member is in one group, so the
                # off-diagonal terms are products of small risk-set shares)
                block = info[p:, p:]
                info = info.copy()
                info[p:, p:] = np.diag(np.diag(block))
            hinv = np.linalg.inv(info)
            pen = nu * np.exp(final.beta[p:])
            cov = hinv[:p, :p]
            b = hinv[p:, :p]
            cov2 = cov - b.T @ (pen[:, None] * b)
            df_frailty = n_groups - float(np.sum(np.diag(hinv)[p:] * pen))
        self.feature_names_in_ = names
        self.means_ = pd.Series(values.mean(axis=0), index=names)
        self.sds_ = pd.Series(values.std(axis=0, ddof=1), index=names)
        self.coef_ = pd.Series(final.beta[:p], index=names)
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.cov2_ = pd.DataFrame(cov2, index=names, columns=names)
        self.se_ = pd.Series(np.sqrt(np.diag(cov)), index=names)
        self.se2_ = pd.Series(np.sqrt(np.diag(cov2)), index=names)
        self.theta_ = float(theta_fit)
        self.theta_next_ = float(next_theta)
        self.history_ = pd.DataFrame(
            rows, columns=["theta", "penalised_loglik", "integrated_loglik"]
        )
        self.frailty_ = pd.Series(final.beta[p:], index=pd.Index(labels, name="group"))
        self.loglik_null_ = float(null_loglik)
        self.loglik_ = float(final.loglik)
        self.integrated_loglik_ = float(rows[-1][2])
        self.df_ = pd.Series(
            [*(np.diag(cov2) / np.diag(cov)), df_frailty], index=[*names, "frailty"]
        )
        self.n_obs_ = int(n)
        self.n_events_ = int(event.sum())
        self.n_groups_ = int(n_groups)
        self.counting_process_ = start is not None
        self.converged_ = bool(final.converged)
        return self._finish_fit(ModelResults.of(self, self.summary()))

    def summary(self) -> pd.DataFrame:
        """One row per covariate as :meth:`CoxModel.summary` (Wald tests and intervals from
        ``se``), plus ``se2``."""
        self._check_fitted()
        table = effect_table(self.coef_, self.se_, self.sds_, self.ci_level, ratio="hazard_ratio")
        table.insert(2, "se2", self.se2_.to_numpy())
        return table

    def frailty_summary(self) -> pd.DataFrame:
        """One row: ``theta, sd_log_frailty`` (none: the gamma's SD is sqrt(theta)), ``n_groups,
        df, integrated_loglik, loglik, loglik_null, lr_chisq`` (2 (loglik - loglik_null))."""
        self._check_fitted()
        return pd.DataFrame(
            [
                {
                    "distribution": self.distribution,
                    "theta": self.theta_,
                    "frailty_sd": float(np.sqrt(self.theta_)),
                    "n_groups": self.n_groups_,
                    "df": float(self.df_["frailty"]),
                    "integrated_loglik": self.integrated_loglik_,
                    "loglik": self.loglik_,
                    "loglik_null": self.loglik_null_,
                    "lr_chisq": 2 * (self.loglik_ - self.loglik_null_),
                }
            ]
        )
