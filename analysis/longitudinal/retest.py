"""Test–retest reliability and measurement error of scale scores between two waves.

:func:`test_retest` gives, for each scale, the intraclass correlations ICC(2,1) (absolute
agreement) and ICC(3,1) (consistency), single and average, with their F tests and confidence
intervals, and the measurement-error figures of COSMIN's measurement-error box: the standard
error of measurement (SEM) and the smallest detectable change (SDC).
"""

from __future__ import annotations

import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import stats

from analysis._results import Result
from analysis.longitudinal._checks import check_ci_level, check_columns, pair_waves

__all__ = ["ICC_TYPES", "RetestResult", "TestRetest", "icc_intervals", "test_retest"]

#: ICC types reported, named as Shrout & Fleiss (1979) / psych, with McGraw & Wong's names.
ICC_TYPES = {
    "ICC2": ("ICC(2,1)", "agreement", "single"),
    "ICC3": ("ICC(3,1)", "consistency", "single"),
    "ICC2k": ("ICC(2,k)", "agreement", "average"),
    "ICC3k": ("ICC(3,k)", "consistency", "average"),
}
_PINGOUIN_TYPE = {"ICC2": "ICC(A,1)", "ICC3": "ICC(C,1)", "ICC2k": "ICC(A,k)", "ICC3k": "ICC(C,k)"}


@dataclass(frozen=True, slots=True, repr=False)
class RetestResult(Result):
    """Test–retest reliability of one scale between two waves.

    Attributes
    ----------
    scale : str
        The scale (column) analysed.
    waves : tuple of str
        The two waves compared, first then second.
    n_obs : int
        Respondents with a score at both waves (the ICC's targets).
    icc : DataFrame
        One row per ICC type (index ``ICC2``, ``ICC3``, ``ICC2k``, ``ICC3k``) with columns
        ``label`` (``ICC(2,1)``...), ``model`` (agreement or consistency), ``unit`` (single or
        average), ``estimate``, ``f``, ``df1``, ``df2``, ``p_value``, ``ci_low``, ``ci_high``.
    ms_subjects, ms_waves, ms_error : float
        Mean squares of the two-way ANOVA (respondents × waves).
    sem_agreement, sem_consistency : float
        Standard errors of measurement: ``sqrt(σ²_wave + σ²_error)`` and ``sqrt(σ²_error)``.
    sdc_agreement, sdc_consistency : float
        Smallest detectable change for one person, ``z · √2 · SEM`` (z = 1.96 at 95%).
    mean_first, mean_second, sd_first : float
        Means at each wave and the SD at the first wave (the RCI's baseline SD).
    interval_days_median, interval_days_min, interval_days_max : float or None
        Days between a respondent's two dates (median and range), when dates were given.
    ci_level : float
        Level of the ICC intervals and of the SDC.
    """

    scale: str
    waves: tuple[str, str]
    n_obs: int
    icc: pd.DataFrame
    ms_subjects: float
    ms_waves: float
    ms_error: float
    sem_agreement: float
    sem_consistency: float
    sdc_agreement: float
    sdc_consistency: float
    mean_first: float
    mean_second: float
    sd_first: float
    interval_days_median: float | None
    interval_days_min: float | None
    interval_days_max: float | None
    ci_level: float

    def summary(self) -> pd.DataFrame:
        """The ICC table with the scale, waves, n and measurement error beside each row."""
        out = self.icc.reset_index(names="type")
        out.insert(0, "scale", self.scale)
        out["wave_first"], out["wave_second"] = self.waves
        out["n_obs"] = self.n_obs
        out["ci_level"] = self.ci_level
        return out

    def to_dict(self) -> dict:
        data = asdict(self)
        data["icc"] = self.icc.reset_index(names="type").to_dict("records")
        data["waves"] = list(self.waves)
        return data


@dataclass(frozen=True, slots=True, repr=False)
class TestRetest(Result):
    """Test–retest results for several scales (see :class:`RetestResult`)."""

    __test__ = False  # not a pytest test class

    results: tuple[RetestResult, ...]
    ci_level: float

    def __getitem__(self, scale: str) -> RetestResult:
        for result in self.results:
            if result.scale == scale:
                return result
        raise KeyError(f"no test-retest result for {scale!r}; scales: {self.scales}")

    @property
    def scales(self) -> list[str]:
        return [r.scale for r in self.results]

    def summary(self) -> pd.DataFrame:
        """One row per scale and ICC type (see :meth:`RetestResult.summary`)."""
        if not self.results:
            return pd.DataFrame()
        return pd.concat([r.summary() for r in self.results], ignore_index=True)

    def measurement_error(self) -> pd.DataFrame:
        """One row per scale: n, interval, SEM and SDC (agreement and consistency), ICC(2,1)."""
        rows = []
        for r in self.results:
            rows.append(
                {
                    "scale": r.scale,
                    "wave_first": r.waves[0],
                    "wave_second": r.waves[1],
                    "n_obs": r.n_obs,
                    "interval_days_median": r.interval_days_median,
                    "icc_agreement": float(r.icc.at["ICC2", "estimate"]),
                    "icc_consistency": float(r.icc.at["ICC3", "estimate"]),
                    "sem_agreement": r.sem_agreement,
                    "sem_consistency": r.sem_consistency,
                    "sdc_agreement": r.sdc_agreement,
                    "sdc_consistency": r.sdc_consistency,
                    "ci_level": r.ci_level,
                }
            )
        return pd.DataFrame(rows)

    def to_dict(self) -> dict:
        return {"ci_level": self.ci_level, "results": [r.to_dict() for r in self.results]}


def icc_intervals(
    ms_subjects: float,
    ms_waves: float,
    ms_error: float,
    *,
    n: int,
    k: int,
    ci_level: float = 0.95,
) -> dict[str, tuple[float, float]]:
    """Confidence intervals of ICC(2,1), ICC(3,1), ICC(2,k) and ICC(3,k) from the mean squares.

    Parameters
    ----------
    ms_subjects, ms_waves, ms_error : float
        Mean squares of the two-way ANOVA: between respondents, between waves (raters), residual.
    n : int
        Number of respondents (targets).
    k : int
        Number of waves (raters).
    ci_level : float, default 0.95
        Two-sided level.

    Returns
    -------
    dict
        ``{"ICC2": (low, high), "ICC3": ..., "ICC2k": ..., "ICC3k": ...}``.

    Notes
    -----
    ICC(3,·): with :math:`F = MS_R / MS_E` on :math:`(n-1, (n-1)(k-1))` df,
    :math:`F_L = F / F_{1-α/2}(n-1, (n-1)(k-1))`, :math:`F_U = F · F_{1-α/2}((n-1)(k-1), n-1)`,
    and the bounds are :math:`(F_L - 1)/(F_L + k - 1)` (single) and :math:`1 - 1/F_L` (average).
    ICC(2,·) uses Satterthwaite's df ``v`` for the denominator (Shrout & Fleiss 1979, eq. for
    case 2; McGraw & Wong 1996, Table 7). These are the formulas of ``psych::ICC`` and of
    ``pingouin.intraclass_corr``; they are written out here only because pingouin fixes the
    level at 95% and rounds its ``CI95`` column to two decimals.

    References
    ----------
    Shrout, P. E., & Fleiss, J. L. (1979). Intraclass correlations: uses in assessing rater
    reliability. *Psychological Bulletin*, 86(2), 420–428.
    McGraw, K. O., & Wong, S. P. (1996). Forming inferences about some intraclass correlation
    coefficients. *Psychological Methods*, 1(1), 30–46.
    """
    check_ci_level(ci_level)
    alpha = 1.0 - ci_level
    df1 = n - 1
    df_error = (n - 1) * (k - 1)
    f3 = ms_subjects / ms_error
    f3_low = f3 / stats.f.ppf(1 - alpha / 2, df1, df_error)
    f3_high = f3 * stats.f.ppf(1 - alpha / 2, df_error, df1)
    icc2 = (ms_subjects - ms_error) / (
        ms_subjects + (k - 1) * ms_error + k * (ms_waves - ms_error) / n
    )
    fj = ms_waves / ms_error
    vn = df_error * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    vd = df1 * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
    v = vn / vd
    f2_high = stats.f.ppf(1 - alpha / 2, df1, v)
    f2_low = stats.f.ppf(1 - alpha / 2, v, df1)
    denominator = k * ms_waves + (k * n - k - n) * ms_error
    low2 = n * (ms_subjects - f2_high * ms_error) / (f2_high * denominator + n * ms_subjects)
    high2 = n * (f2_low * ms_subjects - ms_error) / (denominator + n * f2_low * ms_subjects)
    return {
        "ICC2": (low2, high2),
        "ICC3": ((f3_low - 1) / (f3_low + k - 1), (f3_high - 1) / (f3_high + k - 1)),
        "ICC2k": (low2 * k / (1 + low2 * (k - 1)), high2 * k / (1 + high2 * (k - 1))),
        "ICC3k": (1 - 1 / f3_low, 1 - 1 / f3_high),
    }


def test_retest(
    data: pd.DataFrame,
    *,
    scales: list[str] | str,
    id: str = "respondent_id",
    wave: str = "wave",
    waves: tuple[str, str] | None = None,
    date: str | None = None,
    ci_level: float = 0.95,
) -> TestRetest:
    """Test–retest ICCs, SEM and SDC of each scale between two waves.

    Parameters
    ----------
    data : DataFrame
        Scale scores in person-period (long) form: one row per respondent and wave, with the
        columns ``id``, ``wave``, the ``scales`` and optionally ``date``.
    scales : list of str or str
        Score columns to analyse.
    id : str, default "respondent_id"
        Column identifying the respondent across waves.
    wave : str, default "wave"
        Column naming the wave.
    waves : tuple of two str, optional
        The waves compared, first then second. Default: the first two waves in the order of
        the ``wave`` column (its categories' order when categorical, else sorted).
    date : str, optional
        Column of dates; the days between a respondent's two dates are summarised.
    ci_level : float, default 0.95
        Level of the ICC intervals and of the SDC's z.

    Returns
    -------
    TestRetest
        One :class:`RetestResult` per scale; ``summary()`` has columns ``scale, type, label,
        model, unit, estimate, f, df1, df2, p_value, ci_low, ci_high, wave_first, wave_second,
        n_obs, ci_level``; ``measurement_error()`` has the SEM and SDC per scale.

    Notes
    -----
    Only respondents with a score at both waves enter (listwise, as ``psych::ICC`` and
    ``pingouin.intraclass_corr(nan_policy="omit")``). The ICCs, F tests and p values are
    pingouin's ``intraclass_corr``; the mean squares come from ``pingouin.anova`` with
    respondents and waves as factors; the intervals from :func:`icc_intervals`. Validated
    against ``psych::ICC(cbind(time1, time2), lmer = FALSE)`` (tests/test_longitudinal_retest.py).

    Measurement error (de Vet et al. 2006; COSMIN's measurement-error box): with the variance
    components :math:`σ²_w = \\max(0, (MS_W - MS_E)/n)` and :math:`σ²_e = MS_E`,
    :math:`SEM_{agreement} = \\sqrt{σ²_w + σ²_e}`, :math:`SEM_{consistency} = \\sqrt{σ²_e}`, and
    :math:`SDC = z_{1-α/2} \\sqrt{2} \\, SEM` (the change one person must show to exceed
    measurement error; divide by √n for a group mean).

    References
    ----------
    Shrout & Fleiss (1979); McGraw & Wong (1996); de Vet, H. C. W., Terwee, C. B., Knol, D. L.,
    & Bouter, L. M. (2006). When to use agreement versus reliability measures. *Journal of
    Clinical Epidemiology*, 59(10), 1033–1039. Mokkink, L. B., et al. (2018). COSMIN Risk of
    Bias checklist, box 7 (measurement error).

    Examples
    --------
    >>> scores = pd.DataFrame({"respondent_id": [1, 2, 3, 4, 1, 2, 3, 4],
    ...                        "wave": ["t1"] * 4 + ["t2"] * 4,
    ...                        "total": [1.0, 2.0, 3.0, 4.0, 1.5, 2.0, 3.5, 3.5]})
    >>> result = test_retest(scores, scales="total")
    >>> float(round(result["total"].icc.at["ICC2", "estimate"], 3))
    0.93
    """
    import pingouin as pg

    scale_list = [scales] if isinstance(scales, str) else list(scales)
    check_ci_level(ci_level)
    check_columns(data, [id, wave, *scale_list] + ([date] if date else []), "data")
    first, second = pair_waves(data, wave=wave, waves=waves)
    z = stats.norm.ppf(0.5 + ci_level / 2)
    results = []
    for scale in scale_list:
        wide = _paired(data, scale=scale, id=id, wave=wave, waves=(first, second))
        n = len(wide)
        if n < 3:
            raise ValueError(
                f"scales: {scale!r} has {n} respondent(s) scored at both {first!r} and "
                f"{second!r}; test-retest needs at least 3"
            )
        long = wide.reset_index(names="_target").melt(
            id_vars="_target", var_name="_wave", value_name="_score"
        )
        # One score per cell: the respondent x wave interaction is the error term (the
        # empty "Residual" row has no df), as in pingouin's own intraclass_corr.
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            # pingouin 0.7 calls DataFrame.dropna(inplace=True), deprecated by pandas 3.1
            warnings.filterwarnings("ignore", message="The inplace keyword", category=Warning)
            icc = pg.intraclass_corr(long, targets="_target", raters="_wave", ratings="_score")
            aov = pg.anova(data=long, dv="_score", between=["_target", "_wave"], ss_type=2)
        icc = icc.set_index("Type")
        ms_subjects = float(aov.at[0, "MS"])
        ms_waves = float(aov.at[1, "MS"])
        ms_error = float(aov.at[2, "MS"])
        intervals = icc_intervals(ms_subjects, ms_waves, ms_error, n=n, k=2, ci_level=ci_level)
        rows = {}
        for key, (label, model, unit) in ICC_TYPES.items():
            row = icc.loc[_PINGOUIN_TYPE[key]]
            rows[key] = {
                "label": label,
                "model": model,
                "unit": unit,
                "estimate": float(row["ICC"]),
                "f": float(row["F"]),
                "df1": int(row["df1"]),
                "df2": int(row["df2"]),
                "p_value": float(row["pval"]),
                "ci_low": float(intervals[key][0]),
                "ci_high": float(intervals[key][1]),
            }
        table = pd.DataFrame.from_dict(rows, orient="index")
        var_waves = max(0.0, (ms_waves - ms_error) / n)
        sem_agreement = float(np.sqrt(var_waves + ms_error))
        sem_consistency = float(np.sqrt(ms_error))
        days = _interval_days(data, id=id, wave=wave, date=date, waves=(first, second), keep=wide)
        results.append(
            RetestResult(
                scale=scale,
                waves=(str(first), str(second)),
                n_obs=n,
                icc=table,
                ms_subjects=ms_subjects,
                ms_waves=ms_waves,
                ms_error=ms_error,
                sem_agreement=sem_agreement,
                sem_consistency=sem_consistency,
                sdc_agreement=float(z * np.sqrt(2) * sem_agreement),
                sdc_consistency=float(z * np.sqrt(2) * sem_consistency),
                mean_first=float(wide["first"].mean()),
                mean_second=float(wide["second"].mean()),
                sd_first=float(wide["first"].std(ddof=1)),
                interval_days_median=days[0],
                interval_days_min=days[1],
                interval_days_max=days[2],
                ci_level=ci_level,
            )
        )
    return TestRetest(results=tuple(results), ci_level=ci_level)


test_retest.__test__ = False  # type: ignore[attr-defined]  # a statistic, not a pytest test


def _paired(
    data: pd.DataFrame, *, scale: str, id: str, wave: str, waves: tuple[str, str]
) -> pd.DataFrame:
    """Respondents scored at both waves: columns ``first`` and ``second``, index the id."""
    parts = []
    for label, name in zip(("first", "second"), waves, strict=True):
        rows = data.loc[data[wave] == name, [id, scale]].dropna()
        duplicated = rows[id].duplicated(keep=False)
        if duplicated.any():
            raise ValueError(
                f"data: {int(duplicated.sum())} rows of wave {name!r} share a respondent id with "
                f"another row of that wave (first at row {int(np.flatnonzero(duplicated)[0])}); "
                "keep one row per respondent and wave (instrument.waves.read_waves does)"
            )
        parts.append(rows.set_index(id)[scale].rename(label))
    wide = pd.concat(parts, axis=1, join="inner")
    values = wide.to_numpy(dtype="float64")
    if not np.isfinite(values).all():
        raise ValueError(f"scales: {scale!r} holds infinite values")
    return wide


def _interval_days(
    data: pd.DataFrame,
    *,
    id: str,
    wave: str,
    date: str | None,
    waves: tuple[str, str],
    keep: pd.DataFrame,
) -> tuple[float | None, float | None, float | None]:
    if date is None:
        return None, None, None
    when = pd.to_datetime(data[date], errors="coerce")
    frame = pd.DataFrame({"id": data[id], "wave": data[wave], "when": when}).dropna()
    first = frame[frame["wave"] == waves[0]].drop_duplicates("id").set_index("id")["when"]
    second = frame[frame["wave"] == waves[1]].drop_duplicates("id").set_index("id")["when"]
    both = pd.concat([first, second], axis=1, join="inner", keys=["a", "b"])
    both = both[both.index.isin(keep.index)]
    if both.empty:
        return None, None, None
    days = (both["b"] - both["a"]).dt.total_seconds() / 86400.0
    return float(days.median()), float(days.min()), float(days.max())
