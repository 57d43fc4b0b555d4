"""Cox proportional hazards model: fit, hazard ratios, baseline survival, proportional-hazards check.

One engine, :func:`cox_newton` (a vectorised Newton-Raphson solver of the partial likelihood with
Breslow or Efron ties, right-censored or counting-process (start, stop] data), gives the reported
fit and every bootstrap refit; robust (sandwich) standard errors come from its score residuals.
Tested against R's ``survival::coxph`` on lung and Rossi, and against statsmodels ``PHReg``.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis._estimator import Estimator, ModelResults
from analysis._results import Result
from analysis.attrition.concordance import Concordance, concordance_counting, concordance_index
from analysis.errors import ConvergenceWarning

__all__ = [
    "CoxFit",
    "CoxModel",
    "ProportionalHazardsTest",
    "cox_newton",
    "cox_score_residuals",
    "cox_zph",
    "newton_on_risk_sets",
    "partial_likelihood",
    "robust_covariance",
    "RiskSets",
]

TIES = ("efron", "breslow")


# --------------------------------------------------------------------------------------------
# The engine
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CoxFit:
    """Raw result of :func:`cox_newton` (arrays in the column order of ``X``)."""

    coef: np.ndarray
    information: np.ndarray
    loglik: float
    loglik_null: float
    n_iter: int
    converged: bool
    event_times: np.ndarray
    hazard_increments: np.ndarray  # baseline hazard jumps at event_times, for x = centre
    centre: np.ndarray


def _check_ties(ties: str) -> str:
    if ties not in TIES:
        raise ValueError(f"ties: must be one of {', '.join(TIES)}; got {ties!r}")
    return ties


class RiskSets:
    """Index structures of the risk sets for data sorted by (stop) time.

    With entry times (counting-process data, rows at risk on (start, stop]) the risk set at
    :math:`t_k` is the rows with stop >= t_k minus those with start >= t_k; both are suffixes of
    a sorted order, so every risk-set sum is a difference of two reverse cumulative sums.
    """

    def __init__(self, time: np.ndarray, event: np.ndarray, ties: str, start=None):
        self.n = len(time)
        ev = event.astype(bool)
        self.event = ev
        self.event_rows = np.flatnonzero(ev)
        self.event_times, first, counts = np.unique(time[ev], return_index=True, return_counts=True)
        # events are in time order because the data are sorted, so each group is a run
        self.group_of_event = np.repeat(np.arange(len(counts)), counts)
        self.group_start = first
        self.counts = counts
        self.risk_start = np.searchsorted(time, self.event_times, side="left")
        # number of event groups whose risk set contains row i (rows are sorted by time):
        # groups with t_k <= stop_i, minus (with entry times) those with t_k <= start_i
        self.groups_covering = np.searchsorted(self.risk_start, np.arange(self.n), side="right")
        self.start = start
        if start is not None:
            self.start_order = np.argsort(start, kind="stable")
            self.entry_pos = np.searchsorted(start[self.start_order], self.event_times, "left")
            self.groups_before = np.searchsorted(self.event_times, start, side="right")
        # Efron slots: l / d_k for l = 0..d_k-1 within each tied group; Breslow: 0
        self.slot_group = self.group_of_event
        if ties == "efron":
            within = np.arange(len(self.group_of_event)) - np.repeat(first, counts)
            self.slot_f = within / np.repeat(counts, counts)
        else:
            self.slot_f = np.zeros(len(self.group_of_event))

    def sums(self, values: np.ndarray) -> np.ndarray:
        """Risk-set sums of ``values`` (rows in time order) at each event time."""
        if len(self.risk_start) == 0:
            return np.zeros((0, *values.shape[1:]))
        # rows between consecutive risk-set starts form blocks (the starts strictly increase);
        # a risk set is a suffix of blocks, so one pass over the rows and a short reverse
        # cumulative sum over the blocks give every sum
        blocks = np.add.reduceat(values, self.risk_start, axis=0)
        out = np.cumsum(blocks[::-1], axis=0)[::-1]
        if self.start is not None:
            late = values[self.start_order]
            rev_late = np.cumsum(late[::-1], axis=0)[::-1]
            inside = self.entry_pos < self.n
            out[inside] -= rev_late[self.entry_pos[inside]]
        return out

    def covering(self, per_group: np.ndarray) -> np.ndarray:
        """For each row, the sum of ``per_group`` over the event groups whose risk set holds it."""
        cum = np.concatenate([np.zeros((1, *per_group.shape[1:])), np.cumsum(per_group, axis=0)])
        out = cum[self.groups_covering]
        if self.start is not None:
            out = out - cum[self.groups_before]
        return out


def _loglik_parts(X, beta, rs: RiskSets, need_derivatives=True):
    eta = X @ beta
    shift = eta.max() if len(eta) else 0.0
    r = np.exp(eta - shift)
    s0 = rs.sums(r)
    r_ev = r[rs.event_rows]
    d0 = np.add.reduceat(r_ev, rs.group_start) if len(r_ev) else np.zeros(0)
    f = rs.slot_f
    g = rs.slot_group
    denom = s0[g] - f * d0[g]
    loglik = float(eta[rs.event_rows].sum() - (np.log(denom) + shift).sum())
    if not need_derivatives:
        return loglik, None, None, denom
    rx = r[:, None] * X
    s1 = rs.sums(rx)
    d1 = np.add.reduceat(rx[rs.event_rows], rs.group_start, axis=0)
    a = 1.0 / denom
    xbar = (np.take(s1, g, axis=0) - f[:, None] * np.take(d1, g, axis=0)) * a[:, None]
    grad = X[rs.event_rows].sum(axis=0) - xbar.sum(axis=0)
    big_a = np.bincount(g, weights=a, minlength=len(s0))
    big_b = np.bincount(g, weights=f * a, minlength=len(s0))
    omega = r * rs.covering(big_a)
    omega[rs.event_rows] -= r_ev * big_b[rs.group_of_event]
    info = (X * omega[:, None]).T @ X - xbar.T @ xbar
    return loglik, grad, info, denom


def partial_likelihood(
    Xc: np.ndarray, beta: np.ndarray, rs: RiskSets
) -> tuple[float, np.ndarray, np.ndarray]:
    """Log partial likelihood, score and observed information at ``beta`` for centred, time-sorted
    predictors and their risk sets (the terms :func:`cox_newton` iterates on; the shared-frailty
    fit adds its penalty to them)."""
    loglik, grad, info, _ = _loglik_parts(Xc, beta, rs)
    return loglik, grad, info


def _score_residuals(X, beta, rs: RiskSets) -> np.ndarray:
    """Score residuals (one row per data row, time order) whose sum is the score vector.

    For the :math:`d_k` events tied at :math:`t_k` with Efron slots :math:`l = 0..d_k-1`
    (denominators :math:`S_0 - \\tfrac{l}{d_k}D_0`, means :math:`\\bar x_l`), a row at risk
    contributes :math:`-\\sum_l w_{il} r_i (x_i - \\bar x_l)/(S_0 - \\tfrac{l}{d_k}D_0)` with
    weight 1, or :math:`1 - l/d_k` for the tied events themselves, which also add
    :math:`x_i - d_k^{-1}\\sum_l \\bar x_l` (Breslow: all :math:`l/d_k = 0`). As
    ``residuals(coxph, type = "score")``.
    """
    eta = X @ beta
    r = np.exp(eta - eta.max())
    s0 = rs.sums(r)
    rx = r[:, None] * X
    s1 = rs.sums(rx)
    ev = rs.event_rows
    g, f = rs.slot_group, rs.slot_f
    d0 = np.add.reduceat(r[ev], rs.group_start)
    d1 = np.add.reduceat(rx[ev], rs.group_start, axis=0)
    a = 1.0 / (s0[g] - f * d0[g])
    xbar = (s1[g] - f[:, None] * d1[g]) * a[:, None]
    n_groups = len(s0)
    p = X.shape[1]

    def per_group(weights):
        if weights.ndim == 1:
            return np.bincount(g, weights=weights, minlength=n_groups)
        return np.column_stack(
            [np.bincount(g, weights=weights[:, j], minlength=n_groups) for j in range(p)]
        )

    cov_a = rs.covering(per_group(a))
    cov_b = rs.covering(per_group(xbar * a[:, None]))
    resid = -r[:, None] * (X * cov_a[:, None] - cov_b)
    ge = rs.group_of_event
    own_a = per_group(f * a)[ge]
    own_b = per_group(xbar * (f * a)[:, None])[ge]
    mean_xbar = per_group(xbar)[ge] / rs.counts[ge][:, None]
    resid[ev] += r[ev][:, None] * (X[ev] * own_a[:, None] - own_b) + X[ev] - mean_xbar
    return resid


def _check_counting(time, start):
    if start is None:
        return None
    start = np.asarray(start, dtype=float)
    if start.shape != time.shape:
        raise ValueError("start: must have one value per row, as time")
    if not np.isfinite(start).all():
        raise ValueError("start: must not contain missing or infinite values")
    bad = np.flatnonzero(start >= time)
    if len(bad):
        raise ValueError(
            f"start: must be before the stop time in every row; {len(bad)} row(s) are not, "
            f"the first is row {bad[0]}"
        )
    return start


def cox_newton(
    time: np.ndarray,
    event: np.ndarray,
    X: np.ndarray,
    *,
    ties: str = "efron",
    penalty: float = 0.0,
    max_iter: int = 50,
    tol: float = 1e-11,
    presorted: bool = False,
    start: np.ndarray | None = None,
    init: np.ndarray | None = None,
) -> CoxFit:
    """Fit a Cox model by Newton-Raphson with step halving (vectorised, no Python loop over times).

    Parameters
    ----------
    time, event : array
        Follow-up (stop) time and event indicator (1 = event, 0 = censored).
    X : array, shape (n, p)
        Predictors (no intercept).
    ties : {"efron", "breslow"}, default "efron"
        Approximation for tied event times, as ``coxph(ties=)``.
    penalty : float, default 0
        Ridge penalty :math:`\\tfrac{\\lambda}{2}\\lVert\\beta\\rVert^2` on the scale of ``X``.
    max_iter, tol : int, float
        Newton iterations and the relative change in log partial likelihood that stops them.
    presorted : bool, default False
        Set when the rows are already sorted by ascending time (the bootstrap sorts once).
    start : array, optional
        Entry times of counting-process data: row i is at risk on (start_i, time_i], as
        ``Surv(start, stop, event)``. Default: at risk from time 0.
    init : array, optional
        Starting coefficients (the bootstrap starts from the full-data estimate).

    Returns
    -------
    CoxFit

    Notes
    -----
    With :math:`r_i = e^{x_i\\beta}`, risk-set sums :math:`S_0(t_k)`, :math:`S_1(t_k)` and, for the
    :math:`d_k` events tied at :math:`t_k`, their own sums :math:`D_0, D_1`, Efron's log partial
    likelihood is :math:`\\sum_k [\\sum_{i\\in D_k} x_i\\beta - \\sum_{l=0}^{d_k-1}
    \\log(S_0 - \\tfrac{l}{d_k} D_0)]`; Breslow's drops the :math:`l/d_k` term (Therneau &
    Grambsch 2000, ch. 3). Reverse cumulative sums give every risk set in O(np) (with entry times,
    the difference of two: rows not yet stopped minus rows not yet entered), and the observed
    information matrix is assembled as :math:`X^\\top \\operatorname{diag}(\\omega) X -
    \\bar X^\\top \\bar X` without forming a p x p matrix per event time. Predictors are centred
    at their means (which does not change the coefficients). The baseline hazard increments are
    :math:`\\sum_l 1/(S_0 - \\tfrac{l}{d_k} D_0)`, as ``survfit.coxph`` uses for each ties method.
    Reproduces ``survival::coxph(Surv(time, status) ~ ..., ties = ties)`` and, with ``start``,
    ``coxph(Surv(start, stop, event) ~ ...)``.

    References
    ----------
    Efron B (1977). The efficiency of Cox's likelihood function for censored data. JASA 72:557-565.
    Andersen PK, Gill RD (1982). Cox's regression model for counting processes: a large sample
    study. Ann Stat 10:1100-1120.
    Therneau TM, Grambsch PM (2000). Modeling Survival Data: Extending the Cox Model. Springer.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(200, 1))
    >>> t = rng.exponential(np.exp(-0.5 * x[:, 0]))
    >>> fit = cox_newton(t, np.ones(200), x)
    >>> bool(0.2 < fit.coef[0] < 0.8)
    True
    """
    _check_ties(ties)
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    start = _check_counting(time, start)
    if not presorted:
        order = np.argsort(time, kind="stable")
        time, event, X = time[order], event[order], X[order]
        start = start[order] if start is not None else None
    centre = X.mean(axis=0) if len(X) else np.zeros(X.shape[1])
    rs = RiskSets(time, event, ties, start)
    return newton_on_risk_sets(
        X - centre, rs, centre, penalty=penalty, max_iter=max_iter, tol=tol, init=init
    )


def newton_on_risk_sets(
    Xc, rs: RiskSets, centre, *, penalty=0.0, max_iter=50, tol=1e-11, init=None
) -> CoxFit:
    """Newton-Raphson on centred, time-sorted predictors with their risk sets built (the
    bootstrap reuses the risk sets of the original data for every calibration slope)."""
    p = Xc.shape[1]
    beta = np.zeros(p) if init is None else np.asarray(init, dtype=float).copy()
    loglik, grad, info, denom = _loglik_parts(Xc, beta, rs)
    loglik_null = loglik if init is None else _loglik_parts(Xc, np.zeros(p), rs, False)[0]
    pen = float(penalty)
    obj = loglik - 0.5 * pen * beta @ beta
    converged = False
    it = 0
    for _ in range(max_iter):
        it += 1
        g = grad - pen * beta
        h = info + pen * np.eye(p)
        try:
            step = np.linalg.solve(h, g)
        except np.linalg.LinAlgError:
            step = np.linalg.lstsq(h, g, rcond=None)[0]
        new_obj = -np.inf
        for _ in range(30):
            trial = beta + step
            ll, gr, inf, den = _loglik_parts(Xc, trial, rs)
            new_obj = ll - 0.5 * pen * trial @ trial
            if np.isfinite(new_obj) and new_obj >= obj - 1e-12 * abs(obj):
                break
            step = step / 2
        beta, loglik, grad, info, denom = trial, ll, gr, inf, den
        change = abs(new_obj - obj)
        obj = new_obj
        if change <= tol * max(abs(obj), 1.0) and np.max(np.abs(step)) < 1e-6:
            converged = True
            break
    hazard = np.bincount(rs.slot_group, weights=1.0 / denom, minlength=len(rs.event_times))
    # denominators were computed with exp(eta - max eta); undo that shift for the hazard
    eta = Xc @ beta
    hazard = hazard * np.exp(-(eta.max() if len(eta) else 0.0))
    return CoxFit(
        coef=beta,
        information=info + pen * np.eye(p),
        loglik=loglik,
        loglik_null=loglik_null,
        n_iter=it,
        converged=converged,
        event_times=rs.event_times,
        hazard_increments=hazard,
        centre=centre,
    )


def cox_score_residuals(
    time: np.ndarray,
    event: np.ndarray,
    X: np.ndarray,
    coef: np.ndarray,
    *,
    ties: str = "efron",
    start: np.ndarray | None = None,
) -> np.ndarray:
    """Score residuals of a fitted Cox model, one row per data row in the input order.

    Their column sums are the score (zero at the estimate); ``residuals(fit, type = "score")`` in
    R. Multiplied by the inverse information they are R's ``dfbeta`` residuals, from which the
    robust (sandwich) variance is built. See :func:`_score_residuals` for the Efron weighting.
    """
    _check_ties(ties)
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    X = np.asarray(X, dtype=float)
    if X.ndim == 1:
        X = X[:, None]
    start = _check_counting(time, start)
    order = np.argsort(time, kind="stable")
    Xs = X[order]
    Xs = Xs - Xs.mean(axis=0)
    rs = RiskSets(time[order], event[order], ties, start[order] if start is not None else None)
    resid = _score_residuals(Xs, np.asarray(coef, dtype=float), rs)
    out = np.empty_like(resid)
    out[order] = resid
    return out


def robust_covariance(
    score_residuals: np.ndarray, information: np.ndarray, cluster=None
) -> tuple[np.ndarray, int]:
    """Sandwich covariance :math:`D^\\top D` from dfbeta residuals :math:`D = L\\mathcal{I}^{-1}`,
    summed within clusters first when ``cluster`` is given (as ``coxph(..., cluster = g)``; no
    small-sample factor). Returns the covariance and the number of clusters.

    References
    ----------
    Lin DY, Wei LJ (1989). The robust inference for the Cox proportional hazards model. JASA
    84:1074-1078.
    """
    dfbeta = score_residuals @ np.linalg.inv(information)
    if cluster is None:
        return dfbeta.T @ dfbeta, len(dfbeta)
    codes, _ = pd.factorize(pd.Series(cluster), sort=True)
    if (codes < 0).any():
        raise ValueError("cluster: must not contain missing values")
    n_clusters = int(codes.max()) + 1
    summed = np.zeros((n_clusters, dfbeta.shape[1]))
    np.add.at(summed, codes, dfbeta)
    return summed.T @ summed, n_clusters


# --------------------------------------------------------------------------------------------
# Proportional hazards test (cox.zph)
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, repr=False)
class ProportionalHazardsTest(Result):
    """Score tests of proportional hazards on scaled Schoenfeld residuals, per term and global.

    Attributes
    ----------
    table : DataFrame
        Index ``term`` (the predictors, then ``GLOBAL``); columns ``chisq, df, p``.
    transform : str
        Time transform used (``km``).
    event_times : ndarray
        Event time of each scaled residual (one per event).
    scaled_residuals : DataFrame
        Scaled Schoenfeld residuals (one row per event, one column per term), for plotting
        beta(t) against time.
    transformed_times : ndarray
        g(t) of each event (before centring), the x axis of R's ``plot(cox.zph(fit))``.
    """

    table: pd.DataFrame
    transform: str
    event_times: np.ndarray
    scaled_residuals: pd.DataFrame
    transformed_times: np.ndarray | None = None

    def summary(self) -> pd.DataFrame:
        return self.table.reset_index()

    def plot(self, term: str, ax=None, *, coef: float | None = None):
        """Scaled Schoenfeld residuals of ``term`` against g(t) with a lowess smooth (an estimate of
        beta(t)); a flat smooth supports proportional hazards. Returns the Axes."""
        import matplotlib.pyplot as plt
        from statsmodels.nonparametric.smoothers_lowess import lowess

        if term not in self.scaled_residuals.columns:
            raise ValueError(
                f"term: {term!r} is not in the model; terms: "
                f"{', '.join(self.scaled_residuals.columns)}"
            )
        if ax is None:
            _, ax = plt.subplots(figsize=(4.2, 3.4))
        x = self.event_times if self.transformed_times is None else self.transformed_times
        y = self.scaled_residuals[term].to_numpy()
        ax.scatter(x, y, s=4, color="grey", alpha=0.4)
        smooth = lowess(y, x, frac=0.5, return_sorted=True)
        ax.plot(smooth[:, 0], smooth[:, 1], color="black")
        if coef is not None:
            ax.axhline(coef, ls="--", color="grey", lw=1)
        spread = np.nanpercentile(y, [5, 95])
        ax.set_ylim(spread[0] - 0.2 * abs(spread[0]), spread[1] + 0.2 * abs(spread[1]))
        ax.set_xlabel("1 - KM(t)" if self.transform == "km" else f"{self.transform}(t)")
        ax.set_ylabel(f"beta(t) for {term}")
        ax.set_title(f"{term}: p = {self.table.loc[term, 'p']:.3g}", fontsize=9)
        return ax


def cox_zph(
    time: np.ndarray,
    event: np.ndarray,
    X: pd.DataFrame | np.ndarray,
    coef: np.ndarray,
    *,
    ties: str = "efron",
    transform: str = "km",
) -> ProportionalHazardsTest:
    """Test the proportional-hazards assumption, as ``survival::cox.zph`` (survival 3).

    Parameters
    ----------
    time, event : array
        Follow-up time and event indicator.
    X : DataFrame or array
        The model's predictors.
    coef : array
        The fitted log hazard ratios.
    ties : {"efron", "breslow"}, default "efron"
    transform : {"km", "identity", "rank", "log"}, default "km"
        Function g(t) of time the residuals are regressed on; ``km`` is 1 minus the left-continuous
        Kaplan-Meier estimate, R's default.

    Returns
    -------
    ProportionalHazardsTest

    Notes
    -----
    For each term j the model is extended with :math:`x_j g(t)` and the score test of its
    coefficient :math:`\\gamma_j = 0` is computed at :math:`(\\hat\\beta, \\gamma = 0)` with the
    full information matrix of :math:`(\\beta, \\gamma)` (Grambsch & Therneau 1994): the score is
    :math:`U_\\gamma = \\sum_k g(t_k) r_k` over the Schoenfeld residuals :math:`r_k`, and the
    information blocks are :math:`\\sum V_k`, :math:`\\sum g_k V_k`, :math:`\\sum g_k^2 V_k`
    with :math:`V_k` the covariance of X in the risk set. The global test uses all of
    :math:`\\gamma` at once. This is what ``cox.zph`` does since survival 3.0 (earlier versions
    used an approximation); on lung (age + sex + ph.ecog) the per-term and global statistics agree
    with R's printed output within 1e-6, and synthetic crossing hazards are flagged. Scaled
    residuals are :math:`\\hat\\beta + d\\,\\mathcal{I}^{-1} r_k` (d = number of events).

    References
    ----------
    Grambsch PM, Therneau TM (1994). Proportional hazards tests and diagnostics based on weighted
    residuals. Biometrika 81:515-526.
    """
    _check_ties(ties)
    names = (
        list(X.columns)
        if isinstance(X, pd.DataFrame)
        else [f"x{j + 1}" for j in range(np.shape(X)[1])]
    )
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    X = np.asarray(X, dtype=float)
    order = np.argsort(time, kind="stable")
    time, event, X = time[order], event[order], X[order]
    X = X - X.mean(axis=0)
    rs = RiskSets(time, event, ties)
    beta = np.asarray(coef, dtype=float)
    eta = X @ beta
    r = np.exp(eta - eta.max())
    p = X.shape[1]
    rev0 = np.cumsum(r[::-1])[::-1]
    rx = r[:, None] * X
    rev1 = np.cumsum(rx[::-1], axis=0)[::-1]
    rxx = rx[:, :, None] * X[:, None, :]
    rev2 = np.cumsum(rxx[::-1], axis=0)[::-1]
    ev = rs.event_rows
    d0 = np.add.reduceat(r[ev], rs.group_start)
    d1 = np.add.reduceat(rx[ev], rs.group_start, axis=0)
    d2 = np.add.reduceat(rxx[ev], rs.group_start, axis=0)
    g_, f = rs.slot_group, rs.slot_f
    denom = rev0[rs.risk_start][g_] - f * d0[g_]
    xbar = (rev1[rs.risk_start][g_] - f[:, None] * d1[g_]) / denom[:, None]
    second = (rev2[rs.risk_start][g_] - f[:, None, None] * d2[g_]) / denom[:, None, None]
    v = second - xbar[:, :, None] * xbar[:, None, :]
    resid = X[ev] - xbar  # Schoenfeld residuals, one per event (slot)
    event_times = time[ev]
    g_raw = _time_transform(time, event, event_times, transform)
    gt = g_raw - g_raw.mean()
    info_bb = v.sum(axis=0)
    info_bg = (gt[:, None, None] * v).sum(axis=0)
    info_gg = (gt[:, None, None] ** 2 * v).sum(axis=0)
    imat = np.block([[info_bb, info_bg], [info_bg.T, info_gg]])
    u = np.concatenate([np.zeros(p), gt @ resid])
    rows = []
    for j in range(p):
        idx = list(range(p)) + [p + j]
        sub = imat[np.ix_(idx, idx)]
        uj = u[idx]
        rows.append((names[j], float(uj @ np.linalg.solve(sub, uj)), 1))
    rows.append(("GLOBAL", float(u @ np.linalg.solve(imat, u)), p))
    table = pd.DataFrame(rows, columns=["term", "chisq", "df"]).set_index("term")
    table["p"] = stats.chi2.sf(table["chisq"], table["df"])
    scaled = beta + len(ev) * resid @ np.linalg.inv(info_bb)
    return ProportionalHazardsTest(
        table=table,
        transform=transform,
        event_times=event_times,
        scaled_residuals=pd.DataFrame(scaled, columns=names),
        transformed_times=g_raw,
    )


def _time_transform(time, event, at, transform):
    if transform == "identity":
        return at.astype(float)
    if transform == "log":
        return np.log(at)
    if transform == "rank":
        return stats.rankdata(at)
    if transform != "km":
        raise ValueError(f"transform: must be km, identity, rank or log; got {transform!r}")
    from analysis.attrition.kaplan_meier import kaplan_meier

    km = kaplan_meier(time, event).table
    # left-continuous: S(t-) = survival just before t
    idx = np.searchsorted(km["time"].to_numpy(), at, side="left") - 1
    surv = np.where(idx >= 0, km["survival"].to_numpy()[np.maximum(idx, 0)], 1.0)
    return 1.0 - surv


# --------------------------------------------------------------------------------------------
# The estimator
# --------------------------------------------------------------------------------------------
class CoxModel(Estimator):
    """Cox proportional hazards model of time to disengagement (scikit-learn style).

    Parameters
    ----------
    ties : {"efron", "breslow"}, default "efron"
        Handling of tied event times (R's default is Efron).
    penalty : float, default 0
        Ridge penalty on the standardised coefficients (0 = ordinary partial likelihood; > 0
        shrunk, without standard errors). Both are fitted by :func:`cox_newton`.
    ci_level : float, default 0.95
        Level of the Wald intervals.

    Attributes
    ----------
    feature_names_in_ : list of str
    coef_, se_ : Series
        Log hazard ratios and their standard errors (per unit of each predictor): from the
        observed information, or robust (sandwich) when ``fit`` was given ``cluster``.
    cov_, cov_naive_ : DataFrame
        Covariance used for the standard errors, and the model-based one (inverse information).
    n_clusters_ : int or None
        Clusters of the robust covariance (None without ``cluster``).
    counting_process_ : bool
        Fitted to (start, stop] data.
    means_, sds_ : Series
        Means and standard deviations of the predictors (sample SD, ddof = 1).
    baseline_ : DataFrame
        ``time, cumulative_hazard, survival`` at the predictor means (as R's
        ``basehaz(fit, centered = TRUE)``, which centres at ``fit$means``; where R centres some
        covariates elsewhere the baseline differs but every predicted risk is the same).
    loglik_, loglik_null_ : float
    n_obs_, n_events_ : int
    concordance_ : Concordance
        Harrell's C of the linear predictor, as ``coxph`` reports it.
    results_ : ModelResults
        The :meth:`summary` table and the scalar statistics (log-likelihoods, counts).

    Notes
    -----
    Risk of the event by horizon h for predictors x: :math:`1 - S_0(h)^{\\exp((x - \\bar x)\\beta)}`,
    with :math:`S_0(h) = \\exp(-H_0(h))` the baseline survival at the means.
    One Newton-Raphson fit (:func:`cox_newton`) gives the estimates, the observed information
    (standard errors), the log partial likelihoods and the baseline hazard. Reproduces
    ``survival::coxph`` (tests pin coefficients and SEs on ``lung`` for both ties methods, on
    Rossi in counting-process form, and robust SEs with ``cluster``), with statsmodels ``PHReg``
    as a second oracle in the tests.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> X = pd.DataFrame({"cohesion": rng.normal(size=300)})
    >>> t = rng.exponential(np.exp(0.7 * X["cohesion"]))
    >>> model = CoxModel().fit(X, t, np.ones(300))
    >>> bool(model.coef_["cohesion"] < 0)
    True
    """

    def __init__(self, *, ties: str = "efron", penalty: float = 0.0, ci_level: float = 0.95):
        self.ties = ties
        self.penalty = penalty
        self.ci_level = ci_level

    # ---------------------------------------------------------------------------------
    def fit(self, X: pd.DataFrame, time, event, *, start=None, cluster=None) -> CoxModel:
        """Fit the model.

        Parameters
        ----------
        X : DataFrame
            Numeric predictors, one row per respondent (or per interval with ``start``).
        time, event : array
            Follow-up (stop) time and event indicator (1 = event, 0 = censored).
        start : array, optional
            Entry time of each row for counting-process data (time-varying predictors): the row
            is at risk on (start, time], as ``Surv(start, stop, event)``.
        cluster : array, optional
            Group of each row (respondent id for repeated rows, or a meeting/group for members
            nested in groups): standard errors become the robust sandwich ones clustered by it,
            as ``coxph(..., cluster = group)``.

        Returns
        -------
        self
        """
        _check_ties(self.ties)
        check_settings(X, ci_level=self.ci_level, penalty=self.penalty)
        values = X.to_numpy(dtype=float)
        time = np.asarray(time, dtype=float)
        event = np.asarray(event, dtype=float)
        if values.shape[0] != len(time) or len(time) != len(event):
            raise ValueError("X, time and event: must have the same number of rows")
        if not np.isfinite(values).all() or not np.isfinite(time).all():
            raise ValueError(
                "X, time: must not contain missing or infinite values (drop them first)"
            )
        if not np.isin(event, (0, 1)).all():
            raise ValueError("event: must be 0 (censored) or 1 (event)")
        if (time < 0).any():
            raise ValueError("time: must be zero or more")
        if event.sum() == 0:
            raise ValueError("event: no events; a Cox model needs at least one")
        start = _check_counting(time, start)
        if cluster is not None:
            cluster = np.asarray(cluster)
            if len(cluster) != len(time):
                raise ValueError("cluster: must have one value per row")
            if pd.isna(cluster).any():
                raise ValueError("cluster: must not contain missing values")
        names = [str(c) for c in X.columns]
        check_estimable(values, names)
        self.feature_names_in_ = names
        self.means_ = pd.Series(values.mean(axis=0), index=names)
        sds = values.std(axis=0, ddof=1) if len(values) > 1 else np.ones(values.shape[1])
        self.sds_ = pd.Series(sds, index=names)
        scale = np.where(sds > 0, sds, 1.0)
        nan = np.full((len(names), len(names)), np.nan)
        if self.penalty > 0:
            fit = cox_newton(
                time, event, values / scale, ties=self.ties, penalty=self.penalty, start=start
            )
            coef = fit.coef / scale
            cov = nan
        else:
            fit = cox_newton(time, event, values, ties=self.ties, start=start)
            coef = fit.coef
            with np.errstate(all="ignore"):
                try:
                    cov = np.linalg.inv(fit.information)
                except np.linalg.LinAlgError:
                    cov = nan
        if not fit.converged:
            warnings.warn(
                "Cox model: Newton-Raphson did not converge (separation or a constant predictor?); "
                "estimates may be infinite",
                ConvergenceWarning,
                stacklevel=2,
            )
        self.cov_naive_ = pd.DataFrame(cov, index=names, columns=names)
        self.n_clusters_ = None
        if cluster is not None and self.penalty == 0:
            resid = cox_score_residuals(time, event, values, coef, ties=self.ties, start=start)
            cov, self.n_clusters_ = robust_covariance(resid, fit.information, cluster)
        self.coef_ = pd.Series(coef, index=names)
        self.se_ = pd.Series(np.sqrt(np.diag(cov)), index=names)
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        hazard = fit.hazard_increments  # at the predictor means
        cumhaz = np.cumsum(hazard)
        self.baseline_ = pd.DataFrame(
            {"time": fit.event_times, "cumulative_hazard": cumhaz, "survival": np.exp(-cumhaz)}
        )
        self.loglik_ = float(fit.loglik)
        self.loglik_null_ = float(fit.loglik_null)
        self.n_obs_ = int(len(time))
        self.n_events_ = int(event.sum())
        self.converged_ = bool(fit.converged)
        self.counting_process_ = start is not None
        lp = self._lp(values)
        self.concordance_ = (
            concordance_index(time, event, lp)
            if start is None
            else concordance_counting(start, time, event, lp)
        )
        table = effect_table(self.coef_, self.se_, self.sds_, self.ci_level, ratio="hazard_ratio")
        return self._finish_fit(ModelResults.of(self, table))

    # ---------------------------------------------------------------------------------

    def _matrix(self, X: pd.DataFrame) -> np.ndarray:
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"X: missing predictor column(s) {', '.join(missing)}")
        return X[self.feature_names_in_].to_numpy(dtype=float)

    def _lp(self, values: np.ndarray) -> np.ndarray:
        # an elementwise sum, not a BLAS product: identical rows must give identical values,
        # or ties in the risk score (which the concordance counts as 1/2) are broken at random
        return ((values - self.means_.to_numpy()) * self.coef_.to_numpy()).sum(axis=1)

    def linear_predictor(self, X: pd.DataFrame) -> pd.Series:
        """Centred linear predictor :math:`(x - \\bar x)\\beta` (R's ``predict(type = "lp")``)."""
        self._check_fitted()
        return pd.Series(self._lp(self._matrix(X)), index=X.index, name="linear_predictor")

    def baseline_survival(self, horizon: float) -> float:
        """Baseline survival at the predictor means at ``horizon`` (step function, right-continuous)."""
        self._check_fitted()
        return baseline_survival_at(self.baseline_, horizon)

    def predict_risk(self, X: pd.DataFrame, horizon: float) -> pd.Series:
        """Predicted probability of the event by ``horizon`` for each row of ``X``."""
        s0 = self.baseline_survival(horizon)
        lp = self.linear_predictor(X)
        return pd.Series(1.0 - s0 ** np.exp(lp.to_numpy()), index=X.index, name="risk")

    def summary(self) -> pd.DataFrame:
        """One row per term: ``estimate`` (log HR), ``se``, ``z``, ``p``, ``hazard_ratio``,
        ``ci_low``, ``ci_high`` (HR per unit), ``sd``, ``hr_per_sd``, ``hr_per_sd_ci_low``,
        ``hr_per_sd_ci_high``, ``ci_level``."""
        self._check_fitted()
        return self.results_.summary()

    def zph(
        self, X: pd.DataFrame, time, event, *, transform: str = "km"
    ) -> ProportionalHazardsTest:
        """Proportional-hazards test on the data the model was fitted to (see :func:`cox_zph`)."""
        self._check_fitted()
        return cox_zph(
            time,
            event,
            X[self.feature_names_in_],
            self.coef_.to_numpy(),
            ties=self.ties,
            transform=transform,
        )


def check_settings(X: pd.DataFrame, *, ci_level: float, penalty: float) -> None:
    """Raise naming the argument when the predictors are not a DataFrame or a setting is out of range
    (shared by the Cox and logistic models)."""
    if not isinstance(X, pd.DataFrame):
        raise TypeError("X: must be a pandas DataFrame of numeric predictors")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level: must be between 0 and 1; got {ci_level}")
    if penalty < 0:
        raise ValueError(f"penalty: must be >= 0; got {penalty}")


def check_estimable(values: np.ndarray, names: list[str]) -> None:
    """Raise ``ValueError`` naming constant predictors, or saying the predictors are collinear."""
    if values.shape[0] < 2:
        raise ValueError("X: at least two rows are needed")
    constant = [n for n, sd in zip(names, values.std(axis=0), strict=True) if not sd > 0]
    if constant:
        raise ValueError(
            f"predictor(s) {', '.join(constant)} take a single value in the analysed data; "
            "a coefficient cannot be estimated - leave them out"
        )
    centred = values - values.mean(axis=0)
    if np.linalg.matrix_rank(centred) < values.shape[1]:
        raise ValueError(
            f"predictors {', '.join(names)} are collinear (one is a combination of the others); "
            "leave one out"
        )


def baseline_survival_at(baseline: pd.DataFrame, horizon: float) -> float:
    """Survival of a step-function baseline table at ``horizon`` (1 before the first event)."""
    if not np.isfinite(horizon) or horizon < 0:
        raise ValueError(f"horizon: must be a non-negative number; got {horizon}")
    times = baseline["time"].to_numpy()
    idx = np.searchsorted(times, horizon, side="right") - 1
    return float(baseline["survival"].to_numpy()[idx]) if idx >= 0 else 1.0


def effect_table(
    coef: pd.Series, se: pd.Series, sds: pd.Series, ci_level: float, *, ratio: str
) -> pd.DataFrame:
    """Tidy table of log-scale effects with ratios per unit and per SD (shared with logistic)."""
    z = stats.norm.ppf(0.5 + ci_level / 2)
    est = coef.to_numpy()
    s = se.to_numpy()
    sd = sds.reindex(coef.index).to_numpy()
    with np.errstate(invalid="ignore", over="ignore"):
        out = pd.DataFrame(
            {
                "estimate": est,
                "se": s,
                "z": est / s,
                "p": 2 * stats.norm.sf(np.abs(est / s)),
                ratio: np.exp(est),
                "ci_low": np.exp(est - z * s),
                "ci_high": np.exp(est + z * s),
                "sd": sd,
                f"{ratio}_per_sd": np.exp(est * sd),
                f"{ratio}_per_sd_ci_low": np.exp((est - z * s) * sd),
                f"{ratio}_per_sd_ci_high": np.exp((est + z * s) * sd),
                "ci_level": ci_level,
            },
            index=pd.Index(coef.index, name="term"),
        )
    return out


__all__ += ["Concordance", "baseline_survival_at", "check_estimable", "effect_table"]
