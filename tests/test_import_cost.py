"""Start-up stays light: heavy libraries are imported only where a command uses them (issue 16).

Not timed (timings live in benchmarks/); these assert which modules are loaded, which is what the
start-up cost depends on.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Libraries that cost tenths of a second each to import.
HEAVY = ("scipy", "matplotlib", "pyarrow", "openpyxl", "pandas", "numpy", "PIL", "statsmodels")


def _loaded_after(code: str) -> list[str]:
    script = (
        "import sys\n"
        f"{code}\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 - our own printed list


def test_import_analysis_loads_no_heavy_library():
    assert _loaded_after("import analysis, instrument") == []


@pytest.mark.parametrize("argv", [["--help"], ["validate", "--help"], ["score", "--help"]])
def test_help_loads_no_heavy_library(argv):
    """`mhdq <command> --help` runs the group callback (the defusedxml guard) but must not import
    openpyxl (which pulls in numpy and PIL) to do it."""
    code = (
        "from analysis.cli import main\n"
        "try:\n"
        f"    main({argv!r})\n"
        "except SystemExit as exc:\n"
        "    assert exc.code in (0, None), exc.code\n"
    )
    assert _loaded_after(code) == []


def test_defusedxml_guard_agrees_with_openpyxl():
    """The guard's cheap check (before openpyxl is imported) gives openpyxl's own answer."""
    code = (
        "from instrument.io.security import _openpyxl_uses_defusedxml\n"
        "before = _openpyxl_uses_defusedxml()\n"
        "import openpyxl.xml\n"
        "assert before == openpyxl.xml.DEFUSEDXML, (before, openpyxl.xml.DEFUSEDXML)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "OPENPYXL_DEFUSEDXML": "False"},
    )
    assert done.returncode == 0, done.stderr
