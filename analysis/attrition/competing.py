"""Competing outcomes: cumulative incidence, Gray's test, Fine-Gray and cause-specific Cox models.

A member may leave for one of several reasons (graduating, switching group, dropping out,
relapsing); once one happens the others cannot. Two questions are answered here, and they differ:

- *How likely is it that a member leaves for reason k by time t, given that the other reasons
  also remove members?* The cumulative incidence function (Aalen-Johansen) and the Fine-Gray
  model of the subdistribution hazard answer it: a predictor with a subdistribution hazard ratio
  above 1 raises the probability of leaving for that reason.
- *Among members still in the group, how fast do they leave for reason k?* The cause-specific
  Cox model (the other reasons treated as censoring) answers it: a rate among those at risk, the
  question for understanding why members leave. A predictor can raise the cause-specific rate of
  one reason and still lower its cumulative incidence, because it also raises a competing reason.

Everything is vectorised with numpy (cumulative sums over sorted times, no loop over subjects);
the estimates reproduce R's ``cmprsk`` (Gray 2000-2022) to rounding error.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis._estimator import Estimator, ModelResults
from analysis._results import Result
from analysis.attrition.cox import CoxModel
from analysis.errors import ConvergenceWarning

__all__ = [
    "INTERPRETATION",
    "CompetingRisks",
    "CumulativeIncidence",
    "FineGrayModel",
    "cause_specific_cox",
    "cumulative_incidence",
    "fit_competing_risks",
    "gray_test",
]

INTERPRETATION = (
    "Cumulative incidence and the Fine-Gray model answer: how likely is it that a member leaves "
    "for this reason by a given time, when the other reasons also remove members? A "
    "subdistribution hazard ratio above 1 means a higher probability of leaving for that reason. "
    "The cause-specific Cox model answers: among members still in the group, how fast do they "
    "leave for this reason? Its hazard ratio is a rate among those at risk, the question for "
    "explaining why members leave. The two can point in different directions when a predictor "
    "also changes the rate of a competing reason."
)


# --------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------
def _check_outcome(time, status, *, censor_code) -> tuple[np.ndarray, np.ndarray]:
    time = np.asarray(time, dtype=float)
    status = np.asarray(status)
    if time.ndim != 1 or status.shape != time.shape:
        raise ValueError("time, status: must be one-dimensional and of the same length")
    if len(time) == 0:
        raise ValueError("time: no observations")
    if not np.isfinite(time).all():
        bad = np.flatnonzero(~np.isfinite(time))[:5]
        raise ValueError(
            f"time: missing or infinite values at rows {bad.tolist()} (drop them first)"
        )
    if (time < 0).any():
        raise ValueError("time: must be zero or more")
    if pd.isna(status).any():
        bad = np.flatnonzero(pd.isna(status))[:5]
        raise ValueError(f"status: missing values at rows {bad.tolist()} (drop them first)")
    if not (status != censor_code).any():
        raise ValueError(f"status: every observation is censored (code {censor_code!r})")
    return time, status


def _causes(status: np.ndarray, censor_code) -> list:
    return sorted({s for s in np.unique(status).tolist() if s != censor_code})


# --------------------------------------------------------------------------------------------
# Cumulative incidence (cmprsk::cuminc)
# --------------------------------------------------------------------------------------------
def _cif_one(time: np.ndarray, any_event: np.ndarray, this_cause: np.ndarray):
    """Aalen-Johansen estimate and Gray's variance for one group and one cause (``cinc``)."""
    order = np.argsort(time, kind="stable")
    t = time[order]
    ev = any_event[order].astype(float)
    ev1 = this_cause[order].astype(float)
    n = len(t)
    u, first = np.unique(t, return_index=True)
    nd = np.add.reduceat(ev, first)
    nd1 = np.add.reduceat(ev1, first)
    nd2 = nd - nd1
    rs = (n - first).astype(float)
    keep = nd > 0
    u, nd, nd1, nd2, rs = u[keep], nd[keep], nd1[keep], nd2[keep], rs[keep]
    survive = 1.0 - nd / rs
    fkn = np.cumprod(survive)  # all-cause KM just after each time
    fk = np.concatenate([[1.0], fkn[:-1]])  # ... and just before
    f = np.cumsum(fk * nd1 / rs)

    def t5(d):
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(d > 1, 1.0 - (d - 1.0) / (rs - 1.0), 1.0)

    pos = fkn > 0
    safe_fkn = np.where(pos, fkn, 1.0)
    # other causes at this time
    t6 = fk * fk * t5(nd2) * nd2 / (rs * rs)
    use2 = (nd2 > 0) & pos
    t3 = np.where(use2, 1.0 / safe_fkn, 0.0)
    t4 = np.where(use2, f / safe_fkn, 0.0)
    t6_2 = np.where(use2, t6, 0.0)
    v1 = t4 * t4 * t6_2
    v2 = t3 * t4 * t6_2
    v3 = t3 * t3 * t6_2
    # this cause at this time
    t6 = np.where(nd1 > 0, fk * fk * t5(nd1) * nd1 / (rs * rs), 0.0)
    t3 = np.where(pos, 1.0 / safe_fkn, 0.0)
    t4 = 1.0 + t3 * f
    v1 = np.cumsum(v1 + t4 * t4 * t6)
    v2 = np.cumsum(v2 + t3 * t4 * t6)
    v3 = np.cumsum(v3 + t3 * t3 * t6)
    var = v1 + f * f * v3 - 2.0 * f * v2
    jumps = nd1 > 0
    return u[jumps], f[jumps], var[jumps], nd1[jumps], rs[jumps]


def _gray_scores(time, status_code, group_index, n_groups, rho):
    """Score vector and covariance of Gray's test in one stratum (``crstm``/``crst``), vectorised
    over the distinct times. ``status_code``: 0 censored, 1 cause of interest, 2 other cause."""
    order = np.argsort(time, kind="stable")
    t = time[order]
    m = status_code[order]
    g = group_index[order]
    u, first, inverse = np.unique(t, return_index=True, return_inverse=True)
    n_t = len(u)
    d1 = np.zeros((n_t, n_groups))
    d2 = np.zeros((n_t, n_groups))
    tot = np.zeros((n_t, n_groups))
    np.add.at(d1, (inverse, g), (m == 1).astype(float))
    np.add.at(d2, (inverse, g), (m == 2).astype(float))
    np.add.at(tot, (inverse, g), 1.0)
    # at risk in each group at each time: everyone in the group minus those with earlier times
    rs = tot.sum(axis=0) - np.vstack([np.zeros(n_groups), np.cumsum(tot, axis=0)[:-1]])
    active = (d1.sum(axis=1) + d2.sum(axis=1)) > 0
    d1, d2, rs = d1[active], d2[active], rs[active]
    nd1 = d1.sum(axis=1)
    at_risk = rs > 0
    safe_rs = np.where(at_risk, rs, 1.0)
    td = d1 + d2
    factor = np.where(at_risk, (rs - td) / safe_rs, 1.0)
    skm = np.cumprod(factor, axis=0)  # right-continuous KM per group
    skmm = np.vstack([np.ones(n_groups), skm[:-1]])  # left-continuous
    f1 = np.cumsum(np.where(at_risk, skmm * d1 / safe_rs, 0.0), axis=0)
    f1m = np.vstack([np.zeros(n_groups), f1[:-1]])
    with np.errstate(divide="ignore", invalid="ignore"):
        t1 = np.where(at_risk, rs / skmm, 0.0)
        tr = t1.sum(axis=1)
        tq = np.where(at_risk, rs * (1.0 - f1m) / skmm, 0.0).sum(axis=1)
        f = np.cumsum(nd1 / tr)
    fm = np.concatenate([[0.0], f[:-1]])
    fb = (1.0 - fm) ** rho
    # a_t = fb (diag(t1) - t1 t1' / tr);  c = running sum of a nd1 / (tr (1 - fm))
    a = -fb[:, None, None] * t1[:, :, None] * t1[:, None, :] / tr[:, None, None]
    idx = np.arange(n_groups)
    a[:, idx, idx] += fb[:, None] * t1
    with np.errstate(divide="ignore", invalid="ignore"):
        inc = a * (nd1 / (tr * (1.0 - fm)))[:, None, None]
    c = np.cumsum(np.where(a != 0, inc, 0.0), axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        score_terms = np.where(
            at_risk,
            fb[:, None] * (d1 - nd1[:, None] * rs * (1.0 - f1m) / (skmm * tq[:, None])),
            0.0,
        )
    s = score_terms.sum(axis=0)
    # variance: this cause's events
    with np.errstate(divide="ignore", invalid="ignore"):
        use1 = at_risk & (nd1 > 0)[:, None]
        t4 = np.where(skm > 0, 1.0 - (1.0 - f[:, None]) / skm, 1.0)
        t5 = np.where(
            nd1[:, None] > 1, 1.0 - (nd1[:, None] - 1.0) / (tr[:, None] * skmm - 1.0), 1.0
        )
        t3 = np.where(use1, t5 * skmm * nd1[:, None] / (tr[:, None] * safe_rs), 0.0)
    t4 = np.where(use1, t4, 0.0)
    v3 = (t4 * t4 * t3).sum(axis=0)
    b = a - t4[:, None, :] * c  # b[t, i, k] = a_ik - t4_k c_ik
    v2 = np.einsum("tik,tk->ik", b, t4 * t3)
    v = np.einsum("tik,tjk,tk->ij", b, b, t3)
    # variance: other causes' events
    with np.errstate(divide="ignore", invalid="ignore"):
        use2 = (skm > 0) & (d2 > 0)
        t4 = np.where(use2, (1.0 - f[:, None]) / np.where(skm > 0, skm, 1.0), 0.0)
        t5 = np.where(d2 > 1, 1.0 - (d2 - 1.0) / (rs - 1.0), 1.0)
        t3 = np.where(use2, t5 * skmm**2 * d2 / safe_rs**2, 0.0)
    v3 = v3 + (t4 * t4 * t3).sum(axis=0)
    tc = t4[:, None, :] * c
    v2 = v2 - np.einsum("tik,tk->ik", tc, t4 * t3)
    v = v + np.einsum("tik,tjk,tk->ij", tc, tc, t3)
    cf = c[-1]
    v = v + (cf * v3) @ cf.T + cf @ v2.T + v2 @ cf.T
    k = n_groups - 1
    return s[:k], v[:k, :k]


@dataclass(frozen=True, repr=False)
class CumulativeIncidence(Result):
    """Cumulative incidence of each outcome type (cause), per group, with Gray's test.

    Attributes
    ----------
    table : DataFrame
        One row per jump of each curve: ``group, cause, time, estimate, variance, se, ci_low,
        ci_high, n_events, n_at_risk``, plus a first row at time 0 with estimate 0.
    tests : DataFrame or None
        Gray's test per cause (``cause, statistic, df, p, rho``) when there are two or more groups.
    last_time : dict
        Largest follow-up time of each group (the curves are undefined beyond it).
    ci_level : float
    n_obs : int
    """

    table: pd.DataFrame
    tests: pd.DataFrame | None
    last_time: dict = field(default_factory=dict)
    ci_level: float = 0.95
    n_obs: int = 0

    def summary(self) -> pd.DataFrame:
        """The curve table (see ``table``)."""
        return self.table.copy()

    def at(self, times) -> pd.DataFrame:
        """Estimates and variances at ``times`` (right-continuous step functions; NaN beyond a
        group's last follow-up time, as ``cmprsk::timepoints``). Columns ``group, cause, time,
        estimate, variance``."""
        times = np.sort(np.unique(np.asarray(times, dtype=float)))
        rows = []
        for (grp, cause), curve in self.table.groupby(["group", "cause"], sort=False):
            ct = curve["time"].to_numpy()
            idx = np.searchsorted(ct, times, side="right") - 1
            est = curve["estimate"].to_numpy()[idx]
            var = curve["variance"].to_numpy()[idx]
            beyond = times > self.last_time[grp]
            rows.append(
                pd.DataFrame(
                    {
                        "group": grp,
                        "cause": cause,
                        "time": times,
                        "estimate": np.where(beyond, np.nan, est),
                        "variance": np.where(beyond, np.nan, var),
                    }
                )
            )
        return pd.concat(rows, ignore_index=True)

    def to_dict(self) -> dict:
        return {
            "table": self.table.to_dict(orient="records"),
            "tests": None if self.tests is None else self.tests.to_dict(orient="records"),
            "last_time": {str(k): float(v) for k, v in self.last_time.items()},
            "ci_level": self.ci_level,
            "n_obs": self.n_obs,
        }

    def plot(self, ax=None, *, causes=None, title: str = "", unit: str = ""):
        """Step curves of cumulative incidence (one line per group and cause, with its pointwise
        interval shaded); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(5, 3.6))
        for (grp, cause), curve in self.table.groupby(["group", "cause"], sort=False):
            if causes is not None and cause not in causes:
                continue
            label = f"{cause}" if grp == "all" else f"{cause} ({grp})"
            x = np.append(curve["time"].to_numpy(), self.last_time[grp])
            y = np.append(curve["estimate"].to_numpy(), curve["estimate"].iloc[-1])
            (line,) = ax.step(x, y, where="post", label=label)
            lo = np.append(curve["ci_low"].to_numpy(), curve["ci_low"].iloc[-1])
            hi = np.append(curve["ci_high"].to_numpy(), curve["ci_high"].iloc[-1])
            ax.fill_between(x, lo, hi, step="post", alpha=0.15, color=line.get_color())
        ax.set_xlabel(f"time ({unit})" if unit else "time")
        ax.set_ylabel("cumulative incidence")
        ax.set_ylim(0, None)
        if title:
            ax.set_title(title, fontsize=9)
        ax.legend(fontsize=8, frameon=False)
        return ax


def cumulative_incidence(
    time,
    status,
    *,
    group=None,
    strata=None,
    censor_code=0,
    rho: float = 0.0,
    ci_level: float = 0.95,
) -> CumulativeIncidence:
    """Cumulative incidence of each cause (Aalen-Johansen) with Gray's variance and test.

    Parameters
    ----------
    time : array
        Time to the first outcome or to censoring.
    status : array
        Outcome type of each observation; ``censor_code`` marks censored observations.
    group : array, optional
        Groups whose curves are estimated separately and compared by Gray's test.
    strata : array, optional
        Strata for Gray's test (the curves are not stratified), as ``cuminc(strata=)``.
    censor_code : default 0
    rho : float, default 0
        Power of the weight :math:`(1 - \\hat F(t-))^{\\rho}` in Gray's test.
    ci_level : float, default 0.95
        Level of the pointwise intervals.

    Returns
    -------
    CumulativeIncidence

    Notes
    -----
    With all-cause Kaplan-Meier :math:`\\hat S(t-)` just before time :math:`t_j`, :math:`d_{kj}`
    events of cause k and :math:`n_j` at risk, :math:`\\hat F_k(t) = \\sum_{t_j \\le t}
    \\hat S(t_j-) d_{kj}/n_j`. The variance is Gray's delta-method estimator as computed by
    ``cmprsk``'s ``cinc`` routine (with its correction for tied events) and the test is Gray's
    (1988) k-sample test of subdistributions, ``cmprsk``'s ``crstm``. The interval is on the
    log(-log) scale, :math:`\\hat F^{\\exp(\\pm z\\,\\mathrm{se}/(\\hat F\\log\\hat F))}`, which
    stays within (0, 1). Reproduces ``cmprsk::cuminc(ftime, fstatus, group, strata, rho)``
    (estimates and variances via ``timepoints``, test statistics and p values).

    References
    ----------
    Gray RJ (1988). A class of K-sample tests for comparing the cumulative incidence of a
    competing risk. Annals of Statistics 16:1141-1154.
    Aalen OO, Johansen S (1978). An empirical transition matrix for non-homogeneous Markov chains
    based on censored observations. Scand J Stat 5:141-150.

    Examples
    --------
    >>> t = np.array([1, 2, 3, 4, 5, 6.0])
    >>> s = np.array([1, 2, 0, 1, 2, 0])
    >>> ci = cumulative_incidence(t, s)
    >>> round(float(ci.at([6]).query("cause == 1")["estimate"].iloc[0]), 4)
    0.3889
    """
    time, status = _check_outcome(time, status, censor_code=censor_code)
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level: must be between 0 and 1; got {ci_level}")
    if group is None:
        groups = np.array(["all"] * len(time), dtype=object)
    else:
        groups = np.asarray(group, dtype=object)
        if groups.shape != time.shape:
            raise ValueError("group: must have one value per observation")
        if pd.isna(groups).any():
            raise ValueError("group: missing values (drop those rows first)")
    levels = sorted(pd.unique(groups), key=str)
    causes = _causes(status, censor_code)
    any_event = status != censor_code
    z = stats.norm.ppf(0.5 + ci_level / 2)
    frames = []
    last_time = {}
    for grp in levels:
        sel = groups == grp
        last_time[grp] = float(time[sel].max())
        for cause in causes:
            u, f, var, d, rs = _cif_one(time[sel], any_event[sel], status[sel] == cause)
            se = np.sqrt(np.maximum(var, 0.0))
            with np.errstate(divide="ignore", invalid="ignore"):
                expo = np.exp(z * se / (f * np.log(f)))
                # F log F < 0, so expo < 1 and F ** expo is the upper limit
                lo = np.where((f > 0) & (f < 1), f ** (1 / expo), np.nan)
                hi = np.where((f > 0) & (f < 1), f**expo, np.nan)
            frames.append(
                pd.DataFrame(
                    {
                        "group": grp,
                        "cause": cause,
                        "time": np.concatenate([[0.0], u]),
                        "estimate": np.concatenate([[0.0], f]),
                        "variance": np.concatenate([[0.0], var]),
                        "se": np.concatenate([[0.0], se]),
                        "ci_low": np.concatenate([[0.0], lo]),
                        "ci_high": np.concatenate([[0.0], hi]),
                        "n_events": np.concatenate([[0], d]).astype(int),
                        "n_at_risk": np.concatenate([[int(sel.sum())], rs]).astype(int),
                    }
                )
            )
    table = pd.concat(frames, ignore_index=True)
    tests = None
    if len(levels) > 1:
        tests = gray_test(
            time, status, group=groups, strata=strata, censor_code=censor_code, rho=rho
        )
    return CumulativeIncidence(
        table=table, tests=tests, last_time=last_time, ci_level=ci_level, n_obs=len(time)
    )


def gray_test(time, status, *, group, strata=None, censor_code=0, rho: float = 0.0) -> pd.DataFrame:
    """Gray's k-sample test of equal cumulative incidence across groups, for each cause.

    Returns a DataFrame with columns ``cause, statistic, df, p, rho``. The statistic is
    :math:`s^\\top V^{-1} s` on the scores of the first k - 1 groups, chi-square with k - 1 df.
    Reproduces the ``Tests`` component of ``cmprsk::cuminc`` (see :func:`cumulative_incidence`).
    """
    time, status = _check_outcome(time, status, censor_code=censor_code)
    groups = np.asarray(group, dtype=object)
    if groups.shape != time.shape:
        raise ValueError("group: must have one value per observation")
    levels = sorted(pd.unique(groups), key=str)
    if len(levels) < 2:
        raise ValueError("group: Gray's test needs at least two groups")
    gidx = pd.Categorical(groups, categories=levels).codes.astype(int)
    strat = (
        np.zeros(len(time), dtype=int) if strata is None else pd.factorize(np.asarray(strata))[0]
    )
    rows = []
    k = len(levels)
    for cause in _causes(status, censor_code):
        code = np.where(status == cause, 1, np.where(status == censor_code, 0, 2))
        s = np.zeros(k - 1)
        v = np.zeros((k - 1, k - 1))
        for st in np.unique(strat):
            sel = strat == st
            s_st, v_st = _gray_scores(time[sel], code[sel], gidx[sel], k, rho)
            s += s_st
            v += v_st
        singular = np.linalg.matrix_rank(v) < k - 1
        stat = np.nan if singular else float(s @ np.linalg.solve(v, s))
        rows.append((cause, stat, k - 1, float(stats.chi2.sf(stat, k - 1)), rho))
    return pd.DataFrame(rows, columns=["cause", "statistic", "df", "p", "rho"])


# --------------------------------------------------------------------------------------------
# Fine-Gray (cmprsk::crr)
# --------------------------------------------------------------------------------------------
class _FineGrayData:
    """Sorted data and the weights of the Fine-Gray risk sets (one censoring group)."""

    def __init__(self, time, status, X, cause, censor_code):
        order = np.argsort(time, kind="stable")
        self.t = time[order]
        st = status[order]
        self.X = X[order]
        self.event = st == cause
        self.other = (st != cause) & (st != censor_code)
        self.censored = st == censor_code
        n = len(self.t)
        self.n = n
        # censoring Kaplan-Meier just before each row's time, G(t-)
        u, first, counts = np.unique(self.t, return_index=True, return_counts=True)
        nc = np.add.reduceat(self.censored.astype(float), first)
        at_risk = (n - first).astype(float)
        g_after = np.cumprod(1.0 - nc / at_risk)
        g_before = np.concatenate([[1.0], g_after[:-1]])
        self.g_row = np.repeat(g_before, counts)
        self.u_all, self.first_all, self.nc_all, self.y_all = u, first, nc, at_risk
        # distinct times of the cause of interest
        self.uft, self.d = np.unique(self.t[self.event], return_counts=True)
        self.first_ev = np.searchsorted(self.t, self.uft, side="left")  # first row with t >= u_k
        self.g_ev = self.g_row[self.first_ev]  # G(u_k-)


def _fg_sums(data: _FineGrayData, beta: np.ndarray, need: int):
    """Risk-set sums S0, S1 (and S2) at each event time of the cause of interest, with the
    subjects who had another outcome kept in the risk set with weight G(u-)/G(t-)."""
    eta = data.X @ beta
    shift = float(eta.max())
    r = np.exp(eta - shift)
    first = data.first_ev
    w_other = np.where(data.other, r / data.g_row, 0.0)

    def risk_sum(v):
        # sum over rows with t >= u_k of v, plus G(u_k-) * sum over other-cause rows with t < u_k
        rev = np.concatenate([np.cumsum(v[::-1], axis=0)[::-1], np.zeros((1,) + v.shape[1:])])
        return rev[first]

    def other_sum(v):
        pre = np.concatenate([np.zeros((1,) + v.shape[1:]), np.cumsum(v, axis=0)])
        return pre[first]

    ge = data.g_ev
    s0 = risk_sum(r) + ge * other_sum(w_other)
    out = [eta, shift, r, s0]
    if need >= 1:
        rx = r[:, None] * data.X
        ox = w_other[:, None] * data.X
        s1 = risk_sum(rx) + ge[:, None] * other_sum(ox)
        out.append(s1)
    if need >= 2:
        xx = data.X[:, :, None] * data.X[:, None, :]
        s2 = risk_sum(r[:, None, None] * xx) + ge[:, None, None] * other_sum(
            w_other[:, None, None] * xx
        )
        out.append(s2)
    return out


def _fg_objective(data: _FineGrayData, beta: np.ndarray, need: int = 2):
    """Negative log pseudo-likelihood, its gradient and Hessian (``crrfsv``/``crrf``)."""
    parts = _fg_sums(data, beta, need)
    eta, shift, s0 = parts[0], parts[1], parts[3]
    d = data.d
    lik = float(-eta[data.event].sum() + (d * (np.log(s0) + shift)).sum())
    if need == 0:
        return lik, None, None
    s1 = parts[4]
    xbar = s1 / s0[:, None]
    score = -data.X[data.event].sum(axis=0) + (d[:, None] * xbar).sum(axis=0)
    if need == 1:
        return lik, score, None
    s2 = parts[5]
    hess = (d[:, None, None] * (s2 / s0[:, None, None] - xbar[:, :, None] * xbar[:, None, :])).sum(
        axis=0
    )
    return lik, score, hess


def _fg_robust_cov(data: _FineGrayData, beta: np.ndarray, hess: np.ndarray) -> np.ndarray:
    """Sandwich variance with the censoring-distribution term (``crrvv``), vectorised."""
    _, _, r_shifted, s0, s1 = _fg_sums(data, beta, 1)[:5]
    X, t, d, ge = data.X, data.t, data.d, data.g_ev
    xbar = s1 / s0[:, None]
    n, p = X.shape
    # the exp(-shift) factors of r and s0 cancel in every term below
    r = r_shifted
    k_row = np.searchsorted(data.uft, t, side="right")  # events with u_k <= t_i: k < k_row
    # dN part
    eta_i = np.zeros((n, p))
    ev_k = np.searchsorted(data.uft, t[data.event])
    eta_i[data.event] = X[data.event] - xbar[ev_k]
    # d Lambda part
    c0 = np.concatenate([[0.0], np.cumsum(d / s0)])
    c1 = np.vstack([np.zeros(p), np.cumsum(d[:, None] * xbar / s0[:, None], axis=0)])
    eta_i -= r[:, None] * (X * c0[k_row][:, None] - c1[k_row])
    gw = d * ge / s0
    r0 = np.concatenate([np.cumsum(gw[::-1])[::-1], [0.0]])  # sum over u_k >= u_index
    r1 = np.vstack([np.cumsum((gw[:, None] * xbar)[::-1], axis=0)[::-1], np.zeros(p)])
    oth = data.other
    eta_i[oth] -= (r[oth] / data.g_row[oth])[:, None] * (
        X[oth] * r0[k_row[oth]][:, None] - r1[k_row[oth]]
    )
    # censoring part psi: q(c) at each distinct time with censoring
    cens_times = data.nc_all > 0
    uc = data.u_all[cens_times]
    nc = data.nc_all[cens_times]
    yc = data.y_all[cens_times]
    first_c = data.first_all[cens_times]
    w_other = np.where(oth, r / data.g_row, 0.0)
    a0 = np.concatenate([[0.0], np.cumsum(w_other)])[first_c]
    a1 = np.vstack([np.zeros(p), np.cumsum(w_other[:, None] * X, axis=0)])[first_c]
    kc = np.searchsorted(data.uft, uc, side="left")  # events with u_k >= c: k >= kc
    q = a1 * r0[kc][:, None] - a0[:, None] * r1[kc]
    ss2 = -np.cumsum(nc[:, None] * q / (yc**2)[:, None], axis=0)
    # rows: cumulative ss2 up to their time; censored rows add q(t_i) / Y(t_i)
    j_row = np.searchsorted(uc, t, side="right") - 1
    if len(uc):  # no censoring: the censoring distribution adds nothing
        psi = np.where((j_row >= 0)[:, None], ss2[np.maximum(j_row, 0)], 0.0)
        cr = data.censored
        psi[cr] += q[j_row[cr]] / yc[j_row[cr]][:, None]
        eta_i += psi
    v2 = eta_i.T @ eta_i
    hinv = np.linalg.inv(hess)
    return hinv @ v2 @ hinv.T


class FineGrayModel(Estimator):
    """Fine-Gray proportional subdistribution-hazards model for one outcome type (scikit-learn
    style).

    Parameters
    ----------
    cause : default 1
        Status value of the outcome type modelled; other non-censored values compete.
    censor_code : default 0
    ci_level : float, default 0.95
    max_iter : int, default 10
        Newton iterations (as ``crr(maxiter = 10)``).
    gtol : float, default 1e-6
        Convergence when :math:`\\max_j |U_j|\\max(|\\beta_j|, 1) < \\max(|\\ell|, 1)\\,gtol`,
        ``crr``'s rule.

    Attributes
    ----------
    feature_names_in_ : list of str
    coef_, se_ : Series
        Log subdistribution hazard ratios and robust standard errors.
    cov_ : DataFrame
        Robust (sandwich) covariance, including the estimated censoring distribution's term.
    loglik_, loglik_null_ : float
        Log pseudo-likelihood at the estimate and at zero.
    baseline_ : DataFrame
        ``time, hazard_increment, cumulative_hazard`` of the baseline subdistribution hazard
        at x = 0 (``crr``'s ``uftime`` and ``bfitj``).
    n_obs_, n_events_, n_competing_ : int
    converged_ : bool
    results_ : ModelResults
        The :meth:`summary` table and the scalar statistics.

    Notes
    -----
    The risk set at an event time u of the cause of interest holds those still event-free and
    those who had a competing outcome before u, weighted by :math:`\\hat G(u-)/\\hat G(t_i-)`
    (inverse probability of censoring, :math:`\\hat G` the Kaplan-Meier of censoring). The
    pseudo-likelihood is maximised by Newton-Raphson with ``crr``'s step-halving and stopping
    rule; the variance is the sandwich :math:`H^{-1}(\\sum_i \\eta_i\\eta_i^\\top)H^{-1}`
    where :math:`\\eta_i` adds to the score residual the term for the estimated censoring
    distribution (Fine & Gray 1999, sec. 4). Risk-set sums are reverse cumulative sums over
    sorted times, so a fit costs O(n p^2) per iteration. Reproduces ``cmprsk::crr(ftime,
    fstatus, cov1, failcode, cencode)`` with one censoring group (``cengroup`` and time-varying
    ``cov2`` are not supported).

    References
    ----------
    Fine JP, Gray RJ (1999). A proportional hazards model for the subdistribution of a competing
    risk. JASA 94:496-509.

    Examples
    --------
    >>> rng = np.random.default_rng(2)
    >>> x = rng.normal(size=400)
    >>> t1 = rng.exponential(np.exp(-0.7 * x)); t2 = rng.exponential(1.0, 400)
    >>> status = np.where(t1 < t2, 1, 2)
    >>> fg = FineGrayModel().fit(pd.DataFrame({"x": x}), np.minimum(t1, t2), status)
    >>> bool(fg.coef_["x"] > 0)
    True
    """

    def __init__(
        self,
        *,
        cause=1,
        censor_code=0,
        ci_level: float = 0.95,
        max_iter: int = 10,
        gtol: float = 1e-6,
    ):
        self.cause = cause
        self.censor_code = censor_code
        self.ci_level = ci_level
        self.max_iter = max_iter
        self.gtol = gtol

    def fit(self, X: pd.DataFrame, time, status) -> FineGrayModel:
        if not isinstance(X, pd.DataFrame):
            raise TypeError("X: must be a pandas DataFrame of numeric predictors")
        if not 0 < self.ci_level < 1:
            raise ValueError(f"ci_level: must be between 0 and 1; got {self.ci_level}")
        time, status = _check_outcome(time, status, censor_code=self.censor_code)
        values = X.to_numpy(dtype=float)
        if values.shape[0] != len(time):
            raise ValueError("X, time and status: must have the same number of rows")
        if not np.isfinite(values).all():
            cols = [str(c) for c in X.columns[~np.isfinite(values).all(axis=0)]]
            raise ValueError(f"X: missing or infinite values in column(s) {', '.join(cols)}")
        if not (status == self.cause).any():
            raise ValueError(f"status: no events of cause {self.cause!r}")
        names = [str(c) for c in X.columns]
        constant = [n for n, sd in zip(names, values.std(axis=0), strict=True) if not sd > 0]
        if constant:
            raise ValueError(
                f"predictor(s) {', '.join(constant)} take a single value; a coefficient cannot "
                "be estimated - leave them out"
            )
        if np.linalg.matrix_rank(values - values.mean(axis=0)) < values.shape[1]:
            raise ValueError(
                f"predictors {', '.join(names)} are collinear (one is a combination of the "
                "others); leave one out"
            )
        data = _FineGrayData(time, status, values, self.cause, self.censor_code)
        p = values.shape[1]
        beta = np.zeros(p)
        converged = False
        for it in range(self.max_iter + 1):
            lik, score, hess = _fg_objective(data, beta)
            if (
                np.max(np.abs(score) * np.maximum(np.abs(beta), 1.0))
                < max(abs(lik), 1.0) * self.gtol
            ):
                converged = True
                break
            if it == self.max_iter:
                break
            step = -np.linalg.solve(hess, score)
            slope = 1e-4 * float(step @ score)
            new = beta + step
            f_new = _fg_objective(data, new, need=0)[0]
            halvings = 0
            while not np.isfinite(f_new) or f_new > lik + slope * 0.5**halvings:
                halvings += 1
                step = step * 0.5
                new = beta + step
                f_new = _fg_objective(data, new, need=0)[0]
                if halvings > 20:
                    break
            if halvings > 20:
                break
            beta = new
        if not converged:
            warnings.warn(
                f"Fine-Gray model (cause {self.cause!r}): Newton-Raphson did not converge in "
                f"{self.max_iter} iterations; estimates may be unreliable",
                ConvergenceWarning,
                stacklevel=2,
            )
        lik, score, hess = _fg_objective(data, beta)
        cov = _fg_robust_cov(data, beta, hess)
        s0 = _fg_sums(data, beta, 0)
        jumps = data.d / (s0[3] * np.exp(s0[1]))
        self.feature_names_in_ = names
        self.coef_ = pd.Series(beta, index=names)
        self.cov_ = pd.DataFrame(cov, index=names, columns=names)
        self.se_ = pd.Series(np.sqrt(np.diag(cov)), index=names)
        self.loglik_ = -lik
        self.loglik_null_ = -_fg_objective(data, np.zeros(p), need=0)[0]
        self.information_ = pd.DataFrame(hess, index=names, columns=names)
        self.baseline_ = pd.DataFrame(
            {"time": data.uft, "hazard_increment": jumps, "cumulative_hazard": np.cumsum(jumps)}
        )
        self.n_obs_ = int(len(time))
        self.n_events_ = int(data.event.sum())
        self.n_competing_ = int(data.other.sum())
        self.converged_ = bool(converged)
        table = _ratio_table(self.coef_, self.se_, self.ci_level)
        return self._finish_fit(ModelResults.of(self, table, {"cause": _plain(self.cause)}))

    def predict_cumulative_incidence(self, X: pd.DataFrame, times) -> pd.DataFrame:
        """Predicted cumulative incidence :math:`1 - \\exp(-e^{x\\beta}\\Lambda_0(t))` of the
        modelled cause for each row of ``X`` (rows) at ``times`` (columns), as
        ``predict.crr``."""
        self._check_fitted()
        missing = [c for c in self.feature_names_in_ if c not in X.columns]
        if missing:
            raise ValueError(f"X: missing predictor column(s) {', '.join(missing)}")
        times = np.asarray(times, dtype=float)
        lp = X[self.feature_names_in_].to_numpy(dtype=float) @ self.coef_.to_numpy()
        base = self.baseline_
        idx = np.searchsorted(base["time"].to_numpy(), times, side="right") - 1
        cum = np.where(idx >= 0, base["cumulative_hazard"].to_numpy()[np.maximum(idx, 0)], 0.0)
        cif = 1.0 - np.exp(-np.exp(lp)[:, None] * cum[None, :])
        return pd.DataFrame(cif, index=X.index, columns=pd.Index(times, name="time"))

    def summary(self) -> pd.DataFrame:
        """One row per term: ``estimate`` (log subdistribution HR), ``se``, ``z``, ``p``,
        ``hazard_ratio`` (subdistribution HR), ``ci_low``, ``ci_high``, ``ci_level``."""
        self._check_fitted()
        return self.results_.summary()

    def to_dict(self) -> dict:
        self._check_fitted()
        return {
            "model": "fine_gray",
            "cause": _plain(self.cause),
            "terms": self.summary().reset_index().to_dict(orient="records"),
            "loglik": self.loglik_,
            "loglik_null": self.loglik_null_,
            "n_obs": self.n_obs_,
            "n_events": self.n_events_,
            "n_competing": self.n_competing_,
            "converged": self.converged_,
        }


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value


def _ratio_table(coef: pd.Series, se: pd.Series, ci_level: float) -> pd.DataFrame:
    z = stats.norm.ppf(0.5 + ci_level / 2)
    est = coef.to_numpy()
    s = se.to_numpy()
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        return pd.DataFrame(
            {
                "estimate": est,
                "se": s,
                "z": est / s,
                "p": 2 * stats.norm.sf(np.abs(est / s)),
                "hazard_ratio": np.exp(est),
                "ci_low": np.exp(est - z * s),
                "ci_high": np.exp(est + z * s),
                "ci_level": ci_level,
            },
            index=pd.Index(coef.index, name="term"),
        )


# --------------------------------------------------------------------------------------------
# Cause-specific Cox models and the whole analysis
# --------------------------------------------------------------------------------------------
def cause_specific_cox(
    X: pd.DataFrame,
    time,
    status,
    *,
    causes=None,
    censor_code=0,
    ties: str = "efron",
    ci_level: float = 0.95,
) -> dict:
    """One Cox model per cause with the other causes treated as censoring.

    Returns a dict ``{cause: fitted CoxModel}``. The hazard ratio is a rate among those still at
    risk (see the module docstring). Reproduces ``coxph(Surv(time, status == k) ~ ...)``.
    """
    time, status = _check_outcome(time, status, censor_code=censor_code)
    causes = _causes(status, censor_code) if causes is None else list(causes)
    return {
        cause: CoxModel(ties=ties, ci_level=ci_level).fit(X, time, (status == cause).astype(float))
        for cause in causes
    }


@dataclass(frozen=True, repr=False)
class CompetingRisks(Result):
    """Cumulative incidence, Fine-Gray and cause-specific Cox models for every outcome type.

    Attributes
    ----------
    incidence : CumulativeIncidence
    fine_gray : dict
        Cause -> fitted :class:`FineGrayModel`.
    cause_specific : dict
        Cause -> fitted :class:`~analysis.attrition.cox.CoxModel`.
    interpretation : str
        Which question each model answers, for the report.
    """

    incidence: CumulativeIncidence
    fine_gray: dict
    cause_specific: dict
    interpretation: str = INTERPRETATION

    def summary(self) -> pd.DataFrame:
        """Both models' effects side by side: ``model, cause, term, estimate, se, p,
        hazard_ratio, ci_low, ci_high, ci_level`` (``model`` is ``fine_gray`` or
        ``cause_specific``)."""
        cols = ["estimate", "se", "p", "hazard_ratio", "ci_low", "ci_high", "ci_level"]
        frames = []
        for cause, fg in self.fine_gray.items():
            tab = fg.summary()[cols].reset_index()
            tab.insert(0, "cause", cause)
            tab.insert(0, "model", "fine_gray")
            frames.append(tab)
        for cause, cox in self.cause_specific.items():
            tab = cox.summary()[cols].reset_index()
            tab.insert(0, "cause", cause)
            tab.insert(0, "model", "cause_specific")
            frames.append(tab)
        return pd.concat(frames, ignore_index=True)

    def to_dict(self) -> dict:
        return {
            "incidence": self.incidence.to_dict(),
            "effects": self.summary().to_dict(orient="records"),
            "interpretation": self.interpretation,
        }

    def plot(self, ax=None, **kwargs):
        """The cumulative incidence curves (see :meth:`CumulativeIncidence.plot`)."""
        return self.incidence.plot(ax=ax, **kwargs)


def fit_competing_risks(
    X: pd.DataFrame,
    time,
    status,
    *,
    group=None,
    causes=None,
    censor_code=0,
    ties: str = "efron",
    ci_level: float = 0.95,
) -> CompetingRisks:
    """Fit the competing-outcomes analysis: curves (by ``group`` if given), and for each cause a
    Fine-Gray and a cause-specific Cox model on the predictors ``X``."""
    time, status = _check_outcome(time, status, censor_code=censor_code)
    causes = _causes(status, censor_code) if causes is None else list(causes)
    incidence = cumulative_incidence(
        time, status, group=group, censor_code=censor_code, ci_level=ci_level
    )
    fine_gray = {
        c: FineGrayModel(cause=c, censor_code=censor_code, ci_level=ci_level).fit(X, time, status)
        for c in causes
    }
    cs = cause_specific_cox(
        X, time, status, causes=causes, censor_code=censor_code, ties=ties, ci_level=ci_level
    )
    return CompetingRisks(incidence=incidence, fine_gray=fine_gray, cause_specific=cs)
