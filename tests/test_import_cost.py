"""Start-up stays light: heavy libraries are imported only where a command uses them (issue 16).

Not timed (timings live in benchmarks/); these assert which modules are loaded, which is what the
start-up cost depends on.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Libraries that cost tenths of a second each to import.
HEAVY = (
    "scipy",
    "matplotlib",
    "pyarrow",
    "openpyxl",
    "pandas",
    "numpy",
    "PIL",
    "statsmodels",
    "sklearn",
    "pingouin",
    "factor_analyzer",
)


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


def test_validate_help_does_not_load_the_specification():
    """The YAML specification (yaml, the spec's classes) is loaded when a command runs, not for
    its help."""
    code = (
        "import sys\n"
        "from analysis.cli import main\n"
        "try:\n"
        "    main(['validate', '--help'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted({'yaml', 'instrument.spec'} & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"


#: What ``mhdq validate`` imports (the rooms' packages import their modules), up to the functions
#: that import the report's libraries when they run.
VALIDATE_PATH = (
    "analysis.cli.validate",
    "analysis.study",
    "analysis.study.irt",
    "analysis.factor",
    "analysis.reliability",
    "analysis.sem",
    "analysis.irt",
    "analysis.report.validation",
    "instrument.read",
    "instrument.check",
    "instrument.batch.pipeline",
    "instrument.grouping",
)

#: Not needed by a validation (scipy.stats alone is ~1 s; scipy.special has what we use), or
#: needed only by the report's writers, which import them when they run.
NOT_ON_VALIDATE_PATH = (
    "scipy.stats",
    "sklearn",
    "statsmodels",
    "pingouin",
    "factor_analyzer",
    "matplotlib",
    "openpyxl",
    "PIL",
)


def test_validate_path_loads_no_unneeded_library():
    script = (
        "import sys\n"
        f"for name in {VALIDATE_PATH!r}:\n"
        "    __import__(name)\n"
        f"wanted = {NOT_ON_VALIDATE_PATH!r}\n"
        "print(sorted({w for w in wanted for m in sys.modules if m == w or "
        "m.startswith(w + '.')}))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    loaded = eval(done.stdout.strip().splitlines()[-1])  # noqa: S307 - our own printed list
    assert loaded == []


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
