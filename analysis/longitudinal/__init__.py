"""Repeated waves of the same people, and comparisons across groups.

Public API (each name lives in the module named for its concept):

- :func:`~analysis.longitudinal.retention.retention_flow` - who was seen at each wave (the
  counts of a CONSORT-style flow diagram, and the diagram);
- :func:`~analysis.longitudinal.change.wave_means` - scale means per wave with CIs;
- :func:`~analysis.longitudinal.change.reliable_change` - individual change: reliable change
  index (Jacobson–Truax) and change beyond the smallest detectable change;
- :func:`~analysis.longitudinal.retest.test_retest` - ICC(2,1)/ICC(3,1) single and average with
  F tests and CIs, SEM and SDC between two waves;
- :func:`~analysis.longitudinal.groups.compare_groups` - known groups: Welch ANOVA, Games–Howell,
  Hedges' g with CIs;
- :func:`~analysis.longitudinal.invariance.longitudinal_invariance` - longitudinal measurement
  invariance (configural, metric, scalar across waves; FIML);
- :func:`~analysis.longitudinal.hypotheses.evaluate_hypotheses` - construct-validity hypotheses
  stated in advance (COSMIN), each with the observed value, CI and whether it was confirmed.
"""

from analysis.longitudinal.change import ReliableChange, WaveMeans, reliable_change, wave_means
from analysis.longitudinal.groups import GroupComparison, compare_groups
from analysis.longitudinal.hypotheses import HypothesisResults, evaluate_hypotheses
from analysis.longitudinal.invariance import (
    LongitudinalInvariance,
    LongitudinalInvarianceCFA,
    longitudinal_invariance,
)
from analysis.longitudinal.retention import RetentionFlow, retention_flow
from analysis.longitudinal.retest import RetestResult, TestRetest, icc_intervals, test_retest

__all__ = [
    "GroupComparison",
    "HypothesisResults",
    "LongitudinalInvariance",
    "LongitudinalInvarianceCFA",
    "ReliableChange",
    "RetentionFlow",
    "RetestResult",
    "TestRetest",
    "WaveMeans",
    "compare_groups",
    "evaluate_hypotheses",
    "icc_intervals",
    "longitudinal_invariance",
    "reliable_change",
    "retention_flow",
    "test_retest",
    "wave_means",
]
