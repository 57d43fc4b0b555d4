"""Saving calibrated item parameters as JSON and scoring a new cohort with them.

The file carries the item types, categories and slope-intercept parameters (with their covariance
when computed), the quadrature, and the fingerprint of the instrument version the items came
from; loading with a different fingerprint is refused, so a cohort is never scored on another
instrument's calibration. Plain JSON, never pickle.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from analysis.errors import DataError, UsageError
from analysis.irt.model import GradedResponseModel, quadrature
from instrument.io.write import atomic_path

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "load_item_parameters",
    "model_from_dict",
    "parameters_to_dict",
    "save_item_parameters",
]

FORMAT = "mhdq-irt-item-parameters"
FORMAT_VERSION = 1


def parameters_to_dict(
    model: GradedResponseModel,
    *,
    instrument_fingerprint: str | None = None,
    scale: str | None = None,
) -> dict[str, Any]:
    """The JSON-ready content of :func:`save_item_parameters`."""
    model._check_fitted()
    items = []
    for item, kind, cats, p in zip(
        model.items_, model.item_types_, model.categories_, model.params_, strict=True
    ):
        items.append(
            {
                "item": item,
                "item_type": kind,
                "categories": list(cats),
                "a": float(p[0]),
                "d": [float(v) for v in p[1:]],
            }
        )
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "scale": scale,
        "instrument_fingerprint": instrument_fingerprint,
        "parameterisation": "slope-intercept (mirt): graded P(X>=k) = 1/(1+exp(-(a theta + d_k))); "
        "gpcm P(X=k) ~ exp(k a theta + d_k), d_0 = 0",
        "trait": {"mean": 0.0, "variance": 1.0},
        "quadrature": {
            "points": int(model.quadrature_points),
            "limits": [float(v) for v in model.theta_limits],
        },
        "items": items,
        "covariance": None if model.cov_ is None else np.asarray(model.cov_).tolist(),
        "fitted": {
            "n_obs": int(model.n_obs_),
            "loglik": float(model.loglik_),
            "converged": bool(model.converged_),
            "se_type": model.se_type,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    }


def save_item_parameters(
    model: GradedResponseModel,
    path: str | Path,
    *,
    instrument_fingerprint: str | None = None,
    scale: str | None = None,
) -> Path:
    """Write the fitted item parameters to ``path`` (JSON, written atomically).

    Parameters
    ----------
    model : GradedResponseModel
        Fitted.
    path : str or Path
    instrument_fingerprint : str, optional
        Fingerprint of the instrument version whose items were calibrated.
    scale : str, optional
        The scale's name.
    """
    content = parameters_to_dict(model, instrument_fingerprint=instrument_fingerprint, scale=scale)
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(content, indent=1), encoding="utf-8")
    return target


def load_item_parameters(
    path: str | Path, *, instrument_fingerprint: str | None = None
) -> GradedResponseModel:
    """Read item parameters saved by :func:`save_item_parameters` as a fitted model for scoring.

    Parameters
    ----------
    path : str or Path
    instrument_fingerprint : str, optional
        The fingerprint of the instrument the new responses come from. When both it and the file's
        fingerprint are known and differ, a ``UsageError`` is raised.

    Returns
    -------
    GradedResponseModel
        Usable with :func:`~analysis.irt.eap_scores`, :func:`~analysis.irt.map_scores`,
        :func:`~analysis.irt.sum_score_table`, information functions.
    """
    source = Path(path)
    try:
        content = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{source}: cannot read IRT item parameters ({exc})") from exc
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise DataError(f"{source}: not an MHDQ IRT item-parameter file (format {FORMAT!r})")
    if content.get("format_version") != FORMAT_VERSION:
        raise DataError(
            f"{source}: format version {content.get('format_version')!r} is not supported "
            f"(expected {FORMAT_VERSION})"
        )
    saved = content.get("instrument_fingerprint")
    if saved and instrument_fingerprint and saved != instrument_fingerprint:
        raise UsageError(
            f"{source}: these item parameters were calibrated on another instrument version "
            f"(fingerprint {saved[:12]}..., the responses come from {instrument_fingerprint[:12]}"
            "...); IRT scores are only comparable under the same items - recalibrate"
        )
    return model_from_dict(content, source=source, instrument_fingerprint=saved)


def model_from_dict(
    content: dict[str, Any], *, source: str | Path = "<dict>", instrument_fingerprint=None
) -> GradedResponseModel:
    """A fitted model for scoring from :func:`parameters_to_dict`'s content (``DataError`` when
    malformed, naming ``source``)."""
    saved = instrument_fingerprint
    try:
        items = content["items"]
        kinds = [entry["item_type"] for entry in items]
        model = GradedResponseModel(
            kinds,
            quadrature_points=int(content["quadrature"]["points"]),
            theta_limits=tuple(content["quadrature"]["limits"]),
            se_type=content["fitted"].get("se_type"),
        )
        model.items_ = [str(entry["item"]) for entry in items]
        model.item_types_ = kinds
        model.categories_ = [[float(v) for v in entry["categories"]] for entry in items]
        model.params_ = [
            np.concatenate([[float(entry["a"])], np.asarray(entry["d"], dtype=float)])
            for entry in items
        ]
        for entry, cats, p in zip(items, model.categories_, model.params_, strict=True):
            if len(cats) != p.size:
                raise DataError(
                    f"{source}: item {entry['item']!r} has {len(cats)} categories but "
                    f"{p.size - 1} intercepts (expected {len(cats) - 1})"
                )
        model.nodes_, model.weights_ = quadrature(model.quadrature_points, model.theta_limits)
        model._par_offsets = np.concatenate([[0], np.cumsum([p.size for p in model.params_])])
        cov = content.get("covariance")
        model.cov_ = None if cov is None else np.asarray(cov, dtype=float)
        model.loglik_ = float(content["fitted"]["loglik"])
        model.n_obs_ = int(content["fitted"]["n_obs"])
        model.converged_ = bool(content["fitted"]["converged"])
        model.n_iter_ = 0
        model.information_ = None
    except (KeyError, TypeError, ValueError) as exc:
        raise DataError(f"{source}: malformed IRT item-parameter file ({exc})") from exc
    model.instrument_fingerprint_ = saved
    return model
