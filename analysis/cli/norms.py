"""``mhdq norms``: learn a norm table (mean, SD, percentiles per scale) from reference responses."""

from __future__ import annotations

import sys

import click

from analysis.cli.options import format_option, instrument_option, open_instrument, quiet_option
from analysis.cli.score import echo_summary, progress_bar, read_recode, read_rename
from instrument.errors import UsageError


@click.command("norms", short_help="Norms (mean, SD, percentiles) from reference responses.")
@click.argument("inputs", nargs=-1, metavar="RESPONSES...")
@instrument_option
@click.option(
    "--by",
    default=None,
    metavar="COLUMN",
    help="Norm within groups of a background question (e.g. gender).",
)
@click.option("--out", required=True, metavar="NORMS.json", help="Norms file to write (JSON).")
@click.option(
    "--impute",
    type=click.Choice(["none", "median"]),
    default="none",
    show_default=True,
    help="Score with unanswered items replaced by the item median.",
)
@click.option(
    "--rename",
    "rename_path",
    default=None,
    metavar="MAP",
    help="Column rename map (.yaml or .csv).",
)
@click.option(
    "--recode", "recode_path", default=None, metavar="MAP", help="Value recode map (.yaml or .csv)."
)
@click.option(
    "--min-seconds",
    type=float,
    default=None,
    metavar="S",
    help="Flag respondents faster than S seconds.",
)
@click.option(
    "--jobs",
    type=int,
    default=None,
    metavar="N",
    help="Parallel workers (default: the number of cores).",
)
@format_option
@quiet_option
def command(
    inputs,
    instrument_path,
    by,
    out,
    impute,
    rename_path,
    recode_path,
    min_seconds,
    jobs,
    output_format,
    quiet,
) -> None:
    """Score reference responses and save their norms (n, mean, SD, percentiles per scale).

    The norms file records the instrument's name and version; ``mhdq score --norms`` refuses it
    for another instrument. Prints the norm table.
    """
    from pathlib import Path

    from instrument.batch.pipeline import expand_inputs, fit_norms

    if not inputs:
        raise UsageError("give at least one RESPONSES file, pattern or folder")
    if Path(out).suffix.lower() != ".json":
        raise UsageError(f"--out {out}: the norms file is written as .json")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: must be 1 or more, got {jobs}")
    instrument = open_instrument(instrument_path)
    files = expand_inputs(list(inputs))
    with progress_bar(files, quiet) as advance:
        table, result = fit_norms(
            [*files],
            instrument,
            by=by,
            impute=impute,
            min_seconds=min_seconds,
            rename=read_rename(rename_path),
            recode=read_recode(recode_path),
            jobs=jobs,
            progress=advance,
        )
    if result.unreadable:
        echo_summary(result, strict=False, quiet=True)
        sys.exit(1)
    if result.n_scored == 0:
        raise UsageError("no row could be scored, so no norms were written")
    table.save(out)
    if table.synthetic_:
        click.echo(f"SYNTHETIC DATA: norms fitted on simulated respondents ({out})", err=True)
    if not quiet:
        echo_summary(result, strict=False, quiet=False)
        summary = table.summary()
        if output_format == "csv":
            click.echo(summary.to_csv(index=False), nl=False)
        elif output_format == "json":
            click.echo(summary.to_json(orient="records", indent=1))
        else:
            click.echo(summary.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
        click.echo(f"norms: {out}")
