"""Argument checks shared by the longitudinal statistics (named, raising ValueError/TypeError)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def check_ci_level(ci_level: float) -> None:
    if isinstance(ci_level, bool) or not isinstance(ci_level, (int, float, np.floating)):
        raise TypeError(f"ci_level: expected a number between 0 and 1, got {ci_level!r}")
    if not 0.0 < float(ci_level) < 1.0:
        raise ValueError(f"ci_level: {ci_level!r} is not between 0 and 1 (e.g. 0.95)")


def check_columns(data: pd.DataFrame, columns: Sequence[str], argument: str) -> None:
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"{argument}: expected a DataFrame, got {type(data).__name__}")
    missing = [c for c in columns if c not in data.columns]
    if missing:
        shown = ", ".join(map(str, list(data.columns)[:12]))
        raise ValueError(
            f"{argument}: column(s) {', '.join(map(repr, missing))} not found; columns are: {shown}"
        )


def wave_order(data: pd.DataFrame, *, wave: str, waves: Sequence[str] | None = None) -> list:
    """The waves in order: ``waves`` as given (checked), categories' order, or sorted values."""
    present = pd.unique(data[wave].dropna())
    if waves is not None:
        waves = list(waves)
        if len(set(waves)) != len(waves):
            raise ValueError(f"waves: {waves!r} names a wave twice")
        absent = [w for w in waves if w not in set(present)]
        if absent:
            raise ValueError(
                f"waves: {', '.join(map(repr, absent))} not found in column {wave!r}; "
                f"waves present: {', '.join(map(repr, present))}"
            )
        return waves
    column = data[wave]
    if isinstance(column.dtype, pd.CategoricalDtype):
        return [c for c in column.cat.categories if c in set(present)]
    try:
        return sorted(present)
    except TypeError:
        return list(present)


def pair_waves(data: pd.DataFrame, *, wave: str, waves: Sequence[str] | None) -> tuple:
    """The two waves a test–retest or change analysis compares."""
    if waves is not None and len(list(waves)) != 2:
        raise ValueError(f"waves: expected two waves (first, second), got {list(waves)!r}")
    order = wave_order(data, wave=wave, waves=waves)
    if len(order) < 2:
        raise ValueError(
            f"data: column {wave!r} holds {len(order)} wave(s); comparing waves needs two"
        )
    return order[0], order[1]


def group_labels(values: pd.Series) -> pd.Series:
    """Group values as text labels: whole numbers without ``.0`` (1.0 -> "1"), blanks as NA."""

    def label(value):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
            return pd.NA
        if isinstance(value, (float, np.floating)) and float(value).is_integer():
            return str(int(value))
        return str(value)

    return values.map(label).astype("string")
