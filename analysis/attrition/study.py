"""The whole attrition analysis in one call: models, PH check, KM by group, validation, sample size."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis._results import Result
from analysis.attrition.competing import (
    CumulativeIncidence,
    FineGrayModel,
    cumulative_incidence,
)
from analysis.attrition.cox import CoxModel, ProportionalHazardsTest
from analysis.attrition.design import Design
from analysis.attrition.followup import FollowupData, complete_cases
from analysis.attrition.frailty import DISTRIBUTIONS, FrailtyCoxModel
from analysis.attrition.imputation import (
    PooledEstimates,
    PooledValidation,
    validate_within_imputations,
)
from analysis.attrition.kaplan_meier import (
    KaplanMeier,
    LogRankTest,
    kaplan_meier,
    logrank_test,
    predictor_groups,
)
from analysis.attrition.logistic import LogisticModel
from analysis.attrition.pooled import fit_pooled, impute_design
from analysis.attrition.sample_size import SampleSize, riley_sample_size
from analysis.attrition.validation import (
    Validation,
    events_per_parameter,
    validate_cox,
    validate_logistic,
)
from analysis.errors import DataQualityWarning
from instrument.problems import Problem

__all__ = ["AttritionAnalysis", "fit_attrition"]

MODELS = ("cox", "logistic")


@dataclass(frozen=True, repr=False)
class AttritionAnalysis(Result):
    """Everything :func:`fit_attrition` learned, ready for the report and for saving the model.

    Attributes
    ----------
    model_type : str
        ``cox`` or ``logistic``.
    model : CoxModel or LogisticModel
        The fitted prediction model (scales + covariates).
    design : Design
        How predictors were encoded (saved with the model).
    effects : DataFrame
        The model's :meth:`summary` (hazard or odds ratios per point and per SD).
    zph : ProportionalHazardsTest or None
        Cox only.
    km : dict
        Per scale and covariate: ``(KaplanMeier, LogRankTest)`` across its groups - tertiles of
        a continuous predictor, the values of a binary one, the levels of a categorical one;
        empty in a status design.
    validation : Validation
    sample_size : SampleSize
    events_per_parameter : float
    enough_data : bool
        Whether n reaches Riley et al.'s minimum.
    comparison : DataFrame
        Nested models compared: ``model, n_parameters, loglik, aic, c_apparent, lr_chisq, df, p``.
    flow : DataFrame
        Respondent flow: ``step, n``.
    problems : list of Problem
        Join and missing-data records.
    data : DataFrame
        The modelled rows (complete cases): ``respondent_id, time, event, competing`` and the
        design columns. Kept for plots and predictions; never written to the report.
    options : dict
        Every setting used.
    time_summary : dict
        Follow-up: ``median_followup, mean_followup, max_followup, person_time, event_rate,
        events_by_horizon, unit``.
    frailty : FrailtyCoxModel or None
        The shared-frailty Cox model by ``cluster`` (with ``frailty="gamma"``): how much the
        groups differ in their members' hazard, beside the prediction model.
    competing_incidence : CumulativeIncidence or None
        Cox analyses whose follow-up marks a competing outcome: the Aalen-Johansen cumulative
        incidence of ``disengaged`` and ``competing outcome`` over the modelled respondents.
    fine_gray : dict
        The same analyses: a Fine-Gray model of each outcome type on the model's predictors
        (``{"disengaged": FineGrayModel, "competing outcome": FineGrayModel}``), saved with the
        model so that ``mhdq attrition predict --cumulative-incidence`` can predict how many
        leave for each reason; empty otherwise.
    pooled : PooledEstimates or None
        With ``impute=m``: Rubin's rules over the m imputations (``model`` and ``effects`` then
        hold the pooled estimates).
    pooled_validation : PooledValidation or None
        With ``impute=m``: the bootstrap validation of each imputation and their average (which
        ``validation.table`` holds).
    """

    model_type: str
    model: CoxModel | LogisticModel
    design: Design
    effects: pd.DataFrame
    zph: ProportionalHazardsTest | None
    km: dict
    validation: Validation
    sample_size: SampleSize
    events_per_parameter: float
    enough_data: bool
    comparison: pd.DataFrame
    flow: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    data: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    options: dict = field(default_factory=dict)
    time_summary: dict = field(default_factory=dict)
    frailty: FrailtyCoxModel | None = None
    competing_incidence: CumulativeIncidence | None = None
    fine_gray: dict = field(default_factory=dict)
    pooled: PooledEstimates | None = None
    pooled_validation: PooledValidation | None = None

    def summary(self) -> pd.DataFrame:
        return self.effects


def _default_horizon(time: np.ndarray) -> float:
    return float(np.median(time))


def fit_attrition(  # noqa: C901 - one branch per model kind and option (frailty, competing, MI)
    followup: FollowupData,
    *,
    scales: list[str],
    covariates: Sequence[str] = (),
    categorical: Sequence[str] = (),
    model: str | None = None,
    horizon: float | None = None,
    ties: str = "efron",
    penalty: float = 0.0,
    n_boot: int = 200,
    seed: int = 20240101,
    ci_level: float = 0.95,
    anticipated_r2: float | None = None,
    time_unit: str = "months",
    cluster: str | None = None,
    frailty: str | None = None,
    impute: int | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
) -> AttritionAnalysis:
    """Fit, check and validate an attrition prediction model on joined baseline and follow-up data.

    Parameters
    ----------
    followup : FollowupData
        From :func:`~analysis.attrition.followup.join_followup`.
    scales : list of str
        Scale-score columns (the instrument's themes or facets); may be empty when
        ``covariates`` are given.
    covariates : list of str, optional
        Background covariates; ``categorical`` ones (or any non-numeric) are dummy coded.
    model : {"cox", "logistic"}, optional
        Default: ``cox`` for a time design, ``logistic`` for a status design.
    horizon : float, optional
        Cox: time at which absolute risk, the Brier score and calibration are assessed. A logistic
        model on time-to-event data models "disengaged by the horizon" and leaves out those
        censored before it (counted as ``censored_before_horizon`` in the flow). Default: the
        median follow-up time.
    ties, penalty, ci_level
        Passed to the model.
    n_boot, seed : int
        Bootstrap resamples (>= 200 recommended) and their seed.
    progress : callable, optional
        Called as ``progress(done, n_boot, "bootstrap resamples")`` during the bootstrap
        validation (the command line's progress display).
    anticipated_r2 : float, optional
        Anticipated Cox-Snell R² for Riley's sample size (default: 15% of its maximum).
    time_unit : str, default "months"
        Unit of the follow-up times (for labels only).
    cluster : str, optional
        Column of the baseline data naming each respondent's group (meeting, fellowship): the
        model's standard errors become cluster-robust (``coxph(..., cluster = group)``; the
        logistic model's as ``sandwich::vcovCL``). The bootstrap validation still resamples
        respondents.
    frailty : {"gamma"}, optional
        Also fit a Cox model with a shared frailty of this distribution per ``cluster`` group
        (:class:`~analysis.attrition.frailty.FrailtyCoxModel`, as ``coxph(... +
        frailty(cluster))``); needs ``cluster`` and a Cox model. The prediction model, its
        validation and the saved model stay the population Cox model.
    impute : int, optional
        Multiple imputation of missing predictor values (m >= 2 completed data sets, by chained
        equations with the outcome in the imputation model; :func:`~analysis.attrition.pooled.
        impute_design`, seeded by ``seed``) instead of leaving those respondents out. The model
        is fitted on each completed data set and pooled by Rubin's rules
        (:func:`~analysis.attrition.pooled.fit_pooled`, as ``mice::pool``); the bootstrap
        validation runs within each imputation and is averaged
        (:func:`~analysis.attrition.imputation.validate_within_imputations`). The diagnostics
        (PH test, Kaplan-Meier groups, nested comparison, calibration table, Fine-Gray and
        frailty models) are those of the first completed data set.

    Returns
    -------
    AttritionAnalysis

    Warns
    -----
    DataQualityWarning
        When n is below Riley et al.'s minimum sample size, or the proportional-hazards test
        rejects globally at the 5% level.

    Examples
    --------
    >>> from analysis.attrition.followup import join_followup
    >>> rng = np.random.default_rng(0)
    >>> base = pd.DataFrame({"respondent_id": [f"r{i}" for i in range(400)],
    ...                      "cohesion": rng.normal(3, 0.8, 400)})
    >>> months = rng.exponential(12 * np.exp(0.7 * (base["cohesion"] - 3)))
    >>> fu = pd.DataFrame({"respondent_id": base["respondent_id"], "months": np.minimum(months, 12),
    ...                    "disengaged": (months < 12).astype(int)})
    >>> joined = join_followup(base, fu, time="months", event="disengaged")
    >>> res = fit_attrition(joined, scales=["cohesion"], horizon=6, n_boot=10)
    >>> bool(res.effects.loc["cohesion", "hazard_ratio"] < 1), res.model_type
    (True, 'cox')
    """
    model = _checked_settings(
        followup, model, scales, covariates, frailty=frailty, cluster=cluster, impute=impute
    )
    design = Design.learn(followup.data, scales, covariates, categorical)
    if cluster is not None and cluster not in followup.data.columns:
        raise ValueError(f"cluster: column {cluster!r} not found in the baseline data")
    if cluster is not None and cluster in design.columns:
        raise ValueError(f"cluster: {cluster!r} is also a predictor; name another column")
    keys = [
        c
        for c in ("respondent_id", "source_row", "time", "event", "competing", cluster)
        if c is not None and c in followup.data.columns
    ]
    encoded = pd.concat([followup.data[keys], design.transform(followup.data)], axis=1)
    needed = list(design.columns)
    if cluster is not None:
        # group labels may be text: only which rows share a group matters, so use their codes
        codes, _ = pd.factorize(encoded[cluster])
        encoded[cluster] = np.where(codes < 0, np.nan, codes)
        needed.append(cluster)
    data, missing, steps = _modelled_rows(
        encoded, design, needed, cluster=cluster, impute=impute, source=followup.baseline_file
    )
    problems = [*followup.problems, *missing]
    if model == "logistic" and followup.design == "time":
        # disengaged by the horizon, yes or no: those censored earlier have no known status
        if horizon is None:
            horizon = _default_horizon(data["time"].to_numpy(dtype=float))
        by_h = (data["time"] <= horizon) & (data["event"] == 1)
        unknown = (data["time"] < horizon) & ~by_h
        steps.append(("censored_before_horizon", int(unknown.sum())))
        data = data.loc[~unknown].copy()
        data["event"] = by_h[~unknown].astype(int)
        data = data.reset_index(drop=True)
    flow = followup.summary()
    steps += [("modelled", len(data)), ("modelled_events", int(data["event"].sum()))]
    flow = pd.concat([flow, pd.DataFrame(steps, columns=["step", "n"])], ignore_index=True)
    imputed: list[pd.DataFrame] | None = None
    if impute:
        imputed = impute_design(data, design.columns, model=model, m=impute, seed=seed)
        data = imputed[0]  # the diagnostics are those of the first completed data set
    X = data[design.columns]
    n_param = len(design.columns)
    time = data["time"].to_numpy(dtype=float)
    event = data["event"].to_numpy(dtype=float)
    if event.sum() == 0:
        raise ValueError(
            "no disengagement events among the analysable respondents; nothing to model"
        )
    km: dict[str, tuple[KaplanMeier, LogRankTest]] = {}
    zph = None
    time_summary: dict = {}
    fitted: CoxModel | LogisticModel
    pooled: PooledEstimates | None = None
    pooled_validation: PooledValidation | None = None
    frailty_model: FrailtyCoxModel | None = None
    if model == "cox":
        if horizon is None:
            horizon = _default_horizon(time)
        fitted = CoxModel(ties=ties, penalty=penalty, ci_level=ci_level).fit(
            X, time, event, cluster=None if cluster is None else data[cluster].to_numpy()
        )
        zph = fitted.zph(X, time, event)
        effects = fitted.summary()
        if frailty is not None:
            frailty_model = FrailtyCoxModel(distribution=frailty, ties=ties, ci_level=ci_level).fit(
                X, time, event, group=data[cluster].to_numpy()
            )
        for name, (groups, levels) in _km_groups(design, data).items():
            if groups.nunique() >= 2:
                km[name] = (
                    kaplan_meier(time, event, groups, levels=levels),
                    logrank_test(time, event, groups),
                )
        person_time = float(time.sum())
        rate = float(event.sum()) / person_time if person_time > 0 else float("nan")
        time_summary = {
            "median_followup": float(np.median(time)),
            "mean_followup": float(time.mean()),
            "max_followup": float(time.max()),
            "person_time": person_time,
            "event_rate": rate,
            "events_by_horizon": int(((time <= horizon) & (event == 1)).sum()),
            "unit": time_unit,
        }
        sample = riley_sample_size(
            outcome="survival",
            n_parameters=n_param,
            event_rate=rate,
            mean_followup=float(time.mean()),
            horizon=float(horizon),
            r2_cs=anticipated_r2,
        )
        epp = events_per_parameter(int(event.sum()), n_param)
        if zph.table.loc["GLOBAL", "p"] < 0.05:
            warnings.warn(
                "proportional hazards: the global test rejects (p = "
                f"{zph.table.loc['GLOBAL', 'p']:.3g}); "
                "hazard ratios average over time - see the PH table",
                DataQualityWarning,
                stacklevel=2,
            )
    else:
        fitted = LogisticModel(penalty=penalty, ci_level=ci_level).fit(
            X, event, cluster=None if cluster is None else data[cluster].to_numpy()
        )
        effects = fitted.summary()
        prevalence = float(event.mean())
        sample = riley_sample_size(
            outcome="binary", n_parameters=n_param, prevalence=prevalence, r2_cs=anticipated_r2
        )
        epp = events_per_parameter(int(min(event.sum(), len(event) - event.sum())), n_param)
        if followup.design != "time":
            horizon = None
    if imputed is not None:
        fitted, effects, pooled, _ = fit_pooled(
            imputed,
            predictors=design.columns,
            model=model,
            ties=ties,
            penalty=penalty,
            ci_level=ci_level,
            cluster=cluster,
        )
    validation, pooled_validation = _validation(
        model,
        X,
        time,
        event,
        imputed,
        horizon=horizon,
        ties=ties,
        penalty=penalty,
        n_boot=n_boot,
        seed=seed,
        progress=progress,
    )
    enough = len(data) >= sample.n_required
    if not enough:
        warnings.warn(
            f"too few data for a stable prediction model: n = {len(data)} with {int(event.sum())} "
            "events "
            f"({epp:.1f} per parameter) is below Riley et al.'s (2019) minimum n = "
            f"{sample.n_required} "
            f"for {n_param} parameters; expect overfitting (see the optimism-corrected "
            "performance)",
            DataQualityWarning,
            stacklevel=2,
        )
    comparison = _compare(model, design, data, time, event, ties, ci_level)
    options = {
        "model": model,
        "scales": list(design.scales),
        "covariates": list(design.covariates),
        "categorical": sorted(design.levels),
        "horizon": horizon,
        "ties": ties if model == "cox" else None,
        "penalty": penalty,
        "n_boot": n_boot,
        "seed": seed,
        "ci_level": ci_level,
        "anticipated_r2": anticipated_r2,
        "time_unit": time_unit,
        "design": followup.design,
        "competing_as": followup.competing_as,
        "cluster": cluster,
        "n_clusters": getattr(fitted, "n_clusters_", None),
        "frailty": frailty,
        "impute": impute,
        "pooling": (
            f"pooled over {impute} imputations (chained equations, Rubin's rules; bootstrap "
            "validation within each imputation, averaged)"
            if impute
            else None
        ),
    }
    return AttritionAnalysis(
        model_type=model,
        model=fitted,
        design=design,
        effects=effects,
        zph=zph,
        km=km,
        validation=validation,
        sample_size=sample,
        events_per_parameter=epp,
        enough_data=enough,
        comparison=comparison,
        flow=flow,
        problems=problems,
        data=data,
        options=options,
        time_summary=time_summary,
        frailty=frailty_model,
        competing_incidence=_competing_incidence(data, ci_level) if model == "cox" else None,
        fine_gray=_fine_gray(data, design.columns, ci_level) if model == "cox" else {},
        pooled=pooled,
        pooled_validation=pooled_validation,
    )


#: outcome labels of the competing-outcome curves in the attrition report
OUTCOME_LABELS = ("disengaged", "competing outcome")


def _checked_settings(
    followup: FollowupData, model, scales, covariates, *, frailty, cluster, impute
) -> str:
    """The model type (default by design), after checking the settings against each other."""
    if model is None:
        model = "cox" if followup.design == "time" else "logistic"
    if model not in MODELS:
        raise ValueError(f"model: must be one of {', '.join(MODELS)}; got {model!r}")
    if model == "cox" and followup.design != "time":
        raise ValueError(
            "model: a Cox model needs follow-up times (give --time, or dates); this is a status "
            "design"
        )
    if not scales and not covariates:
        raise ValueError("scales, covariates: name at least one predictor column")
    if frailty is not None:
        if frailty not in DISTRIBUTIONS:
            raise ValueError(f"frailty: must be one of {', '.join(DISTRIBUTIONS)}; got {frailty!r}")
        if cluster is None or model != "cox":
            raise ValueError(
                "frailty: a shared frailty needs a Cox model and the groups (give cluster)"
            )
    if impute is not None and impute < 2:
        raise ValueError(f"impute: at least 2 imputations; got {impute}")
    return model


def _modelled_rows(
    encoded: pd.DataFrame, design: Design, needed, *, cluster, impute, source
) -> tuple[pd.DataFrame, list[Problem], list[tuple[str, int]]]:
    """Rows to model: complete cases, or (with ``impute``) every row whose group is known, the
    missing predictor values to be imputed; and the flow steps."""
    if not impute:
        data, missing = complete_cases(encoded, needed, source=source)
        return data, missing, [("missing_predictor", len(missing))]
    n_incomplete = int(encoded[design.columns].isna().any(axis=1).sum())
    data, missing = complete_cases(encoded, [cluster] if cluster else [], source=source)
    steps = [("missing_predictor", len(missing)), ("predictor_imputed", n_incomplete)]
    return data.reset_index(drop=True), missing, steps


def _validation(
    model: str, X, time, event, imputed, *, horizon, ties, penalty, n_boot, seed, progress
) -> tuple[Validation, PooledValidation | None]:
    """Harrell's bootstrap validation, within each imputation when there are imputations."""
    options = {"penalty": penalty, "n_boot": n_boot, "seed": seed, "progress": progress}
    if model == "cox":
        options.update(horizon=horizon, ties=ties)
    if imputed is not None:
        return _validate_pooled(imputed, list(X.columns), model=model, **options)
    if model == "cox":
        return validate_cox(X, time, event, **options), None
    return validate_logistic(X, event, **options), None


def _validate_pooled(
    imputed: list[pd.DataFrame], columns, *, model: str, **options
) -> tuple[Validation, PooledValidation]:
    """Bootstrap validation within each imputation, averaged; returned as a Validation whose
    table holds the averages (its calibration table and ROC are the first imputation's)."""
    pooled = validate_within_imputations(
        imputed,
        predictors=list(columns),
        model=model,
        time="time" if model == "cox" else None,
        event="event" if model == "cox" else None,
        outcome="event" if model == "logistic" else None,
        **options,
    )
    first = pooled.per_imputation[0]
    table = first.table.copy()
    for col in ("apparent", "optimism", "corrected"):
        table[col] = pooled.table[col].reindex(table.index)
    # an interval of the averaged corrected value is not the average of the intervals
    table["ci_low"] = np.nan
    table["ci_high"] = np.nan
    table["corrected_sd_between_imputations"] = pooled.table["corrected_sd"].reindex(table.index)
    n_failed = sum(v.n_failed for v in pooled.per_imputation)
    return dataclasses.replace(first, table=table, n_failed=n_failed), pooled


def _outcome_status(data: pd.DataFrame) -> np.ndarray | None:
    """Outcome type of each modelled row (None without a competing outcome)."""
    if "competing" not in data.columns or not (data["competing"] == 1).any():
        return None
    comp = data["competing"].to_numpy() == 1
    event = data["event"].to_numpy() == 1
    return np.where(comp, OUTCOME_LABELS[1], np.where(event, OUTCOME_LABELS[0], "censored"))


def _competing_incidence(data: pd.DataFrame, ci_level: float) -> CumulativeIncidence | None:
    """Aalen-Johansen curves of disengagement and the competing outcome (None without one)."""
    status = _outcome_status(data)
    if status is None:
        return None
    return cumulative_incidence(
        data["time"].to_numpy(dtype=float), status, censor_code="censored", ci_level=ci_level
    )


def _fine_gray(data: pd.DataFrame, columns, ci_level: float) -> dict[str, FineGrayModel]:
    """A Fine-Gray model of each outcome type on the prediction model's columns."""
    status = _outcome_status(data)
    if status is None:
        return {}
    out = {}
    for cause in OUTCOME_LABELS:
        if (status == cause).any():
            out[cause] = FineGrayModel(cause=cause, censor_code="censored", ci_level=ci_level).fit(
                data[list(columns)], data["time"].to_numpy(dtype=float), status
            )
    return out


def _km_groups(design: Design, data: pd.DataFrame) -> dict[str, tuple[pd.Series, list[str]]]:
    """Kaplan-Meier groups per source predictor: scales and numeric covariates by
    :func:`predictor_groups` (values when binary, else tertiles), categorical covariates by level
    (rebuilt from their dummy columns)."""
    out: dict[str, tuple[pd.Series, list[str]]] = {}
    for name in design.source_columns:
        if name in design.levels:
            levels = design.levels[name]
            label = pd.Series(levels[0], index=data.index, dtype=object)
            for level in levels[1:]:
                label[data[f"{name}[{level}]"] == 1] = level
            out[name] = (label, list(levels))
        else:
            groups, levels, _ = predictor_groups(data[name])
            out[name] = (groups, levels)
    return out


def _compare(model, design, data, time, event, ties, ci_level) -> pd.DataFrame:
    """Nested comparison: covariates only, scales only, scales + covariates (LR tests vs the first)."""
    cov_cols = [c for c in design.columns if c not in design.scales]
    candidates = []
    if cov_cols:
        candidates.append(("covariates only", cov_cols))
    if design.scales:
        candidates.append(("scales only", list(design.scales)))
    if cov_cols and design.scales:
        candidates.append(("scales + covariates", design.columns))
    rows = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, cols in candidates:
            X = data[cols]
            m: CoxModel | LogisticModel
            if model == "cox":
                cox_fit = CoxModel(ties=ties, ci_level=ci_level).fit(X, time, event)
                m, c = cox_fit, cox_fit.concordance_.estimate
            else:
                logistic_fit = LogisticModel(ci_level=ci_level).fit(X, event)
                m, c = logistic_fit, logistic_fit.auc_.estimate
            rows.append(
                {
                    "model": name,
                    "n_parameters": len(cols),
                    "loglik": m.loglik_,
                    "aic": -2 * m.loglik_ + 2 * (len(cols) + (model == "logistic")),
                    "c_apparent": c,
                }
            )
    table = pd.DataFrame(rows)
    null = {
        "model": "null (no predictors)",
        "n_parameters": 0,
        "loglik": m.loglik_null_,
        "aic": -2 * m.loglik_null_ + 2 * (model == "logistic"),
        "c_apparent": 0.5,
    }
    table = pd.concat([pd.DataFrame([null]), table], ignore_index=True)
    # each model against the largest model nested in it: the full model against covariates only
    # (what the scales add), the others against the null model
    reference = {
        name: ("covariates only" if name == "scales + covariates" else "null (no predictors)")
        for name in table["model"]
    }
    loglik = dict(zip(table["model"], table["loglik"], strict=True))
    n_par = dict(zip(table["model"], table["n_parameters"], strict=True))
    lr, dfs, ps, refs = [], [], [], []
    for name in table["model"]:
        ref = reference[name]
        if name == ref:
            lr.append(np.nan)
            dfs.append(np.nan)
            ps.append(np.nan)
            refs.append("")
            continue
        chisq = max(2 * (loglik[name] - loglik[ref]), 0.0)
        df = n_par[name] - n_par[ref]
        lr.append(chisq)
        dfs.append(df)
        ps.append(float(stats.chi2.sf(chisq, df)))
        refs.append(ref)
    table["lr_chisq"], table["df"], table["p"], table["compared_with"] = lr, dfs, ps, refs
    return table
