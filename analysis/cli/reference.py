"""The CLI reference (docs/cli.md), generated from the click commands themselves so it cannot drift.

Regenerate with ``python -m analysis.cli.reference > docs/cli.md``; a test fails when the file
differs from what the commands say.
"""

from __future__ import annotations

import click


def _help_text(command: click.Command, name: str, parent: click.Context | None) -> str:
    context = click.Context(
        command, info_name=name, parent=parent, terminal_width=100, max_content_width=100
    )
    return command.get_help(context)


def cli_reference_markdown() -> str:
    """Markdown with the ``--help`` text of ``mhdq`` and every command and subcommand.

    Examples
    --------
    >>> "## mhdq simulate" in cli_reference_markdown()
    True
    """
    from analysis.cli import cli

    # The group's own context settings (``-h, --help``), as on the command line; click caches the
    # help option on the command, so a context without them would make the page depend on call
    # order.
    settings = {**cli.context_settings, "terminal_width": 100, "max_content_width": 100}
    root = click.Context(cli, info_name="mhdq", **settings)
    parts = [
        "# Command-line reference",
        "",
        "Generated from the commands' own help by `python -m analysis.cli.reference > "
        "docs/cli.md`;",
        "`tests/test_cli_reference.py` fails when this page and the commands disagree.",
        "",
        "Exit codes: 0 success, 1 invalid data or specification, 2 usage error. Add `--debug` to "
        "any",
        "command for a full traceback.",
        "",
        "## mhdq",
        "",
        "```text",
        cli.get_help(root),
        "```",
    ]
    for name in cli.list_commands(root):
        command = cli.get_command(root, name)
        assert command is not None  # listed by the group itself
        parts += ["", f"## mhdq {name}", "", "```text", _help_text(command, name, root), "```"]
        if isinstance(command, click.Group):
            sub_context = click.Context(command, info_name=name, parent=root)
            for sub_name in sorted(command.commands):
                sub = command.commands[sub_name]
                parts += [
                    "",
                    f"### mhdq {name} {sub_name}",
                    "",
                    "```text",
                    _help_text(sub, sub_name, sub_context),
                    "```",
                ]
    return "\n".join(parts) + "\n"


if __name__ == "__main__":  # pragma: no cover - documentation generator
    print(cli_reference_markdown(), end="")
