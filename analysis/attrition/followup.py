"""Follow-up data: the dropout definition, the join to baseline scores, and every join problem as a record.

Nothing is dropped silently: each row that cannot be analysed (an ID on one side only, a duplicate
ID,
a follow-up before baseline, a negative or missing time, an unknown status code, a missing
predictor) gets a :class:`~instrument.problems.Problem` record, and :class:`FollowupData` counts
them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis._results import Result
from instrument.problems import Problem, problems_frame, shorten

__all__ = [
    "DAYS_PER_MONTH",
    "FollowupData",
    "complete_cases",
    "dropout_from_attendance",
    "join_followup",
    "status_from_attendance",
]

DAYS_PER_MONTH = 365.25 / 12
UNITS = {"days": 1.0, "weeks": 7.0, "months": DAYS_PER_MONTH, "years": 365.25}
COMPETING_AS = ("censored", "event")


@dataclass(frozen=True, repr=False)
class FollowupData(Result):
    """Baseline scores joined to follow-up, ready for the models.

    Attributes
    ----------
    data : DataFrame
        One row per analysable respondent: ``respondent_id``, ``source_row`` (the row of the
        baseline file, header = row 1), the baseline columns, then ``time``
        (NaN in a status design), ``event`` (1 = disengaged, 0 = censored / still engaged) and
        ``competing`` (1 = the competing outcome, e.g. switched group; 0 otherwise).
    problems : list of Problem
        One record per row left out, and warnings about rows kept.
    counts : dict
        ``baseline_rows, followup_rows, matched, baseline_only, followup_only, duplicate_ids,
        invalid_followup, analysed, events, competing``.
    design : str
        ``time`` (time to disengagement with censoring) or ``status`` (disengaged yes/no).
    competing_as : str
        How the competing outcome enters the disengagement models: ``censored`` (cause-specific
        hazard; default) or ``event``.
    """

    data: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    design: str = "time"
    competing_as: str = "censored"
    baseline_file: str = "baseline"

    def summary(self) -> pd.DataFrame:
        """The flow of respondents (TRIPOD item 13a): ``step, n``."""
        return pd.DataFrame(list(self.counts.items()), columns=["step", "n"])

    def problems_frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)


def _ids(frame: pd.DataFrame, column: str, source: str) -> pd.Series:
    if column not in frame.columns:
        raise ValueError(
            f"{source}: no ID column {column!r}; columns are "
            f"{', '.join(map(str, frame.columns[:20]))}"
        )
    ids = frame[column]
    # IDs are matched as text with surrounding blanks removed ("007" stays "007")
    out = ids.astype("string").str.strip()
    return out


def _row(index_position: int | np.integer) -> int:
    return int(index_position) + 2  # header is row 1


def join_followup(
    baseline: pd.DataFrame,
    followup: pd.DataFrame,
    *,
    event: str,
    time: str | None = None,
    id_column: str = "respondent_id",
    competing: str | None = None,
    competing_as: str = "censored",
    baseline_date: str | None = None,
    followup_date: str | None = None,
    unit: str = "months",
    baseline_file: str = "baseline",
    followup_file: str = "follow-up",
) -> FollowupData:
    """Join baseline scores to follow-up by respondent ID, recording every row that cannot be used.

    Parameters
    ----------
    baseline : DataFrame
        Scale scores (and covariates) with an ID column.
    followup : DataFrame
        Follow-up data with the same ID column.
    event : str
        Column of the status: 1 = disengaged, 0 = censored or still engaged; the code 2 marks the
        competing outcome when ``competing`` is not given.
    time : str, optional
        Column of the time to disengagement or censoring (prospective design). Without it and
        without dates the design is ``status`` (retrospective, logistic models only).
    id_column : str, default "respondent_id"
    competing : str, optional
        0/1 column marking the competing outcome (e.g. switched to another group); such rows may
        also be marked as events in ``event`` (the simulator does so).
    competing_as : {"censored", "event"}, default "censored"
        ``censored``: the competing outcome censors disengagement at its time (cause-specific
        hazard); ``event``: it counts as disengagement.
    baseline_date, followup_date : str, optional
        Date columns (baseline file, follow-up file). A follow-up before baseline is an error
        record; without ``time`` the time is computed from the two dates in ``unit``.
    unit : {"days", "weeks", "months", "years"}, default "months"
        Unit of times computed from dates.
    baseline_file, followup_file : str
        Names used in problem records.

    Returns
    -------
    FollowupData

    Notes
    -----
    Problems recorded (rule names): ``duplicate_id`` (every row of an ID that appears more than
    once in either file; none of them is used), ``no_followup`` and ``no_baseline`` (an ID on one
    side only), ``followup_before_baseline``, ``missing_time``, ``negative_time``,
    ``invalid_status`` (missing or not 0/1/2).

    Examples
    --------
    >>> base = pd.DataFrame({"respondent_id": ["a", "b", "c"], "cohesion": [3.0, 4.0, 2.5]})
    >>> fu = pd.DataFrame({"respondent_id": ["a", "b", "b", "d"], "months": [6, 3, 4, 2],
    ...                    "disengaged": [1, 0, 1, 0]})
    >>> joined = join_followup(base, fu, time="months", event="disengaged")
    >>> joined.data["respondent_id"].tolist(), joined.counts["analysed"]
    (['a'], 1)
    >>> sorted({p.rule for p in joined.problems})
    ['duplicate_id', 'no_baseline', 'no_followup']
    """
    _check_join_options(
        baseline,
        followup,
        columns=(event, time, competing, followup_date, baseline_date),
        competing_as=competing_as,
        unit=unit,
        baseline_file=baseline_file,
        followup_file=followup_file,
    )
    problems: list[Problem] = []
    base_ids = _ids(baseline, id_column, baseline_file)
    fu_ids = _ids(followup, id_column, followup_file)

    base_bad = _id_problems(base_ids, baseline_file, id_column, problems)
    fu_bad = _id_problems(fu_ids, followup_file, id_column, problems)
    dup_ids = set(base_ids[base_bad].dropna()) | set(fu_ids[fu_bad].dropna())
    base_ok = ~base_bad & ~base_ids.isin(dup_ids).to_numpy()
    fu_ok = ~fu_bad & ~fu_ids.isin(dup_ids).to_numpy()
    base_set = set(base_ids[base_ok])
    fu_set = set(fu_ids[fu_ok])
    only_base = base_ok & ~base_ids.isin(fu_set).to_numpy()
    only_fu = fu_ok & ~fu_ids.isin(base_set).to_numpy()
    for pos in np.flatnonzero(only_base):
        problems.append(
            Problem(
                baseline_file,
                _row(pos),
                id_column,
                None,
                "no_followup",
                "warning",
                "no follow-up record for this respondent (lost to follow-up); not analysed",
            )
        )
    for pos in np.flatnonzero(only_fu):
        problems.append(
            Problem(
                followup_file,
                _row(pos),
                id_column,
                None,
                "no_baseline",
                "warning",
                "follow-up record without baseline responses; not analysed",
            )
        )

    # validate the follow-up rows that matched
    fu = followup.loc[fu_ok & ~only_fu].copy()
    fu_pos = np.flatnonzero(fu_ok & ~only_fu)
    fu.insert(0, "_id", fu_ids[fu_ok & ~only_fu].to_numpy())
    status = pd.to_numeric(fu[event], errors="coerce")
    bad_status = ~status.isin([0, 1, 2]).to_numpy()
    for pos, value in zip(fu_pos[bad_status], fu[event].to_numpy()[bad_status], strict=True):
        problems.append(
            Problem(
                followup_file,
                _row(pos),
                event,
                None if pd.isna(value) else shorten(value),
                "invalid_status",
                "error",
                "status must be 0 (censored / still engaged), 1 (disengaged) or 2 (competing "
                "outcome)",
            )
        )
    keep = ~bad_status
    comp = (status == 2).to_numpy()
    if competing is not None:
        cflag = pd.to_numeric(fu[competing], errors="coerce")
        bad_c = ~cflag.isin([0, 1]).to_numpy()
        for pos in fu_pos[bad_c & keep]:
            problems.append(
                Problem(
                    followup_file,
                    _row(pos),
                    competing,
                    None,
                    "invalid_status",
                    "error",
                    "competing-outcome flag must be 0 or 1",
                )
            )
        keep &= ~bad_c
        comp = comp | (cflag == 1).to_numpy()
    times = np.full(len(fu), np.nan)
    design = "status"
    if baseline_date is not None:
        elapsed, bad_date = _date_problems(
            baseline.loc[base_ok, baseline_date],
            base_ids[base_ok],
            fu,
            fu_pos,
            keep,
            followup_date=followup_date,
            followup_file=followup_file,
            problems=problems,
        )
        keep &= ~bad_date
        if time is None:
            times = elapsed / UNITS[unit]
            design = "time"
    if time is not None:
        design = "time"
        times, bad_time = _time_problems(fu, fu_pos, keep, time, followup_file, problems)
        keep &= ~bad_time
    ev = (status == 1).to_numpy() | comp
    ev = np.where(comp & (competing_as == "censored"), False, ev)
    outcome = pd.DataFrame(
        {
            "respondent_id": fu["_id"].to_numpy()[keep],
            "time": times[keep],
            "event": ev[keep].astype(int),
            "competing": comp[keep].astype(int),
        }
    )
    base = baseline.loc[base_ok].copy()
    base[id_column] = base_ids[base_ok].to_numpy()
    base = base.rename(columns={id_column: "respondent_id"})
    # A scores file from `mhdq score` carries the row in the original response file; records
    # here name rows of the baseline file itself, so its own row numbers replace that column.
    base = base.drop(columns=["source_row"], errors="ignore")
    base.insert(1, "source_row", np.flatnonzero(base_ok) + 2)
    clash = [c for c in ("time", "event", "competing") if c in base.columns]
    if clash:
        base = base.drop(columns=clash)
    data = base.merge(outcome, on="respondent_id", how="inner", validate="one_to_one").reset_index(
        drop=True
    )
    counts = {
        "baseline_rows": int(len(baseline)),
        "followup_rows": int(len(followup)),
        "duplicate_ids": int(len(dup_ids)),
        "baseline_only": int(only_base.sum()),
        "followup_only": int(only_fu.sum()),
        "matched": int(len(fu)),
        "invalid_followup": int((~keep).sum()),
        "analysed": int(len(data)),
        "events": int(data["event"].sum()),
        "competing": int(data["competing"].sum()),
    }
    return FollowupData(
        data=data,
        problems=problems,
        counts=counts,
        design=design,
        competing_as=competing_as,
        baseline_file=baseline_file,
    )


def _check_join_options(
    baseline: pd.DataFrame,
    followup: pd.DataFrame,
    *,
    columns: tuple[str | None, str | None, str | None, str | None, str | None],
    competing_as: str,
    unit: str,
    baseline_file: str,
    followup_file: str,
) -> None:
    """Refuse unknown options and columns (event, time, competing, follow-up date, baseline date)."""
    event, time, competing, followup_date, baseline_date = columns
    if competing_as not in COMPETING_AS:
        raise ValueError(
            f"competing_as: must be one of {', '.join(COMPETING_AS)}; got {competing_as!r}"
        )
    if unit not in UNITS:
        raise ValueError(f"unit: must be one of {', '.join(UNITS)}; got {unit!r}")
    for name, frame, source in (
        (event, followup, followup_file),
        (time, followup, followup_file),
        (competing, followup, followup_file),
        (followup_date, followup, followup_file),
        (baseline_date, baseline, baseline_file),
    ):
        if name is not None and name not in frame.columns:
            raise ValueError(
                f"{source}: no column {name!r}; columns are "
                f"{', '.join(map(str, frame.columns[:20]))}"
            )
    if (baseline_date is None) != (followup_date is None):
        raise ValueError("baseline_date, followup_date: give both date columns or neither")


def _id_problems(
    ids: pd.Series, source: str, id_column: str, problems: list[Problem]
) -> np.ndarray:
    """Record duplicate and missing IDs in ``problems``; returns the mask of those rows."""
    dup = ids.duplicated(keep=False).to_numpy() & ids.notna().to_numpy()
    missing = ids.isna().to_numpy() | (ids == "").fillna(True).to_numpy()
    for pos in np.flatnonzero(dup):
        problems.append(
            Problem(
                source,
                _row(pos),
                id_column,
                None,
                "duplicate_id",
                "error",
                "respondent ID appears more than once; none of its rows is used",
            )
        )
    for pos in np.flatnonzero(missing):
        problems.append(
            Problem(
                source,
                _row(pos),
                id_column,
                None,
                "missing_id",
                "error",
                "row without a respondent ID cannot be joined",
            )
        )
    return dup | missing


def _date_problems(
    baseline_dates: pd.Series,
    baseline_ids: pd.Series,
    fu: pd.DataFrame,
    fu_pos: np.ndarray,
    keep: np.ndarray,
    *,
    followup_date: str | None,
    followup_file: str,
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray]:
    """Days from baseline to follow-up, recording missing and reversed dates of kept rows.

    Returns the days and the mask of follow-up rows whose dates cannot be used.
    """
    b_dates = pd.Series(
        pd.to_datetime(baseline_dates, errors="coerce").to_numpy(),
        index=baseline_ids.to_numpy(),
    )
    f_dates = pd.to_datetime(fu[followup_date], errors="coerce")
    b_for_fu = b_dates.reindex(fu["_id"].to_numpy()).to_numpy()
    elapsed = (f_dates.to_numpy() - b_for_fu) / np.timedelta64(1, "D")
    no_date = np.isnan(elapsed)
    for pos in fu_pos[no_date & keep]:
        problems.append(
            Problem(
                followup_file,
                _row(pos),
                followup_date,
                None,
                "missing_date",
                "error",
                "baseline or follow-up date missing or not a date",
            )
        )
    before = ~no_date & (elapsed < 0)
    for pos in fu_pos[before & keep]:
        problems.append(
            Problem(
                followup_file,
                _row(pos),
                followup_date,
                None,
                "followup_before_baseline",
                "error",
                "follow-up date is before the baseline date",
            )
        )
    return elapsed, no_date | before


def _time_problems(
    fu: pd.DataFrame,
    fu_pos: np.ndarray,
    keep: np.ndarray,
    time: str,
    followup_file: str,
    problems: list[Problem],
) -> tuple[np.ndarray, np.ndarray]:
    """The follow-up times, recording missing and negative times of kept rows.

    Returns the times and the mask of follow-up rows whose time cannot be used.
    """
    times = pd.to_numeric(fu[time], errors="coerce").to_numpy(dtype=float)
    missing_t = np.isnan(times)
    for pos, value in zip(
        fu_pos[missing_t & keep], fu[time].to_numpy()[missing_t & keep], strict=True
    ):
        problems.append(
            Problem(
                followup_file,
                _row(pos),
                time,
                None if pd.isna(value) else shorten(value),
                "missing_time",
                "error",
                "time to disengagement or censoring is missing or not a number",
            )
        )
    negative = ~missing_t & (times < 0)
    for pos in fu_pos[negative & keep]:
        problems.append(
            Problem(
                followup_file,
                _row(pos),
                time,
                None,
                "negative_time",
                "error",
                "time must be zero or more",
            )
        )
    return times, missing_t | negative


def complete_cases(
    data: pd.DataFrame, columns: list[str], *, source: str = "baseline"
) -> tuple[pd.DataFrame, list[Problem]]:
    """Rows with every predictor present, and a ``missing_predictor`` record for each row left out.

    The record names the row of ``source`` from the ``source_row`` column when there is one.

    Examples
    --------
    >>> frame = pd.DataFrame({"respondent_id": ["a", "b"], "cohesion": [1.0, None]})
    >>> kept, problems = complete_cases(frame, ["cohesion"])
    >>> len(kept), problems[0].rule
    (1, 'missing_predictor')
    """
    missing = [c for c in columns if c not in data.columns]
    if missing:
        raise ValueError(
            f"{source}: predictor column(s) not found: {', '.join(missing)}; "
            f"columns are {', '.join(map(str, data.columns[:30]))}"
        )
    values = data[columns].apply(pd.to_numeric, errors="coerce")
    bad = values.isna()
    rows = (
        data["source_row"].to_numpy() if "source_row" in data.columns else np.full(len(data), None)
    )
    problems = []
    for pos in np.flatnonzero(bad.any(axis=1).to_numpy()):
        cols = [c for c in columns if bad.iloc[pos][c]]
        row = None if rows[pos] is None else int(rows[pos])
        problems.append(
            Problem(
                source,
                row,
                ", ".join(cols),
                None,
                "missing_predictor",
                "warning",
                f"no value for {', '.join(cols)}; respondent left out of the models "
                "(complete-case analysis)",
            )
        )
    kept = data.loc[~bad.any(axis=1)].copy()
    kept[columns] = values.loc[kept.index]
    return kept.reset_index(drop=True), problems


def dropout_from_attendance(
    attendance: pd.DataFrame,
    baseline: pd.DataFrame,
    *,
    end_date: str | pd.Timestamp,
    window_days: int = 90,
    id_column: str = "respondent_id",
    meeting_date: str = "meeting_date",
    baseline_date: str = "baseline_date",
    unit: str = "months",
    attendance_file: str = "attendance",
) -> tuple[pd.DataFrame, list[Problem]]:
    """Time to disengagement from a meeting-attendance log: the first gap longer than ``window_days``.

    Parameters
    ----------
    attendance : DataFrame
        One row per meeting attended: ``id_column`` and ``meeting_date``.
    baseline : DataFrame
        ``id_column`` and ``baseline_date`` (the day the questionnaire was answered; the respondent
        counts as attending that day).
    end_date : str or Timestamp
        Column of ``baseline`` holding each respondent's end of observation, or one date for all.
    window_days : int, default 90
        Disengaged when ``window_days`` pass without a meeting (30 and 90 are common choices).
    unit : {"days", "weeks", "months", "years"}, default "months"

    Returns
    -------
    followup : DataFrame
        ``respondent_id, time, disengaged, last_meeting`` (time from baseline to the day the
        definition was first met, or to the end of observation when it never was).
    problems : list of Problem
        ``invalid_date`` (meetings with unreadable dates, not used), ``no_baseline`` (meetings of
        unknown respondents), ``end_before_baseline``.

    Notes
    -----
    With attendance dates :math:`m_1 < m_2 < \\dots` after the baseline date B (B included), the
    respondent disengages on the first day :math:`m_k + w` such that no meeting follows within
    ``w`` days and :math:`m_k + w` is not after the end of observation E; otherwise the time is
    censored at E - B. Meetings after E are ignored.

    Examples
    --------
    >>> base = pd.DataFrame({"respondent_id": ["a", "b"], "baseline_date": ["2024-01-01"] * 2})
    >>> meetings = pd.DataFrame({"respondent_id": ["a", "a", "b"],
    ...                          "meeting_date": ["2024-01-20", "2024-03-01", "2024-06-15"]})
    >>> out, _ = dropout_from_attendance(meetings, base, end_date="2024-07-01", window_days=90, unit="days")
    >>> out[["respondent_id", "time", "disengaged"]].values.tolist()
    [['a', 150.0, 1], ['b', 90.0, 1]]
    """
    if unit not in UNITS:
        raise ValueError(f"unit: must be one of {', '.join(UNITS)}; got {unit!r}")
    if window_days <= 0:
        raise ValueError(f"window_days: must be a positive number of days; got {window_days}")
    problems: list[Problem] = []
    for column, frame, source in (
        (id_column, attendance, attendance_file),
        (meeting_date, attendance, attendance_file),
        (id_column, baseline, "baseline"),
        (baseline_date, baseline, "baseline"),
    ):
        if column not in frame.columns:
            raise ValueError(f"{source}: no column {column!r}")
    base = pd.DataFrame(
        {
            "respondent_id": baseline[id_column].astype("string").str.strip().to_numpy(),
            "start": pd.to_datetime(baseline[baseline_date], errors="coerce").to_numpy(),
        }
    )
    if isinstance(end_date, str) and end_date in baseline.columns:
        base["end"] = pd.to_datetime(baseline[end_date], errors="coerce").to_numpy()
    else:
        base["end"] = pd.Timestamp(end_date)
    bad_end = (base["end"] < base["start"]).to_numpy()
    for pos in np.flatnonzero(bad_end):
        problems.append(
            Problem(
                "baseline",
                _row(pos),
                baseline_date,
                None,
                "end_before_baseline",
                "error",
                "end of observation is before the baseline date",
            )
        )
    no_start = base["start"].isna().to_numpy()
    for pos in np.flatnonzero(no_start):
        problems.append(
            Problem(
                "baseline",
                _row(pos),
                baseline_date,
                None,
                "invalid_date",
                "error",
                "baseline date missing or not a date",
            )
        )
    base = base.loc[~bad_end & ~no_start]
    meet = pd.DataFrame(
        {
            "respondent_id": attendance[id_column].astype("string").str.strip().to_numpy(),
            "date": pd.to_datetime(attendance[meeting_date], errors="coerce").to_numpy(),
            "row": np.arange(len(attendance)) + 2,
        }
    )
    for row in meet.loc[meet["date"].isna(), "row"]:
        problems.append(
            Problem(
                attendance_file,
                int(row),
                meeting_date,
                None,
                "invalid_date",
                "error",
                "meeting date missing or not a date; not used",
            )
        )
    known = meet["respondent_id"].isin(set(base["respondent_id"]))
    for row in meet.loc[~known & meet["date"].notna(), "row"]:
        problems.append(
            Problem(
                attendance_file,
                int(row),
                id_column,
                None,
                "no_baseline",
                "warning",
                "attendance of a respondent without baseline; not used",
            )
        )
    meet = meet.loc[known & meet["date"].notna()].merge(base, on="respondent_id")
    meet = meet.loc[
        (meet["date"] >= meet["start"]) & (meet["date"] <= meet["end"]), ["respondent_id", "date"]
    ]
    starts = base[["respondent_id", "start"]].rename(columns={"start": "date"})
    seq = pd.concat([starts, meet]).sort_values(["respondent_id", "date"], kind="stable")
    seq = seq.merge(base, on="respondent_id")
    window = pd.Timedelta(days=window_days)
    nxt = seq.groupby("respondent_id")["date"].shift(-1)
    # the definition is met at date + window when the next meeting (or the end) is further away
    limit = nxt.fillna(seq["end"] + pd.Timedelta(days=1))
    meets_def = ((limit - seq["date"]) > window) & ((seq["date"] + window) <= seq["end"])
    seq["dropout_day"] = (seq["date"] + window).where(meets_def)
    first = seq.groupby("respondent_id", sort=False).agg(
        dropout=("dropout_day", "min"), start=("start", "first"), end=("end", "first")
    )
    last_meeting = (
        seq.loc[~meets_def | seq["dropout_day"].isna()].groupby("respondent_id")["date"].max()
    )
    event = first["dropout"].notna()
    stop = first["dropout"].where(event, first["end"])
    days = (stop - first["start"]) / pd.Timedelta(days=1)
    out = pd.DataFrame(
        {
            "respondent_id": first.index.astype(str),
            "time": (days / UNITS[unit]).to_numpy(dtype=float),
            "disengaged": event.astype(int).to_numpy(),
            "last_meeting": (first["dropout"] - window)
            .where(event, last_meeting.reindex(first.index))
            .to_numpy(),
        }
    )
    order = pd.Index(base["respondent_id"]).get_indexer(out["respondent_id"])
    return out.iloc[np.argsort(order)].reset_index(drop=True), problems


def status_from_attendance(
    attendance: pd.DataFrame,
    assessments: pd.DataFrame,
    *,
    window_days: int = 30,
    id_column: str = "respondent_id",
    meeting_date: str = "meeting_date",
    assessment_date: str = "followup_date",
) -> pd.DataFrame:
    """Disengaged yes/no at a follow-up: no meeting in the ``window_days`` up to the follow-up date.

    Returns ``respondent_id, disengaged`` in the order of ``assessments``.

    Examples
    --------
    >>> meetings = pd.DataFrame({"respondent_id": ["a", "b"], "meeting_date": ["2024-05-20", "2024-01-02"]})
    >>> fu = pd.DataFrame({"respondent_id": ["a", "b"], "followup_date": ["2024-06-01", "2024-06-01"]})
    >>> status_from_attendance(meetings, fu, window_days=30)["disengaged"].tolist()
    [0, 1]
    """
    if window_days <= 0:
        raise ValueError(f"window_days: must be a positive number of days; got {window_days}")
    meet = pd.DataFrame(
        {
            "respondent_id": attendance[id_column].astype("string").str.strip().to_numpy(),
            "date": pd.to_datetime(attendance[meeting_date], errors="coerce").to_numpy(),
        }
    )
    fu = pd.DataFrame(
        {
            "respondent_id": assessments[id_column].astype("string").str.strip().to_numpy(),
            "when": pd.to_datetime(assessments[assessment_date], errors="coerce").to_numpy(),
        }
    )
    pairs = fu.reset_index().merge(meet, on="respondent_id", how="left")
    recent = (pairs["date"] <= pairs["when"]) & (
        pairs["date"] > pairs["when"] - pd.Timedelta(days=window_days)
    )
    attended = recent.groupby(pairs["index"]).any().reindex(range(len(fu)), fill_value=False)
    return pd.DataFrame(
        {
            "respondent_id": fu["respondent_id"].astype(str),
            "disengaged": (~attended).astype(int).to_numpy(),
        }
    )
