"""Small run-time helpers shared by the factor-analysis modules (no side effects at import)."""

from __future__ import annotations

from contextlib import contextmanager


@contextmanager
def single_threaded_blas():
    """Run the enclosed block with one BLAS thread, restoring the previous setting afterwards.

    Factor extraction and rotation call ``eigh``/``solve`` on small (p × p) matrices hundreds of
    times; a multi-threaded OpenBLAS spends more time waking and synchronising threads than
    computing, and on a busy machine a 36 × 36 ``eigh`` went from 0.1 ms to 20–35 ms. Even the
    n × p products behind the correlations (20,000 × 36 items) were 2–4 times faster with one
    thread on the shared two-core test machine. Uses threadpoolctl (a scikit-learn dependency);
    without it the block runs unchanged.
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield
