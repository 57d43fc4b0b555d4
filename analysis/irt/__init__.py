"""Item response theory: graded, GPCM and 2PL models, trait scores, information, fit and DIF."""

from analysis.irt.model import GradedResponseModel, IRTData, IRTFit, prepare_responses, quadrature
from analysis.irt.simulate import simulate_graded, simulate_items

__all__ = [
    "GradedResponseModel",
    "IRTData",
    "IRTFit",
    "prepare_responses",
    "quadrature",
    "simulate_graded",
    "simulate_items",
]
