"""Shared fixtures: the example and embedded instruments, a small forms test spec, an output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from instrument.spec import Instrument, load_instrument

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def bfi_spec() -> Instrument:
    """The bfi example (25 items, 6-point scale, one language, no background questions)."""
    return load_instrument(ROOT / "examples" / "bfi.yaml")


@pytest.fixture(scope="session")
def mhdq_spec() -> Instrument:
    """The embedded MHDQ (English and Norwegian Bokmål)."""
    return load_instrument()


@pytest.fixture(scope="session")
def forms_spec() -> Instrument:
    """tests/data/forms_spec.yaml: synthetic, two languages, N/A code, every background question type."""
    return load_instrument(DATA / "forms_spec.yaml")


@pytest.fixture
def tmp_out(tmp_path: Path) -> Path:
    """An empty output folder."""
    out = tmp_path / "out"
    out.mkdir()
    return out
