"""Reliability of a scale: Cronbach's alpha, McDonald's omega, split-half coefficients, SEM.

Every coefficient reproduces R's psych (Revelle) to numerical precision on the same data:
:func:`cronbach_alpha` is ``psych::alpha``, :func:`omega` is ``psych::omega``, :func:`split_half`
is ``psych::splitHalf``. Ordinal versions (Gadermann, Guhn & Zumbo, 2012) use the polychoric
correlations of :func:`analysis.factor.polychoric.polychoric`. :func:`reliability_table` runs all of
them for every scale of an instrument specification.

Missing answers are handled pairwise by default, as psych does: each covariance uses every
respondent who answered both items, and ``n_obs`` is the number of rows (psych's ``nrow(x)``).
``missing="listwise"`` first drops every row with a missing answer on the scale's items. Every
result says which was used in its ``missing`` field.

Reverse keying: items keyed -1 are reversed as ``min + max - x`` (psych's convention), where
``min`` and ``max`` are the response scale's end points: given as ``scale_min``/``scale_max``,
read from the instrument's response scale of each item, or, failing both, the smallest and largest
value observed over all the scale's items (what ``psych::alpha(x, keys=)`` does).
"""

from analysis.reliability.alpha import (
    AlphaResult,
    bootstrap_alpha,
    cronbach_alpha,
    feldt_interval,
    ordinal_alpha,
    standard_error_of_measurement,
)
from analysis.reliability.bootstrap import MAX_BOOT_REFITS
from analysis.reliability.keying import ItemKeys, KeyedItems, key_items
from analysis.reliability.omega import OmegaResult, omega, ordinal_omega
from analysis.reliability.results import BootstrapResult, Coefficient
from analysis.reliability.split_half import SplitHalfResult, split_half

__all__ = [
    "AlphaResult",
    "BootstrapResult",
    "Coefficient",
    "ItemKeys",
    "KeyedItems",
    "MAX_BOOT_REFITS",
    "OmegaResult",
    "SplitHalfResult",
    "bootstrap_alpha",
    "cronbach_alpha",
    "feldt_interval",
    "key_items",
    "omega",
    "ordinal_alpha",
    "ordinal_omega",
    "split_half",
    "standard_error_of_measurement",
]
