"""Instrument-aware orchestration.

The validation study, hypothesised models, item analysis by scale, content validity.
"""

from analysis.study.content_validity import (
    RELEVANT,
    ContentValidity,
    chance_agreement,
    content_validity,
    kappa_rating,
    modified_kappa,
)
from analysis.study.items import (
    ItemAnalysis,
    item_analysis,
)
from analysis.study.keys import item_keys
from analysis.study.models import (
    MODEL_NAMES,
    answers_only,
    hypothesised_models,
    skipped_models,
)
from analysis.study.reliability_table import (
    TABLE_OMEGA_MIN_N,
    TABLE_OMEGA_N_BOOT,
    ReliabilityTable,
    reliability_table,
)
from analysis.study.validate import (
    MIN_RESPONDENTS,
    DataSummary,
    Step,
    ValidationResults,
    criterion_scales,
    responses_from_frame,
    structure_items,
    validate,
)

__all__ = [
    "item_keys",
    "ReliabilityTable",
    "TABLE_OMEGA_MIN_N",
    "TABLE_OMEGA_N_BOOT",
    "reliability_table",
    "ContentValidity",
    "DataSummary",
    "ItemAnalysis",
    "MIN_RESPONDENTS",
    "MODEL_NAMES",
    "RELEVANT",
    "Step",
    "ValidationResults",
    "answers_only",
    "chance_agreement",
    "content_validity",
    "criterion_scales",
    "hypothesised_models",
    "item_analysis",
    "kappa_rating",
    "modified_kappa",
    "responses_from_frame",
    "skipped_models",
    "structure_items",
    "validate",
]
