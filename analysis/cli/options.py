"""Options shared by several commands, declared once."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from instrument.errors import UsageError

if TYPE_CHECKING:
    from instrument.spec import Instrument

instrument_option = click.option(
    "--instrument",
    "instrument_path",
    metavar="SPEC",
    default=None,
    help="Instrument specification (YAML). Default: the embedded MHDQ.",
)
lang_option = click.option(
    "--lang",
    default=None,
    metavar="CODE",
    help="Language code (e.g. en, nb). Default: the instrument's default.",
)
group_option = click.option(
    "--group",
    "group_name",
    default=None,
    metavar="NAME",
    help="Name of the mutual-help group filling {group} in the item text (default: Narcotics Anonymous).",
)
seed_option = click.option(
    "--seed", type=int, default=None, help="Random seed for reproducible results."
)
quiet_option = click.option(
    "--quiet", "-q", is_flag=True, help="No progress bar or summary output."
)
format_option = click.option(
    "--format",
    "output_format",
    type=click.Choice(["table", "csv", "json"]),
    default="table",
    show_default=True,
    help="How tabular output is printed.",
)


def open_instrument(path: str | None) -> Instrument:
    """Load the specification named on the command line (or the embedded MHDQ)."""
    from instrument.spec import load_instrument  # YAML and the spec's classes: not for --help

    return load_instrument(path)


def output_dir(path: str | Path) -> Path:
    """Create ``path`` if needed and check it is a writable folder; raise UsageError otherwise."""
    import os

    out = Path(path)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out}: exists and is not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create the folder ({exc.strerror})") from None
    if not os.access(out, os.W_OK | os.X_OK):
        raise UsageError(f"--out {out}: the folder is not writable")
    return out
