"""The one error hierarchy (analysis.errors) over instrument's base classes."""

from __future__ import annotations

import subprocess
import sys

import pytest

import instrument.errors
from analysis import errors


def test_analysis_errors_are_instruments_classes_plus_not_fitted():
    for name in errors.__all__:
        if name != "NotFittedError":
            assert getattr(errors, name) is getattr(instrument.errors, name), name
    for base in (errors.UsageError, errors.MHDQError, ValueError, AttributeError):
        assert issubclass(errors.NotFittedError, base)
    assert errors.NotFittedError.exit_code == errors.UsageError.exit_code


def test_the_errors_and_the_estimator_base_do_not_load_scikit_learn():
    # NotFittedError is a ValueError and AttributeError as scikit-learn's is, without its import
    code = (
        "import sys, analysis.errors, analysis._estimator; "
        "print(any(m.startswith('sklearn') for m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_not_fitted_is_caught_by_hasattr_and_by_value_error():
    class Model:
        @property
        def results_(self):
            raise errors.NotFittedError("Model is not fitted yet; call fit first")

    assert not hasattr(Model(), "results_")
    with pytest.raises(ValueError, match="not fitted"):
        Model().results_  # noqa: B018


@pytest.mark.parametrize(
    "warning", [errors.ConvergenceWarning, errors.HeywoodCaseWarning, errors.DataQualityWarning]
)
def test_data_quality_warnings_are_user_warnings(warning):
    assert issubclass(warning, UserWarning)
