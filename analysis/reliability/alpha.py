"""Cronbach's alpha (``psych::alpha``), its Feldt and bootstrap intervals, ordinal alpha, SEM."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: ~1 s to import

from analysis._results import Result
from analysis.correlation import pairwise_cov, smc
from analysis.errors import DataQualityWarning
from analysis.reliability.bootstrap import bootstrap_from_keyed
from analysis.reliability.keying import (
    check_ci_level,
    drop_constant_items,
    item_correlations,
    key_items,
)
from analysis.reliability.results import BootstrapResult, Coefficient

__all__ = [
    "alpha_from_covariance",
    "drop_item_covariance",
    "feldt_interval",
    "AlphaResult",
    "cronbach_alpha",
    "bootstrap_alpha",
    "ordinal_alpha",
    "standard_error_of_measurement",
]


def alpha_from_covariance(C: np.ndarray) -> dict[str, float]:
    """psych's internal ``alpha.1(C, R)``: every scale statistic from a covariance matrix."""
    k = C.shape[0]
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    total = C.sum()
    sum_r = R.sum()
    raw = (1.0 - np.trace(C) / total) * k / (k - 1)
    std = (1.0 - k / sum_r) * k / (k - 1)
    g6 = 1.0 - (k - smc(R).sum()) / sum_r
    av_r = (sum_r - k) / (k * (k - 1))
    med_r = float(np.median(R[np.tril_indices(k, -1)]))
    sn = k * av_r / (1.0 - av_r)
    CC = C @ C
    q = (2.0 * k**2 / ((k - 1) ** 2 * total**3)) * (
        total * (np.trace(CC) + np.trace(C) ** 2) - 2.0 * np.trace(C) * CC.sum()
    )
    return {
        "raw_alpha": float(raw),
        "std_alpha": float(std),
        "g6": float(g6),
        "average_r": float(av_r),
        "median_r": med_r,
        "signal_noise": float(sn),
        "q": float(q),
    }


def drop_item_covariance(C: np.ndarray, i: int) -> np.ndarray:
    keep = np.arange(C.shape[0]) != i
    return C[np.ix_(keep, keep)]


def feldt_interval(
    alpha: float, n_obs: int, n_items: int, *, ci_level: float = 0.95
) -> tuple[float, float]:
    """Feldt, Woodruff & Salih (1987) interval for alpha (``psych::alpha.ci``).

    ``[1 - (1-α) F_{1-p/2}(n-1, (n-1)(k-1)), 1 - (1-α) F_{p/2}(n-1, (n-1)(k-1))]`` with
    ``p = 1 - ci_level``.

    Examples
    --------
    >>> lo, hi = feldt_interval(0.8, 200, 10)
    >>> bool(lo < 0.8 < hi)
    True
    """
    check_ci_level(ci_level)
    p = 1.0 - ci_level
    df1, df2 = n_obs - 1, (n_obs - 1) * (n_items - 1)
    low = 1.0 - (1.0 - alpha) * special.fdtri(df1, df2, 1.0 - p / 2.0)
    high = 1.0 - (1.0 - alpha) * special.fdtri(df1, df2, p / 2.0)
    return float(low), float(high)


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class AlphaResult(Result):
    """Cronbach's alpha with psych's companion statistics (``psych::alpha``).

    Attributes
    ----------
    estimate : float
        Raw alpha from the covariance matrix (``total$raw_alpha``).
    ci_low, ci_high : float
        Feldt interval (``feldt``; psych prints it as "Feldt").
    ci_level : float
    n_obs : int
        Rows used (psych's ``nrow(x)``: all rows for pairwise deletion).
    n_items : int
    method : str
        ``cronbach_alpha``.
    missing : str
        ``pairwise`` or ``listwise``.
    std_alpha : float
        Alpha of the standardized items, from the correlation matrix (``std.alpha``).
    g6 : float
        Guttman's lambda 6 from squared multiple correlations (``G6(smc)``).
    average_r, median_r : float
        Mean and median inter-item correlation (``average_r``, ``median_r``).
    signal_noise : float
        ``k r̄ / (1 - r̄)`` (``S/N``).
    ase : float
        Asymptotic standard error of alpha (Duhachek & Iacobucci, 2004; ``ase``).
    duhachek_ci : tuple of float
        ``alpha ± z·ase`` (psych prints it with z = 1.96).
    mean, sd : float
        Mean and standard deviation of the scale score, the mean of the answered items after
        reverse keying (``mean``, ``sd``).
    sem : float
        Standard error of measurement of the mean score, ``sd · sqrt(1 - alpha)``.
    alpha_if_dropped : pandas.DataFrame
        One row per item: ``raw_alpha, std_alpha, g6, average_r, median_r, signal_noise, ase``
        of the scale without that item (``alpha.drop``).
    keys : pandas.Series
        +1 / -1 per item.
    bootstrap : BootstrapResult or None
        Percentile bootstrap interval when ``n_boot > 0``.
    scale : str or None
    """

    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_obs: int
    n_items: int
    method: str
    missing: str
    std_alpha: float
    g6: float
    average_r: float
    median_r: float
    signal_noise: float
    ase: float
    duhachek_ci: tuple[float, float]
    mean: float
    sd: float
    sem: float
    alpha_if_dropped: pd.DataFrame = field(repr=False)
    keys: pd.Series = field(repr=False)
    bootstrap: BootstrapResult | None = None
    scale: str | None = None

    @property
    def feldt_ci(self) -> tuple[float, float]:
        """The Feldt interval ``(ci_low, ci_high)``."""
        return (self.ci_low, self.ci_high)

    def summary(self) -> pd.DataFrame:
        """Tidy table, one row per estimate and interval.

        Columns ``scale, coefficient, estimate, ci_low, ci_high, ci_level, ci_method,
        standard_error, n_obs, n_items, method, missing``. Rows: ``alpha`` with the Feldt,
        Duhachek and (if computed) bootstrap intervals, then ``std_alpha``, ``g6``,
        ``average_r``, ``median_r``, ``signal_noise``, ``mean``, ``sd``, ``sem`` without intervals.
        """
        nan = float("nan")
        rows = [
            ("alpha", self.estimate, self.ci_low, self.ci_high, "feldt", self.ase),
            (
                "alpha",
                self.estimate,
                self.duhachek_ci[0],
                self.duhachek_ci[1],
                "duhachek",
                self.ase,
            ),
        ]
        if self.bootstrap is not None:
            rows.append(
                (
                    "alpha",
                    self.estimate,
                    self.bootstrap.ci_low,
                    self.bootstrap.ci_high,
                    "bootstrap_percentile",
                    nan,
                )
            )
        for name in (
            "std_alpha",
            "g6",
            "average_r",
            "median_r",
            "signal_noise",
            "mean",
            "sd",
            "sem",
        ):
            rows.append((name, getattr(self, name), nan, nan, "", nan))
        frame = pd.DataFrame(
            rows,
            columns=["coefficient", "estimate", "ci_low", "ci_high", "ci_method", "standard_error"],
        )
        frame.insert(0, "scale", self.scale)
        frame.insert(5, "ci_level", [self.ci_level if m else nan for m in frame["ci_method"]])
        frame["n_obs"] = self.n_obs
        frame["n_items"] = self.n_items
        frame["method"] = self.method
        frame["missing"] = self.missing
        return frame


def cronbach_alpha(
    items: pd.DataFrame,
    *,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    ci_level: float = 0.95,
    n_boot: int = 0,
    seed: int | None = None,
    scale: str | None = None,
) -> AlphaResult:
    """Cronbach's alpha with psych's companion statistics and three intervals.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item (at least 2), NaN for missing answers.
    keys : None, mapping, Series, list of str or Instrument, default None
        Reverse keying, see :func:`key_items`.
    scale_min, scale_max : float, optional
        Response scale end points for reversing (default: the instrument's, else observed).
    missing : {"pairwise", "listwise"}, default "pairwise"
        Pairwise covariances over all rows (psych's default) or complete rows only.
    ci_level : float, default 0.95
        Level of the Feldt, Duhachek and bootstrap intervals.
    n_boot : int, default 0
        Bootstrap resamples for a percentile interval (0: none), see :func:`bootstrap_alpha`.
    seed : int, optional
        Seed of the bootstrap's ``numpy.random.Generator``.
    scale : str, optional
        Scale id carried into the result.

    Returns
    -------
    AlphaResult
        ``estimate`` (raw alpha), Feldt ``ci_low``/``ci_high``, ``std_alpha``, ``g6``,
        ``average_r``, ``median_r``, ``signal_noise``, ``ase``, ``duhachek_ci``, ``mean``, ``sd``,
        ``sem``, ``alpha_if_dropped`` and ``bootstrap``.

    Notes
    -----
    Reproduces ``psych::alpha(x, keys, use = "pairwise")`` (psych 2.2.9), fields
    ``total$raw_alpha, std.alpha, G6(smc), average_r, median_r, S/N, ase, mean, sd``,
    ``feldt`` and ``alpha.drop``. With C the pairwise covariance matrix of the k keyed items,
    R = cov2cor(C) (so correlations use the pairwise covariances' variances, as psych) and
    ``smc_i = 1 - 1/(R⁻¹)_ii``:

    - raw α = k/(k-1) · (1 - tr C / 1'C1) (Cronbach, 1951)
    - standardized α = k/(k-1) · (1 - k / 1'R1)
    - G6 = 1 - (k - Σ smc) / 1'R1 (Guttman, 1945)
    - r̄ = (1'R1 - k) / (k(k-1)); S/N = k r̄ / (1 - r̄)
    - ase = sqrt(Q/n), Q = 2k²/((k-1)²(1'C1)³) · [1'C1 (tr C² + (tr C)²) - 2 tr C · 1'C²1]
      (Duhachek & Iacobucci, 2004; psych's corrected formula with matrix products)
    - Feldt: [1 - (1-α) F_{1-p/2}(n-1, (n-1)(k-1)), 1 - (1-α) F_{p/2}(n-1, (n-1)(k-1))]
      (Feldt, Woodruff & Salih, 1987); n is the number of rows.
    - Duhachek interval: α ± z_{1-p/2} · ase.

    ``mean`` and ``sd`` describe the mean of each respondent's answered (keyed) items.
    ``alpha_if_dropped`` is empty-valued (NaN) for two-item scales.

    References
    ----------
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.
    Feldt, L. S., Woodruff, D. J., & Salih, F. A. (1987). Statistical inference for coefficient
    alpha. Applied Psychological Measurement, 11, 93-103.
    Duhachek, A., & Iacobucci, D. (2004). Alpha's standard error (ASE): An accurate and precise
    confidence interval estimate. Journal of Applied Psychology, 89, 792-808.
    Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10, 255-282.

    Examples
    --------
    Reversed on 1..4, ``b`` becomes 2, 1, 4, 3: both variances are 5/3 and the covariance 1,
    so alpha = 2 · (1 - (10/3) / (10/3 + 2)) = 0.75:

    >>> df = pd.DataFrame({"a": [1, 2, 3, 4], "b": [3, 4, 1, 2]})
    >>> res = cronbach_alpha(df, keys={"a": 1, "b": -1}, scale_min=1, scale_max=4)
    >>> round(res.estimate, 6), res.missing
    (0.75, 'pairwise')
    """
    check_ci_level(ci_level)
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    drop_constant_items(keyed, 2)
    frame = keyed.data
    names = list(frame.columns)
    k = len(names)
    n = keyed.n_obs
    C = pairwise_cov(frame)
    if keys is None:
        _warn_negative_items(C, names)
    core = alpha_from_covariance(C)
    ase = float(np.sqrt(core["q"] / n))
    z = special.ndtri(0.5 + ci_level / 2.0)
    lo, hi = feldt_interval(core["raw_alpha"], n, k, ci_level=ci_level)
    drop_rows = []
    for i in range(k):
        if k > 2:
            d = alpha_from_covariance(drop_item_covariance(C, i))
            drop_rows.append(
                {
                    key: d[key]
                    for key in (
                        "raw_alpha",
                        "std_alpha",
                        "g6",
                        "average_r",
                        "median_r",
                        "signal_noise",
                    )
                }
                | {"ase": float(np.sqrt(d["q"] / n))}
            )
        else:
            drop_rows.append(
                dict.fromkeys(
                    (
                        "raw_alpha",
                        "std_alpha",
                        "g6",
                        "average_r",
                        "median_r",
                        "signal_noise",
                        "ase",
                    ),
                    np.nan,
                )
            )
    dropped = pd.DataFrame(drop_rows, index=pd.Index(names, name="item"))
    total = frame.mean(axis=1, skipna=True)
    mean_t, sd_t = float(total.mean()), float(total.std(ddof=1))
    boot = None
    if n_boot:
        boot = bootstrap_from_keyed(
            keyed, n_boot=n_boot, ci_level=ci_level, seed=seed, estimate=core["raw_alpha"]
        )
    return AlphaResult(
        estimate=core["raw_alpha"],
        ci_low=lo,
        ci_high=hi,
        ci_level=ci_level,
        n_obs=n,
        n_items=k,
        method="cronbach_alpha",
        missing=keyed.missing,
        std_alpha=core["std_alpha"],
        g6=core["g6"],
        average_r=core["average_r"],
        median_r=core["median_r"],
        signal_noise=core["signal_noise"],
        ase=ase,
        duhachek_ci=(core["raw_alpha"] - z * ase, core["raw_alpha"] + z * ase),
        mean=mean_t,
        sd=sd_t,
        sem=standard_error_of_measurement(sd_t, core["raw_alpha"]),
        alpha_if_dropped=dropped,
        keys=keyed.keys,
        bootstrap=boot,
        scale=scale,
    )


def _warn_negative_items(C: np.ndarray, names: list) -> None:
    """psych::alpha's check: items loading negatively on the first principal component."""
    sd = np.sqrt(np.diag(C))
    _, vectors = np.linalg.eigh(C / np.outer(sd, sd))
    first = vectors[:, -1] * np.sign(vectors[:, -1].sum() or 1.0)
    negative = [str(n) for n, v in zip(names, first, strict=True) if v < 0]
    if negative:
        warnings.warn(
            f"item(s) {', '.join(negative)} correlate negatively with the scale (first principal "
            "component) and probably should be reverse keyed; give keys= to reverse them",
            DataQualityWarning,
            stacklevel=3,
        )


def bootstrap_alpha(
    items: pd.DataFrame,
    *,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    n_boot: int = 1000,
    ci_level: float = 0.95,
    seed: int | None = None,
    chunk_size: int | None = None,
) -> BootstrapResult:
    """Percentile bootstrap interval of raw alpha, all resamples computed at once.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item, NaN for missing answers.
    keys, scale_min, scale_max, missing
        As :func:`cronbach_alpha`.
    n_boot : int, default 1000
        Resamples of the rows (with replacement, n rows each).
    ci_level : float, default 0.95
    seed : int, optional
        Seed of ``numpy.random.default_rng``; the same seed gives the same interval.
    chunk_size : int, optional
        Resamples processed per batch (memory: about ``chunk_size × n × 4`` bytes for whole-number
        codes, × 8 otherwise); default: batches of at most 16 million counts (64 MB).

    Returns
    -------
    BootstrapResult

    Notes
    -----
    Reproduces the method of ``psych::alpha(x, n.iter = B)``: each resample draws n rows with
    replacement, takes pairwise covariances and raw alpha; the interval is the 2.5 and 97.5
    percentiles of the B alphas (``boot.ci``). It is not a parity test target: R's random
    numbers differ.

    Instead of B refits, the resamples are a B × n matrix W of row counts (multinomial, drawn
    as uniform row indices); with M_i the answered-indicator of item i and x zero-filled, every
    pairwise moment of every resample is one matrix product:
    ``n_ij = W (M_i M_j)``, ``s_i|j = W (M_i M_j x_i)``, ``s_ij = W (M_i M_j x_i x_j)``, and
    ``cov_ij = (s_ij - s_i|j s_j|i / n_ij) / (n_ij - 1)`` (variances from the rows answering
    the item, as ``cov(use = "pairwise")``). Items are centred first for numerical accuracy.
    When no answer is missing only ``W x`` and ``W (x_i x_j)`` are needed.

    Examples
    --------
    >>> rng = np.random.default_rng(1)
    >>> f = rng.normal(size=(300, 1))
    >>> df = pd.DataFrame(f + rng.normal(size=(300, 4)), columns=list("abcd"))
    >>> b = bootstrap_alpha(df, n_boot=200, seed=3)
    >>> bool(b.ci_low < b.estimate < b.ci_high)
    True
    """
    check_ci_level(ci_level)
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    drop_constant_items(keyed, 2)
    estimate = alpha_from_covariance(pairwise_cov(keyed.data))["raw_alpha"]
    return bootstrap_from_keyed(
        keyed, n_boot=n_boot, ci_level=ci_level, seed=seed, estimate=estimate, chunk_size=chunk_size
    )


def ordinal_alpha(
    items: pd.DataFrame,
    *,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    ci_level: float = 0.95,
    scale: str | None = None,
) -> Coefficient:
    """Ordinal alpha: standardized alpha of the polychoric correlation matrix.

    Parameters
    ----------
    items : pandas.DataFrame
        Whole-number response codes, NaN for missing answers.
    keys, scale_min, scale_max, missing, ci_level, scale
        As :func:`cronbach_alpha` (no interval is computed: ``ci_low``/``ci_high`` are NaN).

    Returns
    -------
    Coefficient
        ``coefficient = "ordinal_alpha"``.

    Notes
    -----
    Gadermann, Guhn & Zumbo (2012): α_ord = k/(k-1) · (1 - k / 1'ρ1) with ρ the polychoric
    correlations (``psych::polychoric``, two-step, global thresholds) of the keyed items, i.e.
    ``psych::alpha(polychoric(x)$rho)$total$std.alpha``. Reverse keying before the polychoric
    step only changes the signs of that item's correlations.

    References
    ----------
    Gadermann, A. M., Guhn, M., & Zumbo, B. D. (2012). Estimating ordinal reliability for
    Likert-type and ordinal item response data: A conceptual, empirical, and practical guide.
    Practical Assessment, Research & Evaluation, 17(3), 1-13.
    """
    check_ci_level(ci_level)
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    drop_constant_items(keyed, 2)
    rho = item_correlations(keyed, "polychoric")
    k = rho.shape[0]
    estimate = (1.0 - k / rho.sum()) * k / (k - 1)
    return Coefficient(
        coefficient="ordinal_alpha",
        estimate=float(estimate),
        ci_low=float("nan"),
        ci_high=float("nan"),
        ci_level=ci_level,
        n_obs=keyed.n_obs,
        n_items=k,
        method="standardized_alpha_of_polychoric_correlations",
        missing=keyed.missing,
        scale=scale,
    )


def standard_error_of_measurement(sd: Any, reliability: Any) -> Any:
    """Standard error of measurement ``SD · sqrt(1 - reliability)``.

    Parameters
    ----------
    sd : float or array-like
        Standard deviation of the scale score, in the metric the SEM should have (mean or sum
        score).
    reliability : float or array-like
        Reliability coefficient of that score (alpha, omega total, ...), at most 1.

    Returns
    -------
    float or numpy.ndarray

    Notes
    -----
    Classical test theory: the standard deviation of the errors of observed scores around true
    scores (e.g. Lord & Novick, 1968). Negative reliabilities give NaN.

    Examples
    --------
    >>> standard_error_of_measurement(10.0, 0.91)
    3.0
    """
    sd_arr = np.asarray(sd, dtype="float64")
    rel = np.asarray(reliability, dtype="float64")
    if np.any(rel > 1):
        raise ValueError("reliability: must be at most 1")
    with np.errstate(invalid="ignore"):
        out = sd_arr * np.sqrt(np.where(rel >= 0, 1.0 - rel, np.nan))
    return float(np.round(out, 12)) if out.ndim == 0 else out
