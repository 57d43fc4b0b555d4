"""Every public result class is a frozen dataclass on the one Result base (analysis._results)."""

from __future__ import annotations

import dataclasses
import importlib
import json
import pkgutil

import numpy as np
import pandas as pd
import pytest

import analysis
from analysis._results import Result


def public_result_classes():
    """Public dataclasses with a ``summary`` method, in every module of the package."""
    found = {}
    for info in pkgutil.walk_packages(analysis.__path__, "analysis."):
        if ".cli" in info.name:
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (
                isinstance(obj, type)
                and dataclasses.is_dataclass(obj)
                and callable(getattr(obj, "summary", None))
            ):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


CLASSES = public_result_classes()


def test_the_walk_finds_the_results():
    assert len(CLASSES) >= 40
    assert "analysis.reliability.alpha.AlphaResult" in CLASSES


@pytest.mark.parametrize("name", sorted(CLASSES))
def test_result_class_follows_the_contract(name):
    cls = CLASSES[name]
    assert issubclass(cls, Result), f"{name} does not subclass analysis._results.Result"
    assert cls.__dataclass_params__.frozen, f"{name} is not frozen"  # type: ignore[attr-defined]
    assert cls.__repr__ is Result.__repr__, f"{name}: declare @dataclass(..., repr=False)"
    assert cls.summary is not Result.summary, f"{name} does not implement summary()"
    assert callable(cls.to_dict) and callable(cls._repr_html_)


def test_a_real_result_renders_one_line_json_and_html():
    from analysis.factor import kmo
    from analysis.reliability import cronbach_alpha

    rng = np.random.default_rng(1)  # synthetic items: one factor plus noise
    f = rng.normal(size=(200, 1))
    items = pd.DataFrame(f + rng.normal(size=(200, 5)), columns=[f"q{i}" for i in range(5)])
    for res in (cronbach_alpha(items), kmo(items)):
        text = repr(res)
        assert "\n" not in text and text.startswith(type(res).__name__ + "(")
        assert len(text) < 200
        payload = json.loads(json.dumps(res.to_dict(), allow_nan=False))
        assert set(payload) == {f.name for f in dataclasses.fields(res)}
        assert "<table" in res._repr_html_()
        assert isinstance(res.summary(), pd.DataFrame)
