"""The public API re-exported by ``instrument``: every name resolves, and importing is cheap."""

from __future__ import annotations

import subprocess
import sys

import instrument


def test_every_public_name_resolves():
    for name in instrument.__all__:
        value = getattr(instrument, name)
        assert value.__name__ == name
    from instrument.read import read_responses

    assert instrument.read_responses is read_responses
    assert set(instrument.__all__) <= set(dir(instrument))


def test_import_does_not_load_pandas():
    code = "import sys, instrument; print('pandas' in sys.modules, 'pyarrow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["False", "False"]
