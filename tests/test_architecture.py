"""The dependency rule: analysis may import instrument, never the reverse."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_instrument_never_imports_analysis():
    offenders = {
        str(path.relative_to(ROOT)): sorted(
            n for n in imported_modules(path) if n.split(".")[0] == "analysis"
        )
        for path in (ROOT / "instrument").rglob("*.py")
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_a_violation_would_be_seen(tmp_path):
    sample = tmp_path / "x.py"
    sample.write_text(
        "def f():\n    from analysis.report.html import HtmlReport\n", encoding="utf-8"
    )
    assert "analysis.report.html" in imported_modules(sample)
