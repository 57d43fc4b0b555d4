"""``mhdq validate``: the validation analyses of an instrument, written as report.html, tables.xlsx and results.json."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.cli.options import instrument_option, open_instrument, output_dir
from analysis.cli.waves_input import read_wave_inputs, wave_options
from instrument.errors import DataError, UsageError


def check_item_columns(tables) -> None:
    """Stop with one message naming the item columns a file lacks (``missing_item_column``)."""
    lines = []
    for table in tables:
        absent = [p.column for p in table.problems if p.rule == "missing_item_column"]
        if absent:
            shown = ", ".join(str(a) for a in absent[:20]) + (", ..." if len(absent) > 20 else "")
            lines.append(f"{table.source}: no column for {len(absent)} item(s): {shown}")
    if lines:
        raise DataError(
            "; ".join(lines) + ". Name the columns by item id (or map them with --rename), or pass "
            "--allow-missing-items to analyse the items present (the missing ones count as "
            "unanswered)."
        )


@click.command("validate")
@click.argument("inputs", metavar="INPUT...", nargs=-1)
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
    type=click.Choice(["auto", "ml", "listwise", "pairwise"]),
    default="auto",
    show_default=True,
    help="Missing and not-applicable answers in CFA, validity and invariance: auto = full-information "
    "ML (lavaan missing = 'ml') whenever a model item has a gap, with the listwise fit beside it as "
    "a sensitivity check; ml; or listwise (complete rows only). With --ordinal, auto = pairwise "
    "(WLSMV on pairwise-present polychorics, lavaan missing = 'pairwise').",
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
    "--irt/--no-irt",
    "irt",
    default=None,
    help="IRT section (graded response model per scale, DIF across --group-by). Default: on for "
    "scales with at least 4 items and 200 respondents; --irt forces it, --no-irt turns it off.",
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
@click.option(
    "--nfactors",
    "n_factors",
    type=click.IntRange(min=1),
    default=None,
    help="Factors of the EFA (psych fa nfactors). Default: parallel analysis's number.",
)
@click.option(
    "--rotation",
    type=click.Choice(["oblimin", "promax", "varimax", "geomin", "none"]),
    default="oblimin",
    show_default=True,
    help="EFA rotation (psych's names; none: unrotated).",
)
@click.option(
    "--fm",
    type=click.Choice(["minres", "ml", "pa"]),
    default="minres",
    show_default=True,
    help="EFA extraction (psych fa fm): minimum residual, maximum likelihood, principal axis.",
)
@click.option(
    "--rename",
    "rename_path",
    default=None,
    metavar="MAP",
    help="Column rename map (.yaml or .csv, file column -> item id), as mhdq score's; e.g. for "
    "R-style names with dots such as at.ease.",
)
@click.option(
    "--allow-missing-items",
    is_flag=True,
    help="Analyse a file that lacks some item columns (their answers count as missing) instead of "
    "stopping with an error.",
)
@click.option(
    "--impute",
    "impute",
    type=click.IntRange(min=2),
    default=None,
    metavar="M",
    help="Also impute missing answers M times (chained equations) and pool reliability and CFA.",
)
@click.option(
    "--impute-method",
    type=click.Choice(["pmm", "polr"]),
    default="pmm",
    show_default=True,
    help="Imputation model: predictive mean matching or proportional odds.",
)
@click.option(
    "--chunk-rows",
    "chunk_rows",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="Read N respondents at a time and analyse sufficient statistics (bounded memory; "
    "results.json and CSV tables; docs/performance.md).",
)
@wave_options
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
    irt,
    platform,
    out,
    n_factors,
    rotation,
    fm,
    rename_path,
    allow_missing_items,
    impute,
    impute_method,
    chunk_rows,
    wave_column,
    wave_of,
    wave_id_column,
    quiet,
):
    """Validate the scales: item statistics, reliability, EFA, CFA, validity, invariance.

    INPUT may be files, glob patterns and folders (searched recursively); they are analysed
    together (a respondent id repeated across files is rejected after its first occurrence).
    The answers are checked as mhdq score checks them; report.html, tables.xlsx and results.json
    are written into --out.

    Waves (INPUT with --wave COLUMN, or --wave-of FILE=LABEL per wave): the validation runs on
    the first (baseline) wave only, since the same people answering again are not independent
    respondents; the linkage problems of every wave are counted in the checks. Use mhdq
    longitudinal for test-retest, change and invariance across waves.
    are written into --out, and irt_params.json (the calibrated item parameters with the
    instrument fingerprint, for mhdq score --irt-params) when the IRT section ran.
    """
    from analysis.cli.feedback import progress_display
    from analysis.report.validation import write_validation_outputs
    from analysis.study.validate import validate
    from instrument.batch.pipeline import expand_inputs
    from instrument.grouping import check_group_sizes, check_grouping
    from instrument.read import PLATFORMS, read_responses

    if ordinal and cfa_missing == "ml":
        raise UsageError(
            "--cfa-missing ml cannot be combined with --ordinal (WLSMV: use pairwise or listwise)"
        )
    if not ordinal and cfa_missing == "pairwise":
        raise UsageError("--cfa-missing pairwise needs --ordinal (ML: use ml or listwise)")
    if platform is not None and platform.strip().lower() not in (*PLATFORMS, "tsv"):
        raise UsageError(
            f"--platform {platform!r}: unknown; allowed: {', '.join((*PLATFORMS, 'tsv'))}"
        )
    if not inputs and not wave_of:
        raise UsageError("give at least one INPUT file, pattern or folder")
    spec = open_instrument(instrument_path)
    if chunk_rows is not None:
        _chunked(inputs, spec, locals(), chunk_rows=chunk_rows, out=out, quiet=quiet)
        return
    waves = read_wave_inputs(
        inputs, wave_column, wave_of, spec, id_column=wave_id_column, platform=platform
    )
    if group_by is not None:
        check_grouping(spec, group_by, allow_sensitive=allow_sensitive_group)
    folder = output_dir(out)
    from analysis.cli.score import read_rename

    rename = read_rename(rename_path)
    if waves is None:
        tables = [
            read_responses(path, spec, platform=platform, rename=rename)
            for path in expand_inputs(list(inputs))
        ]
    else:
        tables = [waves.responses()]
    if not allow_missing_items:
        check_item_columns(tables)
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
            n_factors=n_factors,
            rotation=None if rotation == "none" else rotation,
            fm=fm,
            irt=irt,
            progress=progress,
            impute=impute,
            impute_method=impute_method,
        )
    if results.data.group_sizes is not None:
        sizes = results.data.group_sizes.set_index("label")["n"]
        check_group_sizes(sizes, group_by, minimum=min_group_size)
    paths = write_validation_outputs(results, folder)
    if results.irt is not None and results.irt.scales:
        from analysis.study.irt import save_irt_parameters

        paths["irt_params"] = save_irt_parameters(
            results.irt, folder / "irt_params.json", instrument=spec
        )
    if not quiet:
        label = "SYNTHETIC DATA: " if results.data.synthetic else ""
        if waves is not None:
            click.echo(f"validated at the baseline wave {waves.waves[0]} of {len(waves.waves)}")
        not_ok = [s for s in results.steps if s.status not in ("ok", "not_requested")]
        click.echo(
            f"{label}{results.data.n_used} of {results.data.n_read} rows analysed "
            f"({results.data.n_rejected} rejected by the checks)."
        )
        for step in not_ok:
            click.echo(f"  {step.name}: {step.status} - {step.reason}")
        for kind in ("html", "xlsx", "json", "irt_params"):
            if kind in paths:
                click.echo(f"{kind}: {paths[kind]}")


#: Options the chunked (--chunk-rows) validation does not offer, with their default.
_NOT_CHUNKED = {
    "group_by": None,
    "ordinal": False,
    "n_boot": None,
    "irt": None,
    "wave_column": None,
    "wave_of": (),
    "allow_missing_items": False,
    "cfa_missing": "auto",
    "missing": "pairwise",
    "impute": None,
}


def _chunked(inputs, spec, given: dict, *, chunk_rows: int, out: Path, quiet: bool) -> None:
    """``--chunk-rows``: :func:`analysis.study.chunked.validate_chunked`, outputs in --out."""
    from analysis.cli.score import read_rename
    from analysis.report.chunked import write_chunked_outputs
    from analysis.study.chunked import validate_chunked
    from instrument.batch.pipeline import expand_inputs

    used = [k for k, default in _NOT_CHUNKED.items() if given.get(k) not in (default, None, ())]
    if used:
        names = ", ".join("--" + k.replace("_", "-") for k in used)
        raise UsageError(
            f"--chunk-rows: not available with {names} (the chunked validation uses pairwise "
            "correlations and full-information ML CFA; see docs/performance.md)"
        )
    result = validate_chunked(
        expand_inputs(list(inputs)),
        spec,
        chunk_rows=chunk_rows,
        seed=given["seed"],
        n_factors=given["n_factors"],
        rotation=None if given["rotation"] == "none" else given["rotation"],
        fm=given["fm"],
        rename=read_rename(given["rename_path"]),
        platform=given["platform"],
    )
    paths = write_chunked_outputs(result, output_dir(out))
    if not quiet:
        label = "SYNTHETIC DATA: " if result.synthetic else ""
        click.echo(
            f"{label}{result.n_used} of {result.n_read} rows analysed in {result.n_chunks} "
            f"chunks ({result.n_rejected} rejected by the checks); split-half on a random "
            f"subsample of {result.subsample_size}."
        )
        for step in result.steps.itertuples():
            if step.status != "ok":
                click.echo(f"  {step.step}: {step.status} - {step.reason}")
        click.echo(f"json: {paths['json']}")
