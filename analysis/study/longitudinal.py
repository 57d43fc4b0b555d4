"""The longitudinal analyses in one call: retention, means per wave, test–retest, change, groups.

:func:`longitudinal_study` runs every analysis of this room on a person-period table of scale
scores and gathers the results; :func:`~analysis.report.longitudinal.write_longitudinal_outputs`
writes them as report.html, tables.xlsx and results.json. It takes DataFrames and column names,
not an instrument: scoring and reading the specification's hypotheses are the caller's
(``mhdq longitudinal`` does both).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.attrition.gee import GEEResult
from analysis.longitudinal._checks import check_columns, wave_order
from analysis.longitudinal.change import ReliableChange, WaveMeans, reliable_change, wave_means
from analysis.longitudinal.groups import GroupComparison, compare_groups
from analysis.longitudinal.hypotheses import HypothesisResults, evaluate_hypotheses
from analysis.longitudinal.invariance import LongitudinalInvariance, longitudinal_invariance
from analysis.longitudinal.repeated import repeated_outcome_gee
from analysis.longitudinal.retention import RetentionFlow, retention_flow
from analysis.longitudinal.retest import TestRetest, test_retest

__all__ = ["LongitudinalResults", "longitudinal_study"]


@dataclass(frozen=True)
class LongitudinalResults:
    """Everything :func:`longitudinal_study` found.

    Attributes
    ----------
    waves : tuple of str
        Waves in order.
    scales : tuple of str
        Scales analysed.
    retention : RetentionFlow
    means : WaveMeans
    retest : TestRetest or None
        None when fewer than three respondents were scored at both compared waves.
    change : tuple of ReliableChange
        One per scale with a test–retest result.
    groups : GroupComparison or None
        When a group column was given (compared at ``group_wave``).
    hypotheses : HypothesisResults or None
        When hypotheses were given (tested at ``group_wave``).
    group_wave : str
        The wave whose scores the group comparison and the hypotheses use (the first).
    problems : DataFrame
        Problem counts by ``rule`` and ``severity`` (no rows, values or identifiers).
    synthetic : bool
        True when the data are marked synthetic; every output then says so.
    notes : tuple of str
        Analyses that could not be run and why.
    ci_level : float
    invariance : dict of str to LongitudinalInvariance
        Longitudinal measurement invariance per scale (when item responses were given).
    repeated : GEEResult or None
        Logistic GEE of a repeated binary outcome (``repeated_outcome``) on the same wave's
        scale scores and the wave's position.
    repeated_outcome : str or None
    """

    waves: tuple[str, ...]
    scales: tuple[str, ...]
    retention: RetentionFlow
    means: WaveMeans
    retest: TestRetest | None
    change: tuple[ReliableChange, ...]
    groups: GroupComparison | None
    hypotheses: HypothesisResults | None
    group_wave: str
    problems: pd.DataFrame
    synthetic: bool
    notes: tuple[str, ...] = field(default=())
    ci_level: float = 0.95
    invariance: dict = field(default_factory=dict)
    repeated: GEEResult | None = None
    repeated_outcome: str | None = None

    @property
    def means_without_scalar_invariance(self) -> tuple[str, ...]:
        """Scales whose means per wave are compared without evidence of scalar invariance across
        waves (not tested, or rejected)."""
        return tuple(
            s
            for s in self.scales
            if s not in self.invariance or self.invariance[s].scalar_supported is not True
        )

    def to_dict(self) -> dict:
        """Aggregated results only: no identifiers, no per-person rows."""
        return {
            "synthetic": self.synthetic,
            "waves": list(self.waves),
            "scales": list(self.scales),
            "ci_level": self.ci_level,
            "retention": self.retention.to_dict(),
            "means": self.means.to_dict(),
            "test_retest": None if self.retest is None else self.retest.to_dict(),
            "change": [c.to_dict() for c in self.change],
            "group_wave": self.group_wave,
            "groups": None if self.groups is None else self.groups.to_dict(),
            "hypotheses": None if self.hypotheses is None else self.hypotheses.to_dict(),
            "problems": self.problems.to_dict("records"),
            "notes": list(self.notes),
            "longitudinal_invariance": {s: r.to_dict() for s, r in self.invariance.items()},
            "means_without_scalar_invariance": list(self.means_without_scalar_invariance),
            "repeated_outcome": None
            if self.repeated is None
            else {"outcome": self.repeated_outcome, **self.repeated.to_dict()},
        }


def longitudinal_study(
    scores: pd.DataFrame,
    *,
    scales: Sequence[str],
    id: str = "respondent_id",
    wave: str = "wave",
    date: str | None = None,
    waves: Sequence[str] | None = None,
    retest_waves: tuple[str, str] | None = None,
    group: str | None = None,
    scalar_invariance: bool | None = None,
    hypotheses: Sequence = (),
    problems: pd.DataFrame | None = None,
    synthetic: bool = False,
    ci_level: float = 0.95,
    item_responses: pd.DataFrame | None = None,
    scale_items: Mapping[str, Sequence[str]] | None = None,
    repeated_outcome: str | None = None,
    gee_correlation: str = "exchangeable",
) -> LongitudinalResults:
    """Run the longitudinal analyses on person-period scale scores.

    Parameters
    ----------
    scores : DataFrame
        One row per respondent and wave: ``id``, ``wave``, the ``scales``, and any group
        column or other measures the hypotheses name.
    scales : sequence of str
        Score columns.
    id, wave : str
        Respondent-id and wave columns.
    date : str, optional
        Date column (the between-wave interval of the test–retest result).
    waves : sequence of str, optional
        Waves in order (default: the categories' order of ``wave``, or sorted).
    retest_waves : tuple of two str, optional
        The waves compared for test–retest and individual change (default: the first two).
    group : str, optional
        Grouping column (e.g. fellowship) for the known-groups comparison at the first wave.
    scalar_invariance : bool or None
        Passed to :func:`~analysis.longitudinal.groups.compare_groups`.
    hypotheses : sequence of Hypothesis
        Tested at the first wave with :func:`~analysis.longitudinal.hypotheses.evaluate_hypotheses`.
    problems : DataFrame, optional
        Problem records of the reading (``rule`` and ``severity`` columns); only counts are kept.
    synthetic : bool, default False
        Whether the data are synthetic (labelled so in every output).
    ci_level : float, default 0.95
    item_responses : DataFrame, optional
        Person-period item answers (``id``, ``wave`` and the items; substantive codes, blank
        otherwise) for longitudinal measurement invariance across all waves
        (:func:`~analysis.longitudinal.invariance.longitudinal_invariance`), one model per scale.
    scale_items : mapping of str to sequence of str, optional
        The items of each scale (needed with ``item_responses``); a scale with fewer than three
        items is not tested (a note says so).
    repeated_outcome : str, optional
        A 0/1 column answered at each wave (e.g. attended): logistic GEE on the same wave's
        scale scores and the wave's position
        (:func:`~analysis.longitudinal.repeated.repeated_outcome_gee`).
    gee_correlation : {"exchangeable", "ar1", "independence"}, default "exchangeable"
        Working correlation of that GEE within members.

    Returns
    -------
    LongitudinalResults
    """
    scale_list = tuple(scales)
    check_columns(scores, [id, wave, *scale_list], "scores")
    order = [str(w) for w in wave_order(scores, wave=wave, waves=waves)]
    data = scores.copy()
    data[wave] = pd.Categorical(data[wave].astype(str), categories=order, ordered=True)
    notes: list[str] = []
    flow = retention_flow(data, id=id, wave=wave, waves=order)
    means = wave_means(data, scales=list(scale_list), wave=wave, waves=order, ci_level=ci_level)
    retest: TestRetest | None = None
    change: list[ReliableChange] = []
    if len(order) >= 2:
        pair = retest_waves or (order[0], order[1])
        try:
            retest = test_retest(
                data,
                scales=list(scale_list),
                id=id,
                wave=wave,
                waves=pair,
                date=date,
                ci_level=ci_level,
            )
        except ValueError as exc:
            notes.append(f"test-retest not computed: {exc}")
        if retest is not None:
            for result in retest.results:
                change.append(
                    reliable_change(
                        data,
                        scale=result.scale,
                        id=id,
                        wave=wave,
                        waves=pair,
                        reliability=float(result.icc.at["ICC3", "estimate"]),
                        sdc=result.sdc_agreement,
                        ci_level=ci_level,
                    )
                )
    else:
        notes.append("one wave only: no test-retest or change")
    first = data[data[wave] == order[0]]
    groups = None
    if group is not None:
        try:
            groups = compare_groups(
                first,
                scales=list(scale_list),
                group=group,
                ci_level=ci_level,
                scalar_invariance=scalar_invariance,
            )
        except ValueError as exc:
            notes.append(f"group comparison not computed: {exc}")
    invariance: dict[str, LongitudinalInvariance] = {}
    if item_responses is not None and len(order) >= 2:
        items_of = dict(scale_items or {})
        for scale in scale_list:
            items = list(items_of.get(scale, ()))
            if len(items) < 3:
                notes.append(
                    f"longitudinal invariance of {scale} not tested: {len(items)} item(s); "
                    "need at least three"
                )
                continue
            answers = item_responses.copy()
            answers[wave] = pd.Categorical(
                answers[wave].astype(str), categories=order, ordered=True
            )
            try:
                invariance[scale] = longitudinal_invariance(
                    answers, {scale: items}, id=id, wave=wave, waves=order
                )
            except (ValueError, np.linalg.LinAlgError) as exc:
                notes.append(f"longitudinal invariance of {scale} not computed: {exc}")
    repeated = None
    if repeated_outcome is not None:
        try:
            repeated = repeated_outcome_gee(
                data,
                outcome=repeated_outcome,
                scales=list(scale_list),
                waves=order,
                id=id,
                wave=wave,
                correlation=gee_correlation,
                ci_level=ci_level,
            )
        except ValueError as exc:
            notes.append(f"repeated outcome not modelled: {exc}")
    tested = evaluate_hypotheses(first, list(hypotheses), ci_level=ci_level) if hypotheses else None
    counts = (
        problems.groupby(["rule", "severity"]).size().rename("n").reset_index()
        if problems is not None and len(problems)
        else pd.DataFrame({"rule": [], "severity": [], "n": []})
    )
    return LongitudinalResults(
        waves=tuple(order),
        scales=scale_list,
        retention=flow,
        means=means,
        retest=retest,
        change=tuple(change),
        groups=groups,
        hypotheses=tested,
        group_wave=order[0],
        problems=counts,
        synthetic=synthetic,
        notes=tuple(notes),
        ci_level=ci_level,
        invariance=invariance,
        repeated=repeated,
        repeated_outcome=repeated_outcome if repeated is not None else None,
    )
