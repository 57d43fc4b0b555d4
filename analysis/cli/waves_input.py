"""``--wave COLUMN`` / ``--wave-of FILE=LABEL``: the wave options shared by ``mhdq score``,
``mhdq validate`` and ``mhdq longitudinal``, read with :func:`instrument.waves.read_waves`."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from instrument.errors import UsageError

__all__ = ["parse_wave_of", "read_wave_inputs", "score_waves", "wave_options"]


def parse_wave_of(values: tuple[str, ...] | list[str]) -> list[tuple[str, str]]:
    """``FILE=LABEL`` values as (file, label) pairs, in the order given."""
    pairs = []
    for value in values:
        path, sep, label = value.rpartition("=")
        if not sep or not path.strip() or not label.strip():
            raise UsageError(
                f"--wave-of {value!r}: write FILE=LABEL, e.g. --wave-of t0.csv=baseline"
            )
        pairs.append((path.strip(), label.strip()))
    labels = [label for _, label in pairs]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise UsageError(f"--wave-of: wave label(s) {', '.join(twice)} given to more than one file")
    return pairs


def wave_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--wave``, ``--wave-of`` and ``--id-column`` to a command."""
    command = click.option(
        "--id-column",
        "wave_id_column",
        default="respondent_id",
        show_default=True,
        metavar="COLUMN",
        help="With --wave/--wave-of: column identifying a respondent in every wave.",
    )(command)
    command = click.option(
        "--wave-of",
        "wave_of",
        metavar="FILE=LABEL",
        multiple=True,
        help="One file per wave, in wave order (repeat: --wave-of t0.csv=baseline "
        "--wave-of t6.csv=6m); respondents are linked across waves by --id-column.",
    )(command)
    command = click.option(
        "--wave",
        "wave_column",
        metavar="COLUMN",
        default=None,
        help="Column of INPUT holding the wave (one file with every wave).",
    )(command)
    return command


def read_wave_inputs(
    inputs: tuple[str, ...] | list[str],
    wave_column: str | None,
    wave_of: tuple[str, ...] | list[str],
    instrument,
    *,
    id_column: str = "respondent_id",
    platform: str | None = None,
    rename: dict | None = None,
    recode: dict | None = None,
):
    """The :class:`~instrument.waves.WaveTable` the wave options ask for, or None without them."""
    from instrument.waves import read_waves

    if not wave_column and not wave_of:
        if id_column != "respondent_id":
            raise UsageError("--id-column applies with --wave or --wave-of")
        return None
    if wave_of and (inputs or wave_column):
        raise UsageError("give either INPUT with --wave COLUMN, or --wave-of FILE=LABEL (not both)")
    if wave_column:
        if len(inputs) != 1:
            raise UsageError(
                f"--wave {wave_column}: give one INPUT file holding every wave (got {len(inputs)})"
            )
        return read_waves(
            inputs[0],
            instrument,
            wave=wave_column,
            id_column=id_column,
            platform=platform,
            rename=rename,
            recode=recode,
        )
    return read_waves(
        parse_wave_of(wave_of),
        instrument,
        id_column=id_column,
        platform=platform,
        rename=rename,
        recode=recode,
    )


def score_waves(
    table,
    instrument,
    out: str | Path,
    *,
    problems_path: str | Path | None = None,
    strict: bool = False,
    impute: str = "none",
) -> tuple[Path | None, Path, Any]:
    """Check and score every wave of ``table``; write the scores and the problem list.

    The scores hold ``respondent_id, wave, wave_index, source_file, source_row`` (and
    ``synthetic`` when present), one column per scale and ``<scale>_n``. Answers are checked
    as in a one-file run (:func:`instrument.check.check_responses`, per wave); with
    ``impute="median"`` the medians are each wave's own. The problem list holds the readers',
    the checks' and the linkage problems (ids in a later wave only, duplicated ids within a
    wave, dates out of order). With ``strict`` and any error, no scores are written.

    Returns
    -------
    (scores path or None, problems path, checked summary DataFrame per wave)
    """
    import pandas as pd

    from instrument.check import check_responses
    from instrument.io.write import write_problems, write_table
    from instrument.score import score_items

    out = Path(out)
    problems = list(table.problems)
    known = {id(p) for p in problems}
    parts = []
    counts = []
    for label in table.waves:
        checked = check_responses(table.responses(label), instrument)
        problems.extend(p for p in checked.problems if id(p) not in known)
        rows = table.wave(label).reset_index(drop=True)
        keep = ~checked.rejected.to_numpy(dtype=bool)
        scores = score_items(
            checked.codes[keep],
            instrument,
            not_applicable=checked.not_applicable[keep],
            impute=impute,
            trusted=True,
        )
        lead = [c for c in ("respondent_id", "wave", "wave_index", "date") if c in rows.columns]
        lead += ["source_file", "source_row"]
        if "synthetic" in rows.columns:
            lead.append("synthetic")
        base = rows.loc[keep, lead].reset_index(drop=True)
        parts.append(pd.concat([base, scores.reset_index(drop=True)], axis=1))
        counts.append({"wave": label, "n_read": len(rows), "n_scored": int(keep.sum())})
    problems_file = (
        Path(problems_path) if problems_path else out.with_name(f"{out.stem}.problems.csv")
    )
    write_problems(problems, problems_file)
    n_errors = sum(1 for p in problems if p.severity == "error")
    written = None
    if not (strict and n_errors):
        frame = pd.concat(parts, ignore_index=True)
        frame["wave"] = frame["wave"].astype(str)
        written = write_table(frame, out)
    return written, problems_file, pd.DataFrame(counts)
