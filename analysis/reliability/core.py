"""Reliability of a scale: Cronbach's alpha, McDonald's omega, split-half coefficients, SEM.

Every coefficient reproduces R's psych (Revelle) to numerical precision on the same data:
:func:`cronbach_alpha` is ``psych::alpha``, :func:`omega` is ``psych::omega``, :func:`split_half`
is ``psych::splitHalf``. Ordinal versions (Gadermann, Guhn & Zumbo, 2012) use the polychoric
correlations of :func:`analysis.factor.polychoric.polychoric`. :func:`reliability_table` runs all of
them for every scale of an instrument specification.

Missing answers are handled pairwise by default, as psych does: each covariance uses every
respondent who answered both items, and ``n_obs`` is the number of rows (psych's ``nrow(x)``).
``missing="listwise"`` first drops every row with a missing answer on the scale's items. Every
result says which was used in its ``missing`` field.

Reverse keying: items keyed -1 are reversed as ``min + max - x`` (psych's convention), where
``min`` and ``max`` are the response scale's end points: given as ``scale_min``/``scale_max``,
read from the instrument's response scale of each item, or, failing both, the smallest and largest
value observed over all the scale's items (what ``psych::alpha(x, keys=)`` does).
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import combinations
from math import comb
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from instrument.errors import DataQualityWarning

if TYPE_CHECKING:  # pragma: no cover - typing only
    from instrument.spec import Instrument

__all__ = [
    "AlphaResult",
    "BootstrapResult",
    "Coefficient",
    "KeyedItems",
    "OmegaResult",
    "ReliabilityTable",
    "SplitHalfResult",
    "MAX_BOOT_REFITS",
    "TABLE_OMEGA_MIN_N",
    "TABLE_OMEGA_N_BOOT",
    "bootstrap_alpha",
    "cronbach_alpha",
    "feldt_interval",
    "key_items",
    "omega",
    "ordinal_alpha",
    "ordinal_omega",
    "reliability_table",
    "split_half",
    "standard_error_of_measurement",
]

MISSING_RULES = ("pairwise", "listwise")


# --------------------------------------------------------------------------------------------
# Keying and input checks (shared with analysis.study.items)
# --------------------------------------------------------------------------------------------
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
    frame = pd.DataFrame(out, index=items.index)
    infinite = [str(c) for c in frame.columns if np.isinf(frame[c].to_numpy()).any()]
    if infinite:
        raise ValueError(f"items: column(s) {', '.join(infinite)} hold infinite values")
    return frame


def _resolve_keys(names: list, keys: Any) -> tuple[pd.Series, Instrument | None]:
    from instrument.spec import Instrument

    if keys is None:
        return pd.Series(1, index=names, dtype="int64"), None
    if isinstance(keys, Instrument):
        unknown = [str(n) for n in names if n not in set(keys.item_ids)]
        if unknown:
            raise ValueError(
                f"keys: item(s) {', '.join(unknown)} are not in the instrument "
                f"{keys.metadata.short_name!r}"
            )
        return pd.Series([keys.item(n).keyed for n in names], index=names, dtype="int64"), keys
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
        f"or an Instrument; got {type(keys).__name__}"
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
    keys : None, mapping, Series, list of str or Instrument, default None
        +1/-1 per item (mapping or Series), the names of the reversed items (list), or an
        :class:`~instrument.spec.Instrument` (its ``keyed`` field and response scales). None: no
        item is reversed.
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
    the item's response scale in the instrument; the smallest plus the largest value observed
    over all items (``psych::alpha``: ``max(x) + min(x) - x``). With an instrument, every value
    must be one of the item's response codes (not-applicable and missing codes set to NaN).

    Examples
    --------
    >>> df = pd.DataFrame({"a": [1, 2, 5], "b": [5, 4, 1]})
    >>> key_items(df, keys={"a": 1, "b": -1}, scale_min=1, scale_max=5).data["b"].tolist()
    [1.0, 2.0, 5.0]
    """
    if missing not in MISSING_RULES:
        raise ValueError(f"missing: must be one of {', '.join(MISSING_RULES)}, got {missing!r}")
    frame = _numeric_items(items, min_items=min_items)
    names = list(frame.columns)
    key_series, instrument = _resolve_keys(names, keys)
    if (scale_min is None) != (scale_max is None):
        raise ValueError(
            "scale_min and scale_max: give both end points of the response scale or neither"
        )
    if scale_min is not None:
        if not scale_min < scale_max:
            raise ValueError(
                f"scale_min ({scale_min}) must be smaller than scale_max ({scale_max})"
            )
        constant = pd.Series(float(scale_min) + float(scale_max), index=names)
    elif instrument is not None:
        constant = pd.Series(
            [
                float(
                    instrument.response_scale_of(n).minimum
                    + instrument.response_scale_of(n).maximum
                )
                for n in names
            ],
            index=names,
        )
    else:
        values = frame.to_numpy()
        observed = values[~np.isnan(values)]
        total = float(observed.min() + observed.max()) if observed.size else np.nan
        constant = pd.Series(total, index=names)
    if instrument is not None:
        outside = [
            str(n)
            for n in names
            if not frame[n].dropna().isin(instrument.response_scale_of(n).codes).all()
        ]
        if outside:
            raise ValueError(
                f"items: column(s) {', '.join(outside)} hold values that are not answers on the "
                "item's response scale; set not-applicable and missing codes to NaN first "
                "(instrument scoring does this)"
            )
    n_rows = len(frame)
    if missing == "listwise":
        frame = frame.dropna(how="any")
    reversed_items = [n for n in names if key_series[n] < 0]
    if reversed_items:
        frame = frame.copy()
        for n in reversed_items:
            frame[n] = constant[n] - frame[n]
    return KeyedItems(frame, key_series, constant, len(frame), n_rows, missing)


def _drop_constant(keyed: KeyedItems, min_items: int) -> None:
    sd = keyed.data.std(ddof=1)
    bad = [str(n) for n, v in sd.items() if not np.isfinite(v) or v <= 0]
    if bad:
        raise ValueError(
            f"items: item(s) {', '.join(bad)} have no variance (or fewer than 2 answers)"
            + (" after listwise deletion" if keyed.missing == "listwise" else "")
            + "; drop them before computing reliability (psych::alpha deletes them with a warning)"
        )
    if keyed.data.shape[1] < min_items:
        raise ValueError(f"items: need at least {min_items} items, got {keyed.data.shape[1]}")


def _pairwise_cov(frame: pd.DataFrame) -> np.ndarray:
    """``cov(x, use = "pairwise")``: each entry from the rows where both items are answered."""
    C = frame.cov(ddof=1).to_numpy()
    if np.isnan(C).any():
        i, j = np.argwhere(np.isnan(C))[0]
        raise ValueError(
            f"items: items {frame.columns[i]} and {frame.columns[j]} have fewer than 2 respondents "
            "in common; pairwise covariances cannot be computed"
        )
    return C


def _smc(R: np.ndarray) -> np.ndarray:
    """Squared multiple correlations ``1 - 1/diag(R^-1)`` (``psych::smc``), bounded to [0, 1]."""
    try:
        inv = np.linalg.inv(R)
    except np.linalg.LinAlgError:
        warnings.warn(
            "the correlation matrix is singular; squared multiple correlations use its "
            "pseudo-inverse (as psych::smc does)",
            DataQualityWarning,
            stacklevel=3,
        )
        inv = np.linalg.pinv(R)
    smc = 1.0 - 1.0 / np.diag(inv)
    return np.clip(smc, 0.0, 1.0)


def _alpha_core(C: np.ndarray) -> dict[str, float]:
    """psych's internal ``alpha.1(C, R)``: every scale statistic from a covariance matrix."""
    k = C.shape[0]
    sd = np.sqrt(np.diag(C))
    R = C / np.outer(sd, sd)
    total = C.sum()
    sum_r = R.sum()
    raw = (1.0 - np.trace(C) / total) * k / (k - 1)
    std = (1.0 - k / sum_r) * k / (k - 1)
    g6 = 1.0 - (k - _smc(R).sum()) / sum_r
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


def _drop_one(C: np.ndarray, i: int) -> np.ndarray:
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
    _check_level(ci_level)
    p = 1.0 - ci_level
    df1, df2 = n_obs - 1, (n_obs - 1) * (n_items - 1)
    low = 1.0 - (1.0 - alpha) * stats.f.ppf(1.0 - p / 2.0, df1, df2)
    high = 1.0 - (1.0 - alpha) * stats.f.ppf(p / 2.0, df1, df2)
    return float(low), float(high)


def _check_level(ci_level: float) -> None:
    if not 0.0 < ci_level < 1.0:
        raise ValueError(f"ci_level: must be between 0 and 1 (e.g. 0.95), got {ci_level!r}")


# --------------------------------------------------------------------------------------------
# Results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Coefficient:
    """One reliability coefficient with its interval.

    Attributes
    ----------
    coefficient : str
        Name, e.g. ``ordinal_alpha``.
    estimate, ci_low, ci_high : float
        Point estimate and interval (NaN where no interval is computed).
    ci_level : float
        Confidence level of the interval.
    n_obs : int
        Respondents (rows) the estimate is based on.
    n_items : int
        Items in the scale.
    method : str
        How it was computed.
    missing : str
        ``pairwise`` or ``listwise``.
    scale : str or None
        Scale id, if given.
    """

    coefficient: str
    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_obs: int
    n_items: int
    method: str
    missing: str
    scale: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row: ``scale, coefficient, estimate, ci_low, ci_high, ci_level, n_obs, n_items, method, missing``."""
        return pd.DataFrame(
            [{k: getattr(self, k) for k in _SUMMARY_COLUMNS}], columns=_SUMMARY_COLUMNS
        )


_SUMMARY_COLUMNS = [
    "scale",
    "coefficient",
    "estimate",
    "ci_low",
    "ci_high",
    "ci_level",
    "n_obs",
    "n_items",
    "method",
    "missing",
]


@dataclass(frozen=True, slots=True, eq=False)
class BootstrapResult:
    """Percentile bootstrap interval of a reliability coefficient (raw alpha or omega total).

    Attributes
    ----------
    estimate : float
        The coefficient on the full data.
    ci_low, ci_high : float
        Percentiles ``(1-ci_level)/2`` and ``(1+ci_level)/2`` of the resampled values (R's
        ``quantile`` type 7, numpy's default ``linear``).
    ci_level : float
    median : float
        Median of the resampled values (psych's middle ``boot.ci`` value for alpha).
    n_boot : int
        Resamples drawn.
    seed : int or None
        Seed of the ``numpy.random.Generator`` used.
    n_obs : int
    missing : str
    replicates : numpy.ndarray
        The ``n_boot`` resampled values (NaN where a resample gave none).
    method : str
        ``bootstrap_percentile``.
    coefficient : str
        ``alpha`` (raw alpha, ``psych::alpha(n.iter =)``) or ``omega_total``.
    fisher_z_ci : tuple of float
        The interval ``psych::omega(n.iter =)`` prints: ``tanh(mean(z) ± z_{(1+level)/2} sd(z))``
        with z the Fisher z (``atanh``) of the replicates.
    n_failed : int
        Resamples left out (no value: an item pair without 2 common answers, or a factor model
        that could not be fitted).
    """

    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    median: float
    n_boot: int
    seed: int | None
    n_obs: int
    missing: str
    replicates: np.ndarray = field(repr=False)
    method: str = "bootstrap_percentile"
    coefficient: str = "alpha"
    fisher_z_ci: tuple[float, float] = (float("nan"), float("nan"))
    n_failed: int = 0

    def summary(self) -> pd.DataFrame:
        """One row: ``coefficient, estimate, ci_low, ci_high, ci_level, median, n_boot, seed,
        n_obs, method, missing``."""
        cols = [
            "coefficient",
            "estimate",
            "ci_low",
            "ci_high",
            "ci_level",
            "median",
            "n_boot",
            "seed",
            "n_obs",
            "method",
            "missing",
        ]
        return pd.DataFrame([{c: getattr(self, c) for c in cols}], columns=cols)


@dataclass(frozen=True, slots=True, eq=False)
class AlphaResult:
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


# --------------------------------------------------------------------------------------------
# Alpha
# --------------------------------------------------------------------------------------------
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
    _check_level(ci_level)
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    _drop_constant(keyed, 2)
    frame = keyed.data
    names = list(frame.columns)
    k = len(names)
    n = keyed.n_obs
    C = _pairwise_cov(frame)
    if keys is None:
        _warn_negative_items(C, names)
    core = _alpha_core(C)
    ase = float(np.sqrt(core["q"] / n))
    z = stats.norm.ppf(0.5 + ci_level / 2.0)
    lo, hi = feldt_interval(core["raw_alpha"], n, k, ci_level=ci_level)
    drop_rows = []
    for i in range(k):
        if k > 2:
            d = _alpha_core(_drop_one(C, i))
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
        boot = _bootstrap_from_keyed(
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
    negative = [str(n) for n, v in zip(names, first) if v < 0]
    if negative:
        warnings.warn(
            f"item(s) {', '.join(negative)} correlate negatively with the scale (first principal "
            "component) and probably should be reverse keyed; give keys= to reverse them",
            DataQualityWarning,
            stacklevel=3,
        )


# --------------------------------------------------------------------------------------------
# Bootstrap (vectorised)
# --------------------------------------------------------------------------------------------
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
    _check_level(ci_level)
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    _drop_constant(keyed, 2)
    estimate = _alpha_core(_pairwise_cov(keyed.data))["raw_alpha"]
    return _bootstrap_from_keyed(
        keyed, n_boot=n_boot, ci_level=ci_level, seed=seed, estimate=estimate, chunk_size=chunk_size
    )


def _check_boot(n_boot: Any, chunk_size: Any) -> None:
    if isinstance(n_boot, bool) or not isinstance(n_boot, (int, np.integer)) or n_boot < 2:
        raise ValueError(f"n_boot: must be a whole number of at least 2 resamples, got {n_boot!r}")
    if chunk_size is not None and (
        isinstance(chunk_size, bool)
        or not isinstance(chunk_size, (int, np.integer))
        or chunk_size < 1
    ):
        raise ValueError(f"chunk_size: must be a positive whole number, got {chunk_size!r}")


def _bootstrap_from_keyed(
    keyed: KeyedItems,
    *,
    n_boot: int,
    ci_level: float,
    seed: int | None,
    estimate: float,
    chunk_size: int | None = None,
) -> BootstrapResult:
    _check_boot(n_boot, chunk_size)
    alphas = _bootstrap_alphas(
        keyed.data.to_numpy(dtype="float64"), n_boot, np.random.default_rng(seed), chunk_size
    )
    return _percentile_result(
        alphas, estimate=estimate, ci_level=ci_level, seed=seed, keyed=keyed,
        coefficient="alpha", reason="had an item pair with fewer than 2 common answers",
    )  # fmt: skip


def _percentile_result(
    replicates: np.ndarray,
    *,
    estimate: float,
    ci_level: float,
    seed: int | None,
    keyed: KeyedItems,
    coefficient: str,
    reason: str,
) -> BootstrapResult:
    """Percentile interval (and psych's Fisher-z normal interval) of bootstrap replicates."""
    n_boot = len(replicates)
    finite = replicates[np.isfinite(replicates)]
    if finite.size < n_boot:
        warnings.warn(
            f"{n_boot - finite.size} of {n_boot} bootstrap resamples {reason} and were left out "
            f"of the interval of {coefficient}",
            DataQualityWarning,
            stacklevel=4,
        )
    if finite.size < 2:
        raise ValueError(
            f"n_boot: fewer than 2 of the {n_boot} bootstrap resamples gave a value of "
            f"{coefficient}; no interval"
        )
    lo_q, hi_q = (1.0 - ci_level) / 2.0, (1.0 + ci_level) / 2.0
    low, med, high = np.quantile(finite, [lo_q, 0.5, hi_q])
    # psych::omega(n.iter =)'s interval: mean ± z·sd of the Fisher z of the replicates, back
    # transformed (psych applies it to omega_h, alpha, omega.tot and G6)
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.arctanh(np.clip(finite, -1.0, 1.0))
    z = z[np.isfinite(z)]
    q = stats.norm.ppf(hi_q)
    sd = float(np.std(z, ddof=1)) if z.size > 1 else float("nan")
    fisher = (float(np.tanh(z.mean() - q * sd)), float(np.tanh(z.mean() + q * sd)))
    return BootstrapResult(
        estimate=float(estimate),
        ci_low=float(low),
        ci_high=float(high),
        ci_level=ci_level,
        median=float(med),
        n_boot=int(n_boot),
        seed=seed,
        n_obs=keyed.n_obs,
        missing=keyed.missing,
        replicates=replicates,
        coefficient=coefficient,
        fisher_z_ci=fisher,
        n_failed=int(n_boot - finite.size),
    )


def _bootstrap_alphas(
    X: np.ndarray, n_boot: int, rng: np.random.Generator, chunk_size: int | None
) -> np.ndarray:
    """Raw alpha of ``n_boot`` row resamples of X (NaN = missing), pairwise covariances.

    The pairwise covariances of every resample come from :func:`_resample_pair_moments`; alpha
    is ``k/(k-1) (1 - tr C / 1'C1)`` of each.
    """
    k = X.shape[1]
    iu, ju = np.triu_indices(k)
    diag = iu == ju
    alphas = np.empty(n_boot)
    for start, mom in _resample_pair_moments(X, n_boot, rng, chunk_size):
        cov = mom.covariance()
        trace = cov[:, diag].sum(axis=1)
        total = trace + 2.0 * cov[:, ~diag].sum(axis=1)
        alphas[start : start + len(cov)] = (1.0 - trace / total) * k / (k - 1)
    return alphas


@dataclass(frozen=True, slots=True)
class _PairMoments:
    """Pairwise-complete moments of a batch of resamples, one row per resample and one column per
    item pair ``(i, j)`` of ``np.triu_indices(k)`` (diagonal included).

    ``n`` rows answering both items, ``s_i``/``s_j`` the sums of item i/j over those rows,
    ``s_ij`` the sum of cross products, and (only when asked for) ``q_i``/``q_j`` the sums of
    squares of item i/j over those rows. Items are shifted by constants, which changes none of
    the covariances or correlations.
    """

    n: np.ndarray
    s_i: np.ndarray
    s_j: np.ndarray
    s_ij: np.ndarray
    q_i: np.ndarray | None = None
    q_j: np.ndarray | None = None

    def covariance(self) -> np.ndarray:
        """``cov(use = "pairwise")``: ``(s_ij - s_i s_j / n) / (n - 1)``."""
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.s_ij - self.s_i * self.s_j / self.n) / (self.n - 1.0)

    def correlation(self) -> np.ndarray:
        """``cor(use = "pairwise")``: each pair's own means and SDs over its complete rows."""
        with np.errstate(invalid="ignore", divide="ignore"):
            cross = self.s_ij - self.s_i * self.s_j / self.n
            var_i = self.q_i - self.s_i**2 / self.n
            var_j = self.q_j - self.s_j**2 / self.n
            return cross / np.sqrt(var_i * var_j)


def _resample_pair_moments(
    X: np.ndarray,
    n_boot: int,
    rng: np.random.Generator,
    chunk_size: int | None,
    *,
    squares: bool = False,
) -> Iterator[tuple[int, _PairMoments]]:
    """Pairwise moments of ``n_boot`` row resamples of X (NaN = missing), in batches.

    Yields ``(start, moments)`` for resamples ``start, start + 1, ...``. For a resample with row
    counts w (one row of the count matrix W), x zero-filled and m_i the indicator that item i is
    answered:

    - over all rows: ``N = Σw``, ``S_i = Σ w x_i``, ``s_ij = Σ w x_i x_j`` (zero-filling makes
      ``s_ij`` cover only the rows answering both items);
    - over the rows where item j is missing (a sparse part: one small product per item):
      ``K_ij = Σ w x_i (1 - m_j)``, ``Q_ij = Σ w x_i² (1 - m_j)`` and
      ``D_ij = Σ w (1 - m_i)(1 - m_j)``, so that ``L_ij = Σ w (1 - m_i m_j) = D_ii + D_jj - D_ij``;
    - then ``n_ij = N - L_ij``, ``s_i|j = S_i - K_ij`` and ``q_i|j = s_ii - Q_ij`` are the
      pairwise-complete count, sum and sum of squares (``q`` only with ``squares``).

    That is one large matrix product per batch of resamples plus one per item over the rows
    missing that item (about ``3 k × (missing cells)`` per resample instead of a dense product
    over every incomplete row).
    Items are shifted by their rounded means; when every value is then a whole number and
    ``n·max|x|² < 2²⁴`` the products are exact in float32 (about twice as fast as float64,
    which is used otherwise). The random draws depend only on ``n``, ``n_boot``, the generator
    and ``chunk_size``, so alpha and omega with the same seed use the same resamples.
    """
    from analysis._compat import single_threaded_blas

    n, k = X.shape
    answered = ~np.isnan(X)
    shift = np.round(np.nanmean(X, axis=0))
    Xs = np.where(answered, X - shift, 0.0)
    iu, ju = np.triu_indices(k)
    whole = bool(np.all(Xs == np.round(Xs)))
    dtype = (
        np.float32
        if whole and n * float(np.max(np.abs(Xs), initial=0.0)) ** 2 < 2**24
        else np.float64
    )
    # [1, x, x_i x_j for i <= j in triu order]: row i of the upper triangle is one column block
    Xd = Xs.astype(dtype)
    design = np.empty((n, 1 + k + len(iu)), dtype=dtype)
    design[:, 0] = 1.0
    design[:, 1 : k + 1] = Xd
    col = k + 1
    for i in range(k):
        np.multiply(Xd[:, i : i + 1], Xd[:, i:], out=design[:, col : col + k - i])
        col += k - i
    miss = ~answered
    # per item j: the rows where j is missing, and those rows' [x, x², missing] (sparse part)
    lost_rows = [np.flatnonzero(miss[:, j]) for j in range(k)]
    lost_design = [
        np.hstack([Xs[r], Xs[r] ** 2, miss[r].astype("float64")]).astype(dtype) for r in lost_rows
    ]
    if chunk_size is None:
        # few large products: fewer BLAS calls (and thread hand-offs) per resample
        chunk_size = max(1, min(n_boot, 16_000_000 // max(n, 1)))
    sub = max(1, 500_000 // max(n, 1))  # resamples counted at a time (cache-sized index arrays)
    p = len(iu)
    W = np.empty((min(chunk_size, n_boot), n), dtype=dtype)
    for start in range(0, n_boot, chunk_size):
        b = min(chunk_size, n_boot - start)
        for q in range(0, b, sub):
            m = min(sub, b - q)
            rows = rng.integers(0, n, size=(m, n))
            rows += (np.arange(m) * n)[:, None]
            W[q : q + m] = np.bincount(rows.ravel(), minlength=m * n).reshape(m, n)
        with single_threaded_blas():  # see analysis._compat: threads lose on a shared machine
            moments = (W[:b] @ design).astype("float64")
        N, S, sxy = moments[:, 0], moments[:, 1 : k + 1], moments[:, k + 1 :]
        nij = np.repeat(N[:, None], p, axis=1)
        si, sj = S[:, iu], S[:, ju]
        qi = qj = None
        if squares:
            sq = sxy[:, iu == ju]
            qi, qj = sq[:, iu], sq[:, ju]
        if any(r.size for r in lost_rows):
            # [K | Q | D][:, :, j] = Σ over the rows missing j of w·[x_i, x_i², 1 - m_i]
            lost = np.zeros((b, 3 * k, k))
            with single_threaded_blas():
                for j, r in enumerate(lost_rows):
                    if r.size:
                        lost[:, :, j] = W[:b, r] @ lost_design[j]
            K, Q, D = lost[:, :k], lost[:, k : 2 * k], lost[:, 2 * k :]
            M = D[:, np.arange(k), np.arange(k)]  # Σ w over the rows missing item i
            nij = nij - (M[:, iu] + M[:, ju] - D[:, iu, ju])  # L_ij = M_i + M_j - D_ij
            si = si - K[:, iu, ju]
            sj = sj - K[:, ju, iu]
            if squares:
                qi = qi - Q[:, iu, ju]
                qj = qj - Q[:, ju, iu]
        yield start, _PairMoments(nij, si, sj, sxy, qi, qj)


# --------------------------------------------------------------------------------------------
# Omega
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class OmegaResult:
    """McDonald's omega from a Schmid–Leiman solution (``psych::omega``).

    Attributes
    ----------
    estimate : float
        Omega total (``omega.tot``).
    ci_low, ci_high : float
        Percentile bootstrap interval of omega total (``bootstrap``) when ``n_boot > 0``,
        else NaN (psych computes an interval only with ``n.iter > 1``).
    ci_level : float
    n_obs : int
    n_items : int
    method : str
        ``omega_minres_one_factor`` or ``omega_schmid_leiman_minres_oblimin``.
    missing : str
    correlation : str
        ``pearson`` (pairwise ``cor``) or ``polychoric``.
    omega_total : float
        ``(V_t - Σ u²) / V_t`` (``omega.tot``).
    omega_hierarchical : float
        ``(Σ g)² / V_t`` (``omega_h``); NaN for a one-factor solution, where psych warns that
        it is not meaningful.
    omega_h_asymptotic : float
        ``(Σ g)² / (V_t - Σ u²)`` (``omega.lim``); NaN for one factor.
    alpha_std : float
        Standardized alpha of the (flipped) correlation matrix (``alpha``).
    g6 : float
        Guttman's lambda 6 (``G6``).
    ecv : float
        Explained common variance of the general factor (``ECV``); NaN for one factor.
    n_factors : int
    loadings : pandas.DataFrame
        Schmid–Leiman loadings: ``g``, ``F1*`` ... ``Fk*``, ``h2``, ``u2``, ``p2`` (``schmid$sl``).
    flipped : tuple of str
        Items reversed because their general-factor loading was negative (``flip = TRUE``).
    bootstrap : BootstrapResult or None
        Bootstrap of omega total (``coefficient = "omega_total"``) when ``n_boot > 0``. Omega
        hierarchical has no interval (see :func:`omega`, Notes).
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
    correlation: str
    omega_total: float
    omega_hierarchical: float
    omega_h_asymptotic: float
    alpha_std: float
    g6: float
    ecv: float
    n_factors: int
    loadings: pd.DataFrame = field(repr=False)
    flipped: tuple[str, ...] = ()
    bootstrap: BootstrapResult | None = None
    scale: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row per coefficient: ``omega_total, omega_hierarchical, omega_h_asymptotic,
        alpha_std, g6, ecv`` with columns ``scale, coefficient, estimate, ci_low, ci_high,
        ci_level, n_obs, n_items, n_factors, method, correlation, missing``."""
        rows = [
            (name, getattr(self, name))
            for name in (
                "omega_total",
                "omega_hierarchical",
                "omega_h_asymptotic",
                "alpha_std",
                "g6",
                "ecv",
            )
        ]
        frame = pd.DataFrame(rows, columns=["coefficient", "estimate"])
        frame.insert(0, "scale", self.scale)
        frame["ci_low"] = np.where(frame["coefficient"] == "omega_total", self.ci_low, np.nan)
        frame["ci_high"] = np.where(frame["coefficient"] == "omega_total", self.ci_high, np.nan)
        frame["ci_level"] = self.ci_level
        frame["n_obs"] = self.n_obs
        frame["n_items"] = self.n_items
        frame["n_factors"] = self.n_factors
        frame["method"] = self.method
        frame["correlation"] = self.correlation
        frame["missing"] = self.missing
        return frame


def _minres(R: np.ndarray, n_factors: int) -> np.ndarray:
    """Unrotated minres loadings (``psych::fa(fm = "minres", rotate = "none")``)."""
    from factor_analyzer import FactorAnalyzer

    fa = FactorAnalyzer(n_factors=n_factors, rotation=None, method="minres", is_corr_matrix=True)
    with warnings.catch_warnings():
        # factor_analyzer 0.5.1 passes sklearn's renamed ``force_all_finite`` argument
        warnings.filterwarnings("ignore", message=".*force_all_finite.*", category=FutureWarning)
        fa.fit(R)
    return np.asarray(fa.loadings_, dtype="float64").reshape(R.shape[0], n_factors)


def _schmid_leiman(
    R: np.ndarray, n_factors: int, *, option: str = "equal"
) -> dict[str, np.ndarray]:
    """``psych::schmid(R, nfactors, fm = "minres", rotate = "oblimin")``."""
    from factor_analyzer import Rotator

    orth = _minres(R, n_factors)
    h2 = (orth**2).sum(axis=1)
    if n_factors == 1:
        fload = orth
        gload = np.array([1.0])
        phi = np.ones((1, 1))
    else:
        varimax = Rotator(method="varimax").fit_transform(orth)
        # GPArotation::oblimin defaults: gam = 0, eps = 1e-5, maxit = 1000
        rotator = Rotator(method="oblimin", gamma=0, max_iter=1000, tol=1e-5)
        fload = rotator.fit_transform(varimax)
        phi = rotator.phi_
        if n_factors > 2:
            gload = _minres(phi, 1)[:, 0]
            if gload.sum() < 0:
                gload = -gload
        else:
            r12 = phi[0, 1]
            if option != "equal":
                raise ValueError(
                    f"option: only 'equal' is implemented for two group factors, got {option!r}"
                )
            gload = np.array([np.sqrt(abs(r12)), np.sign(r12) * np.sqrt(abs(r12))])
    g = fload @ gload
    uniq2 = fload**2 * (1.0 - gload**2)
    uniq2[uniq2 < 0] = 0.0
    group = np.sign(fload) * np.sqrt(uniq2)
    return {"g": g, "group": group, "h2": h2, "u2": np.diag(R) - h2, "phi": phi, "gload": gload}


def _pairwise_cor(frame: pd.DataFrame) -> np.ndarray:
    R = frame.corr().to_numpy()
    if np.isnan(R).any():
        i, j = np.argwhere(np.isnan(R))[0]
        raise ValueError(
            f"items: the correlation of {frame.columns[i]} and {frame.columns[j]} cannot be computed "
            "(fewer than 2 common answers or no variance)"
        )
    return R


def omega(
    items: pd.DataFrame,
    *,
    n_factors: int = 3,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    flip: bool = True,
    correlation: str = "pearson",
    ci_level: float = 0.95,
    n_boot: int = 0,
    seed: int | None = None,
    chunk_size: int | None = None,
    scale: str | None = None,
) -> OmegaResult:
    """McDonald's omega total and hierarchical from a Schmid–Leiman solution.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item, NaN for missing answers.
    n_factors : int, default 3
        Group factors (psych's default 3). 1 gives omega total of a one-factor model
        (``psych::omega(x, nfactors = 1)``, what jamovi reports as McDonald's ω).
    keys : None, mapping, Series, list of str or Instrument, default None
        Reverse keying. When given, items are keyed first and ``flip`` is not applied (psych:
        giving ``key`` sets ``flip = FALSE``).
    scale_min, scale_max : float, optional
        Response scale end points for reversing.
    missing : {"pairwise", "listwise"}, default "pairwise"
    flip : bool, default True
        Reverse items whose general-factor loading is negative (psych's ``flip``) when no
        ``keys`` are given.
    correlation : {"pearson", "polychoric"}, default "pearson"
        ``polychoric`` uses :func:`analysis.factor.polychoric.polychoric` (psych's ``poly = TRUE``).
    ci_level : float, default 0.95
        Level of the bootstrap interval.
    n_boot : int, default 0
        Bootstrap resamples of the rows for a percentile interval of omega total (0: none; at
        least 2, 1,000 is a good choice). Pearson correlations only.
    seed : int, optional
        Seed of the bootstrap's ``numpy.random.Generator``; the same seed gives the same
        interval (and the same resamples as :func:`bootstrap_alpha` with that seed).
    chunk_size : int, optional
        Resamples per batch, as :func:`bootstrap_alpha`.
    scale : str, optional

    Returns
    -------
    OmegaResult

    Notes
    -----
    Reproduces ``psych::omega(x, nfactors, fm = "minres", rotate = "oblimin")`` (psych 2.2.9):
    R is ``cor(x, use = "pairwise")``; minres extraction of ``nfactors``; varimax then oblimin
    (GPArotation defaults); the general factor is a one-factor minres solution of the factor
    correlations Φ (for two factors psych's ``option = "equal"``: both g loadings
    ``sqrt|φ12|``); Schmid–Leiman: ``g = F γ``, group loadings ``sign(F)·sqrt(F²(1 - γ²))``;
    ``h²`` are the communalities of the minres solution and ``u² = 1 - h²``. With V_t = 1'R1 of
    the (flipped or keyed) correlation matrix:

    - ω_t = (V_t - Σ u²) / V_t (``omega.tot``)
    - ω_h = (Σ g)² / V_t (``omega_h``)
    - ω_h asymptotic = (Σ g)² / (V_t - Σ u²) (``omega.lim``)
    - α = (V_t - tr R)/V_t · k/(k-1), G6 = (V_t + Σ smc - tr R)/V_t, ECV = Σg² / Σ(g² + Σ group²)

    For one factor, ω_t = (V_t - Σ(1 - λ²)) / V_t with λ the one-factor minres loadings.
    Extraction and rotation use factor_analyzer (minres, GPA oblimin), which reproduces psych to
    about 1e-6 on the same correlation matrix.

    **Bootstrap interval** (``n_boot > 0``). As ``psych::omega(x, nfactors, n.iter = B)``, each
    resample draws n rows with replacement, takes ``cor(use = "pairwise")`` and refits the
    model; the reported interval is the ``(1 ± ci_level)/2`` percentiles of the B omega totals
    (as for alpha). psych itself reports a different interval from the same replicates:
    ``tanh(mean(z) ± z_{.975} sd(z))`` of their Fisher z, kept as ``bootstrap.fisher_z_ci``.
    The correlation matrices of all resamples come from one set of matrix products (the alpha
    bootstrap's resample-count machinery, :func:`bootstrap_alpha`), and the factor models are
    fitted to all of them at once:

    - one factor: Newton's method on the minres criterion ``Σ_{i<j}(r_ij - λ_iλ_j)²`` from the
      full-sample loadings; with ``flip`` each resample is flipped by its own loadings' signs
      (as psych, which calls ``omegah`` with ``flip = TRUE`` on every resample);
    - ``n_factors > 1``: ω_t needs only the uniquenesses of the ``n_factors``-factor minres
      solution (it does not change with rotation), found by iterated principal axes from the
      full-sample uniquenesses (the fixed point is the minres solution). The items flipped in
      the full sample stay flipped in every resample (psych re-decides from each resample's
      rotated general factor).

    Resamples where the batched fit does not converge inside psych's bounds (uniquenesses
    ≥ .005, e.g. a Heywood case) are refitted one at a time with
    :func:`analysis.factor.efa.extract_factors` (bounded L-BFGS-B, as psych). Omega hierarchical has no
    interval: each resample needs its own oblimin rotation and second-order fit, about 0.1 s per
    resample for 36 items and 3 factors (100 s for 1,000 resamples), and the general factor's
    orientation must be re-decided per resample.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Mahwah, NJ: Erlbaum.
    Revelle, W., & Zinbarg, R. E. (2009). Coefficients alpha, beta, omega, and the glb: Comments
    on Sijtsma. Psychometrika, 74, 145-154.
    Schmid, J., & Leiman, J. M. (1957). The development of hierarchical factor solutions.
    Psychometrika, 22, 53-61.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 1))
    >>> df = pd.DataFrame(0.7 * f + 0.7 * rng.normal(size=(500, 6)), columns=list("abcdef"))
    >>> res = omega(df, n_factors=1)
    >>> bool(0.7 < res.omega_total < 0.9)
    True
    >>> boot = omega(df, n_factors=1, n_boot=200, seed=1)
    >>> bool(boot.ci_low < boot.estimate < boot.ci_high), boot.bootstrap.n_boot
    (True, 200)
    """
    _check_level(ci_level)
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise ValueError(f"n_factors: must be a whole number of at least 1, got {n_factors!r}")
    if correlation not in ("pearson", "polychoric"):
        raise ValueError(f"correlation: must be 'pearson' or 'polychoric', got {correlation!r}")
    if n_boot:
        _check_boot(n_boot, chunk_size)
        if correlation != "pearson":
            raise ValueError(
                "n_boot: bootstrap intervals of omega are computed for Pearson correlations only "
                "(each resample would need its own polychoric fit); use n_boot=0 with "
                "correlation='polychoric'"
            )
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    _drop_constant(keyed, 2)
    names = [str(c) for c in keyed.data.columns]
    k = len(names)
    if n_factors > 1 and k < 2 * n_factors:
        raise ValueError(
            f"n_factors: {n_factors} group factors need at least {2 * n_factors} items, the scale has {k}"
        )
    R = _correlation_matrix(keyed, correlation)
    sl = _schmid_leiman(R, n_factors)
    g, group = sl["g"], sl["group"]
    flipped: tuple[str, ...] = ()
    sign = np.ones(k)
    if flip and keys is None:
        sign = np.sign(g)
        sign[sign == 0] = 1.0
        if (sign < 0).any():
            R = R * np.outer(sign, sign)
            g = g * sign
            group = group * sign[:, None]
            flipped = tuple(n for n, s in zip(names, sign) if s < 0)
    Vt = R.sum()
    trace = np.trace(R)
    u2 = sl["u2"]
    gsq = g.sum() ** 2
    omega_t = (Vt - u2.sum()) / Vt
    one = n_factors == 1
    ev = np.concatenate([[np.sum(g**2)], np.sum(group**2, axis=0)])
    loadings = pd.DataFrame(
        np.column_stack([g, group, sl["h2"], u2, g**2 / sl["h2"]]),
        index=pd.Index(names, name="item"),
        columns=["g", *[f"F{i + 1}*" for i in range(n_factors)], "h2", "u2", "p2"],
    )
    boot = None
    if n_boot:
        replicates = _omega_total_replicates(
            _resampled_correlations(keyed, n_boot=n_boot, seed=seed, chunk_size=chunk_size),
            n_factors=n_factors,
            start=sl["g"] if one else u2,
            signs=None if (one and flip and keys is None) else sign,
        )
        boot = _percentile_result(
            replicates, estimate=float(omega_t), ci_level=ci_level, seed=seed, keyed=keyed,
            coefficient="omega_total",
            reason="had an item pair without 2 common answers or a factor model that could not be fitted",
        )  # fmt: skip
    return OmegaResult(
        estimate=float(omega_t),
        ci_low=float("nan") if boot is None else boot.ci_low,
        ci_high=float("nan") if boot is None else boot.ci_high,
        ci_level=ci_level,
        n_obs=keyed.n_obs,
        n_items=k,
        method="omega_minres_one_factor" if one else "omega_schmid_leiman_minres_oblimin",
        missing=keyed.missing,
        correlation=correlation,
        omega_total=float(omega_t),
        omega_hierarchical=float("nan") if one else float(gsq / Vt),
        omega_h_asymptotic=float("nan") if one else float(gsq / (Vt - u2.sum())),
        alpha_std=float((Vt - trace) / Vt * k / (k - 1)),
        g6=float((Vt + _smc(R).sum() - trace) / Vt),
        ecv=float("nan") if one else float(ev[0] / ev.sum()),
        n_factors=int(n_factors),
        loadings=loadings,
        flipped=flipped,
        bootstrap=boot,
        scale=scale,
    )


def _correlation_matrix(keyed: KeyedItems, correlation: str) -> np.ndarray:
    if correlation == "pearson":
        return _pairwise_cor(keyed.data)
    from analysis.factor.polychoric import polychoric

    return polychoric(keyed.data).rho.to_numpy(dtype="float64")


# --------------------------------------------------------------------------------------------
# Omega bootstrap (vectorised over resamples)
# --------------------------------------------------------------------------------------------
_PSI_LOWER = 0.005  # psych's lower bound on the uniquenesses (fa: optim L-BFGS-B)


def _bootstrap_correlations(
    X: np.ndarray, n_boot: int, rng: np.random.Generator, chunk_size: int | None
) -> np.ndarray:
    """``cor(x[rows, ], use = "pairwise")`` of ``n_boot`` row resamples: ``(n_boot, k, k)``.

    From the same pairwise moments as the alpha bootstrap (:func:`_resample_pair_moments`, with
    the sums of squares); a resample with an item pair lacking 2 common answers or variance has
    NaN entries.
    """
    k = X.shape[1]
    iu, ju = np.triu_indices(k)
    out = np.empty((n_boot, k, k))
    for start, mom in _resample_pair_moments(X, n_boot, rng, chunk_size, squares=True):
        r = mom.correlation()
        block = out[start : start + len(r)]
        block[:, iu, ju] = r
        block[:, ju, iu] = r
    return out


def _one_factor_minres_batch(
    R: np.ndarray, start: np.ndarray, *, tol: float = 1e-10, max_iter: int = 50
) -> tuple[np.ndarray, np.ndarray]:
    """One-factor minres loadings of a stack of correlation matrices by Newton's method.

    Minimises ``f(λ) = Σ_{i<j} (r_ij - λ_i λ_j)²`` for every matrix at once, from ``start``
    (the full-sample loadings). With ``e_ij = r_ij - λ_i λ_j`` the gradient is
    ``g_i = -Σ_{j≠i} e_ij λ_j`` and the Hessian ``H_ii = Σ_{j≠i} λ_j²``,
    ``H_ij = 2 λ_i λ_j - r_ij`` (both halved). Returns ``(loadings, ok)``: ok marks matrices
    whose iteration converged to a minimum (positive definite Hessian) inside psych's bounds
    ``λ_i² ≤ 1 - 0.005``; psych's L-BFGS-B over the uniquenesses stops at the same point
    there, since at an interior optimum of minres the communalities equal ``λ_i²``.
    """
    b, k, _ = R.shape
    lam = np.broadcast_to(start, (b, k)).copy()
    idx = np.arange(k)
    done = np.zeros(b, dtype=bool)
    with np.errstate(invalid="ignore", over="ignore"):
        for _ in range(max_iter):
            ll = lam[:, :, None] * lam[:, None, :]
            E = R - ll
            E[:, idx, idx] = 0.0
            g = -np.einsum("bij,bj->bi", E, lam)
            H = 2.0 * ll - R
            H[:, idx, idx] = (lam**2).sum(axis=1)[:, None] - lam**2
            try:
                step = np.linalg.solve(H, g[..., None])[..., 0]
            except np.linalg.LinAlgError:
                break  # a singular Hessian somewhere: the rest are refitted one by one
            step[~np.isfinite(step)] = np.nan
            lam = lam - step
            done = np.nan_to_num(np.abs(step), nan=np.inf).max(axis=1) < tol
            if done.all():
                break
        ll = lam[:, :, None] * lam[:, None, :]
        H = 2.0 * ll - R
        H[:, idx, idx] = (lam**2).sum(axis=1)[:, None] - lam**2
        H[~np.isfinite(H)] = 0.0
        try:  # positive definite Hessians (the usual case) factor; eigenvalues only otherwise
            np.linalg.cholesky(H)
            minimum = np.ones(b, dtype=bool)
        except np.linalg.LinAlgError:
            minimum = np.linalg.eigvalsh(H)[:, 0] > 0
    inside = np.all(lam**2 <= 1.0 - _PSI_LOWER, axis=1) & np.isfinite(lam).all(axis=1)
    return lam, done & minimum & inside


def _minres_uniqueness_batch(
    R: np.ndarray, n_factors: int, start: np.ndarray, *, tol: float = 1e-9, max_iter: int = 500
) -> tuple[np.ndarray, np.ndarray]:
    """Uniquenesses of a ``n_factors`` minres solution of a stack of correlation matrices.

    Iterated principal axes ``ψ ← diag(R) - diag(ΛΛ')``, Λ the first ``n_factors`` principal
    axes of ``S = R - Ψ``, from ``start`` (the full-sample ψ). Its fixed point is the stationary
    point of minres (psych's gradient ``diag(ΛΛ' + Ψ - R)`` is zero there). Instead of a full
    eigendecomposition per step, the principal axes are carried along by one step of subspace
    iteration on ``S + I`` (positive semi-definite, so its dominant subspace is that of the
    largest eigenvalues of S) with a Rayleigh–Ritz projection; at the end one full
    eigendecomposition recomputes ψ exactly and checks that it has not moved. Returns
    ``(psi, ok)``; ok marks matrices that converged (largest change below ``tol``, and below
    ``100 tol`` in that final check) inside psych's bounds ``0.005 ≤ ψ ≤ 1``.
    """
    b, k, _ = R.shape
    psi = np.broadcast_to(start, (b, k)).astype("float64", copy=True)
    idx = np.arange(k)
    finite = np.isfinite(R).all(axis=(1, 2))
    S = np.where(finite[:, None, None], R, np.eye(k))
    diag = S[:, idx, idx].copy()
    done = np.zeros(b, dtype=bool)

    def reduced() -> np.ndarray:
        S[:, idx, idx] = diag - psi
        S[~finite] = np.eye(k)
        return S

    w, v = np.linalg.eigh(reduced())
    axes, values = v[:, :, -n_factors:], w[:, -n_factors:]
    for _ in range(max_iter):
        new = diag - (axes**2 * np.maximum(values, 0.0)[:, None, :]).sum(axis=2)
        change = np.abs(new - psi).max(axis=1)
        psi = new
        done = change < tol
        if done[finite].all():
            break
        reduced()
        q, _ = np.linalg.qr(S @ axes + axes)  # one subspace-iteration step on S + I
        values, rotation = np.linalg.eigh(np.swapaxes(q, 1, 2) @ S @ q)
        axes = q @ rotation
    w, v = np.linalg.eigh(reduced())
    exact = diag - (v[:, :, -n_factors:] ** 2 * np.maximum(w[:, -n_factors:], 0.0)[:, None, :]).sum(
        axis=2
    )
    done &= np.abs(exact - psi).max(axis=1) < 100 * tol
    psi = exact
    inside = np.all((psi >= _PSI_LOWER) & (psi <= 1.0), axis=1)
    return psi, done & inside & finite


def _resampled_correlations(
    keyed: KeyedItems, *, n_boot: int, seed: int | None, chunk_size: int | None
) -> np.ndarray:
    return _bootstrap_correlations(
        keyed.data.to_numpy(dtype="float64"), n_boot, np.random.default_rng(seed), chunk_size
    )


#: Most resamples of one bootstrap refitted one by one with psych's bounded minres
#: (:func:`analysis.factor.efa.extract_factors`) when the vectorised solvers stop at a Heywood case or do
#: not converge; further failures are left out of the interval with a warning. About 10 ms each
#: for 37 items and 6 factors, so at most ~1 s per scale.
MAX_BOOT_REFITS = 100


def _omega_total_replicates(
    R: np.ndarray,
    *,
    n_factors: int,
    start: np.ndarray,
    signs: np.ndarray | None,
    max_refits: int = MAX_BOOT_REFITS,
) -> np.ndarray:
    """Omega total of each resampled correlation matrix in R (NaN where a resample gives none).

    ``start``: full-sample loadings (one factor) or uniquenesses (several). ``signs``: None to
    flip each resample by the signs of its own one-factor loadings (psych's ``flip``), else
    the fixed ±1 per item applied to every resample (keys, or the full-sample flip).
    ``max_refits``: most resamples refitted one by one (:data:`MAX_BOOT_REFITS`).
    """
    from analysis.factor.efa import extract_factors

    finite = np.isfinite(R).all(axis=(1, 2))
    from analysis._compat import single_threaded_blas

    # many small factorizations: threaded BLAS only adds hand-offs (100x slower under load)
    with single_threaded_blas():
        if n_factors == 1:
            lam, ok = _one_factor_minres_batch(np.where(finite[:, None, None], R, 0.0), start)
            uniq = 1.0 - lam**2
        else:
            uniq, ok = _minres_uniqueness_batch(R, n_factors, start)
            lam = None
        ok &= finite
        refit = np.flatnonzero(finite & ~ok)
        if refit.size > max_refits:
            warnings.warn(
                f"{refit.size} of {len(R)} bootstrap resamples needed psych's bounded minres "
                f"(a Heywood case or slow convergence); only the first {max_refits} were refitted "
                "and the rest left out of the interval",
                DataQualityWarning,
                stacklevel=3,
            )
            refit = refit[:max_refits]
        # a Heywood case or slow convergence: psych's bounded minres, one resample at a time.
        # Inside the one-thread block: each L-BFGS-B step is a small eigh, which a threaded
        # BLAS made 10-30 times slower (35 s for 30 respondents before this was moved here)
        for b in refit:
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    load, psi, _ = extract_factors(R[b], n_factors, method="minres")
            except (ValueError, np.linalg.LinAlgError, ArithmeticError):
                continue
            uniq[b] = np.diag(R[b]) - (load**2).sum(axis=1)
            if lam is not None:
                lam[b] = load[:, 0]
            ok[b] = np.isfinite(uniq[b]).all()
    if signs is None:
        s = np.where(lam < 0, -1.0, 1.0)
        Vt = np.einsum("bi,bij,bj->b", s, np.where(finite[:, None, None], R, 0.0), s)
    else:
        Vt = np.einsum("i,bij,j->b", signs, np.where(finite[:, None, None], R, 0.0), signs)
    with np.errstate(invalid="ignore", divide="ignore"):
        omega_t = (Vt - uniq.sum(axis=1)) / Vt
    omega_t[~ok] = np.nan
    return omega_t


# --------------------------------------------------------------------------------------------
# Ordinal alpha and omega
# --------------------------------------------------------------------------------------------
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
    _check_level(ci_level)
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    _drop_constant(keyed, 2)
    rho = _correlation_matrix(keyed, "polychoric")
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


def ordinal_omega(items: pd.DataFrame, *, n_factors: int = 1, **kwargs: Any) -> OmegaResult:
    """Ordinal omega: :func:`omega` of the polychoric correlations (psych ``omega(poly = TRUE)``).

    Parameters
    ----------
    items : pandas.DataFrame
        Whole-number response codes, NaN for missing answers.
    n_factors : int, default 1
        One factor gives ordinal omega total (Gadermann, Guhn & Zumbo, 2012).
    **kwargs
        Passed to :func:`omega` (``keys``, ``missing``, ``flip``, ``scale`` ...).

    Returns
    -------
    OmegaResult
        With ``correlation = "polychoric"``.

    References
    ----------
    Gadermann, A. M., Guhn, M., & Zumbo, B. D. (2012). Practical Assessment, Research &
    Evaluation, 17(3).
    """
    return omega(items, n_factors=n_factors, correlation="polychoric", **kwargs)


# --------------------------------------------------------------------------------------------
# Split half
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class SplitHalfResult:
    """Split-half reliabilities over many ways of halving a scale (``psych::splitHalf``).

    Attributes
    ----------
    estimate : float
        Guttman's lambda 4, the largest split-half reliability (``maxrb``).
    ci_low, ci_high : float
        NaN (no interval).
    ci_level : float
    n_obs : int
    n_items : int
    method : str
        ``split_half_exhaustive`` or ``split_half_sampled``.
    missing : str
    lambda4 : float
        Largest split-half coefficient (``maxrb``).
    beta : float
        Smallest split-half coefficient, Revelle's β (``minrb``).
    mean_split_half : float
        Mean over the splits tried (``meanr``); equals standardized alpha when every split of an
        even number of items is tried.
    odd_even : float
        Spearman–Brown corrected correlation of the odd- and even-numbered items' sums (in column
        order): ``2 r / (1 + r)``.
    alpha : float
        Alpha of the same matrix (standardized when ``covar`` is False).
    lambda6 : float
    n_splits : int
        Splits evaluated.
    exhaustive : bool
        True when every split was evaluated.
    best_split, worst_split : tuple of str
        Items of one half of the lambda-4 and beta splits.
    covar : bool
        True: computed from covariances (raw scores); False: correlations (psych's default).
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
    lambda4: float
    beta: float
    mean_split_half: float
    odd_even: float
    alpha: float
    lambda6: float
    n_splits: int
    exhaustive: bool
    best_split: tuple[str, ...]
    worst_split: tuple[str, ...]
    covar: bool
    scale: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row per coefficient (``lambda4, beta, mean_split_half, odd_even, alpha,
        lambda6``), columns ``scale, coefficient, estimate, n_obs, n_items, n_splits,
        exhaustive, method, missing``."""
        names = ("lambda4", "beta", "mean_split_half", "odd_even", "alpha", "lambda6")
        frame = pd.DataFrame({"coefficient": names, "estimate": [getattr(self, n) for n in names]})
        frame.insert(0, "scale", self.scale)
        for col in ("n_obs", "n_items", "n_splits", "exhaustive", "method", "missing"):
            frame[col] = getattr(self, col)
        return frame


def _split_masks(k: int, n_sample: int, rng: np.random.Generator) -> tuple[np.ndarray, bool]:
    half = k // 2
    if k % 2 == 0:
        # splits with item 0 in the first half: each unordered split exactly once
        count = comb(k - 1, half - 1)
    else:
        count = comb(k, half)
    if count <= n_sample:
        if k % 2 == 0:
            combos = [(0, *c) for c in combinations(range(1, k), half - 1)]
        else:
            combos = list(combinations(range(k), half))
        masks = np.zeros((len(combos), k), dtype=bool)
        rows = np.repeat(np.arange(len(combos)), half)
        masks[rows, np.asarray(combos).ravel()] = True
        return masks, True
    keys = rng.random((n_sample, k))
    order = np.argsort(keys, axis=1)[:, :half]
    masks = np.zeros((n_sample, k), dtype=bool)
    np.put_along_axis(masks, order, True, axis=1)
    return masks, False


def split_half(
    items: pd.DataFrame,
    *,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    covar: bool = False,
    check_keys: bool = True,
    n_sample: int = 10000,
    seed: int | None = None,
    ci_level: float = 0.95,
    scale: str | None = None,
) -> SplitHalfResult:
    """Guttman's lambda 4 (best split), Revelle's beta (worst split) and the mean split half.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item (at least 2), NaN for missing answers.
    keys, scale_min, scale_max, missing
        As :func:`cronbach_alpha`.
    covar : bool, default False
        False: work on the correlation matrix (psych's default, standardized items); True: on
        the covariance matrix (raw scores).
    check_keys : bool, default True
        When no ``keys`` are given, reverse the items that load negatively on the first
        principal component, with a warning (psych's ``check.keys = TRUE``).
    n_sample : int, default 10000
        When there are more distinct splits than this, that many random splits are evaluated
        instead of all (psych 2.2.9's ``n.sample``; psych 2.5 raised it to 15000).
    seed : int, optional
        Seed for the random splits.
    ci_level : float, default 0.95
        Recorded only.
    scale : str, optional

    Returns
    -------
    SplitHalfResult

    Notes
    -----
    Reproduces ``psych::splitHalf(x, key = reversed)``'s ``maxrb``, ``minrb`` and ``meanr``.
    For a split of the items into halves A (⌊k/2⌋ items) and B with matrix V (correlations, or
    covariances when ``covar``), the split-half reliability is Guttman's

    ``λ4(A, B) = 4 · 1'_A V 1_B / 1'V1 = 2 (1 - (V_A + V_B) / V_X)``,

    the Flanagan–Rulon coefficient. All ``C(k, ⌊k/2⌋)`` splits (halved for even k, where A and
    B are interchangeable) are evaluated in one matrix product when they number at most
    ``n_sample`` (up to 16 items); otherwise ``n_sample`` random splits are drawn, so
    ``lambda4`` and ``beta`` are then bounds reached by the sample. ``odd_even`` is the
    Spearman–Brown step-up ``2r/(1+r)`` of the correlation r between the odd- and
    even-positioned halves. For even k the mean over all splits equals alpha of V (Cronbach,
    1951).

    Known differences from psych 2.2.9's brute-force branch: for odd k psych visits only the
    first ``C(k, ⌊k/2⌋)/2`` combinations in lexicographic order (half of the distinct splits),
    here all of them; and psych leaves the first split out of the sum behind ``meanr`` (while
    dividing by the full count), so its ``meanr`` is lower by that split's value / count.
    ``maxrb`` and ``minrb`` agree whenever the same splits are visited.

    References
    ----------
    Guttman, L. (1945). A basis for analyzing test-retest reliability. Psychometrika, 10, 255-282.
    Cronbach, L. J. (1951). Coefficient alpha and the internal structure of tests.
    Psychometrika, 16, 297-334.
    Revelle, W., & Zinbarg, R. E. (2009). Psychometrika, 74, 145-154.

    Examples
    --------
    >>> R = np.full((4, 4), 0.5) + 0.5 * np.eye(4)
    >>> df = pd.DataFrame(np.random.default_rng(0).multivariate_normal(np.zeros(4), R, 400), columns=list("abcd"))
    >>> res = split_half(df)
    >>> res.n_splits, res.exhaustive
    (3, True)
    """
    if not isinstance(n_sample, (int, np.integer)) or n_sample < 1:
        raise ValueError(f"n_sample: must be a positive whole number, got {n_sample!r}")
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    _drop_constant(keyed, 2)
    names = [str(c) for c in keyed.data.columns]
    k = len(names)
    C = _pairwise_cov(keyed.data)
    if not covar:
        sd = np.sqrt(np.diag(C))
        C = C / np.outer(sd, sd)
    if keys is None and check_keys:
        sd = np.sqrt(np.diag(C))
        _, vectors = np.linalg.eigh(C / np.outer(sd, sd))
        first = vectors[:, -1] * np.sign(vectors[:, -1].sum() or 1.0)
        sign = np.where(first < 0, -1.0, 1.0)
        if (sign < 0).any():
            reversed_names = [n for n, v in zip(names, sign) if v < 0]
            warnings.warn(
                f"item(s) {', '.join(reversed_names)} correlate negatively with the scale and were "
                "reversed (check_keys=True, as psych::splitHalf); give keys= to control this",
                DataQualityWarning,
                stacklevel=2,
            )
            C = C * np.outer(sign, sign)
    total = C.sum()
    trace = np.trace(C)
    alpha = (total - trace) / total * k / (k - 1)
    sd_c = np.sqrt(np.diag(C))
    lambda6 = (total - trace + (_smc(C / np.outer(sd_c, sd_c)) * np.diag(C)).sum()) / total
    masks, exhaustive = _split_masks(k, n_sample, np.random.default_rng(seed))
    A = masks.astype("float64")
    cross = np.einsum("si,ij,sj->s", A, C, 1.0 - A)
    rab = 4.0 * cross / total
    best, worst = int(np.argmax(rab)), int(np.argmin(rab))
    odd = np.zeros(k)
    odd[0::2] = 1.0
    even = 1.0 - odd
    r_oe = (odd @ C @ even) / np.sqrt((odd @ C @ odd) * (even @ C @ even))
    return SplitHalfResult(
        estimate=float(rab[best]),
        ci_low=float("nan"),
        ci_high=float("nan"),
        ci_level=ci_level,
        n_obs=keyed.n_obs,
        n_items=k,
        method="split_half_exhaustive" if exhaustive else "split_half_sampled",
        missing=keyed.missing,
        lambda4=float(rab[best]),
        beta=float(rab[worst]),
        mean_split_half=float(rab.mean()),
        odd_even=float(2.0 * r_oe / (1.0 + r_oe)),
        alpha=float(alpha),
        lambda6=float(lambda6),
        n_splits=len(rab),
        exhaustive=exhaustive,
        best_split=tuple(n for n, m in zip(names, masks[best]) if m),
        worst_split=tuple(n for n, m in zip(names, masks[worst]) if m),
        covar=covar,
        scale=scale,
    )


# --------------------------------------------------------------------------------------------
# SEM
# --------------------------------------------------------------------------------------------
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


# --------------------------------------------------------------------------------------------
# Every scale of an instrument
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True, eq=False)
class ReliabilityTable:
    """Reliability of every scale of an instrument (:func:`reliability_table`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per scale, columns listed in :func:`reliability_table`.
    problems : tuple of str
        Coefficients that could not be computed, as ``"scale: coefficient: reason"``.
    missing : str
    ci_level : float
    """

    table: pd.DataFrame
    problems: tuple[str, ...]
    missing: str
    ci_level: float

    def summary(self) -> pd.DataFrame:
        """The table (one row per scale)."""
        return self.table.copy()


_TABLE_COLUMNS = [
    "scale", "level", "depth", "n_items", "n_obs", "missing",
    "alpha", "alpha_ci_low", "alpha_ci_high", "alpha_duhachek_ci_low", "alpha_duhachek_ci_high",
    "alpha_boot_ci_low", "alpha_boot_ci_high", "ci_level",
    "std_alpha", "g6", "average_r", "median_r", "signal_noise", "ase", "mean", "sd", "sem",
    "omega_total", "omega_total_ci_low", "omega_total_ci_high",
    "omega_hierarchical", "omega_n_factors", "omega_total_sl", "omega_total_sl_ci_low",
    "omega_total_sl_ci_high", "omega_n_boot",
    "lambda4", "beta", "mean_split_half", "ordinal_alpha", "ordinal_omega_total",
]  # fmt: skip

#: Bootstrap resamples for the omega intervals of :func:`reliability_table` when neither
#: ``omega_n_boot`` nor ``n_boot`` is given: enough for a percentile interval whose end points
#: move by about 0.2 standard errors between seeds, and cheap enough for ``mhdq validate``'s
#: 10 s budget on 20,000 respondents (see benchmarks/bench_validate.py).
TABLE_OMEGA_N_BOOT = 200

#: Fewest respondents (``n_obs``) for which :func:`reliability_table` bootstraps the omega
#: intervals; below it the intervals are NaN and ``problems`` says why. Each resample is a
#: factor analysis, and 50 is the minimum ``mhdq validate`` asks of any factor analysis
#: (``analysis.study.validate.MIN_RESPONDENTS["factor_analysis"]``). Below it a resample holds ~63% distinct
#: respondents, so fewer distinct rows than a 36-item scale has items and a singular correlation
#: matrix: on 30 simulated MHDQ respondents 198 of 200 Schmid-Leiman resamples of the total
#: scale ended in a Heywood case (psych's bound ψ = 0.005), so the percentile interval reflects
#: the bound more than the sampling variability of omega.
TABLE_OMEGA_MIN_N = 50


def reliability_table(
    items: pd.DataFrame,
    instrument: Instrument,
    *,
    scales: Iterable[str] | None = None,
    missing: str = "pairwise",
    ci_level: float = 0.95,
    n_boot: int = 0,
    seed: int | None = None,
    ordinal: bool = False,
    omega_n_boot: int | None = None,
) -> ReliabilityTable:
    """Alpha, omega and split-half reliability for every scale of an instrument.

    Parameters
    ----------
    items : pandas.DataFrame
        Responses, one column per item id (columns not in the instrument are ignored).
    instrument : Instrument
        The specification: scales, their items (a scale holds its descendants' items), keys and
        response scales.
    scales : iterable of str, optional
        Scale ids to include (default: every scale, facets, themes and totals).
    missing : {"pairwise", "listwise"}, default "pairwise"
    ci_level : float, default 0.95
    n_boot : int, default 0
        Bootstrap resamples for a percentile interval of alpha (0: none).
    seed : int, optional
    ordinal : bool, default False
        Add ordinal alpha and one-factor ordinal omega (polychoric; slower).
    omega_n_boot : int, optional
        Bootstrap resamples for the percentile intervals of ``omega_total`` and
        ``omega_total_sl`` (0: none). Default: ``n_boot`` when it is positive, else
        :data:`TABLE_OMEGA_N_BOOT` (200). Both intervals of a scale use the same resamples
        (seeded with ``seed``), the resamples :func:`omega` with that ``n_boot`` and ``seed``
        draws. Not computed for scales with fewer than :data:`TABLE_OMEGA_MIN_N` (50)
        respondents: the intervals are then NaN, ``omega_n_boot`` is missing and ``problems``
        says why.

    Returns
    -------
    ReliabilityTable
        ``table`` columns: ``scale, level, depth, n_items, n_obs, missing, alpha, alpha_ci_low,
        alpha_ci_high`` (Feldt), ``alpha_duhachek_ci_low/high, alpha_boot_ci_low/high,
        ci_level, std_alpha, g6, average_r, median_r, signal_noise, ase, mean, sd, sem``
        (of the mean score, from alpha), ``omega_total`` (one factor) with its bootstrap
        interval ``omega_total_ci_low/high``, ``omega_hierarchical`` and ``omega_total_sl``
        (Schmid–Leiman with one group factor per facet, for scales with at least 3 facets,
        ``omega_n_factors`` of them) with ``omega_total_sl_ci_low/high`` (omega hierarchical has
        no interval, see :func:`omega`), ``omega_n_boot`` (resamples behind the omega intervals),
        ``lambda4, beta, mean_split_half, ordinal_alpha, ordinal_omega_total``.

    Notes
    -----
    Items of each scale are taken from ``instrument.scale_items`` and keyed with the instrument's
    ``keyed`` field, reversed on their response scale (``min + max - x``). Scales with fewer
    than 2 items present in ``items`` are skipped with a problem entry; a coefficient that fails
    (e.g. a factor model that cannot be fitted) is NaN and its reason is in ``problems``.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> mhdq = load_instrument()
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(400, 1))
    >>> data = pd.DataFrame(np.clip(np.round(3 + f + rng.normal(size=(400, len(mhdq.item_ids)))), 1, 5),
    ...                     columns=list(mhdq.item_ids))  # synthetic data
    >>> tab = reliability_table(data, mhdq, scales=["strategy"]).table
    >>> tab["scale"].tolist()
    ['strategy']
    """
    from instrument.spec import Instrument

    if not isinstance(instrument, Instrument):
        raise TypeError(f"instrument: expected an Instrument, got {type(instrument).__name__}")
    if missing not in MISSING_RULES:
        raise ValueError(f"missing: must be one of {', '.join(MISSING_RULES)}, got {missing!r}")
    _check_level(ci_level)
    if omega_n_boot is None:
        omega_n_boot = n_boot if n_boot else TABLE_OMEGA_N_BOOT
    if omega_n_boot:
        _check_boot(omega_n_boot, None)
    wanted = [s.id for s in instrument.scales] if scales is None else list(scales)
    for sid in wanted:
        instrument.scale(sid)  # raises KeyError naming the scales
    leaves = {s.id for s in instrument.leaf_scales}
    rows, problems = [], []
    for sid in wanted:
        spec_scale = instrument.scale(sid)
        present = [i for i in instrument.scale_items(sid) if i in items.columns]
        row: dict[str, Any] = dict.fromkeys(_TABLE_COLUMNS, np.nan)
        row.update(
            scale=sid,
            level=spec_scale.level,
            depth=instrument.depth(sid),
            n_items=len(present),
            missing=missing,
            ci_level=ci_level,
        )
        if len(present) < 2:
            problems.append(f"{sid}: all: fewer than 2 of its items are in the data")
            rows.append(row)
            continue
        sub = items[present]
        common = {"keys": instrument, "missing": missing, "scale": sid}
        a = _attempt(
            problems,
            sid,
            "alpha",
            cronbach_alpha,
            sub,
            ci_level=ci_level,
            n_boot=n_boot,
            seed=seed,
            **common,
        )
        if a is not None:
            row.update(
                n_obs=a.n_obs, alpha=a.estimate, alpha_ci_low=a.ci_low, alpha_ci_high=a.ci_high,
                alpha_duhachek_ci_low=a.duhachek_ci[0], alpha_duhachek_ci_high=a.duhachek_ci[1],
                std_alpha=a.std_alpha, g6=a.g6, average_r=a.average_r, median_r=a.median_r,
                signal_noise=a.signal_noise, ase=a.ase, mean=a.mean, sd=a.sd, sem=a.sem,
            )  # fmt: skip
            if a.bootstrap is not None:
                row.update(
                    alpha_boot_ci_low=a.bootstrap.ci_low, alpha_boot_ci_high=a.bootstrap.ci_high
                )
        o1 = _attempt(problems, sid, "omega_total", omega, sub, n_factors=1, **common)
        if o1 is not None:
            row["omega_total"] = o1.omega_total
        facets = [
            s
            for s in _descendant_leaves(instrument, sid, leaves)
            if any(i in present for i in instrument.scale_items(s))
        ]
        if len(facets) >= 3:
            osl = _attempt(
                problems, sid, "omega_hierarchical", omega, sub, n_factors=len(facets), **common
            )
            if osl is not None:
                row.update(
                    omega_hierarchical=osl.omega_hierarchical,
                    omega_total_sl=osl.omega_total,
                    omega_n_factors=len(facets),
                )
        else:
            osl = None
        n_fit = next((r.n_obs for r in (o1, osl) if r is not None), 0)
        if omega_n_boot and n_fit and n_fit < TABLE_OMEGA_MIN_N:
            problems.append(
                f"{sid}: omega_interval: skipped: {n_fit} respondents; the omega bootstrap needs "
                f"at least {TABLE_OMEGA_MIN_N} (TABLE_OMEGA_MIN_N), below which many resamples "
                "end in a Heywood case; the intervals are NaN"
            )
        elif omega_n_boot and (o1 is not None or osl is not None):
            intervals = _attempt(
                problems, sid, "omega_interval", _table_omega_intervals, sub, o1, osl,
                instrument=instrument, missing=missing, n_boot=omega_n_boot, seed=seed,
                ci_level=ci_level,
            )  # fmt: skip
            if intervals is not None:
                row.update(intervals, omega_n_boot=omega_n_boot)
        sh = _attempt(problems, sid, "split_half", split_half, sub, seed=seed, **common)
        if sh is not None:
            row.update(lambda4=sh.lambda4, beta=sh.beta, mean_split_half=sh.mean_split_half)
        if ordinal:
            oa = _attempt(problems, sid, "ordinal_alpha", ordinal_alpha, sub, **common)
            if oa is not None:
                row["ordinal_alpha"] = oa.estimate
            oo = _attempt(problems, sid, "ordinal_omega", ordinal_omega, sub, **common)
            if oo is not None:
                row["ordinal_omega_total"] = oo.omega_total
        rows.append(row)
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    table["omega_n_factors"] = table["omega_n_factors"].astype("Int64")
    table["omega_n_boot"] = table["omega_n_boot"].astype("Int64")
    table["n_obs"] = table["n_obs"].astype("Int64")
    return ReliabilityTable(
        table=table, problems=tuple(problems), missing=missing, ci_level=ci_level
    )


def _table_omega_intervals(
    sub: pd.DataFrame,
    o1: OmegaResult | None,
    osl: OmegaResult | None,
    *,
    instrument: Instrument,
    missing: str,
    n_boot: int,
    seed: int | None,
    ci_level: float,
) -> dict[str, float]:
    """Bootstrap intervals of one scale's ``omega_total`` and ``omega_total_sl`` from one set
    of resampled correlation matrices (what :func:`omega` with ``n_boot``/``seed`` computes)."""
    keyed = key_items(sub, keys=instrument, missing=missing, min_items=2)
    R = _resampled_correlations(keyed, n_boot=n_boot, seed=seed, chunk_size=None)
    signs = np.ones(R.shape[1])  # keyed by the instrument: psych's flip is off
    out = {}
    for prefix, res, n_factors, start in (
        ("omega_total", o1, 1, None if o1 is None else o1.loadings["g"].to_numpy()),
        ("omega_total_sl", osl, 0 if osl is None else osl.n_factors,
         None if osl is None else osl.loadings["u2"].to_numpy()),
    ):  # fmt: skip
        if res is None:
            continue
        boot = _percentile_result(
            _omega_total_replicates(R, n_factors=n_factors, start=start, signs=signs),
            estimate=res.omega_total, ci_level=ci_level, seed=seed, keyed=keyed,
            coefficient=prefix,
            reason="had an item pair without 2 common answers or a factor model that could not be fitted",
        )  # fmt: skip
        out[f"{prefix}_ci_low"], out[f"{prefix}_ci_high"] = boot.ci_low, boot.ci_high
    return out


def _attempt(problems: list[str], sid: str, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one coefficient; record its failure or warnings in ``problems`` instead of stopping."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except (ValueError, np.linalg.LinAlgError, ArithmeticError) as exc:
            problems.append(f"{sid}: {name}: {exc}")
            result = None
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            problems.append(f"{sid}: {name}: warning: {w.message}")
    return result


def _descendant_leaves(instrument: Instrument, scale_id: str, leaves: set[str]) -> list[str]:
    out, frontier = [], [scale_id]
    while frontier:
        sid = frontier.pop(0)
        if sid in leaves:
            out.append(sid)
        frontier.extend(s.id for s in instrument.children(sid))
    return out
