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
from instrument.forms import FORMATS, build_forms, check_group, prepare


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
    "--form",
    "wave_form",
    default=None,
    metavar="FORM",
    help="Wave form to build, e.g. baseline or followup (default: the specification's first; "
    "the data record which form was answered).",
)
@click.option(
    "--recall",
    default=None,
    metavar="PERIOD",
    help='Recall period of a follow-up form, e.g. "3 months" (in the form\'s language).',
)
@click.option(
    "--group-kind",
    "group_kind",
    default=None,
    metavar="KIND",
    help="Kind of group the form is about (e.g. twelve_step, smart, liferring, wfs, other); "
    "filled in on the form and used by the skip logic.",
)
@click.option(
    "--out",
    "out",
    required=True,
    metavar="DIR",
    help="Folder to write the forms into (created if needed).",
)
def command(
    instrument_path: str | None,
    lang: str | None,
    group_name: str | None,
    formats: str,
    wave_form: str | None,
    recall: str | None,
    group_kind: str | None,
    out: str,
) -> None:
    """Build the questionnaire forms from the instrument specification.

    Writes NAME-LANG.xlsx (printable questionnaire, data entry with validation, codebook,
    scoring key), NAME-LANG-xlsform.xlsx (ODK/KoboToolbox), NAME-LANG-redcap.csv (REDCap data
    dictionary) and NAME-LANG.html (printable form), and prints the paths written. For a
    form named with --form, its id follows the language (mhdq-en-followup.xlsx).
    """
    wanted = parse_formats(formats)
    instrument = open_instrument(instrument_path)
    try:
        lang = instrument.check_language(lang)
        check_group(instrument, group_name)
        instrument.check_form(wave_form)
        if (
            recall is not None
            and wave_form is not None
            and not instrument.wave_forms[wave_form].recall
        ):
            raise ValueError(
                f"recall: the {wave_form} form has no recall period; forms with one: "
                + ", ".join(f.id for f in instrument.wave_forms.values() if f.recall)
            )
        prepare(instrument, form=wave_form, recall=recall, group_kind=group_kind)
    except ValueError as exc:
        raise UsageError(
            f"--{str(exc).split(':', 1)[0].replace('_', '-')}: {str(exc).split(':', 1)[1].strip()}"
        ) from None
    folder = output_dir(out)
    written = build_forms(
        instrument,
        folder,
        lang=lang,
        group=group_name,
        formats=wanted,
        form=wave_form,
        recall=recall,
        group_kind=group_kind,
    )
    for path in written.values():
        click.echo(str(path))
