"""Small run-time helpers shared by the factor-analysis modules (no side effects at import)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Any

#: threadpoolctl's controller of the loaded BLAS libraries, by whether scipy.linalg (which brings
#: its own OpenBLAS besides numpy's) was imported when it was made.
_CONTROLLERS: dict[bool, Any] = {}


def _blas_controller() -> Any:
    """A cached ``threadpoolctl.ThreadpoolController`` (None without threadpoolctl).

    Building one scans the process's loaded libraries (about 10 ms, as every
    ``threadpool_limits`` call does); the controller is made once and again only after
    scipy.linalg loads its BLAS.
    """
    key = "scipy.linalg" in sys.modules
    if key not in _CONTROLLERS:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
            _CONTROLLERS[key] = None
        else:
            _CONTROLLERS[key] = ThreadpoolController()
    return _CONTROLLERS[key]


@contextmanager
def single_threaded_blas():
    """Run the enclosed block with one BLAS thread, restoring the previous setting afterwards.

    Factor extraction and rotation call ``eigh``/``solve`` on small (p × p) matrices hundreds of
    times; a multi-threaded OpenBLAS spends more time waking and synchronising threads than
    computing, and on a busy machine a 36 × 36 ``eigh`` went from 0.1 ms to 20–35 ms. Even the
    n × p products behind the correlations (20,000 × 36 items) were 2–4 times faster with one
    thread on the shared two-core test machine. Uses threadpoolctl (a scikit-learn dependency)
    through one cached controller (see :func:`_blas_controller`); without it the block runs
    unchanged.
    """
    controller = _blas_controller()
    if controller is None:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with controller.limit(limits=1, user_api="blas"):
        yield
