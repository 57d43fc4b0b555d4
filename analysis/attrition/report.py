"""Attrition outputs: ``results.json`` (documented schema), ``tables.xlsx``, ``report.html``, ``model.json``.

The schema of ``results.json`` is documented in ``docs/attrition-results-schema.md``. Reports show
aggregated numbers only: never a respondent identifier or an individual's answers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.attrition.cox import CoxModel, ProportionalHazardsTest
from analysis.attrition.logistic import LogisticModel
from analysis.attrition.model_io import model_to_dict
from analysis.attrition.study import AttritionAnalysis
from analysis.report.html import HtmlReport, software_versions, write_json, write_tables_xlsx
from instrument.io.security import neutralise
from instrument.problems import problems_frame

__all__ = [
    "RESULTS_SCHEMA",
    "SCHEMA_VERSION",
    "results_dict",
    "roc_at_horizon",
    "tripod_checklist",
    "write_outputs",
]

RESULTS_SCHEMA = "mhdq-attrition-results"
SCHEMA_VERSION = 1

RILEY = "Riley et al. (2019) Stat Med 38:1276; Riley et al. (2020) BMJ 368:m441"


# --------------------------------------------------------------------------------------------
# Derived tables
# --------------------------------------------------------------------------------------------
def roc_at_horizon(time, event, risk, horizon) -> pd.DataFrame:
    """Cumulative/dynamic ROC at the horizon: cases disengaged by h, controls event-free at h.

    Parameters
    ----------
    time, event, risk : array
        Follow-up time, event indicator and predicted risk by the horizon.
    horizon : float

    Returns
    -------
    DataFrame
        ``false_positive_rate, true_positive_rate`` from (0, 0) to (1, 1).

    Raises
    ------
    ValueError
        When there are no cases or no controls at the horizon (a curve would be meaningless:
        with no controls every threshold has 1 - specificity 0 and the curve looks perfect).

    Notes
    -----
    Cases: :math:`T \\le h` with the event; controls: :math:`T \\ge h` without it (still
    engaged at h, including those whose follow-up ends exactly at h), the cumulative/dynamic
    definition of Heagerty, Lumley & Pepe (2000). Respondents censored before h are left out (no
    IPCW weighting), so this curve is descriptive; the validated discrimination measure of the
    Cox model is Harrell's C.

    References
    ----------
    Heagerty PJ, Lumley T, Pepe MS (2000). Time-dependent ROC curves for censored survival data
    and a diagnostic marker. Biometrics 56:337-344.
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event, dtype=float)
    risk = np.asarray(risk, dtype=float)
    case = (time <= horizon) & (event == 1)
    control = (time >= horizon) & ~case
    if not case.any() or not control.any():
        missing = (
            "cases (nobody disengaged by then)"
            if not case.any()
            else ("controls (nobody was followed up to it without disengaging)")
        )
        raise ValueError(f"ROC at {horizon:g}: no {missing}; no curve can be drawn")
    use = case | control
    y, s = case[use].astype(float), risk[use]
    order = np.argsort(-s, kind="stable")
    ys, ss = y[order], s[order]
    last = np.r_[np.flatnonzero(np.diff(ss) != 0), len(ss) - 1]
    tps = np.cumsum(ys)[last]
    fps = (last + 1) - tps
    return pd.DataFrame(
        {
            "false_positive_rate": np.r_[0.0, fps / (len(ys) - ys.sum())],
            "true_positive_rate": np.r_[0.0, tps / ys.sum()],
        }
    )


def _characteristics(analysis: AttritionAnalysis, data: pd.DataFrame) -> pd.DataFrame:
    rows = []
    groups = {"disengaged": data["event"] == 1, "not disengaged": data["event"] == 0}
    for column in analysis.design.columns:
        row: dict[str, object] = {"predictor": column}
        for label, mask in groups.items():
            values = data.loc[mask, column]
            row[f"mean_{label.replace(' ', '_')}"] = float(values.mean()) if len(values) else np.nan
            row[f"sd_{label.replace(' ', '_')}"] = (
                float(values.std(ddof=1)) if len(values) > 1 else np.nan
            )
        rows.append(row)
    return pd.DataFrame(rows).set_index("predictor")


def tripod_checklist(analysis: AttritionAnalysis) -> pd.DataFrame:
    """Where each TRIPOD (2015) item stands: ``item, topic, status, where``.

    ``status`` is ``reported`` (this report covers it), ``partly`` (covered, the authors must add
    context) or ``authors`` (the toolkit cannot know it: to be written by the authors). TRIPOD+AI
    (Collins et al. 2024) supersedes TRIPOD 2015; its items map onto these for regression models.
    """
    cox = analysis.model_type == "cox"
    items = [
        ("1", "Title: development of a prediction model, population, outcome", "authors", "-"),
        ("2", "Abstract", "authors", "-"),
        ("3a-b", "Background and objectives", "authors", "-"),
        (
            "4a",
            "Source of data: study design",
            "partly",
            "Data: "
            + (
                "prospective time-to-event"
                if analysis.options.get("design") == "time"
                else "status at follow-up"
            )
            + " design",
        ),
        (
            "4b",
            "Key study dates, end of follow-up",
            "partly",
            "Outcome: follow-up summary (dates: authors)",
        ),
        ("5a-c", "Participants: setting, eligibility, treatments", "authors", "-"),
        (
            "6a",
            "Outcome definition, how and when assessed",
            "partly",
            "Outcome: dropout definition, competing outcome, horizon",
        ),
        ("6b", "Blinding of outcome assessment", "authors", "-"),
        (
            "7a",
            "Predictors: definition, how and when measured",
            "reported",
            "Model: instrument scales and covariates",
        ),
        ("7b", "Blinding of predictor assessment", "authors", "-"),
        (
            "8",
            "Sample size",
            "reported",
            "Sample size (Riley et al. criteria, events per parameter)",
        ),
        (
            "9",
            "Missing data",
            "reported",
            "Data: flow and problem records ("
            + (
                f"multiple imputation, m = {analysis.options['impute']})"
                if analysis.options.get("impute")
                else "complete-case analysis)"
            ),
        ),
        (
            "10a",
            "Handling of predictors",
            "reported",
            "Model: linear per point, categories dummy coded",
        ),
        (
            "10b",
            "Model type, building, internal validation",
            "reported",
            f"Model and Validation ({'Cox' if cox else 'logistic'}; all predictors, no selection; "
            "bootstrap)",
        ),
        (
            "10d",
            "Performance measures",
            "reported",
            "Validation: C/AUC, Brier, calibration slope and intercept",
        ),
        (
            "11",
            "Risk groups",
            "partly",
            "Kaplan-Meier by predictor group (descriptive, not risk groups)" if cox else "-",
        ),
        ("13a", "Participant flow", "reported", "Data: flow table"),
        ("13b", "Participant characteristics", "reported", "Data: predictors by outcome"),
        ("14a", "Number of participants and events", "reported", "Data: flow table"),
        (
            "14b",
            "Unadjusted associations",
            "partly",
            "Kaplan-Meier and log-rank by predictor group" if cox else "-",
        ),
        (
            "15a",
            "Full model: all coefficients and " + ("baseline survival" if cox else "intercept"),
            "reported",
            "Model table; model.json (baseline survival)" if cox else "Model table; model.json",
        ),
        (
            "15b",
            "How to use the model",
            "reported",
            "mhdq attrition predict MODEL RESPONSES --horizon",
        ),
        (
            "16",
            "Model performance with intervals",
            "reported",
            "Validation (optimism-corrected; bootstrap SD)",
        ),
        ("17", "Model updating", "authors", "not applicable to a development study"),
        (
            "18",
            "Limitations",
            "partly",
            "Notes on PH, sample size and calibration; authors to discuss",
        ),
        ("19b", "Interpretation", "authors", "-"),
        ("20", "Implications", "authors", "-"),
        ("21", "Supplementary information", "reported", "tables.xlsx, results.json, model.json"),
        ("22", "Funding", "authors", "-"),
    ]
    return pd.DataFrame(items, columns=["item", "topic", "status", "where"]).set_index("item")


def _apparent_r2_cs(analysis: AttritionAnalysis) -> float:
    m = analysis.model
    lr = 2 * (m.loglik_ - m.loglik_null_)
    return float(1 - np.exp(-lr / m.n_obs_))


def _km_tables(analysis: AttritionAnalysis) -> tuple[pd.DataFrame, pd.DataFrame]:
    logrank_rows, surv_rows = [], []
    horizon = analysis.options.get("horizon")
    times = sorted(
        {t for t in (horizon, analysis.time_summary.get("median_followup")) if t is not None}
    )
    for scale, (km, lr) in analysis.km.items():
        logrank_rows.append({"predictor": scale, "chisq": lr.chisq, "df": lr.df, "p": lr.p})
        at = km.survival_at(times)
        for _, row in at.iterrows():
            surv_rows.append(
                {
                    "predictor": scale,
                    "group": row["stratum"],
                    "time": row["time"],
                    "still_engaged": row["survival"],
                }
            )
    return (
        pd.DataFrame(logrank_rows).set_index("predictor") if logrank_rows else pd.DataFrame(),
        pd.DataFrame(surv_rows),
    )


# --------------------------------------------------------------------------------------------
# results.json
# --------------------------------------------------------------------------------------------
def _records(frame: pd.DataFrame) -> list[dict]:
    """Rows as dicts; a named index becomes the first field, a plain range index is dropped."""
    if isinstance(frame.index, pd.RangeIndex) and frame.index.name is None:
        return frame.to_dict(orient="records")
    return frame.reset_index().to_dict(orient="records")


def results_dict(
    analysis: AttritionAnalysis,
    *,
    instrument=None,
    inputs: dict | None = None,
    synthetic: bool = False,
) -> dict:
    """Everything the report shows, as plain data (see ``docs/attrition-results-schema.md``)."""
    m = analysis.model
    problems = problems_frame(analysis.problems)
    logrank, km_surv = _km_tables(analysis)
    model = model_to_dict(analysis, instrument=instrument)
    return {
        "schema": RESULTS_SCHEMA,
        "schema_version": SCHEMA_VERSION,
        "synthetic": bool(synthetic),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": software_versions(),
        "instrument": model["instrument"],
        "inputs": dict(inputs or {}),
        "options": dict(analysis.options),
        "flow": _records(analysis.flow),
        "problems": {
            "n": int(len(problems)),
            "by_rule": problems["rule"].value_counts().to_dict() if len(problems) else {},
        },
        "time_summary": dict(analysis.time_summary),
        "model": {
            "type": analysis.model_type,
            "n_obs": m.n_obs_,
            "n_events": m.n_events_,
            "n_parameters": len(analysis.design.columns),
            "events_per_parameter": analysis.events_per_parameter,
            "loglik": m.loglik_,
            "loglik_null": m.loglik_null_,
            "r2_cs_apparent": _apparent_r2_cs(analysis),
            "intercept": m.intercept_ if isinstance(m, LogisticModel) else None,
            "baseline_survival_at_horizon": (
                m.baseline_survival(analysis.options["horizon"])
                if isinstance(m, CoxModel)
                else None
            ),
            "converged": m.converged_,
        },
        "effects": _records(analysis.effects),
        "imputation": _imputation_dict(analysis),
        "proportional_hazards": None if analysis.zph is None else _records(analysis.zph.table),
        "kaplan_meier": {"logrank": _records(logrank), "survival": _records(km_surv)},
        "validation": {
            "n_boot": analysis.validation.n_boot,
            "n_failed": analysis.validation.n_failed,
            "seed": analysis.validation.seed,
            "horizon": analysis.validation.horizon,
            "metrics": _records(analysis.validation.table),
            "calibration": _records(analysis.validation.calibration),
        },
        "sample_size": {
            "outcome": analysis.sample_size.outcome,
            "n_parameters": analysis.sample_size.n_parameters,
            "r2_cs": analysis.sample_size.r2_cs,
            "r2_cs_source": analysis.sample_size.r2_cs_source,
            "r2_cs_max": analysis.sample_size.r2_cs_max,
            "criteria": _records(analysis.sample_size.table),
            "n_required": analysis.sample_size.n_required,
            "events_required": analysis.sample_size.events_required,
            "n_available": m.n_obs_,
            "enough_data": analysis.enough_data,
        },
        "comparison": _records(analysis.comparison),
        "tripod": _records(tripod_checklist(analysis)),
        "frailty": _frailty_dict(analysis),
        "competing_incidence": None
        if analysis.competing_incidence is None
        else analysis.competing_incidence.to_dict(),
        "fine_gray": {outcome: fg.to_dict() for outcome, fg in analysis.fine_gray.items()} or None,
    }


def _pooling_sentence(analysis: AttritionAnalysis) -> str:
    m = analysis.options.get("impute")
    if not m:
        return ""
    n = dict(zip(analysis.flow["step"], analysis.flow["n"], strict=False)).get("predictor_imputed")
    return (
        f" Estimates pooled over {m} imputations: {n} respondent(s) with a missing predictor value "
        "were imputed by chained equations (outcome in the imputation model), the model fitted on "
        "each completed data set and pooled by Rubin's rules (SEs from the total variance, "
        "intervals and p on Barnard-Rubin df; fmi = fraction of missing information). The "
        "proportional-hazards test, Kaplan-Meier groups and nested comparison are those of the "
        "first completed data set."
    )


def _imputation_dict(analysis: AttritionAnalysis) -> dict | None:
    if analysis.pooled is None:
        return None
    m = analysis.pooled.m
    return {
        "m": m,
        "statement": f"pooled over {m} imputations",
        "method": "chained equations (pmm; logistic regression for two-valued columns), the "
        "outcome in the imputation model; Rubin's rules with Barnard-Rubin df",
        "pooled": _records(analysis.pooled.table),
        "validation_per_imputation": (
            None
            if analysis.pooled_validation is None
            else _records(analysis.pooled_validation.table)
        ),
        "diagnostics_from": "the first completed data set (PH test, Kaplan-Meier, comparison, "
        "calibration table, loglik)",
    }


def _frailty_dict(analysis: AttritionAnalysis) -> dict | None:
    """The shared-frailty model as plain data (None when none was fitted)."""
    fm = analysis.frailty
    if fm is None:
        return None
    return {
        "distribution": fm.distribution,
        "cluster": analysis.options.get("cluster"),
        "effects": _records(fm.summary()),
        "frailty": _records(fm.frailty_summary()),
        "theta_search": _records(fm.history_),
        "converged": fm.converged_,
    }


def _section_frailty(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Members nested in groups: the shared gamma frailty model beside the prediction model."""
    fm = analysis.frailty
    if fm is None:
        return
    cluster = analysis.options.get("cluster")
    report.section(
        "Members nested in groups: shared frailty",
        intro=(
            "What this model tells you: whether members of the same group "
            f"({cluster}, {fm.n_groups_} groups) leave more alike than members of different "
            "groups - a group-level dependence the robust standard errors only allow for. Each "
            "group multiplies its members' hazard by a frailty, gamma distributed with mean 1 "
            "and variance theta; the hazard ratios are then those of members of the same group. "
            "Fitted by penalised partial likelihood with theta chosen by the integrated "
            "likelihood, as R's coxph(... + frailty(group)) (Therneau, Grambsch & Pankratz "
            "2003). The prediction model above remains the population Cox model."
        ),
    )
    summ = fm.frailty_summary().set_index("distribution")
    _table(
        report,
        summ.set_axis(
            [
                "theta",
                "SD of frailty",
                "groups",
                "df",
                "integrated loglik",
                "loglik",
                "null loglik",
                "LR chi2",
            ],
            axis=1,
        ),
        caption="Frailty variance (theta) and likelihoods",
    )
    if fm.theta_ < 0.01:
        report.paragraph(
            f"Theta is near 0 ({fm.theta_:.2g}): these data show little sign that members of the "
            "same group leave more alike than members of different groups (no test of theta = 0 "
            "is made)."
        )
    eff = fm.summary()[["estimate", "se", "se2", "hazard_ratio", "ci_low", "ci_high", "p"]]
    _table(
        report,
        eff.set_axis(["log HR", "SE", "SE2", "HR", "low", "high", "p"], axis=1),
        caption=(
            f"Hazard ratios given the group frailty ({fm.ci_level:.0%} Wald CI from SE, the "
            "inverse penalised information; SE2 is the sandwich form R also prints)"
        ),
    )
    tables["frailty_effects"] = fm.summary()
    tables["frailty"] = summ


# --------------------------------------------------------------------------------------------
# Figures
# --------------------------------------------------------------------------------------------
def _zph(analysis: AttritionAnalysis) -> ProportionalHazardsTest:
    """The proportional-hazards test of a Cox analysis (a logistic analysis has none)."""
    if analysis.zph is None:
        raise ValueError("no proportional-hazards test: the attrition model is not a Cox model")
    return analysis.zph


def _forest(analysis: AttritionAnalysis):
    import matplotlib.pyplot as plt

    ratio = "hazard_ratio" if analysis.model_type == "cox" else "odds_ratio"
    table = analysis.effects.drop(index="(Intercept)", errors="ignore")
    est = table[f"{ratio}_per_sd"].to_numpy()
    low = table[f"{ratio}_per_sd_ci_low"].to_numpy()
    high = table[f"{ratio}_per_sd_ci_high"].to_numpy()
    fig, ax = plt.subplots(figsize=(6.4, 0.45 * len(table) + 1.2))
    ypos = np.arange(len(table))[::-1]
    ax.axvline(1, color="grey", lw=1, ls="--")
    ok = np.isfinite(low) & np.isfinite(high)
    ax.errorbar(
        est[ok],
        ypos[ok],
        xerr=np.vstack([est[ok] - low[ok], high[ok] - est[ok]]),
        fmt="s",
        color="black",
        ms=5,
        capsize=3,
    )
    ax.plot(est[~ok], ypos[~ok], "s", color="black", ms=5)
    ax.set_yticks(ypos)
    ax.set_yticklabels(table.index)
    ax.set_xscale("log")
    finite = np.r_[est, low, high][np.isfinite(np.r_[est, low, high])]
    lo_t, hi_t = min(finite.min(), 0.95), max(finite.max(), 1.05)
    ticks = np.unique(np.round(np.exp(np.linspace(np.log(lo_t), np.log(hi_t), 6)), 2))
    # keep 1 and drop ticks whose labels would touch it
    gap = 0.06 * (np.log(hi_t) - np.log(lo_t))
    tick_values = sorted({1.0} | {float(t) for t in ticks if abs(np.log(t)) > gap})
    ax.set_xticks(tick_values)
    ax.set_xticklabels([f"{t:g}" for t in tick_values])
    ax.minorticks_off()
    label = "Hazard ratio" if analysis.model_type == "cox" else "Odds ratio"
    ax.set_xlabel(f"{label} per SD ({analysis.model.ci_level:.0%} CI), log scale")
    fig.tight_layout()
    return fig


def _km_grid(analysis: AttritionAnalysis):
    import matplotlib.pyplot as plt

    k = len(analysis.km)
    cols = min(3, k)
    rows = int(np.ceil(k / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    unit = analysis.options.get("time_unit", "")
    for ax, (scale, (km, lr)) in zip(axes.ravel(), analysis.km.items(), strict=False):
        km.plot(ax=ax, xlabel=f"Time ({unit})", title=f"{scale}: log-rank p = {lr.p:.3g}")
        ax.title.set_fontsize(9)
    for ax in axes.ravel()[k:]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _zph_grid(analysis: AttritionAnalysis):
    import matplotlib.pyplot as plt

    terms = list(analysis.design.scales) or list(analysis.model.feature_names_in_)[:6]
    cols = min(3, len(terms))
    rows = int(np.ceil(len(terms) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    for ax, term in zip(axes.ravel(), terms, strict=False):
        _zph(analysis).plot(term, ax=ax, coef=float(analysis.model.coef_[term]))
    for ax in axes.ravel()[len(terms) :]:
        ax.set_visible(False)
    fig.tight_layout()
    return fig


def _roc_figure(analysis: AttritionAnalysis, roc: pd.DataFrame, label: str):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    ax.plot([0, 1], [0, 1], ls="--", color="grey", lw=1)
    ax.plot(roc["false_positive_rate"], roc["true_positive_rate"], color="black")
    ax.set_xlabel("1 - specificity")
    ax.set_ylabel("Sensitivity")
    ax.set_title(label, fontsize=9)
    fig.tight_layout()
    return fig


def _calibration_figure(analysis: AttritionAnalysis):
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    analysis.validation.plot_calibration(ax=ax, unit=analysis.options.get("time_unit", ""))
    fig.tight_layout()
    return fig


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------
COUNT_COLUMNS = {"df", "n", "n_parameters", "n_required", "n_resamples", "n_obs", "group"}


def _table(report: HtmlReport, frame: pd.DataFrame, **kwargs) -> None:
    """Render a table keeping counts as whole numbers (``HtmlReport.table`` formats rows, which
    pandas would otherwise turn into floats when every column is numeric)."""
    shown = frame.copy()
    for column in shown.columns:
        values = shown[column]
        if pd.api.types.is_integer_dtype(values) or (
            column in COUNT_COLUMNS
            and pd.api.types.is_float_dtype(values)
            and np.all(np.mod(values.dropna().to_numpy(), 1) == 0)
        ):
            shown[column] = pd.Series(
                [None if pd.isna(v) else int(v) for v in values], index=shown.index, dtype=object
            )
    report.table(shown, **kwargs)


def _fmt_p(p: float) -> str:
    return "< .001" if p < 0.001 else f"{p:.3f}"


def _section_summary(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Summary: discrimination and the verdicts on sample size, calibration and PH."""
    cox = ctx.cox
    unit = ctx.unit
    m = analysis.model
    val = analysis.validation.table
    disc = "c_index" if cox else "auc"
    report.section(
        "Summary",
        intro=(
            f"{m.n_obs_} respondents, {m.n_events_} disengaged"
            + (
                f" (follow-up median {analysis.time_summary['median_followup']:.1f} {unit})"
                if cox
                else ""
            )
            + f". {len(analysis.design.columns)} predictor parameters, "
            f"{analysis.events_per_parameter:.1f} events per parameter. "
            f"Discrimination {'(Harrell C)' if cox else '(AUC)'} {val.loc[disc, 'apparent']:.3f} "
            "apparent, "
            f"{val.loc[disc, 'corrected']:.3f} after bootstrap optimism correction "
            f"({analysis.validation.n_boot} resamples)."
        ),
    )
    report.verdict(
        f"sample size: n = {m.n_obs_} against a minimum of {analysis.sample_size.n_required}",
        analysis.enough_data,
        rule="n at least the largest of Riley et al.'s criteria (shrinkage >= 0.9, "
        "R2 optimism <= 0.05, precise overall risk)",
        citation=RILEY,
    )
    slope = val.loc["calibration_slope", "corrected"]
    report.verdict(
        f"optimism-corrected calibration slope {slope:.2f}",
        bool(slope >= 0.9) if np.isfinite(slope) else None,
        rule="slope >= 0.9 (expected shrinkage small enough not to need a penalised refit)",
        citation="Steyerberg (2019) Clinical Prediction Models, ch. 15; Riley et al. (2019)",
    )
    if cox:
        p_global = _zph(analysis).table.loc["GLOBAL", "p"]
        report.verdict(
            f"proportional hazards, global test p = {_fmt_p(p_global)}",
            bool(p_global >= 0.05),
            rule="score test on scaled Schoenfeld residuals not significant at 5%",
            citation="Grambsch & Therneau (1994) Biometrika 81:515 (R survival::cox.zph)",
        )


def _section_data(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Data and participant flow, problem records, predictors by outcome."""
    data = analysis.data
    report.section(
        "Data and participant flow",
        intro=(
            "Baseline scale scores were joined to follow-up by respondent ID. Every row that could "
            "not be "
            "used is a problem record (problems.csv); none was dropped without one. Predictors "
            "missing: "
            + (
                f"imputed by chained equations, pooled over {analysis.options['impute']} "
                "imputations (predictor_imputed in the flow)."
                if analysis.options.get("impute")
                else "complete-case analysis."
            )
        ),
    )
    flow = analysis.flow.set_index("step")
    _table(report, flow, caption="Participant flow (TRIPOD 13a, 14a)", digits=0)
    tables["flow"] = flow
    problems = problems_frame(analysis.problems)
    if len(problems):
        by_rule = (
            problems.groupby(["file", "rule", "severity"])
            .size()
            .rename("n")
            .reset_index()
            .set_index("file")
        )
        _table(
            report, by_rule, caption="Problem records by rule (details in problems.csv)", digits=0
        )
        tables["problems_by_rule"] = by_rule
    chars = _characteristics(analysis, data)
    _table(report, chars, caption="Predictors by outcome: mean and SD (TRIPOD 13b)")
    tables["characteristics"] = chars


def _section_outcome(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """The outcome definition and the follow-up summary."""
    cox = ctx.cox
    horizon = ctx.horizon
    unit = ctx.unit
    inputs = ctx.inputs
    report.section("Outcome")
    competing = analysis.options.get("competing_as")
    text = (
        "Outcome: disengagement from the group as defined in the follow-up data"
        + (
            f"; time in {unit}, right-censored at the last contact"
            if analysis.options.get("design") == "time"
            else "; status at follow-up"
        )
        + f". A competing outcome (e.g. switching to another group) was treated as {competing}"
        + (" (cause-specific hazard)" if competing == "censored" else "")
        + "."
    )
    report.paragraph(text)
    if inputs and inputs.get("dropout_definition"):
        report.paragraph(f"Dropout definition: {inputs['dropout_definition']}.")
    if analysis.model_type == "logistic" and analysis.options.get("design") == "time":
        report.paragraph(
            f"Outcome of the logistic model: disengaged by {horizon:g} {unit}; respondents "
            "censored earlier have no known status and were left out (see the flow table)."
        )
    if cox:
        ts = pd.DataFrame([analysis.time_summary]).T.rename(columns={0: "value"})
        ts.index.name = "follow-up"
        _table(report, ts, caption=f"Follow-up (horizon for absolute risk: {horizon:g} {unit})")
        tables["followup"] = ts


def _section_model(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """The hazard or odds ratios, the forest plot and the baseline survival."""
    cox = ctx.cox
    horizon = ctx.horizon
    unit = ctx.unit
    m = analysis.model
    ratio = "hazard_ratio" if cox else "odds_ratio"
    report.section(
        "Model",
        intro=(
            "All predictors were entered together (no selection), scale scores linearly per point; "
            "categorical "
            "covariates dummy coded against their first level. Ratios are given per point and per "
            "SD."
            + (f" Ties: {analysis.options.get('ties')}." if cox else "")
            + _pooling_sentence(analysis)
            + (
                f" Ridge penalty {analysis.options.get('penalty')} on standardised predictors (no "
                "standard errors)."
                if analysis.options.get("penalty")
                else ""
            )
        ),
    )
    short = "HR" if cox else "OR"
    eff = analysis.effects[
        [
            "estimate",
            "se",
            ratio,
            "ci_low",
            "ci_high",
            f"{ratio}_per_sd",
            f"{ratio}_per_sd_ci_low",
            f"{ratio}_per_sd_ci_high",
            "p",
        ]
    ]
    eff = eff.set_axis(
        [
            f"log {short}",
            "SE",
            short,
            "low",
            "high",
            f"{short} per SD",
            "low (SD)",
            "high (SD)",
            "p",
        ],
        axis=1,
    )
    _table(
        report,
        eff,
        caption=f"{'Hazard' if cox else 'Odds'} ratios ({m.ci_level:.0%} Wald CI) (TRIPOD 15a)",
    )
    tables["effects"] = analysis.effects
    report.figure(
        _forest(analysis),
        caption=f"Forest plot: {'hazard' if cox else 'odds'} ratio per SD of each predictor.",
        alt="forest plot of the effects",
    )
    if isinstance(m, CoxModel):
        assert horizon is not None  # checked above for every Cox analysis
        s0 = m.baseline_survival(horizon)
        report.paragraph(
            f"Baseline survival at the predictor means at {horizon:g} {unit}: S0 = {s0:.4f}. Risk "
            "by the horizon for "
            "predictors x: 1 - S0^exp((x - mean) b); the full baseline survival curve is in "
            "model.json."
        )
        tables["baseline_survival"] = m.baseline_.set_index("time")


def _section_proportional_hazards(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Cox only: the proportional-hazards tests and residual plots."""
    m = analysis.model
    if not isinstance(m, CoxModel):
        return
    report.section(
        "Proportional hazards",
        intro=(
            "Score tests on scaled Schoenfeld residuals against 1 - KM(t) per term and "
            "globally, as "
            "survival::cox.zph (survival 3)."
        ),
    )
    _table(report, _zph(analysis).table, caption="Proportional-hazards tests")
    tables["proportional_hazards"] = _zph(analysis).table
    report.figure(
        _zph_grid(analysis),
        caption=(
            "Scaled Schoenfeld residuals of each scale against 1 - KM(t) with a lowess smooth "
            "(an estimate of "
            "the log hazard ratio over time; dashed: the fitted value). A flat smooth supports "
            "proportional hazards."
        ),
        alt="scaled Schoenfeld residual plots",
    )


def _section_kaplan_meier(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Cox only: Kaplan-Meier curves by predictor group with log-rank tests."""
    m = analysis.model
    if not isinstance(m, CoxModel):
        return
    report.section(
        "Kaplan-Meier curves by predictor group",
        intro=(
            "Each scale score and continuous covariate split into tertiles, binary covariates by "
            "their values and categorical ones by level (descriptive, unadjusted; TRIPOD 14b); "
            "log-rank test across the groups."
        ),
    )
    if analysis.km:
        report.figure(
            _km_grid(analysis),
            caption="Share still engaged by group of each predictor.",
            alt="Kaplan-Meier curves by predictor group",
        )
        logrank, km_surv = _km_tables(analysis)
        _table(report, logrank, caption="Log-rank tests across groups")
        tables["logrank"] = logrank
        tables["km_by_group"] = km_surv


def _section_validation(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Apparent and optimism-corrected performance, ROC and calibration."""
    cox = ctx.cox
    horizon = ctx.horizon
    unit = ctx.unit
    m = analysis.model
    data = analysis.data
    val = analysis.validation.table
    report.section(
        "Validation",
        intro=(
            "Apparent performance and Harrell's bootstrap optimism correction "
            f"({analysis.validation.n_boot} "
            f"resamples, seed {analysis.validation.seed}, {analysis.validation.n_failed} failed): "
            "the whole model "
            "was refitted in every resample and tested on the original data."
            + (
                f" The validation was run within each of the {analysis.options['impute']} "
                "imputations and averaged (the calibration table and figures are those of the "
                "first)."
                if analysis.options.get("impute")
                else ""
            )
            + (
                f" Brier score and calibration at {horizon:g} {unit}; Brier weighted by the "
                "inverse probability of censoring."
                if cox
                else ""
            )
        ),
    )
    _table(report, val, caption="Performance (TRIPOD 10d, 16)")
    tables["validation"] = val
    roc: pd.DataFrame | None
    if isinstance(m, CoxModel) and horizon is not None:
        risk = m.predict_risk(data[analysis.design.columns], horizon).to_numpy()
        label = (
            f"ROC at {horizon:g} {unit} (cases: disengaged by then; controls: still engaged at "
            f"{horizon:g} {unit}; censored earlier left out)"
        )
        try:
            roc = roc_at_horizon(data["time"], data["event"], risk, horizon)
        except ValueError as exc:
            roc = None
            report.note(f"{exc} (choose another --horizon).")
    else:
        roc = analysis.validation.roc
        label = "ROC curve (apparent)"
    if roc is not None:
        report.figure(_roc_figure(analysis, roc, label), caption=label, alt="ROC curve")
    report.figure(
        _calibration_figure(analysis),
        caption=(
            "Calibration: observed against mean predicted risk in groups of predicted risk"
            + (" (observed = 1 - Kaplan-Meier within the group)" if cox else "")
            + "."
        ),
        alt="calibration plot",
    )
    _table(
        report, analysis.validation.calibration.set_index("group"), caption="Grouped calibration"
    )
    tables["calibration"] = analysis.validation.calibration.set_index("group")


def _section_comparison(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Nested models compared."""
    report.section(
        "Model comparison",
        intro=(
            "Nested models on the same respondents: what the scale scores add beyond the "
            "covariates "
            "(likelihood-ratio test) and the apparent discrimination of each."
        ),
    )
    comparison = analysis.comparison.set_index("model")
    _table(report, comparison, caption="Model comparison")
    tables["comparison"] = comparison


def _section_sample_size(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Riley et al.'s minimum sample size."""
    m = analysis.model
    ss = analysis.sample_size
    report.section(
        "Sample size",
        intro=(
            f"Minimum sample size for {ss.n_parameters} parameters (Riley et al. 2019) with "
            "anticipated "
            f"Cox-Snell R2 = {ss.r2_cs:.3f} ({ss.r2_cs_source}; this model's apparent R2_CS = "
            f"{_apparent_r2_cs(analysis):.3f}). Events per parameter: "
            f"{analysis.events_per_parameter:.1f}. "
            "Fixed rules such as 10 events per variable are not used."
        ),
    )
    _table(report, ss.table, caption="Riley et al. criteria")
    tables["sample_size"] = ss.table
    if not analysis.enough_data:
        report.note(
            f"Too few data: n = {m.n_obs_} is below the minimum n = {ss.n_required}. Expect "
            "overfitting; "
            "consider fewer predictors, a penalised model (--penalty), or more data."
        )


def _section_tripod(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """The TRIPOD checklist."""
    report.section(
        "TRIPOD checklist",
        intro=(
            "Where each TRIPOD 2015 item stands (Collins et al. 2015; TRIPOD+AI 2024 supersedes "
            "it). "
            "'authors' items cannot be known by the toolkit and must be written in the paper."
        ),
    )
    tripod = tripod_checklist(analysis)
    _table(report, tripod, caption="TRIPOD items")
    tables["tripod"] = tripod


def _section_software(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Settings, software versions and inputs."""
    inputs = ctx.inputs
    report.section("Software and settings")
    settings = pd.DataFrame(
        [(k, str(v)) for k, v in analysis.options.items()], columns=["setting", "value"]
    ).set_index("setting")
    _table(report, settings, caption="Settings")
    versions = pd.DataFrame(
        list(software_versions().items()), columns=["software", "version"]
    ).set_index("software")
    _table(report, versions, caption="Software")
    if inputs:
        _table(
            report,
            pd.DataFrame(list(inputs.items()), columns=["input", "value"]).set_index("input"),
            caption="Inputs",
        )


def _section_competing(
    report: HtmlReport, analysis: AttritionAnalysis, tables: dict, ctx: _Context
) -> None:
    """Cox with a competing outcome: cumulative incidence curves, table and Gray's questions."""
    cif = analysis.competing_incidence
    if cif is None:
        return
    from analysis.report.competing import competing_section

    as_censored = analysis.options.get("competing_as") == "censored"
    models = ["kaplan_meier", "aalen_johansen"]
    models += ["cause_specific"] if as_censored else []
    models += ["fine_gray"]
    models += ["clustered"] if analysis.options.get("cluster") else []
    last = float(analysis.time_summary.get("max_followup", cif.last_time.get("all", 0.0)))
    times = [ctx.horizon, *np.round(last * np.array([0.25, 0.5, 0.75, 1.0]), 2)]
    competing_section(
        report,
        cif,
        times=[t for t in times if t is not None],
        unit=ctx.unit,
        tables=tables,
        models=models,
        context=(
            "The follow-up marks a competing outcome (e.g. switching to another group) beside "
            "disengagement; the prediction model (next section) "
            + (
                "censors it, so its hazard ratios are cause-specific."
                if as_censored
                else "counts it as disengagement."
            )
        ),
    )
    if analysis.fine_gray:
        fg = pd.concat(
            {outcome: model.summary() for outcome, model in analysis.fine_gray.items()},
            names=["outcome", "term"],
        )
        shown = fg[["estimate", "se", "hazard_ratio", "ci_low", "ci_high", "p"]].reset_index(
            level="term"
        )
        _table(
            report,
            shown.set_axis(["term", "log SHR", "SE", "SHR", "low", "high", "p"], axis=1),
            caption=(
                "Fine-Gray subdistribution hazard ratios per point of each predictor (robust SE; "
                "saved with the model for attrition predict --cumulative-incidence)"
            ),
        )
        tables["fine_gray"] = fg


SECTIONS = (
    _section_summary,
    _section_data,
    _section_outcome,
    _section_competing,
    _section_model,
    _section_proportional_hazards,
    _section_kaplan_meier,
    _section_frailty,
    _section_validation,
    _section_comparison,
    _section_sample_size,
    _section_tripod,
    _section_software,
)


@dataclass(frozen=True)
class _Context:
    """What every section renderer of the attrition report needs besides the analysis."""

    cox: bool
    horizon: float | None
    unit: str
    inputs: dict | None


def build_report(
    analysis: AttritionAnalysis, *, instrument=None, inputs=None, synthetic: bool = False
) -> tuple[HtmlReport, dict[str, pd.DataFrame]]:
    """The HTML report and the tables written to ``tables.xlsx`` (one renderer per section, in
    :data:`SECTIONS` order)."""
    cox = analysis.model_type == "cox"
    horizon = analysis.options.get("horizon")
    if cox and horizon is None:
        raise ValueError("a Cox attrition analysis needs its horizon (options['horizon'])")
    m = analysis.model
    title = "Attrition prediction" + (" - SYNTHETIC DATA" if synthetic else "")
    inst = (
        f"{instrument.metadata.short_name} {instrument.version}"
        if instrument is not None
        else "scale scores"
    )
    report = HtmlReport(
        title,
        subtitle=f"{'Cox proportional hazards' if cox else 'Logistic'} model on {inst}; "
        f"n = {m.n_obs_}, events = {m.n_events_}; "
        f"created {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
    )
    tables: dict[str, pd.DataFrame] = {}
    if synthetic:
        report.note(
            "These results come from SYNTHETIC data generated by the MHDQ simulator; they describe "
            "no real people."
        )
    ctx = _Context(
        cox=cox, horizon=horizon, unit=analysis.options.get("time_unit", ""), inputs=inputs
    )
    for render in SECTIONS:
        render(report, analysis, tables, ctx)
    return report, tables


def write_outputs(
    analysis: AttritionAnalysis,
    out_dir: str | Path,
    *,
    instrument=None,
    inputs: dict | None = None,
    synthetic: bool = False,
) -> dict[str, Path]:
    """Write ``model.json``, ``results.json``, ``tables.xlsx``, ``problems.csv`` and ``report.html``.

    Parameters
    ----------
    analysis : AttritionAnalysis
    out_dir : path
        Output folder (created if needed).
    """
    from analysis.attrition.model_io import save_model

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "model": save_model(
            analysis, out / "model.json", instrument=instrument, synthetic=synthetic
        )
    }
    paths["results"] = write_json(
        results_dict(analysis, instrument=instrument, inputs=inputs, synthetic=synthetic),
        out / "results.json",
    )
    report, tables = build_report(
        analysis, instrument=instrument, inputs=inputs, synthetic=synthetic
    )
    notes = {
        "effects": "Wald intervals; ratios per point and per SD.",
        "validation": f"Bootstrap optimism correction, {analysis.validation.n_boot} resamples.",
    }
    if synthetic:  # every sheet, not only those with a note
        notes = {name: ("SYNTHETIC DATA. " + notes.get(name, "")).strip() for name in tables}
    paths["tables"] = write_tables_xlsx(tables, out / "tables.xlsx", notes=notes)
    problems = problems_frame(analysis.problems).map(neutralise)
    problems.to_csv(out / "problems.csv", index=False)
    paths["problems"] = out / "problems.csv"
    paths["report"] = report.write(out / "report.html")
    return paths


__all__ += ["build_report"]
