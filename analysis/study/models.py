"""Hypothesised measurement models generated from an instrument's scale hierarchy.

An instrument specification already states the theory to test: items belong to facets (leaf
scales), facets to themes, themes to a total. :func:`hypothesised_models` turns that hierarchy into
the competing CFA models a validation study compares — one general factor, the themes as correlated
factors, the facets as correlated factors, and the facets under second-order themes — for any
specification, and :func:`skipped_models` says why a model does not apply.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.sem.syntax import MeasurementModel
from instrument.spec import Instrument

__all__ = [
    "hypothesised_models",
    "skipped_models",
    "method_models",
    "answers_only",
    "MODEL_NAMES",
    "METHOD_MODEL_NAMES",
]

#: Model names in order from most to least constrained (the usual comparison order).
MODEL_NAMES = ("one_factor", "themes", "second_order", "facets")

#: The models that ask what a total score and the item keying mean (:func:`method_models`).
METHOD_MODEL_NAMES = ("bifactor", "acquiescence")


def _root(instrument: Instrument, root: str | None) -> str | None:
    """The scale whose subtree is modelled (None: every scale of a flat instrument)."""
    if root is not None:
        instrument.scale(root)  # KeyError naming the scales when unknown
        return root
    hierarchical = [s.id for s in instrument.root_scales if instrument.children(s.id)]
    if not hierarchical:
        return None
    if len(hierarchical) > 1:
        raise ValueError(
            f"root: the instrument has several scale hierarchies ({', '.join(hierarchical)}); "
            "choose one with root="
        )
    return hierarchical[0]


def _leaves_under(instrument: Instrument, scale_id: str) -> list[str]:
    kids = instrument.children(scale_id)
    if not kids:
        return [scale_id]
    out: list[str] = []
    for k in kids:
        out.extend(_leaves_under(instrument, k.id))
    return out


def _items(instrument: Instrument, scale_id: str) -> tuple[str, ...]:
    """The scale's items, with the first positively keyed item first (it becomes the marker)."""
    items = list(instrument.scale_items(scale_id))
    positive = [i for i in items if instrument.item(i).keyed > 0]
    if positive:
        items.remove(positive[0])
        items.insert(0, positive[0])
    return tuple(items)


def _plan(instrument: Instrument, root: str | None):
    """The candidate models (or the reason each does not apply), most constrained first."""
    root = _root(instrument, root)
    if root is None:
        facets = [s.id for s in instrument.root_scales]
        themes: list[str] = []
        general = "general"
    else:
        facets = _leaves_under(instrument, root)
        themes = [s.id for s in instrument.children(root)]
        general = root
    items = [i for f in facets for i in instrument.scale_items(f)]
    keyed = tuple((i, instrument.item(i).keyed) for i in items)
    clash = sorted(set(items) & ({general, *themes, *facets}))
    if clash:
        raise ValueError(
            f"instrument: scale id(s) {', '.join(clash)} are also item ids; factor names must "
            "differ"
        )
    layered = bool(themes) and set(themes) != set(facets)
    candidates: dict[str, MeasurementModel | str] = {
        "one_factor": _one_factor(instrument, general, items, keyed),
        "themes": _themes_model(instrument, themes, keyed, layered),
        "second_order": _second_order_model(instrument, themes, keyed, layered),
        "facets": _facets_model(instrument, facets, keyed),
    }
    # identification checks common to every model
    for name, m in list(candidates.items()):
        if not isinstance(m, str):
            candidates[name] = _not_identified(m) or m
    return candidates


def _one_factor(
    instrument: Instrument, general: str, items: list[str], keyed: tuple
) -> MeasurementModel:
    all_items = [i for i in instrument.item_ids if i in set(items)]
    positive = [i for i in all_items if instrument.item(i).keyed > 0]
    if positive:
        all_items.remove(positive[0])
        all_items.insert(0, positive[0])
    return MeasurementModel(((general, tuple(all_items)),), keyed=keyed, name="one_factor")


def _themes_model(
    instrument: Instrument, themes: list[str], keyed: tuple, layered: bool
) -> MeasurementModel | str:
    if layered and len(themes) >= 2:
        return MeasurementModel(
            tuple((t, _items(instrument, t)) for t in themes), keyed=keyed, name="themes"
        )
    if layered:
        return "only one theme under the root: the themes model is the one-factor model"
    return "no themes above the facets (a flat instrument)"


def _second_order_model(
    instrument: Instrument, themes: list[str], keyed: tuple, layered: bool
) -> MeasurementModel | str:
    if not layered:
        return "no themes above the facets (a flat instrument)"
    factors: list[tuple[str, tuple[str, ...]]] = []
    first: list[tuple[str, tuple[str, ...]]] = []
    exogenous = 0
    for t in themes:
        leaves = _leaves_under(instrument, t)
        if len(leaves) >= 2:
            factors.append((t, tuple(leaves)))
            first.extend((f, _items(instrument, f)) for f in leaves)
            exogenous += 1
        else:  # a leaf theme, or a theme with one facet: a first-order factor of its own
            first.append((leaves[0], _items(instrument, leaves[0])))
            exogenous += 1
    two = [t for t, leaves in factors if len(leaves) == 2]
    if not factors:
        return "no theme has two or more facets"
    if two and exogenous < 2:
        return (
            f"theme {two[0]} has only two facets and no other factor to correlate with: not "
            "identified"
        )
    return MeasurementModel(tuple(factors) + tuple(first), keyed=keyed, name="second_order")


def _facets_model(
    instrument: Instrument, facets: list[str], keyed: tuple
) -> MeasurementModel | str:
    if len(facets) >= 2:
        return MeasurementModel(
            tuple((f, _items(instrument, f)) for f in facets), keyed=keyed, name="facets"
        )
    return "only one facet: the facets model is the one-factor model"


def _not_identified(m: MeasurementModel) -> str | None:
    """Why ``m`` is not identified (a factor with one item, or more parameters than moments)."""
    single = [f for f in m.first_order if len(m.indicators(f)) < 2]
    p = len(m.observed)
    if single:
        return f"factor(s) {', '.join(single)} have fewer than two items: not identified"
    n_lat = len(m.latent)
    endo = {i for _, inds in m.factors for i in inds if i in set(m.latent)}
    exo = n_lat - len(endo)
    q = sum(len(inds) - 1 for _, inds in m.factors) + p + len(endo) + exo * (exo + 1) // 2
    if p * (p + 1) // 2 - q < 0:
        return f"more parameters ({q}) than variances and covariances ({p * (p + 1) // 2})"
    return None


def hypothesised_models(
    instrument: Instrument, *, root: str | None = None
) -> dict[str, MeasurementModel]:
    """The competing CFA models implied by an instrument's scale hierarchy.

    Parameters
    ----------
    instrument : Instrument
        A loaded specification (:func:`instrument.spec.load_instrument`).
    root : str or None, default None
        The scale whose subtree is modelled. None picks the instrument's only scale hierarchy (a
        root scale with children; other root scales, such as a separate criterion scale, are left
        out) or, for a flat instrument whose scales are all roots (bfi), all of its scales.

    Returns
    -------
    dict of str to MeasurementModel
        In the order ``one_factor, themes, second_order, facets`` (most to least constrained),
        keeping only the models that apply (see :func:`skipped_models` for why one is missing):

        - ``one_factor``: every item on one factor named after the root (``general`` when flat);
        - ``themes``: the root's children as correlated factors, each measured by all its items;
        - ``second_order``: the facets (leaf scales) as first-order factors, each theme a
          second-order factor over its facets; a theme with a single facet (or a leaf theme) enters
          as a first-order factor correlated with the themes;
        - ``facets``: the leaf scales as correlated factors (for bfi: its five scales).

    Notes
    -----
    Fit them to :func:`answers_only` data (not-applicable and missing codes blanked); when items
    can be not applicable, ``CFA(model, missing="ml")`` keeps the respondents who skipped them.
    Factors are named by scale id. Items keep their raw coding: reverse-keyed items are modelled
    as answered and get negative loadings (the model's ``keyed`` holds the key for
    :mod:`analysis.sem.validity`). The marker (loading fixed to 1) of each factor is its first
    positively keyed item, so that factors point in the keyed direction; that changes no fit
    statistic. In a deeper hierarchy the second-order factors are the root's children and their
    first-order factors are all leaf scales below them (intermediate levels are not modelled).
    ``one_factor ⊂ themes ⊂ second_order ⊂ facets`` are nested (the themes model is the second-order
    model with zero facet disturbances, a boundary constraint), so
    :func:`analysis.sem.cfa.compare_models` gives Δχ² tests between neighbours.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> models = hypothesised_models(load_instrument("examples/bfi.yaml"))
    >>> list(models)
    ['one_factor', 'facets']
    >>> models["facets"].indicators("agree")  # A1 is reverse keyed: A2 is the marker
    ('A2', 'A1', 'A3', 'A4', 'A5')
    """
    return {k: v for k, v in _plan(instrument, root).items() if isinstance(v, MeasurementModel)}


def skipped_models(instrument: Instrument, *, root: str | None = None) -> dict[str, str]:
    """Why each model of :data:`MODEL_NAMES` left out by :func:`hypothesised_models` does not apply.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> skipped_models(load_instrument("examples/bfi.yaml"))["themes"]
    'no themes above the facets (a flat instrument)'
    """
    return {k: v for k, v in _plan(instrument, root).items() if isinstance(v, str)}


def method_models(
    instrument: Instrument, *, root: str | None = None
) -> tuple[dict[str, MeasurementModel], dict[str, str]]:
    """The bifactor and acquiescence (method-factor) models of an instrument's scale hierarchy.

    Parameters
    ----------
    instrument : Instrument
    root : str or None, default None
        As :func:`hypothesised_models`.

    Returns
    -------
    (dict of str to MeasurementModel, dict of str to str)
        The models that apply, and why the others of :data:`METHOD_MODEL_NAMES` do not:

        - ``bifactor``: a general factor (named after the root, ``general`` when flat) over every
          item plus the facets, all factors orthogonal; its standardized loadings give ECV, PUC
          and ω_h (:func:`analysis.sem.bifactor.bifactor_indices`). Needs two or more facets of
          three or more items each.
        - ``acquiescence``: the facets model plus a factor ``acquiescence`` loading on every item
          with every loading fixed to 1 on the raw-coded items, uncorrelated with the facets; its
          variance is the acquiescence (agreeing whatever the content) variance. Needs reverse-keyed
          items (without them it cannot be told from the content factors).

    Notes
    -----
    The method factor follows the random-intercept approach (Maydeu-Olivares & Coffman, 2006) in
    the form of Billiet & McClendon (2000): one style factor with equal loadings on the items as
    answered (not reverse-scored), orthogonal to the content factors. Fixing the loadings to 1
    rather than estimating them keeps the factor a response style (the same shift on every
    answer): with free loadings it would be an unconstrained extra factor, absorbing any content
    that the facets miss. Its variance is identified only because the reverse-keyed items load on
    the content factors with the opposite sign. The bifactor model is identified here with a
    marker per factor (the first positively keyed item of each) instead of lavaan's ``std.lv =
    TRUE``; with orthogonal factors this changes no fit statistic and no standardized loading.

    References
    ----------
    Billiet, J. B., & McClendon, M. J. (2000). Modeling acquiescence in measurement models for two
    balanced sets of items. *Structural Equation Modeling, 7*(4), 608-628.
    Maydeu-Olivares, A., & Coffman, D. L. (2006). Random intercept item factor analysis.
    *Psychological Methods, 11*(4), 344-362.
    Reise, S. P. (2012). The rediscovery of bifactor measurement models. *Multivariate Behavioral
    Research, 47*(5), 667-696.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> models, why = method_models(load_instrument("examples/bfi.yaml"))
    >>> sorted(models), models["bifactor"].latent[0]
    (['acquiescence', 'bifactor'], 'general')
    """
    plan = _plan(instrument, root)
    out: dict[str, MeasurementModel] = {}
    why: dict[str, str] = {}
    one, facets = plan.get("one_factor"), plan.get("facets")
    if not isinstance(one, MeasurementModel) or not isinstance(facets, MeasurementModel):
        reason = facets if isinstance(facets, str) else "no facets model"
        return {}, {"bifactor": reason, "acquiescence": reason}
    general = one.latent[0]
    small = [f for f in facets.latent if len(facets.indicators(f)) < 3]
    if small:
        why["bifactor"] = (
            f"facet(s) {', '.join(small)} have fewer than three items: their group factors are "
            "not identified beside the general factor"
        )
    else:
        factors = one.factors + facets.factors
        out["bifactor"] = MeasurementModel(
            factors,
            keyed=one.keyed,
            name="bifactor",
            orthogonal=tuple(f for f, _ in factors),
        )
    items = one.indicators(general)
    if all(k > 0 for _, k in one.keyed):
        why["acquiescence"] = (
            "no reverse-keyed items: an acquiescence factor cannot be told from the content"
        )
    elif "acquiescence" in set(facets.latent) | set(items):
        why["acquiescence"] = "a scale or item is already called 'acquiescence'"
    else:
        out["acquiescence"] = MeasurementModel(
            facets.factors + (("acquiescence", items),),
            keyed=one.keyed,
            name="acquiescence",
            orthogonal=("acquiescence",),
            fixed_loadings=tuple(("acquiescence", i, 1.0) for i in items),
        )
    return out, why


def answers_only(data: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """The instrument's item columns with every code that is not an answer set to NaN.

    Not-applicable codes, declared missing codes and anything outside the response scale are not
    positions on the scale and must not enter a covariance matrix; a CFA on raw codes would treat
    a not-applicable ``9`` as a very high answer.

    Parameters
    ----------
    data : pandas.DataFrame
        Responses with one column per item (other columns are dropped).
    instrument : Instrument

    Returns
    -------
    pandas.DataFrame
        Float columns, one per item of the instrument present in ``data``, same index.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> answers_only(pd.DataFrame({"A1": [1, 6, 9], "A2": [2, None, 0]}), bfi)
        A1   A2
    0  1.0  2.0
    1  6.0  NaN
    2  NaN  NaN
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
    cols = [i for i in instrument.item_ids if i in data.columns]
    if not cols:
        raise ValueError(f"data: none of the {instrument.metadata.short_name} items is a column")
    out = {}
    for item in cols:
        x = pd.to_numeric(data[item], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        valid = np.isin(x, np.asarray(instrument.response_scale_of(item).codes, dtype=float))
        out[item] = np.where(valid, x, np.nan)
    return pd.DataFrame(out, index=data.index)
