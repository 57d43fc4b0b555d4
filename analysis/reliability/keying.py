"""Item checks and reverse keying shared by every reliability coefficient."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from analysis.correlation import pairwise_cor

__all__ = [
    "MISSING_RULES",
    "ItemKeys",
    "KeyedItems",
    "key_items",
    "drop_constant_items",
    "check_ci_level",
    "check_boot_settings",
    "item_correlations",
]


MISSING_RULES = ("pairwise", "listwise")


@dataclass(frozen=True, slots=True)
class ItemKeys:
    """Keys and response scales of a set of items, as an instrument specification gives them.

    The statistics take this plain record, never an instrument object:
    :func:`analysis.study.item_keys` builds it from an :class:`~instrument.spec.Instrument`.

    Attributes
    ----------
    keys : pandas.Series
        +1 / -1 per item id.
    scale_min, scale_max : pandas.Series
        End points of each item's response scale.
    codes : dict of str to tuple of float
        The answers each item's response scale allows.
    source : str
        What the keys came from (named in error messages), e.g. the instrument's short name.
    """

    keys: pd.Series
    scale_min: pd.Series
    scale_max: pd.Series
    codes: Mapping[Any, tuple[float, ...]]
    source: str = "the instrument"


@dataclass(frozen=True, slots=True)
class KeyedItems:
    """Items after checking and reverse keying.

    Attributes
    ----------
    data : pandas.DataFrame
        The items (float64) with reverse-keyed items reversed, rows kept as given, or only the
        complete rows when ``missing == "listwise"``.
    keys : pandas.Series
        +1 / -1 per item.
    reverse_constant : pandas.Series
        ``min + max`` of each item's response scale, used as ``min + max - x`` for reversed items.
    n_obs : int
        Rows used for sample-size based statistics (all rows for pairwise, complete rows for
        listwise; psych's ``nrow(x)``).
    n_rows : int
        Rows in the input.
    missing : str
        ``pairwise`` or ``listwise``.
    """

    data: pd.DataFrame
    keys: pd.Series
    reverse_constant: pd.Series
    n_obs: int
    n_rows: int
    missing: str


def _numeric_items(items: pd.DataFrame, *, min_items: int) -> pd.DataFrame:
    if not isinstance(items, pd.DataFrame):
        raise TypeError(
            f"items: expected a pandas DataFrame of item responses, got {type(items).__name__}"
        )
    if items.shape[1] < min_items:
        raise ValueError(f"items: need at least {min_items} item columns, got {items.shape[1]}")
    if items.columns.has_duplicates:
        dup = sorted({str(c) for c in items.columns[items.columns.duplicated()]})
        raise ValueError(f"items: duplicated column names {', '.join(dup)}")
    dtypes = set(items.dtypes)  # the distinct dtypes: usually one for all items
    if all(pd.api.types.is_numeric_dtype(t) and not pd.api.types.is_bool_dtype(t) for t in dtypes):
        # numbers already: one float64 block at once (a column at a time cost ~9 ms on 36 items,
        # and a consolidated block makes every later to_numpy a view)
        values = items.to_numpy(dtype="float64", na_value=np.nan, copy=True)
        frame = pd.DataFrame(values, index=items.index, columns=items.columns, copy=False)
    else:
        frame = _convert_columns(items)
        values = frame.to_numpy()
    if np.isinf(values).any():
        hit = np.isinf(values).any(axis=0)
        infinite = [str(c) for c, bad in zip(frame.columns, hit, strict=True) if bad]
        raise ValueError(f"items: column(s) {', '.join(infinite)} hold infinite values")
    return frame


def _convert_columns(items: pd.DataFrame) -> pd.DataFrame:
    """Items with text or boolean columns: each converted to numbers, or an error naming them."""
    bad = []
    out = {}
    for name in items.columns:
        col = items[name]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            converted = pd.to_numeric(col, errors="coerce")
            if (converted.isna() & col.notna()).any():
                bad.append(str(name))
                continue
            col = converted
        out[name] = col.astype("float64")
    if bad:
        raise ValueError(
            f"items: column(s) {', '.join(bad)} hold non-numeric values; item responses must be "
            "numbers (missing answers as empty cells / NaN)"
        )
    return pd.DataFrame(out, index=items.index)


def _resolve_keys(names: pd.Index, keys: Any) -> tuple[pd.Series, ItemKeys | None]:
    if keys is None:
        return pd.Series(1, index=names, dtype="int64"), None
    if isinstance(keys, ItemKeys):
        unknown = [str(n) for n in names if n not in keys.keys.index]
        if unknown:
            raise ValueError(f"keys: item(s) {', '.join(unknown)} are not in {keys.source}")
        return keys.keys.reindex(names).astype("int64"), keys
    if isinstance(keys, (Mapping, pd.Series)):
        mapping = dict(keys.items())
        absent = [str(n) for n in names if n not in mapping]
        if absent:
            raise ValueError(f"keys: no key (+1 or -1) given for item(s) {', '.join(absent)}")
        values = pd.Series([mapping[n] for n in names], index=names)
        wrong = [str(n) for n, v in values.items() if v not in (1, -1)]
        if wrong:
            raise ValueError(f"keys: item(s) {', '.join(wrong)} must be keyed +1 or -1")
        return values.astype("int64"), None
    if isinstance(keys, Iterable) and not isinstance(keys, (str, bytes)):
        reversed_names = list(keys)
        unknown = [str(n) for n in reversed_names if n not in set(names)]
        if unknown:
            raise ValueError(f"keys: reversed item(s) {', '.join(unknown)} are not among the items")
        return pd.Series(
            [-1 if n in set(reversed_names) else 1 for n in names], index=names, dtype="int64"
        ), None
    raise TypeError(
        "keys: expected None, a mapping or Series item -> +1/-1, a list of reversed item names, "
        "or ItemKeys (analysis.study.item_keys(instrument) builds them from a specification); "
        f"got {type(keys).__name__}"
    )


def key_items(
    items: pd.DataFrame,
    *,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    min_items: int = 1,
) -> KeyedItems:
    """Check item responses and reverse the reverse-keyed items.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item, NaN for a missing answer.
    keys : None, mapping, Series, list of str or ItemKeys, default None
        +1/-1 per item (mapping or Series), the names of the reversed items (list), or
        :class:`ItemKeys` (keys and response scales, e.g. from an instrument specification by
        :func:`analysis.study.item_keys`). None: no item is reversed.
    scale_min, scale_max : float, optional
        End points of the response scale, for reversing as ``scale_min + scale_max - x``.
    missing : {"pairwise", "listwise"}, default "pairwise"
        ``listwise`` keeps only the rows that answered every item.
    min_items : int, default 1
        Fewest item columns accepted.

    Returns
    -------
    KeyedItems

    Notes
    -----
    The reversal constant ``min + max`` is, in order of preference: ``scale_min + scale_max``;
    the item's response scale in :class:`ItemKeys`; the smallest plus the largest value observed
    over all items (``psych::alpha``: ``max(x) + min(x) - x``). With :class:`ItemKeys`, every
    value must be one of the item's response codes (not-applicable and missing codes set to NaN).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 5], "b": [5, 4, 1]})
    >>> key_items(df, keys={"a": 1, "b": -1}, scale_min=1, scale_max=5).data["b"].tolist()
    [1.0, 2.0, 5.0]
    """
    if missing not in MISSING_RULES:
        raise ValueError(f"missing: must be one of {', '.join(MISSING_RULES)}, got {missing!r}")
    frame = _numeric_items(items, min_items=min_items)
    names = frame.columns  # the Index itself: Series built on it skip re-parsing the names
    key_series, item_keys = _resolve_keys(names, keys)
    if (scale_min is None) != (scale_max is None):
        raise ValueError(
            "scale_min and scale_max: give both end points of the response scale or neither"
        )
    if scale_min is not None and scale_max is not None:
        if not scale_min < scale_max:
            raise ValueError(
                f"scale_min ({scale_min}) must be smaller than scale_max ({scale_max})"
            )
        constant = pd.Series(float(scale_min) + float(scale_max), index=names)
    elif item_keys is not None:
        constant = (item_keys.scale_min.reindex(names) + item_keys.scale_max.reindex(names)).astype(
            "float64"
        )
    else:
        values = frame.to_numpy()
        # fmin/fmax skip NaN without copying the answered cells out (NaN when none is)
        total = float(np.fmin.reduce(values, axis=None) + np.fmax.reduce(values, axis=None))
        constant = pd.Series(total, index=names)
    if item_keys is not None:
        outside = [str(n) for n in names if not frame[n].dropna().isin(item_keys.codes[n]).all()]
        if outside:
            raise ValueError(
                f"items: column(s) {', '.join(outside)} hold values that are not answers on the "
                "item's response scale; set not-applicable and missing codes to NaN first "
                "(instrument scoring does this)"
            )
    n_rows = len(frame)
    if missing == "listwise":
        frame = frame.dropna(how="any")
    reversed_items = list(names[key_series.to_numpy() < 0])
    if reversed_items:
        frame = frame.copy()
        for n in reversed_items:
            frame[n] = constant[n] - frame[n]
    return KeyedItems(frame, key_series, constant, len(frame), n_rows, missing)


def drop_constant_items(keyed: KeyedItems, min_items: int) -> None:
    # a positive, finite SD is two different answers: max > min ignoring NaN (fmax/fmin skip
    # NaN), without the SDs' passes over the data (pandas' std cost ~30 ms on 20,000 x 36)
    values = keyed.data.to_numpy(dtype="float64", na_value=np.nan)
    with np.errstate(invalid="ignore"):
        varies = np.fmax.reduce(values, axis=0) > np.fmin.reduce(values, axis=0)
    bad = [str(n) for n, v in zip(keyed.data.columns, varies, strict=True) if not v]
    if bad:
        raise ValueError(
            f"items: item(s) {', '.join(bad)} have no variance (or fewer than 2 answers)"
            + (" after listwise deletion" if keyed.missing == "listwise" else "")
            + "; drop them before computing reliability (psych::alpha deletes them with a warning)"
        )
    if keyed.data.shape[1] < min_items:
        raise ValueError(f"items: need at least {min_items} items, got {keyed.data.shape[1]}")


def check_ci_level(ci_level: float) -> None:
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level: must be between 0 and 1 (e.g. 0.95), got {ci_level!r}")


def check_boot_settings(n_boot: Any, chunk_size: Any) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot: must be a whole number of at least 2 resamples, got {n_boot!r}")
    if chunk_size is not None and (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise ValueError(f"chunk_size: must be a positive whole number, got {chunk_size!r}")


def item_correlations(keyed: KeyedItems, correlation: str) -> np.ndarray:
    if correlation == "pearson":
        return pairwise_cor(keyed.data)
    from analysis.factor.polychoric import polychoric

    return polychoric(keyed.data).rho.to_numpy(dtype="float64")
