"""Counting-process (start, stop] data from waves, for Cox models with time-varying scores."""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["person_period"]


def person_period(
    waves: pd.DataFrame,
    followup: pd.DataFrame,
    *,
    id_column: str,
    wave_time: str,
    time: str,
    event: str,
    covariates,
) -> pd.DataFrame:
    """Build (start, stop] person-period rows from repeated waves and a follow-up table.

    Parameters
    ----------
    waves : DataFrame
        One row per respondent and wave: ``id_column``, ``wave_time`` (time of the wave since
        baseline, in the unit of ``time``) and the ``covariates`` measured at that wave.
    followup : DataFrame
        One row per respondent: ``id_column``, ``time`` (end of follow-up) and ``event``
        (1 = the event at ``time``, 0 = censored).
    id_column, wave_time, time, event : str
        Column names.
    covariates : list of str
        Columns of ``waves`` carried into the rows (scale scores, background covariates).

    Returns
    -------
    DataFrame
        ``id_column, start, stop, event`` and the covariates; one row per wave that starts before
        the end of follow-up. A row runs from its wave to the next wave (or the end of follow-up)
        and carries that wave's values, so each respondent's latest scores describe the interval
        in which the event may occur; the event is on the last row only. Sorted by id and start.

    Notes
    -----
    The layout of ``survival::tmerge`` and of the ``unfold`` function in Fox & Weisberg's
    appendix, for ``coxph(Surv(start, stop, event) ~ ...)``. The first wave of every respondent
    must be at time 0 (baseline); waves at or after the end of follow-up are dropped (nothing is
    at risk after it).

    Raises
    ------
    ValueError
        Naming the columns that are missing, ids without follow-up, duplicated waves, a first wave
        after 0, or follow-up that ends at or before baseline.

    References
    ----------
    Fox J, Weisberg S (2019). Cox proportional-hazards regression for survival data in R. An
    appendix to An R Companion to Applied Regression, 3rd ed.
    Therneau T, Crowson C, Atkinson E (2023). Using time dependent covariates and time dependent
    coefficients in the Cox model. survival package vignette.

    Examples
    --------
    >>> waves = pd.DataFrame({"id": ["a", "a", "b"], "month": [0, 6, 0], "score": [3.0, 2.0, 4.0]})
    >>> fu = pd.DataFrame({"id": ["a", "b"], "months": [9.0, 12.0], "left": [1, 0]})
    >>> person_period(waves, fu, id_column="id", wave_time="month", time="months", event="left",
    ...               covariates=["score"]).to_dict("list")  # doctest: +NORMALIZE_WHITESPACE
    {'id': ['a', 'a', 'b'], 'start': [0.0, 6.0, 0.0], 'stop': [6.0, 9.0, 12.0],
     'event': [0, 1, 0], 'score': [3.0, 2.0, 4.0]}
    """
    covariates = [str(c) for c in covariates]
    missing = [c for c in (id_column, wave_time, *covariates) if c not in waves.columns]
    if missing:
        raise ValueError(f"waves: column(s) not found: {', '.join(missing)}")
    missing = [c for c in (id_column, time, event) if c not in followup.columns]
    if missing:
        raise ValueError(f"followup: column(s) not found: {', '.join(missing)}")
    if followup[id_column].duplicated().any():
        dup = followup.loc[followup[id_column].duplicated(), id_column].iloc[0]
        raise ValueError(f"followup: id {dup!r} appears more than once")
    w = waves[[id_column, wave_time, *covariates]].copy()
    w[wave_time] = pd.to_numeric(w[wave_time], errors="coerce")
    if w[wave_time].isna().any():
        row = int(np.flatnonzero(w[wave_time].isna().to_numpy())[0])
        raise ValueError(f"waves: {wave_time} is missing or not a number in row {row}")
    if w.duplicated([id_column, wave_time]).any():
        row = int(np.flatnonzero(w.duplicated([id_column, wave_time]).to_numpy())[0])
        raise ValueError(f"waves: row {row} repeats a wave time of the same id")
    fu = followup[[id_column, time, event]].rename(columns={time: "_end", event: "_event"})
    unknown = sorted(set(w[id_column]) - set(fu[id_column]))
    if unknown:
        raise ValueError(
            f"waves: {len(unknown)} id(s) have no follow-up row (the first is {unknown[0]!r})"
        )
    w = w.sort_values([id_column, wave_time], kind="stable")
    first = w.groupby(id_column, sort=False)[wave_time].transform("min")
    if (first != 0).any():
        bad = w.loc[first != 0, id_column].iloc[0]
        raise ValueError(f"waves: the first wave of id {bad!r} is not at time 0 (baseline)")
    merged = w.merge(fu, on=id_column, how="left", validate="many_to_one")
    end = pd.to_numeric(merged["_end"], errors="coerce")
    if end.isna().any() or (end <= 0).any():
        bad = merged.loc[end.isna() | (end <= 0), id_column].iloc[0]
        raise ValueError(f"followup: {time} of id {bad!r} is missing or not after baseline")
    merged = merged[merged[wave_time] < end].copy()
    nxt = merged.groupby(id_column, sort=False)[wave_time].shift(-1)
    last = nxt.isna()
    out = pd.DataFrame(
        {
            id_column: merged[id_column].to_numpy(),
            "start": merged[wave_time].to_numpy(dtype=float),
            "stop": np.where(last, merged["_end"], nxt).astype(float),
            "event": np.where(last, merged["_event"], 0).astype(int),
        }
    )
    for c in covariates:
        out[c] = merged[c].to_numpy()
    return out.reset_index(drop=True)
