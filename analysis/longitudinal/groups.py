"""Known-groups comparisons: scale scores across groups (fellowships), variances not assumed equal.

:func:`compare_groups` gives, per scale, Welch's ANOVA, Games–Howell pairwise comparisons with
simultaneous intervals, and Hedges' g with its confidence interval for every pair, all from
pingouin (``welch_anova``, ``pairwise_gameshowell``, ``compute_effsize``, ``compute_esci``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import stats

from analysis._results import Result
from analysis.longitudinal._checks import check_ci_level, check_columns, group_labels

__all__ = ["GroupComparison", "compare_groups", "tukey_quantile"]

#: What the note says when means are compared without evidence of scalar invariance.
NO_SCALAR_INVARIANCE = (
    "means are compared without evidence of scalar (intercept) invariance across groups: "
    "differences may reflect how the items work in each group rather than the construct"
)


@dataclass(frozen=True, slots=True, repr=False)
class GroupComparison(Result):
    """Scale scores compared across groups.

    Attributes
    ----------
    group : str
        The grouping column.
    descriptives : DataFrame
        One row per scale and group: ``scale, group, n_obs, mean, sd``.
    welch : DataFrame
        One row per scale: ``scale, f, df1, df2, p_value, eta_squared, n_obs, n_groups``.
    pairs : DataFrame
        One row per scale and pair of groups: ``scale, group_a, group_b, mean_a, mean_b, n_a,
        n_b, diff (mean_a - mean_b), se, t, df, p_value (Games–Howell), diff_ci_low,
        diff_ci_high (simultaneous, studentized range), hedges_g, g_ci_low, g_ci_high``.
    ci_level : float
        Level of every interval.
    scalar_invariance : bool or None
        Whether scalar invariance across the groups was supported (set by the caller from an
        invariance analysis); None when not examined.
    notes : tuple of str
        Caveats, e.g. :data:`NO_SCALAR_INVARIANCE`.
    """

    group: str
    descriptives: pd.DataFrame
    welch: pd.DataFrame
    pairs: pd.DataFrame
    ci_level: float
    scalar_invariance: bool | None
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> pd.DataFrame:
        """The pairwise table (Games–Howell and Hedges' g), one row per scale and pair."""
        out = self.pairs.copy()
        out["ci_level"] = self.ci_level
        return out

    def to_dict(self) -> dict:
        return {
            "group": self.group,
            "ci_level": self.ci_level,
            "scalar_invariance": self.scalar_invariance,
            "notes": list(self.notes),
            "descriptives": self.descriptives.to_dict("records"),
            "welch": self.welch.to_dict("records"),
            "pairs": self.pairs.to_dict("records"),
        }


def tukey_quantile(level: float, k: int, df: float) -> float:
    """Quantile of the studentized range (R ``qtukey(level, k, df)``).

    scipy's ``studentized_range.ppf`` brackets the root from scratch (about 15 evaluations of
    a numerically integrated CDF); the secant steps here start from statsmodels' ``qsturng``
    approximation (about 3 significant digits) and need 4-6 evaluations of the same CDF.
    """

    def gap(x: float) -> float:
        return float(stats.studentized_range.cdf(x, k, df)) - level

    try:
        from statsmodels.stats.libqsturng import qsturng

        x0 = float(qsturng(level, k, df))
    except (ValueError, TypeError):  # outside qsturng's table (level < .1 or > .999)
        return float(stats.studentized_range.ppf(level, k, df))
    x1 = x0 * 1.001
    f0, f1 = gap(x0), gap(x1)
    for _ in range(30):
        if f1 == f0 or abs(x1 - x0) <= 1e-12 * abs(x1):
            break
        x0, x1, f0 = x1, x1 - f1 * (x1 - x0) / (f1 - f0), f1
        f1 = gap(x1)
    return x1


def compare_groups(
    data: pd.DataFrame,
    *,
    scales: list[str] | str,
    group: str,
    ci_level: float = 0.95,
    scalar_invariance: bool | None = None,
    min_group_size: int = 2,
) -> GroupComparison:
    """Welch ANOVA, Games–Howell pairs and Hedges' g of scale scores across groups.

    Parameters
    ----------
    data : DataFrame
        One row per respondent with the ``scales`` and the ``group`` column.
    scales : list of str or str
        Score columns to compare.
    group : str
        Grouping column (e.g. the fellowship). Rows without a group or a score are left out.
    ci_level : float, default 0.95
        Level of the Games–Howell simultaneous intervals and of Hedges' g intervals.
    scalar_invariance : bool or None, default None
        Result of a measurement-invariance analysis across the same groups, if one was run.
        Unless True, the result carries a note that means are compared without evidence of
        scalar invariance.
    min_group_size : int, default 2
        Groups with fewer scored respondents are left out with a note.

    Returns
    -------
    GroupComparison
        ``descriptives``, ``welch`` and ``pairs`` tables (columns listed on the class).

    Notes
    -----
    Welch's F (pingouin ``welch_anova``) matches R's ``oneway.test(y ~ g, var.equal = FALSE)``.
    Games–Howell (pingouin ``pairwise_gameshowell``): Welch's SE
    :math:`\\sqrt{s_a^2/n_a + s_b^2/n_b}` and df, p from the studentized range with k groups,
    :math:`P(Q_{k,df} > \\sqrt{2}|t|)` (R ``ptukey``). The simultaneous interval, which
    pingouin does not give, is :math:`\\bar x_a - \\bar x_b \\pm q_{1-α;k,df} SE/\\sqrt 2`.
    Hedges' g (pingouin ``compute_effsize(eftype="hedges")``) is Cohen's d with the pooled SD
    times :math:`1 - 3/(4(n_a+n_b) - 9)`; its interval (pingouin ``compute_esci``) is
    :math:`g \\pm t_{1-α/2, n_a+n_b-2} \\sqrt{(n_a+n_b)/(n_a n_b) + g^2/(2(n_a+n_b))}`.
    Validated against base R on psychTools::bfi by education (tests/test_longitudinal_groups.py).

    References
    ----------
    Welch, B. L. (1951). On the comparison of several mean values: an alternative approach.
    *Biometrika*, 38, 330–336. Games, P. A., & Howell, J. F. (1976). Pairwise multiple comparison
    procedures with unequal n's and/or variances. *Journal of Educational Statistics*, 1, 113–125.
    Hedges, L. V., & Olkin, I. (1985). *Statistical Methods for Meta-Analysis*. Academic Press.

    Examples
    --------
    >>> data = pd.DataFrame({"total": [1.0, 2, 3, 2, 4, 5, 4, 6, 5, 7, 6, 8],
    ...                      "fellowship": ["AA"] * 4 + ["NA"] * 4 + ["CA"] * 4})
    >>> result = compare_groups(data, scales="total", group="fellowship")
    >>> result.pairs[["group_a", "group_b"]].values.tolist()
    [['AA', 'CA'], ['AA', 'NA'], ['CA', 'NA']]
    """
    import pingouin as pg

    scale_list = [scales] if isinstance(scales, str) else list(scales)
    check_ci_level(ci_level)
    check_columns(data, [group, *scale_list], "data")
    notes: list[str] = []
    if scalar_invariance is not True:
        notes.append(NO_SCALAR_INVARIANCE)
    descriptives, welch_rows, pair_frames = [], [], []
    for scale in scale_list:
        frame = data[[group, scale]].dropna()
        values = pd.to_numeric(frame[scale], errors="coerce")
        if values.isna().any():
            raise ValueError(f"scales: column {scale!r} holds values that are not numbers")
        frame = pd.DataFrame(
            {"_group": group_labels(frame[group]).to_numpy(dtype=object), "_score": values}
        )
        sizes = frame["_group"].value_counts()
        small = sorted(sizes.index[sizes < min_group_size])
        if small:
            notes.append(
                f"{scale}: group(s) {', '.join(small)} left out (fewer than {min_group_size} "
                "scored respondents)"
            )
            frame = frame[~frame["_group"].isin(small)]
        levels = sorted(frame["_group"].unique())
        if len(levels) < 2:
            raise ValueError(
                f"group: column {group!r} has {len(levels)} group(s) with at least "
                f"{min_group_size} scores on {scale!r}; comparing groups needs two"
            )
        by = frame.groupby("_group")["_score"]
        desc = pd.DataFrame({"n_obs": by.size(), "mean": by.mean(), "sd": by.std(ddof=1)}).reindex(
            levels
        )
        descriptives.append(desc.reset_index(names="group").assign(scale=scale))
        with warnings.catch_warnings():
            # pingouin 0.7 calls DataFrame.dropna(inplace=True), deprecated by pandas 3.1
            warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
            welch = pg.welch_anova(data=frame, dv="_score", between="_group")
            gh = pg.pairwise_gameshowell(data=frame, dv="_score", between="_group")
        welch_rows.append(
            {
                "scale": scale,
                "f": float(welch.at[0, "F"]),
                "df1": float(welch.at[0, "ddof1"]),
                "df2": float(welch.at[0, "ddof2"]),
                "p_value": float(
                    welch.at[0, "p_unc"] if "p_unc" in welch else welch.at[0, "p-unc"]
                ),
                "eta_squared": float(welch.at[0, "np2"]),
                "n_obs": len(frame),
                "n_groups": len(levels),
            }
        )
        k = len(levels)
        rows = []
        for _, pair in gh.iterrows():
            a, b = str(pair["A"]), str(pair["B"])
            xa = frame.loc[frame["_group"] == a, "_score"].to_numpy()
            xb = frame.loc[frame["_group"] == b, "_score"].to_numpy()
            g = float(pg.compute_effsize(xa, xb, paired=False, eftype="hedges"))
            g_ci = pg.compute_esci(
                stat=g, nx=len(xa), ny=len(xb), eftype="hedges", confidence=ci_level, decimals=15
            )
            se, df = float(pair["se"]), float(pair["df"])
            half = tukey_quantile(ci_level, k, df) * se / np.sqrt(2)
            diff = float(pair["diff"])
            rows.append(
                {
                    "scale": scale,
                    "group_a": a,
                    "group_b": b,
                    "mean_a": float(pair["mean_A"] if "mean_A" in pair else pair["mean(A)"]),
                    "mean_b": float(pair["mean_B"] if "mean_B" in pair else pair["mean(B)"]),
                    "n_a": len(xa),
                    "n_b": len(xb),
                    "diff": diff,
                    "se": se,
                    "t": float(pair["T"]),
                    "df": df,
                    "p_value": float(pair["pval"]),
                    "diff_ci_low": diff - half,
                    "diff_ci_high": diff + half,
                    "hedges_g": g,
                    "g_ci_low": float(g_ci[0]),
                    "g_ci_high": float(g_ci[1]),
                }
            )
        pair_frames.append(pd.DataFrame(rows))
    desc_all = pd.concat(descriptives, ignore_index=True)[["scale", "group", "n_obs", "mean", "sd"]]
    return GroupComparison(
        group=group,
        descriptives=desc_all,
        welch=pd.DataFrame(welch_rows),
        pairs=pd.concat(pair_frames, ignore_index=True),
        ci_level=ci_level,
        scalar_invariance=scalar_invariance,
        notes=tuple(notes),
    )
