"""The one base of every result: ``summary()``, ``to_dict()``, a one-line repr and notebook HTML.

Results are frozen dataclasses that subclass :class:`Result` (declared with ``repr=False`` so the
short repr here is used instead of the dataclass's full one; lifelines' ``StatisticalResult`` and
statsmodels' results classes are the models).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["Result", "to_jsonable"]

#: Scalars shown in the one-line repr, at most.
_REPR_FIELDS = 4


def to_jsonable(value: Any) -> Any:
    """``value`` as plain JSON types (full precision; NaN and infinities become ``None``)."""
    if isinstance(value, Result):
        return value.to_dict()
    if isinstance(value, pd.DataFrame):
        return to_jsonable(value.to_dict(orient="split"))
    if isinstance(value, pd.Series):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_jsonable(v) for v in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    return str(value)


class Result:
    """Base of the result dataclasses.

    Subclasses are ``@dataclass(frozen=True, repr=False)`` and implement ``summary()`` returning a
    tidy DataFrame; ``to_dict()`` (JSON-ready, every field at full precision), the one-line
    ``repr`` and ``_repr_html_`` (the summary as an HTML table) come from here.
    """

    __slots__ = ()

    def summary(self) -> pd.DataFrame:
        raise NotImplementedError(f"{type(self).__name__} must implement summary()")

    def to_dict(self) -> dict[str, Any]:
        """Every field as plain JSON types (DataFrames in pandas' ``split`` orientation)."""
        return {f.name: to_jsonable(getattr(self, f.name)) for f in dataclasses.fields(self)}  # type: ignore[arg-type]

    def __repr__(self) -> str:
        shown = []
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name, None)
            if isinstance(value, bool | int | str) or value is None:
                text = repr(value)
            elif isinstance(value, float | np.floating):
                text = f"{float(value):.4g}"
            else:
                continue
            if len(text) <= 40:
                shown.append(f"{f.name}={text}")
            if len(shown) == _REPR_FIELDS:
                break
        return f"{type(self).__name__}({', '.join(shown)})"

    def _repr_html_(self) -> str:
        return f"<p><b>{type(self).__name__}</b></p>" + self.summary().to_html()
