"""Content validity from expert relevance ratings: I-CVI, modified kappa, S-CVI/Ave and S-CVI/UA.

Experts rate how relevant each item is to the definition of its facet on a 4-point scale
(1 = not relevant, 2 = somewhat relevant, 3 = quite relevant, 4 = highly relevant; Lynn 1986).
An item's I-CVI is the share of experts rating it 3 or 4. Because a high I-CVI can arise by
chance when few experts rate, Polit, Beck & Owen (2007) adjust it for chance agreement as a
modified kappa and grade it with the Cicchetti & Sparrow (1981) / Fleiss (1981) bands.

References
----------
Lynn, M. R. (1986). Determination and quantification of content validity. *Nursing Research*,
35(6), 382-385.

Polit, D. F., & Beck, C. T. (2006). The content validity index: Are you sure you know what's being
reported? Critique and recommendations. *Research in Nursing & Health*, 29(5), 489-497.

Polit, D. F., Beck, C. T., & Owen, S. V. (2007). Is the CVI an acceptable indicator of content
validity? Appraisal and recommendations. *Research in Nursing & Health*, 30(4), 459-467.
doi:10.1002/nur.20199

Cicchetti, D. V., & Sparrow, S. (1981). Developing criteria for establishing interrater reliability
of specific items. *American Journal of Mental Deficiency*, 86, 127-137.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from math import comb

import numpy as np
import pandas as pd

from analysis._results import Result

__all__ = [
    "RELEVANT",
    "chance_agreement",
    "modified_kappa",
    "kappa_rating",
    "content_validity",
    "ContentValidity",
]

#: Ratings that count as relevant on the 4-point scale.
RELEVANT = (3, 4)
#: Allowed ratings.
RATINGS = (1, 2, 3, 4)
#: Lower bounds of the modified-kappa bands (Polit, Beck & Owen 2007, after Cicchetti & Sparrow
#: 1981 and Fleiss 1981): excellent > .74, good .60-.74, fair .40-.59, poor < .40.
KAPPA_BANDS = (("excellent", 0.74, False), ("good", 0.60, True), ("fair", 0.40, True))
DECISIONS = {"excellent": "keep", "good": "revise", "fair": "revise", "poor": "drop"}
ITEM_COLUMNS = [
    "scale",
    "n_experts",
    "n_relevant",
    "i_cvi",
    "p_c",
    "kappa",
    "rating",
    "decision",
    "meets_lynn",
]
SCALE_COLUMNS = ["n_items", "n_experts", "s_cvi_ave", "s_cvi_ua", "n_keep", "n_revise", "n_drop"]


def chance_agreement(n_experts: int, n_relevant: int) -> float:
    """Probability that ``n_relevant`` of ``n_experts`` agree by chance: C(N, A) * 0.5**N.

    Examples
    --------
    >>> round(chance_agreement(10, 8), 3)  # Polit, Beck & Owen 2007, Table 2
    0.044
    """
    if n_experts < 1 or not 0 <= n_relevant <= n_experts:
        raise ValueError(
            f"n_relevant must be between 0 and n_experts >= 1 (got {n_relevant} of {n_experts})"
        )
    return comb(n_experts, n_relevant) * 0.5**n_experts


def modified_kappa(i_cvi: float, p_c: float) -> float:
    """k* = (I-CVI - p_c) / (1 - p_c), the I-CVI adjusted for chance agreement.

    Examples
    --------
    >>> round(modified_kappa(0.8, chance_agreement(10, 8)), 2)
    0.79
    """
    return (i_cvi - p_c) / (1 - p_c)


def kappa_rating(kappa: float) -> str:
    """``excellent`` (> .74), ``good`` (.60-.74), ``fair`` (.40-.59) or ``poor`` (< .40); ``""`` for NaN.

    Examples
    --------
    >>> kappa_rating(0.76), kappa_rating(0.66), kappa_rating(0.40), kappa_rating(0.2)
    ('excellent', 'good', 'fair', 'poor')
    """
    if kappa != kappa:
        return ""
    for name, bound, inclusive in KAPPA_BANDS:
        if kappa > bound or (inclusive and kappa == bound):
            return name
    return "poor"


def _meets_lynn(n_experts: int, i_cvi: float) -> bool:
    """Lynn's (1986) standard as Polit & Beck (2006) state it: 1.00 with 3-5 experts, else >= .78."""
    if n_experts < 3 or i_cvi != i_cvi:
        return False
    # .78 is 7 of 9 as published (two decimals), so compare the rounded value
    return i_cvi >= 1.0 if n_experts <= 5 else round(i_cvi, 2) >= 0.78


@dataclass(frozen=True, slots=True, repr=False)
class ContentValidity(Result):
    """Item- and scale-level content validity.

    Attributes
    ----------
    items : DataFrame
        One row per item (index ``item``) with columns ``scale`` (the item's facet, or "" when not
        given), ``n_experts`` (experts who rated it), ``n_relevant`` (rated 3 or 4), ``i_cvi``,
        ``p_c`` (chance agreement), ``kappa`` (modified kappa k*), ``rating`` (excellent, good,
        fair, poor), ``decision`` (keep, revise, drop) and ``meets_lynn``.
    scales : DataFrame
        One row per scale (index ``scale``) with ``n_items``, ``n_experts``, ``s_cvi_ave`` (mean
        I-CVI), ``s_cvi_ua`` (share of items every rating expert rated 3 or 4) and the counts of
        items to keep, revise and drop.
    n_experts : int
        Experts in the ratings (columns).
    """

    items: pd.DataFrame
    scales: pd.DataFrame
    n_experts: int

    def summary(self) -> pd.DataFrame:
        """The item table (one row per item)."""
        return self.items.copy()


def content_validity(
    ratings: pd.DataFrame,
    *,
    scales: Mapping[str, Iterable[str]] | None = None,
    item_scale: Mapping[str, str] | None = None,
) -> ContentValidity:
    """Item-level and scale-level content validity indices from relevance ratings.

    Parameters
    ----------
    ratings : DataFrame
        Items (index) by experts (columns), ratings 1-4; missing ratings (NaN) are left out of
        that item's count of experts.
    scales : mapping of str to iterable of str, optional
        Scale id -> its item ids, for S-CVI. Items not in ``ratings`` are ignored. Default: one
        scale ``all`` with every item.
    item_scale : mapping of str to str, optional
        Item id -> its facet, copied to the ``scale`` column of the item table.

    Returns
    -------
    ContentValidity
        Item and scale tables (see its attributes).

    Raises
    ------
    ValueError
        If a rating is not one of 1, 2, 3, 4, an item is listed twice, or no item has a rating.

    Notes
    -----
    With N experts rating an item and A of them rating it 3 or 4:

    .. math::

        \\text{I-CVI} = A/N, \\quad p_c = \\binom{N}{A} 0.5^N, \\quad
        k^* = \\frac{\\text{I-CVI} - p_c}{1 - p_c}

    S-CVI/Ave is the mean I-CVI of a scale's items; S-CVI/UA the share of its items with
    I-CVI = 1. Decisions follow Polit, Beck & Owen (2007): keep when k* > .74 (excellent), revise
    at .60-.74 (good) or .40-.59 (fair), drop below .40 (poor). ``meets_lynn`` applies Lynn's
    (1986) standard: I-CVI 1.00 with 3-5 experts, at least .78 with 6 or more (Polit & Beck 2006).
    There is no R function for these indices in psych or lavaan; the formulas are the published
    ones and the tests check the published table values.

    References
    ----------
    Polit, Beck & Owen (2007), *Research in Nursing & Health* 30:459; Lynn (1986),
    *Nursing Research* 35:382; Polit & Beck (2006), *Research in Nursing & Health* 29:489.

    Examples
    --------
    >>> ratings = pd.DataFrame({"e1": [4, 3, 2], "e2": [4, 4, 1], "e3": [3, 2, 4]},
    ...                        index=pd.Index(["q1", "q2", "q3"], name="item"))
    >>> result = content_validity(ratings)
    >>> result.items["n_relevant"].tolist(), result.items["i_cvi"].round(2).tolist()
    ([3, 2, 1], [1.0, 0.67, 0.33])
    >>> result.scales.loc["all", ["s_cvi_ave", "s_cvi_ua"]].astype(float).round(2).tolist()
    [0.67, 0.33]
    """
    if not isinstance(ratings, pd.DataFrame):
        raise TypeError(
            f"ratings: expected a DataFrame of items x experts, got {type(ratings).__name__}"
        )
    if ratings.index.has_duplicates:
        dups = sorted(set(ratings.index[ratings.index.duplicated()].astype(str)))
        raise ValueError(f"ratings: items listed more than once: {', '.join(dups)}")
    values = ratings.apply(pd.to_numeric, errors="coerce").astype("float64")
    bad = values.notna() & ~values.isin(RATINGS)
    bad |= ratings.notna() & values.isna()
    if bad.to_numpy().any():
        cells = [
            f"{ratings.index[i]}/{ratings.columns[j]}"
            for i, j in zip(*np.nonzero(bad.to_numpy()), strict=True)
        ][:10]
        raise ValueError(
            f"ratings: values other than 1, 2, 3, 4 at (item/expert) {', '.join(cells)}"
        )
    if not values.notna().to_numpy().any():
        raise ValueError(
            f"ratings: no item has a rating ({values.shape[1]} expert column(s), "
            f"{values.shape[0]} item(s), every cell blank); nothing to compute"
        )
    n_experts = values.notna().sum(axis=1).astype("int64")
    n_relevant = values.isin(RELEVANT).sum(axis=1).astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        i_cvi = n_relevant / n_experts.where(n_experts > 0)
    p_c = pd.Series(
        [
            chance_agreement(int(n), int(a)) if n > 0 else np.nan
            for n, a in zip(n_experts, n_relevant, strict=True)
        ],
        index=values.index,
        dtype="float64",
    )
    kappa = (i_cvi - p_c) / (1 - p_c)
    rating = kappa.map(kappa_rating)
    items = pd.DataFrame(
        {
            "scale": [(item_scale or {}).get(i, "") for i in values.index],
            "n_experts": n_experts,
            "n_relevant": n_relevant,
            "i_cvi": i_cvi.astype("float64"),
            "p_c": p_c,
            "kappa": kappa.astype("float64"),
            "rating": rating,
            "decision": rating.map(lambda r: DECISIONS.get(r, "")),
            "meets_lynn": [
                _meets_lynn(int(n), float(c)) for n, c in zip(n_experts, i_cvi, strict=True)
            ],
        },
        index=pd.Index(values.index, name="item"),
    )[ITEM_COLUMNS]
    groups = (
        {"all": list(values.index)} if scales is None else {k: list(v) for k, v in scales.items()}
    )
    rows = {}
    for scale_id, members in groups.items():
        present = [m for m in members if m in items.index]
        part = items.loc[present]
        rated = part[part["n_experts"] > 0]
        rows[scale_id] = {
            "n_items": len(present),
            "n_experts": int(values.loc[present].notna().any(axis=0).sum()) if present else 0,
            "s_cvi_ave": float(rated["i_cvi"].mean()) if len(rated) else np.nan,
            "s_cvi_ua": float((rated["i_cvi"] == 1.0).mean()) if len(rated) else np.nan,
            "n_keep": int((part["decision"] == "keep").sum()),
            "n_revise": int((part["decision"] == "revise").sum()),
            "n_drop": int((part["decision"] == "drop").sum()),
        }
    scale_table = pd.DataFrame.from_dict(rows, orient="index", columns=SCALE_COLUMNS)
    scale_table.index.name = "scale"
    return ContentValidity(items=items, scales=scale_table, n_experts=int(values.shape[1]))
