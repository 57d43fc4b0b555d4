"""A repeated binary outcome across waves (e.g. attending at each wave): logistic GEE on the
scale scores of the same wave and the wave's position, members as clusters."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.attrition.gee import CORRELATIONS, GEEModel, GEEResult

__all__ = ["repeated_outcome_gee"]


def repeated_outcome_gee(
    data: pd.DataFrame,
    *,
    outcome: str,
    scales: Sequence[str],
    waves: Sequence[str],
    id: str = "respondent_id",
    wave: str = "wave",
    correlation: str = "exchangeable",
    ci_level: float = 0.95,
) -> GEEResult:
    """Logistic GEE of ``outcome`` (0/1 at each wave) on the same wave's scale scores and the
    wave's position (0, 1, 2, ... in ``waves``), with the working correlation within members.

    Parameters
    ----------
    data : DataFrame
        Person-period rows: ``id``, ``wave``, ``outcome`` and the ``scales``. Rows missing the
        outcome or a score are left out (GEE is valid when they are missing completely at
        random given the predictors).
    outcome : str
        0/1 column (1 = e.g. attended).
    scales : sequence of str
    waves : sequence of str
        Wave labels in order; the wave's position is a predictor and the time of the AR(1)
        working correlation (a skipped wave is a lag of 2).
    correlation : {"exchangeable", "ar1", "independence"}, default "exchangeable"
    ci_level : float, default 0.95

    Returns
    -------
    GEEResult
        Terms ``intercept``, the scales and ``wave_index``; robust SEs, odds ratios.

    Notes
    -----
    :class:`~analysis.attrition.gee.GEEModel` (statsmodels GEE with geepack's moment estimators),
    matched to ``geepack::geeglm(outcome ~ ..., id = id, waves = wave_index, family = binomial,
    corstr = correlation)``.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> d = pd.DataFrame({"respondent_id": np.repeat(np.arange(80), 3),
    ...                   "wave": np.tile(["t0", "t6", "t12"], 80),
    ...                   "cohesion": rng.normal(3, 1, 240)})
    >>> d["attended"] = (rng.random(240) < 1 / (1 + np.exp(-(d["cohesion"] - 3)))).astype(int)
    >>> res = repeated_outcome_gee(d, outcome="attended", scales=["cohesion"],
    ...                            waves=["t0", "t6", "t12"])
    >>> res.summary()["term"].tolist()
    ['intercept', 'cohesion', 'wave_index']
    """
    if correlation not in CORRELATIONS:
        raise ValueError(
            f"correlation: must be one of {', '.join(CORRELATIONS)}; got {correlation!r}"
        )
    missing = [c for c in (id, wave, outcome, *scales) if c not in data.columns]
    if missing:
        raise ValueError(f"column(s) not found: {', '.join(missing)}")
    position = {str(w): i for i, w in enumerate(waves)}
    frame = pd.DataFrame(
        {
            "id": data[id].to_numpy(),
            "wave_index": data[wave].astype(str).map(position).to_numpy(dtype=float),
            "y": pd.to_numeric(data[outcome], errors="coerce").to_numpy(dtype=float),
        }
    )
    for s in scales:
        frame[s] = pd.to_numeric(data[s], errors="coerce").to_numpy(dtype=float)
    bad = ~np.isin(frame["y"].dropna(), (0.0, 1.0))
    if bad.any():
        raise ValueError(
            f"{outcome}: must be 0 or 1 (blank when not known); found "
            f"{int(bad.sum())} other value(s)"
        )
    frame = frame.dropna().reset_index(drop=True)
    if frame["id"].nunique() < 2 or frame["y"].nunique() < 2:
        raise ValueError(
            f"{outcome}: needs both 0 and 1 and at least two members with complete rows"
        )
    model = GEEModel(correlation=correlation, ci_level=ci_level).fit(
        frame[[*scales, "wave_index"]], frame["y"], groups=frame["id"], time=frame["wave_index"]
    )
    return model.result()
