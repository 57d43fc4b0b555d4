"""Checking responses cell by cell, row by row: one vectorised pass, every problem as a record.

:func:`check_responses` takes a :class:`~instrument.responses.ResponseTable` (as the readers
return it) and the :class:`~instrument.spec.Instrument` it was collected with, and returns a
:class:`CheckedResponses`: the item answers as clean numeric codes, a per-row rejection mask with
its reasons, and every problem found as a :class:`~instrument.problems.Problem`.

The rules (also in ``docs/scoring.md``)
---------------------------------------
Cells (an error blanks only that cell; the rest of the row is still used):

* ``text_not_code`` (error): text where an item expects a numeric code.
* ``not_integer`` (error): a number with a fractional part in an item or integer question.
* ``code_outside_scale`` (error): a number that is neither an answer code, the not-applicable
  code nor a declared missing code of the item's response scale.
* ``not_applicable`` / ``declared_missing`` (info): cells holding the not-applicable code or a
  declared missing code. Scoring handles them, so they are summarised as one record per column
  (row empty, count in the message) rather than one per cell.
* Skip logic (items with ``applies_to`` or ``relevant`` conditions, evaluated on the row's
  background answers as the forms do: a condition on a blank answer does not hold):

  - ``skipped_by_design`` (info, one record per column): blank cells of items the form did not
    show. Structurally missing, recorded in ``CheckedResponses.skipped``; not a problem.
  - ``answered_but_skipped`` (warning, one record per column): answers in an item the skip logic
    hides (e.g. a sponsor item answered by someone who never had a sponsor). Set aside as skipped.
  - ``missing_answer`` (warning, one record per column): blank cells of items that were shown;
    the first rows are named. Rows rejected for ``no_answers`` are not counted again.
* Background questions: ``out_of_range`` (integer, or the year of a date / year-month, outside
  the question's range), ``unknown_choice`` (a code that is not one of the choices, or a
  multiple-choice flag other than 0/1), ``bad_date`` (not ``YYYY-MM-DD``), ``bad_year_month``
  (not ``YYYY-MM``), ``not_integer``.

Rows:

* ``no_answers`` (error, row rejected): no item holds an answer on the scale (blank, declared
  missing, not-applicable and invalid cells do not count).
* ``duplicate_respondent_id`` (error, row rejected): the second and later rows with the same
  respondent id, within the table and against ``seen_ids`` (ids of earlier files or chunks).
  The first occurrence is kept. Rejected empty rows do not claim their id.
* ``straight_lining`` (warning): all answered items carry the same code, with at least
  ``straight_line_min`` items answered and both positively and reverse-keyed items among them
  (so the identical answers contradict each other). A careless-responding flag; the row is
  still scored.
* ``too_fast`` (warning): the ``duration_seconds`` metadata is below ``min_seconds``.

File problems found by the reader (missing or unknown columns, a specification version that
differs from the file's) pass through unchanged.

Values of background questions marked ``sensitive`` and of free-text questions are never copied
into a problem's ``value`` (it is None).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from instrument.problems import Problem, problems_frame, shorten
from instrument.responses import ResponseTable
from instrument.spec import BackgroundQuestion, Instrument

#: Rules that reject the whole row.
ROW_REJECTING_RULES = ("no_answers", "duplicate_respondent_id")
#: Metadata column holding the time a respondent took, in seconds.
DURATION_COLUMN = "duration_seconds"
_YEAR_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")
_DATE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00)?)?\s*$")


@dataclass(frozen=True)
class CheckedResponses:
    """Responses after checking.

    Attributes
    ----------
    codes : DataFrame
        One float64 column per instrument item (every item, in the specification's order;
        items absent from the file are all NaN). Substantive answer codes; NaN for blank,
        invalid, declared-missing and not-applicable cells.
    not_applicable : DataFrame
        Boolean, same shape as ``codes``: True where the cell is left out of the item count by
        design, i.e. it held the not-applicable code (code 9) *or* the skip logic did not show
        the item. Scoring treats both alike (each scale's ``not_applicable`` rule).
    skipped : DataFrame
        Boolean, same shape: True where the item was skipped by design (a subset of
        ``not_applicable``; the cells holding code 9 are ``not_applicable & ~skipped``). All
        False for an instrument without skip logic.
    background : DataFrame
        Background answers with invalid cells blanked (None / NaN).
    meta : DataFrame
        ``source_file``, ``source_row``, ``respondent_id`` and platform metadata, as read.
    rejected : Series of bool
        True for rows that are not scored.
    reasons : Series of str
        Why a row is rejected (rule names joined by ``;``), empty for kept rows.
    problems : list of Problem
        Every problem found, file-level ones first.
    id_hashes : ndarray of uint64
        :func:`hash_ids` of each row's respondent id (0 where the id is blank or absent), for
        duplicate checks across files.
    """

    codes: pd.DataFrame
    not_applicable: pd.DataFrame
    background: pd.DataFrame
    meta: pd.DataFrame
    rejected: pd.Series
    reasons: pd.Series
    problems: list[Problem] = field(default_factory=list)
    id_hashes: np.ndarray | None = None
    skipped: pd.DataFrame | None = None

    @property
    def n_rows(self) -> int:
        return len(self.meta)

    @property
    def n_rejected(self) -> int:
        return int(self.rejected.sum())

    def summary(self) -> pd.DataFrame:
        """Count of problems by ``rule`` and ``severity`` (columns ``rule, severity, n``)."""
        frame = problems_frame(self.problems)
        if frame.empty:
            return pd.DataFrame(
                {
                    "rule": pd.Series(dtype=object),
                    "severity": pd.Series(dtype=object),
                    "n": pd.Series(dtype="int64"),
                }
            )
        return frame.groupby(["rule", "severity"], sort=True).size().rename("n").reset_index()


# --------------------------------------------------------------------------------------------
# Items
# --------------------------------------------------------------------------------------------
def _as_float(column: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Numeric values of a raw column and a mask of cells holding text that is not a number."""
    if pd.api.types.is_bool_dtype(column.dtype):
        return column.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(column), dtype=bool)
    if pd.api.types.is_numeric_dtype(column.dtype):
        return column.to_numpy(dtype="float64", na_value=np.nan), np.zeros(len(column), dtype=bool)
    raw = column.astype(object)
    is_text = (
        raw.map(lambda v: isinstance(v, str), na_action="ignore").fillna(False).to_numpy(dtype=bool)
    )
    stripped = raw.where(~is_text, raw[is_text].str.strip() if is_text.any() else raw)
    blank = is_text & (stripped.astype(object) == "").to_numpy(dtype=bool)
    values = pd.to_numeric(stripped.where(~blank, None), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    bad_text = is_text & ~blank & np.isnan(values)
    return values, bad_text


def _row_numbers(meta: pd.DataFrame) -> np.ndarray:
    if "source_row" in meta:
        return meta["source_row"].to_numpy()
    return np.arange(2, len(meta) + 2)


def _source_files(meta: pd.DataFrame, fallback: str) -> np.ndarray:
    if "source_file" in meta:
        return meta["source_file"].astype(object).to_numpy()
    return np.full(len(meta), fallback, dtype=object)


def _show(value: object) -> str:
    """A cell value as short text for a problem record (3.0 -> "3")."""
    if isinstance(value, (float, np.floating)) and np.isfinite(value) and float(value).is_integer():
        return str(int(value))
    return shorten(value)


def _cell_records(
    rows: np.ndarray,
    files: np.ndarray,
    column: str,
    mask: np.ndarray,
    values: np.ndarray | None,
    rule: str,
    severity: str,
    message: str,
    show=_show,
) -> list[Problem]:
    """Problem records for the flagged cells only (the loop runs over flagged cells, not rows)."""
    return [
        Problem(
            str(files[i]),
            int(rows[i]),
            column,
            None if values is None else show(values[i]),
            rule,
            severity,
            message,
        )
        for i in np.flatnonzero(mask)
    ]


def _format_code(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def check_items(
    items: pd.DataFrame,
    instrument: Instrument,
    *,
    rows: np.ndarray | None = None,
    files: np.ndarray | None = None,
    file: str = "",
) -> tuple[np.ndarray, np.ndarray, list[Problem]]:
    """Check item cells; return clean codes, the not-applicable mask and the problems.

    Parameters
    ----------
    items : DataFrame
        Raw item values (numeric, or object where cells hold text), columns named by item id.
        Columns of instrument items that are absent are treated as blank.
    instrument : Instrument
        The specification giving each item's response scale.
    rows, files : ndarray, optional
        Row number and file name of each row for problem records (default: rows 2, 3, ... of
        ``file``).
    file : str, default ""
        File name used when ``files`` is not given.

    Returns
    -------
    codes : ndarray of float64, shape (n_rows, n_items)
        Substantive answer codes, NaN elsewhere; columns in ``instrument.item_ids`` order
        (a transposed view of an items-major array).
    not_applicable : ndarray of bool, same shape
        True where the cell held the not-applicable code.
    problems : list of Problem

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> codes, na, problems = check_items(pd.DataFrame({"A1": [1.0, 7.0, 2.5]}), bfi, file="x.csv")
    >>> codes[:, 0].tolist()
    [1.0, nan, nan]
    >>> sorted((p.row, p.rule) for p in problems)
    [(3, 'code_outside_scale'), (4, 'not_integer')]
    """
    n = len(items)
    item_ids = instrument.item_ids
    rows = np.arange(2, n + 2) if rows is None else np.asarray(rows)
    files = np.full(n, file, dtype=object) if files is None else np.asarray(files, dtype=object)
    # Items-major (items x rows) arrays, filled and masked in place: each item's cells are
    # contiguous and no large temporaries are made, which keeps millions of rows fast.
    codes = np.empty((len(item_ids), n))
    not_applicable = np.zeros((len(item_ids), n), dtype=bool)
    problems: list[Problem] = []
    present = [i for i in item_ids if i in items.columns]
    index = {item_id: j for j, item_id in enumerate(item_ids)}
    for item_id in item_ids:
        if item_id not in items.columns:
            codes[index[item_id]] = np.nan
    # Group items by response scale so the masks are built on whole blocks at once.
    by_scale: dict[str, list[str]] = {}
    for item_id in present:
        by_scale.setdefault(instrument.item(item_id).response_scale, []).append(item_id)
    for scale_id, ids in by_scale.items():
        rs = instrument.response_scales[scale_id]
        rows_of = [index[i] for i in ids]
        contiguous = rows_of == list(range(rows_of[0], rows_of[0] + len(rows_of)))
        block = (
            codes[rows_of[0] : rows_of[0] + len(rows_of)] if contiguous else np.empty((len(ids), n))
        )
        bad_text = np.zeros((len(ids), n), dtype=bool)
        if all(pd.api.types.is_float_dtype(items[i].dtype) for i in ids):
            # float columns (the CSV reader's block): one copy, no text to look for
            whole = items if list(items.columns) == ids else items[ids]
            block[:] = whole.to_numpy(dtype="float64").T
        else:
            for j, item_id in enumerate(ids):
                block[j], bad_text[j] = _as_float(items[item_id])
        codes_arr = np.asarray(rs.codes, dtype="float64")
        lo, hi = codes_arr.min(), codes_arr.max()
        with np.errstate(invalid="ignore"):
            if np.array_equal(codes_arr, np.arange(lo, hi + 1)) and lo >= -128 and hi <= 127:
                # One-byte integers: a cell is an answer when it survives the cast unchanged
                # (fractions, NaN and values past int8 do not) and lies in lo..hi.
                small = block.astype(np.int8)
                answer = small == block
                small -= np.int8(lo)
                answer &= small.view(np.uint8) <= np.uint8(hi - lo)
            elif np.array_equal(codes_arr, np.arange(lo, hi + 1)):
                answer = block >= lo
                answer &= block <= hi
                answer &= block == np.floor(block)
            else:
                answer = np.isin(block, codes_arr)
        other = np.isnan(block)
        other |= answer
        np.logical_not(other, out=other)  # neither an answer nor blank
        if other.any():
            is_na = (
                other & (block == rs.not_applicable)
                if rs.not_applicable is not None
                else np.zeros_like(answer)
            )
            declared = (
                other & np.isin(block, np.asarray(rs.missing_codes, dtype="float64"))
                if rs.missing_codes
                else np.zeros_like(answer)
            )
            invalid = other & ~(is_na | declared)
            np.copyto(block, np.nan, where=other)
        else:
            is_na = declared = invalid = np.zeros_like(answer)
        allowed = ", ".join(str(c) for c in rs.allowed_codes())
        if not contiguous:
            codes[rows_of] = block
        if is_na.any():
            not_applicable[rows_of] = is_na
        if invalid.any() or bad_text.any():
            for j, item_id in enumerate(ids):
                if bad_text[j].any():
                    raw = items[item_id].astype(object).to_numpy()
                    problems += _cell_records(
                        rows,
                        files,
                        item_id,
                        bad_text[j],
                        raw,
                        "text_not_code",
                        "error",
                        f"text where a code is expected; allowed codes: {allowed}",
                    )
                if not invalid[j].any():
                    continue
                raw = _as_float(items[item_id])[0]
                fractional = invalid[j] & (raw != np.floor(raw))
                outside = invalid[j] & ~fractional
                problems += _cell_records(
                    rows,
                    files,
                    item_id,
                    fractional,
                    raw,
                    "not_integer",
                    "error",
                    f"not a whole number; allowed codes: {allowed}",
                    _format_code,
                )
                problems += _cell_records(
                    rows,
                    files,
                    item_id,
                    outside,
                    raw,
                    "code_outside_scale",
                    "error",
                    f"code outside the response scale; allowed codes: {allowed}",
                    _format_code,
                )
        for mask, rule, what in (
            (is_na, "not_applicable", "the not-applicable code; scoring follows each scale's rule"),
            (declared, "declared_missing", "a declared missing code; counted as unanswered"),
        ):
            counts = mask.sum(axis=1)
            for k in np.flatnonzero(counts).tolist():
                first = ", ".join(str(int(r)) for r in rows[np.flatnonzero(mask[k])[:3]])
                problems.append(
                    Problem(
                        str(files[0]),
                        None,
                        ids[k],
                        None,
                        rule,
                        "info",
                        f"{int(counts[k])} cell(s) hold {what} (first rows: {first})",
                    )
                )
    return codes.T, not_applicable.T, problems


# --------------------------------------------------------------------------------------------
# Background questions
# --------------------------------------------------------------------------------------------
def _check_background_question(
    question: BackgroundQuestion, frame: pd.DataFrame, rows: np.ndarray, files: np.ndarray
) -> tuple[dict[str, pd.Series], list[Problem]]:
    hide = question.sensitive or question.type == "text"
    problems: list[Problem] = []
    cleaned: dict[str, pd.Series] = {}

    def report(column: str, mask: np.ndarray, shown: np.ndarray, rule: str, message: str) -> None:
        problems.extend(
            _cell_records(
                rows, files, column, mask, None if hide else shown, rule, "error", message
            )
        )

    if question.type == "text":
        return cleaned, problems
    if question.type == "multiple_choice":
        for code in question.choice_codes():
            column = f"{question.id}_{code}"
            if column not in frame:
                continue
            values, text = _as_float(frame[column])
            bad = text | (~np.isnan(values) & ~np.isin(values, [0.0, 1.0]))
            if bad.any():
                report(
                    column,
                    bad,
                    frame[column].astype(object).to_numpy(),
                    "unknown_choice",
                    f"a multiple-choice flag must be 0 or 1 ({question.id}, choice {code})",
                )
                cleaned[column] = pd.Series(np.where(bad, np.nan, values), index=frame.index)
        return cleaned, problems
    if question.id not in frame:
        return cleaned, problems
    raw = frame[question.id]
    shown = raw.astype(object).to_numpy()
    if question.type in ("single_choice", "integer"):
        values, text = _as_float(raw)
        present = ~np.isnan(values)
        fractional = present & (values != np.floor(values))
        bad = text | fractional
        if question.type == "single_choice":
            allowed = ", ".join(str(c) for c in question.choice_codes())
            unknown = text | (
                present & ~np.isin(values, np.asarray(question.choice_codes(), dtype=float))
            )
            report(
                question.id,
                unknown,
                shown,
                "unknown_choice",
                f"not one of the choices; allowed codes: {allowed}",
            )
            bad = unknown
        else:
            expected = (
                f"a whole number from {question.minimum:g} to {question.maximum:g}"
                if question.minimum is not None and question.maximum is not None
                else "a whole number"
            )
            report(question.id, text, shown, "text_not_code", f"text where {expected} is expected")
            report(question.id, fractional, shown, "not_integer", "not a whole number")
            if question.minimum is not None:
                outside = (
                    present
                    & ~fractional
                    & ((values < question.minimum) | (values > question.maximum))
                )
                report(
                    question.id,
                    outside,
                    shown,
                    "out_of_range",
                    f"outside the allowed range {question.minimum} to {question.maximum}",
                )
                bad = bad | outside
        if bad.any():
            cleaned[question.id] = pd.Series(np.where(bad, np.nan, values), index=frame.index)
        return cleaned, problems
    # date and year_month: text such as 2024-05-17 / 2024-05, or datetime values from a workbook
    years = np.full(len(raw), np.nan)
    bad = np.zeros(len(raw), dtype=bool)
    pattern = _DATE if question.type == "date" else _YEAR_MONTH
    for i, value in enumerate(shown):
        if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NaT:
            continue
        if hasattr(value, "year") and hasattr(value, "month"):
            years[i] = value.year
            continue
        match = pattern.match(str(value))
        if not match:
            bad[i] = True
            continue
        year, month = int(match.group(1)), int(match.group(2))
        day = int(match.group(3)) if question.type == "date" else 1
        try:
            pd.Timestamp(year=year, month=month, day=day)
        except ValueError:
            bad[i] = True
            continue
        years[i] = year
    if question.type == "date":
        report(question.id, bad, shown, "bad_date", "not a date written as YYYY-MM-DD")
    else:
        report(question.id, bad, shown, "bad_year_month", "not a year and month written as YYYY-MM")
    if question.minimum is not None:
        outside = ~np.isnan(years) & ((years < question.minimum) | (years > question.maximum))
        report(
            question.id,
            outside,
            shown,
            "out_of_range",
            f"year outside the allowed range {question.minimum} to {question.maximum}",
        )
        bad = bad | outside
    if bad.any():
        cleaned[question.id] = raw.astype(object).where(~bad, None)
    return cleaned, problems


def check_background(
    background: pd.DataFrame, instrument: Instrument, *, rows: np.ndarray, files: np.ndarray
) -> tuple[pd.DataFrame, list[Problem]]:
    """Check background answers; return the frame with invalid cells blanked and the problems."""
    problems: list[Problem] = []
    cleaned = background.copy() if len(background.columns) else background
    for question in instrument.background:
        replacements, found = _check_background_question(question, background, rows, files)
        problems += found
        for column, values in replacements.items():
            cleaned[column] = values
    return cleaned, problems


# --------------------------------------------------------------------------------------------
# Skip logic
# --------------------------------------------------------------------------------------------
def shown_items(background: pd.DataFrame, instrument: Instrument) -> np.ndarray:
    """Which items the form showed each row, from the row's background answers.

    Parameters
    ----------
    background : DataFrame
        Background answers (checked), one row per respondent; a multiple-choice question as its
        0/1 columns ``<question>_<code>``.
    instrument : Instrument
        Gives each item's conditions (:meth:`~instrument.spec.Instrument.item_conditions`).

    Returns
    -------
    ndarray of bool, shape (n_rows, n_items)
        True where the item was shown; columns in ``instrument.item_ids`` order. An item without
        conditions is shown to everyone. As in the forms, a condition on a blank or absent answer
        does not hold, so the item is skipped.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> v2 = load_instrument("mhdq-0.2.0")
    >>> bg = pd.DataFrame({"sponsor_ever": [1, 0, None]})
    >>> shown = shown_items(bg, v2)
    >>> shown[:, v2.item_ids.index("ne_so1")].tolist()
    [True, False, False]
    """
    n = len(background)
    shown = np.ones((n, len(instrument.item_ids)), dtype=bool)
    cache: dict[tuple, np.ndarray] = {}
    for j, item_id in enumerate(instrument.item_ids):
        for condition in instrument.item_conditions(item_id):
            key = (condition.question, condition.values)
            if key not in cache:
                question = instrument.background_question(condition.question)
                holds = np.zeros(n, dtype=bool)
                for value in condition.values:
                    if question.type == "multiple_choice":
                        column = (
                            f"{question.id}_{value}" if value >= 0 else f"{question.id}_m{-value}"
                        )
                        if column in background:
                            holds |= _as_float(background[column])[0] == 1
                    elif question.id in background:
                        holds |= _as_float(background[question.id])[0] == value
                cache[key] = holds
            shown[:, j] &= cache[key]
    return shown


def _column_summary(
    mask: np.ndarray, item_ids, rows: np.ndarray, file: str, rule: str, severity: str, what: str
) -> list[Problem]:
    out = []
    counts = mask.sum(axis=0)
    for j in np.flatnonzero(counts):
        first = ", ".join(str(int(r)) for r in rows[np.flatnonzero(mask[:, j])[:3]])
        out.append(
            Problem(
                file,
                None,
                item_ids[j],
                None,
                rule,
                severity,
                f"{int(counts[j])} cell(s) {what} (first rows: {first})",
            )
        )
    return out


# --------------------------------------------------------------------------------------------
# Rows
# --------------------------------------------------------------------------------------------
def hash_ids(ids: Iterable[object] | pd.Series) -> np.ndarray:
    """64-bit hashes of respondent ids (as text), used to find duplicates across files cheaply.

    Two different ids share a hash with probability about n²/2⁶⁵ (under 3·10⁻⁶ for ten million
    ids); ids of up to 8 bytes (UTF-8) never share one with an id of the same length. The hash
    is never 0 (the mark of a blank id).

    Examples
    --------
    >>> bool(hash_ids(["a7", "b2"])[0] == hash_ids(pd.Series(["a7"], dtype="str"))[0])
    True
    """
    import pyarrow as pa

    series = ids if isinstance(ids, pd.Series) else pd.Series(list(ids), dtype=object)
    if not pd.api.types.is_string_dtype(series.dtype) or series.dtype == object:
        series = series.astype(object).where(series.isna(), series.astype(str))
        text = pa.array(series.to_numpy(dtype=object), type=pa.large_string(), from_pandas=True)
    else:
        text = pa.array(series.array)
    if isinstance(text, pa.ChunkedArray):
        text = text.combine_chunks()
    return _hash_text(text.cast(pa.large_string()))


_MIX_1 = np.uint64(0xBF58476D1CE4E5B9)
_MIX_2 = np.uint64(0x94D049BB133111EB)
_SEED = np.uint64(0x9E3779B97F4A7C15)


def _mix(h: np.ndarray) -> np.ndarray:
    """The splitmix64 finaliser, in place (a bijection of 64-bit words that scatters every bit)."""
    h ^= h >> np.uint64(30)
    h *= _MIX_1
    h ^= h >> np.uint64(27)
    h *= _MIX_2
    h ^= h >> np.uint64(31)
    return h


def _hash_text(text) -> np.ndarray:
    """:func:`hash_ids` of a pyarrow ``large_string`` array, on its buffers (no Python strings).

    The length seeds the hash; then each 8-byte word of the text (zero padded) is mixed in with
    :func:`_mix`. Nulls get one fixed hash of their own.
    """
    n = len(text)
    validity, offsets_buffer, data_buffer = text.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64, count=n + 1, offset=text.offset * 8)
    data = (
        np.frombuffer(data_buffer, dtype=np.uint8)
        if data_buffer is not None
        else np.zeros(0, dtype=np.uint8)
    )
    lengths = np.diff(offsets)
    starts = offsets[:-1]
    hashes = _mix(lengths.astype(np.uint64) + _SEED)
    longest = int(lengths.max(initial=0))
    if n and longest and (lengths == longest).all():  # one length (generated ids): a reshape
        width = -(-longest // 8) * 8
        padded = np.zeros((n, width), dtype=np.uint8)
        padded[:, :longest] = data[starts[0] : starts[0] + n * longest].reshape(n, longest)
        words = padded.view("<u8")
        for j in range(words.shape[1]):
            hashes ^= words[:, j]
            _mix(hashes)
    else:
        lane = np.arange(8)
        for start in range(0, longest, 8):
            live = np.flatnonzero(lengths > start)
            at = starts[live, None] + start + lane
            inside = (start + lane) < lengths[live, None]
            chunk = np.where(inside, data[np.minimum(at, max(len(data) - 1, 0))], 0)
            word = np.ascontiguousarray(chunk, dtype=np.uint8).view("<u8").ravel()
            hashes[live] = _mix(hashes[live] ^ word)
    if text.null_count:
        hashes[text.is_null().to_numpy(zero_copy_only=False)] = _SEED
    hashes[hashes == 0] = 1
    return hashes


def blank_ids(ids: pd.Series) -> np.ndarray:
    """True where a respondent id is missing or only whitespace."""
    blank = ids.isna().to_numpy()
    text = (
        ids
        if pd.api.types.is_string_dtype(ids.dtype) and ids.dtype != object
        else ids.astype(object).map(
            lambda v: v if isinstance(v, str) else str(v), na_action="ignore"
        )
    )
    stripped = text.str.strip() == ""
    return blank | stripped.fillna(False).to_numpy(dtype=bool)


def _duplicates(
    ids: pd.Series, eligible: np.ndarray, seen, rows: np.ndarray, files: np.ndarray
) -> tuple[np.ndarray, np.ndarray, dict[int, str]]:
    """Rows whose id repeats an earlier eligible row (or ``seen``); every row's id hash (0 if
    blank); and for each duplicate row, where its id was first used ("row 3", "row 5 of a.csv")."""
    hashes = hash_ids(ids)
    blank = blank_ids(ids)
    hashes[blank] = 0
    eligible = eligible & ~blank
    dup = np.zeros(len(ids), dtype=bool)
    candidates = np.flatnonzero(eligible)
    local = pd.Series(hashes[candidates]).duplicated(keep="first").to_numpy()
    dup[candidates[local]] = True
    where: dict[int, str] = {}
    if isinstance(seen, SeenIds):
        found, first_files, first_rows = seen.first_use(hashes[candidates])
        for k in np.flatnonzero(found):  # an earlier chunk or file came first
            i = int(candidates[k])
            where[i] = place_of_first_use(first_files[k], int(first_rows[k]), str(files[i]))
        dup[candidates[found]] = True
    elif seen is not None and len(seen):
        found = in_sorted(seen, hashes[candidates])
        for i in candidates[found].tolist():
            where[i] = "an earlier file or chunk"
        dup[candidates[found]] = True
    if local.any():  # the first use in this chunk, for the repeats not seen before
        first: dict[int, int] = {}
        for i in candidates[~local].tolist():
            first.setdefault(int(hashes[i]), i)
        for i in candidates[local].tolist():
            if i not in where:
                j = first[int(hashes[i])]
                # the first row here is itself a repeat when the id was seen before it
                where[i] = where.get(j) or place_of_first_use(
                    str(files[j]), int(rows[j]), str(files[i])
                )
    return dup, hashes, where


def in_sorted(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """Which ``needles`` occur in the sorted array ``haystack`` (searching in sorted order is
    several times faster than searching random needles in a large array)."""
    if not len(haystack) or not len(needles):
        return np.zeros(len(needles), dtype=bool)
    order = np.argsort(needles, kind="stable")
    ordered = needles[order]
    pos = np.minimum(np.searchsorted(haystack, ordered), len(haystack) - 1)
    found = np.empty(len(needles), dtype=bool)
    found[order] = haystack[pos] == ordered
    return found


class SeenIds:
    """The hashes (:func:`hash_ids`) of the respondent ids kept so far, across chunks and files,
    each with where it was first used (file and row).

    Stored as a few sorted runs of uint64 hashes, each beside a uint64 location (the file's
    index in :attr:`files` and the row number packed in one word), that merge like a binary
    counter (a run merges with the one before it when that one is no larger, up to
    :attr:`_LARGEST_RUN` hashes). Memory is therefore 16 bytes per id (8 for the hash, 8 for
    where it was first used), plus a filter of 16 to 32 bits per id, plus up to 27 MB for a
    moment while two runs merge; each id is merged at most log2(2**20 / chunk) times. A lookup
    first tests the filter (one bit per
    value of the hash's top bits, set for each stored hash, so nothing stored is missed): only
    the hashes it passes (all stored ones, and at most 1 in 16 of the others) search the runs.
    Hash 0 means "blank id" and is never stored. When a hash
    is added twice, the first location is kept.

    Examples
    --------
    >>> seen = SeenIds()
    >>> seen.add(hash_ids(["a", "b"]), rows=[2, 3], file="w1.csv")
    >>> seen.contains(hash_ids(["b", "c"])).tolist()
    [True, False]
    >>> seen.describe(hash_ids(["b"])[0], file="w1.csv"), seen.describe(hash_ids(["b"])[0])
    ('row 3', 'row 3 of w1.csv')
    """

    #: Row numbers take the low 40 bits of a location, the file index + 1 the high 24 bits
    #: (0 means "not known"); rows past 2**40 or files past 2**24 - 1 are stored as not known.
    _ROW_BITS = 40
    #: Bits of the filter per stored hash (at least): a hash not stored passes it with
    #: probability at most 1/16, so lookups search the runs for few hashes.
    _FILTER_BITS_PER_ID = 16
    #: Runs stop merging at this many hashes (16 MB with their locations): merging larger runs
    #: would cost time and a large transient copy, while the filter keeps lookups in many runs
    #: cheap (only the few hashes that pass it search them).
    _LARGEST_RUN = 1 << 20

    def __init__(self) -> None:
        self._runs: list[tuple[np.ndarray, np.ndarray]] = []
        self.files: list[str] = []
        self._file_index: dict[str, int] = {}
        # One bit per value of a hash's top bits, set for every stored hash (a one-hash Bloom
        # filter): searching the large sorted runs costs cache misses, the filter one each.
        self._filter_bits = 16
        self._filter = np.zeros(1 << (self._filter_bits - 6), dtype=np.uint64)

    def _filter_slots(self, hashes: np.ndarray) -> np.ndarray:
        return hashes >> np.uint64(64 - self._filter_bits)

    def _filter_add(self, ordered: np.ndarray) -> None:
        """Set the filter bits of sorted hashes (sorted: the bits of one word are neighbours)."""
        if not len(ordered):
            return
        slots = self._filter_slots(ordered)
        words = slots >> np.uint64(6)
        first = np.flatnonzero(np.concatenate(([True], words[1:] != words[:-1])))
        bits = np.bitwise_or.reduceat(np.uint64(1) << (slots & np.uint64(63)), first)
        self._filter[words[first]] |= bits

    def _filter_passes(self, hashes: np.ndarray) -> np.ndarray:
        slots = self._filter_slots(hashes)
        words = self._filter[slots >> np.uint64(6)]
        return ((words >> (slots & np.uint64(63))) & np.uint64(1)).astype(bool)

    def _grow_filter(self, n_ids: int) -> None:
        """Enlarge the filter to hold ``n_ids`` hashes (rebuilt from the runs: amortised O(1))."""
        needed = n_ids * self._FILTER_BITS_PER_ID
        if needed <= 1 << self._filter_bits:
            return
        self._filter_bits = max(16, int(np.ceil(np.log2(needed))))
        self._filter = np.zeros(1 << (self._filter_bits - 6), dtype=np.uint64)
        for run, _ in self._runs:
            self._filter_add(run)

    def __len__(self) -> int:
        return sum(len(run) for run, _ in self._runs)

    @property
    def n_runs(self) -> int:
        return len(self._runs)

    @property
    def nbytes(self) -> int:
        """Bytes held by the stored hashes and locations."""
        return sum(run.nbytes + where.nbytes for run, where in self._runs)

    def _hits(self, hashes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Whether each hash is stored, and its location (0 where not stored or not known)."""
        hashes = np.asarray(hashes, dtype="uint64")
        found = np.zeros(len(hashes), dtype=bool)
        where = np.zeros(len(hashes), dtype="uint64")
        if not self._runs or not len(hashes):
            return found, where
        maybe = np.flatnonzero(self._filter_passes(hashes))
        if not len(maybe):
            return found, where
        order = maybe[np.argsort(hashes[maybe])]
        ordered = hashes[order]
        hit = np.zeros(len(order), dtype=bool)
        at = np.zeros(len(order), dtype="uint64")
        for run, locations in self._runs:  # oldest run first: the first use wins
            pos = np.minimum(np.searchsorted(run, ordered), len(run) - 1)
            new = (run[pos] == ordered) & ~hit
            at[new] = locations[pos[new]]
            hit |= new
        found[order] = hit
        where[order] = at
        return found, where

    def contains(self, hashes: np.ndarray) -> np.ndarray:
        """True for each hash already stored."""
        return self._hits(hashes)[0]

    def first_use(self, hashes: np.ndarray) -> tuple[np.ndarray, list[str | None], np.ndarray]:
        """For each hash: whether it is stored, the file and the row where it was first used.

        The file is None and the row 0 where the hash is not stored (or its place not known).
        """
        found, where = self._hits(hashes)
        rows = (where & np.uint64((1 << self._ROW_BITS) - 1)).astype("int64")
        index = (where >> np.uint64(self._ROW_BITS)).astype("int64")
        files: list[str | None] = [None] * len(index)
        for k in np.flatnonzero(index).tolist():  # only the hashes found (few) name a file
            files[k] = self.files[index[k] - 1]
        return found, files, rows

    def describe(self, hash_value: int | np.integer, *, file: str | None = None) -> str | None:
        """Where a stored hash was first used, as ``"row 5"`` (in ``file``) or ``"row 5 of
        a.csv"``; None if it is not stored or its place is not known."""
        found, files, rows = self.first_use(np.array([hash_value], dtype="uint64"))
        return place_of_first_use(files[0], int(rows[0]), file) if found[0] else None

    def _location(
        self, rows: Iterable[int] | np.ndarray | None, file: str | None, n: int
    ) -> np.ndarray:
        if rows is None or file is None:
            return np.zeros(n, dtype="uint64")
        index = self._file_index.get(file)
        if index is None:
            index = self._file_index[file] = len(self.files)
            self.files.append(file)
        rows = np.asarray(rows, dtype="int64")
        if len(rows) != n:
            raise ValueError(f"rows: expected {n} row numbers, got {len(rows)}")
        if index + 1 >= 1 << (64 - self._ROW_BITS):
            return np.zeros(n, dtype="uint64")
        fits = (rows > 0) & (rows < 1 << self._ROW_BITS)
        packed = (np.uint64(index + 1) << np.uint64(self._ROW_BITS)) | rows.clip(0).astype("uint64")
        return np.where(fits, packed, np.uint64(0))

    def add(
        self,
        hashes: np.ndarray,
        *,
        rows: Iterable[int] | np.ndarray | None = None,
        file: str | None = None,
    ) -> None:
        """Store more hashes (zeros are ignored), with the rows of ``file`` they were used in."""
        hashes = np.asarray(hashes, dtype="uint64")
        locations = self._location(rows, file, len(hashes))
        order = np.argsort(hashes)
        new = hashes[order]
        repeats = new[1:] == new[:-1]
        if repeats.any():  # stable then: the first row of a repeat comes first
            order = np.argsort(hashes, kind="stable")
            new = hashes[order]
            repeats = new[1:] == new[:-1]
        where = locations[order]
        keep = new != 0
        if len(new) > 1:
            keep[1:] &= ~repeats
        new, where = new[keep], where[keep]
        if not len(new):
            return
        self._grow_filter(len(self) + len(new))
        self._filter_add(new)
        self._runs.append((new, where))
        while (
            len(self._runs) > 1
            and len(self._runs[-2][0]) <= len(self._runs[-1][0])
            and len(self._runs[-2][0]) + len(self._runs[-1][0]) <= self._LARGEST_RUN
        ):
            newer = self._runs.pop()
            self._runs[-1] = _merge_runs(self._runs[-1], newer)


def _merge_runs(
    older: tuple[np.ndarray, np.ndarray], newer: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray]:
    """Merge two sorted runs of (hash, location) in linear time; on equal hashes the older first."""
    a, a_where = older
    b, b_where = newer
    # each of b's elements goes after the a's not greater than it (older first on ties)
    pos = np.searchsorted(a, b, side="right") + np.arange(len(b))
    merged = np.empty(len(a) + len(b), dtype="uint64")
    where = np.empty(len(a) + len(b), dtype="uint64")
    from_a = np.ones(len(merged), dtype=bool)
    from_a[pos] = False
    merged[pos], where[pos] = b, b_where
    merged[from_a], where[from_a] = a, a_where
    return merged, where


def place_of_first_use(first_file: str | None, first_row: int, file: str | None) -> str:
    """``"row 5"`` when the first use is in ``file``, else ``"row 5 of a.csv"``."""
    if first_row <= 0 or first_file is None:
        return "an earlier file or chunk"
    return f"row {first_row}" + (f" of {first_file}" if first_file != file else "")


def merge_seen(seen: np.ndarray | None, new: np.ndarray) -> np.ndarray:
    """Add id hashes to a sorted array of seen hashes (kept sorted, without repeats)."""
    new = np.sort(np.asarray(new, dtype="uint64"))
    if len(new) > 1:
        new = new[np.concatenate(([True], new[1:] != new[:-1]))]
    if seen is None or not len(seen):
        return new
    pos = np.searchsorted(seen, new)
    hit = (pos < len(seen)) & (seen[np.minimum(pos, len(seen) - 1)] == new)
    return np.insert(seen, pos[~hit], new[~hit])


def check_responses(
    table: ResponseTable,
    instrument: Instrument,
    *,
    min_seconds: float | None = None,
    seen_ids: SeenIds | np.ndarray | None = None,
    straight_line_min: int = 10,
) -> CheckedResponses:
    """Check a table of responses against its instrument.

    Parameters
    ----------
    table : ResponseTable
        Responses as a reader returns them.
    instrument : Instrument
        The specification the responses were collected with.
    min_seconds : float, optional
        Flag rows whose ``duration_seconds`` is below this as ``too_fast`` (warning).
    seen_ids : SeenIds or sorted ndarray of uint64, optional
        Hashes (:func:`hash_ids`) of respondent ids kept from earlier files or chunks; rows
        repeating one are rejected as ``duplicate_respondent_id``. Not modified.
    straight_line_min : int, default 10
        Fewest answered items for the ``straight_lining`` flag.

    Returns
    -------
    CheckedResponses

    Notes
    -----
    The rules are listed in the module docstring and ``docs/scoring.md``. Cell errors blank
    the cell only; rows are rejected for ``no_answers`` and ``duplicate_respondent_id``.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> items = pd.DataFrame({"A1": [1.0, None, 9.0], "A2": [2.0, None, 3.0]})
    >>> meta = pd.DataFrame({"source_file": "x.csv", "source_row": [2, 3, 4], "respondent_id": ["a", "b", "a"]})
    >>> checked = check_responses(ResponseTable(items, pd.DataFrame(index=items.index), meta), bfi)
    >>> checked.rejected.tolist(), checked.reasons.tolist()
    ([False, True, True], ['', 'no_answers', 'duplicate_respondent_id'])
    """
    if not isinstance(table, ResponseTable):
        raise TypeError(f"table: expected a ResponseTable, got {type(table).__name__}")
    if min_seconds is not None and not min_seconds >= 0:
        raise ValueError(f"min_seconds: must be zero or more, got {min_seconds!r}")
    meta = table.meta
    n = len(meta)
    rows = _row_numbers(meta)
    files = _source_files(meta, table.source)
    file = str(files[0]) if n else table.source
    problems: list[Problem] = list(table.problems)
    codes, not_applicable, cell_problems = check_items(
        table.items, instrument, rows=rows, files=files, file=file
    )
    background, bg_problems = check_background(table.background, instrument, rows=rows, files=files)
    problems += cell_problems + bg_problems
    item_ids = list(instrument.item_ids)
    skipped = np.zeros(codes.shape, dtype=bool)
    if any(instrument.item_conditions(i) for i in item_ids) and n:
        shown = shown_items(background, instrument)
        hidden = ~shown
        answered_hidden = hidden & (~np.isnan(codes) | not_applicable)
        if answered_hidden.any():
            problems += _column_summary(
                answered_hidden,
                item_ids,
                rows,
                file,
                "answered_but_skipped",
                "warning",
                "hold an answer although the skip logic hides the item for that respondent "
                "(see the questions asked first); set aside as skipped",
            )
            codes[answered_hidden] = np.nan
        skipped = hidden
        not_applicable = not_applicable | skipped
        problems += _column_summary(
            skipped,
            item_ids,
            rows,
            file,
            "skipped_by_design",
            "info",
            "skipped by design (the item was not shown); left out of scoring like not-applicable",
        )

    by_item = codes.T  # the items-major block check_items built (a view, no copy)
    answered = ~np.isnan(by_item)
    n_answered = (
        answered.view(np.int8).sum(axis=0, dtype=np.int32) if n else np.zeros(0, dtype=np.int32)
    )
    no_answers = n_answered == 0
    reasons = np.full(n, "", dtype=object)
    for i in np.flatnonzero(no_answers):
        problems.append(
            Problem(
                str(files[i]),
                int(rows[i]),
                None,
                None,
                "no_answers",
                "error",
                "no item holds an answer on the scale; row not scored",
            )
        )
    reasons[no_answers] = "no_answers"
    blank = np.isnan(codes) & ~not_applicable
    blank[no_answers] = False
    # a column the file lacks is reported once by the reader (missing_item_column), not per cell
    absent = [j for j, i in enumerate(item_ids) if i not in table.items.columns]
    blank[:, absent] = False
    problems += _column_summary(
        blank, item_ids, rows, file, "missing_answer", "warning", "blank where an answer was due"
    )

    id_hashes = np.zeros(n, dtype="uint64")
    if "respondent_id" in meta and n:
        dup, id_hashes, where = _duplicates(
            meta["respondent_id"], ~no_answers, seen_ids, rows, files
        )
        ids = meta["respondent_id"]
        for i in np.flatnonzero(dup):
            problems.append(
                Problem(
                    str(files[i]),
                    int(rows[i]),
                    "respondent_id",
                    shorten(ids.iat[i]),
                    "duplicate_respondent_id",
                    "error",
                    f"respondent id already used in {where[int(i)]}; row not scored",
                )
            )
        reasons[dup] = np.where(
            reasons[dup] == "", "duplicate_respondent_id", reasons[dup] + ";duplicate_respondent_id"
        )

    keyed = np.array([item.keyed for item in instrument.items])
    if (keyed < 0).any() and (keyed > 0).any() and n:
        row_min = np.fmin.reduce(by_item, axis=0)  # fmin/fmax skip NaN
        row_max = np.fmax.reduce(by_item, axis=0)
        flat = (n_answered >= straight_line_min) & (row_min == row_max)
        if flat.any():
            both = answered[keyed < 0].any(axis=0) & answered[keyed > 0].any(axis=0)
            flat &= both
        for i in np.flatnonzero(flat):
            problems.append(
                Problem(
                    str(files[i]),
                    int(rows[i]),
                    None,
                    _format_code(row_min[i]),
                    "straight_lining",
                    "warning",
                    f"the same answer on all {int(n_answered[i])} answered items, positively and reverse keyed "
                    "(possible careless responding); row still scored",
                )
            )

    if min_seconds is not None:
        if DURATION_COLUMN in meta:
            duration = pd.to_numeric(meta[DURATION_COLUMN], errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
            fast = duration < min_seconds
            for i in np.flatnonzero(fast):
                problems.append(
                    Problem(
                        str(files[i]),
                        int(rows[i]),
                        DURATION_COLUMN,
                        _format_code(duration[i]),
                        "too_fast",
                        "warning",
                        f"completed in less than {min_seconds:g} seconds (possible careless "
                        "responding); row still scored",
                    )
                )
        else:
            problems.append(
                Problem(
                    file,
                    None,
                    DURATION_COLUMN,
                    None,
                    "no_duration",
                    "info",
                    "the file has no completion time, so the minimum-seconds check was not made",
                )
            )

    index = meta.index
    return CheckedResponses(
        codes=pd.DataFrame(codes, columns=list(instrument.item_ids), index=index, copy=False),
        not_applicable=pd.DataFrame(
            not_applicable, columns=list(instrument.item_ids), index=index, copy=False
        ),
        background=background,
        meta=meta,
        rejected=pd.Series(reasons != "", index=index, name="rejected"),
        reasons=pd.Series(reasons, index=index, name="reasons", dtype=object),
        problems=problems,
        id_hashes=id_hashes,
        skipped=pd.DataFrame(skipped, columns=item_ids, index=index, copy=False),
    )
