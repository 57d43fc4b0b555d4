"""Outputs of the chunked validation (:func:`analysis.study.chunked.validate_chunked`):
results.json and one CSV per table, aggregates only (no respondent values or identifiers)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from instrument.io.write import neutralise_text

__all__ = ["write_chunked_outputs"]


def _clean(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        return _clean(value.item())
    return value


def write_chunked_outputs(result: Any, folder: str | Path) -> dict[str, Path]:
    """Write ``results.json`` and ``<table>.csv`` for every table of a ChunkedValidation.

    Text cells of the CSV files are neutralised against formula injection; a synthetic input
    is labelled synthetic in the JSON (``"synthetic": true``) and in each CSV file's name
    (``synthetic_<table>.csv``).

    Returns
    -------
    dict of str to Path
        ``json`` and one entry per table.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths: dict[str, Path] = {}
    path = folder / "results.json"
    path.write_text(json.dumps(_clean(result.to_dict()), indent=2), encoding="utf-8")
    paths["json"] = path
    prefix = "synthetic_" if result.synthetic else ""
    for name, table in result.tables().items():
        target = folder / f"{prefix}{name}.csv"
        neutralise_text(table).to_csv(target, index=False)
        paths[name] = target
    return paths
