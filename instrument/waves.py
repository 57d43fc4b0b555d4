"""Reading repeated waves of the same respondents into one person-period table.

:func:`read_waves` reads either one file holding every wave (a wave column, optionally a date
column) or one file per wave (``{label: path}``), each with :func:`instrument.read.read_responses`,
and checks that respondents link across waves. Problems are collected as records
(:class:`~instrument.problems.Problem`), never raised one at a time:

* ``wave_missing`` (error): a row of a one-file read without a wave value; left out;
* ``unknown_wave`` (error): a wave value not among the declared ``waves``; left out;
* ``duplicate_id_in_wave`` (error): a respondent id repeated within one wave; the first row is
  kept, the others left out;
* ``id_not_in_first_wave`` (warning): a respondent first seen at a later wave (not enrolled at
  baseline, or an id mistyped at one wave);
* ``date_not_understood`` (warning): a date cell that is not a date;
* ``wave_dates_out_of_order`` (error): a respondent's date at a wave is not after their date at
  an earlier wave;
* ``wave_order_contradicts_dates`` (warning): a wave's median date is before the previous wave's.

Problem records name the file, row and column; they never quote a respondent id.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instrument.errors import DataError
from instrument.problems import Problem, problems_frame, shorten
from instrument.read import read_responses
from instrument.responses import ResponseTable
from instrument.io.safety import DEFAULT_LIMITS, ReadLimits

__all__ = ["LINKAGE_RULES", "PERSON_PERIOD_COLUMNS", "WaveTable", "read_waves"]

#: Rules of the problems :func:`read_waves` adds to the readers' own.
LINKAGE_RULES = (
    "wave_missing",
    "unknown_wave",
    "duplicate_id_in_wave",
    "id_not_in_first_wave",
    "date_not_understood",
    "wave_dates_out_of_order",
    "wave_order_contradicts_dates",
)

#: Leading columns of :attr:`WaveTable.person_period`, in order (``date`` only when read).
PERSON_PERIOD_COLUMNS = ["respondent_id", "wave", "wave_index", "date", "source_file", "source_row"]
_WORKBOOK = {".xlsx", ".xlsm", ".xls"}
_SPSS = {".sav", ".zsav"}
_PARQUET = {".parquet", ".pq"}


@dataclass(frozen=True)
class WaveTable:
    """Responses of several waves, one row per respondent and wave.

    Attributes
    ----------
    person_period : DataFrame
        ``respondent_id`` (text), ``wave`` (ordered categorical of :attr:`waves`),
        ``wave_index`` (0 for the first wave), ``date`` (datetime, when a date column was read),
        ``source_file``, ``source_row``, ``synthetic`` (when the files carry that marker), then
        the item columns, then the background columns. Rows with problems that exclude them
        (see the module docstring) are left out.
    waves : tuple of str
        The wave labels in order.
    problems : list of Problem
        The readers' file-level problems and the linkage problems.
    sources : tuple of str
        The files read.
    item_columns, background_columns : tuple of str
        Which columns of ``person_period`` are items and background questions.
    """

    person_period: pd.DataFrame
    waves: tuple[str, ...]
    problems: list[Problem] = field(default_factory=list)
    sources: tuple[str, ...] = ()
    item_columns: tuple[str, ...] = ()
    background_columns: tuple[str, ...] = ()

    def summary(self) -> pd.DataFrame:
        """Per wave: ``wave, n_rows, n_first_seen`` (respondents first seen at that wave)."""
        pp = self.person_period
        first = pp.groupby("respondent_id", observed=True)["wave_index"].min()
        rows = []
        for i, label in enumerate(self.waves):
            rows.append(
                {
                    "wave": label,
                    "n_rows": int((pp["wave_index"] == i).sum()),
                    "n_first_seen": int((first == i).sum()),
                }
            )
        return pd.DataFrame(rows)

    def problems_frame(self) -> pd.DataFrame:
        return problems_frame(self.problems)

    def wave(self, label: str) -> pd.DataFrame:
        """The rows of one wave."""
        if label not in self.waves:
            raise KeyError(f"no wave {label!r}; waves: {', '.join(self.waves)}")
        return self.person_period[self.person_period["wave"] == label]


def read_waves(
    source: str | Path | Mapping[str, str | Path] | Sequence[tuple[str | Path, str]],
    instrument,
    *,
    wave: str | None = None,
    date: str | None = None,
    id_column: str = "respondent_id",
    waves: Sequence[str] | None = None,
    rename: Mapping[str, str] | None = None,
    recode: Mapping[str, Mapping[Any, int]] | None = None,
    platform: str | None = None,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
) -> WaveTable:
    """Read several waves of responses and link respondents across them.

    Parameters
    ----------
    source : path, mapping or sequence of pairs
        One file holding every wave (then ``wave`` names its wave column), or one file per wave:
        ``{"baseline": "t0.csv", "6m": "t6.csv"}`` or ``[("t0.csv", "baseline"), ...]``, in
        wave order.
    instrument : Instrument
        The specification the answers belong to.
    wave : str, optional
        Column holding the wave (one-file read only). Found among the file's columns (ignoring
        case), its metadata (REDCap ``redcap_event_name``) or background questions.
    date : str, optional
        Column holding the date of each response (any file); used to check the order of waves.
    id_column : str, default "respondent_id"
        Column identifying a respondent in every wave (same id at every wave).
    waves : sequence of str, optional
        Wave labels in order. One-file read: rows with another label are ``unknown_wave``
        problems; default the labels sorted (numerically when all are numbers). Per-file read:
        default the order given in ``source``.
    rename, recode, platform, sheet, limits
        Passed to :func:`instrument.read.read_responses` for every file.

    Returns
    -------
    WaveTable
        ``person_period`` (one row per respondent and wave), ``waves``, ``problems``.

    Raises
    ------
    DataError
        When a file cannot be read, has no respondent-id column, or the wave or date column is
        absent.
    ValueError, TypeError
        For arguments that are not understood (e.g. ``wave`` given with one file per wave).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "t0.csv").write_text("respondent_id,A1,A2\\nr1,2,5\\nr2,4,4\\n")
    >>> _ = (folder / "t6.csv").write_text("respondent_id,A1,A2\\nr1,3,5\\nr3,4,4\\n")
    >>> table = read_waves({"t0": folder / "t0.csv", "t6": folder / "t6.csv"}, bfi)
    >>> table.person_period[["respondent_id", "wave", "A1"]].values.tolist()
    [['r1', 't0', 2.0], ['r2', 't0', 4.0], ['r1', 't6', 3.0], ['r3', 't6', 4.0]]
    >>> [p.rule for p in table.problems if p.rule != "missing_item_column"]
    ['id_not_in_first_wave']
    """
    limits = limits or DEFAULT_LIMITS
    files = _files(source, wave)
    rename_all = dict(rename or {})
    if id_column.casefold() != "respondent_id":
        rename_all[id_column] = "respondent_id"
    problems: list[Problem] = []
    frames = []
    for path, label in files:
        table = read_responses(
            path,
            instrument,
            rename=rename_all,
            recode=recode,
            platform=platform,
            sheet=sheet,
            limits=limits,
        )
        # the wave and date columns are read here, not unknown
        side_names = {n.casefold() for n in (wave, date) if n}
        problems.extend(
            p
            for p in table.problems
            if not (p.rule == "unknown_column" and str(p.column).casefold() in side_names)
        )
        _check_ids(table, path, id_column)
        wanted = [c for c in (wave if label is None else None, date) if c]
        side = _side_columns(table, path, wanted, sheet=sheet, limits=limits) if wanted else {}
        frame = _frame(table)
        if label is None:
            assert wave is not None
            frame["wave"] = _labels(side[wave])
        else:
            frame["wave"] = label
        if date:
            frame["date"] = side[date]
        frames.append(frame)
    data = pd.concat(frames, ignore_index=True)
    item_columns = tuple(c for c in instrument.item_ids if c in data.columns)
    background_columns = tuple(
        c
        for frame in frames
        for c in frame.attrs.get("background", ())
        if c in data.columns and c not in item_columns
    )
    background_columns = tuple(dict.fromkeys(background_columns))
    if files[0][1] is None:
        order = _order(data, wave_column=wave or "wave", waves=waves, problems=problems)
    else:
        order = [str(label) for _, label in files]
        if waves is not None and list(waves) != order:
            raise ValueError(
                "waves: with one file per wave the order is the order of the files; "
                f"got waves={list(waves)!r} for files labelled {order!r}"
            )
    data = data[data["wave"].isin(order)].reset_index(drop=True)
    data = _drop_duplicates(data, problems)
    if date:
        data["date"] = _dates(data, date, problems)
    data["wave"] = pd.Categorical(data["wave"], categories=order, ordered=True)
    data["wave_index"] = data["wave"].cat.codes.astype("int64")
    data = data.sort_values(["wave_index", "source_file", "source_row"], kind="stable")
    data = data.reset_index(drop=True)
    _later_only(data, problems)
    if date:
        _date_order(data, order, date, problems)
    lead = [c for c in PERSON_PERIOD_COLUMNS if c in data.columns]
    if "synthetic" in data.columns:
        lead.append("synthetic")
    rest = [*item_columns, *background_columns]
    person_period = data[lead + rest]
    return WaveTable(
        person_period=person_period,
        waves=tuple(order),
        problems=problems,
        sources=tuple(str(p) for p, _ in files),
        item_columns=item_columns,
        background_columns=background_columns,
    )


# ------------------------------------------------------------------------------------------
# Arguments and reading
# ------------------------------------------------------------------------------------------
def _files(source, wave: str | None) -> list[tuple[Path, str | None]]:
    pairs: list[tuple[Path, str]]
    if isinstance(source, (str, Path)):
        if wave is None:
            raise ValueError(
                "wave: one file holds every wave, so name its wave column (wave='wave'), "
                "or give one file per wave as {label: path}"
            )
        return [(Path(source), None)]
    if wave is not None:
        raise ValueError(
            "wave: give either a wave column (one file) or one file per wave, not both"
        )
    if isinstance(source, Mapping):
        pairs = [(Path(path), str(label)) for label, path in source.items()]
    elif isinstance(source, Sequence):
        pairs = []
        for entry in source:
            if not (isinstance(entry, tuple) and len(entry) == 2):
                raise TypeError(f"source: expected (path, label) pairs, got {shorten(repr(entry))}")
            pairs.append((Path(entry[0]), str(entry[1])))
    else:
        raise TypeError(
            f"source: expected a path, a {{label: path}} mapping or (path, label) pairs, "
            f"got {type(source).__name__}"
        )
    if not pairs:
        raise ValueError("source: no file given")
    labels = [label for _, label in pairs]
    repeated = sorted({label for label in labels if labels.count(label) > 1})
    if repeated:
        raise ValueError(f"source: wave label(s) {', '.join(repeated)} given to more than one file")
    empty = [str(p) for p, label in pairs if not label.strip()]
    if empty:
        raise ValueError(f"source: empty wave label for {', '.join(empty)}")
    return [(path, label) for path, label in pairs]


def _check_ids(table: ResponseTable, path: Path, id_column: str) -> None:
    meta = table.meta
    generated = Path(str(path)).stem + ":" + meta["source_row"].astype(str)
    if len(meta) and (meta["respondent_id"].astype(str) == generated).all():
        raise DataError(
            f"{path}: no respondent-id column {id_column!r}; linking waves needs the same id for "
            "a respondent in every wave (name the column with id_column= / --id-column)"
        )


def _frame(table: ResponseTable) -> pd.DataFrame:
    meta = table.meta
    frame = pd.DataFrame(
        {
            "respondent_id": meta["respondent_id"].astype(str).to_numpy(),
            "source_file": meta["source_file"].astype(str).to_numpy(),
            "source_row": meta["source_row"].to_numpy(dtype=np.int64),
        }
    )
    if "synthetic" in meta.columns:
        frame["synthetic"] = meta["synthetic"].to_numpy()
    items = table.items.reset_index(drop=True)
    background = table.background.reset_index(drop=True)
    out = pd.concat([frame, items, background], axis=1)
    out.attrs["background"] = tuple(background.columns)
    return out


def _side_columns(
    table: ResponseTable, path: Path, names: list[str], *, sheet: str | None, limits: ReadLimits
) -> dict[str, np.ndarray]:
    """Wave and date columns aligned with ``table``'s rows (by source row)."""
    found: dict[str, np.ndarray] = {}
    for name in names:
        for frame in (table.meta, table.background):
            match = _match(frame.columns, name)
            if match is not None:
                found[name] = frame[match].to_numpy(dtype=object)
                break
    missing = [n for n in names if n not in found]
    if not missing:
        return found
    columns, rows = _read_columns(path, missing, sheet=sheet, limits=limits)
    position = pd.Series(np.arange(len(rows)), index=rows)
    where = position.reindex(table.meta["source_row"].to_numpy()).to_numpy()
    for name in missing:
        values = columns[name]
        found[name] = np.array([values[int(i)] if i == i else None for i in where], dtype=object)
    return found


def _match(columns, name: str) -> Any:
    folded = name.strip().casefold()
    for column in columns:
        if str(column).strip().casefold() == folded:
            return column
    return None


def _read_columns(
    path: Path, names: list[str], *, sheet: str | None, limits: ReadLimits
) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """Read named columns of a file with the bounded readers; values and source rows."""
    from instrument.readers.raw import as_values

    suffix = path.suffix.lower()
    if suffix in _SPSS:
        import pyreadstat

        header = pyreadstat.read_sav(str(path), metadataonly=True)[1].column_names
        chosen = {n: _match(header, n) for n in names}
        _require(chosen, header, path)
        frame, _ = pyreadstat.read_sav(str(path), usecols=list(chosen.values()))
        rows = np.arange(2, len(frame) + 2, dtype=np.int64)
        return {n: frame[c].to_numpy(dtype=object) for n, c in chosen.items()}, rows
    if suffix in _PARQUET:
        import pyarrow.parquet as pq

        header = pq.ParquetFile(str(path)).schema_arrow.names
        chosen = {n: _match(header, n) for n in names}
        _require(chosen, header, path)
        arrow = pq.read_table(str(path), columns=list(chosen.values()))
        rows = np.arange(2, arrow.num_rows + 2, dtype=np.int64)
        return {n: as_values(arrow.column(c)) for n, c in chosen.items()}, rows
    if suffix in _WORKBOOK:
        from instrument.readers.excel import read_workbook

        raw = read_workbook(path, limits, sheet=sheet)
    else:
        from instrument.readers.delimited import inspect_text, read_delimited

        raw = read_delimited(inspect_text(path, limits), limits, numeric=())
    chosen = {n: _match(raw.names, n) for n in names}
    _require(chosen, raw.names, path)
    values = {n: as_values(raw.columns[raw.names.index(c)]) for n, c in chosen.items()}
    return values, raw.source_rows.astype(np.int64)


def _require(chosen: dict[str, Any], header: Sequence[str], path: Path) -> None:
    absent = [n for n, c in chosen.items() if c is None]
    if absent:
        shown = ", ".join(map(str, list(header)[:15]))
        raise DataError(
            f"{path}: column(s) {', '.join(map(repr, absent))} not found; the file's columns "
            f"are: {shown}"
        )


# ------------------------------------------------------------------------------------------
# Waves, dates and linkage
# ------------------------------------------------------------------------------------------
def _labels(values: np.ndarray) -> np.ndarray:
    """Wave values as text labels (1.0 -> '1'); blanks as None."""
    out = np.empty(len(values), dtype=object)
    for i, value in enumerate(values):
        if value is None or (isinstance(value, float) and np.isnan(value)):
            out[i] = None
        elif isinstance(value, (float, np.floating)) and float(value).is_integer():
            out[i] = str(int(value))
        else:
            text = str(value).strip()
            out[i] = text or None
    return out


def _order(
    data: pd.DataFrame, *, wave_column: str, waves: Sequence[str] | None, problems: list[Problem]
) -> list[str]:
    missing = data["wave"].isna()
    for _, row in data[missing].iterrows():
        problems.append(
            Problem(
                row["source_file"],
                int(row["source_row"]),
                wave_column,
                None,
                "wave_missing",
                "error",
                "no wave value; the row is left out of the person-period table",
            )
        )
    present = list(dict.fromkeys(data.loc[~missing, "wave"]))
    if waves is None:
        try:
            return sorted(present, key=float)
        except ValueError:
            return sorted(present)
    order = [str(w) for w in waves]
    if len(set(order)) != len(order):
        raise ValueError(f"waves: {order!r} names a wave twice")
    unknown = ~missing & ~data["wave"].isin(order)
    for _, row in data[unknown].iterrows():
        problems.append(
            Problem(
                row["source_file"],
                int(row["source_row"]),
                wave_column,
                shorten(row["wave"]),
                "unknown_wave",
                "error",
                f"not a declared wave; allowed: {', '.join(order)}; the row is left out",
            )
        )
    return order


def _drop_duplicates(data: pd.DataFrame, problems: list[Problem]) -> pd.DataFrame:
    repeated = data.duplicated(["wave", "respondent_id"], keep="first")
    if not repeated.any():
        return data
    first_row = data.drop_duplicates(["wave", "respondent_id"]).set_index(
        ["wave", "respondent_id"]
    )["source_row"]
    for _, row in data[repeated].iterrows():
        kept = int(first_row[(row["wave"], row["respondent_id"])])
        problems.append(
            Problem(
                row["source_file"],
                int(row["source_row"]),
                "respondent_id",
                None,
                "duplicate_id_in_wave",
                "error",
                f"the respondent id of this row is already used at wave {row['wave']} "
                f"(row {kept}); this row is left out",
            )
        )
    return data[~repeated].reset_index(drop=True)


def _later_only(data: pd.DataFrame, problems: list[Problem]) -> None:
    first = data.groupby("respondent_id", observed=True)["wave_index"].transform("min")
    first_time = (data["wave_index"] == first) & (first > 0)
    for _, row in data[first_time].iterrows():
        problems.append(
            Problem(
                row["source_file"],
                int(row["source_row"]),
                "respondent_id",
                None,
                "id_not_in_first_wave",
                "warning",
                f"respondent first seen at wave {row['wave']}, not at the first wave: "
                "enrolled later, or the id is mistyped at one wave",
            )
        )


def _dates(data: pd.DataFrame, column: str, problems: list[Problem]) -> pd.Series:
    raw = pd.Series(data["date"].to_numpy(dtype=object), index=data.index)
    blank = raw.isna() | raw.astype(str).str.strip().eq("")
    parsed = pd.Series(pd.NaT, index=data.index, dtype="datetime64[ns]")
    for i in raw.index[~blank]:
        value = raw[i]
        try:
            parsed[i] = pd.Timestamp(value) if not isinstance(value, (int, float)) else pd.NaT
        except (ValueError, TypeError, OverflowError):
            parsed[i] = pd.NaT
        if pd.isna(parsed[i]):
            problems.append(
                Problem(
                    data.at[i, "source_file"],
                    int(data.at[i, "source_row"]),
                    column,
                    shorten(value),
                    "date_not_understood",
                    "warning",
                    "not a date; write dates as YYYY-MM-DD",
                )
            )
    return parsed


def _date_order(data: pd.DataFrame, order: list[str], column: str, problems: list[Problem]) -> None:
    dated = data.dropna(subset=["date"]).sort_values(["respondent_id", "wave_index"])
    previous = dated.groupby("respondent_id", observed=True)["date"].cummax().shift(1)
    same = dated["respondent_id"].eq(dated["respondent_id"].shift(1))
    bad = same & (dated["date"] <= previous)
    for i in dated.index[bad]:
        problems.append(
            Problem(
                data.at[i, "source_file"],
                int(data.at[i, "source_row"]),
                column,
                None,
                "wave_dates_out_of_order",
                "error",
                f"date at wave {data.at[i, 'wave']} is not after this respondent's date at an "
                "earlier wave; check the date or the wave",
            )
        )
    medians = data.groupby("wave", observed=True)["date"].median().reindex(order).dropna()
    for (before, d0), (after, d1) in zip(
        list(medians.items())[:-1], list(medians.items())[1:], strict=True
    ):
        if d1 < d0:
            problems.append(
                Problem(
                    "",
                    None,
                    column,
                    None,
                    "wave_order_contradicts_dates",
                    "warning",
                    f"wave {after}'s median date is before wave {before}'s; is the wave order "
                    f"{' < '.join(order)} right?",
                )
            )
