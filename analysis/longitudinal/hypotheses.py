"""Testing construct-validity hypotheses stated in advance (COSMIN's hypotheses-testing box).

:func:`evaluate_hypotheses` takes the hypotheses of a specification
(:func:`instrument.hypotheses.hypotheses_of`) and a data frame of scores and other measures,
and reports each hypothesis with the observed value, its confidence interval and whether it
was confirmed, and the share confirmed against COSMIN's 75% criterion.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis._results import Result
from analysis.longitudinal._checks import check_ci_level, group_labels

__all__ = ["COSMIN_SHARE", "HypothesisResults", "evaluate_hypotheses"]

#: COSMIN: construct validity is sufficient ("+") when at least 75% of hypotheses are confirmed.
COSMIN_SHARE = 0.75


@dataclass(frozen=True, slots=True, repr=False)
class HypothesisResults(Result):
    """Each hypothesis tested, and the share confirmed.

    Attributes
    ----------
    table : DataFrame
        One row per hypothesis: ``id, kind, statement, estimate`` (Pearson r, or Hedges' g of
        the higher minus the lower group), ``ci_low, ci_high, p_value, n_obs, confirmed``
        (True/False; None when not evaluable), ``note`` (why not evaluable).
    n_evaluated : int
        Hypotheses that could be tested on these data.
    n_confirmed : int
        Of those, how many were confirmed.
    share_confirmed : float
        ``n_confirmed / n_evaluated`` (NaN when none could be tested).
    meets_cosmin : bool or None
        ``share_confirmed >= 0.75``; None when none could be tested.
    ci_level : float
        Level of the intervals.
    """

    table: pd.DataFrame
    n_evaluated: int
    n_confirmed: int
    share_confirmed: float
    meets_cosmin: bool | None
    ci_level: float

    def summary(self) -> pd.DataFrame:
        out = self.table.copy()
        out["ci_level"] = self.ci_level
        return out

    def to_dict(self) -> dict:
        return {
            "n_evaluated": self.n_evaluated,
            "n_confirmed": self.n_confirmed,
            "share_confirmed": self.share_confirmed,
            "meets_cosmin": self.meets_cosmin,
            "cosmin_share": COSMIN_SHARE,
            "ci_level": self.ci_level,
            "table": self.table.to_dict("records"),
        }


def evaluate_hypotheses(
    data: pd.DataFrame,
    hypotheses: list,
    *,
    ci_level: float = 0.95,
) -> HypothesisResults:
    """Test each hypothesis on the data.

    Parameters
    ----------
    data : DataFrame
        One row per respondent with the score columns, other measures and grouping columns the
        hypotheses name.
    hypotheses : list of Hypothesis
        From :func:`instrument.hypotheses.hypotheses_of` or
        :func:`instrument.hypotheses.parse_hypotheses`.
    ci_level : float, default 0.95
        Level of the intervals.

    Returns
    -------
    HypothesisResults
        ``table`` (columns listed on the class), counts and the share confirmed.

    Notes
    -----
    A hypothesis is confirmed when the point estimate satisfies the stated comparison
    (direction and size), as COSMIN rates hypotheses; the interval is shown beside it.
    Correlations: Pearson r on the pairwise complete rows with Fisher's z interval
    (pingouin ``compute_esci(eftype="r")``), as R's ``cor.test``. Group differences: Hedges' g of
    the ``higher`` minus the ``lower`` group (pingouin ``compute_effsize``/``compute_esci``) and
    Welch's t test p value (R ``t.test(var.equal = FALSE)``). A hypothesis naming a column
    or a group that is not in the data is listed as not evaluable and left out of the share.

    References
    ----------
    Prinsen, C. A. C., et al. (2018). COSMIN guideline for systematic reviews of patient-reported
    outcome measures. *Quality of Life Research*, 27, 1147–1157. Terwee, C. B., et al. (2007).
    Quality criteria were proposed for measurement properties of health status questionnaires.
    *Journal of Clinical Epidemiology*, 60, 34–42.

    Examples
    --------
    >>> from instrument.hypotheses import parse_hypotheses
    >>> rng = np.random.default_rng(1)
    >>> x = rng.normal(size=200)
    >>> data = pd.DataFrame({"meaning": x, "total": -x + rng.normal(size=200)})
    >>> result = evaluate_hypotheses(data, parse_hypotheses(["meaning: r <= -.30 with total"]))
    >>> bool(result.table.at[0, "confirmed"]), result.share_confirmed
    (True, 1.0)
    """
    check_ci_level(ci_level)
    if not isinstance(data, pd.DataFrame):
        raise TypeError(f"data: expected a DataFrame, got {type(data).__name__}")
    rows = [_one(data, h, ci_level) for h in hypotheses]
    table = pd.DataFrame(
        rows,
        columns=[
            "id",
            "kind",
            "statement",
            "estimate",
            "ci_low",
            "ci_high",
            "p_value",
            "n_obs",
            "confirmed",
            "note",
        ],
    )
    evaluated = table["confirmed"].notna()
    n_evaluated = int(evaluated.sum())
    n_confirmed = int(table.loc[evaluated, "confirmed"].astype(bool).sum())
    share = n_confirmed / n_evaluated if n_evaluated else float("nan")
    return HypothesisResults(
        table=table,
        n_evaluated=n_evaluated,
        n_confirmed=n_confirmed,
        share_confirmed=share,
        meets_cosmin=bool(share >= COSMIN_SHARE) if n_evaluated else None,
        ci_level=ci_level,
    )


def _one(data: pd.DataFrame, h: Any, ci_level: float) -> dict:
    import pingouin as pg

    row: dict[str, Any] = {
        "id": h.id,
        "kind": h.kind,
        "statement": h.statement,
        "estimate": np.nan,
        "ci_low": np.nan,
        "ci_high": np.nan,
        "p_value": np.nan,
        "n_obs": 0,
        "confirmed": None,
        "note": "",
    }
    needed = [h.scale, h.other] if h.kind == "correlation" else [h.scale, h.group]
    missing = [c for c in needed if c not in data.columns]
    if missing:
        row["note"] = f"not evaluable: column(s) {', '.join(missing)} not in the data"
        return row
    if h.kind == "correlation":
        pair = data[[h.scale, h.other]].apply(pd.to_numeric, errors="coerce").dropna()
        n = len(pair)
        if n < 4:
            row["note"] = f"not evaluable: {n} complete pairs (4 needed)"
            return row
        r, p = stats.pearsonr(pair[h.scale], pair[h.other])
        ci = pg.compute_esci(
            stat=float(r), nx=n, ny=n, eftype="r", confidence=ci_level, decimals=15
        )
        row.update(estimate=float(r), ci_low=float(ci[0]), ci_high=float(ci[1]), p_value=float(p))
        row["n_obs"] = n
    else:
        groups = group_labels(data[h.group])
        scores = pd.to_numeric(data[h.scale], errors="coerce")
        high = scores[groups == h.higher].dropna().to_numpy()
        low = scores[groups == h.lower].dropna().to_numpy()
        if len(high) < 2 or len(low) < 2:
            row["note"] = (
                f"not evaluable: groups {h.higher} and {h.lower} of {h.group} need 2 scores each "
                f"(have {len(high)} and {len(low)})"
            )
            return row
        g = float(pg.compute_effsize(high, low, paired=False, eftype="hedges"))
        ci = pg.compute_esci(
            stat=g, nx=len(high), ny=len(low), eftype="hedges", confidence=ci_level, decimals=15
        )
        p = stats.ttest_ind(high, low, equal_var=False).pvalue
        row.update(estimate=g, ci_low=float(ci[0]), ci_high=float(ci[1]), p_value=float(p))
        row["n_obs"] = len(high) + len(low)
    row["confirmed"] = bool(h.holds(row["estimate"]))
    return row
