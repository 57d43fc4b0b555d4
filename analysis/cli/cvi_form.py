"""``mhdq cvi-form``: write the expert rating workbook for the content-validity review."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.cli.options import (
    group_option,
    instrument_option,
    lang_option,
    open_instrument,
    output_dir,
)
from instrument.errors import UsageError
from instrument.forms import check_group


@click.command("cvi-form")
@instrument_option
@lang_option
@group_option
@click.option(
    "--out", "out", required=True, metavar="FILE", help="The .xlsx rating workbook to write."
)
def command(
    instrument_path: str | None, lang: str | None, group_name: str | None, out: str
) -> None:
    """Write the relevance-rating workbook experts fill in for the CVI review.

    Every item is listed under its facet with the facet's definition and a relevance cell
    (1-4, validated). Send one copy to each expert; read the returned copies with `mhdq cvi`.
    """
    from instrument.forms.cvi_form import write_cvi_form

    path = Path(out)
    if path.suffix.lower() != ".xlsx":
        raise UsageError(f"--out {path}: the rating workbook must be an .xlsx file")
    if path.is_dir():
        raise UsageError(f"--out {path}: is a folder; give a file name ending in .xlsx")
    instrument = open_instrument(instrument_path)
    try:
        lang = instrument.check_language(lang)
        check_group(instrument, group_name)
    except ValueError as exc:
        option, _, message = str(exc).partition(":")
        raise UsageError(f"--{option}: {message.strip()}") from None
    output_dir(path.parent if str(path.parent) else ".")
    click.echo(str(write_cvi_form(instrument, path, lang=lang, group=group_name)))
