"""The design matrix of an attrition model: scale scores, numeric covariates, dummy-coded categories.

A :class:`Design` is learned once from the development data and saved with the model, so new data
are encoded the same way (same columns, same reference categories) when predicting.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

__all__ = ["Design"]


@dataclass(frozen=True)
class Design:
    """How model columns are built from a data frame.

    Attributes
    ----------
    scales : tuple of str
        Scale-score columns (numeric, entered per point).
    covariates : tuple of str
        Background covariates; numeric ones enter as they are.
    levels : dict
        For each categorical covariate, its levels as text, the first being the reference
        (dummy columns are named ``<covariate>[<level>]``).
    """

    scales: tuple[str, ...]
    covariates: tuple[str, ...] = ()
    levels: dict[str, list[str]] = field(default_factory=dict)

    @classmethod
    def learn(cls, frame: pd.DataFrame, scales, covariates=(), categorical=()) -> Design:
        """Learn the design from development data (categorical: listed, or any non-numeric column).

        Examples
        --------
        >>> frame = pd.DataFrame({"cohesion": [1.0, 2.0, 3.0], "gender": ["f", "m", "f"]})
        >>> Design.learn(frame, ["cohesion"], ["gender"]).columns
        ['cohesion', 'gender[m]']
        """
        scales = tuple(str(s) for s in scales)
        covariates = tuple(str(c) for c in covariates)
        missing = [c for c in (*scales, *covariates) if c not in frame.columns]
        if missing:
            raise ValueError(
                f"predictor column(s) not found: {', '.join(missing)}; columns are "
                f"{', '.join(map(str, frame.columns[:30]))}"
            )
        overlap = set(scales) & set(covariates)
        if overlap:
            raise ValueError(
                f"covariates: {', '.join(sorted(overlap))} already entered as scale scores"
            )
        unknown = [c for c in categorical if c not in covariates]
        if unknown:
            raise ValueError(f"categorical: {', '.join(unknown)} not among the covariates")
        for s in scales:
            if not pd.api.types.is_numeric_dtype(frame[s]):
                converted = pd.to_numeric(frame[s], errors="coerce")
                if converted.notna().sum() < frame[s].notna().sum():
                    raise ValueError(f"scale score column {s!r} holds non-numeric values")
        levels = {}
        for c in covariates:
            column = frame[c]
            if c in categorical or not pd.api.types.is_numeric_dtype(column):
                values = column.dropna()
                numeric = pd.to_numeric(values, errors="coerce")
                if numeric.notna().all() and len(values):
                    ordered = [_label(v) for v in sorted(numeric.unique())]
                else:
                    ordered = sorted(values.astype(str).unique())
                if len(ordered) < 2:
                    raise ValueError(f"covariate {c!r} has fewer than two categories in the data")
                levels[c] = ordered
        return cls(scales=scales, covariates=covariates, levels=levels)

    @property
    def columns(self) -> list[str]:
        out = list(self.scales)
        for c in self.covariates:
            if c in self.levels:
                out += [f"{c}[{level}]" for level in self.levels[c][1:]]
            else:
                out.append(c)
        return out

    @property
    def source_columns(self) -> list[str]:
        return [*self.scales, *self.covariates]

    def transform(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Model columns for ``frame`` (NaN where a value is missing or a category is unknown)."""
        missing = [c for c in self.source_columns if c not in frame.columns]
        if missing:
            raise ValueError(f"predictor column(s) not found: {', '.join(missing)}")
        out = {}
        for s in self.scales:
            out[s] = pd.to_numeric(frame[s], errors="coerce").to_numpy(dtype=float)
        for c in self.covariates:
            if c in self.levels:
                text = frame[c].map(lambda v: None if pd.isna(v) else _label(v))
                known = text.isin(self.levels[c]).to_numpy()
                for level in self.levels[c][1:]:
                    out[f"{c}[{level}]"] = np.where(
                        known, (text == level).to_numpy(dtype=float), np.nan
                    )
            else:
                out[c] = pd.to_numeric(frame[c], errors="coerce").to_numpy(dtype=float)
        return pd.DataFrame(out, index=frame.index)[self.columns]

    def to_dict(self) -> dict:
        return {
            "scales": list(self.scales),
            "covariates": list(self.covariates),
            "levels": dict(self.levels),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Design:
        return cls(
            scales=tuple(data["scales"]),
            covariates=tuple(data.get("covariates", ())),
            levels={k: list(v) for k, v in data.get("levels", {}).items()},
        )


def _label(value) -> str:
    """Category label as text; whole numbers without a decimal point (1.0 -> "1")."""
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return str(int(value))
    return str(value)
