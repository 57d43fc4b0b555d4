"""Study planning by Monte Carlo on the simulator: how precise will a study of N respondents be?

:func:`plan_study` draws ``reps`` synthetic cohorts of ``n`` respondents from the instrument
specification (:func:`analysis.simulate.cohort.simulate_cohort`), runs the analyses a validation and
an attrition study would run, and reports what to expect: the width of the alpha and omega intervals
of
every scale, the probability that the hypothesised CFA model meets the usual fit criteria (upper
limit of the RMSEA interval below .08, CFI at least .95), and the width of an interval for the
attrition model's C-index. :func:`find_sample_size` searches the smallest N on a grid that meets
stated targets (bisection, assuming the metrics improve with N).

Everything here runs on synthetic data; every result says so.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis._compat import single_threaded_blas
from analysis._results import Result
from analysis.factor.efa import extract_factors
from analysis.reliability import feldt_interval
from analysis.reliability.bootstrap import bootstrap_correlations, omega_total_replicates
from analysis.simulate.cohort import population_covariance, simulate_cohort, theme_scales
from instrument.spec import Instrument

__all__ = [
    "DEFAULT_GRID",
    "SYNTHETIC_NOTE",
    "TARGET_METRICS",
    "SampleSizeSearch",
    "StudyPlan",
    "find_sample_size",
    "parse_targets",
    "plan_study",
    "population_covariance",
]

#: Sample sizes :func:`find_sample_size` searches by default.
DEFAULT_GRID = (
    50,
    75,
    100,
    150,
    200,
    250,
    300,
    400,
    500,
    600,
    800,
    1000,
    1250,
    1500,
    2000,
    2500,
    3000,
    4000,
    5000,
)

SYNTHETIC_NOTE = "Monte Carlo on synthetic cohorts (analysis.simulate.cohort); no real respondents."

#: Target metrics: name -> (direction, description). ``max``: the target is an upper bound
#: (interval widths), ``min``: a lower bound (probabilities).
TARGET_METRICS = {
    "alpha_width": (
        "max",
        "expected width of the Feldt interval of alpha (widest scale, or @scale)",
    ),
    "omega_width": (
        "max",
        "expected width of the bootstrap interval of omega total (widest scale, or @scale)",
    ),
    "c_index_width": ("max", "expected width of an interval for the attrition model's C-index"),
    "p_rmsea_ok": (
        "min",
        "probability that the upper limit of the RMSEA interval is below the cutoff",
    ),
    "p_cfi_ok": ("min", "probability that the CFI reaches the cutoff"),
    "icc_width": (
        "max",
        "expected width of the test-retest ICC(3,1) interval (widest scale, or @scale)",
    ),
    "events_min": (
        "min",
        "expected number of events of the rarest outcome type (competing-risks model)",
    ),
}


@dataclass(frozen=True, repr=False)
class StudyPlan(Result):
    """What a study of ``n`` respondents can expect, from ``reps`` simulated cohorts.

    Attributes
    ----------
    n : int
        Respondents per simulated cohort.
    reps : int
        Simulated cohorts.
    seed : int
        Seed of the cohort seeds.
    ci_level : float
        Level of every interval whose width is reported.
    reliability : DataFrame
        One row per scale: ``scale, n_items, alpha_mean, alpha_width, alpha_sd,
        alpha_population, omega_mean, omega_width, omega_wald_width, omega_sd, omega_population,
        n_fitted``. ``alpha_width`` is the mean width of the Feldt interval; ``omega_width`` the
        mean width of omega's percentile bootstrap interval (:func:`analysis.reliability.omega`
        with ``n_boot``); ``omega_wald_width`` is ``2 z omega_sd`` with ``omega_sd`` the SD of
        omega's error (estimate minus the cohort's population value) over the cohorts;
        ``*_population`` are the mean population values (:func:`population_covariance`).
    cfa : DataFrame
        One row: ``model, p_rmsea_ok, p_cfi_ok, rmsea_mean, rmsea_upper_mean, cfi_mean,
        complete_rows_mean, n_fitted, rmsea_cutoff, cfi_cutoff``. A cohort whose model could not
        be fitted counts as not meeting the criteria.
    attrition : DataFrame
        One row: ``c_index_mean, c_index_sd, c_index_width, events_mean, n_fitted``.
    replicates : DataFrame
        Per cohort (``rep``, ``seed``): every statistic, for plots and checks.
    settings : dict
        Simulation settings and options.
    synthetic : bool
        Always True.
    """

    n: int
    reps: int
    seed: int
    ci_level: float
    reliability: pd.DataFrame
    cfa: pd.DataFrame
    attrition: pd.DataFrame
    replicates: pd.DataFrame = field(repr=False)
    settings: dict = field(default_factory=dict)
    synthetic: bool = True
    retest: pd.DataFrame | None = None
    competing: pd.DataFrame | None = None

    def metrics(self) -> dict[str, float]:
        """The target metrics (see :data:`TARGET_METRICS`) plus ``alpha_width@scale`` per scale."""
        out = {
            "alpha_width": float(self.reliability["alpha_width"].max()),
            "omega_width": float(self.reliability["omega_width"].max()),
            "c_index_width": float(self.attrition["c_index_width"].iloc[0]),
            "p_rmsea_ok": float(self.cfa["p_rmsea_ok"].iloc[0]) if len(self.cfa) else float("nan"),
            "p_cfi_ok": float(self.cfa["p_cfi_ok"].iloc[0]) if len(self.cfa) else float("nan"),
        }
        for row in self.reliability.itertuples():
            out[f"alpha_width@{row.scale}"] = float(row.alpha_width)
            out[f"omega_width@{row.scale}"] = float(row.omega_width)
        if self.retest is not None and len(self.retest):
            out["icc_width"] = float(self.retest["icc_width"].max())
            for row in self.retest.itertuples():
                out[f"icc_width@{row.scale}"] = float(row.icc_width)
        if self.competing is not None and len(self.competing):
            out["events_min"] = float(self.competing["events_mean"].min())
        return out

    def summary(self) -> pd.DataFrame:
        """Tidy table: ``n, reps, section, target, quantity, estimate`` (one row per number)."""
        rows = []
        for row in self.reliability.to_dict("records"):
            for q in ("alpha_mean", "alpha_width", "omega_mean", "omega_width"):
                rows.append(("reliability", row["scale"], q, row[q]))
        for row in self.cfa.to_dict("records"):
            for q in (
                "p_rmsea_ok",
                "p_cfi_ok",
                "rmsea_upper_mean",
                "cfi_mean",
                "complete_rows_mean",
            ):
                rows.append(("cfa", row["model"], q, row[q]))
        for row in self.attrition.to_dict("records"):
            for q in ("c_index_mean", "c_index_width", "events_mean"):
                rows.append(("attrition", "cox", q, row[q]))
        for row in (self.retest if self.retest is not None else pd.DataFrame()).to_dict("records"):
            for q in ("icc_mean", "icc_width", "pairs_mean"):
                rows.append(("retest", row["scale"], q, row[q]))
        competing = self.competing if self.competing is not None else pd.DataFrame()
        for row in competing.to_dict("records"):
            for q in ("events_mean", "events_p05", "events_per_predictor"):
                rows.append(("competing", row["outcome"], q, row[q]))
        frame = pd.DataFrame(rows, columns=["section", "target", "quantity", "estimate"])
        frame.insert(0, "reps", self.reps)
        frame.insert(0, "n", self.n)
        return frame

    def plot(self, ax=None):
        """Expected interval widths of alpha and omega per scale (bars); returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 0.35 * len(self.reliability) + 1.8))
        rel = self.reliability
        pos = np.arange(len(rel))
        ax.barh(pos - 0.2, rel["alpha_width"], height=0.4, label="alpha (Feldt)")
        ax.barh(
            pos + 0.2,
            rel["omega_width"],
            height=0.4,
            label="omega (bootstrap)"
            if self.settings.get("omega_n_boot")
            else "omega (Monte Carlo)",
        )
        ax.set_yticks(pos, rel["scale"])
        ax.invert_yaxis()
        ax.set_xlabel(f"expected width of the {self.ci_level:.0%} interval")
        ax.set_title(f"N = {self.n}: {self.reps} synthetic cohorts (simulated data)")
        ax.legend(loc="lower right")
        return ax


@dataclass(frozen=True, repr=False)
class SampleSizeSearch(Result):
    """The smallest N on the grid meeting every target (:func:`find_sample_size`).

    Attributes
    ----------
    targets : dict
        Metric name (see :data:`TARGET_METRICS`, optionally ``name@scale``) -> required value.
    n_required : int or None
        Smallest grid N meeting all targets; None when even the largest N does not.
    evaluations : DataFrame
        One row per N evaluated and target: ``n, metric, value, target, met``.
    plans : dict
        The :class:`StudyPlan` of every N evaluated.
    grid : tuple of int
    synthetic : bool
        Always True.
    """

    targets: dict
    n_required: int | None
    evaluations: pd.DataFrame
    plans: dict = field(repr=False, default_factory=dict)
    grid: tuple = DEFAULT_GRID
    synthetic: bool = True

    def summary(self) -> pd.DataFrame:
        """The evaluations table (``n, metric, value, target, met``)."""
        return self.evaluations.copy()

    def plot(self, ax=None):
        """Each target metric against N, with its target; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(7, 4))
        for metric, part in self.evaluations.groupby("metric", sort=False):
            part = part.sort_values("n")
            line = ax.plot(part["n"], part["value"], "o-", label=metric)[0]
            ax.axhline(part["target"].iloc[0], color=line.get_color(), linestyle=":", linewidth=1)
        if self.n_required is not None:
            ax.axvline(self.n_required, color="grey", linestyle="--", linewidth=1)
        ax.set_xscale("log")
        ax.set_xlabel("N (respondents)")
        ax.set_ylabel("value (dotted: target)")
        found = f"N = {self.n_required}" if self.n_required else "not reached on the grid"
        ax.set_title(f"Sample size search: {found} (synthetic cohorts)")
        ax.legend()
        return ax


# --------------------------------------------------------------------------------------------
# Fast statistics for many replicates
# --------------------------------------------------------------------------------------------
def _keyed_answers(responses: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """Item answers reversed where keyed −1 (``min + max − x``); anything not an answer is NaN."""
    out = {}
    for item_id in instrument.item_ids:
        scale = instrument.response_scale_of(item_id)
        values = pd.to_numeric(responses[item_id], errors="coerce").to_numpy(dtype=float)
        values = np.where(np.isin(values, np.asarray(scale.codes, dtype=float)), values, np.nan)
        if instrument.item(item_id).keyed < 0:
            values = scale.minimum + scale.maximum - values
        out[item_id] = values
    return pd.DataFrame(out, index=responses.index)


def pairwise_moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairwise-complete covariances and correlations of the columns of ``values`` (NaN = missing).

    Each entry uses the rows where both columns are observed, with that pair's own means (and, for
    the correlation, its own standard deviations): R's ``cov(x, use = "pairwise")`` and
    ``cor(x, use = "pairwise")``, pandas' ``DataFrame.cov()`` and ``.corr()``, by matrix products.

    Examples
    --------
    >>> x = np.array([[1., 2.], [2., np.nan], [3., 5.], [4., 4.]])
    >>> cov, cor = pairwise_moments(x)
    >>> bool(np.allclose(cov, pd.DataFrame(x).cov())), bool(np.allclose(cor, pd.DataFrame(x).corr()))
    (True, True)
    """
    mask = ~np.isnan(values)
    m = mask.astype(float)
    x = np.where(mask, values, 0.0)
    n = m.T @ m
    sx = x.T @ m  # [i, j]: sum of x_i over the rows answering both i and j
    sxx = (x * x).T @ m
    sxy = x.T @ x
    with np.errstate(invalid="ignore", divide="ignore"):
        cross = sxy - sx * sx.T / n
        var_i = sxx - sx**2 / n
        cov = cross / (n - 1)
        cor = cross / np.sqrt(var_i * var_i.T)
    return cov, cor


def _alpha(cov: np.ndarray) -> float:
    k = len(cov)
    return float(k / (k - 1) * (1 - np.trace(cov) / cov.sum()))


def _omega_one_factor(cor: np.ndarray) -> float:
    return _omega_and_loadings(cor)[0]


def _omega_and_loadings(cor: np.ndarray) -> tuple[float, np.ndarray]:
    load, _, _ = extract_factors(cor, 1, method="minres")
    return float((cor.sum() - np.sum(1 - load[:, 0] ** 2)) / cor.sum()), load[:, 0]


def _omega_interval_width(
    values: np.ndarray, loadings: np.ndarray, *, n_boot: int, seed: int, ci_level: float
) -> float:
    """Width of the percentile bootstrap interval of one-factor omega total: what
    ``analysis.reliability.omega(x, n_factors=1, n_boot=n_boot, seed=seed)`` reports for these
    (already keyed) answers, from the same batched resamples and fits."""
    R = bootstrap_correlations(values, n_boot, np.random.default_rng(seed), None)
    reps = omega_total_replicates(R, n_factors=1, start=loadings, signs=np.ones(values.shape[1]))
    reps = reps[np.isfinite(reps)]
    if reps.size < 2:
        return float("nan")
    low, high = np.quantile(reps, [(1 - ci_level) / 2, (1 + ci_level) / 2])
    return float(high - low)


def _default_cfa_model(instrument: Instrument) -> str | None:
    from analysis.study.models import hypothesised_models

    models = hypothesised_models(instrument)
    for name in ("second_order", "facets", "themes", "one_factor"):
        if name in models:
            return name
    return None


def _retest_and_outcomes(instrument, *, n, seed, scales, settings, ci_level) -> dict:
    """Test-retest ICC(3,1) intervals between baseline and the middle wave, and events per
    outcome type, from a simulated longitudinal study (:func:`simulate_study`)."""
    from analysis.longitudinal.retest import icc_intervals
    from analysis.simulate.waves import OUTCOME_TYPES, simulate_study

    months = float(settings.get("followup_months", 12.0))
    study = simulate_study(
        instrument,
        n=n,
        seed=int(seed),
        wave_months=(0.0, months / 2, months),
        missing_rate=float(settings.get("missing_rate", 0.03)),
    )
    scores = study.wave_scores(instrument, scales)
    first = scores[scores["wave"] == "0"].set_index("respondent_id")
    second = scores[scores["wave"] == f"{months / 2:g}"].set_index("respondent_id")
    row: dict = {}
    for scale in scales:
        pair = pd.concat([first[scale], second[scale]], axis=1, join="inner").dropna()
        m = len(pair)
        row[f"pairs:{scale}"] = m
        if m < 3:
            row[f"icc:{scale}"] = row[f"icc_width:{scale}"] = np.nan
            continue
        # two-way ANOVA of respondents x 2 waves (the mean squares of psych::ICC)
        x = pair.to_numpy(dtype=float)
        grand = x.mean()
        ms_subjects = 2 * np.sum((x.mean(axis=1) - grand) ** 2) / (m - 1)
        ms_waves = m * np.sum((x.mean(axis=0) - grand) ** 2) / 1
        resid = x - x.mean(axis=1, keepdims=True) - x.mean(axis=0, keepdims=True) + grand
        ms_error = np.sum(resid**2) / (m - 1)
        low, high = icc_intervals(ms_subjects, ms_waves, ms_error, n=m, k=2, ci_level=ci_level)[
            "ICC3"
        ]
        row[f"icc:{scale}"] = (ms_subjects - ms_error) / (ms_subjects + ms_error)
        row[f"icc_width:{scale}"] = high - low
    counts = study.outcomes["outcome"].value_counts()
    for outcome in OUTCOME_TYPES:
        if outcome != "still_attending":
            row[f"events:{outcome}"] = int(counts.get(outcome, 0))
    return row


def _one_replicate(
    instrument,
    *,
    n,
    seed,
    scales,
    cfa_model,
    settings,
    ci_level,
    omega_n_boot,
    cfa_missing="ml",
    longitudinal=False,
) -> dict:
    from analysis.attrition import CoxModel
    from analysis.sem.cfa import CFA
    from analysis.study.models import answers_only, hypothesised_models
    from instrument.score import score_items

    cohort = simulate_cohort(instrument, n=n, seed=int(seed), **settings)
    keyed = _keyed_answers(cohort.responses, instrument)
    cov, cor = pairwise_moments(keyed.to_numpy())
    truth = population_covariance(cohort, instrument, list(keyed.columns)).to_numpy()
    position = {item: k for k, item in enumerate(keyed.columns)}
    row: dict = {"seed": int(seed)}
    values = keyed.to_numpy()
    for j, scale in enumerate(scales):
        idx = [position[i] for i in instrument.scale_items(scale)]
        sub_cov, sub_cor = cov[np.ix_(idx, idx)], cor[np.ix_(idx, idx)]
        true_cov = truth[np.ix_(idx, idx)]
        true_sd = np.sqrt(np.diag(true_cov))
        row[f"alpha_population:{scale}"] = _alpha(true_cov)
        row[f"omega_population:{scale}"] = _omega_one_factor(true_cov / np.outer(true_sd, true_sd))
        if not (np.isfinite(sub_cov).all() and np.all(np.diag(sub_cov) > 0)):
            row[f"alpha:{scale}"] = row[f"alpha_width:{scale}"] = row[f"omega:{scale}"] = np.nan
            row[f"omega_width:{scale}"] = np.nan
            continue
        alpha = _alpha(sub_cov)
        low, high = feldt_interval(alpha, n, len(idx), ci_level=ci_level)
        row[f"alpha:{scale}"] = alpha
        row[f"alpha_width:{scale}"] = high - low
        row[f"omega:{scale}"], loadings = _omega_and_loadings(sub_cor)
        row[f"omega_width:{scale}"] = (
            _omega_interval_width(
                values[:, idx], loadings, n_boot=omega_n_boot, seed=int(seed) + j, ci_level=ci_level
            )
            if omega_n_boot
            else np.nan
        )
    # CFA of the hypothesised model (FIML by default, as mhdq validate)
    if cfa_model is not None:
        model = hypothesised_models(instrument)[cfa_model]
        answers = answers_only(cohort.responses, instrument)
        row["complete_rows"] = int(answers[list(model.observed)].notna().all(axis=1).sum())
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = CFA(model, missing=cfa_missing).fit(answers)
            measures = fit.fit_measures_
            row.update(
                cfa_n_obs=int(fit.n_obs_),
                rmsea=float(measures["rmsea"]),
                rmsea_upper=float(measures["rmsea_ci_upper"]),
                cfi=float(measures["cfi"]),
                cfa_converged=bool(fit.converged_),
            )
        except (ValueError, np.linalg.LinAlgError, ArithmeticError):
            row.update(
                cfa_n_obs=0, rmsea=np.nan, rmsea_upper=np.nan, cfi=np.nan, cfa_converged=False
            )
    # Attrition: Cox model of the observed theme scores, Harrell's C
    themes = theme_scales(instrument)
    scores = score_items(cohort.responses, instrument, scales=themes)[themes]
    data = pd.concat([scores, cohort.followup[["months", "disengaged"]]], axis=1).dropna()
    row["events"] = int(data["disengaged"].sum())
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cox = CoxModel().fit(data[themes], data["months"], data["disengaged"])
        row["c_index"] = float(cox.concordance_.estimate)
    except (ValueError, np.linalg.LinAlgError, ArithmeticError):
        row["c_index"] = np.nan
    if longitudinal:
        row.update(
            _retest_and_outcomes(
                instrument, n=n, seed=seed, scales=scales, settings=settings, ci_level=ci_level
            )
        )
    return row


def plan_study(
    instrument: Instrument,
    *,
    n: int,
    reps: int = 50,
    seed: int = 2026,
    event_rate: float = 0.4,
    followup_months: float = 12.0,
    missing_rate: float = 0.03,
    careless_share: float = 0.03,
    ci_level: float = 0.95,
    cfa_model: str | None = "default",
    rmsea_cutoff: float = 0.08,
    cfi_cutoff: float = 0.95,
    scales: Sequence[str] | None = None,
    simulation: Mapping | None = None,
    omega_n_boot: int = 200,
    cfa_missing: str = "ml",
    longitudinal: bool = True,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> StudyPlan:
    """Expected precision of a validation and attrition study of ``n`` respondents.

    Parameters
    ----------
    instrument : Instrument
        The specification; its hierarchy shapes the simulated cohorts.
    n : int
        Respondents (at least 10).
    reps : int, default 50
        Simulated cohorts. The Monte Carlo error of a probability is at most ``0.5/sqrt(reps)``
        (.07 at 50); of a width, about ``width/sqrt(2 reps)`` for the omega and C-index widths.
    seed : int, default 2026
        Seed of the cohort seeds; the same seed gives the same cohort seeds at every n. (The
        simulator draws the item parameters after the n latent scores, so cohorts of different
        n still differ in their parameters, around the same design.)
    event_rate, followup_months, missing_rate, careless_share : float
        Simulation settings (:func:`analysis.simulate.cohort.simulate_cohort`).
    ci_level : float, default 0.95
        Level of the alpha, omega and C-index intervals.
    cfa_model : str or None, default "default"
        Hypothesised model (:func:`analysis.study.models.hypothesised_models`) to fit: ``default``
        is the generating model, ``second_order`` for a hierarchy and ``facets`` for a flat
        instrument;
        None skips the CFA.
    rmsea_cutoff, cfi_cutoff : float, default .08 and .95
        Fit criteria (Browne & Cudeck 1993; Hu & Bentler 1999).
    scales : sequence of str, optional
        Scales whose reliability is reported (default: every scale).
    simulation : mapping, optional
        Further :func:`simulate_cohort` settings (``gamma``, ``loading``, ``log_hazard_ratios``
        ...).
    omega_n_boot : int, default 200
        Bootstrap resamples behind each cohort's omega interval (0: no bootstrap; ``omega_width``
        is then the Monte Carlo width ``omega_wald_width``). Averaged over the cohorts, 200
        resamples per cohort give the mean width to well within its Monte Carlo error.
    cfa_missing : {"ml", "listwise"}, default "ml"
        How the CFA treats missing, not-applicable and skipped answers: full-information ML
        (lavaan ``missing = "ml"``, the default of ``mhdq validate``) or listwise deletion.
    longitudinal : bool, default True
        Also simulate the study's waves (:func:`analysis.simulate.waves.simulate_study`, waves at
        0, ``followup_months``/2 and ``followup_months``) for the expected width of the
        test-retest ICC(3,1) interval between the first two waves (``retest``) and the number of
        events per outcome type for the competing-risks model (``competing``).
    progress : callable, optional
        Called as ``progress(done, reps, label)`` before each simulated cohort and once at the
        end (the command line's progress display).

    Returns
    -------
    StudyPlan

    Notes
    -----
    Per cohort, with the keyed answers (not-applicable and missing as NaN):

    - alpha of each scale from the pairwise covariance matrix, as ``psych::alpha`` (default
      ``use = "pairwise"``), and its Feldt interval (:func:`analysis.reliability.feldt_interval`)
      with n the number of rows; ``alpha_width`` is the mean width over the cohorts;
    - omega total of a one-factor minres model of the pairwise correlations, as
      :func:`analysis.reliability.omega` with ``n_factors=1`` (``psych::omega(x, nfactors = 1)``),
      and its percentile bootstrap interval, as ``omega(x, n_factors=1, n_boot=omega_n_boot,
      seed=cohort seed + scale position)`` reports it; ``omega_width`` is the mean width over
      the cohorts. ``omega_wald_width`` is the width ``2 z_{(1+level)/2} SD`` of a Wald interval
      with the true standard error: the SD over the cohorts of omega minus the cohort's
      population omega (:func:`population_covariance`), a check on the bootstrap width (the
      simulator draws each cohort's item parameters anew, so the spread of the estimates
      themselves would add the spread of the true values to the sampling error);
    - the CFA (:class:`analysis.sem.cfa.CFA`, ML with ``cfa_missing``: full-information ML by
      default, lavaan's fit measures) of the chosen model; ``p_rmsea_ok`` is the share of
      cohorts whose 90% RMSEA upper limit is below
      ``rmsea_cutoff``, ``p_cfi_ok`` the share whose CFI is at least ``cfi_cutoff``, counting a
      cohort whose model could not be fitted as failing both;
    - a Cox model (:class:`analysis.attrition.CoxModel`) of time to disengagement on the observed
      theme scores (mean scores, :func:`instrument.score.score_items`; complete cases) and its
      apparent Harrell's C; ``c_index_width`` is ``2 z SD`` of C over the cohorts (this SD also
      holds the small variation of the true C with the item parameters, so the width errs on the
      wide side).

    - with ``longitudinal``: ICC(3,1) between the first two waves of each scale's mean score among
      members answering both, with its F interval (:func:`analysis.longitudinal.icc_intervals`,
      as ``psych::ICC``); ``icc_width`` is the mean width; and the number of members leaving for
      each reason (graduated, switched, dropped out, relapsed) by the last wave, with
      ``events_per_predictor`` the mean count over the number of theme scales (the rule of thumb
      asks for 10 or more per predictor in each cause-specific or Fine-Gray model).

    The cohorts include the simulator's missing answers (MCAR at ``missing_rate``), skipped or
    not-applicable sponsor, relapse and step items and careless respondents, so listwise deletion
    keeps only part of each cohort (``complete_rows_mean``); full-information ML uses every
    respondent (``n_obs_mean``).

    References
    ----------
    Muthén, L. K., & Muthén, B. O. (2002). How to use a Monte Carlo study to decide on sample size
    and determine power. *Structural Equation Modeling*, 9, 599–620.
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. *Applied Psychological Measurement*, 11, 93–103.

    Examples
    --------
    >>> from instrument import load_instrument
    >>> plan = plan_study(load_instrument("examples/bfi.yaml"), n=200, reps=3, seed=1)
    >>> plan.reliability["scale"].tolist()
    ['agree', 'conscientious', 'extraversion', 'neuroticism', 'openness']
    >>> bool((plan.reliability["alpha_width"] > 0).all()), plan.synthetic
    (True, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 10:
        raise ValueError(f"n: need a whole number of at least 10 respondents, got {n!r}")
    if isinstance(reps, bool) or not isinstance(reps, (int, np.integer)) or reps < 2:
        raise ValueError(f"reps: need a whole number of at least 2 simulated cohorts, got {reps!r}")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level: must be between 0 and 1, got {ci_level!r}")
    if (
        isinstance(omega_n_boot, bool)
        or not isinstance(omega_n_boot, (int, np.integer))
        or omega_n_boot == 1
        or omega_n_boot < 0
    ):
        raise ValueError(
            f"omega_n_boot: need 0 (no bootstrap) or at least 2 resamples, got {omega_n_boot!r}"
        )
    wanted = [s.id for s in instrument.scales] if scales is None else list(scales)
    for sid in wanted:
        instrument.scale(sid)  # KeyError naming the known scales
    if cfa_model == "default":
        cfa_model = _default_cfa_model(instrument)
    elif cfa_model is not None:
        from analysis.study.models import hypothesised_models

        available = hypothesised_models(instrument)
        if cfa_model not in available:
            raise ValueError(
                f"cfa_model: {cfa_model!r} does not apply; allowed: {', '.join(available)}"
            )
    if cfa_missing not in ("ml", "listwise"):
        raise ValueError(f"cfa_missing: allowed ml, listwise; got {cfa_missing!r}")
    settings = {
        "event_rate": event_rate,
        "followup_months": followup_months,
        "missing_rate": missing_rate,
        "careless_share": careless_share,
        **dict(simulation or {}),
    }
    seeds = np.random.default_rng(seed).integers(0, 2**31 - 1, size=int(reps))
    rows: list[dict] = []
    with single_threaded_blas():
        for s in seeds:
            if progress is not None:
                progress(len(rows), len(seeds), f"N = {int(n)}: simulated cohorts")
            rows.append(
                _one_replicate(
                    instrument,
                    n=int(n),
                    seed=s,
                    scales=wanted,
                    cfa_model=cfa_model,
                    settings=settings,
                    ci_level=ci_level,
                    omega_n_boot=int(omega_n_boot),
                    cfa_missing=cfa_missing,
                    longitudinal=bool(longitudinal),
                )
            )
    if progress is not None:
        progress(len(rows), len(seeds), f"N = {int(n)}: simulated cohorts")
    reps_frame = pd.DataFrame(rows)
    reps_frame.insert(0, "rep", np.arange(1, len(rows) + 1))
    z = float(stats.norm.ppf(0.5 + ci_level / 2))
    rel_rows = []
    for sid in wanted:
        a = reps_frame[f"alpha:{sid}"]
        o = reps_frame[f"omega:{sid}"]
        # sampling error of omega: its deviation from the cohort's own population value (the item
        # parameters differ between cohorts, and that spread is not estimation error)
        error = o - reps_frame[f"omega_population:{sid}"]
        wald_width = 2 * z * error.std()
        rel_rows.append(
            {
                "scale": sid,
                "n_items": len(instrument.scale_items(sid)),
                "alpha_mean": a.mean(),
                "alpha_width": reps_frame[f"alpha_width:{sid}"].mean(),
                "alpha_sd": a.std(),
                "alpha_population": reps_frame[f"alpha_population:{sid}"].mean(),
                "omega_mean": o.mean(),
                "omega_width": reps_frame[f"omega_width:{sid}"].mean()
                if omega_n_boot
                else wald_width,
                "omega_wald_width": wald_width,
                "omega_sd": error.std(),
                "omega_population": reps_frame[f"omega_population:{sid}"].mean(),
                "n_fitted": int(a.notna().sum()),
            }
        )
    reliability = pd.DataFrame(rel_rows)
    if cfa_model is not None:
        upper = reps_frame["rmsea_upper"]
        cfi = reps_frame["cfi"]
        cfa = pd.DataFrame(
            [
                {
                    "model": cfa_model,
                    "p_rmsea_ok": float(
                        (upper < rmsea_cutoff).mean()
                    ),  # NaN (not fitted) compares False
                    "p_cfi_ok": float((cfi >= cfi_cutoff).mean()),
                    "rmsea_mean": reps_frame["rmsea"].mean(),
                    "rmsea_upper_mean": upper.mean(),
                    "cfi_mean": cfi.mean(),
                    "complete_rows_mean": reps_frame["complete_rows"].mean(),
                    "n_obs_mean": reps_frame["cfa_n_obs"].mean(),
                    "n_fitted": int(cfi.notna().sum()),
                    "rmsea_cutoff": rmsea_cutoff,
                    "cfi_cutoff": cfi_cutoff,
                }
            ]
        )
    else:
        cfa = pd.DataFrame(
            columns=[
                "model",
                "p_rmsea_ok",
                "p_cfi_ok",
                "rmsea_mean",
                "rmsea_upper_mean",
                "cfi_mean",
                "complete_rows_mean",
                "n_obs_mean",
                "n_fitted",
                "rmsea_cutoff",
                "cfi_cutoff",
            ]
        )
    c = reps_frame["c_index"]
    attrition = pd.DataFrame(
        [
            {
                "c_index_mean": c.mean(),
                "c_index_sd": c.std(),
                "c_index_width": 2 * z * c.std(),
                "events_mean": reps_frame["events"].mean(),
                "n_fitted": int(c.notna().sum()),
            }
        ]
    )
    retest = competing = None
    if longitudinal:
        retest = pd.DataFrame(
            [
                {
                    "scale": sid,
                    "icc_mean": reps_frame[f"icc:{sid}"].mean(),
                    "icc_width": reps_frame[f"icc_width:{sid}"].mean(),
                    "pairs_mean": reps_frame[f"pairs:{sid}"].mean(),
                }
                for sid in wanted
            ]
        )
        n_predictors = max(1, len(theme_scales(instrument)))
        competing = pd.DataFrame(
            [
                {
                    "outcome": name,
                    "events_mean": reps_frame[column].mean(),
                    "events_p05": float(reps_frame[column].quantile(0.05)),
                    "events_per_predictor": reps_frame[column].mean() / n_predictors,
                }
                for column in reps_frame.columns
                if column.startswith("events:")
                for name in [column.split(":", 1)[1]]
            ]
        )
    return StudyPlan(
        n=int(n),
        reps=int(reps),
        seed=int(seed),
        ci_level=float(ci_level),
        reliability=reliability,
        cfa=cfa,
        attrition=attrition,
        replicates=reps_frame,
        settings={
            **settings,
            "cfa_model": cfa_model,
            "rmsea_cutoff": rmsea_cutoff,
            "cfi_cutoff": cfi_cutoff,
            "instrument": instrument.metadata.short_name,
            "instrument_version": instrument.version,
            "omega_n_boot": int(omega_n_boot),
            "cfa_missing": cfa_missing,
            "longitudinal": bool(longitudinal),
            "synthetic": True,
        },
        retest=retest,
        competing=competing,
    )


_TARGET = re.compile(r"^\s*([a-z_]+)(?:@([A-Za-z0-9_.\-]+))?\s*=\s*([0-9]*\.?[0-9]+)\s*$")


def parse_targets(texts: Sequence[str] | str) -> dict[str, float]:
    """Targets written as ``metric=value`` or ``metric@scale=value`` (see :data:`TARGET_METRICS`).

    Examples
    --------
    >>> parse_targets(["alpha_width=0.1", "p_cfi_ok=0.8"])
    {'alpha_width': 0.1, 'p_cfi_ok': 0.8}
    """
    if isinstance(texts, str):
        texts = [texts]
    out: dict[str, float] = {}
    for text in texts:
        for part in str(text).split(","):
            if not part.strip():
                continue
            match = _TARGET.match(part)
            if not match:
                raise ValueError(
                    f"target {part.strip()!r}: write metric=value, e.g. alpha_width=0.1; "
                    f"metrics: {', '.join(TARGET_METRICS)}"
                )
            metric, scale, value = match.groups()
            if metric not in TARGET_METRICS:
                raise ValueError(
                    f"target {part.strip()!r}: unknown metric {metric!r}; allowed: "
                    f"{', '.join(TARGET_METRICS)}"
                )
            if scale is not None and metric not in ("alpha_width", "omega_width", "icc_width"):
                raise ValueError(
                    f"target {part.strip()!r}: only alpha_width, omega_width and icc_width "
                    "take @scale"
                )
            if metric.startswith("p_") and not 0 <= float(value) <= 1:
                raise ValueError(f"target {part.strip()!r}: a probability must be between 0 and 1")
            out[metric if scale is None else f"{metric}@{scale}"] = float(value)
    if not out:
        raise ValueError("target: give at least one metric=value")
    return out


def _meets(metrics: Mapping[str, float], targets: Mapping[str, float]) -> dict[str, bool]:
    result = {}
    for name, value in targets.items():
        direction = TARGET_METRICS[name.split("@")[0]][0]
        got = metrics.get(name, float("nan"))
        result[name] = bool(got <= value) if direction == "max" else bool(got >= value)
    return result


def find_sample_size(
    instrument: Instrument,
    targets: Mapping[str, float] | Sequence[str] | str,
    *,
    grid: Sequence[int] = DEFAULT_GRID,
    **plan_options,
) -> SampleSizeSearch:
    """Smallest N on ``grid`` whose :func:`plan_study` meets every target.

    Parameters
    ----------
    instrument : Instrument
    targets : mapping or str or list of str
        ``{"alpha_width": 0.1}`` or ``"alpha_width=0.1"`` (see :func:`parse_targets`).
    grid : sequence of int, default :data:`DEFAULT_GRID`
        Candidate sample sizes (sorted, at least 10).
    **plan_options
        Passed to :func:`plan_study` (``reps``, ``seed``, simulation settings ...).

    Returns
    -------
    SampleSizeSearch

    Notes
    -----
    Bisection over the grid positions: the largest N is evaluated first (if it fails, the search
    stops with ``n_required = None``), then the smallest, then the midpoint of the interval still
    in doubt, until neighbours bracket the answer — about ``log2(len(grid))`` evaluations. It
    assumes the targets are met from some N on: widths shrink and probabilities grow with N. Monte
    Carlo noise can break that order near the answer; raise ``reps`` when neighbouring grid points
    are close to the target.

    Examples
    --------
    >>> from instrument import load_instrument
    >>> found = find_sample_size(load_instrument("examples/bfi.yaml"), "alpha_width=0.2",
    ...                          grid=(50, 100, 200), reps=3, seed=1, cfa_model=None)
    >>> found.n_required in (50, 100, 200)
    True
    """
    if not isinstance(targets, Mapping):
        targets = parse_targets(targets)
    targets = dict(targets)
    for name in targets:
        parse_targets(f"{name}={targets[name]}")  # validates names and values
    points = sorted({int(g) for g in grid})
    if not points or points[0] < 10:
        raise ValueError(f"grid: need sample sizes of at least 10, got {list(grid)!r}")
    plans: dict[int, StudyPlan] = {}
    rows: list[dict] = []

    def ok(n: int) -> bool:
        if n not in plans:
            plans[n] = plan_study(instrument, n=n, **plan_options)
            metrics = plans[n].metrics()
            met = _meets(metrics, targets)
            rows.extend(
                {
                    "n": n,
                    "metric": k,
                    "value": metrics.get(k, float("nan")),
                    "target": v,
                    "met": met[k],
                }
                for k, v in targets.items()
            )
        return all(_meets(plans[n].metrics(), targets).values())

    lo, hi = 0, len(points) - 1
    if not ok(points[hi]):
        found = None
    elif ok(points[lo]):
        found = points[lo]
    else:
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if ok(points[mid]):
                hi = mid
            else:
                lo = mid
        found = points[hi]
    evaluations = pd.DataFrame(rows, columns=["n", "metric", "value", "target", "met"]).sort_values(
        ["n", "metric"], kind="stable", ignore_index=True
    )
    return SampleSizeSearch(
        targets=targets,
        n_required=found,
        evaluations=evaluations,
        plans=dict(sorted(plans.items())),
        grid=tuple(points),
    )
