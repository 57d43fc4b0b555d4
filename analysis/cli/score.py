"""``mhdq score``: check and score response files in bulk (streamed, parallel, atomic output)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from analysis.cli.options import instrument_option, lang_option, open_instrument, quiet_option
from analysis.cli.waves_input import read_wave_inputs, score_waves, wave_options
from instrument.errors import UsageError


def read_rename(path: str | None) -> dict[str, str] | None:
    """A rename map from YAML (``{file column: item id}``) or CSV (two columns: from, to)."""
    if path is None:
        return None
    data = _read_map(path, "--rename")
    if isinstance(data, list):  # CSV rows
        return {row[0]: row[1] for row in data}
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise UsageError(
            f"--rename {path}: must map file column names to item or question ids (text to text)"
        )
    return data


def read_recode(path: str | None) -> dict[str, dict[Any, int]] | None:
    """A recode map from YAML (``{item id or "*": {value: code}}``) or CSV (column, value, code)."""
    if path is None:
        return None
    data = _read_map(path, "--recode")
    if isinstance(data, list):
        out: dict[str, dict[Any, int]] = {}
        for row in data:
            if len(row) != 3:
                raise UsageError(f"--recode {path}: each CSV row must hold column, value, code")
            try:
                code = int(row[2])
            except ValueError:
                raise UsageError(
                    f"--recode {path}: code {row[2]!r} of {row[0]} is not a whole number"
                ) from None
            out.setdefault(row[0], {})[row[1]] = code
        return out
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise UsageError(f'--recode {path}: must map item ids (or "*") to {{value: code}} mappings')
    return data


def _read_map(path: str, option: str):
    import csv

    import yaml

    file = Path(path)
    if not file.is_file():
        raise UsageError(f"{option} {path}: file not found")
    text = file.read_text(encoding="utf-8-sig")
    if file.suffix.lower() == ".csv":
        rows = [
            row
            for row in csv.reader(text.splitlines())
            if row and any(cell.strip() for cell in row)
        ]
        if rows and rows[0][0].strip().lower() in ("from", "column", "source"):
            rows = rows[1:]
        return [[cell.strip() for cell in row] for row in rows]
    if file.suffix.lower() not in (".yaml", ".yml"):
        raise UsageError(f"{option} {path}: must be a .yaml or .csv file")
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise UsageError(f"{option} {path}: not valid YAML ({str(exc).splitlines()[0]})") from None


class RowTotal:
    """The progress total of ``mhdq score``: the files' estimated rows, corrected as they are read.

    A file's row count is estimated from its size before reading; once more rows than that have
    been read from it, its estimate becomes the rows read so far, so the bar never shows more
    rows done than its total ("200000/199022"), and at the end the total is the rows read.
    """

    def __init__(self, estimates: dict[str, int | None]):
        self.estimates = dict(estimates)
        self.read: dict[str, int] = dict.fromkeys(estimates, 0)

    def add(self, rows: int, file: str) -> None:
        self.read[file] = self.read.get(file, 0) + rows
        known = self.estimates.get(file)
        if known is not None and self.read[file] > known:
            self.estimates[file] = self.read[file]

    @property
    def completed(self) -> int:
        return sum(self.read.values())

    @property
    def total(self) -> int | None:
        if any(e is None for e in self.estimates.values()):
            return None
        return max(sum(e for e in self.estimates.values() if e is not None), self.completed)

    def finish(self) -> None:
        """Every file is read: the total is the rows read."""
        self.estimates = dict(self.read)


@contextmanager
def progress_bar(files: list[Path], quiet: bool) -> Iterator[Any]:
    """A rich progress bar on stderr (rows read), or None when quiet or stderr is not a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from instrument.batch.pipeline import estimate_rows

    rows = RowTotal({str(p): estimate_rows(p) for p in files})
    progress = Progress(
        TextColumn("[bold]scoring"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )

    def count() -> str:
        total = rows.total
        if total is None:
            return f"{rows.completed:,} rows"
        return f"{rows.completed:,} of {'~' if rows.completed < total else ''}{total:,} rows"

    with progress:
        task = progress.add_task("scoring", total=rows.total, count=count())

        def advance(n: int, file: str) -> None:
            rows.add(n, file)
            progress.update(task, completed=rows.completed, total=rows.total, count=count())

        yield advance
        rows.finish()
        progress.update(task, completed=rows.completed, total=rows.total, count=count())


@contextmanager
def terminate_as_interrupt() -> Iterator[None]:
    """Treat SIGTERM as Ctrl-C while scoring, so a terminated run removes its temporary files
    (as an interrupted one does) instead of leaving them behind."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(signum, frame):
        raise KeyboardInterrupt("terminated (SIGTERM)")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def echo_summary(result, *, strict: bool, quiet: bool) -> None:
    """Print the row accounting and the problem counts (to stdout; errors to stderr)."""
    reasons = result.reasons or ("",) * len(result.unreadable)
    for path, reason in zip(result.unreadable, reasons, strict=True):
        click.echo(f"Error: could not read {path}: {reason or 'see the problem list'}", err=True)
    if quiet:
        return
    marker = "SYNTHETIC data: " if result.synthetic else ""
    rows = "row" if result.n_skipped == 1 else "rows"
    skipped = f" ({result.n_skipped:,} empty {rows} skipped)" if result.n_skipped else ""
    click.echo(
        f"{marker}rows read {result.n_read:,} = scored {result.n_scored:,} + rejected "
        f"{result.n_rejected:,}{skipped}"
    )
    summary = result.summary()
    if len(summary):
        counts = ", ".join(f"{r.rule} ({r.severity}) {r.n:,}" for r in summary.itertuples())
        click.echo(f"problems by rule: {counts}")
    else:
        click.echo("problems by rule: none")
    if result.output is not None:
        click.echo(f"scores: {result.output}")
    elif strict and result.n_errors:
        click.echo(
            f"strict: {result.n_errors:,} error(s) found, so no scores were written", err=True
        )
    elif result.problems_path is not None:  # a scoring run (norms write no scores file)
        click.echo("no row could be scored, so no scores file was written", err=True)
    if result.problems_path is not None:
        click.echo(f"problems: {result.problems_path}")


@click.command("score")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@instrument_option
@click.option(
    "--out", required=True, metavar="FILE", help="Scores file: .csv, .parquet, .xlsx or .sav."
)
@click.option(
    "--problems",
    "problems_path",
    default=None,
    metavar="FILE",
    help="Problem list (default: <out stem>.problems.csv).",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Write no scores (only the problem list) and exit 1 if any error is found.",
)
@click.option(
    "--norms",
    "norms_path",
    default=None,
    metavar="NORMS.json",
    help="Add z, T and percentile columns from a norms file (mhdq norms).",
)
@click.option(
    "--irt-params",
    "irt_params_path",
    default=None,
    metavar="IRT.json",
    help="Add IRT trait scores (EAP) and their SEs per scale from item parameters saved by mhdq "
    "validate (irt_params.json); refused for another instrument version.",
)
@click.option(
    "--impute",
    type=click.Choice(["none", "median"]),
    default="none",
    show_default=True,
    help="Replace unanswered items by the item median before scoring (as psych::scoreItems).",
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
    help="Flag respondents who took less than S seconds (where a duration column exists).",
)
@click.option(
    "--engine",
    type=click.Choice(["local", "dask"]),
    default="local",
    show_default=True,
    help="local: processes on this machine; dask: a dask.distributed cluster (mhdq[dask]).",
)
@click.option(
    "--scheduler",
    default=None,
    metavar="ADDRESS",
    help="dask scheduler address (default: a local cluster).",
)
@click.option(
    "--jobs",
    type=int,
    default=None,
    metavar="N",
    help="Parallel workers (default: the number of cores).",
)
@click.option(
    "--chunk-rows",
    type=int,
    default=100_000,
    show_default=True,
    metavar="N",
    help="Rows read and scored at a time for CSV and Parquet.",
)
@wave_options
@lang_option
@quiet_option
def command(
    inputs,
    instrument_path,
    out,
    problems_path,
    strict,
    norms_path,
    irt_params_path,
    impute,
    rename_path,
    recode_path,
    min_seconds,
    engine,
    scheduler,
    jobs,
    chunk_rows,
    wave_column,
    wave_of,
    wave_id_column,
    lang,
    quiet,
) -> None:
    """Check and score response files.

    INPUT may be files, glob patterns and folders (searched recursively). Writes the scores of
    every row that can be scored (respondent_id, source_file, source_row, one column per scale
    and the number of items answered) and a problem list with every problem found. Prints
    rows read = rows scored + rows rejected (rows holding nothing but an id are skipped, each
    with an empty_row_skipped record, and counted apart), and the problems by rule. Simulated
    input (a synthetic column) keeps that column in the scores and is called SYNTHETIC.

    Waves: INPUT with --wave COLUMN, or --wave-of FILE=LABEL per wave, are read in memory and
    linked by --id-column; the scores get wave and wave_index columns and the problem list the
    linkage problems (ids in a later wave only, an id twice within a wave, dates out of order).
    With --irt-params, each calibrated scale adds <scale>_theta (EAP on the answers given, not
    imputed) and <scale>_theta_se.
    """
    from instrument.batch.pipeline import expand_inputs, run_batch
    from instrument.norms import NormTable

    if not inputs and not wave_of:
        raise UsageError("give at least one INPUT file, pattern or folder")
    if jobs is not None and jobs < 1:
        raise UsageError(f"--jobs: must be 1 or more, got {jobs}")
    if chunk_rows < 1:
        raise UsageError(f"--chunk-rows: must be 1 or more, got {chunk_rows}")
    if min_seconds is not None and min_seconds < 0:
        raise UsageError(f"--min-seconds: must be zero or more, got {min_seconds:g}")
    if scheduler and engine != "dask":
        raise UsageError("--scheduler is only used with --engine dask")
    instrument = open_instrument(instrument_path)
    if lang is not None:
        try:
            instrument.check_language(lang)
        except ValueError as exc:
            raise UsageError(f"--lang: {str(exc).split(':', 1)[1].strip()}") from None
    norms = NormTable.load(norms_path, instrument=instrument) if norms_path else None
    scorers: tuple[Any, ...] = ()
    if irt_params_path:
        from analysis.study.irt import load_irt_parameters

        scorers = (load_irt_parameters(irt_params_path, instrument=instrument),)
    rename = read_rename(rename_path)
    recode = read_recode(recode_path)
    if (wave_column or wave_of) and (norms_path or min_seconds is not None or engine != "local"):
        raise UsageError(
            "--norms, --min-seconds and --engine dask are not available with --wave/--wave-of"
        )
    waves = read_wave_inputs(
        inputs,
        wave_column,
        wave_of,
        instrument,
        id_column=wave_id_column,
        rename=rename,
        recode=recode,
    )
    if waves is not None:
        written, problems_file, counts = score_waves(
            waves, instrument, out, problems_path=problems_path, strict=strict, impute=impute
        )
        if not quiet:
            for row in counts.itertuples():
                click.echo(f"wave {row.wave}: rows read {row.n_read:,}, scored {row.n_scored:,}")
            click.echo(f"scores: {written}" if written else "strict: errors found, no scores")
            click.echo(f"problems: {problems_file}")
        if written is None:
            sys.exit(1)
        return
    files = expand_inputs(list(inputs))
    with terminate_as_interrupt(), progress_bar(files, quiet) as advance:
        result = run_batch(
            [*files],
            instrument,
            out,
            problems_path=problems_path,
            strict=strict,
            impute=impute,
            norms=norms,
            min_seconds=min_seconds,
            rename=rename,
            recode=recode,
            jobs=jobs,
            chunk_rows=chunk_rows,
            engine=engine,
            scheduler=scheduler,
            lang=lang,
            progress=advance,
            item_scorers=scorers,
        )
    echo_summary(result, strict=strict, quiet=quiet)
    if result.unreadable or (strict and result.n_errors):
        sys.exit(1)
