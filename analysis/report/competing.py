"""The competing-outcomes section of the attrition and longitudinal (demo) reports.

Cumulative incidence curves (Aalen-Johansen) inline, a table at chosen times beside one minus
Kaplan-Meier, Gray's test across groups, and for each model the question it answers.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.attrition.competing import CumulativeIncidence

__all__ = ["MODEL_QUESTIONS", "competing_section", "incidence_table", "model_questions"]

#: For each survival model of the toolkit, in plain language, the question it answers.
MODEL_QUESTIONS: dict[str, tuple[str, str]] = {
    "kaplan_meier": (
        "Kaplan-Meier (1 - KM)",
        "How many would have left for this reason if nobody could leave for another? Censoring "
        "the other reasons treats those members as if they could still leave for this one, so "
        "1 - KM overstates how many actually do.",
    ),
    "aalen_johansen": (
        "Cumulative incidence (Aalen-Johansen)",
        "How many members have left for each reason by a given time, when the other reasons "
        "also remove members? The curves of all reasons add up to the share who have left.",
    ),
    "cause_specific": (
        "Cause-specific Cox",
        "How fast do members still in the group leave for each reason? A hazard ratio is a rate "
        "among those still in - the question for explaining why members leave.",
    ),
    "fine_gray": (
        "Fine-Gray",
        "How many end up leaving for each reason? A subdistribution hazard ratio above 1 means a "
        "higher probability of leaving for that reason by any time - the question for "
        "predicting and planning.",
    ),
    "time_varying": (
        "Time-varying Cox",
        "Do members' latest scores (measured at each wave) predict leaving soon after, rather "
        "than their baseline scores?",
    ),
    "clustered": (
        "Clustered SEs / shared frailty",
        "Do members of the same group leave more alike than members of different groups? "
        "Robust SEs allow for that group-level dependence; a shared frailty estimates it.",
    ),
}


def model_questions(models: Sequence[str] | None = None) -> pd.DataFrame:
    """The models and their questions as a table (``model, question``), all or those named.

    Examples
    --------
    >>> model_questions(["fine_gray"]).loc[0, "model"]
    'Fine-Gray'
    """
    keys = list(MODEL_QUESTIONS) if models is None else list(models)
    unknown = [k for k in keys if k not in MODEL_QUESTIONS]
    if unknown:
        raise ValueError(
            f"models: unknown {', '.join(unknown)}; allowed: {', '.join(MODEL_QUESTIONS)}"
        )
    return pd.DataFrame([MODEL_QUESTIONS[k] for k in keys], columns=["model", "question"])


def _one_minus_km(curve: pd.DataFrame, times: np.ndarray) -> np.ndarray:
    """1 - Kaplan-Meier of one cause with the other causes censored, from the curve's own jumps
    (every cause shares the risk set, so n_at_risk at a jump is KM's risk set too)."""
    jumps = curve[curve["n_events"] > 0]
    surv = np.cumprod(1 - jumps["n_events"].to_numpy() / jumps["n_at_risk"].to_numpy())
    idx = np.searchsorted(jumps["time"].to_numpy(), times, side="right") - 1
    return np.where(idx >= 0, 1 - surv[np.maximum(idx, 0)], 0.0)


def incidence_table(cif: CumulativeIncidence, times: Sequence[float]) -> pd.DataFrame:
    """Cumulative incidence at ``times`` with its interval, beside 1 - Kaplan-Meier.

    Returns
    -------
    DataFrame
        ``group, cause, time, estimate, ci_low, ci_high, one_minus_km`` (NaN beyond a group's
        last follow-up time).
    """
    at = np.sort(np.unique(np.asarray(times, dtype=float)))
    rows = []
    for (grp, cause), curve in cif.table.groupby(["group", "cause"], sort=False):
        ct = curve["time"].to_numpy()
        idx = np.searchsorted(ct, at, side="right") - 1
        beyond = at > cif.last_time[grp]

        def pick(column: str, idx=idx, curve=curve, beyond=beyond) -> np.ndarray:
            return np.where(beyond, np.nan, curve[column].to_numpy()[idx])

        rows.append(
            pd.DataFrame(
                {
                    "group": grp,
                    "cause": cause,
                    "time": at,
                    "estimate": pick("estimate"),
                    "ci_low": pick("ci_low"),
                    "ci_high": pick("ci_high"),
                    "one_minus_km": np.where(beyond, np.nan, _one_minus_km(curve, at)),
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def competing_section(
    report,
    cif: CumulativeIncidence,
    *,
    times: Sequence[float],
    unit: str,
    tables: dict,
    models: Sequence[str],
    context: str = "",
    title: str = "Competing outcomes: who leaves, for which reason",
    tests: pd.DataFrame | None = None,
    tests_of: str = "the groups",
) -> None:
    """Add the section to ``report`` (an :class:`~analysis.report.html.HtmlReport`) and its tables
    to ``tables`` (``competing_incidence``, ``competing_models`` and ``gray_tests``).

    Parameters
    ----------
    cif : CumulativeIncidence
    times : list of float
        Times of the table.
    unit : str
        Unit of the times.
    models : list of str
        Keys of :data:`MODEL_QUESTIONS` of the models this report shows or refers to.
    context : str
        A sentence on where the outcome types come from, put before the method.
    tests : DataFrame, optional
        Gray's tests to show (default: those of ``cif``, when it has groups), across
        ``tests_of``.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    report.section(
        title,
        intro=(
            (context + " " if context else "")
            + "Each member leaves for at most one reason, so the reasons compete: the cumulative "
            "incidence of each (Aalen-Johansen, with Gray's pointwise interval on the "
            "log(-log) scale, as R's cmprsk::cuminc) is the share who have left for that reason "
            "by each time. What each model tells you:"
        ),
    )
    questions = model_questions(models).set_index("model")
    # one short paragraph per model: the report's tables right-align their cells, which suits
    # numbers, not sentences
    for model, question in questions["question"].items():
        report.paragraph(f"{model}: {question}")
    table = incidence_table(cif, times)
    shown = table.rename(
        columns={
            "estimate": "incidence",
            "ci_low": "low",
            "ci_high": "high",
            "one_minus_km": "1 - KM",
        }
    ).set_index("cause")
    if set(shown["group"]) == {"all"}:
        shown = shown.drop(columns="group")
    report.table(
        shown,
        caption=(
            f"Cumulative incidence by {unit or 'time'} ({cif.ci_level:.0%} interval) beside "
            "1 - Kaplan-Meier with the other reasons censored"
        ),
    )
    fig, ax = plt.subplots(figsize=(6.5, 3.8))
    cif.plot(ax=ax, unit=unit)
    report.figure(
        fig,
        caption=(
            "Cumulative incidence of each outcome type (Aalen-Johansen) with its pointwise "
            "interval shaded."
        ),
        alt="cumulative incidence curves by outcome type",
    )
    tables["competing_incidence"] = table
    tables["competing_models"] = questions
    tests = cif.tests if tests is None else tests
    if tests is not None:
        report.table(
            tests.set_index("cause"),
            caption=f"Gray's test: do the curves of {tests_of} differ for each outcome type?",
        )
        tables["gray_tests"] = tests
