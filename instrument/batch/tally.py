"""The accounting of a batch run: problem records spilled to disk, counted by rule.

A run over millions of rows can find millions of problems (one bad cell per row); held as
Python objects they cost about 1.4 KB each. :class:`ProblemLog` keeps at most ``buffer_rows``
records in memory and writes the rest to a Parquet spill file in chunks, while counting records
by rule and severity, so peak memory stays bounded whatever the number of problems. It is a
read-only sequence of :class:`~instrument.problems.Problem` (reading back from the spill file
when iterated), so code that used a list keeps working.

Records that only count something (``empty_row_skipped`` rows; ``not_applicable``,
``declared_missing``, ``missing_answer`` and skip-logic cells; ``answer_label_coded`` answers)
are merged into one record per file (and column) with the total, so the result does not depend
on how a file was split into chunks.
"""

from __future__ import annotations

import functools
import os
import re
import shutil
import tempfile
import weakref
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import pandas as pd

from instrument.check import SeenIds
from instrument.problems import Problem, problems_frame
from instrument.readers.assemble import (
    EMPTY_ROW_RULE,
    LABEL_CODED_RULE,
    label_coded_counts,
    label_coded_message,
)

#: Rules whose records count the cells of a column (``"N cell(s) ... (first rows: a, b, c)"``).
_CELL_COUNTS = re.compile(r"^(\d+) cell\(s\) (.*) \(first rows: ([0-9, ]*)\)$")
_COUNTED_CELL_RULES = (
    "not_applicable",
    "declared_missing",
    "missing_answer",
    "skipped_by_design",
    "answered_but_skipped",
)
_EMPTY_COUNT = re.compile(r"^([\d,]+) empty row\(s\) .*\(first rows: ([0-9, ]*)\)$")
#: Records written to the spill file at a time.
DEFAULT_BUFFER_ROWS = 20_000


class ProblemLog(Sequence[Problem]):
    """Problem records of a run, bounded in memory (spilled to a Parquet file past a buffer).

    Parameters
    ----------
    buffer_rows : int, default 20,000
        Records held in memory before they are written to the spill file.
    folder : Path, optional
        Where the spill file is made (default: the system's temporary folder). It is removed
        when the log is garbage-collected or :meth:`discard` is called.
    """

    def __init__(self, buffer_rows: int = DEFAULT_BUFFER_ROWS, folder: Path | None = None):
        self._buffer: list[Problem] = []
        self._buffer_rows = buffer_rows
        self._folder = folder
        self._spill: Path | None = None
        self._writer: Any = None
        self._spilled = 0
        self.counts: Counter[tuple[str, str]] = Counter()
        self.n_skipped = 0
        # merged counting records: key -> [count, first rows, template Problem]
        self._merged: dict[tuple, list] = {}
        self._finalizer: weakref.finalize | None = None

    # --- adding -------------------------------------------------------------------------------
    def add(self, problem: Problem) -> None:
        if problem.rule == EMPTY_ROW_RULE:
            merged = _EMPTY_COUNT.match(problem.message)  # already merged (by a worker)
            count = int(merged.group(1).replace(",", "")) if merged else 1
            rows = _rows(merged.group(2)) if merged else [problem.row]
            self._merge((problem.file, None, EMPTY_ROW_RULE), problem, count, rows)
            self.n_skipped += count
            return
        if problem.rule == LABEL_CODED_RULE and problem.row is None:
            counts = label_coded_counts(problem.message)
            if counts is not None:
                entry = self._merged.setdefault(
                    (problem.file, None, LABEL_CODED_RULE), [Counter(), [], problem]
                )
                entry[0].update(counts)
                return
        if problem.rule in _COUNTED_CELL_RULES:
            match = _CELL_COUNTS.match(problem.message)
            if match:
                rows = _rows(match.group(3))
                key = (problem.file, problem.column, problem.rule)
                self._merge(key, problem, int(match.group(1)), rows)
                return
        self._store(problem)

    def extend(self, problems: Iterable[Problem]) -> None:
        for problem in problems:
            self.add(problem)

    def absorb(self, frames: Iterable[pd.DataFrame]) -> None:
        """Take over finished records (frames with :data:`PROBLEM_COLUMNS`) of one file, as is.

        The records of a file scored elsewhere (in a worker, or apart so that a file refused
        later leaves nothing behind) are appended without turning each into a Python object.
        """
        for frame in frames:
            if not len(frame):
                continue
            self._flush()
            for (rule, severity), n in frame.groupby(["rule", "severity"]).size().items():
                self.counts[(str(rule), str(severity))] += int(n)
            for message in frame.loc[frame["rule"] == EMPTY_ROW_RULE, "message"]:
                merged = _EMPTY_COUNT.match(str(message))
                self.n_skipped += int(merged.group(1).replace(",", "")) if merged else 1
            self._write(_normalised(frame))

    def _merge(self, key: tuple, problem: Problem, count: int, rows: list) -> None:
        entry = self._merged.get(key)
        if entry is None:
            self._merged[key] = [count, [r for r in rows if r is not None][:3], problem]
            return
        entry[0] += count
        if len(entry[1]) < 3:
            entry[1] = sorted(entry[1] + [r for r in rows if r is not None])[:3]

    def _store(self, problem: Problem) -> None:
        self.counts[(problem.rule, problem.severity)] += 1
        self._buffer.append(problem)
        if len(self._buffer) >= self._buffer_rows:
            self._flush()

    def _flush(self) -> None:
        if not self._buffer:
            return
        self._write(_as_frame(self._buffer))
        self._buffer = []

    def _write(self, frame: pd.DataFrame) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, schema=problem_schema(), preserve_index=False)
        if self._writer is None:
            if self._spill is not None:
                raise RuntimeError("ProblemLog: records added after finish()")
            folder = tempfile.mkdtemp(prefix=f".mhdq-problems-{os.getpid()}-", dir=self._folder)
            self._spill = Path(folder) / "problems.parquet"
            self._writer = pq.ParquetWriter(self._spill, problem_schema())
            self._finalizer = weakref.finalize(self, shutil.rmtree, folder, True)
        self._writer.write_table(table)
        self._spilled += len(frame)

    def finish_file(self, path: str) -> None:
        """Emit the merged counting records of ``path`` (call once the file is done)."""
        for key in [k for k in self._merged if k[0] == path]:
            count, rows, template = self._merged.pop(key)
            first = ", ".join(str(r) for r in rows)
            if key[2] == LABEL_CODED_RULE:
                message, row = label_coded_message(dict(count)), None
            elif key[2] == EMPTY_ROW_RULE:
                message = (
                    f"{count:,} empty row(s) (no respondent id, no answers): not respondents, "
                    f"skipped (first rows: {first})"
                )
                row = rows[0] if rows else None
            else:
                match = _CELL_COUNTS.match(template.message)
                what = match.group(2) if match else template.rule
                message = f"{count} cell(s) {what} (first rows: {first})"
                row = template.row
            self._store(
                Problem(
                    template.file,
                    row,
                    template.column,
                    template.value,
                    template.rule,
                    template.severity,
                    message,
                )
            )

    def finish(self) -> ProblemLog:
        """Emit every pending merged record and close the spill file; returns self."""
        for path in sorted({k[0] for k in self._merged}):
            self.finish_file(path)
        if self._writer is not None:
            self._flush()
            self._writer.close()
            self._writer = None
        return self

    def discard(self) -> None:
        """Remove the spill file now."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._finalizer is not None:
            self._finalizer()

    # --- reading ------------------------------------------------------------------------------
    @property
    def n_errors(self) -> int:
        return sum(n for (_, severity), n in self.counts.items() if severity == "error")

    def summary(self) -> pd.DataFrame:
        """Records counted by ``rule`` and ``severity`` (columns ``rule, severity, n``)."""
        rows = sorted((rule, severity, n) for (rule, severity), n in self.counts.items())
        return pd.DataFrame(
            {
                "rule": pd.Series([r[0] for r in rows], dtype=object),
                "severity": pd.Series([r[1] for r in rows], dtype=object),
                "n": pd.Series([r[2] for r in rows], dtype="int64"),
            }
        )

    def frames(self, rows: int = 100_000) -> Iterator[pd.DataFrame]:
        """The records as DataFrames of at most ``rows`` records (spilled first, then buffered)."""
        if self._writer is not None:
            self.finish()
        if self._spill is not None and self._spill.exists():
            import pyarrow.parquet as pq

            for batch in pq.ParquetFile(self._spill).iter_batches(batch_size=rows):
                frame = batch.to_pandas()
                frame["row"] = frame["row"].astype("Int64")
                yield frame
        for start in range(0, len(self._buffer), rows):
            yield problems_frame(self._buffer[start : start + rows])

    def __len__(self) -> int:
        return self._spilled + len(self._buffer)

    def __iter__(self) -> Iterator[Problem]:
        for frame in self.frames():
            for record in frame.itertuples(index=False):
                yield Problem(
                    record.file,
                    None if pd.isna(record.row) else int(record.row),
                    None if pd.isna(record.column) else record.column,
                    None if pd.isna(record.value) else record.value,
                    record.rule,
                    record.severity,
                    record.message,
                )

    @overload
    def __getitem__(self, index: int) -> Problem: ...
    @overload
    def __getitem__(self, index: slice) -> list[Problem]: ...
    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(self)[index]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError("problem index out of range")
        if index >= self._spilled:
            return self._buffer[index - self._spilled]
        for n, problem in enumerate(self):
            if n == index:
                return problem
        raise IndexError("problem index out of range")  # pragma: no cover


def _rows(text: str) -> list[int]:
    return [int(r) for r in text.split(",") if r.strip()]


def _as_frame(problems: list[Problem]) -> pd.DataFrame:
    return _normalised(problems_frame(problems))


def _normalised(frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.copy()
    for column in ("file", "column", "value", "rule", "severity", "message"):
        frame[column] = frame[column].astype(object)
    frame["row"] = frame["row"].astype("float64").astype("Int64")
    return frame


@functools.cache
def problem_schema():
    import pyarrow as pa

    return pa.schema(
        [
            ("file", pa.string()),
            ("row", pa.int64()),
            ("column", pa.string()),
            ("value", pa.string()),
            ("rule", pa.string()),
            ("severity", pa.string()),
            ("message", pa.string()),
        ]
    )


def unreadable_problem(path: Path, error: Exception) -> Problem:
    return Problem(
        str(path),
        None,
        None,
        None,
        "unreadable_file",
        "error",
        f"the file could not be read: {error}",
    )


@dataclass
class Tally:
    """What the files read so far add up to. A file counts only once it was read to its end."""

    n_read: int = 0
    n_rejected: int = 0
    problems: ProblemLog = field(default_factory=ProblemLog)
    unreadable: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    seen: SeenIds = field(default_factory=SeenIds)
    counts: pd.DataFrame | None = None

    def refuse(self, path: Path, error: Exception) -> None:
        """Record a file that could not be read (to its end): nothing of it is used."""
        self.problems.add(unreadable_problem(path, error))
        self.problems.finish_file(str(path))
        self.unreadable.append(str(path))
        self.reasons.append(str(error))
