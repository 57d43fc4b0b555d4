"""The import rules of docs/architecture.md, checked on the source (AST), not by convention.

- ``instrument`` never imports ``analysis``.
- Inside ``analysis`` imports point down the layers: ``cli`` → ``study``/``simulate``/``report`` →
  the statistical rooms (``reliability``, ``factor``, ``sem``, ``irt``, ``attrition``) → the
  foundations (``correlation``, ``_results``, ``_estimator``, ``errors``, ``_compat``). Never up.
- The statistical rooms and the foundations take arrays, frames and keys: they never import an
  ``Instrument`` (nor ``instrument.spec``).
- No module imports another module's private names (leading underscore), either as
  ``from m import _x`` or as ``m._x`` on an imported module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

FOUNDATION, STATISTICS, ORCHESTRATION, CLI, FACADE = range(5)
LAYER_NAMES = ["foundation", "statistics", "orchestration", "cli", "facade"]

#: The layer of each room (first component under ``analysis``).
ROOMS = {
    "_compat": FOUNDATION,
    "_estimator": FOUNDATION,
    "_results": FOUNDATION,
    "correlation": FOUNDATION,
    "moments": FOUNDATION,
    "errors": FOUNDATION,
    "reliability": STATISTICS,
    "factor": STATISTICS,
    "sem": STATISTICS,
    "irt": STATISTICS,
    "attrition": STATISTICS,
    "longitudinal": STATISTICS,
    "study": ORCHESTRATION,
    "simulate": ORCHESTRATION,
    "report": ORCHESTRATION,
    "cli": CLI,
}
#: Modules whose layer differs from their room's: the attrition room keeps its own orchestration
#: (the one-call analysis, its report and model files) beside its statistics, and its package
#: re-exports them.
MODULES = {
    "analysis": FACADE,
    "analysis.attrition": ORCHESTRATION,
    "analysis.attrition.study": ORCHESTRATION,
    "analysis.attrition.report": ORCHESTRATION,
    "analysis.attrition.model_io": ORCHESTRATION,
}


def module_name(path: Path, root: Path = ROOT) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def layer_of(module: str) -> int:
    for prefix in sorted(MODULES, key=len, reverse=True):
        if module == prefix:
            return MODULES[prefix]
    parts = module.split(".")
    if len(parts) < 2:
        return MODULES.get(module, FACADE)
    if parts[1] not in ROOMS:
        raise KeyError(
            f"{module}: room {parts[1]!r} has no layer; add it to ROOMS in "
            "tests/test_architecture.py and to docs/architecture.md"
        )
    return ROOMS[parts[1]]


def imports_of(path: Path, root: Path = ROOT) -> list[tuple[int, str, list[str]]]:
    """(line, module, imported names) for every absolute or relative import in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path, root)
    package = here if path.name == "__init__.py" else here.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(node.lineno, alias.name, []) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                module = ".".join([*base, module] if module else base)
            out.append((node.lineno, module, [a.name for a in node.names]))
    return out


def private_uses(path: Path, root: Path = ROOT) -> list[str]:
    """Private names of other project modules used in the file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    here = module_name(path, root)
    found = []
    aliases: dict[str, str] = {}
    for line, module, names in imports_of(path, root):
        if module.split(".")[0] not in ("analysis", "instrument") or module == here:
            continue
        found += [
            f"{line}: {module}.{n}" for n in names if n.startswith("_") and not n.startswith("__")
        ]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] in ("analysis", "instrument"):
                    aliases[alias.asname or alias.name] = alias.name
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and node.attr.startswith("_")
            and not node.attr.startswith("__")
        ):
            dotted = ast.unparse(node.value)
            if dotted in aliases or any(dotted == a or dotted.startswith(a + ".") for a in aliases):
                found.append(f"{node.lineno}: {dotted}.{node.attr}")
    return found


def layer_violations(root: Path = ROOT) -> list[str]:
    problems = []
    for path in sorted((root / "analysis").rglob("*.py")):
        here = module_name(path, root)
        mine = layer_of(here)
        for line, module, names in imports_of(path, root):
            rel = f"{path.relative_to(root)}:{line}"
            if module.split(".")[0] == "analysis" and module != "analysis":
                theirs = layer_of(module)
                if theirs > mine:
                    problems.append(
                        f"{rel}: {here} ({LAYER_NAMES[mine]}) imports {module} "
                        f"({LAYER_NAMES[theirs]})"
                    )
            if (
                mine <= STATISTICS
                and module.split(".")[0] == "instrument"
                and (module.startswith("instrument.spec") or "Instrument" in names)
            ):
                problems.append(f"{rel}: {here} (statistics) imports the Instrument")
            if (
                mine <= STATISTICS
                and here != "analysis.errors"
                and module.startswith("instrument.errors")
            ):
                problems.append(
                    f"{rel}: {here} (statistics) imports instrument.errors; use analysis.errors"
                )
    return problems


def test_instrument_never_imports_analysis():
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for path in (ROOT / "instrument").rglob("*.py")
        for line, module, _ in imports_of(path)
        if module.split(".")[0] == "analysis"
    ]
    assert offenders == []


def test_imports_point_down_the_layers():
    assert layer_violations() == []


def test_no_module_imports_another_modules_private_names():
    found = {
        str(path.relative_to(ROOT)): uses
        for package in ("analysis", "instrument")
        for path in sorted((ROOT / package).rglob("*.py"))
        if (uses := private_uses(path))
    }
    assert found == {}


def _fake_project(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for package in ("analysis", "instrument"):
        (tmp_path / package / "__init__.py").touch()
    return tmp_path


def test_a_violation_would_be_seen(tmp_path):
    root = _fake_project(
        tmp_path,
        {
            "analysis/reliability/__init__.py": "",
            "analysis/reliability/alpha.py": (
                "from analysis.study.validate import validate\n"  # up a layer
                "from instrument.spec import Instrument\n"  # statistics knowing the Instrument
                "from instrument.errors import DataError\n"  # errors come from analysis.errors
                "from analysis.sem.engine import _prepare\n"  # a private name
                "import analysis.factor.efa\n"
                "x = analysis.factor.efa._minres\n"  # a private name through the module
                "from .omega import _minres\n"  # relative private import
            ),
            "analysis/reliability/omega.py": "def _minres():\n    pass\n",
            "analysis/cli/run.py": "from analysis.study import validate\n",  # allowed: down
            "instrument/spec.py": "def f():\n    from analysis.report import HtmlReport\n",
        },
    )
    layers = layer_violations(root)
    assert any("imports analysis.study.validate (orchestration)" in p for p in layers)
    assert any("imports the Instrument" in p for p in layers)
    assert any("imports instrument.errors; use analysis.errors" in p for p in layers)
    assert not any("cli/run.py" in p for p in layers)
    private = private_uses(root / "analysis/reliability/alpha.py", root)
    assert private == [
        "4: analysis.sem.engine._prepare",
        "7: analysis.reliability.omega._minres",
        "6: analysis.factor.efa._minres",
    ]
    assert [m for _, m, _ in imports_of(root / "instrument/spec.py", root)] == ["analysis.report"]


def test_an_unknown_room_must_be_given_a_layer():
    with pytest.raises(KeyError, match="ROOMS"):
        layer_of("analysis.newroom.module")


def test_import_analysis_is_cheap_and_lists_the_api():
    code = (
        "import sys, analysis\n"
        "heavy = [m for m in ('scipy', 'scipy.stats', 'matplotlib', 'pandas', 'sklearn',"
        " 'analysis.reliability', 'analysis.sem') if m in sys.modules]\n"
        "print(heavy)\n"
        "print(len(dir(analysis)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True
    ).stdout.split("\n")
    assert out[0] == "[]"
    assert int(out[1]) >= 50


def test_the_facade_resolves_every_public_name():
    import analysis

    assert set(analysis.__all__) == set(analysis._API)
    assert set(analysis.__all__) <= set(dir(analysis))
    for name in analysis.__all__:
        obj = getattr(analysis, name)
        assert obj.__name__ == name, name
    from analysis import CFA, cronbach_alpha, omega, validate

    assert CFA.__module__ == "analysis.sem.cfa"
    assert cronbach_alpha.__module__ == "analysis.reliability.alpha"
    assert omega.__module__ == "analysis.reliability.omega"
    assert validate.__module__ == "analysis.study.validate"
    with pytest.raises(AttributeError, match="no attribute 'not_a_function'"):
        analysis.not_a_function  # noqa: B018
