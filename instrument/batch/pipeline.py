"""Scoring many response files: streamed, in parallel, with every problem reported.

:func:`run_batch` reads each input file in chunks (:func:`instrument.read.iter_response_chunks`),
checks each chunk (:func:`instrument.check.check_responses`), scores it
(:func:`instrument.score.score_items`), optionally adds norm scores, and writes one output table
and one problem list, atomically. :func:`fit_norms` runs the same pipeline to learn a
:class:`~instrument.norms.NormTable`.

Guarantees (tested in ``tests/test_batch.py``):

* rows read = rows scored + rows rejected, and every rejected row has at least one error record
  saying why; rows holding nothing at all (not even an id) are not read but skipped by the reader, each with
  an ``empty_row_skipped`` info record (:attr:`BatchResult.n_skipped`);
* memory is bounded by a few chunks whatever the input size (CSV and Parquet are streamed; the
  ids seen so far are kept as 64-bit hashes beside the place each was first used, 16 bytes per
  respondent plus a filter of 2 to 4, :class:`~instrument.check.SeenIds`);
* duplicate respondent ids are found across chunks and files: the first occurrence in input order
  is kept, whatever order parallel workers finish in;
* results do not depend on ``jobs``, ``chunk_rows`` or the engine;
* scores of simulated input (a ``synthetic`` marker column) carry that column.
"""

from __future__ import annotations

import glob
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from instrument.batch.tally import ProblemLog, Tally
from instrument.check import SeenIds, blank_ids, check_responses, hash_ids, place_of_first_use
from instrument.errors import DataError, MHDQError, UsageError
from instrument.io.safety import DEFAULT_LIMITS, ReadLimits
from instrument.norms import NormTable
from instrument.problems import Problem, problems_frame, shorten
from instrument.read import iter_response_chunks, read_header
from instrument.readers.assemble import SYNTHETIC_COLUMN
from instrument.responses import ResponseTable
from instrument.score import IMPUTE_METHODS, code_counts, medians_from_counts, score_items
from instrument.spec import Instrument

#: File extensions read when a folder is given (case-insensitive).
KNOWN_EXTENSIONS = (
    ".csv",
    ".tsv",
    ".txt",
    ".xlsx",
    ".xlsm",
    ".xls",
    ".sav",
    ".zsav",
    ".parquet",
    ".pq",
)
#: Columns that lead every output table.
ID_COLUMNS = ["respondent_id", "source_file", "source_row"]
#: Column of both published files holding the id of the run that wrote them.
RUN_ID_COLUMN = "run_id"
#: Rule of the problem list's first record, the run's summary.
RUN_RULE = "run"


def new_run_id() -> str:
    """A fresh run id: 12 random hex digits (48 bits; two runs share one with probability
    about 2**-48)."""
    import secrets

    return secrets.token_hex(6)


DEFAULT_CHUNK_ROWS = 100_000
ENGINES = ("local", "dask")


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def expand_inputs(inputs: list[str | Path]) -> list[Path]:
    """Files named by ``inputs``: files, glob patterns and folders (searched recursively).

    Raises
    ------
    UsageError
        Naming an input that does not exist, a pattern that matches nothing, a folder without
        response files, or a file whose extension is not one of :data:`KNOWN_EXTENSIONS`.
    """
    if not inputs:
        raise UsageError("no input files given")
    found: list[Path] = []
    for entry in inputs:
        text = str(entry)
        path = Path(text)
        if path.is_dir():
            files = sorted(
                p
                for p in path.rglob("*")
                if p.is_file()
                and p.suffix.lower() in KNOWN_EXTENSIONS
                and not p.name.startswith(".")
            )
            if not files:
                raise UsageError(
                    f"{path}: the folder holds no response files ({', '.join(KNOWN_EXTENSIONS)})"
                )
            found += files
        elif path.exists():
            if not path.is_file():
                raise UsageError(f"{path}: not a regular file")
            if path.suffix.lower() not in KNOWN_EXTENSIONS:
                raise UsageError(
                    f"{path}: unknown file type {path.suffix or '(no extension)'!r}; "
                    f"allowed: {', '.join(KNOWN_EXTENSIONS)}"
                )
            found.append(path)
        elif glob.has_magic(text):
            matches = sorted(Path(p) for p in glob.glob(text, recursive=True))
            files = [p for p in matches if p.is_file() and p.suffix.lower() in KNOWN_EXTENSIONS]
            if not files:
                raise UsageError(f"{text}: no response files match this pattern")
            found += files
        else:
            raise UsageError(f"{path}: file not found")
    unique: list[Path] = []
    seen: set[Path] = set()
    for path in found:
        key = path.resolve()
        if key not in seen:
            seen.add(key)
            unique.append(path)
    return unique


def estimate_rows(path: Path) -> int | None:
    """Rough number of data rows in a file, for progress bars (None when unknown)."""
    suffix = path.suffix.lower()
    try:
        if suffix in (".parquet", ".pq"):
            import pyarrow.parquet as pq

            return pq.ParquetFile(path).metadata.num_rows
        if suffix in (".csv", ".tsv", ".txt"):
            size = path.stat().st_size
            with open(path, "rb") as handle:
                head = handle.read(1 << 16)
            lines = head.count(b"\n")
            if lines < 2:
                return 1
            return max(1, int(size / (len(head) / lines)) - 1)
    except (OSError, ValueError, TypeError):  # pyarrow's errors included; the reader reports them
        return None
    return None


# --------------------------------------------------------------------------------------------
# Options and results
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class BatchOptions:
    """How responses are read, checked and scored (everything a worker process needs).

    Attributes
    ----------
    impute : {"none", "median"}
    medians : Series or None
        Item medians for ``impute="median"`` (learned over all files by :func:`run_batch`).
    min_seconds : float or None
        ``too_fast`` threshold on ``duration_seconds``.
    rename, recode : mapping or None
        Passed to the reader.
    norms : NormTable or None
        Adds ``<scale>_z``, ``_t`` and ``_pct`` columns.
    keep : tuple of str
        Background or metadata columns to carry into the output (e.g. the ``--by`` group).
    chunk_rows : int
        Rows per chunk when streaming CSV and Parquet.
    straight_line_min : int
        Fewest answered items for the straight-lining flag.
    item_scorers : tuple
        Extra scorers working on the item codes (e.g. IRT trait scores from ``mhdq score
        --irt-params``): each has ``score(codes, instrument) -> DataFrame`` (same rows) and
        ``labels(instrument) -> dict``; their columns are appended after the scores.
    """

    impute: str = "none"
    medians: pd.Series | None = None
    min_seconds: float | None = None
    rename: Mapping[str, str] | None = None
    recode: Mapping[str, Mapping[Any, int]] | None = None
    norms: NormTable | None = None
    keep: tuple[str, ...] = ()
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    straight_line_min: int = 10
    item_scorers: tuple[Any, ...] = ()


@dataclass
class ChunkResult:
    """One checked and scored chunk: the kept rows' output and everything needed to account for it."""

    output: pd.DataFrame
    hashes: np.ndarray
    problems: list[Problem]
    n_read: int
    n_rejected: int
    counts: pd.DataFrame | None = None


@dataclass(frozen=True)
class BatchResult:
    """What a batch run did.

    Attributes
    ----------
    files : tuple of str
        Input files, in the order read.
    n_read, n_scored, n_rejected : int
        Rows read, scored and rejected (``n_read == n_scored + n_rejected``).
    problems : sequence of Problem
        Every problem found; each rejected row has an error record. Rows skipped as empty are
        counted in one ``empty_row_skipped`` info record per file. A :class:`ProblemLog`:
        records past a buffer are kept in a temporary file, not in memory.
    output : Path or None
        The scores file (None in strict mode with errors, or when no row was scored).
    problems_path : Path or None
    unreadable : tuple of str
        Files that could not be read to their end (each has an ``unreadable_file`` problem;
        nothing of such a file is scored or counted).
    synthetic : bool
        Some input carries the ``synthetic`` marker column of simulated data; the scores then
        carry it too.
    reasons : tuple of str
        Why each of ``unreadable`` could not be read (same order), for the console.
    run_id : str or None
        The run's id, written in the ``run_id`` column of both published files (every row of
        the scores; the problem list's first record, rule ``run``, and every other record), so
        that two files can be told to belong to the same run. None when nothing was written.
    """

    files: tuple[str, ...]
    n_read: int
    n_scored: int
    n_rejected: int
    problems: Sequence[Problem] = field(default_factory=list)
    output: Path | None = None
    problems_path: Path | None = None
    unreadable: tuple[str, ...] = ()
    synthetic: bool = False
    reasons: tuple[str, ...] = ()
    run_id: str | None = None

    def _log(self) -> ProblemLog:
        if isinstance(self.problems, ProblemLog):
            return self.problems
        log = ProblemLog()
        log.extend(self.problems)
        return log.finish()

    @property
    def n_errors(self) -> int:
        return self._log().n_errors

    @property
    def n_skipped(self) -> int:
        """Rows skipped by the reader as holding nothing at all (not counted in ``n_read``)."""
        return self._log().n_skipped

    def summary(self) -> pd.DataFrame:
        """Problems counted by ``rule`` and ``severity`` (columns ``rule, severity, n``)."""
        return self._log().summary()


# --------------------------------------------------------------------------------------------
# One chunk: the pure core
# --------------------------------------------------------------------------------------------
def id_hashes(ids: pd.Series) -> np.ndarray:
    """Hashes of respondent ids, 0 for a blank id (never a duplicate)."""
    if not len(ids):
        return np.zeros(0, dtype="uint64")
    hashes = hash_ids(ids)
    hashes[blank_ids(ids)] = 0
    return hashes


def score_frame(frame: pd.DataFrame, instrument: Instrument, options: BatchOptions) -> pd.DataFrame:
    """Score a frame of checked rows: the pure step mapped over chunks and dask partitions.

    Parameters
    ----------
    frame : DataFrame
        ``respondent_id, source_file, source_row``, the ``options.keep`` columns, one column of
        checked codes per item, and ``<item>__na`` flags for not-applicable cells (optional).

    Returns
    -------
    DataFrame
        The identifying and ``keep`` columns, then :func:`~instrument.score.score_items`'s
        columns, then the norm columns when ``options.norms`` is set.
    """
    na_columns = [f"{i}__na" for i in instrument.item_ids if f"{i}__na" in frame.columns]
    na = None
    if na_columns:
        na = frame[na_columns].astype(bool)
        na.columns = [c[: -len("__na")] for c in na_columns]
    scores = score_items(
        frame, instrument, not_applicable=na, impute=options.impute, medians=options.medians
    )
    scores = _with_item_scorers(scores, frame, instrument, options)
    return _with_norms(pd.concat([frame[ID_COLUMNS + list(options.keep)], scores], axis=1), options)


def _with_item_scorers(
    scores: pd.DataFrame, codes: pd.DataFrame, instrument: Instrument, options: BatchOptions
) -> pd.DataFrame:
    extra = [scorer.score(codes, instrument) for scorer in options.item_scorers]
    return pd.concat([scores, *(e.set_axis(scores.index) for e in extra)], axis=1)


def _with_norms(output: pd.DataFrame, options: BatchOptions) -> pd.DataFrame:
    if options.norms is None:
        return output
    group = None
    if options.norms.group_ is not None:
        group = (
            output[options.norms.group_]
            if options.norms.group_ in output.columns
            else pd.Series(np.nan, index=output.index)
        )
    return options.norms.transform(output, group=group)


def _identity(
    checked, table: ResponseTable, kept: np.ndarray | None, options: BatchOptions
) -> dict[str, Any]:
    """The identifying and ``keep`` columns of the kept rows."""
    meta = checked.meta if kept is None else checked.meta[kept]
    n = len(meta)
    # Text columns stay pandas/arrow arrays (no per-row Python objects); the file name is a
    # categorical with one category per file (a dictionary column in Parquet).
    columns: dict[str, Any] = {
        "respondent_id": meta["respondent_id"].astype("str").array
        if "respondent_id" in meta
        else pd.array([None] * n, dtype="str"),
        "source_file": (
            meta["source_file"]
            if "source_file" in meta
            else pd.Series(np.full(n, table.source, dtype=object))
        )
        .astype("category")
        .array,
        "source_row": meta["source_row"].to_numpy(dtype="int64")
        if "source_row" in meta
        else np.arange(2, n + 2, dtype="int64"),
    }
    background = checked.background
    if len(background.columns) and kept is not None:
        background = background[kept]
    for name in options.keep:
        if name == SYNTHETIC_COLUMN:  # text in every file, also where a file lacks the marker
            marker = meta[name] if name in meta.columns else pd.Series([None] * n, dtype=object)
            columns[name] = pd.array(marker.to_numpy(dtype=object), dtype="str")
        elif name in background.columns:
            columns[name] = background[name].to_numpy()
        elif name in meta.columns:
            columns[name] = meta[name].to_numpy()
        else:
            columns[name] = np.full(n, np.nan)
    return columns


def process_chunk(
    table: ResponseTable,
    instrument: Instrument,
    options: BatchOptions,
    *,
    seen_ids: SeenIds | None = None,
    with_counts: bool = False,
    score: bool = True,
) -> ChunkResult:
    """Check and score one chunk; return the output rows of the rows kept.

    Parameters
    ----------
    table : ResponseTable
        A chunk as the reader yields it.
    instrument : Instrument
    options : BatchOptions
    seen_ids : SeenIds, optional
        Hashes of the ids of rows kept earlier (not modified).
    with_counts : bool, default False
        Also return the answer-code counts of the kept rows (for medians over many chunks).
    score : bool, default True
        False returns the checked rows (:func:`score_frame`'s input) instead of scores.

    Returns
    -------
    ChunkResult
        ``output``: ``respondent_id, source_file, source_row``, the ``keep`` columns, the
        scores and ``_n`` counts of :func:`~instrument.score.score_items`, and the norm
        columns when ``options.norms`` is set; ``hashes``: id hashes of the kept rows (0 for a
        blank id).
    """
    checked = check_responses(
        table,
        instrument,
        min_seconds=options.min_seconds,
        seen_ids=seen_ids,
        straight_line_min=options.straight_line_min,
    )
    kept = ~checked.rejected.to_numpy()
    selector = None if kept.all() else kept
    codes = checked.codes if selector is None else checked.codes[kept]
    na = checked.not_applicable if selector is None else checked.not_applicable[kept]
    identity = _identity(checked, table, selector, options)
    if score:
        scores = score_items(
            codes,
            instrument,
            not_applicable=na,
            impute=options.impute,
            medians=options.medians,
            trusted=True,
        )
        scores = _with_item_scorers(scores, codes, instrument, options)
        output = pd.concat([pd.DataFrame(identity, index=scores.index), scores], axis=1)
        output = _with_norms(output, options).reset_index(drop=True)
    else:
        columns = dict(identity)
        columns.update({item_id: codes[item_id].to_numpy() for item_id in instrument.item_ids})
        if any(rs.not_applicable is not None for rs in instrument.response_scales.values()):
            columns.update(
                {f"{item_id}__na": na[item_id].to_numpy() for item_id in instrument.item_ids}
            )
        output = pd.DataFrame(columns)
    all_hashes = checked.id_hashes
    if all_hashes is None:  # check_responses always sets them; None only in hand-made results
        all_hashes = np.zeros(checked.n_rows, dtype="uint64")
    hashes = all_hashes if selector is None else all_hashes[kept]
    counts = code_counts(codes, instrument) if with_counts else None
    return ChunkResult(output, hashes, checked.problems, checked.n_rows, checked.n_rejected, counts)


class _WriteBehind:
    """Hand chunks to ``write`` in a background thread, at most ``depth`` chunks behind.

    Encoding Parquet (pyarrow releases the GIL) then overlaps with scoring the next chunk. An
    exception in the writer is re-raised in the caller at the next :meth:`put` or at
    :meth:`finish`.
    """

    _DONE = object()

    def __init__(self, write: Callable[[pd.DataFrame], None], depth: int = 2):
        import queue
        import threading

        self._write = write
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="mhdq-write-behind", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is self._DONE:
                return
            if self._error is not None:
                continue  # drain after a failure so the producer never blocks
            try:
                self._write(item)
            except BaseException as exc:  # noqa: BLE001 - re-raised in the caller
                self._error = exc

    def _raise(self) -> None:
        if self._error is not None:
            error, self._error = self._error, None
            raise error

    def put(self, frame: pd.DataFrame) -> None:
        self._raise()
        self._queue.put(frame)

    def finish(self) -> None:
        self._queue.put(self._DONE)
        self._thread.join()
        self._raise()

    def cancel(self) -> None:
        self._error = self._error or RuntimeError("cancelled")
        self._queue.put(self._DONE)
        self._thread.join()


#: Streamed files (CSV, Parquet) are bounded by the chunk size, not by Excel's row limit;
#: workbooks and SPSS files, read whole, keep every default bound (as ``mhdq validate`` does).
_STREAM_LIMITS = ReadLimits(max_rows=2**40, max_cells=2**50)


def _is_synthetic(path: Path) -> bool:
    """Whether a file carries the ``synthetic`` marker column of simulated data (``mhdq simulate``).

    A file that cannot be read counts as not synthetic here; the scoring pass reports it.
    """
    try:
        return any(
            name.strip().casefold() == SYNTHETIC_COLUMN
            for name in read_header(path, limits=DEFAULT_LIMITS, stream_limits=_STREAM_LIMITS)
        )
    except MHDQError:
        return False


def iter_chunks(
    path: Path, instrument: Instrument, options: BatchOptions
) -> Iterator[ResponseTable]:
    """The chunks of one file, as :func:`instrument.read.iter_response_chunks` streams them."""
    return iter_response_chunks(
        path,
        instrument,
        chunk_rows=options.chunk_rows,
        rename=options.rename,
        recode=options.recode,
        limits=DEFAULT_LIMITS,
        stream_limits=_STREAM_LIMITS,
    )


# --------------------------------------------------------------------------------------------
# Many chunks, many files
# --------------------------------------------------------------------------------------------
def remember_ids(seen: SeenIds, hashes: np.ndarray, output: pd.DataFrame) -> None:
    """Add the id hashes of kept output rows to ``seen``, with the file and row of each."""
    if len(hashes):
        seen.add(
            hashes,
            rows=output["source_row"].to_numpy(dtype="int64"),
            file=str(output["source_file"].iat[0]),
        )


def drop_cross_file_duplicates(
    result: ChunkResult, tally: Tally, *, remember: bool = True
) -> pd.DataFrame:
    """Reject kept rows whose id was kept in an earlier file; register the rest as seen
    (unless ``remember`` is False: no file comes after this one)."""
    hashes = result.hashes
    output = result.output
    if len(hashes) and len(tally.seen):
        found, first_files, first_rows = tally.seen.first_use(hashes)
        dup = (hashes != 0) & found
        if dup.any():
            for i in np.flatnonzero(dup):
                file = str(output["source_file"].iat[i])
                where = place_of_first_use(first_files[i], int(first_rows[i]), file)
                tally.problems.add(
                    Problem(
                        file,
                        int(output["source_row"].iat[i]),
                        "respondent_id",
                        shorten(output["respondent_id"].iat[i]),
                        "duplicate_respondent_id",
                        "error",
                        f"respondent id already used in {where}; row not scored",
                    )
                )
            tally.n_rejected += int(dup.sum())
            output = output[~dup].reset_index(drop=True)
            hashes = hashes[~dup]
    if remember:
        remember_ids(tally.seen, hashes, output)
    return output


def _score_file(
    path: Path,
    instrument: Instrument,
    options: BatchOptions,
    part: Path,
    *,
    score: bool = True,
    progress: Callable[[int, str], None] | None = None,
) -> tuple[dict[str, Any], ProblemLog]:
    """Check and score one whole file into the Parquet file ``part``; all or nothing.

    Returns the accounting (``error`` is None when the file was read to its end) and the file's
    problem records. A file that breaks anywhere (damaged late, a quote never closed, a bound
    exceeded) is refused as a whole: its part is removed and only the error is returned, so
    the result never depends on where a chunk boundary fell.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    log = ProblemLog(folder=part.parent)
    hashes: list[np.ndarray] = []
    n_read = n_rejected = 0
    seen = SeenIds()
    writer = None
    try:
        for table in iter_chunks(path, instrument, options):
            result = process_chunk(table, instrument, options, seen_ids=seen, score=score)
            log.extend(result.problems)
            n_read += result.n_read
            n_rejected += result.n_rejected
            hashes.append(result.hashes)
            remember_ids(seen, result.hashes, result.output)
            arrow = pa.Table.from_pandas(result.output, preserve_index=False)
            if writer is None:
                schema = arrow.schema
                writer = pq.ParquetWriter(part, schema)
            elif not arrow.schema.equals(schema):
                arrow = arrow.cast(schema)
            writer.write_table(arrow)
            if progress is not None:
                progress(result.n_read, str(path))
    except MHDQError as exc:
        if writer is not None:
            writer.close()
        part.unlink(missing_ok=True)
        log.discard()
        return {"error": str(exc), "n_read": 0, "n_rejected": 0}, ProblemLog()
    except BaseException:
        if writer is not None:
            writer.close()
        part.unlink(missing_ok=True)
        log.discard()
        raise
    if writer is not None:
        writer.close()
    log.finish_file(str(path))
    return {
        "error": None,
        "part": part if writer is not None else None,
        "hashes": np.concatenate(hashes) if hashes else np.zeros(0, dtype="uint64"),
        "n_read": n_read,
        "n_rejected": n_rejected,
    }, log.finish()


def _score_file_in_worker(
    path: Path, instrument: Instrument, options: BatchOptions, part: Path, score: bool
) -> dict[str, Any]:
    """Worker process: :func:`_score_file`, its problem records written to a Parquet part."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    done, log = _score_file(path, instrument, options, part, score=score)
    if len(log):
        problems_part = part.with_suffix(".problems.parquet")
        with pq.ParquetWriter(problems_part, _problem_schema()) as writer:
            for frame in log.frames():
                writer.write_table(
                    pa.Table.from_pandas(frame, schema=_problem_schema(), preserve_index=False)
                )
        done["problems_part"] = problems_part
    log.discard()
    return done


def _problem_schema():
    from instrument.batch.tally import problem_schema

    return problem_schema()


def _take_file(
    path: Path,
    done: dict[str, Any],
    log: ProblemLog | None,
    tally: Tally,
    chunk_rows: int,
    *,
    last: bool = False,
) -> Iterator[pd.DataFrame]:
    """Account for one file a worker read, then yield its kept rows (cross-file duplicates out).

    ``last``: no file comes after this one, so its ids need not be remembered.
    """
    import pyarrow.parquet as pq

    if done["error"] is not None:
        tally.refuse(path, DataError(done["error"]))
        return
    tally.n_read += done["n_read"]
    tally.n_rejected += done["n_rejected"]
    if log is not None:
        tally.problems.absorb(log.frames())
        log.discard()
    elif done.get("problems_part") is not None:
        part = pq.ParquetFile(done["problems_part"])
        tally.problems.absorb(batch.to_pandas() for batch in part.iter_batches(batch_size=50_000))
        Path(done["problems_part"]).unlink(missing_ok=True)
    if done["part"] is not None:
        offset = 0
        for batch in pq.ParquetFile(done["part"]).iter_batches(batch_size=chunk_rows):
            frame = batch.to_pandas()
            hashes = done["hashes"][offset : offset + len(frame)]
            offset += len(frame)
            yield drop_cross_file_duplicates(
                ChunkResult(frame, hashes, [], len(frame), 0), tally, remember=not last
            )
        Path(done["part"]).unlink(missing_ok=True)
    tally.problems.finish_file(str(path))


#: Prefix of the folder holding a run's temporary parts (followed by the process id).
PARTS_PREFIX = ".mhdq-parts-"


class Discard:
    """Marker yielded by :func:`_iter_outputs` (with ``provisional=True``): every row yielded
    before it is void (the first file broke after some of its chunks were handed on)."""


DISCARD = Discard()


def _stream_first_file(
    path: Path,
    instrument: Instrument,
    options: BatchOptions,
    tally: Tally,
    folder: Path,
    *,
    score: bool,
    last: bool,
    progress: Callable[[int, str], None] | None,
) -> Iterator[pd.DataFrame | Discard]:
    """The first file, chunk by chunk straight to the consumer (no part file), then accounted.

    Nothing was yielded before it, so no earlier file's ids can repeat here and a file that
    breaks late is undone by one :data:`DISCARD`: the result is that of :func:`_score_file`
    followed by :func:`_take_file`, without writing the scores twice.
    """
    log = ProblemLog(folder=folder)
    seen = SeenIds()
    n_read = n_rejected = 0
    yielded = False
    try:
        for table in iter_chunks(path, instrument, options):
            result = process_chunk(table, instrument, options, seen_ids=seen, score=score)
            log.extend(result.problems)
            n_read += result.n_read
            n_rejected += result.n_rejected
            remember_ids(seen, result.hashes, result.output)
            if progress is not None:
                progress(result.n_read, str(path))
            yielded = True
            yield result.output
    except MHDQError as exc:
        log.discard()
        if yielded:
            yield DISCARD
        tally.refuse(path, DataError(str(exc)))
        return
    except BaseException:
        log.discard()
        raise
    log.finish_file(str(path))
    tally.n_read += n_read
    tally.n_rejected += n_rejected
    tally.problems.absorb(log.finish().frames())
    log.discard()
    if not last:
        tally.seen = seen
    tally.problems.finish_file(str(path))


def _iter_outputs(
    files: list[Path],
    instrument: Instrument,
    options: BatchOptions,
    tally: Tally,
    *,
    jobs: int,
    progress: Callable[[int, str], None] | None,
    score: bool = True,
    engine: str = "local",
    scheduler: str | None = None,
    scratch: Path | None = None,
    provisional: bool = False,
) -> Iterator[pd.DataFrame | Discard]:
    """Output rows of every kept respondent, file by file in input order, chunk by chunk.

    Each file is scored whole into a part file (in this process, or in a worker when ``jobs``
    > 1) and counted only once it was read to its end; cross-file duplicate ids are then
    removed in input order. ``scratch`` is the folder for the part files (default: the
    system's temporary folder).

    ``provisional``: the consumer can undo what it was given, so the first file read in this
    process streams its chunks straight through as they are scored (no part file); should it
    break late, :data:`DISCARD` says that every row yielded so far is void.
    """
    if engine == "dask":
        from instrument.batch.engines import iter_dask_outputs

        yield from iter_dask_outputs(
            files, instrument, options, tally, progress=progress, scheduler=scheduler, jobs=jobs
        )
        return
    folder = Path(tempfile.mkdtemp(prefix=f"{PARTS_PREFIX}{os.getpid()}-", dir=scratch))
    try:
        if jobs <= 1 or len(files) <= 1:
            for n, path in enumerate(files):
                if provisional and n == 0:
                    yield from _stream_first_file(
                        path,
                        instrument,
                        options,
                        tally,
                        folder,
                        score=score,
                        last=len(files) == 1,
                        progress=progress,
                    )
                    continue
                done, log = _score_file(
                    path,
                    instrument,
                    options,
                    folder / f"part{n:06d}.parquet",
                    score=score,
                    progress=progress,
                )
                yield from _take_file(
                    path, done, log, tally, options.chunk_rows, last=n == len(files) - 1
                )
            return
        from instrument.batch.workers import (
            pool_context,
            run_alive_pipe,
            signals_deferred,
            start_worker,
        )

        context = pool_context()
        run_alive, run_alive_writer = run_alive_pipe(context)
        pool = ProcessPoolExecutor(
            max_workers=jobs,
            mp_context=context,
            initializer=start_worker,
            initargs=(run_alive,),
        )
        try:
            # the workers start at the first submits: a stop signal waits until they have
            # their work (a worker cut off while starting printed a traceback)
            with signals_deferred():
                futures = [
                    pool.submit(
                        _score_file_in_worker,
                        path,
                        instrument,
                        options,
                        folder / f"part{n:06d}.parquet",
                        score,
                    )
                    for n, path in enumerate(files)
                ]
            for n, (path, future) in enumerate(zip(files, futures, strict=True)):
                done = future.result()
                if progress is not None:
                    progress(done["n_read"], str(path))
                yield from _take_file(
                    path, done, None, tally, options.chunk_rows, last=n == len(files) - 1
                )
        except BaseException:
            # the executor drops its process table on shutdown: take it first
            workers = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in workers:
                process.terminate()  # an interrupted run does not wait for busy workers
            run_alive_writer.close()
            raise
        pool.shutdown(wait=True)
        run_alive_writer.close()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _check_options(instrument: Instrument, impute: str, jobs: int | None, engine: str) -> int:
    if not isinstance(instrument, Instrument):
        raise TypeError(f"instrument: expected an Instrument, got {type(instrument).__name__}")
    if impute not in IMPUTE_METHODS:
        raise UsageError(f"impute: {impute!r} is not allowed; allowed: {', '.join(IMPUTE_METHODS)}")
    if engine not in ENGINES:
        raise UsageError(f"engine: {engine!r} is not allowed; allowed: {', '.join(ENGINES)}")
    if jobs is None:
        return os.cpu_count() or 1
    if isinstance(jobs, bool) or not isinstance(jobs, int) or jobs < 1:
        raise UsageError(f"jobs: must be a whole number of 1 or more, got {jobs!r}")
    return jobs


def _medians(files, instrument, options, progress, scratch: Path | None = None) -> pd.Series:
    """Item medians over every row kept (pass 1 of ``impute="median"``), from merged code counts."""
    tally = Tally()
    counts = None
    items = list(instrument.item_ids)
    for frame in _iter_outputs(
        files,
        instrument,
        replace(options, impute="none", norms=None),
        tally,
        jobs=1,
        progress=None,
        score=False,
        scratch=scratch,
        provisional=True,
    ):
        if isinstance(frame, Discard):  # the first file broke: nothing of it counts
            counts = None
            continue
        if len(frame):
            chunk = code_counts(frame[items], instrument)
            counts = chunk if counts is None else counts + chunk
    tally.problems.discard()
    if counts is None:
        return pd.Series(np.nan, index=items)
    # Counted after cross-file duplicates are removed: exactly the rows pass 2 scores.
    return medians_from_counts(counts)


def run_batch(
    inputs: list[str | Path],
    instrument: Instrument,
    out: str | Path,
    *,
    problems_path: str | Path | None = None,
    strict: bool = False,
    impute: str = "none",
    norms: NormTable | None = None,
    min_seconds: float | None = None,
    rename: Mapping[str, str] | None = None,
    recode: Mapping[str, Mapping[Any, int]] | None = None,
    jobs: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    engine: str = "local",
    scheduler: str | None = None,
    lang: str | None = None,
    progress: Callable[[int, str], None] | None = None,
    item_scorers: tuple[Any, ...] = (),
) -> BatchResult:
    """Read, check and score response files; write the scores and the problem list.

    Parameters
    ----------
    inputs : list of str or Path
        Files, glob patterns and folders (searched recursively for :data:`KNOWN_EXTENSIONS`).
    instrument : Instrument
    out : str or Path
        Scores file: ``.csv``, ``.parquet``, ``.xlsx`` or ``.sav`` (variable labels = scale
        labels).
    problems_path : str or Path, optional
        Problem list; default ``<out stem>.problems.csv`` beside ``out``.
    strict : bool, default False
        When any error-severity problem is found, write no scores (only the problem list).
    impute : {"none", "median"}, default "none"
        ``"median"`` makes a first pass for the item medians over every kept row of every file.
    norms : NormTable, optional
        Add z, T and percentile columns (refused if made for another instrument).
    min_seconds : float, optional
        ``too_fast`` threshold.
    rename, recode : mapping, optional
        Passed to :func:`instrument.read.read_responses`.
    jobs : int, optional
        Worker processes for several files (default: the number of cores). One file is read in
        this process, chunk by chunk.
    chunk_rows : int, default 100,000
        Rows per chunk.
    engine : {"local", "dask"}, default "local"
        ``"dask"`` scores on a dask.distributed cluster (``scheduler`` address, or a local one).
    lang : str, optional
        Language of the variable labels.
    progress : callable, optional
        Called as ``progress(rows_done, file)`` after each chunk or file.
    item_scorers : tuple, optional
        Extra scorers on the item codes (:attr:`BatchOptions.item_scorers`).

    Returns
    -------
    BatchResult

    Notes
    -----
    Rows are rejected by the rules of :mod:`instrument.check`; duplicate ids across files keep
    the first occurrence in input order. The output holds the kept rows only, in input order.
    """
    jobs = _check_options(instrument, impute, jobs, engine)
    from instrument.io.write import output_lock, remove_stale_parts, table_format

    out = Path(out)
    table_format(out)
    problems_out = (
        Path(problems_path)
        if problems_path is not None
        else out.with_name(f"{out.stem}.problems.csv")
    )
    if problems_out.suffix.lower() not in (".csv", ".xlsx", ".parquet"):
        raise UsageError(f"{problems_out}: the problem list is written as .csv, .xlsx or .parquet")
    files = expand_inputs(inputs)
    resolved = {p.resolve() for p in files}
    for target in (out, problems_out):
        if target.resolve() in resolved:
            raise UsageError(f"{target}: is also an input file; choose another output name")
    if norms is not None:
        norms.check_instrument(instrument, source="--norms")
    with output_lock(out):
        remove_stale_parts(out.parent)
        if problems_out.parent != out.parent:
            remove_stale_parts(problems_out.parent)
        return _run_locked(
            files,
            instrument,
            out,
            problems_out,
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
            progress=progress,
            item_scorers=item_scorers,
        )


def _run_locked(
    files: list[Path],
    instrument: Instrument,
    out: Path,
    problems_out: Path,
    *,
    strict: bool,
    impute: str,
    norms: NormTable | None,
    min_seconds: float | None,
    rename,
    recode,
    jobs: int,
    chunk_rows: int,
    engine: str,
    scheduler: str | None,
    lang: str | None,
    progress,
    item_scorers: tuple[Any, ...] = (),
) -> BatchResult:
    """:func:`run_batch` once the output is locked: score, then publish both outputs together."""
    from instrument.io.write import TableWriter
    from instrument.score import score_labels

    synthetic = any(_is_synthetic(path) for path in files)
    keep = ((norms.group_,) if norms is not None and norms.group_ else ()) + (
        (SYNTHETIC_COLUMN,) if synthetic else ()
    )
    options = BatchOptions(
        impute=impute,
        min_seconds=min_seconds,
        rename=rename,
        recode=recode,
        norms=norms,
        keep=keep,
        chunk_rows=chunk_rows,
        item_scorers=tuple(item_scorers),
    )
    if impute == "median":
        options = replace(
            options, medians=_medians(files, instrument, options, None, scratch=out.parent)
        )
    labels = score_labels(instrument, lang)
    labels.update(
        {
            "respondent_id": "Respondent id",
            "source_file": "File the answers were read from",
            "source_row": "Row in that file (header = 1)",
        }
    )
    if synthetic:
        labels[SYNTHETIC_COLUMN] = "Synthetic (simulated) data"
    run_id = new_run_id()
    labels[RUN_ID_COLUMN] = "Run that wrote this file (the same id is in its problem list)"
    for scorer in item_scorers:
        labels.update(scorer.labels(instrument))
    if norms is not None:
        for scale in norms.scales_:
            base = labels.get(scale, scale)
            labels.update(
                {
                    f"{scale}_z": f"{base}: z score",
                    f"{scale}_t": f"{base}: T score",
                    f"{scale}_pct": f"{base}: percentile rank",
                }
            )
    measure = {c: "scale" for c in labels if c not in ID_COLUMNS}
    measure.update({"respondent_id": "nominal", "source_file": "nominal", "source_row": "scale"})
    if synthetic:
        measure[SYNTHETIC_COLUMN] = "nominal"
    measure[RUN_ID_COLUMN] = "nominal"
    value_labels = {}
    language = instrument.check_language(lang)
    for name in options.keep:  # a grouping question carried into the output keeps its labels
        if name in instrument.background_ids:
            question = next(q for q in instrument.background if q.id == name)
            labels[name] = question.label.get(language, name)
            if question.choices:
                value_labels[name] = {
                    c.code: c.label.get(language, str(c.code)) for c in question.choices
                }
                measure[name] = "nominal"
    tally = Tally(problems=ProblemLog(folder=out.parent))

    def scores_writer() -> TableWriter:
        return TableWriter(out, labels=labels, value_labels=value_labels, measure=measure)

    writer = scores_writer()
    problems_writer = TableWriter(problems_out, sheet_name="problems")
    writer.open()
    try:
        problems_writer.open()
        behind = _WriteBehind(writer.write)
        try:
            for output in _iter_outputs(
                files,
                instrument,
                options,
                tally,
                jobs=jobs,
                progress=progress,
                engine=engine,
                scheduler=scheduler,
                scratch=out.parent,
                provisional=True,
            ):
                if isinstance(output, Discard):  # the first file broke: start the scores anew
                    behind.cancel()
                    writer.abort()
                    writer = scores_writer()
                    writer.open()
                    behind = _WriteBehind(writer.write)
                    continue
                output[RUN_ID_COLUMN] = constant_text(run_id, len(output))
                behind.put(output)
        except BaseException:
            behind.cancel()
            raise
        behind.finish()
        log = tally.problems.finish()
        n_scored = tally.n_read - tally.n_rejected
        # No scores file when nothing was scored or strict mode found errors; an older scores
        # file at ``out`` would then sit beside this run's problem list, so it goes too.
        publish_scores = n_scored > 0 and not (strict and log.n_errors)
        if publish_scores:
            writer.finish()
        else:
            writer.abort()
        summary = Problem(
            str(out),
            None,
            None,
            None,
            RUN_RULE,
            "info",
            f"run {run_id}: {tally.n_read:,} rows read = {n_scored:,} scored + "
            f"{tally.n_rejected:,} rejected; "
            + (f"scores in {out.name}" if publish_scores else "no scores file written"),
        )
        problems_writer.write(_problem_columns(problems_frame([summary]), run_id))
        for frame in log.frames():
            problems_writer.write(_problem_columns(frame, run_id))
        problems_writer.finish()
        # Both files are complete; publish them one right after the other.
        written = None
        if publish_scores:
            written = writer.publish()
        else:
            out.unlink(missing_ok=True)
        problems_writer.publish()
    except BaseException:
        writer.abort()
        problems_writer.abort()
        tally.problems.discard()
        raise
    return BatchResult(
        tuple(str(p) for p in files),
        tally.n_read,
        n_scored,
        tally.n_rejected,
        log,
        written,
        problems_out,
        tuple(tally.unreadable),
        synthetic,
        tuple(tally.reasons),
        run_id,
    )


def constant_text(value: str, n: int) -> pd.api.extensions.ExtensionArray:
    """``n`` copies of ``value`` as a pandas text array, built in pyarrow (no Python strings)."""
    import pyarrow as pa

    single = pa.DictionaryArray.from_arrays(pa.array(np.zeros(n, dtype=np.int8)), pa.array([value]))
    return pd.array(single.cast(pa.string()), dtype="str")


def _problem_columns(frame: pd.DataFrame, run_id: str) -> pd.DataFrame:
    frame = frame.copy()
    # text, also where a column holds only blanks (the run record has no column or value): the
    # first frame fixes the file's schema
    for column in ("file", "column", "value", "rule", "severity", "message"):
        frame[column] = pd.array(frame[column].to_numpy(dtype=object), dtype="str")
    frame[RUN_ID_COLUMN] = constant_text(run_id, len(frame))
    return frame


def fit_norms(
    inputs: list[str | Path],
    instrument: Instrument,
    *,
    by: str | None = None,
    impute: str = "none",
    min_seconds: float | None = None,
    rename=None,
    recode=None,
    jobs: int | None = None,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    progress: Callable[[int, str], None] | None = None,
) -> tuple[NormTable, BatchResult]:
    """Score response files and learn a :class:`NormTable` from the scores (optionally per ``by`` group).

    ``by`` names a background question or metadata column (e.g. ``gender``). Returns the fitted
    table and the run's :class:`BatchResult` (nothing is written).
    """
    jobs = _check_options(instrument, impute, jobs, "local")
    if by is not None and by not in instrument.background_ids:
        raise UsageError(
            f"--by {by}: not a background question of {instrument.metadata.short_name}; "
            f"background questions: {', '.join(instrument.background_ids) or 'none'}"
        )
    files = expand_inputs(inputs)
    options = BatchOptions(
        impute=impute,
        min_seconds=min_seconds,
        rename=rename,
        recode=recode,
        # the synthetic marker travels with the scores, so norms of simulated data say so
        keep=((by,) if by else ())
        + ((SYNTHETIC_COLUMN,) if any(_is_synthetic(p) for p in files) else ()),
        chunk_rows=chunk_rows,
    )
    if impute == "median":
        options = replace(options, medians=_medians(files, instrument, options, None))
    table = NormTable(instrument=instrument)
    tally = Tally()
    fitted = False
    for output in _iter_outputs(
        files, instrument, options, tally, jobs=jobs, progress=progress, provisional=True
    ):
        if isinstance(output, Discard):  # the first file broke: nothing of it counts
            table, fitted = NormTable(instrument=instrument), False
            continue
        if len(output) or not fitted:
            table.partial_fit(output, group=by)
            fitted = True
    if not fitted:
        table.fit(pd.DataFrame({s.id: pd.Series(dtype=float) for s in instrument.scales}))
    result = BatchResult(
        tuple(str(p) for p in files),
        tally.n_read,
        tally.n_read - tally.n_rejected,
        tally.n_rejected,
        tally.problems.finish(),
        None,
        None,
        tuple(tally.unreadable),
        reasons=tuple(tally.reasons),
    )
    return table, result
