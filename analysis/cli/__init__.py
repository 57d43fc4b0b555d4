"""The ``mhdq`` command line: a thin layer over the public API of :mod:`instrument` and :mod:`analysis`.

Each command group lives in its own module here and exposes ``command`` (a click command or
group). Exit codes: 0 ok, 1 invalid data or specification, 2 usage. Tracebacks are shown only
with ``--debug``.

Start-up is kept cheap: the group lists its commands from the module names and imports a
command's module only when that command is invoked or help is shown, and the command modules
import pandas, scipy, matplotlib and openpyxl inside the command functions, not at module level.
So ``mhdq --version`` imports none of them.
"""

from __future__ import annotations

import importlib
import sys

import click

from instrument.errors import MHDQError

#: Modules of this package that are not commands.
_NOT_COMMANDS = frozenset({"feedback", "options", "reference", "waves_input"})


def _command_modules() -> tuple[str, ...]:
    """Every module of this package except the helpers: each defines one command as ``command``.

    Commands are discovered, not listed, so adding a command is adding its module.
    """
    import pkgutil

    return tuple(
        sorted(
            m.name
            for m in pkgutil.iter_modules(__path__)
            if m.name not in _NOT_COMMANDS and not m.name.startswith("_")
        )
    )


#: NOTE for contributors: command modules are discovered automatically; nothing to register here.
COMMAND_MODULES = _command_modules()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # ~20 ms: only when asked

    try:
        return version("mhdq")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


def _show_version(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    if value and not ctx.resilient_parsing:
        click.echo(f"mhdq, version {_version()}")
        ctx.exit()


def _command_name(module: str) -> str:
    """Command name of a command module: ``cvi_form`` -> ``cvi-form``."""
    return module.replace("_", "-")


class LazyGroup(click.Group):
    """A click group that imports a command's module only when the command is needed.

    The commands are the discovered :data:`COMMAND_MODULES` (click's documented lazy-loading
    pattern); ``get_command`` imports ``analysis.cli.<module>`` and returns its ``command``.
    """

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *(_command_name(m) for m in COMMAND_MODULES)})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in self.commands:
            return self.commands[cmd_name]
        modules = {_command_name(m): m for m in COMMAND_MODULES}
        if cmd_name not in modules:
            return None
        command = importlib.import_module(f"analysis.cli.{modules[cmd_name]}").command
        if command.name != cmd_name:
            raise RuntimeError(
                f"analysis/cli/{modules[cmd_name]}.py defines command {command.name!r}, not "
                f"{cmd_name!r}"
            )
        self.add_command(command)
        return command


@click.group(
    cls=LazyGroup,
    context_settings={
        "help_option_names": ["-h", "--help"],
        "max_content_width": 120,
        "terminal_width": 120,
    },
)
@click.option(
    "--version",
    is_flag=True,
    expose_value=False,
    is_eager=True,
    callback=_show_version,
    help="Show the version and exit.",
)
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """MHDQ: build a Likert questionnaire from its specification, check and score responses,
    validate the scales and model attrition."""
    # Runs before any command (not for --help or --version): refuse to read workbooks unsafely.
    from instrument.io.security import assert_defusedxml

    assert_defusedxml()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mhdq`` console script."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args = [a for a in args if a != "--debug"]
    try:
        cli.main(args=args, prog_name="mhdq", standalone_mode=False)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except click.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except MHDQError as exc:
        if debug:
            raise
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except (
        ValueError,
        TypeError,
        KeyError,
        FileNotFoundError,
        PermissionError,
        IsADirectoryError,
    ) as exc:
        # Library functions validate their arguments with ValueError/TypeError; those messages
        # name the argument and what is allowed, so they are the user's error message.
        if debug:
            raise
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        click.echo(f"Error: {message}", err=True)
        sys.exit(1 if isinstance(exc, (ValueError, KeyError)) else 2)
    except Exception as exc:  # noqa: BLE001 - last line of defence: no traceback without --debug
        if debug:
            raise
        click.echo(
            f"Internal error ({type(exc).__name__}): {exc}\nRe-run with --debug for the traceback "
            "and please report it.",
            err=True,
        )
        sys.exit(1)
