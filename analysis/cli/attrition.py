"""``mhdq attrition``: who leaves the group and when - fit a prediction model, or predict with one."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import click

from analysis.cli.options import format_option, instrument_option, open_instrument, output_dir
from instrument.errors import DataError, UsageError

if TYPE_CHECKING:  # pandas is imported when a command runs, not when the CLI starts
    import pandas as pd

READABLE = (".csv", ".xlsx", ".parquet")


def read_table(path: str | Path, *, id_column: str, option: str) -> pd.DataFrame:
    """Read a CSV, XLSX or Parquet file with the ID column kept as text."""
    import pandas as pd

    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in READABLE:
        raise UsageError(
            f"{option} {path}: unknown file type {suffix!r}; allowed: {', '.join(READABLE)}"
        )
    try:
        if suffix == ".csv":
            frame = pd.read_csv(path, dtype={id_column: str}, keep_default_na=True)
        elif suffix == ".xlsx":
            frame = pd.read_excel(path, engine="calamine", dtype={id_column: str})
        else:
            frame = pd.read_parquet(path)
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        if isinstance(exc, FileNotFoundError):
            raise UsageError(f"{option} {path}: file not found") from None
        raise DataError(f"{path}: cannot be read as {suffix[1:].upper()} ({exc})") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _split(values) -> list[str]:
    out: list[str] = []
    for value in values or ():
        out += [v.strip() for v in str(value).split(",") if v.strip()]
    return out


def scores_from(
    frame,
    instrument,
    *,
    scales: list[str] | None,
    file: str = "RESPONSES",
    required: bool = True,
):
    """Check and score raw item answers through the instrument (when the file holds items).

    ``scales``: the scale columns to model; None = the themes (or every scale) found; an empty
    list = none (a model on covariates alone). With ``required=False`` finding no scale scores
    is not an error (the covariates are the model).

    Returns the frame with scale columns, the scales to model, whether scoring was done, and the
    problem records of the item check (invalid cells are blanked, as ``mhdq score`` does).
    """
    import pandas as pd

    from instrument.check import check_items
    from instrument.score import score_items

    items = [i for i in instrument.item_ids if i in frame.columns]
    scored = False
    problems: list = []
    if items:
        codes, not_applicable, problems = check_items(frame[items], instrument, file=file)
        columns = list(instrument.item_ids)
        scores = score_items(
            pd.DataFrame(codes, columns=columns, index=frame.index),
            instrument,
            not_applicable=pd.DataFrame(not_applicable, columns=columns, index=frame.index),
        )
        scale_cols = [s.id for s in instrument.scales]
        rest = frame.drop(columns=[c for c in [*items, *scale_cols] if c in frame.columns])
        frame = pd.concat([rest, scores[scale_cols]], axis=1)
        scored = True
    if scales is not None:
        chosen = scales
        if not chosen:
            return frame, [], scored, problems
    else:
        from analysis.simulate.cohort import theme_scales

        chosen = [s for s in theme_scales(instrument) if s in frame.columns]
        if not chosen:
            chosen = [s.id for s in instrument.scales if s.id in frame.columns]
    missing = [s for s in chosen if s not in frame.columns]
    if not chosen and not required:
        return frame, [], scored, problems
    if missing or not chosen:
        raise UsageError(
            f"RESPONSES: scale score column(s) {', '.join(missing) or '(none found)'} not in the "
            "file and "
            f"no item answers of {instrument.metadata.short_name} to score them from; give "
            "--scales or raw responses"
        )
    return frame, chosen, scored, problems


def _is_synthetic(*frames) -> bool:
    for frame in frames:
        if (
            "synthetic" in frame.columns
            and frame["synthetic"].astype(str).str.lower().eq("synthetic").any()
        ):
            return True
    return False


@click.group("attrition")
def command() -> None:
    """Attrition prediction: who leaves the group and when (Cox and logistic models)."""


@command.command("fit")
@click.argument("responses", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--followup",
    "followup_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Follow-up file (CSV, XLSX or Parquet) with the respondent ID (or give --attendance).",
)
@click.option(
    "--event",
    default=None,
    metavar="COL",
    help="Status column: 1 = disengaged, 0 = censored / still engaged (2 = competing outcome).",
)
@click.option(
    "--attendance",
    "attendance_path",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="Instead of --followup: meeting-attendance log (respondent ID, meeting date); dropout = the "
    "first gap of --window-days without a meeting.",
)
@click.option(
    "--meeting-date",
    default="meeting_date",
    show_default=True,
    metavar="COL",
    help="Date column of the attendance log.",
)
@click.option(
    "--window-days",
    type=click.IntRange(min=1),
    default=90,
    show_default=True,
    help="Days without a meeting that define dropout (with --attendance; 30 and 90 are common).",
)
@click.option(
    "--end-date",
    default=None,
    metavar="DATE|COL",
    help="End of observation for --attendance: one date (YYYY-MM-DD) or a column of RESPONSES.",
)
@click.option(
    "--time",
    "time_col",
    default=None,
    metavar="COL",
    help="Time to disengagement or censoring (prospective design). Without it: status design, logistic model.",
)
@click.option(
    "--id-column",
    default="respondent_id",
    show_default=True,
    help="Respondent ID column in both files.",
)
@click.option(
    "--competing",
    default=None,
    metavar="COL",
    help="0/1 column marking the competing outcome (e.g. switched group).",
)
@click.option(
    "--competing-as",
    type=click.Choice(["censored", "event"]),
    default="censored",
    show_default=True,
    help="Competing outcome as censoring (cause-specific hazard) or as disengagement.",
)
@click.option(
    "--baseline-date", default=None, metavar="COL", help="Baseline date column (RESPONSES)."
)
@click.option(
    "--followup-date", default=None, metavar="COL", help="Follow-up date column (follow-up file)."
)
@click.option(
    "--scales",
    multiple=True,
    metavar="IDS",
    help='Scale scores to model (comma separated). Default: the themes; --scales "" for none '
    "(a model on --covariates alone).",
)
@click.option(
    "--covariates",
    multiple=True,
    metavar="COLS",
    help="Covariates (comma separated), any columns of RESPONSES: background questions or "
    "others such as age,meetings_90d.",
)
@click.option(
    "--cluster",
    default=None,
    metavar="COL",
    help="Group of each respondent (meeting, fellowship) in RESPONSES: cluster-robust standard "
    "errors, as R's coxph(..., cluster = COL).",
)
@click.option(
    "--frailty",
    type=click.Choice(["gamma"]),
    default=None,
    help="With --cluster: also fit a shared gamma frailty per group, as coxph(+ frailty(COL)).",
)
@click.option(
    "--categorical",
    multiple=True,
    metavar="COLS",
    help="Covariates to dummy code (choice questions and text columns are by default).",
)
@click.option(
    "--model",
    "model_type",
    type=click.Choice(["cox", "logistic"]),
    default=None,
    help="Default: cox with --time (or dates), logistic otherwise.",
)
@click.option(
    "--horizon",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Time at which absolute risk and calibration are assessed (default: median follow-up).",
)
@click.option(
    "--time-unit",
    default="months",
    show_default=True,
    help="Unit of the times (labels; dates use it too).",
)
@click.option("--ties", type=click.Choice(["efron", "breslow"]), default="efron", show_default=True)
@click.option(
    "--penalty",
    type=click.FloatRange(min=0),
    default=0.0,
    show_default=True,
    help="Ridge penalty on standardised predictors (0 = none).",
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Bootstrap resamples.",
)
@click.option(
    "--seed", type=int, default=20240101, show_default=True, help="Bootstrap (and imputation) seed."
)
@click.option(
    "--impute",
    type=click.IntRange(min=2),
    default=None,
    metavar="M",
    help="Impute missing predictor values M times (chained equations); pool by Rubin's rules.",
)
@click.option(
    "--anticipated-r2",
    type=click.FloatRange(0, 1, min_open=True, max_open=True),
    default=None,
    help="Anticipated Cox-Snell R2 for the minimum sample size (default: 15% of its maximum).",
)
@instrument_option
@click.option(
    "--out", "out", type=click.Path(file_okay=False), required=True, help="Output folder."
)
@format_option
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def fit_command(
    responses,
    followup_path,
    event,
    attendance_path,
    meeting_date,
    window_days,
    end_date,
    time_col,
    id_column,
    competing,
    competing_as,
    baseline_date,
    followup_date,
    scales,
    covariates,
    cluster,
    frailty,
    categorical,
    model_type,
    horizon,
    time_unit,
    ties,
    penalty,
    n_boot,
    seed,
    impute,
    anticipated_r2,
    instrument_path,
    out,
    output_format,
    quiet,
):
    """Fit an attrition model: RESPONSES (raw answers or scale scores) joined to --followup.

    Writes model.json, results.json, tables.xlsx, problems.csv and report.html to --out.
    """
    import dataclasses

    from analysis.attrition.followup import dropout_from_attendance, join_followup
    from analysis.attrition.report import write_outputs
    from analysis.attrition.study import fit_attrition
    from analysis.report.html import data_hash

    if (followup_path is None) == (attendance_path is None):
        raise UsageError("give either --followup FILE (with --event) or --attendance FILE")
    if followup_path is not None and event is None:
        raise UsageError("--event: required with --followup (the status column)")
    if attendance_path is not None:
        if event or time_col or followup_date:
            raise UsageError(
                "--attendance defines the outcome itself: leave out --event, --time and "
                "--followup-date"
            )
        if baseline_date is None or end_date is None:
            raise UsageError("--attendance needs --baseline-date COL and --end-date DATE|COL")
    out_path = output_dir(out)
    spec = open_instrument(instrument_path)
    base = read_table(responses, id_column=id_column, option="RESPONSES")
    extra_problems = []
    if attendance_path is not None:
        log = read_table(attendance_path, id_column=id_column, option="--attendance")
        follow, extra_problems = dropout_from_attendance(
            log,
            base,
            end_date=end_date,
            window_days=window_days,
            id_column=id_column,
            meeting_date=meeting_date,
            baseline_date=baseline_date,
            unit=time_unit if time_unit in ("days", "weeks", "months", "years") else "months",
            attendance_file=Path(attendance_path).name,
        )
        follow = follow.rename(columns={"respondent_id": id_column})
        followup_path, event, time_col, baseline_date = attendance_path, "disengaged", "time", None
    else:
        follow = read_table(followup_path, id_column=id_column, option="--followup")
    synthetic = _is_synthetic(base, follow)
    covs = _split(covariates)
    base, scale_ids, scored, item_problems = scores_from(
        base,
        spec,
        scales=_split(scales) if scales else None,
        file=Path(responses).name,
        required=not covs,
    )
    if not scale_ids and not covs:
        raise UsageError('--scales "": no scale scores to model; give --covariates then')
    if cluster is not None and cluster not in base.columns:
        raise UsageError(f"--cluster {cluster}: no such column in RESPONSES")
    if frailty is not None and (cluster is None or model_type == "logistic"):
        raise UsageError("--frailty: needs --cluster COL and a Cox model (follow-up times)")
    cats = _split(categorical)
    choice_ids = {q.id for q in spec.background if q.type in ("single_choice", "multiple_choice")}
    cats = sorted(set(cats) | {c for c in covs if c in choice_ids})
    if (
        horizon is not None
        and time_col is None
        and baseline_date is None
        and attendance_path is None
    ):
        raise UsageError(
            "--horizon: only for time-to-event data (give --time or the two date columns)"
        )
    joined = join_followup(
        base,
        follow,
        event=event,
        time=time_col,
        id_column=id_column,
        competing=competing,
        competing_as=competing_as,
        baseline_date=baseline_date,
        followup_date=followup_date,
        unit=time_unit if time_unit in ("days", "weeks", "months", "years") else "months",
        baseline_file=Path(responses).name,
        followup_file=Path(followup_path).name,
    )
    if extra_problems or item_problems:
        joined = dataclasses.replace(
            joined, problems=[*item_problems, *extra_problems, *joined.problems]
        )
    from analysis.cli.feedback import progress_display, warning_lines

    with (
        warnings.catch_warnings(record=True) as caught,
        progress_display("fitting", quiet=quiet) as progress,
    ):
        warnings.simplefilter("always")
        analysis = fit_attrition(
            joined,
            scales=scale_ids,
            covariates=covs,
            categorical=cats,
            model=model_type,
            horizon=horizon,
            ties=ties,
            penalty=penalty,
            n_boot=n_boot,
            seed=seed,
            anticipated_r2=anticipated_r2,
            time_unit=time_unit,
            cluster=cluster,
            frailty=frailty,
            impute=impute,
            progress=progress,
        )
    inputs = {
        "responses": Path(responses).name,
        "followup": Path(followup_path).name,
        "dropout_definition": (
            f"no meeting for {window_days} days (attendance log)"
            if attendance_path
            else f"status column {event}"
        ),
        "scored_from_items": scored,
        "responses_hash": data_hash(base),
        "followup_hash": data_hash(follow),
    }
    paths = write_outputs(analysis, out_path, instrument=spec, inputs=inputs, synthetic=synthetic)
    for line in warning_lines([w for w in caught if issubclass(w.category, UserWarning)]):
        click.echo(line, err=True)
    if not quiet:
        from rich.console import Console

        _echo_table(analysis.effects, output_format)
        summary = (
            f"{'SYNTHETIC DATA. ' if synthetic else ''}{analysis.model_type} model: "
            f"n = {analysis.model.n_obs_}, events = {analysis.model.n_events_}"
            + (
                f", SEs robust to clustering by {cluster} ({analysis.options['n_clusters']} groups)"
                if cluster
                else ""
            )
            + (
                f", shared {frailty} frailty variance theta = {analysis.frailty.theta_:.4g}"
                if analysis.frailty is not None
                else ""
            )
            + (f", pooled over {impute} imputations" if impute else "")
            + f", {len(analysis.problems)} problem record(s). "
            f"Wrote {', '.join(p.name for p in paths.values())} to {out_path}"
        )
        Console(stderr=output_format != "table", soft_wrap=False).print(
            "\n" + summary, markup=False, highlight=False
        )


def format_p(p: float) -> str:
    """p as APA style prints it: three decimals without the leading zero, "< .001" below.

    Examples
    --------
    >>> format_p(0.00002), format_p(0.0437), format_p(1.0)
    ('< .001', '.044', '1.000')
    """
    if p != p:  # NaN
        return ""
    if p < 0.001:
        return "< .001"
    return f"{p:.3f}".replace("0.", ".", 1) if p < 1 else f"{p:.3f}"


def _echo_table(frame, output_format: str) -> None:
    if output_format == "json":
        click.echo(frame.reset_index().to_json(orient="records", indent=2))
    elif output_format == "csv":
        click.echo(frame.to_csv(), nl=False)
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        # the key columns only (results.json and tables.xlsx keep every column, full precision):
        # term, log ratio, SE, p, ratio with its interval, and the ratio per SD
        ratio = next(c for c in ("hazard_ratio", "odds_ratio") if c in frame.columns)
        per_sd = f"{ratio}_per_sd"
        table = Table(box=None, pad_edge=False, header_style="bold")
        for name in ("term", "estimate", "se", "p", ratio, "CI", "per SD"):
            table.add_column(name, justify="left" if name == "term" else "right")
        for term, row in frame.iterrows():
            level = int(round(100 * float(row.get("ci_level", 0.95))))
            table.columns[5].header = f"{level}% CI"
            table.add_row(
                escape(str(term)),
                f"{row['estimate']:.3f}",
                f"{row['se']:.3f}",
                format_p(float(row["p"])),
                f"{row[ratio]:.2f}",
                f"{row['ci_low']:.2f} to {row['ci_high']:.2f}",
                "" if row[per_sd] != row[per_sd] else f"{row[per_sd]:.2f}",
            )
        Console(soft_wrap=False).print(table)


@command.command("predict")
@click.argument("model", type=click.Path(exists=True, dir_okay=False))
@click.argument("responses", type=click.Path(exists=True, dir_okay=False))
@click.option(
    "--horizon",
    type=click.FloatRange(min=0, min_open=True),
    default=None,
    help="Time by which the risk of disengaging is predicted (Cox models; required for them).",
)
@click.option(
    "--cumulative-incidence",
    "cif_times",
    default=None,
    metavar="TIMES",
    help="Also predict how many leave for each reason by these times (e.g. 3,6,12; Fine-Gray).",
)
@click.option(
    "--id-column",
    default="respondent_id",
    show_default=True,
    help="Respondent ID column of RESPONSES, copied to the predictions.",
)
@instrument_option
@click.option(
    "--out",
    "out",
    type=click.Path(dir_okay=False),
    required=True,
    help="Predictions file (.csv or .xlsx).",
)
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def predict_command(model, responses, horizon, cif_times, id_column, instrument_path, out, quiet):
    """Predict each respondent's risk of disengaging by --horizon with a saved MODEL."""
    import numpy as np
    import pandas as pd

    from analysis.attrition.model_io import load_model
    from instrument.io.security import neutralise

    saved = load_model(model)
    out = Path(out)
    if out.suffix.lower() not in (".csv", ".xlsx"):
        raise UsageError(f"--out {out}: predictions are written as .csv or .xlsx")
    if not out.parent.exists():
        raise UsageError(f"--out {out}: the folder {out.parent} does not exist")
    spec = open_instrument(instrument_path)
    saved.check_instrument(spec)
    times = None
    if cif_times is not None:
        try:
            times = [float(t) for t in _split([cif_times])]
        except ValueError:
            raise UsageError(
                f"--cumulative-incidence {cif_times}: give times separated by commas, e.g. 3,6,12"
            ) from None
        if not times:
            raise UsageError("--cumulative-incidence: give at least one time, e.g. 3,6,12")
        if not saved.fine_gray:
            raise UsageError(
                "--cumulative-incidence: this model was fitted without a competing outcome; "
                "refit with attrition fit --competing COL to predict how many leave for each "
                "reason"
            )
    if saved.model_type == "cox" and horizon is None:
        raise UsageError(
            "--horizon: required with a Cox model (risk of disengaging by which time?)"
        )
    if saved.model_type == "logistic":
        fitted_horizon = saved.options.get("horizon")
        if horizon is not None and (fitted_horizon is None or abs(horizon - fitted_horizon) > 1e-9):
            where = (
                f"by {fitted_horizon:g} {saved.options.get('time_unit', '')}".rstrip()
                if fitted_horizon
                else "at the follow-up it was fitted on"
            )
            raise UsageError(
                f"--horizon: this logistic model predicts disengagement {where} only; "
                "fit a Cox model to predict for other horizons"
            )
        horizon = fitted_horizon
    frame = read_table(responses, id_column=id_column, option="RESPONSES")
    if id_column not in frame.columns:
        raise DataError(f"{Path(responses).name}: no ID column {id_column!r}")
    frame, _, _, item_problems = scores_from(
        frame,
        spec,
        scales=list(saved.design.scales),
        file=Path(responses).name,
        required=bool(saved.design.scales),
    )
    risk = saved.predict_risk(frame, horizon)
    result = pd.DataFrame(
        {
            "respondent_id": frame[id_column].astype(str).map(neutralise),
            "risk": risk.to_numpy(),
            "horizon": horizon if horizon is not None else np.nan,
            "linear_predictor": saved.linear_predictor(frame).to_numpy(),
        }
    )
    if times is not None:
        try:
            cif = saved.predict_cumulative_incidence(frame, times)
        except ValueError as exc:
            raise UsageError(f"--cumulative-incidence: {exc}") from None
        result = pd.concat([result, cif.reset_index(drop=True)], axis=1)
    if saved.synthetic:  # predictions from a model fitted on synthetic data are synthetic
        result["synthetic"] = "synthetic"
    if out.suffix.lower() == ".csv":
        from instrument.io.write import atomic_path

        with atomic_path(out) as temp:
            result.to_csv(temp, index=False)
    else:
        from analysis.report.html import write_tables_xlsx

        write_tables_xlsx(
            {"predictions": result},
            out,
            digits=4,
            notes={"predictions": "SYNTHETIC DATA."} if saved.synthetic else None,
        )
    if not quiet:
        missing = int(result["risk"].isna().sum())
        click.echo(
            f"{'SYNTHETIC MODEL. ' if saved.synthetic else ''}"
            f"{len(result)} respondents, {missing} without a prediction (missing predictors), "
            f"{len(item_problems)} invalid item cell(s) left blank; wrote {out}",
            err=True,
        )
