"""Internal validation: apparent and bootstrap optimism-corrected discrimination and calibration.

Harrell's bootstrap (Harrell, Lee & Mark 1996; Steyerberg 2019, ch. 17): refit the whole model in
each resample, measure it on the resample (apparent) and on the original data (test); the mean
difference is the optimism, subtracted from the apparent performance.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import expit

from analysis._results import Result
from analysis.attrition.concordance import concordance_index
from analysis.attrition.cox import RiskSets, cox_newton, newton_on_risk_sets
from analysis.attrition.kaplan_meier import kaplan_meier
from analysis.attrition.logistic import logistic_irls
from analysis.errors import DataQualityWarning

__all__ = [
    "Validation",
    "brier_survival",
    "calibration_table",
    "events_per_parameter",
    "validate_cox",
    "validate_logistic",
]

COX_METRICS = ("c_index", "brier", "calibration_slope", "calibration_intercept")
LOGISTIC_METRICS = ("auc", "brier", "calibration_slope", "calibration_intercept")


@dataclass(frozen=True, repr=False)
class Validation(Result):
    """Apparent and optimism-corrected performance of a prediction model.

    Attributes
    ----------
    table : DataFrame
        Index ``metric`` (``c_index`` or ``auc``, ``brier``, ``calibration_slope``,
        ``calibration_intercept``); columns ``apparent, optimism, corrected``, ``ci_low,
        ci_high`` (interval of the corrected value: bootstrap percentiles of the resamples'
        apparent performance shifted by the optimism, Noma et al. 2021; not given for the
        calibration slope and intercept, fixed by construction on the fitting data), ``boot_sd`` (SD
        of the per-resample optimism), ``n_resamples``, ``ci_level``.
    calibration : DataFrame
        Grouped calibration at the horizon on the original data: ``group, n, mean_predicted,
        observed, observed_ci_low, observed_ci_high``.
    roc : DataFrame or None
        Logistic only: ``false_positive_rate, true_positive_rate`` of the apparent ROC curve.
    n_boot : int
        Resamples requested. ``n_failed``: resamples whose refit failed (left out, counted).
    seed : int
    horizon : float or None
        Cox: the time at which risks, Brier score and calibration are assessed.
    model : str
        ``cox`` or ``logistic``.
    """

    table: pd.DataFrame
    calibration: pd.DataFrame
    roc: pd.DataFrame | None
    n_boot: int
    n_failed: int
    seed: int
    horizon: float | None
    model: str

    def summary(self) -> pd.DataFrame:
        return self.table.reset_index()

    def plot_calibration(self, ax=None, *, title: str = "", unit: str = ""):
        """Calibration plot: observed against mean predicted risk per group; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(4.8, 4.8))
        cal = self.calibration
        top = float(max(cal["mean_predicted"].max(), cal["observed_ci_high"].max(), 0.05)) * 1.05
        top = min(top, 1.0)
        ax.plot([0, top], [0, top], ls="--", color="grey", lw=1, label="ideal")
        yerr = np.vstack(
            [cal["observed"] - cal["observed_ci_low"], cal["observed_ci_high"] - cal["observed"]]
        )
        ax.errorbar(
            cal["mean_predicted"],
            cal["observed"],
            yerr=np.clip(yerr, 0, None),
            fmt="o",
            color="black",
            ms=4,
            capsize=2,
            label="groups (95% CI)",
        )
        slope = self.table.loc["calibration_slope"]
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel(
            "Predicted risk of disengaging"
            + (f" by {self.horizon:g} {unit}".rstrip() if self.horizon else "")
        )
        ax.set_ylabel("Observed risk")
        ax.text(
            0.03,
            0.95,
            f"slope {slope['apparent']:.2f} (corrected {slope['corrected']:.2f})",
            transform=ax.transAxes,
            va="top",
            fontsize=8,
        )
        ax.legend(loc="lower right", frameon=False, fontsize=8)
        if title:
            ax.set_title(title)
        return ax

    def plot_roc(self, ax=None, *, title: str = ""):
        """ROC curve (logistic models); returns the Axes."""
        import matplotlib.pyplot as plt

        if self.roc is None:
            raise ValueError("plot_roc: ROC curves are drawn for the logistic model only")
        if ax is None:
            _, ax = plt.subplots(figsize=(4.8, 4.8))
        ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
        ax.plot(self.roc["false_positive_rate"], self.roc["true_positive_rate"], color="black")
        auc = self.table.loc["auc"]
        ax.set_xlabel("1 - specificity")
        ax.set_ylabel("Sensitivity")
        ax.text(
            0.4, 0.1, f"AUC {auc['apparent']:.3f} (corrected {auc['corrected']:.3f})", fontsize=8
        )
        if title:
            ax.set_title(title)
        return ax


def events_per_parameter(n_events: int, n_parameters: int) -> float:
    """Events (or the smaller outcome class) per candidate parameter.

    Examples
    --------
    >>> events_per_parameter(50, 5)
    10.0
    """
    return float(n_events) / max(int(n_parameters), 1)


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------
def _censoring_survival(time, event):
    """KM of the censoring distribution, G(t), as (times, values) for a right-continuous step.

    The product-limit estimate :math:`\\prod_{t_k \\le t}(1 - c_k/n_k)` over the censoring times
    (the Kaplan-Meier of :func:`~analysis.attrition.kaplan_meier.kaplan_meier` with the censoring
    indicator as the event), without its variance, for the hundreds of bootstrap evaluations.
    """
    time = np.asarray(time, dtype=float)
    censored = 1.0 - np.asarray(event, dtype=float)
    order = np.argsort(time, kind="stable")
    t, c = time[order], censored[order]
    if len(t) == 0:
        return np.zeros(0), np.zeros(0)
    first = np.flatnonzero(np.r_[True, t[1:] != t[:-1]])
    at_risk = len(t) - first
    cens = np.add.reduceat(c, first)
    return t[first], np.cumprod(1.0 - cens / at_risk)


def _step(times, values, at, *, left=False):
    idx = np.searchsorted(times, at, side="left" if left else "right") - 1
    return np.where(idx >= 0, values[np.maximum(idx, 0)], 1.0)


def brier_survival(time, event, risk, horizon, *, censoring=None) -> float:
    """Inverse-probability-of-censoring weighted Brier score at ``horizon`` (Graf et al. 1999).

    Notes
    -----
    :math:`BS(h) = n^{-1}\\sum_i [\\hat S_i(h)^2 \\, 1(T_i \\le h, \\delta_i = 1)/\\hat G(T_i-) +
    (1 - \\hat S_i(h))^2 \\, 1(T_i > h)/\\hat G(h)]` with :math:`\\hat S_i = 1 - ` risk and
    :math:`\\hat G` the Kaplan-Meier estimate of the censoring distribution; subjects censored
    before h contribute through the weights only.

    References
    ----------
    Graf E, Schmoor C, Sauerbrei W, Schumacher M (1999). Assessment and comparison of prognostic
    classification schemes for survival data. Stat Med 18:2529-2545.

    Examples
    --------
    >>> brier_survival([1, 2, 3, 4], [1, 1, 0, 0], [1.0, 1.0, 0.0, 0.0], horizon=2.5)
    0.0
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    surv = 1.0 - np.asarray(risk, dtype=float)
    g_t, g_v = censoring if censoring is not None else _censoring_survival(time, event)
    g_before = _step(g_t, g_v, time, left=True)
    g_h = float(_step(g_t, g_v, np.array([horizon]))[0])
    died = (time <= horizon) & (event == 1)
    alive = time > horizon
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(died, surv**2 / g_before, 0.0) + np.where(
            alive, (1 - surv) ** 2 / g_h, 0.0
        )
    return float(np.mean(terms))


def _calibration_intercept(time, event, lp, horizon, cumhaz_at) -> float:
    """log(O/E): observed events up to the horizon over those expected, sum H_0(min(T, h)) e^lp
    (Crowson et al. 2016)."""
    expected = cumhaz_at(np.minimum(time, horizon)) * np.exp(lp)
    observed = float(((time <= horizon) & (event == 1)).sum())
    return float(np.log(observed / expected.sum())) if observed > 0 else float("nan")


def _calibration_slope(time, event, lp, risk_sets=None) -> float:
    """Coefficient of a Cox model of the outcome on the linear predictor (rows sorted by time;
    ``risk_sets`` of these rows, Efron ties, when already built)."""
    if risk_sets is None:
        return float(cox_newton(time, event, lp[:, None], presorted=True, max_iter=25).coef[0])
    centre = np.array([lp.mean()])
    fit = newton_on_risk_sets((lp - centre[0])[:, None], risk_sets, centre, max_iter=25)
    return float(fit.coef[0])


def _cumhaz_function(event_times, increments):
    cum = np.cumsum(increments)

    def at(t):
        idx = np.searchsorted(event_times, t, side="right") - 1
        return np.where(idx >= 0, cum[np.maximum(idx, 0)], 0.0)

    return at


# below this many resampled rows (n x resamples) the start-up of worker processes (about a second)
# costs more than it saves: the automatic choice stays in this process
PARALLEL_MIN_ROWS = 500_000


def _n_workers(n_jobs: int | None, n_tasks: int, n_rows: int = PARALLEL_MIN_ROWS) -> int:
    if n_jobs is None:
        n_jobs = (os.cpu_count() or 1) if n_rows * n_tasks >= PARALLEL_MIN_ROWS else 1
    if n_jobs == 0 or n_jobs < -1:
        raise ValueError(f"n_jobs: must be a positive number of processes or -1; got {n_jobs}")
    if n_jobs == -1:
        n_jobs = os.cpu_count() or 1
    return max(1, min(int(n_jobs), n_tasks))


def _run_resamples(
    worker, payload: dict, resamples: list[np.ndarray], n_jobs: int | None, progress=None
):
    """Evaluate ``worker(payload, chunk)`` over the resamples, in parallel processes with one BLAS
    thread each; chunks are contiguous, so the results keep the resamples' order and do not
    depend on the number of processes. With ``progress``, the resamples are handed out in about
    20 chunks and ``progress(done, total, "bootstrap resamples")`` is called as each finishes."""
    from threadpoolctl import threadpool_limits

    workers = _n_workers(n_jobs, len(resamples), len(resamples[0]) if resamples else 0)
    n_chunks = workers if progress is None else max(workers, min(len(resamples), 20))
    bounds = np.linspace(0, len(resamples), n_chunks + 1).astype(int)
    chunks = [resamples[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True)]
    label = "bootstrap resamples"
    if progress is not None:
        progress(0, len(resamples), label)
    if workers == 1:
        parts = []
        with threadpool_limits(limits=1):
            for chunk in chunks:
                parts.append(worker(payload, chunk))
                if progress is not None:
                    progress(sum(len(c) for c in chunks[: len(parts)]), len(resamples), label)
        return parts
    from joblib import Parallel, delayed

    if progress is None:
        return Parallel(n_jobs=workers, backend="loky")(
            delayed(_limited)(worker, payload, chunk) for chunk in chunks
        )
    parts = []
    for part in Parallel(n_jobs=workers, backend="loky", return_as="generator")(
        delayed(_limited)(worker, payload, chunk) for chunk in chunks
    ):
        parts.append(part)
        progress(sum(len(c) for c in chunks[: len(parts)]), len(resamples), label)
    return parts


def _limited(worker, payload, chunk):
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1):
        return worker(payload, chunk)


def _collect(parts):
    optimism, boot_apparent, failed = [], [], 0
    for opt, app, fail in parts:
        optimism += opt
        boot_apparent += app
        failed += fail
    return optimism, boot_apparent, failed


# --------------------------------------------------------------------------------------------
# Cox
# --------------------------------------------------------------------------------------------
def _cox_metrics(fitted, t, e, z, cens, *, horizon, penalty, apparent, risk_sets=None):
    # elementwise sum, not a BLAS product: identical rows must get identical risks (ties)
    lp = ((z - fitted.centre) * fitted.coef).sum(axis=1)
    cumhaz = _cumhaz_function(fitted.event_times, fitted.hazard_increments)
    h0 = float(cumhaz(np.array([horizon]))[0])
    risk = 1 - np.exp(-h0 * np.exp(lp))
    c = concordance_index(t, e, lp).estimate
    brier = brier_survival(t, e, risk, horizon, censoring=cens)
    # the maximum partial likelihood estimate has slope exactly 1 on its own data
    slope = 1.0 if apparent and penalty == 0 else _calibration_slope(t, e, lp, risk_sets)
    intercept = _calibration_intercept(t, e, lp, horizon, cumhaz)
    return np.array([c, brier, slope, intercept]), risk


def _cox_fit(payload, idx, init=None):
    return cox_newton(
        payload["time"][idx],
        payload["event"][idx],
        payload["Z"][idx],
        ties=payload["ties"],
        penalty=payload["penalty"],
        presorted=True,
        max_iter=30,
        init=init,
    )


def _cox_worker(payload, resamples):
    time, event, Z = payload["time"], payload["event"], payload["Z"]
    options = {"horizon": payload["horizon"], "penalty": payload["penalty"]}
    optimism, boot_apparent, failed = [], [], 0
    for idx in resamples:
        if event[idx].sum() == 0:
            failed += 1
            continue
        with np.errstate(all="ignore"):
            boot = _cox_fit(payload, idx, init=payload["init"])
            if not boot.converged or not np.isfinite(boot.coef).all():
                failed += 1
                continue
            cens_b = _censoring_survival(time[idx], event[idx])
            app_b, _ = _cox_metrics(
                boot, time[idx], event[idx], Z[idx], cens_b, apparent=True, **options
            )
            test_b, _ = _cox_metrics(
                boot,
                time,
                event,
                Z,
                payload["censoring"],
                apparent=False,
                risk_sets=payload["risk_sets"],
                **options,
            )
        optimism.append(app_b - test_b)
        boot_apparent.append(app_b)
    return optimism, boot_apparent, failed


def validate_cox(
    X: pd.DataFrame,
    time,
    event,
    *,
    horizon: float,
    ties: str = "efron",
    penalty: float = 0.0,
    n_boot: int = 200,
    seed: int = 20240101,
    n_groups: int | None = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> Validation:
    """Apparent and bootstrap optimism-corrected performance of a Cox model at ``horizon``.

    Parameters
    ----------
    X : DataFrame
        Predictors.
    time, event : array
        Follow-up time and event (1 = disengaged).
    horizon : float
        Time at which predicted risks, the Brier score and grouped calibration are assessed.
    ties : {"efron", "breslow"}, default "efron"
    penalty : float, default 0
        Ridge penalty on standardised predictors (as :class:`~analysis.attrition.cox.CoxModel`).
    n_boot : int, default 200
        Bootstrap resamples (at least 200 recommended; Steyerberg 2019).
    seed : int
        Seed of numpy's default generator; the same seed gives the same resamples.
    n_groups : int, optional
        Groups for the calibration table (default: 10, fewer when there are few events).
    n_jobs : int, optional
        Processes for the resamples (default: all cores when n x n_boot reaches 500,000 rows,
        otherwise this process; 1 = in this process; -1 = all cores). Each runs with one BLAS
        thread; the results do not depend on it.
    progress : callable, optional
        Called as ``progress(done, n_boot, "bootstrap resamples")`` as the resamples finish.

    Returns
    -------
    Validation

    Notes
    -----
    Metrics: Harrell's C (:func:`~analysis.attrition.concordance.concordance_index`); the IPCW
    Brier score at the horizon (:func:`brier_survival`); the calibration slope, the coefficient of
    a Cox model of the outcome on the linear predictor (1 on the development data); and the
    calibration intercept :math:`\\log(O/E)`, observed events up to the horizon over those
    expected, :math:`\\sum_i \\hat H_0(\\min(T_i, h))e^{lp_i}` (Crowson, Atkinson & Therneau 2016).
    Each resample refits the model with :func:`~analysis.attrition.cox.cox_newton` (rows sorted by
    time once, resample indices sorted so the engine needs no re-sorting) and evaluates it on
    the resample and on the original data. Harrell's bootstrap as in ``rms::validate(cph)``.

    References
    ----------
    Harrell FE, Lee KL, Mark DB (1996). Stat Med 15:361-387.
    Steyerberg EW (2019). Clinical Prediction Models, 2nd ed. Springer.
    Crowson CS, Atkinson EJ, Therneau TM (2016). Assessing calibration of prognostic risk scores.
    Stat Methods Med Res 25:1692-1706.
    Noma H, Shinozaki T, Iba K, Teramukai S, Furukawa TA (2021). Confidence intervals of
    prediction accuracy measures for multivariable prediction models based on the bootstrap-based
    optimism correction methods. Stat Med 40:5691-5701.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"cohesion": rng.normal(size=300)})
    >>> t = rng.exponential(np.exp(-0.8 * X["cohesion"]))
    >>> res = validate_cox(X, t, np.ones(300), horizon=1.0, n_boot=20, seed=1)
    >>> bool(res.table.loc["c_index", "corrected"] > 0.6)
    True
    """
    if n_boot < 1:
        raise ValueError(f"n_boot: must be at least 1; got {n_boot}")
    if horizon is None or not np.isfinite(horizon) or horizon <= 0:
        raise ValueError(f"horizon: must be a positive time; got {horizon}")
    values = X.to_numpy(dtype=float)
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    order = np.argsort(time, kind="stable")
    values, time, event = values[order], time[order], event[order]
    sds = values.std(axis=0, ddof=1)
    scale = np.where(sds > 0, sds, 1.0) if penalty > 0 else np.ones(values.shape[1])
    Z = values / scale
    censoring = _censoring_survival(time, event)
    payload = {
        "time": time,
        "event": event,
        "Z": Z,
        "ties": ties,
        "penalty": penalty,
        "horizon": horizon,
        "censoring": censoring,
        "risk_sets": RiskSets(time, event, "efron"),
    }
    everyone = np.arange(len(time))
    base_fit = _cox_fit(payload, everyone)
    payload["init"] = base_fit.coef
    apparent, risk = _cox_metrics(
        base_fit, time, event, Z, censoring, horizon=horizon, penalty=penalty, apparent=True
    )
    rng = np.random.default_rng(seed)
    resamples = [np.sort(rng.integers(0, len(time), len(time))) for _ in range(n_boot)]
    parts = _run_resamples(_cox_worker, payload, resamples, n_jobs, progress)
    optimism, boot_apparent, failed = _collect(parts)
    table = _table(COX_METRICS, apparent, optimism, boot_apparent)
    _warn_failures(failed, n_boot)
    cal = _calibration_cox(time, event, risk, horizon, n_groups)
    return Validation(
        table=table,
        calibration=cal,
        roc=None,
        n_boot=n_boot,
        n_failed=failed,
        seed=seed,
        horizon=float(horizon),
        model="cox",
    )


def _table(names, apparent, optimism, boot_apparent, ci_level: float = 0.95) -> pd.DataFrame:
    """Apparent, optimism, corrected; the corrected value's interval is the location-shifted
    bootstrap percentile interval of Noma et al. (2021): percentiles of the resamples' apparent
    performance minus the mean optimism."""
    if optimism:
        opt = np.array(optimism)
        mean_opt = opt.mean(axis=0)
        sd_opt = opt.std(axis=0, ddof=1) if len(opt) > 1 else np.full(len(names), np.nan)
        tail = (1 - ci_level) / 2 * 100
        low, high = np.percentile(np.array(boot_apparent), [tail, 100 - tail], axis=0)
        low, high = low - mean_opt, high - mean_opt
        # the apparent calibration of a model on its own data is fixed by construction (slope 1,
        # intercept about 0): the shifted percentile interval would be empty, so none is given
        fixed = np.array([name.startswith("calibration_") for name in names])
        low, high = np.where(fixed, np.nan, low), np.where(fixed, np.nan, high)
    else:  # every resample failed: no correction can be given
        mean_opt = sd_opt = low = high = np.full(len(names), np.nan)
    return pd.DataFrame(
        {
            "apparent": apparent,
            "optimism": mean_opt,
            "corrected": apparent - mean_opt,
            "ci_low": low,
            "ci_high": high,
            "boot_sd": sd_opt,
            "n_resamples": len(optimism),
            "ci_level": ci_level,
        },
        index=pd.Index(names, name="metric"),
    )


def _warn_failures(failed, n_boot):
    if failed:
        warnings.warn(
            f"bootstrap validation: {failed} of {n_boot} resamples could not be refitted and were "
            "left "
            "out (few events or separation)",
            DataQualityWarning,
            stacklevel=3,
        )


def _groups(risk, n_groups, n_events):
    if n_groups is None:
        n_groups = int(min(10, max(3, n_events // 10)))
    ranks = stats.rankdata(risk, method="ordinal")
    return np.minimum((ranks - 1) * n_groups // len(risk), n_groups - 1).astype(int), n_groups


def _calibration_cox(time, event, risk, horizon, n_groups) -> pd.DataFrame:
    group, k = _groups(risk, n_groups, int(event.sum()))
    rows = []
    for g in range(k):
        m = group == g
        km = kaplan_meier(time[m], event[m]).table
        t = km["time"].to_numpy()
        idx = np.searchsorted(t, horizon, side="right") - 1
        if idx >= 0:
            s, low, high = km.loc[idx, ["survival", "ci_low", "ci_high"]]
        else:
            s, low, high = 1.0, 1.0, 1.0
        rows.append((g + 1, int(m.sum()), float(risk[m].mean()), 1 - s, 1 - high, 1 - low))
    return pd.DataFrame(
        rows,
        columns=["group", "n", "mean_predicted", "observed", "observed_ci_low", "observed_ci_high"],
    )


def calibration_table(y, risk, *, n_groups: int | None = None) -> pd.DataFrame:
    """Grouped calibration for a binary outcome: mean predicted vs observed share (Wilson 95% CI).

    Examples
    --------
    >>> calibration_table([0, 0, 1, 1, 1, 0], [0.1, 0.2, 0.8, 0.9, 0.7, 0.3], n_groups=2)["observed"].round(3).tolist()
    [0.0, 1.0]
    """
    y = np.asarray(y, dtype=float)
    risk = np.asarray(risk, dtype=float)
    group, k = _groups(risk, n_groups, int(min(y.sum(), len(y) - y.sum())))
    rows = []
    z = 1.959964
    for g in range(k):
        m = group == g
        n = int(m.sum())
        p = float(y[m].mean())
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
        rows.append(
            (g + 1, n, float(risk[m].mean()), p, max(centre - half, 0.0), min(centre + half, 1.0))
        )
    return pd.DataFrame(
        rows,
        columns=["group", "n", "mean_predicted", "observed", "observed_ci_low", "observed_ci_high"],
    )


# --------------------------------------------------------------------------------------------
# Logistic
# --------------------------------------------------------------------------------------------
def _roc(y, score) -> pd.DataFrame:
    order = np.argsort(-score, kind="stable")
    ys = y[order]
    ss = score[order]
    distinct = np.r_[np.flatnonzero(np.diff(ss) != 0), len(ss) - 1]
    tps = np.cumsum(ys)[distinct]
    fps = (distinct + 1) - tps
    tpr = np.r_[0.0, tps / max(ys.sum(), 1)]
    fpr = np.r_[0.0, fps / max(len(ys) - ys.sum(), 1)]
    return pd.DataFrame({"false_positive_rate": fpr, "true_positive_rate": tpr})


def _auc(y, score) -> float:
    """Area under the ROC curve from the rank sum of the cases (Mann-Whitney, ties 1/2): the
    concordance of :func:`~analysis.attrition.logistic.auc` in one sort."""
    ranks = stats.rankdata(np.round(score, 12))
    cases = y == 1
    n1 = float(cases.sum())
    n0 = len(y) - n1
    return float((ranks[cases].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def _logistic_metrics(y, lp):
    risk = expit(lp)
    auc = _auc(y, lp)
    brier = float(np.mean((y - risk) ** 2))
    design = np.c_[np.ones(len(y)), lp]
    slope_coef, _, _ = logistic_irls(design, y)
    intercept_coef, _, _ = logistic_irls(np.ones((len(y), 1)), y, offset=lp)
    return np.array([auc, brier, slope_coef[1], intercept_coef[0]]), risk


def _logistic_worker(payload, resamples):
    y, Z = payload["y"], payload["Z"]
    optimism, boot_apparent, failed = [], [], 0
    for idx in resamples:
        if y[idx].sum() in (0, len(idx)):
            failed += 1
            continue
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            coef_b, _, ok = logistic_irls(
                Z[idx], y[idx], penalty=payload["penalty"], init=payload["init"]
            )
            if not ok or not np.isfinite(coef_b).all():
                failed += 1
                continue
            app_b, _ = _logistic_metrics(y[idx], (Z[idx] * coef_b).sum(axis=1))
            test_b, _ = _logistic_metrics(y, (Z * coef_b).sum(axis=1))
        optimism.append(app_b - test_b)
        boot_apparent.append(app_b)
    return optimism, boot_apparent, failed


def validate_logistic(
    X: pd.DataFrame,
    y,
    *,
    penalty: float = 0.0,
    n_boot: int = 200,
    seed: int = 20240101,
    n_groups: int | None = None,
    n_jobs: int | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> Validation:
    """Apparent and bootstrap optimism-corrected performance of a logistic model.

    Parameters are those of :func:`validate_cox` without the time arguments; ``y`` is the 0/1
    outcome.

    Notes
    -----
    Metrics: AUC (the C statistic), Brier score :math:`n^{-1}\\sum(y - \\hat p)^2`, calibration
    slope (coefficient of lp in ``glm(y ~ lp, binomial)``) and calibration intercept
    (calibration-in-the-large: ``glm(y ~ offset(lp), binomial)``), as ``rms::val.prob`` and
    Steyerberg (2019). Harrell's bootstrap as in ``rms::validate(lrm)``; see :func:`validate_cox`.

    References
    ----------
    Steyerberg EW (2019). Clinical Prediction Models, 2nd ed. Springer.
    Van Calster B, McLernon DJ, van Smeden M, et al. (2019). Calibration: the Achilles heel of
    predictive analytics. BMC Med 17:230.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> X = pd.DataFrame({"cohesion": rng.normal(size=300)})
    >>> y = (rng.random(300) < 1 / (1 + np.exp(X["cohesion"]))).astype(int)
    >>> res = validate_logistic(X, y, n_boot=20, seed=1)
    >>> list(res.table.index)
    ['auc', 'brier', 'calibration_slope', 'calibration_intercept']
    """
    if n_boot < 1:
        raise ValueError(f"n_boot: must be at least 1; got {n_boot}")
    values = X.to_numpy(dtype=float)
    y = np.asarray(y, dtype=float)
    sds = values.std(axis=0, ddof=1)
    scale = np.where(sds > 0, sds, 1.0)
    Z = np.c_[np.ones(len(y)), (values - values.mean(axis=0)) / scale]

    payload = {"y": y, "Z": Z, "penalty": penalty}
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        coef, _, _ = logistic_irls(Z, y, penalty=penalty)
        lp = (Z * coef).sum(axis=1)
        apparent, risk = _logistic_metrics(y, lp)
    payload["init"] = coef
    rng = np.random.default_rng(seed)
    resamples = [rng.integers(0, len(y), len(y)) for _ in range(n_boot)]
    parts = _run_resamples(_logistic_worker, payload, resamples, n_jobs, progress)
    optimism, boot_apparent, failed = _collect(parts)
    table = _table(LOGISTIC_METRICS, apparent, optimism, boot_apparent)
    _warn_failures(failed, n_boot)
    return Validation(
        table=table,
        calibration=calibration_table(y, risk, n_groups=n_groups),
        roc=_roc(y, lp),
        n_boot=n_boot,
        n_failed=failed,
        seed=seed,
        horizon=None,
        model="logistic",
    )
