"""``mhdq longitudinal``: waves of the same people -> report.html, tables.xlsx, results.json."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.cli.options import instrument_option, open_instrument, output_dir
from analysis.cli.waves_input import parse_wave_of
from instrument.errors import UsageError


def _split(text: str | None, option: str, *, exactly: int | None = None) -> list[str] | None:
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",") if p.strip()]
    if not parts or (exactly is not None and len(parts) != exactly):
        wanted = f"{exactly} comma-separated names" if exactly else "comma-separated names"
        raise UsageError(f"{option} {text!r}: expected {wanted}")
    return parts


def _substantive(pp, spec, items: list[str]):
    """The items' substantive answer codes (not-applicable, missing and unknown codes blank)."""
    import numpy as np
    import pandas as pd

    out = {}
    for item_id in dict.fromkeys(items):
        if item_id not in pp.columns:
            out[item_id] = pd.Series(np.nan, index=pp.index)
            continue
        codes = [float(c) for c in spec.response_scales[spec.item(item_id).response_scale].codes]
        values = pd.to_numeric(pp[item_id], errors="coerce").astype("float64")
        out[item_id] = values.where(values.isin(codes))
    return pd.DataFrame(out, index=pp.index)


@click.command("longitudinal")
@click.argument("input_file", metavar="[INPUT]", required=False)
@instrument_option
@click.option(
    "--wave",
    "wave_column",
    metavar="COLUMN",
    default=None,
    help="Column of INPUT holding the wave (one file with every wave).",
)
@click.option(
    "--wave-of",
    "wave_of",
    metavar="FILE=LABEL",
    multiple=True,
    help="One file per wave, in wave order "
    "(repeat: --wave-of t0.csv=baseline --wave-of t6.csv=6m).",
)
@click.option(
    "--date", "date_column", metavar="COLUMN", default=None, help="Column of response dates."
)
@click.option(
    "--id-column",
    default="respondent_id",
    show_default=True,
    metavar="COLUMN",
    help="Column identifying a respondent in every wave.",
)
@click.option(
    "--waves", default=None, metavar="A,B,...", help="Wave labels in order (with --wave)."
)
@click.option(
    "--retest",
    default=None,
    metavar="FIRST,SECOND",
    help="Waves compared for test-retest and individual change. Default: the first two.",
)
@click.option(
    "--scales", default=None, metavar="A,B,...", help="Scales to analyse. Default: every scale."
)
@click.option(
    "--group",
    "group_column",
    metavar="COLUMN",
    default=None,
    help="Background column to compare groups on at the first wave (e.g. fellowship).",
)
@click.option(
    "--scalar-invariance",
    type=click.Choice(["yes", "no", "unknown"]),
    default="unknown",
    show_default=True,
    help="Whether scalar invariance across --group was shown (mhdq validate --group-by); "
    "the report says when means are compared without it.",
)
@click.option(
    "--invariance/--no-invariance",
    default=True,
    show_default=True,
    help="Test longitudinal measurement invariance of each scale across the waves (FIML; "
    "seconds per scale).",
)
@click.option(
    "--repeated-outcome",
    default=None,
    metavar="COLUMN",
    help="0/1 column answered at each wave (e.g. attended): logistic GEE on the scale scores.",
)
@click.option(
    "--gee-correlation",
    type=click.Choice(["exchangeable", "ar1", "independence"]),
    default="exchangeable",
    show_default=True,
    help="Working correlation of --repeated-outcome within members (ar1: by wave position).",
)
@click.option(
    "--ci-level",
    type=click.FloatRange(0.5, 0.999),
    default=0.95,
    show_default=True,
    help="Level of every interval.",
)
@click.option(
    "--platform",
    default=None,
    metavar="NAME",
    help="Force the input format: csv, tsv, xlsx, kobo, redcap, qualtrics, spss, parquet, "
    "mhdq_workbook.",
)
@click.option(
    "--out",
    "out",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for report.html, tables.xlsx, results.json, person_period.csv and problems.csv.",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing on success.")
def command(
    input_file,
    instrument_path,
    wave_column,
    wave_of,
    date_column,
    id_column,
    waves,
    retest,
    scales,
    group_column,
    scalar_invariance,
    invariance,
    repeated_outcome,
    gee_correlation,
    ci_level,
    platform,
    out,
    quiet,
):
    """Waves of the same people: retention, means, test-retest, change, groups.

    Read one INPUT with a --wave column, or one file per wave with --wave-of FILE=LABEL; link
    respondents across waves by --id-column; write the person-period table with scale scores
    (person_period.csv), the linkage problems (problems.csv) and report.html, tables.xlsx and
    results.json (aggregated results only: no identifiers).
    """
    import matplotlib

    matplotlib.use("Agg")
    import pandas as pd

    from analysis.report.longitudinal import write_longitudinal_outputs
    from analysis.study.longitudinal import longitudinal_study
    from instrument.hypotheses import hypotheses_of
    from instrument.io.write import write_problems, write_table
    from instrument.read import PLATFORMS
    from instrument.score import score_items
    from instrument.waves import read_waves

    if platform is not None and platform.strip().lower() not in (*PLATFORMS, "tsv"):
        raise UsageError(
            f"--platform {platform!r}: unknown; allowed: {', '.join((*PLATFORMS, 'tsv'))}"
        )
    if wave_of and (input_file or wave_column):
        raise UsageError("give either INPUT with --wave COLUMN, or --wave-of FILE=LABEL (not both)")
    if not wave_of and not (input_file and wave_column):
        raise UsageError("give INPUT with --wave COLUMN, or one --wave-of FILE=LABEL per wave")
    if wave_of and waves:
        raise UsageError("--waves applies to --wave; with --wave-of the order is that of the files")
    spec = open_instrument(instrument_path)
    scale_ids = _split(scales, "--scales") or [s.id for s in spec.scales]
    for scale_id in scale_ids:
        try:
            spec.scale(scale_id)
        except KeyError as exc:
            raise UsageError(f"--scales: {exc.args[0]}") from None
    retest_pair = _split(retest, "--retest", exactly=2)
    folder = output_dir(out)
    if wave_of:
        table = read_waves(
            parse_wave_of(wave_of), spec, date=date_column, id_column=id_column, platform=platform
        )
    else:
        table = read_waves(
            input_file,
            spec,
            wave=wave_column,
            date=date_column,
            id_column=id_column,
            waves=_split(waves, "--waves"),
            platform=platform,
        )
    pp = table.person_period
    unknown = [w for w in retest_pair or [] if w not in table.waves]
    if unknown:
        raise UsageError(
            f"--retest: wave(s) {', '.join(unknown)} not found; waves: {', '.join(table.waves)}"
        )
    scored = score_items(pp[list(table.item_columns)], spec, scales=scale_ids)
    keep = [c for c in pp.columns if c not in table.item_columns]
    frame = pd.concat([pp[keep], scored[scale_ids]], axis=1)
    synthetic = "synthetic" in pp.columns and bool(
        pp["synthetic"].astype(str).str.lower().eq("synthetic").any()
    )
    if group_column is not None and group_column not in frame.columns:
        raise UsageError(
            f"--group {group_column!r}: not a background column of the data; columns: "
            f"{', '.join(table.background_columns) or 'none'}"
        )
    if repeated_outcome is not None and repeated_outcome not in frame.columns:
        raise UsageError(
            f"--repeated-outcome {repeated_outcome!r}: not a column of the data; columns: "
            f"{', '.join(table.background_columns) or 'none'}"
        )
    answers = _substantive(pp, spec, [i for sc in scale_ids for i in spec.scale_items(sc)])
    results = longitudinal_study(
        frame,
        scales=scale_ids,
        date="date" if date_column else None,
        waves=list(table.waves),
        retest_waves=tuple(retest_pair) if retest_pair else None,
        group=group_column,
        scalar_invariance={"yes": True, "no": False}.get(scalar_invariance),
        hypotheses=hypotheses_of(spec),
        problems=table.problems_frame(),
        synthetic=synthetic,
        ci_level=ci_level,
        item_responses=pd.concat([pp[["respondent_id", "wave"]], answers], axis=1)
        if invariance
        else None,
        scale_items={sc: list(spec.scale_items(sc)) for sc in scale_ids},
        repeated_outcome=repeated_outcome,
        gee_correlation=gee_correlation,
    )
    paths = write_longitudinal_outputs(
        results,
        folder,
        provenance={
            "instrument": spec.metadata.name,
            "instrument_version": spec.version,
            "instrument_fingerprint": spec.fingerprint,
            "files": [Path(s).name for s in table.sources],
        },
    )
    write_table(frame, folder / "person_period.csv")
    write_problems(table.problems, folder / "problems.csv")
    if not quiet:
        label = "SYNTHETIC DATA: " if synthetic else ""
        counts = ", ".join(
            f"{w} {n}" for w, n in zip(table.waves, table.summary()["n_rows"], strict=True)
        )
        click.echo(
            f"{label}{len(pp)} person-waves read ({counts}); {len(table.problems)} problem(s)."
        )
        for note in results.notes:
            click.echo(f"  {note}")
        for kind in ("html", "xlsx", "json"):
            click.echo(f"{kind}: {paths[kind]}")
        click.echo(f"person-period table: {folder / 'person_period.csv'}")
