"""Synthetic cohorts from an instrument specification, study planning, the end-to-end demo."""

from analysis.simulate.cohort import (
    SimulatedCohort,
    facet_correlation_matrix,
    population_covariance,
    simulate_cohort,
    theme_scales,
)
from analysis.simulate.demo import (
    SYNTHETIC_NOTICE,
    DemoResult,
    run_demo,
)
from analysis.simulate.plan import (
    DEFAULT_GRID,
    SYNTHETIC_NOTE,
    TARGET_METRICS,
    SampleSizeSearch,
    StudyPlan,
    find_sample_size,
    parse_targets,
    plan_study,
)
from analysis.simulate.waves import OUTCOME_TYPES, SimulatedStudy, simulate_study

__all__ = [
    "DEFAULT_GRID",
    "OUTCOME_TYPES",
    "SimulatedStudy",
    "DemoResult",
    "SYNTHETIC_NOTE",
    "SYNTHETIC_NOTICE",
    "SampleSizeSearch",
    "SimulatedCohort",
    "StudyPlan",
    "TARGET_METRICS",
    "facet_correlation_matrix",
    "find_sample_size",
    "parse_targets",
    "plan_study",
    "population_covariance",
    "run_demo",
    "simulate_cohort",
    "simulate_study",
    "theme_scales",
]
