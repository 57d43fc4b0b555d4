"""Every model class follows scikit-learn's estimator contract (analysis._estimator, issue 9).

Settings in ``__init__`` only and stored verbatim; ``get_params``/``set_params`` from the
``__init__`` signature (so ``sklearn.base.clone`` works); ``fit`` returns self, leaves the settings
alone and adds only attributes ending in ``_`` (or private ones), among them ``results_``, a
:class:`analysis._results.Result`; every fitted attribute and every public method used before
``fit`` raises :class:`analysis.errors.NotFittedError`. scikit-learn is imported here only, to
check the contract with its own ``clone`` and ``check_is_fitted``.

All data are synthetic (random draws with fixed seeds).
"""

from __future__ import annotations

import ast
import inspect
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis._estimator import Estimator
from analysis._results import Result
from analysis.attrition.competing import FineGrayModel
from analysis.attrition.cox import CoxModel
from analysis.attrition.frailty import FrailtyCoxModel
from analysis.attrition.gee import GEEModel
from analysis.attrition.logistic import LogisticModel
from analysis.errors import NotFittedError
from analysis.factor.efa import EFA
from analysis.irt.bifactor import BifactorGradedModel
from analysis.irt.model import GradedResponseModel
from analysis.irt.multigroup import MultipleGroupGradedModel
from analysis.longitudinal.invariance import LongitudinalInvarianceCFA
from analysis.sem.cfa import CFA
from analysis.sem.invariance import MultiGroupCFA
from analysis.sem.wlsmv import OrdinalCFA

ROOT = Path(__file__).resolve().parents[1]
METHODS_NOT_NEEDING_A_FIT = {"fit", "fit_moments", "fit_transform", "get_params", "set_params"}
#: (``fit_moments``: CFA fitted from accumulated moments, the chunked validation's fit)
#: Methods that are not available at all, fitted or not (they raise NotImplementedError).
NOT_AVAILABLE = {("OrdinalCFA", "modification_indices")}  # ML only (lavaan's modindices)


# ---- synthetic data ---------------------------------------------------------------------------
def _items(n: int = 300, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2))
    lam = np.array([[0.8, 0], [0.7, 0], [0.6, 0], [0, 0.8], [0, 0.7], [0, 0.6]])
    x = f @ lam.T + rng.normal(size=(n, 6)) * 0.6
    return pd.DataFrame(x, columns=[f"i{k}" for k in range(1, 7)])


def _ordinal(n: int = 300, seed: int = 0) -> pd.DataFrame:
    return _items(n, seed).apply(lambda c: pd.cut(c, [-np.inf, -0.5, 0.3, 1.0, np.inf]).cat.codes)


SYNTAX = "a =~ i1 + i2 + i3\nb =~ i4 + i5 + i6"


def _survival(n: int = 300, seed: int = 1):
    rng = np.random.default_rng(seed)
    X = pd.DataFrame({"x": rng.normal(size=n), "z": rng.normal(size=n)})
    t1 = rng.exponential(np.exp(-0.5 * X["x"]))
    t2 = rng.exponential(1.5, n)
    censor = rng.exponential(3.0, n)
    time = np.minimum.reduce([t1, t2, censor])
    status = np.select([time == t1, time == t2], [1, 2], 0)
    return X, time, status


def _long(n: int = 200, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    trait = rng.normal(size=n)
    rows = []
    for wave in (1, 2):
        x = trait[:, None] * 0.8 + rng.normal(size=(n, 3)) * 0.6
        rows.append(pd.DataFrame(x, columns=["p", "q", "r"]).assign(id=np.arange(n), time=wave))
    return pd.concat(rows, ignore_index=True)


def _fit_cox(m):
    X, time, status = _survival()
    return m.fit(X, time, (status == 1).astype(float))


def _fit_frailty(m):
    X, time, status = _survival()
    group = np.arange(len(X)) % 6  # six clusters of respondents
    return m.fit(X, time, (status == 1).astype(float), group=group)


def _fit_logistic(m):
    X, _, status = _survival()
    return m.fit(X, (status == 1).astype(float))


def _fit_fine_gray(m):
    X, time, status = _survival()
    return m.fit(X, time, status)


def _fit_gee(m):
    X, _, status = _survival()
    return m.fit(X, (status == 1).astype(int), groups=np.repeat(np.arange(100), 3))


def _fit_multigroup_cfa(m):
    return m.fit(_items(400).assign(g=np.repeat(["a", "b"], 200)))


def _fit_mg_irt(m):
    data = _ordinal(400)[["i1", "i2", "i3"]]
    return m.fit(data, np.repeat(["a", "b"], 200))


#: (constructor, fit) for every model class; the constructor gives non-default settings where
#: there are any, so that settings stored under another name would show.
ESTIMATORS: dict[str, tuple[Callable[[], Estimator], Callable[[Estimator], Estimator]]] = {
    "EFA": (lambda: EFA(2, rotation="varimax"), lambda m: m.fit(_items())),
    "CFA": (lambda: CFA(SYNTAX, missing="ml"), lambda m: m.fit(_items())),
    "OrdinalCFA": (lambda: OrdinalCFA(SYNTAX), lambda m: m.fit(_ordinal())),
    "MultiGroupCFA": (lambda: MultiGroupCFA(SYNTAX, group="g"), _fit_multigroup_cfa),
    "LongitudinalInvarianceCFA": (
        lambda: LongitudinalInvarianceCFA(
            {"f": ["p", "q", "r"]}, id="id", wave="time", equal=("loadings",)
        ),
        lambda m: m.fit(_long()),
    ),
    "CoxModel": (lambda: CoxModel(ties="breslow"), _fit_cox),
    "FrailtyCoxModel": (lambda: FrailtyCoxModel(ties="breslow"), _fit_frailty),
    "LogisticModel": (lambda: LogisticModel(ci_level=0.9), _fit_logistic),
    "FineGrayModel": (lambda: FineGrayModel(cause=2), _fit_fine_gray),
    "GEEModel": (lambda: GEEModel(correlation="ar1"), _fit_gee),
    "BifactorGradedModel": (
        lambda: BifactorGradedModel(["a", "a", "a", "b", "b", "b"], quadrature_points=11),
        lambda m: m.fit(_ordinal()),
    ),
    "GradedResponseModel": (
        lambda: GradedResponseModel(quadrature_points=21),
        lambda m: m.fit(_ordinal()[["i1", "i2", "i3"]]),
    ),
    "MultipleGroupGradedModel": (
        lambda: MultipleGroupGradedModel(quadrature_points=21, tol=1e-4),
        _fit_mg_irt,
    ),
}


# ---- the contract -----------------------------------------------------------------------------
def _public_methods(cls: type) -> list[str]:
    return [
        name
        for name, member in inspect.getmembers(cls)
        if not name.startswith("_")
        and inspect.isfunction(member)
        and not isinstance(inspect.getattr_static(cls, name), staticmethod | classmethod)
        and name not in METHODS_NOT_NEEDING_A_FIT
        and (cls.__name__, name) not in NOT_AVAILABLE
    ]


def unfitted_problems(model) -> list[str]:
    """How an unfitted ``model`` breaks the contract (empty: it does not)."""
    from sklearn.base import clone
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted

    problems = []
    cls = type(model)
    name = cls.__name__
    if not isinstance(model, Estimator):
        problems.append(f"{name} does not subclass analysis._estimator.Estimator")
        return problems
    try:
        params = model.get_params(deep=False)
    except (TypeError, AttributeError) as exc:
        return [f"{name}.get_params: {exc}"]
    signature = set(list(inspect.signature(cls.__init__).parameters)[1:])
    if set(params) != signature:
        problems.append(f"{name}: get_params {sorted(params)} != __init__ {sorted(signature)}")
    if set(vars(model)) != signature:
        extra = sorted(set(vars(model)) - signature)
        problems.append(f"{name}.__init__ stores more or other than its settings: {extra}")
    try:
        copy = clone(model)
    except Exception as exc:  # noqa: BLE001  (any failure of clone is the finding)
        problems.append(f"sklearn.base.clone({name}) failed: {exc!r}")
    else:
        if copy is model or set(copy.get_params(deep=False)) != set(params):
            problems.append(f"sklearn.base.clone({name}) did not copy the settings")
    first = sorted(params)[0] if params else None
    if first is not None:
        if model.set_params(**{first: params[first]}) is not model:
            problems.append(f"{name}.set_params does not return self")
        with pytest.raises(ValueError, match="not a setting"):
            model.set_params(no_such_setting=1)
    for attribute in ("results_", "coef_", "loadings_"):
        try:
            getattr(model, attribute)
        except NotFittedError as exc:
            if "fit" not in str(exc):
                problems.append(f"{name}.{attribute}: the NotFittedError does not say to fit")
        except AttributeError:
            problems.append(f"{name}.{attribute} before fit: AttributeError, not NotFittedError")
        else:
            problems.append(f"{name}.{attribute} exists before fit")
    if hasattr(model, "results_"):
        problems.append(f"hasattr({name}(), 'results_') is True before fit")
    try:
        check_is_fitted(model)
    except SklearnNotFittedError:
        pass
    else:
        problems.append(f"check_is_fitted({name}()) passes before fit")
    problems += _method_problems(model)
    return problems


def _method_problems(model) -> list[str]:
    """Public methods of an unfitted ``model`` that do not raise NotFittedError."""
    cls, name = type(model), type(model).__name__
    problems = []
    for method in _public_methods(cls):
        required = [
            p
            for p in list(inspect.signature(getattr(cls, method)).parameters.values())[1:]
            if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
        try:
            getattr(model, method)(*[None] * len(required))
        except NotFittedError:
            continue
        except Exception as exc:  # noqa: BLE001  (anything else is the finding)
            problems.append(f"{name}.{method}() before fit raised {type(exc).__name__}: {exc}")
        else:
            problems.append(f"{name}.{method}() before fit did not raise")
    return problems


def fitted_problems(model, fit) -> list[str]:
    """How ``fit`` breaks the contract on ``model`` (empty: it does not)."""
    from sklearn.exceptions import NotFittedError as SklearnNotFittedError
    from sklearn.utils.validation import check_is_fitted

    name = type(model).__name__
    problems = []
    before = model.get_params(deep=False)
    attributes = set(vars(model))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        returned = fit(model)
    if returned is not model:
        problems.append(f"{name}.fit does not return self")
    after = model.get_params(deep=False)
    changed = [k for k in before if after[k] is not before[k]]
    if changed:
        problems.append(f"{name}.fit changed the settings {changed}")
    added = set(vars(model)) - attributes
    badly_named = sorted(a for a in added if not (a.endswith("_") or a.startswith("_")))
    if badly_named:
        problems.append(f"{name}.fit added attributes not ending in '_': {badly_named}")
    results = getattr(model, "results_", None)
    if not isinstance(results, Result):
        problems.append(f"{name}.results_ is {type(results).__name__}, not a Result")
    elif not isinstance(results.summary(), pd.DataFrame):
        problems.append(f"{name}.results_.summary() is not a DataFrame")
    try:
        check_is_fitted(model)
    except SklearnNotFittedError:
        problems.append(f"check_is_fitted({name}) fails after fit")
    if isinstance(results, Result) and callable(getattr(model, "summary", None)):
        pd.testing.assert_frame_equal(model.summary(), results.summary())
    return problems


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_an_unfitted_estimator_follows_the_contract(name):
    make, _ = ESTIMATORS[name]
    assert unfitted_problems(make()) == []


@pytest.mark.parametrize("name", sorted(ESTIMATORS))
def test_fit_follows_the_contract(name):
    make, fit = ESTIMATORS[name]
    assert fitted_problems(make(), fit) == []


def test_every_model_class_is_checked():
    """Every class in analysis/ defining ``fit`` is in ESTIMATORS (a new model is not skipped)."""
    found = set()
    for path in (ROOT / "analysis").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(item, ast.FunctionDef) and item.name == "fit" for item in node.body
            ):
                found.add(node.name)
    assert found == set(ESTIMATORS)


def test_the_checks_catch_a_broken_estimator():
    class NoBase:
        def __init__(self, k=1):
            self.k = k

        def fit(self, X):
            return self

    class Renamed(Estimator):
        def __init__(self, k=1):
            self.k_value = k  # stored under another name: get_params cannot find it

        def fit(self, X):
            return self

    class Validates(Estimator):
        def __init__(self, k=1):
            self.k = k
            self.checked_ = True  # a fitted-looking attribute set in __init__

        def fit(self, X):
            return self

    class Unchecked(Estimator):
        def __init__(self, k=1):
            self.k = k

        def fit(self, X):
            return self

        def predict(self, X):
            return X  # used before fit without a NotFittedError

    class ForgetsResults(Estimator):
        def __init__(self, k=1):
            self.k = k

        def fit(self, X):
            self.coefficient = 1.0  # not ending in "_", no results_
            return None

    assert unfitted_problems(NoBase())
    assert unfitted_problems(Renamed())
    assert unfitted_problems(Validates())
    assert any("predict" in p for p in unfitted_problems(Unchecked()))
    problems = fitted_problems(ForgetsResults(), lambda m: m.fit(None))
    assert any("return self" in p for p in problems)
    assert any("not ending" in p for p in problems)
    assert any("not a Result" in p for p in problems)


def test_not_fitted_error_names_the_class_and_the_remedy():
    model = CoxModel()
    with pytest.raises(NotFittedError, match=r"CoxModel is not fitted yet: call fit\(\) first"):
        model.summary()
    with pytest.raises(NotFittedError, match="'results_' exists after fit"):
        model.results_  # noqa: B018
    assert repr(CoxModel(ties="breslow")) == "CoxModel(ties='breslow')"
