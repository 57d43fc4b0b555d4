"""Exploratory factor analysis.

Polychoric correlations, factorability, factor retention, extraction and rotation (EFA).
"""

from analysis.factor.efa import (
    EFA,
    FitStatistics,
    match_factors,
)
from analysis.factor.extraction import extract_factors
from analysis.factor.factorability import (
    BartlettResult,
    KMOResult,
    as_correlation,
    bartlett_sphericity,
    kmo,
    pairwise_correlation,
)
from analysis.factor.polychoric import (
    PolychoricResult,
    bivariate_normal_cdf,
    bivariate_normal_pdf,
    cor_smooth,
    polychoric,
)
from analysis.factor.retention import (
    MAPResult,
    ParallelAnalysis,
    Scree,
    parallel_analysis,
    scree,
    velicer_map,
)

__all__ = [
    "BartlettResult",
    "EFA",
    "FitStatistics",
    "KMOResult",
    "MAPResult",
    "ParallelAnalysis",
    "PolychoricResult",
    "Scree",
    "as_correlation",
    "bartlett_sphericity",
    "bivariate_normal_cdf",
    "bivariate_normal_pdf",
    "cor_smooth",
    "extract_factors",
    "kmo",
    "match_factors",
    "pairwise_correlation",
    "parallel_analysis",
    "polychoric",
    "scree",
    "velicer_map",
]
