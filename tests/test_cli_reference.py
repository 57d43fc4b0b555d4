"""docs/cli.md is generated from the commands; it must say what they say."""

from pathlib import Path

from analysis.cli.reference import cli_reference_markdown

DOC = Path(__file__).resolve().parents[1] / "docs" / "cli.md"


def test_cli_reference_is_current():
    assert DOC.read_text(encoding="utf-8") == cli_reference_markdown(), (
        "docs/cli.md is out of date: run `python -m analysis.cli.reference > docs/cli.md`"
    )
