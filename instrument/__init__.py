"""What is asked: the instrument specification, item banks, forms, reading and scoring responses.

The names a user needs are importable from here::

    from instrument import load_instrument, read_responses, check_responses, score_items

The errors are imported at once; the specification (YAML), the reading, checking, scoring and
batch functions (which import pandas and pyarrow) only when first used, so ``import instrument``
and ``from instrument.errors import ...`` (every ``mhdq --help``) stay cheap.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from instrument.errors import (
    ConvergenceWarning,
    DataError,
    DataQualityWarning,
    HeywoodCaseWarning,
    MHDQError,
    SpecError,
    UsageError,
)

if TYPE_CHECKING:  # static tools see the real objects
    from instrument.spec import Instrument, load_instrument

#: Public name -> module that defines it, imported on first use.
_LAZY = {
    "Instrument": "instrument.spec",
    "load_instrument": "instrument.spec",
    "read_responses": "instrument.read",
    "iter_response_chunks": "instrument.read",
    "detect_platform": "instrument.read",
    "read_header": "instrument.read",
    "ResponseTable": "instrument.responses",
    "ReadLimits": "instrument.io.safety",
    "Problem": "instrument.problems",
    "check_responses": "instrument.check",
    "CheckedResponses": "instrument.check",
    "score_items": "instrument.score",
    "NormTable": "instrument.norms",
    "run_batch": "instrument.batch.pipeline",
    "fit_norms": "instrument.batch.pipeline",
    "BatchResult": "instrument.batch.pipeline",
}

__all__ = [
    "BatchResult",
    "CheckedResponses",
    "ConvergenceWarning",
    "DataError",
    "DataQualityWarning",
    "HeywoodCaseWarning",
    "Instrument",
    "MHDQError",
    "NormTable",
    "Problem",
    "ReadLimits",
    "ResponseTable",
    "SpecError",
    "UsageError",
    "check_responses",
    "detect_platform",
    "fit_norms",
    "iter_response_chunks",
    "load_instrument",
    "read_header",
    "read_responses",
    "run_batch",
    "score_items",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'instrument' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
