"""``mhdq build``: write the questionnaire forms (workbook, XLSForm, REDCap dictionary, HTML)."""

from __future__ import annotations

import click

from analysis.cli.options import (
    group_option,
    instrument_option,
    lang_option,
    open_instrument,
    output_dir,
)
from instrument.errors import UsageError
from instrument.forms import FORMATS, build_forms, check_group


def parse_formats(value: str) -> list[str]:
    """``"xlsx,html"`` -> ``["xlsx", "html"]``; raise UsageError naming the allowed formats."""
    wanted = [part.strip().lower() for part in value.split(",") if part.strip()]
    unknown = [part for part in wanted if part not in FORMATS]
    if unknown or not wanted:
        shown = ", ".join(unknown) if unknown else "(none)"
        raise UsageError(
            f"--format: unknown format {shown}; allowed: {', '.join(FORMATS)} (comma-separated)"
        )
    return wanted


@click.command("build")
@instrument_option
@lang_option
@group_option
@click.option(
    "--format",
    "formats",
    default=",".join(FORMATS),
    show_default=True,
    metavar="LIST",
    help=f"Comma-separated forms to write: {', '.join(FORMATS)}.",
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR",
    help="Folder to write the forms into (created if needed).",
)
def command(
    instrument_path: str | None, lang: str | None, group_name: str | None, formats: str, out: str
) -> None:
    """Build the questionnaire forms from the instrument specification.

    Writes NAME-LANG.xlsx (printable questionnaire, data entry with validation, codebook,
    scoring key), NAME-LANG-xlsform.xlsx (ODK/KoboToolbox), NAME-LANG-redcap.csv (REDCap data
    dictionary) and NAME-LANG.html (printable form), and prints the paths written.
    """
    wanted = parse_formats(formats)
    instrument = open_instrument(instrument_path)
    try:
        lang = instrument.check_language(lang)
        check_group(instrument, group_name)
    except ValueError as exc:
        raise UsageError(
            f"--{str(exc).split(':', 1)[0]}: {str(exc).split(':', 1)[1].strip()}"
        ) from None
    folder = output_dir(out)
    written = build_forms(instrument, folder, lang=lang, group=group_name, formats=wanted)
    for path in written.values():
        click.echo(str(path))
