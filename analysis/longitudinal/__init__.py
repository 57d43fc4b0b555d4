"""Repeated waves of the same people, and comparisons across groups.

Public API (each name lives in the module named for its concept):

- :func:`~analysis.longitudinal.retest.test_retest` - ICC(2,1)/ICC(3,1) single and average with
  F tests and CIs, SEM and SDC between two waves;
- :func:`~analysis.longitudinal.groups.compare_groups` - known groups: Welch ANOVA, Games–Howell,
  Hedges' g with CIs;
"""

from analysis.longitudinal.groups import GroupComparison, compare_groups
from analysis.longitudinal.retest import RetestResult, TestRetest, icc_intervals, test_retest

__all__ = [
    "GroupComparison",
    "compare_groups",
    "RetestResult",
    "TestRetest",
    "icc_intervals",
    "test_retest",
]
