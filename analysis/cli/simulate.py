"""``mhdq simulate``: a synthetic cohort with follow-up, from any instrument specification."""

from __future__ import annotations

from pathlib import Path

import click

from analysis.cli.options import instrument_option, open_instrument
from instrument.errors import UsageError

FORMATS = (".csv", ".xlsx", ".parquet")


def write_frame(frame, path: Path, *, note: str, instrument=None) -> Path:
    """Write a synthetic data frame as CSV, Parquet or, for responses, a filled MHDQ workbook.

    A workbook of responses is the instrument's own questionnaire workbook with the answers typed
    into its Data entry sheet (so every reader recognises it) and the note on a first sheet.
    """
    import pandas as pd

    from analysis.report.html import write_tables_xlsx
    from instrument.io.write import atomic_path

    suffix = path.suffix.lower()
    with atomic_path(path) as tmp:
        if suffix == ".csv":
            frame.to_csv(tmp, index=False)
        elif suffix == ".parquet":
            frame.astype(
                {c: "string" for c in frame.columns if frame[c].dtype == object}
            ).to_parquet(tmp, index=False)
        elif instrument is not None:
            from instrument.forms import DATA_ROWS
            from instrument.forms.workbook import fill_data_entry, write_workbook

            write_workbook(instrument, tmp, rows=max(DATA_ROWS, len(frame)))
            fill_data_entry(tmp, frame, note=note)
        else:
            write_tables_xlsx(
                {"Note": pd.DataFrame({"note": [note]}), "Data": frame}, tmp, digits=3
            )
    return path


@click.command("simulate", short_help="A SYNTHETIC cohort, or with --waves a longitudinal study.")
@instrument_option
@click.option("--n", "n", type=click.IntRange(min=10), required=True, help="Number of respondents.")
@click.option(
    "--seed", type=int, required=True, help="Random seed (the same seed gives the same cohort)."
)
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Responses file: .csv, .xlsx or .parquet (Data entry layout).",
)
@click.option(
    "--followup",
    type=click.Path(dir_okay=False),
    default=None,
    help="Follow-up file (default: <out>-followup.csv).",
)
@click.option(
    "--months",
    type=click.FloatRange(min=1),
    default=12.0,
    show_default=True,
    help="Last follow-up month.",
)
@click.option(
    "--event-rate",
    type=click.FloatRange(0, 0.95),
    default=0.4,
    show_default=True,
    help="Share disengaging before the last follow-up.",
)
@click.option(
    "--missing",
    type=click.FloatRange(0, 0.9),
    default=0.03,
    show_default=True,
    help="Share of answers missing at random.",
)
@click.option(
    "--careless",
    type=click.FloatRange(0, 0.9),
    default=0.03,
    show_default=True,
    help="Share of careless respondents.",
)
@click.option(
    "--waves",
    "waves",
    is_flag=True,
    help="A longitudinal study instead: waves at 0, 6 and 12 months (one row per member and wave, "
    "columns wave, date, group_id), drifting scores, groups, outcome types; the follow-up file "
    "then holds each member's outcome (default <out>-outcomes.csv).",
)
@click.option(
    "--groups",
    "n_groups",
    type=click.IntRange(min=1),
    default=20,
    show_default=True,
    help="Groups the members come from (each of one fellowship kind).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def command(
    instrument_path,
    n,
    seed,
    out,
    followup,
    months,
    event_rate,
    missing,
    careless,
    waves,
    n_groups,
    quiet,
):
    """Simulate a synthetic cohort with follow-up, or with --waves a longitudinal study (files
    labelled synthetic)."""
    from analysis.cli.feedback import progress_display

    with progress_display("simulating", quiet=quiet) as progress:
        _simulate(
            instrument_path,
            n,
            seed,
            out,
            followup,
            months,
            event_rate,
            missing,
            careless,
            waves,
            n_groups,
            progress or (lambda done, total, label: None),
        )


def _simulate(
    instrument_path,
    n,
    seed,
    out,
    followup,
    months,
    event_rate,
    missing,
    careless,
    waves,
    n_groups,
    progress,
):
    from analysis.simulate.cohort import simulate_cohort

    spec = open_instrument(instrument_path)
    out = Path(out)
    if out.suffix.lower() not in FORMATS:
        raise UsageError(
            f"--out {out}: unknown file type {out.suffix!r}; allowed: {', '.join(FORMATS)}"
        )
    if not out.parent.exists():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    if waves:
        progress(0, 1, f"a longitudinal study of {n:,} members")
        _study(spec, n, seed, out, followup, months, missing, n_groups)
        return
    follow_path = Path(followup) if followup else out.with_name(f"{out.stem}-followup.csv")
    if follow_path.suffix.lower() not in FORMATS:
        raise UsageError(
            f"--followup {follow_path}: unknown file type; allowed: {', '.join(FORMATS)}"
        )
    progress(0, n, f"a cohort of {n:,}: respondents drawn")
    cohort = simulate_cohort(
        spec,
        n=n,
        seed=seed,
        followup_months=months,
        event_rate=event_rate,
        missing_rate=missing,
        careless_share=careless,
        n_groups=n_groups,
        progress=lambda done, total: progress(done, total, f"a cohort of {n:,}: respondents drawn"),
    )
    note = (
        f"SYNTHETIC DATA generated by mhdq simulate (instrument {spec.metadata.short_name} "
        f"{spec.version}, n={n}, seed={seed}). Not real respondents."
    )
    progress(n, n, "writing the files")
    write_frame(cohort.responses, out, note=note, instrument=spec)
    write_frame(cohort.followup, follow_path, note=note)
    click.echo(f"{note}\nresponses: {out}\nfollow-up: {follow_path}")


def _study(spec, n, seed, out: Path, followup, months, missing, n_groups) -> None:
    from analysis.simulate.waves import simulate_study

    follow_path = Path(followup) if followup else out.with_name(f"{out.stem}-outcomes.csv")
    if follow_path.suffix.lower() not in FORMATS:
        raise UsageError(
            f"--followup {follow_path}: unknown file type; allowed: {', '.join(FORMATS)}"
        )
    wave_months = (0.0, months / 2, months)
    try:
        study = simulate_study(
            spec, n=n, seed=seed, wave_months=wave_months, missing_rate=missing, n_groups=n_groups
        )
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    note = (
        f"SYNTHETIC DATA generated by mhdq simulate --waves (instrument {spec.metadata.short_name} "
        f"{spec.version}, n={n}, seed={seed}, waves at {', '.join(f'{m:g}' for m in wave_months)} "
        "months). Not real respondents."
    )
    # long format (one row per member and wave): written as a table, not into the workbook form
    write_frame(study.responses, out, note=note)
    write_frame(study.outcomes, follow_path, note=note)
    counts = study.outcomes["outcome"].value_counts()
    click.echo(
        f"{note}\nresponses (one row per member and wave, column 'wave'): {out}\n"
        f"outcomes: {follow_path}\n" + ", ".join(f"{k} {int(v)}" for k, v in counts.items())
    )
