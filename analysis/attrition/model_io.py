"""Saving and reusing a fitted attrition model as plain JSON (never pickle).

The file holds everything needed to predict: coefficients, the means and SDs used for centring and
standardising, the design (columns, reference categories), the baseline survival of a Cox model,
the instrument's name and version, and every option. The format is documented in
``docs/attrition-results-schema.md``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from analysis.attrition.cox import baseline_survival_at
from analysis.attrition.design import Design
from analysis.errors import DataError, UsageError

__all__ = ["FORMAT", "FORMAT_VERSION", "SavedModel", "load_model", "model_to_dict", "save_model"]

FORMAT = "mhdq-attrition-model"
FORMAT_VERSION = 1

#: Model kinds whose predictions for new respondents are not offered, and why.
NOT_PREDICTABLE = {
    "frailty": (
        "its hazard ratios are conditional on a group's unknown frailty; predict with the "
        "population Cox model saved beside it (attrition fit --cluster --frailty saves that one)"
    ),
    "time_varying": (
        "its risks depend on scores not yet measured (the covariate path after baseline); "
        "predict from baseline scores with a Cox model fitted on them"
    ),
    "gee": (
        "it describes the population-average chance of an outcome at each wave, not one "
        "respondent's risk by a time"
    ),
}


@dataclass(frozen=True)
class SavedModel:
    """A fitted attrition model read back from JSON, able to predict on new respondents.

    Attributes
    ----------
    model_type : str
        ``cox`` or ``logistic``.
    design : Design
    coef, se, means, sds : Series
        Per model column.
    intercept : float
        Logistic only (0 for Cox).
    baseline : DataFrame or None
        Cox: ``time, cumulative_hazard, survival`` at the predictor means.
    instrument : dict or None
        ``name, short_name, version, fingerprint`` of the instrument the scores came from.
    options : dict
    fitted : dict
        ``n_obs, n_events, max_time, created, software``.
    synthetic : bool
        Fitted on synthetic data: predictions made with it are synthetic too.
    fine_gray : dict
        Cox models fitted with a competing outcome: per outcome type, ``coef`` (Series) and
        ``baseline`` (``time, cumulative_hazard`` of the baseline subdistribution hazard at
        x = 0) of its Fine-Gray model; empty otherwise.
    """

    model_type: str
    design: Design
    coef: pd.Series
    se: pd.Series
    means: pd.Series
    sds: pd.Series
    intercept: float = 0.0
    baseline: pd.DataFrame | None = None
    instrument: dict | None = None
    options: dict = field(default_factory=dict)
    fitted: dict = field(default_factory=dict)
    synthetic: bool = False
    fine_gray: dict = field(default_factory=dict)

    def check_instrument(self, instrument) -> None:
        """Refuse scores from another instrument or version than the model was fitted on."""
        if self.instrument is None or instrument is None:
            return
        want = (self.instrument.get("short_name"), self.instrument.get("version"))
        got = (instrument.metadata.short_name, instrument.version)
        if want != got:
            raise UsageError(
                f"this model was fitted on {want[0]} version {want[1]}, but the responses are "
                "scored "
                f"with {got[0]} version {got[1]}; scale scores of different instruments or "
                "versions are "
                "not interchangeable - refit the model on data from this instrument"
            )

    def linear_predictor(self, frame: pd.DataFrame) -> pd.Series:
        X = self.design.transform(frame)
        values = X.to_numpy(dtype=float)
        if self.model_type == "cox":
            lp = ((values - self.means.to_numpy()) * self.coef.to_numpy()).sum(axis=1)
        else:
            lp = self.intercept + (values * self.coef.to_numpy()).sum(axis=1)
        return pd.Series(lp, index=frame.index, name="linear_predictor")

    def predict_risk(self, frame: pd.DataFrame, horizon: float | None = None) -> pd.Series:
        """Predicted probability of disengaging (by ``horizon`` for a Cox model; a logistic model
        predicts for the horizon or follow-up it was fitted on and ignores ``horizon``); NaN where a
        predictor is missing."""
        lp = self.linear_predictor(frame).to_numpy()
        if self.model_type == "cox":
            if horizon is None:
                raise ValueError("horizon: a Cox model predicts the risk by a time; give --horizon")
            max_time = self.fitted.get("max_time")
            max_time = np.inf if max_time is None else float(max_time)
            if horizon > max_time:
                raise ValueError(
                    f"horizon: {horizon:g} is beyond the longest follow-up of the development data "
                    f"({max_time:g} {self.options.get('time_unit', '')}); risks there would be "
                    "extrapolated"
                )
            s0 = baseline_survival_at(self.baseline, horizon)
            risk = 1.0 - s0 ** np.exp(lp)
        else:
            from scipy.special import expit

            risk = expit(lp)
        return pd.Series(risk, index=frame.index, name="risk")

    def predict_cumulative_incidence(self, frame: pd.DataFrame, times) -> pd.DataFrame:
        """Predicted cumulative incidence of each outcome type by each of ``times`` (Fine-Gray:
        :math:`1 - \\exp(-e^{x\\beta}\\Lambda_0(t))`, as ``cmprsk::predict.crr``), one column
        ``cumulative_incidence_<outcome>_<time>`` per outcome type and time; NaN where a predictor
        is missing.

        Raises
        ------
        ValueError
            The model has no Fine-Gray part (fitted without a competing outcome), or a time is
            beyond the longest follow-up of the development data.
        """
        if not self.fine_gray:
            raise ValueError(
                "cumulative incidence: this model was fitted without a competing outcome (give "
                "--competing COL to attrition fit); it predicts the risk of disengaging only"
            )
        times = np.asarray(times, dtype=float)
        max_time = self.fitted.get("max_time")
        max_time = np.inf if max_time is None else float(max_time)
        if (times > max_time).any() or (times < 0).any():
            raise ValueError(
                f"times: each must be between 0 and the longest follow-up of the development data "
                f"({max_time:g} {self.options.get('time_unit', '')}); risks beyond it would be "
                "extrapolated"
            )
        values = self.design.transform(frame).to_numpy(dtype=float)
        columns = {}
        for outcome, part in self.fine_gray.items():
            lp = (values * part["coef"].to_numpy()).sum(axis=1)
            base = part["baseline"]
            idx = np.searchsorted(base["time"].to_numpy(), times, side="right") - 1
            cum = np.where(idx >= 0, base["cumulative_hazard"].to_numpy()[np.maximum(idx, 0)], 0)
            slug = outcome.replace(" ", "_")
            for t, c in zip(times, cum, strict=True):
                columns[f"cumulative_incidence_{slug}_{t:g}"] = 1.0 - np.exp(-np.exp(lp) * c)
        return pd.DataFrame(columns, index=frame.index)


def model_to_dict(analysis, *, instrument=None, synthetic: bool = False) -> dict:
    """The JSON-ready model of an :class:`~analysis.attrition.study.AttritionAnalysis`
    (``synthetic``: fitted on synthetic data, carried into every prediction made with it)."""
    from analysis.report.html import software_versions

    model = analysis.model
    is_cox = analysis.model_type == "cox"
    out = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "model_type": analysis.model_type,
        "synthetic": bool(synthetic),
        "instrument": None
        if instrument is None
        else {
            "name": instrument.name,
            "short_name": instrument.metadata.short_name,
            "version": instrument.version,
            "fingerprint": instrument.fingerprint,
        },
        "design": analysis.design.to_dict(),
        "columns": list(model.feature_names_in_),
        "coefficients": {k: float(v) for k, v in model.coef_.items()},
        "standard_errors": {k: _num(v) for k, v in model.se_.items()},
        "intercept": None if is_cox else float(model.intercept_),
        "means": {k: float(v) for k, v in model.means_.items()},
        "sds": {k: _num(v) for k, v in model.sds_.items()},
        "baseline": None
        if not is_cox
        else {
            "centred_at": "predictor means",
            "time": model.baseline_["time"].tolist(),
            "cumulative_hazard": model.baseline_["cumulative_hazard"].tolist(),
            "survival": model.baseline_["survival"].tolist(),
        },
        "fine_gray": {
            outcome: {
                "linear_predictor": "x b, uncentred (as cmprsk::crr)",
                "coefficients": {k: float(v) for k, v in fg.coef_.items()},
                "standard_errors": {k: _num(v) for k, v in fg.se_.items()},
                "baseline": {
                    "time": fg.baseline_["time"].tolist(),
                    "cumulative_hazard": fg.baseline_["cumulative_hazard"].tolist(),
                },
                "n_events": fg.n_events_,
            }
            for outcome, fg in getattr(analysis, "fine_gray", {}).items()
        }
        or None,
        "options": dict(analysis.options),
        "fitted": {
            "n_obs": int(model.n_obs_),
            "n_events": int(model.n_events_),
            "max_time": _num(analysis.time_summary.get("max_followup")),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "software": software_versions(),
        },
    }
    return out


def _num(value):
    if value is None:
        return None
    value = float(value)
    return None if not np.isfinite(value) else value


def save_model(analysis, path: str | Path, *, instrument=None, synthetic: bool = False) -> Path:
    """Write the model as JSON (atomically); ``synthetic`` marks a model fitted on synthetic data."""
    from analysis.report.html import write_json

    return write_json(model_to_dict(analysis, instrument=instrument, synthetic=synthetic), path)


def load_model(path: str | Path) -> SavedModel:
    """Read a model written by :func:`save_model`, checking its format.

    Raises
    ------
    DataError
        Not valid JSON, not an MHDQ attrition model, a newer format, or a missing field.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}: not a JSON model file ({exc.msg} at line {exc.lineno})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise DataError(f'{path}: not an MHDQ attrition model (expected "format": "{FORMAT}")')
    if int(data.get("format_version", 0)) > FORMAT_VERSION:
        raise DataError(
            f"{path}: model format version {data.get('format_version')} is newer than this "
            f"MHDQ understands ({FORMAT_VERSION}); update MHDQ"
        )
    try:
        columns = list(data["columns"])
        kind = data["model_type"]
        if kind in NOT_PREDICTABLE:
            raise DataError(f"{path}: a {kind} model cannot predict: {NOT_PREDICTABLE[kind]}")
        if kind not in ("cox", "logistic"):
            raise DataError(f"{path}: model_type must be cox or logistic; got {kind!r}")
        series = {
            key: pd.Series(
                {c: np.nan if data[key].get(c) is None else float(data[key][c]) for c in columns},
                dtype=float,
            )
            for key in ("coefficients", "standard_errors", "means", "sds")
        }
        baseline = None
        if kind == "cox":
            b = data["baseline"]
            baseline = pd.DataFrame(
                {
                    "time": b["time"],
                    "cumulative_hazard": b["cumulative_hazard"],
                    "survival": b["survival"],
                },
                dtype=float,
            )
        design = Design.from_dict(data["design"])
        if design.columns != columns:
            raise DataError(f"{path}: the design does not produce the model's columns")
        fine_gray = {
            outcome: {
                "coef": pd.Series(
                    {c: float(part["coefficients"][c]) for c in columns}, dtype=float
                ),
                "baseline": pd.DataFrame(
                    {
                        "time": part["baseline"]["time"],
                        "cumulative_hazard": part["baseline"]["cumulative_hazard"],
                    },
                    dtype=float,
                ),
            }
            for outcome, part in (data.get("fine_gray") or {}).items()
        }
        return SavedModel(
            model_type=kind,
            design=design,
            coef=series["coefficients"],
            se=series["standard_errors"],
            means=series["means"],
            sds=series["sds"],
            intercept=float(data.get("intercept") or 0.0),
            baseline=baseline,
            instrument=data.get("instrument"),
            options=data.get("options", {}),
            fitted=data.get("fitted", {}),
            synthetic=bool(data.get("synthetic", False)),
            fine_gray=fine_gray,
        )
    except (KeyError, TypeError, AttributeError) as exc:
        raise DataError(
            f"{path}: incomplete model file (missing or malformed field {exc})"
        ) from None
