"""The one base of every estimator: scikit-learn's contract without importing scikit-learn.

Every model class (EFA, CFA, OrdinalCFA, MultiGroupCFA, the Cox, logistic, Fine-Gray and GEE
models, the IRT models) subclasses :class:`Estimator`, which gives it scikit-learn's estimator
contract:

- settings are the arguments of ``__init__``, stored verbatim under the same names and nothing
  else (no validation, no fitted state); they are checked in ``fit``;
- ``get_params`` / ``set_params`` read the names from the ``__init__`` signature, so
  ``sklearn.base.clone`` and grid searches work;
- ``fit`` returns ``self`` and creates the fitted attributes, whose names end in ``_``, among them
  ``results_``: the fitted model's results object (statsmodels separates the model from its
  results in the same way);
- using a fitted attribute or method before ``fit`` raises
  :class:`analysis.errors.NotFittedError`, which is a ``ValueError`` and an ``AttributeError``
  (so ``hasattr(model, "results_")`` is ``False`` on an unfitted model, as in scikit-learn).

scikit-learn is not imported here: importing it costs more than the statistics of most models
(issue 16), and the contract is small. ``tests/test_estimator_contract.py`` checks every model
class against it, with scikit-learn's own ``clone`` and ``check_is_fitted``.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis._results import Result
from analysis.errors import NotFittedError

__all__ = ["Estimator", "ModelResults"]


@dataclass(frozen=True, repr=False)
class ModelResults(Result):
    """A fitted model's results: its tidy table and its scalar statistics.

    The ``results_`` of the models that have no results class of their own (CFA, the Cox and
    logistic models, EFA, ...).

    Attributes
    ----------
    model : str
        The estimator's class name.
    table : pandas.DataFrame
        The model's tidy table, as its ``summary()`` returns it (terms, estimates, loadings).
    statistics : dict
        Scalar fit statistics (log-likelihoods, fit measures, numbers of observations, whether the
        fit converged), by name without the trailing ``_``.
    """

    model: str
    table: pd.DataFrame
    statistics: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """The model's tidy table (a copy)."""
        return self.table.copy()

    @classmethod
    def of(
        cls, estimator: Any, table: pd.DataFrame, statistics: dict[str, Any] | None = None
    ) -> ModelResults:
        """Results of a fitted ``estimator``: ``table`` and every scalar fitted attribute.

        ``statistics`` adds (or overrides) named statistics, such as a CFA's fit measures.
        """
        scalars = {
            name[:-1]: _plain(value)
            for name, value in vars(estimator).items()
            if _is_fitted_name(name) and _is_scalar(value)
        }
        extra = {str(k): _plain(v) for k, v in (statistics or {}).items()}
        return cls(model=type(estimator).__name__, table=table, statistics={**scalars, **extra})


def _is_fitted_name(name: str) -> bool:
    return name.endswith("_") and not name.startswith("_")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str | np.generic)


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


class Estimator:
    """Base of the model classes: scikit-learn's estimator contract (see the module docstring).

    Subclasses define ``__init__`` with explicit settings only (no ``*args``/``**kwargs``), store
    each under its own name, and end ``fit`` with ``return self._finish_fit(results)``. Methods
    that need the fit call ``self._check_fitted()`` first.
    """

    #: The fitted model's results object (set by ``fit``; each class documents its type).
    results_: Any

    # ---- settings ---------------------------------------------------------------------------
    @classmethod
    def _get_param_names(cls) -> list[str]:
        init = cls.__init__
        if init is object.__init__:
            return []
        params = list(inspect.signature(init).parameters.values())[1:]
        varying = [p.name for p in params if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        if varying:
            raise TypeError(
                f"{cls.__name__}.__init__ takes *{varying[0]}: an estimator's settings must be "
                "named arguments (scikit-learn's contract)"
            )
        return sorted(p.name for p in params)

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """The settings given to ``__init__``, by name (scikit-learn's ``get_params``).

        With ``deep``, settings that are estimators themselves add theirs as ``name__setting``.
        """
        out: dict[str, Any] = {}
        for name in self._get_param_names():
            value = getattr(self, name)
            if deep and hasattr(value, "get_params") and not isinstance(value, type):
                out.update((f"{name}__{k}", v) for k, v in value.get_params().items())
            out[name] = value
        return out

    def set_params(self, **params: Any) -> Estimator:
        """Change settings by name (``name__setting`` for a nested estimator); returns self.

        Raises
        ------
        ValueError
            A name that is not a setting of this estimator (the allowed names are listed).
        """
        valid = self._get_param_names()
        nested: dict[str, dict[str, Any]] = {}
        for key, value in params.items():
            name, _, sub = key.partition("__")
            if name not in valid:
                raise ValueError(
                    f"{key!r} is not a setting of {type(self).__name__}; allowed: "
                    f"{', '.join(valid)}"
                )
            if sub:
                nested.setdefault(name, {})[sub] = value
            else:
                setattr(self, name, value)
        for name, sub_params in nested.items():
            getattr(self, name).set_params(**sub_params)
        return self

    def __repr__(self) -> str:
        defaults = {
            p.name: p.default
            for p in list(inspect.signature(type(self).__init__).parameters.values())[1:]
        }
        shown = []
        for name, value in self.get_params(deep=False).items():
            default = defaults.get(name, inspect.Parameter.empty)
            if default is inspect.Parameter.empty or not _same(value, default):
                text = repr(value)
                shown.append(f"{name}={text if len(text) <= 60 else text[:57] + '...'}")
        return f"{type(self).__name__}({', '.join(shown)})"

    # ---- fitted state -----------------------------------------------------------------------
    def _finish_fit(self, results: Result) -> Any:
        """Store the results object as ``results_`` (the last fitted attribute) and return self."""
        self.results_ = results
        return self

    def __sklearn_is_fitted__(self) -> bool:
        # scikit-learn's own rule: fitted once an attribute ending in "_" exists
        return any(_is_fitted_name(name) for name in vars(self))

    def __sklearn_tags__(self) -> Any:
        # called by scikit-learn only (clone, check_is_fitted), so it is loaded already
        from sklearn.utils import Tags, TargetTags

        return Tags(estimator_type=None, target_tags=TargetTags(required=False))

    def _check_fitted(self) -> None:
        """Raise :class:`NotFittedError` unless ``fit`` has been called."""
        if not self.__sklearn_is_fitted__():
            raise NotFittedError(_not_fitted_message(type(self).__name__))

    def __getattr__(self, name: str) -> Any:
        # only reached when normal lookup fails: a fitted attribute asked for before fit
        if _is_fitted_name(name) and not name.startswith("__"):
            raise NotFittedError(_not_fitted_message(type(self).__name__, name))
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")


def _not_fitted_message(cls: str, attribute: str | None = None) -> str:
    what = f"; {attribute!r} exists after fit" if attribute else ""
    return f"this {cls} is not fitted yet: call fit() first{what}"


def _same(a: Any, b: Any) -> bool:
    try:
        return bool(a is b or a == b)
    except (TypeError, ValueError):  # arrays and frames compare elementwise
        return False
