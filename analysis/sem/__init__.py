"""Structural equation models.

CFA (ML, FIML), ordinal CFA (WLSMV), measurement invariance, convergent and discriminant validity.
"""

from analysis.sem.cfa import CFA, compare_models
from analysis.sem.engine import rmsea_interval
from analysis.sem.fiml import PatternMoments, pattern_moments
from analysis.sem.invariance import (
    STEPS,
    InvarianceResult,
    MultiGroupCFA,
    measurement_invariance,
)
from analysis.sem.missingness import CompleteCaseReport, complete_case_report
from analysis.sem.syntax import MeasurementModel
from analysis.sem.validity import (
    ValidityResult,
    average_variance_extracted,
    composite_reliability,
    fornell_larcker,
    htmt,
    validity,
)
from analysis.sem.wlsmv import (
    OrdinalCFA,
    OrdinalStatistics,
    ordinal_statistics,
)

__all__ = [
    "CFA",
    "CompleteCaseReport",
    "InvarianceResult",
    "MeasurementModel",
    "MultiGroupCFA",
    "OrdinalCFA",
    "OrdinalStatistics",
    "PatternMoments",
    "STEPS",
    "ValidityResult",
    "average_variance_extracted",
    "compare_models",
    "complete_case_report",
    "composite_reliability",
    "fornell_larcker",
    "htmt",
    "measurement_invariance",
    "ordinal_statistics",
    "pattern_moments",
    "rmsea_interval",
    "validity",
]
