"""Item analysis: how each item is answered and how it hangs together with its scale.

:func:`item_analysis` gives, per item, the response distribution (share per code, floor and
ceiling, missing share), descriptive statistics (``psych::describe``), and the item–scale
statistics of ``psych::alpha``: ``raw.r``, ``std.r``, ``r.cor``, ``r.drop`` and alpha if the item
is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis._results import Result
from analysis.correlation import pairwise_cov, smc
from analysis.reliability import key_items
from analysis.reliability.alpha import alpha_from_covariance, drop_item_covariance
from analysis.reliability.keying import ItemKeys, drop_constant_items
from analysis.study.keys import item_keys
from instrument.spec import Instrument

__all__ = ["ItemAnalysis", "item_analysis"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ItemAnalysis(Result):
    """Per-item statistics of one scale (:func:`item_analysis`).

    Attributes
    ----------
    items : pandas.DataFrame
        One row per item (index ``item``); columns listed in :func:`item_analysis`.
    n_obs : int
        Rows used (all rows for pairwise deletion, complete rows for listwise).
    n_items : int
    missing : str
        ``pairwise`` or ``listwise``.
    codes : tuple of float
        Response codes of the ``share_<code>`` columns.
    scale_min, scale_max : float
        Response scale end points used for floor, ceiling and reversal.
    scale : str or None
    """

    items: pd.DataFrame = field(repr=False)
    n_obs: int
    n_items: int
    missing: str
    codes: tuple[float, ...]
    scale_min: float
    scale_max: float
    scale: str | None = None

    def summary(self) -> pd.DataFrame:
        """The item table with ``scale`` and ``item`` as leading columns (one row per item)."""
        frame = self.items.reset_index()
        frame.insert(0, "scale", self.scale)
        return frame


def _code_label(code: float) -> str:
    return str(int(code)) if float(code).is_integer() else str(code)


def item_analysis(
    items: pd.DataFrame,
    *,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    max_codes: int = 10,
    scale: str | None = None,
) -> ItemAnalysis:
    """Item statistics of one scale, matching ``psych::alpha`` and ``psych::describe``.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item of the scale (at least 2), NaN for missing answers.
    keys : None, mapping, Series, list of str or Instrument, default None
        Reverse keying (see :func:`analysis.reliability.key_items`).
    scale_min, scale_max : float, optional
        Response scale end points. Default: the instrument's response scale when ``keys`` is an
        Instrument, else the smallest and largest value observed over the items.
    missing : {"pairwise", "listwise"}, default "pairwise"
        Pairwise: every statistic uses every answer (psych's default). Listwise: only rows that
        answered every item.
    max_codes : int, default 10
        Response distributions are reported when the items take at most this many distinct
        values (psych's ``response.frequencies(max = 10)``).
    scale : str, optional
        Scale id carried into the result.

    Returns
    -------
    ItemAnalysis
        ``items`` columns: ``keyed`` (+1/-1), ``n`` (answers), ``missing_share``, ``mean``,
        ``sd``, ``skew``, ``kurtosis``, ``floor``, ``ceiling``, ``share_<code>`` for each
        response code, ``raw_r``, ``std_r``, ``r_cor``, ``r_drop``, ``alpha_if_dropped``.

    Notes
    -----
    Distribution and descriptive columns describe the item *as answered* (before reverse
    keying), over its answers: ``share_<code>`` is the share of answers with that code
    (psych ``response.freq``), ``floor``/``ceiling`` the share at ``scale_min``/``scale_max``,
    ``missing_share`` the share of rows without an answer. ``skew`` and ``kurtosis`` are
    ``psych::describe``'s default type 3: ``b1 = m3 / s³`` and ``b2 = m4 / s⁴ - 3`` with
    ``m_r = Σ(x - x̄)^r / n`` and s the (n-1) standard deviation.

    Item–scale columns use the keyed items and reproduce ``psych::alpha(x, keys)$item.stats``
    and ``$alpha.drop`` (psych 2.2.9), with C the pairwise covariance matrix and R = cov2cor(C):

    - ``raw_r``: correlation of the item with the scale score (mean of answered keyed items),
      pairwise (``raw.r``).
    - ``std_r = (R1)_i / sqrt(1'R1)`` (``std.r``).
    - ``r_cor``: as ``std_r`` with the item's own 1 replaced by its squared multiple
      correlation, correcting for item overlap (``r.cor``).
    - ``r_drop``: item–rest correlation ``(C1 - C_ii) / sqrt(C_ii · 1'C_(-i)1)`` (``r.drop``).
    - ``alpha_if_dropped``: raw alpha without the item (``alpha.drop$raw_alpha``); NaN for a
      two-item scale.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.
    Revelle, W. (2022). psych: Procedures for Psychological, Psychometric, and Personality
    Research (R package 2.2.9), functions ``alpha`` and ``describe``.

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 3, 4, 5, 3], "b": [2, 2, 3, 5, 4, 3], "c": [5, 4, 3, 2, 1, 2]})
    >>> res = item_analysis(df, keys={"a": 1, "b": 1, "c": -1}, scale_min=1, scale_max=5)
    >>> round(float(res.items.loc["c", "floor"]), 4)  # one of six answers at the bottom code 1
    0.1667
    >>> list(res.items.columns[:4])
    ['keyed', 'n', 'missing_share', 'mean']
    """
    if isinstance(keys, Instrument):
        keys = item_keys(keys)
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    drop_constant_items(keyed, 2)
    names = list(keyed.data.columns)
    k = len(names)
    raw = keyed.data.copy()
    for n in names:
        if keyed.keys[n] < 0:
            raw[n] = keyed.reverse_constant[n] - raw[n]  # back to the answered codes
    raw_values = raw.to_numpy()
    observed = raw_values[~np.isnan(raw_values)]
    if scale_min is not None and scale_max is not None:
        lo, hi = float(scale_min), float(scale_max)
    elif isinstance(keys, ItemKeys):
        lo = float(keys.scale_min.reindex(names).min())
        hi = float(keys.scale_max.reindex(names).max())
    else:
        lo, hi = float(observed.min()), float(observed.max())

    if isinstance(keys, ItemKeys):
        codes = sorted({c for n in names for c in keys.codes[n]})
    elif (
        scale_min is not None
        and scale_max is not None
        and float(scale_min).is_integer()
        and float(scale_max).is_integer()
        and scale_max - scale_min < max_codes
    ):
        codes = [float(c) for c in range(int(scale_min), int(scale_max) + 1)]
    else:
        codes = sorted(set(observed.tolist()))
    if len(codes) > max_codes:
        codes = []

    answered = raw.notna()
    n_answers = answered.sum()
    rows_total = len(raw)
    mean = raw.mean()
    sd = raw.std(ddof=1)
    centred = raw - mean
    skew = (centred**3).sum() / (n_answers * sd**3)
    kurt = (centred**4).sum() / (n_answers * sd**4) - 3.0
    table = pd.DataFrame(
        {
            "keyed": keyed.keys.astype("int64"),
            "n": n_answers.astype("int64"),
            "missing_share": 1.0 - n_answers / rows_total if rows_total else np.nan,
            "mean": mean,
            "sd": sd,
            "skew": skew,
            "kurtosis": kurt,
            "floor": (raw == lo).sum() / n_answers,
            "ceiling": (raw == hi).sum() / n_answers,
        },
        index=pd.Index(names, name="item"),
    )
    for code in codes:
        table[f"share_{_code_label(code)}"] = (raw == code).sum() / n_answers

    # item-scale statistics on the keyed items (psych::alpha)
    C = pairwise_cov(keyed.data)
    sd_c = np.sqrt(np.diag(C))
    R = C / np.outer(sd_c, sd_c)
    total_score = keyed.data.mean(axis=1, skipna=True)
    table["raw_r"] = keyed.data.corrwith(total_score).to_numpy()
    table["std_r"] = R.sum(axis=0) / np.sqrt(R.sum())
    RC = R.copy()
    np.fill_diagonal(RC, smc(R))
    table["r_cor"] = RC.sum(axis=0) / np.sqrt(RC.sum())
    col_sums = C.sum(axis=0)
    rest_var = np.array([drop_item_covariance(C, i).sum() for i in range(k)])
    table["r_drop"] = (col_sums - np.diag(C)) / np.sqrt(np.diag(C) * rest_var)
    table["alpha_if_dropped"] = [
        alpha_from_covariance(drop_item_covariance(C, i))["raw_alpha"] if k > 2 else np.nan
        for i in range(k)
    ]
    return ItemAnalysis(
        items=table,
        n_obs=keyed.n_obs,
        n_items=k,
        missing=keyed.missing,
        codes=tuple(codes),
        scale_min=lo,
        scale_max=hi,
        scale=scale,
    )
