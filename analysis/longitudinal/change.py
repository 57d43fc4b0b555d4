"""Scale means per wave and individual change between two waves.

:func:`wave_means` gives each scale's mean per wave with its t interval; :func:`reliable_change`
classifies each respondent's change by the reliable change index (Jacobson & Truax 1991) and by
the smallest detectable change from the test–retest SEM (de Vet et al. 2006).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis._results import Result
from analysis.longitudinal._checks import check_ci_level, check_columns, pair_waves, wave_order

__all__ = ["ReliableChange", "WaveMeans", "reliable_change", "wave_means"]

#: Categories of :func:`reliable_change`, in report order.
CHANGE_CATEGORIES = ("reliable_increase", "no_reliable_change", "reliable_decrease")


@dataclass(frozen=True, slots=True, repr=False)
class WaveMeans(Result):
    """Scale means per wave.

    Attributes
    ----------
    table : DataFrame
        One row per scale and wave: ``scale, wave, n_obs, mean, sd, se, ci_low, ci_high``.
    ci_level : float
        Level of the intervals.
    """

    table: pd.DataFrame
    ci_level: float

    def summary(self) -> pd.DataFrame:
        out = self.table.copy()
        out["ci_level"] = self.ci_level
        return out

    def to_dict(self) -> dict:
        return {"ci_level": self.ci_level, "table": self.table.to_dict("records")}

    def plot(self, ax=None, *, scales: list[str] | None = None):
        """Means with their intervals across waves, one line per scale; returns the Axes."""
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        table = self.table
        waves = list(dict.fromkeys(table["wave"].astype(str)))
        for scale in scales or list(dict.fromkeys(table["scale"])):
            part = table[table["scale"] == scale]
            x = [waves.index(str(w)) for w in part["wave"]]
            ax.errorbar(
                x,
                part["mean"],
                yerr=[part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]],
                marker="o",
                capsize=3,
                label=scale,
            )
        ax.set_xticks(range(len(waves)), waves)
        ax.set_xlabel("wave")
        ax.set_ylabel(f"mean ({self.ci_level:.0%} CI)")
        ax.legend(frameon=False)
        return ax


def wave_means(
    data: pd.DataFrame,
    *,
    scales: list[str] | str,
    wave: str = "wave",
    waves: list[str] | None = None,
    ci_level: float = 0.95,
) -> WaveMeans:
    """Mean of each scale at each wave, with a t-based confidence interval.

    Parameters
    ----------
    data : DataFrame
        Person-period scores: one row per respondent and wave.
    scales : list of str or str
        Score columns.
    wave : str, default "wave"
        Column naming the wave.
    waves : list of str, optional
        Waves in order (default: the column's categories, or its sorted values).
    ci_level : float, default 0.95
        Level of the intervals.

    Returns
    -------
    WaveMeans
        ``table`` with columns ``scale, wave, n_obs, mean, sd, se, ci_low, ci_high``.

    Notes
    -----
    Each wave's mean uses the respondents scored at that wave (the sample changes as people
    leave; compare with :func:`reliable_change` for those seen twice). The interval is
    :math:`\\bar x \\pm t_{1-α/2, n-1} s/\\sqrt n`, as R's ``t.test(x)$conf.int``.

    Examples
    --------
    >>> data = pd.DataFrame({"wave": ["t1", "t1", "t1", "t2", "t2"], "total": [1.0, 2, 3, 2, 4]})
    >>> wave_means(data, scales="total").table[["wave", "n_obs", "mean"]].values.tolist()
    [['t1', 3, 2.0], ['t2', 2, 3.0]]
    """
    scale_list = [scales] if isinstance(scales, str) else list(scales)
    check_ci_level(ci_level)
    check_columns(data, [wave, *scale_list], "data")
    order = wave_order(data, wave=wave, waves=waves)
    rows = []
    for scale in scale_list:
        for label in order:
            x = pd.to_numeric(data.loc[data[wave] == label, scale], errors="coerce").dropna()
            n = len(x)
            mean = float(x.mean()) if n else float("nan")
            sd = float(x.std(ddof=1)) if n > 1 else float("nan")
            se = sd / np.sqrt(n) if n > 1 else float("nan")
            half = stats.t.ppf(0.5 + ci_level / 2, n - 1) * se if n > 1 else float("nan")
            rows.append(
                {
                    "scale": scale,
                    "wave": label,
                    "n_obs": n,
                    "mean": mean,
                    "sd": sd,
                    "se": se,
                    "ci_low": mean - half,
                    "ci_high": mean + half,
                }
            )
    return WaveMeans(table=pd.DataFrame(rows), ci_level=ci_level)


@dataclass(frozen=True, slots=True, repr=False)
class ReliableChange(Result):
    """Individual change of one scale between two waves.

    Attributes
    ----------
    scale : str
        The scale.
    waves : tuple of str
        First and second wave.
    people : DataFrame
        One row per respondent seen at both waves (index: the respondent id): ``first``,
        ``second``, ``change`` (second - first), ``rci``, ``category`` (one of
        ``reliable_increase``, ``no_reliable_change``, ``reliable_decrease``) and
        ``beyond_sdc`` (|change| > SDC). Holds identifiers: keep it out of reports.
    reliability : float
        The reliability used (test–retest ICC or as given).
    sd_first : float
        Baseline SD.
    s_diff : float
        Standard error of a difference, :math:`\\sqrt 2 · s_1 \\sqrt{1 - r}`.
    critical : float
        |RCI| beyond which change is reliable (1.96 at 95%).
    sdc : float or None
        Smallest detectable change used for ``beyond_sdc`` (None when not given or computed).
    ci_level : float
        The level that sets ``critical``.
    """

    scale: str
    waves: tuple[str, str]
    people: pd.DataFrame
    reliability: float
    sd_first: float
    s_diff: float
    critical: float
    sdc: float | None
    ci_level: float

    def summary(self) -> pd.DataFrame:
        """Counts and shares per change category (and beyond the SDC): no identifiers."""
        n = len(self.people)
        counts = self.people["category"].value_counts().reindex(CHANGE_CATEGORIES, fill_value=0)
        rows = [
            {"scale": self.scale, "category": c, "n": int(counts[c]), "share": counts[c] / n}
            for c in CHANGE_CATEGORIES
        ]
        if self.sdc is not None:
            beyond = int(self.people["beyond_sdc"].sum())
            rows.append(
                {"scale": self.scale, "category": "beyond_sdc", "n": beyond, "share": beyond / n}
            )
        out = pd.DataFrame(rows)
        out["n_obs"] = n
        out["wave_first"], out["wave_second"] = self.waves
        return out

    def to_dict(self) -> dict:
        """Settings and counts (no per-person rows: they carry identifiers)."""
        return {
            "scale": self.scale,
            "waves": list(self.waves),
            "n_obs": len(self.people),
            "reliability": self.reliability,
            "sd_first": self.sd_first,
            "s_diff": self.s_diff,
            "critical": self.critical,
            "sdc": self.sdc,
            "ci_level": self.ci_level,
            "counts": self.summary().to_dict("records"),
        }


def reliable_change(
    data: pd.DataFrame,
    *,
    scale: str,
    id: str = "respondent_id",
    wave: str = "wave",
    waves: tuple[str, str] | None = None,
    reliability: float | None = None,
    sdc: float | None = None,
    ci_level: float = 0.95,
) -> ReliableChange:
    """Reliable change index (Jacobson–Truax) and change beyond the smallest detectable change.

    Parameters
    ----------
    data : DataFrame
        Person-period scores with columns ``id``, ``wave`` and ``scale``.
    scale : str
        Score column.
    id, wave : str
        Respondent-id and wave columns.
    waves : tuple of two str, optional
        First and second wave (default: the first two in order).
    reliability : float, optional
        Reliability of the scale. Default: the test–retest ICC(3,1) of these two waves
        (:func:`~analysis.longitudinal.retest.test_retest`); a published value or α may be given.
    sdc : float, optional
        Smallest detectable change. Default: :math:`z \\sqrt 2 \\, SEM_{agreement}` from
        :func:`~analysis.longitudinal.retest.test_retest` on these waves.
    ci_level : float, default 0.95
        Sets the critical |RCI| (:math:`z_{1-α/2}`) and the SDC's z.

    Returns
    -------
    ReliableChange
        Per-person table ``people`` and counts per category in ``summary()``.

    Notes
    -----
    :math:`RCI = (x_2 - x_1) / S_{diff}` with :math:`S_{diff} = \\sqrt{2 SE^2}`,
    :math:`SE = s_1 \\sqrt{1 - r_{xx}}` and :math:`s_1` the SD at the first wave among those seen
    twice (Jacobson & Truax 1991, eq. 1–2). R has no base function; the reference values in
    tests/data/make_icc_reference.R are computed from this formula with ``psych::ICC``'s ICC3.

    References
    ----------
    Jacobson, N. S., & Truax, P. (1991). Clinical significance: a statistical approach to
    defining meaningful change in psychotherapy research. *Journal of Consulting and Clinical
    Psychology*, 59(1), 12–19. de Vet et al. (2006), *J Clin Epidemiol* 59, 1033–1039.

    Examples
    --------
    >>> data = pd.DataFrame({"respondent_id": [1, 2, 3, 4] * 2,
    ...                      "wave": ["t1"] * 4 + ["t2"] * 4,
    ...                      "total": [1.0, 2, 3, 4, 1.0, 2, 3, 1]})
    >>> reliable_change(data, scale="total", reliability=0.9).people["category"].tolist()
    ['no_reliable_change', 'no_reliable_change', 'no_reliable_change', 'reliable_decrease']
    """
    from analysis.longitudinal.retest import test_retest

    check_ci_level(ci_level)
    check_columns(data, [id, wave, scale], "data")
    first, second = pair_waves(data, wave=wave, waves=waves)
    if reliability is not None and not 0.0 <= float(reliability) < 1.0:
        raise ValueError(f"reliability: {reliability!r} must be in [0, 1)")
    retest = None
    if reliability is None or sdc is None:
        retest = test_retest(
            data, scales=scale, id=id, wave=wave, waves=(first, second), ci_level=ci_level
        )[scale]
    if reliability is not None:
        r = float(reliability)
    else:
        assert retest is not None  # computed just above when reliability is None
        r = float(retest.icc.at["ICC3", "estimate"])
    if not r < 1.0:
        raise ValueError(f"reliability: the estimated reliability of {scale!r} is 1; RCI undefined")
    if sdc is None and retest is not None:
        sdc = retest.sdc_agreement
    parts = []
    for label, name in zip(("first", "second"), (first, second), strict=True):
        rows = data.loc[data[wave] == name, [id, scale]].dropna()
        if rows[id].duplicated().any():
            raise ValueError(
                f"data: respondent ids repeat within wave {name!r}; keep one row per respondent "
                "and wave"
            )
        parts.append(rows.set_index(id)[scale].astype("float64").rename(label))
    people = pd.concat(parts, axis=1, join="inner")
    if len(people) < 2:
        raise ValueError(f"data: fewer than 2 respondents scored on {scale!r} at both waves")
    sd_first = float(people["first"].std(ddof=1))
    s_diff = float(np.sqrt(2.0 * (sd_first * np.sqrt(1.0 - r)) ** 2))
    critical = float(stats.norm.ppf(0.5 + ci_level / 2))
    people["change"] = people["second"] - people["first"]
    people["rci"] = people["change"] / s_diff
    people["category"] = np.select(
        [people["rci"] > critical, people["rci"] < -critical],
        ["reliable_increase", "reliable_decrease"],
        "no_reliable_change",
    )
    people["beyond_sdc"] = people["change"].abs() > sdc if sdc is not None else False
    return ReliableChange(
        scale=scale,
        waves=(str(first), str(second)),
        people=people,
        reliability=r,
        sd_first=sd_first,
        s_diff=s_diff,
        critical=critical,
        sdc=None if sdc is None else float(sdc),
        ci_level=ci_level,
    )
