"""``mhdq validate``: the validation analyses of an instrument, written as report.html, tables.xlsx and results.json."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.cli.options import instrument_option, open_instrument, output_dir
from instrument.errors import UsageError


@click.command("validate")
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True)
@instrument_option
@click.option(
    "--group-by",
    "group_by",
    metavar="COLUMN",
    default=None,
    help="Background column to test measurement invariance across (e.g. gender).",
)
@click.option(
    "--allow-sensitive-group",
    is_flag=True,
    help="Allow --group-by a question marked sensitive (free-text questions are never allowed).",
)
@click.option(
    "--min-group-size",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Refuse --group-by when a group holds fewer respondents (disclosure control).",
)
@click.option(
    "--ordinal",
    is_flag=True,
    help="Treat items as ordinal: polychoric KMO, retention and EFA; ordinal alpha and omega; WLSMV CFA.",
)
@click.option(
    "--seed",
    type=int,
    default=20240601,
    show_default=True,
    help="Random seed (parallel analysis, split-half sampling, bootstrap).",
)
@click.option(
    "--missing",
    type=click.Choice(["pairwise", "listwise"]),
    default="pairwise",
    show_default=True,
    help="Missing answers in item statistics, reliability and correlations.",
)
@click.option(
    "--cfa-missing",
    "cfa_missing",
    type=click.Choice(["listwise", "ml"]),
    default="listwise",
    show_default=True,
    help="Missing answers in CFA, validity and invariance: listwise (lavaan's default) or full-information "
    "ML (slow for large samples; not with --ordinal).",
)
@click.option(
    "--bootstrap",
    "n_boot",
    type=click.IntRange(min=0),
    default=None,
    metavar="N",
    help="Bootstrap resamples for the alpha and omega intervals. Default: none for alpha (Feldt and "
    "Duhachek intervals), 200 for omega; 0: no bootstrap at all (fastest).",
)
@click.option(
    "--platform",
    default=None,
    metavar="NAME",
    help="Force the input format: csv, tsv, xlsx, kobo, redcap, qualtrics, spss, parquet, mhdq_workbook.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.html, tables.xlsx and results.json (created if needed).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display; print nothing on success.")
def command(
    inputs,
    instrument_path,
    group_by,
    allow_sensitive_group,
    min_group_size,
    ordinal,
    seed,
    missing,
    cfa_missing,
    n_boot,
    platform,
    out,
    quiet,
):
    """Validate the scales: item statistics, reliability, EFA, CFA, validity, invariance.

    INPUT may be files, glob patterns and folders (searched recursively); they are analysed
    together (a respondent id repeated across files is rejected after its first occurrence).
    The answers are checked as mhdq score checks them; report.html, tables.xlsx and results.json
    are written into --out.
    """
    from analysis.cli.feedback import progress_display
    from analysis.report.validation import write_validation_outputs
    from analysis.study.validate import validate
    from instrument.batch.pipeline import expand_inputs
    from instrument.grouping import check_group_sizes, check_grouping
    from instrument.read import PLATFORMS, read_responses

    if ordinal and cfa_missing != "listwise":
        raise UsageError(
            "--cfa-missing ml cannot be combined with --ordinal (WLSMV is fitted on complete rows)"
        )
    if platform is not None and platform.strip().lower() not in (*PLATFORMS, "tsv"):
        raise UsageError(
            f"--platform {platform!r}: unknown; allowed: {', '.join((*PLATFORMS, 'tsv'))}"
        )
    files = expand_inputs(list(inputs))
    spec = open_instrument(instrument_path)
    if group_by is not None:
        check_grouping(spec, group_by, allow_sensitive=allow_sensitive_group)
    folder = output_dir(out)
    tables = [read_responses(path, spec, platform=platform) for path in files]
    with progress_display("validating", quiet=quiet) as progress:
        results = validate(
            tables,
            spec,
            group_by=group_by,
            ordinal=ordinal,
            seed=seed,
            missing=missing,
            cfa_missing=cfa_missing,
            n_boot=n_boot,
            progress=progress,
        )
    if results.data.group_sizes is not None:
        sizes = results.data.group_sizes.set_index("label")["n"]
        check_group_sizes(sizes, group_by, minimum=min_group_size)
    paths = write_validation_outputs(results, folder)
    if not quiet:
        label = "SYNTHETIC DATA: " if results.data.synthetic else ""
        not_ok = [s for s in results.steps if s.status not in ("ok", "not_requested")]
        click.echo(
            f"{label}{results.data.n_used} of {results.data.n_read} rows analysed "
            f"({results.data.n_rejected} rejected by the checks)."
        )
        for step in not_ok:
            click.echo(f"  {step.name}: {step.status} - {step.reason}")
        for kind in ("html", "xlsx", "json"):
            click.echo(f"{kind}: {paths[kind]}")
