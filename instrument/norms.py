"""Norm tables: z scores, T scores and percentile ranks against a reference sample.

A :class:`NormTable` follows the scikit-learn contract: ``fit`` learns each scale's mean,
standard deviation, size and distribution in a reference sample (optionally per group, such as
gender), ``transform`` adds ``<scale>_z``, ``<scale>_t`` and ``<scale>_pct`` columns to new
scores. It is saved as JSON with the instrument's name and version and refuses to be applied to
scores of another instrument.
"""

from __future__ import annotations

import json
import math
import warnings
from pathlib import Path
from statistics import NormalDist
from typing import Any

import numpy as np
import pandas as pd

from instrument.errors import DataError, UsageError
from instrument.spec import Instrument

FORMAT = "mhdq-norms"
FORMAT_VERSION = 1
#: Percentiles stored for each scale (for reports; ranks use the whole distribution).
PERCENTILES = (5, 10, 25, 50, 75, 90, 95)
ALL = "all"
#: Reliability below which individual T scores are flagged (Nunnally & Bernstein 1994: about .90
#: for decisions about individuals; .70-.80 suffices for group comparisons).
INDIVIDUAL_RELIABILITY = 0.90


class IndividualScoreWarning(UserWarning):
    """Norms applied to individuals with scales whose reliability is unknown or below .90."""


def _group_key(value: Any) -> str:
    """A group value as the text used in the JSON file (1.0 -> "1")."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _distribution(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    values = values[~np.isnan(values)]
    unique, counts = np.unique(values, return_counts=True)
    return unique, counts


def _stats(unique: np.ndarray, counts: np.ndarray) -> dict[str, Any]:
    n = int(counts.sum())
    if n == 0:
        return {"n": 0, "mean": None, "sd": None, "percentiles": {}, "values": [], "counts": []}
    mean = float((unique * counts).sum() / n)
    sd = float(math.sqrt(((unique - mean) ** 2 * counts).sum() / (n - 1))) if n > 1 else None
    expanded_rank = np.cumsum(counts)
    percentiles = {}
    for p in PERCENTILES:
        # R's quantile type 7 on the expanded sample
        h = (n - 1) * p / 100
        lo, hi = int(math.floor(h)), int(math.ceil(h))
        x_lo = unique[np.searchsorted(expanded_rank, lo + 1)]
        x_hi = unique[np.searchsorted(expanded_rank, hi + 1)]
        percentiles[str(p)] = float(x_lo + (h - lo) * (x_hi - x_lo))
    return {
        "n": n,
        "mean": mean,
        "sd": sd,
        "percentiles": percentiles,
        "values": unique.tolist(),
        "counts": counts.astype(int).tolist(),
    }


#: The marker of simulated data (a ``synthetic`` column holding it; see analysis.simulate).
SYNTHETIC = "synthetic"


def _is_synthetic(scores: pd.DataFrame) -> bool:
    """Whether any row is marked synthetic (a ``synthetic`` column holding ``synthetic``)."""
    if SYNTHETIC not in scores.columns:
        return False
    return bool(scores[SYNTHETIC].astype(str).str.strip().str.lower().eq(SYNTHETIC).any())


class NormTable:
    """Norms of scale scores in a reference sample.

    Parameters
    ----------
    scales : list of str, optional
        Score columns to norm. Default: every column of the scores given to ``fit`` that is
        not a ``_n`` count or metadata (when an ``instrument`` is given, its scale ids).
    instrument : Instrument, optional
        The instrument the scores come from; its name and version are stored and checked.
    reliability : dict, optional
        ``{scale: reliability}`` (e.g. omega or alpha from the reference sample). With it,
        ``transform`` gives each individual T score its measurement-error interval.
    ci_level : float, default 0.95
        Coverage of the measurement-error interval.

    Attributes
    ----------
    norms_ : dict
        ``{group: {scale: {"n", "mean", "sd", "percentiles", "values", "counts"}}}``; the group
        is ``"all"`` when fitted without groups.
    group_ : str or None
        Name of the grouping column used in ``fit``.
    scales_ : list of str
    instrument_name_, instrument_version_ : str or None
    synthetic_ : bool
        True when any reference row is marked synthetic (a ``synthetic`` column, as simulated
        data and their scores carry): the saved file says so (``"synthetic": true``) and
        ``transform`` adds ``norms_synthetic`` to every row it norms.

    Notes
    -----
    * ``z = (x - mean) / sd`` with the sample standard deviation (n - 1 denominator) of the
      reference group; ``t = 50 + 10 z``.
    * ``pct`` is the mid-rank percentile: ``100 * (B + E / 2) / n`` where *B* is the number of
      reference scores below *x* and *E* the number equal to it (so the median respondent is
      at 50 and ties share a rank).
    * Stored percentiles use R's default ``quantile`` (type 7).
    * Rows whose group is not in the table, or with a missing score, get NaN.
    * Individual scores: a T score describes one person only as precisely as the scale's
      reliability *r* allows. The standard error of measurement in T units is
      ``SEM = 10 * sqrt(1 - r)`` and ``transform`` gives ``t_low, t_high = t -/+ z * SEM``
      (``z`` the normal quantile of ``ci_level``; the interval around the observed score, as in
      Nunnally & Bernstein 1994). ``fit`` warns (:class:`IndividualScoreWarning`) about scales
      whose reliability is unknown or below .90, the level recommended for decisions about
      individuals; such norms suit group comparisons, not individual feedback.

    References
    ----------
    Crawford, J. R., & Garthwaite, P. H. (2009). Percentiles please: The case for expressing
    neuropsychological test scores and accompanying confidence limits as percentile ranks.
    The Clinical Neuropsychologist, 23(2), 193-204.
    Nunnally, J. C., & Bernstein, I. H. (1994). *Psychometric Theory* (3rd ed.). McGraw-Hill.

    Examples
    --------
    >>> ref = pd.DataFrame({"anx": [1.0, 2.0, 2.0, 3.0]})
    >>> norms = NormTable().fit(ref)
    >>> norms.transform(pd.DataFrame({"anx": [2.0]})).round(3).to_dict("records")
    [{'anx': 2.0, 'anx_z': 0.0, 'anx_t': 50.0, 'anx_pct': 50.0}]
    """

    def __init__(
        self,
        scales: list[str] | None = None,
        instrument: Instrument | None = None,
        reliability: dict[str, float] | None = None,
        ci_level: float = 0.95,
    ):
        self.scales = scales
        self.instrument = instrument
        self.reliability = reliability
        self.ci_level = ci_level

    # --- learning -------------------------------------------------------------------------
    def _scale_columns(self, scores: pd.DataFrame) -> list[str]:
        if self.scales is not None:
            columns = list(self.scales)
        elif self.instrument is not None:
            columns = [s.id for s in self.instrument.scales]
        else:
            columns = [
                c
                for c in scores.columns
                if pd.api.types.is_numeric_dtype(scores[c].dtype)
                and not str(c).endswith("_n")
                and c not in ("source_row",)
            ]
        missing = [c for c in columns if c not in scores.columns]
        if missing:
            raise ValueError(f"scores: missing score column(s) {', '.join(missing)}")
        return columns

    def _groups(
        self, scores: pd.DataFrame, group: str | pd.Series | None
    ) -> tuple[str | None, pd.Series]:
        if group is None:
            return None, pd.Series(ALL, index=scores.index)
        if isinstance(group, str):
            if group not in scores.columns:
                raise ValueError(
                    f"group: no column {group!r} in the scores; columns: {', '.join(map(str, scores.columns))}"
                )
            return group, scores[group].map(_group_key, na_action="ignore")
        series = pd.Series(group).reindex(scores.index)
        return str(series.name or "group"), series.map(_group_key, na_action="ignore")

    def fit(self, scores: pd.DataFrame, group: str | pd.Series | None = None) -> NormTable:
        """Learn the norms from reference scores.

        Parameters
        ----------
        scores : DataFrame
            Scale scores (as :func:`instrument.score.score_items` returns them).
        group : str or Series, optional
            A column of ``scores`` (or a Series aligned with it) to norm within, e.g. gender.
            Rows with a missing group are left out.

        Returns
        -------
        NormTable
            ``self``, fitted.
        """
        self._counts: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
        self.synthetic_ = False
        self.group_: str | None = None
        self.scales_: list[str] = []
        self.partial_fit(scores, group)
        self._warn_individual_use()
        return self

    def _check_reliability(self) -> dict[str, float]:
        if not 0 < self.ci_level < 1:
            raise ValueError(f"ci_level: must be between 0 and 1, got {self.ci_level!r}")
        given = dict(self.reliability or {})
        unknown = sorted(set(given) - set(self.scales_))
        if unknown:
            raise ValueError(
                f"reliability: unknown scale(s) {', '.join(unknown)}; "
                f"fitted scales: {', '.join(self.scales_)}"
            )
        for scale, value in given.items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
                raise ValueError(
                    f"reliability: {scale} must be a number between 0 and 1, got {value!r}"
                )
        return {scale: float(value) for scale, value in given.items()}

    def _warn_individual_use(self) -> None:
        self.reliability_ = self._check_reliability()
        low = [f"{s} ({r:.2f})" for s, r in self.reliability_.items() if r < INDIVIDUAL_RELIABILITY]
        unknown = [s for s in self.scales_ if s not in self.reliability_]
        parts = []
        if low:
            parts.append(f"reliability below {INDIVIDUAL_RELIABILITY:.2f}: {', '.join(low)}")
        if unknown:
            parts.append(f"reliability not given: {', '.join(unknown)}")
        if parts:
            warnings.warn(
                "individual T scores need a reliability of about .90 (Nunnally & Bernstein "
                "1994); use these norms for group comparisons, not individual feedback ("
                + "; ".join(parts)
                + "). Give reliability={scale: r} to get each score's measurement-error "
                "interval (t_low, t_high).",
                IndividualScoreWarning,
                stacklevel=3,
            )

    def partial_fit(self, scores: pd.DataFrame, group: str | pd.Series | None = None) -> NormTable:
        """Add more reference scores (for streamed data); the result equals one ``fit`` on all rows."""
        if not isinstance(scores, pd.DataFrame):
            raise TypeError(f"scores: expected a DataFrame, got {type(scores).__name__}")
        counts = getattr(self, "_counts", None)
        if counts is None:
            self._counts = counts = {}
            self.group_ = None
            self.scales_ = []
        columns = self._scale_columns(scores)
        name, groups = self._groups(scores, group)
        if counts and (name != self.group_ or columns != self.scales_):
            raise ValueError(
                "partial_fit: scores must have the same scale columns and group as before"
            )
        self.group_, self.scales_ = name, columns
        self.synthetic_ = bool(getattr(self, "synthetic_", False) or _is_synthetic(scores))
        for key in groups.dropna().unique():
            rows = (groups == key).to_numpy()
            entry = counts.setdefault(key, {})
            for column in columns:
                unique, n = _distribution(
                    scores.loc[rows, column].to_numpy(dtype="float64", na_value=np.nan)
                )
                if column in entry:
                    old_u, old_n = entry[column]
                    merged = (
                        pd.Series(np.concatenate([old_n, n]), index=np.concatenate([old_u, unique]))
                        .groupby(level=0)
                        .sum()
                    )
                    unique, n = merged.index.to_numpy(dtype=float), merged.to_numpy()
                entry[column] = (unique, n)
        self.norms_ = {
            key: {column: _stats(*entry[column]) for column in columns}
            for key, entry in sorted(counts.items())
        }
        self.instrument_name_ = (
            self.instrument.name
            if self.instrument is not None
            else getattr(self, "instrument_name_", None)
        )
        self.instrument_version_ = (
            self.instrument.version
            if self.instrument is not None
            else getattr(self, "instrument_version_", None)
        )
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "norms_"):
            raise ValueError(
                "this NormTable is not fitted yet: call fit() or NormTable.load() first"
            )

    # --- applying -------------------------------------------------------------------------
    def transform(self, scores: pd.DataFrame, group: str | pd.Series | None = None) -> pd.DataFrame:
        """Return ``scores`` with ``<scale>_z``, ``<scale>_t`` and ``<scale>_pct`` columns added.

        Parameters
        ----------
        scores : DataFrame
            Scores with the fitted scale columns.
        group : str or Series, optional
            Group of each row; default: the column named in ``fit``.

        Returns
        -------
        DataFrame
            A copy of ``scores`` with three float64 columns per scale (after the scale columns,
            scale by scale): z score, T score (50 + 10 z) and mid-rank percentile (0-100); for
            scales with a known reliability also ``<scale>_t_low`` and ``<scale>_t_high``, the
            measurement-error interval of the T score at ``ci_level``.
        """
        self._check_fitted()
        if not isinstance(scores, pd.DataFrame):
            raise TypeError(f"scores: expected a DataFrame, got {type(scores).__name__}")
        missing = [c for c in self.scales_ if c not in scores.columns]
        if missing:
            raise ValueError(
                f"scores: missing score column(s) {', '.join(missing)} that the norms were fitted on"
            )
        if self.group_ is None:
            groups = pd.Series(ALL, index=scores.index)
        else:
            _, groups = self._groups(scores, self.group_ if group is None else group)
        out = scores.copy()
        new: dict[str, np.ndarray] = {}
        for column in self.scales_:
            x = scores[column].to_numpy(dtype="float64", na_value=np.nan)
            z = np.full(len(x), np.nan)
            pct = np.full(len(x), np.nan)
            for key, entry in self.norms_.items():
                rows = (groups == key).to_numpy()
                if not rows.any():
                    continue
                stats = entry[column]
                if stats["n"] == 0:
                    continue
                if stats["sd"]:
                    z[rows] = (x[rows] - stats["mean"]) / stats["sd"]
                values = np.asarray(stats["values"], dtype=float)
                below = np.concatenate([[0], np.cumsum(stats["counts"])])
                lo = np.searchsorted(values, x[rows], side="left")
                hi = np.searchsorted(values, x[rows], side="right")
                rank = (below[lo] + (below[hi] - below[lo]) / 2) / stats["n"] * 100
                pct[rows] = np.where(np.isnan(x[rows]), np.nan, rank)
            new[f"{column}_z"], new[f"{column}_t"], new[f"{column}_pct"] = z, 50 + 10 * z, pct
            r = getattr(self, "reliability_", {}).get(column)
            if r is not None:
                half = NormalDist().inv_cdf(0.5 + self.ci_level / 2) * 10 * math.sqrt(1 - r)
                new[f"{column}_t_low"] = 50 + 10 * z - half
                new[f"{column}_t_high"] = 50 + 10 * z + half
        for name, values in new.items():
            out[name] = values
        if getattr(self, "synthetic_", False):
            # standing against norms of simulated respondents is synthetic too (issue 12 §3)
            out["norms_synthetic"] = SYNTHETIC
        return out

    def summary(self) -> pd.DataFrame:
        """One row per group and scale: ``group, scale, n, mean, sd, p5 ... p95``."""
        self._check_fitted()
        rows = []
        for key, entry in self.norms_.items():
            for column, stats in entry.items():
                row = {
                    "group": key,
                    "scale": column,
                    "n": stats["n"],
                    "mean": stats["mean"],
                    "sd": stats["sd"],
                }
                row.update({f"p{p}": stats["percentiles"].get(str(p)) for p in PERCENTILES})
                rows.append(row)
        return pd.DataFrame(rows)

    # --- files ----------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        self._check_fitted()
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "instrument": {"name": self.instrument_name_, "version": self.instrument_version_},
            "group": self.group_,
            "scales": list(self.scales_),
            "definitions": {
                "z": "(x - mean) / sd, sd with n - 1",
                "t": "50 + 10 z",
                "pct": "100 * (below + equal / 2) / n (mid-rank percentile)",
            },
            "norms": self.norms_,
            "reliability": dict(getattr(self, "reliability_", {})),
            "ci_level": self.ci_level,
            "synthetic": bool(getattr(self, "synthetic_", False)),
        }

    def save(self, path: str | Path) -> Path:
        """Write the table as JSON (atomically: a temporary file renamed into place)."""
        path = Path(path)
        text = json.dumps(self.to_dict(), indent=1, allow_nan=False)
        from instrument.io.write import atomic_path

        with atomic_path(path) as temp:
            temp.write_text(text, encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path, instrument: Instrument | None = None) -> NormTable:
        """Read a saved table; with ``instrument``, refuse norms of another instrument or version."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise UsageError(f"{path}: norms file not found") from None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise DataError(f"{path}: not a readable norms file ({exc})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise DataError(f'{path}: not an MHDQ norms file (expected "format": "{FORMAT}")')
        table = cls(
            scales=data["scales"],
            instrument=instrument,
            reliability=data.get("reliability") or None,
            ci_level=data.get("ci_level", 0.95),
        )
        table.reliability_ = dict(data.get("reliability") or {})
        table.norms_ = data["norms"]
        table.group_ = data.get("group")
        table.synthetic_ = bool(data.get("synthetic", False))
        table.scales_ = list(data["scales"])
        table.instrument_name_ = data["instrument"]["name"]
        table.instrument_version_ = data["instrument"]["version"]
        if instrument is not None:
            table.check_instrument(instrument, source=str(path))
        return table

    def check_instrument(self, instrument: Instrument, *, source: str = "norms") -> None:
        """Raise DataError unless the norms were made with this instrument name and version."""
        self._check_fitted()
        if (self.instrument_name_, self.instrument_version_) != (
            instrument.name,
            instrument.version,
        ):
            raise DataError(
                f"{source}: norms were made for {self.instrument_name_!r} version {self.instrument_version_!r}, "
                f"not {instrument.name!r} version {instrument.version!r}"
            )
