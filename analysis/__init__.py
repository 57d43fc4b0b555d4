"""What is learned from answers: reliability, factor models, SEM, attrition, studies and reports.

The names below are the public API a notebook user calls::

    from analysis import cronbach_alpha, omega, CFA, validate

They are loaded lazily (PEP 562): ``import analysis`` imports none of the statistical rooms, so it
stays cheap; the first use of a name imports the room that holds it. Each name lives in one room
(``analysis.reliability``, ``analysis.factor``, ``analysis.sem``, ``analysis.attrition``,
``analysis.study``, ``analysis.simulate``, ``analysis.report``); ``docs/architecture.md`` describes
the rooms and the directions in which they may import each other.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

#: Public name -> the module that defines it.
_API: dict[str, str] = {
    # reliability
    "cronbach_alpha": "analysis.reliability",
    "bootstrap_alpha": "analysis.reliability",
    "omega": "analysis.reliability",
    "ordinal_alpha": "analysis.reliability",
    "ordinal_omega": "analysis.reliability",
    "split_half": "analysis.reliability",
    "feldt_interval": "analysis.reliability",
    "key_items": "analysis.reliability",
    "standard_error_of_measurement": "analysis.reliability",
    # correlations and factor analysis
    "pairwise_correlation": "analysis.factor",
    "smc": "analysis.correlation",
    "polychoric": "analysis.factor",
    "kmo": "analysis.factor",
    "bartlett_sphericity": "analysis.factor",
    "parallel_analysis": "analysis.factor",
    "velicer_map": "analysis.factor",
    "scree": "analysis.factor",
    "extract_factors": "analysis.factor",
    "EFA": "analysis.factor",
    # structural equation models
    "MeasurementModel": "analysis.sem",
    "CFA": "analysis.sem",
    "OrdinalCFA": "analysis.sem",
    "MultiGroupCFA": "analysis.sem",
    "compare_models": "analysis.sem",
    "measurement_invariance": "analysis.sem",
    "validity": "analysis.sem",
    "composite_reliability": "analysis.sem",
    "average_variance_extracted": "analysis.sem",
    "fornell_larcker": "analysis.sem",
    "htmt": "analysis.sem",
    # attrition
    "CoxModel": "analysis.attrition",
    "LogisticModel": "analysis.attrition",
    "kaplan_meier": "analysis.attrition",
    "logrank_test": "analysis.attrition",
    "concordance_index": "analysis.attrition",
    "cox_zph": "analysis.attrition",
    "join_followup": "analysis.attrition",
    "fit_attrition": "analysis.attrition",
    "riley_sample_size": "analysis.attrition",
    # studies on an instrument
    "item_analysis": "analysis.study",
    "reliability_table": "analysis.study",
    "hypothesised_models": "analysis.study",
    "content_validity": "analysis.study",
    "validate": "analysis.study",
    # simulation and planning
    "simulate_cohort": "analysis.simulate",
    "plan_study": "analysis.simulate",
    "run_demo": "analysis.simulate",
    # reports
    "write_validation_outputs": "analysis.report",
}

__all__ = [
    "CFA",
    "CoxModel",
    "EFA",
    "LogisticModel",
    "MeasurementModel",
    "MultiGroupCFA",
    "OrdinalCFA",
    "average_variance_extracted",
    "bartlett_sphericity",
    "bootstrap_alpha",
    "compare_models",
    "composite_reliability",
    "concordance_index",
    "content_validity",
    "cox_zph",
    "cronbach_alpha",
    "extract_factors",
    "feldt_interval",
    "fit_attrition",
    "fornell_larcker",
    "htmt",
    "hypothesised_models",
    "item_analysis",
    "join_followup",
    "kaplan_meier",
    "key_items",
    "kmo",
    "logrank_test",
    "measurement_invariance",
    "omega",
    "ordinal_alpha",
    "ordinal_omega",
    "pairwise_correlation",
    "parallel_analysis",
    "plan_study",
    "polychoric",
    "reliability_table",
    "riley_sample_size",
    "run_demo",
    "scree",
    "simulate_cohort",
    "smc",
    "split_half",
    "standard_error_of_measurement",
    "validate",
    "validity",
    "velicer_map",
    "write_validation_outputs",
]


def __getattr__(name: str) -> Any:
    module = _API.get(name)
    if module is None:
        raise AttributeError(f"module 'analysis' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static tools see the real objects
    from analysis.attrition import (
        CoxModel,
        LogisticModel,
        concordance_index,
        cox_zph,
        fit_attrition,
        join_followup,
        kaplan_meier,
        logrank_test,
        riley_sample_size,
    )
    from analysis.correlation import smc
    from analysis.factor import (
        EFA,
        bartlett_sphericity,
        extract_factors,
        kmo,
        pairwise_correlation,
        parallel_analysis,
        polychoric,
        scree,
        velicer_map,
    )
    from analysis.reliability import (
        bootstrap_alpha,
        cronbach_alpha,
        feldt_interval,
        key_items,
        omega,
        ordinal_alpha,
        ordinal_omega,
        split_half,
        standard_error_of_measurement,
    )
    from analysis.report import write_validation_outputs
    from analysis.sem import (
        CFA,
        MeasurementModel,
        MultiGroupCFA,
        OrdinalCFA,
        average_variance_extracted,
        compare_models,
        composite_reliability,
        fornell_larcker,
        htmt,
        measurement_invariance,
        validity,
    )
    from analysis.simulate import plan_study, run_demo, simulate_cohort
    from analysis.study import hypothesised_models, item_analysis
    from analysis.study.content_validity import content_validity
    from analysis.study.reliability_table import reliability_table
    from analysis.study.validate import validate
