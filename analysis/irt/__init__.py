"""Item response theory: graded, GPCM and 2PL models, trait scores, information, fit and DIF."""

from analysis.irt.bifactor import BifactorFit, BifactorGradedModel
from analysis.irt.dif import (
    DIFResult,
    dif_lordif,
    expected_score_curves,
    ordinal_logistic_dif,
    plot_expected_scores,
)
from analysis.irt.fit import M2Result, category_use, item_fit, local_dependence, m2
from analysis.irt.information import (
    category_response_curves,
    empirical_reliability,
    item_information,
    marginal_reliability,
    plot_category_curves,
    plot_information,
    test_information,
)
from analysis.irt.model import GradedResponseModel, IRTData, IRTFit, prepare_responses, quadrature
from analysis.irt.multigroup import MultipleGroupGradedModel, dif_multigroup
from analysis.irt.params_io import load_item_parameters, save_item_parameters
from analysis.irt.scoring import (
    SumScoreTable,
    eap_scores,
    lord_wingersky,
    map_scores,
    score_pattern,
    sum_score_eap,
    sum_score_table,
)
from analysis.irt.simulate import simulate_graded, simulate_items

__all__ = [
    "BifactorFit",
    "BifactorGradedModel",
    "DIFResult",
    "M2Result",
    "MultipleGroupGradedModel",
    "category_response_curves",
    "category_use",
    "dif_lordif",
    "dif_multigroup",
    "expected_score_curves",
    "item_fit",
    "local_dependence",
    "m2",
    "ordinal_logistic_dif",
    "plot_category_curves",
    "plot_expected_scores",
    "GradedResponseModel",
    "IRTData",
    "IRTFit",
    "SumScoreTable",
    "eap_scores",
    "empirical_reliability",
    "item_information",
    "load_item_parameters",
    "lord_wingersky",
    "map_scores",
    "marginal_reliability",
    "plot_information",
    "prepare_responses",
    "quadrature",
    "save_item_parameters",
    "score_pattern",
    "simulate_graded",
    "simulate_items",
    "sum_score_eap",
    "sum_score_table",
    "test_information",
]
