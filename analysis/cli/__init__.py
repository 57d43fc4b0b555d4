"""The ``mhdq`` command line: a thin layer over the public API of :mod:`instrument` and :mod:`analysis`.

Each command group lives in its own module here and exposes ``command`` (a click command or
group). Exit codes: 0 ok, 1 invalid data or specification, 2 usage. Tracebacks are shown only
with ``--debug``.
"""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version

import click

from instrument.errors import MHDQError

#: Modules of this package that are not commands.
_NOT_COMMANDS = frozenset({"options", "reference"})


def _command_modules() -> tuple[str, ...]:
    """Every module of this package except the helpers: each defines one command as ``command``.

    Commands are discovered, not listed, so adding a command is adding its module.
    """
    import pkgutil

    return tuple(
        sorted(m.name for m in pkgutil.iter_modules(__path__) if m.name not in _NOT_COMMANDS and not m.name.startswith("_"))
    )


#: NOTE for contributors: command modules are discovered automatically; nothing to register here.
COMMAND_MODULES = _command_modules()


def _version() -> str:
    try:
        return version("mhdq")
    except PackageNotFoundError:  # running from a source tree without installing
        return "0+unknown"


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120, "terminal_width": 120})
@click.version_option(_version(), "--version", prog_name="mhdq")
@click.option("--debug", is_flag=True, help="Show full tracebacks on errors.")
def cli(debug: bool) -> None:
    """MHDQ: build a Likert questionnaire from its specification, check and score responses,
    validate the scales and model attrition."""


def _register() -> None:
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"analysis.cli.{name}")
        cli.add_command(module.command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``mhdq`` console script."""
    from instrument.security import assert_defusedxml

    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args
    if debug:
        args = [a for a in args if a != "--debug"]
    try:
        assert_defusedxml()
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
    except (ValueError, TypeError, KeyError, FileNotFoundError, PermissionError, IsADirectoryError) as exc:
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
