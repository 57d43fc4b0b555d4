"""Sample outputs shown in the docs, generated (issue 12 §8): ``mhdq demo``'s summary in the guide.

Usage: ``python tests/docs_outputs.py --write`` replaces each generated block of the docs with a
fresh run; ``tests/test_docs.py`` runs the same and fails when a page is out of date. A generated
block sits between ``<!-- generated: NAME -->`` and ``<!-- /generated: NAME -->``.
"""

from __future__ import annotations

import contextlib
import io
import re
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo_output() -> str:
    """What ``mhdq demo --out mhdq-demo`` prints (SYNTHETIC data), without the timing line."""
    from analysis.cli import main

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "mhdq-demo"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed), contextlib.redirect_stderr(io.StringIO()):
            main(["demo", "--out", str(out)])
        text = printed.getvalue().replace(str(out), "mhdq-demo")
    lines = [line.rstrip() for line in text.strip("\n").splitlines()]
    lines = [line for line in lines if not line.startswith("Done in ")]
    return "\n".join(lines).strip("\n")


#: Generated blocks: name -> (page, function giving the block's text, fence language).
BLOCKS = {"demo": ("docs/user-guide.md", demo_output, "text")}


def _pattern(name: str) -> re.Pattern[str]:
    return re.compile(rf"(<!-- generated: {name} -->\n)(.*?)(<!-- /generated: {name} -->)", re.S)


def current(name: str) -> str:
    """The block as the page shows it now (without the fence)."""
    page = BLOCKS[name][0]
    match = _pattern(name).search((ROOT / page).read_text(encoding="utf-8"))
    if match is None:
        raise AssertionError(f"{page}: markers of the generated block {name!r} not found")
    body = match.group(2).strip("\n")
    return "\n".join(body.splitlines()[1:-1])  # inside the ``` fence


def fresh(name: str) -> str:
    return BLOCKS[name][1]()


def write(name: str) -> None:
    page, _, language = BLOCKS[name]
    path = ROOT / page
    text = path.read_text(encoding="utf-8")
    block = f"```{language}\n{fresh(name)}\n```\n"
    new, count = _pattern(name).subn(lambda m: m.group(1) + block + m.group(3), text)
    if count != 1:
        raise SystemExit(f"{page}: add the markers of {name!r} first")
    path.write_text(new, encoding="utf-8")


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        raise SystemExit("usage: python tests/docs_outputs.py --write")
    for block_name in BLOCKS:
        write(block_name)
