"""The one error and warning hierarchy of :mod:`analysis`.

:mod:`instrument.errors` holds the base (``instrument`` never imports ``analysis``); this module
re-exports it and adds what only models need, so the statistical rooms import their errors and
warnings from here and never reach into :mod:`instrument`.

Errors (a user can cause them; the CLI prints them without a traceback):

- :class:`MHDQError` — the base of every error below.
- :class:`UsageError` — a request that cannot be carried out as given (bad option value).
- :class:`DataError` — data that cannot be read or used at all.
- :class:`SpecError` — an instrument specification that cannot be loaded (every problem listed,
  each a :class:`SpecProblem`).
- :class:`NotFittedError` — an estimator used before ``fit``; also a ``ValueError`` and an
  ``AttributeError``, as scikit-learn's ``NotFittedError`` is.

Warnings (the analysis runs, but the user should know):

- :class:`ConvergenceWarning` — an iterative estimator stopped before its criterion.
- :class:`HeywoodCaseWarning` — a communality at or above 1.
- :class:`DataQualityWarning` — analysable data with a problem (few events, many missing).
"""

from __future__ import annotations

from instrument.errors import (
    ConvergenceWarning,
    DataError,
    DataQualityWarning,
    HeywoodCaseWarning,
    MHDQError,
    SpecError,
    SpecProblem,
    UsageError,
)

__all__ = [
    "ConvergenceWarning",
    "DataError",
    "DataQualityWarning",
    "HeywoodCaseWarning",
    "MHDQError",
    "NotFittedError",
    "SpecError",
    "SpecProblem",
    "UsageError",
]


class NotFittedError(UsageError, ValueError, AttributeError):
    """An estimator was used before ``fit``.

    A :class:`UsageError` of this package, and a ``ValueError`` and an ``AttributeError`` as
    scikit-learn's ``NotFittedError`` is, so ``hasattr(model, "results_")`` is ``False`` on an
    unfitted model. It does not subclass scikit-learn's class: importing scikit-learn to define
    it would load ``sklearn.base`` with every ``import analysis.errors`` (issue 16);
    ``sklearn.utils.validation.check_is_fitted`` raises its own class on our models
    (``Estimator.__sklearn_is_fitted__``).
    """
