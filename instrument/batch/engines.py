"""The dask engine of batch scoring (``mhdq score --engine dask``).

Each input file is read and checked in one dask task; the checked rows are scored partition by
partition with ``dask.dataframe.map_partitions`` and the same pure function the local engine
uses (:func:`~instrument.batch.pipeline.score_frame`), so both engines give identical results.
Accounting is that of the local engine: a file that breaks is refused whole, cross-file
duplicate ids are removed in input order.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd

from instrument.batch.pipeline import (
    BatchOptions,
    ChunkResult,
    Tally,
    drop_cross_file_duplicates,
    id_hashes,
    iter_chunks,
    process_chunk,
    remember_ids,
    score_frame,
)
from instrument.check import SeenIds
from instrument.errors import DataError, MHDQError, UsageError
from instrument.problems import Problem
from instrument.readers.assemble import SYNTHETIC_COLUMN
from instrument.spec import Instrument


def checked_file(
    path: Path, instrument: Instrument, options: BatchOptions
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Dask task: read and check one whole file; return its kept rows and the accounting."""
    frames: list[pd.DataFrame] = []
    problems: list[Problem] = []
    n_read = n_rejected = 0
    seen = SeenIds()
    try:
        for table in iter_chunks(path, instrument, options):
            result = process_chunk(table, instrument, options, seen_ids=seen, score=False)
            frames.append(result.output)
            problems += result.problems
            n_read += result.n_read
            n_rejected += result.n_rejected
            remember_ids(seen, result.hashes, result.output)
    except MHDQError as exc:  # all or nothing, as the local engine
        return empty_checked(instrument, options), {
            "error": str(exc),
            "problems": [],
            "n_read": 0,
            "n_rejected": 0,
        }
    frame = pd.concat(frames, ignore_index=True) if frames else empty_checked(instrument, options)
    return frame, {"error": None, "problems": problems, "n_read": n_read, "n_rejected": n_rejected}


def empty_checked(instrument: Instrument, options: BatchOptions) -> pd.DataFrame:
    columns: dict[str, Any] = {
        "respondent_id": pd.Series(dtype=object),
        "source_file": pd.Series(dtype=object),
        "source_row": pd.Series(dtype="int64"),
    }
    columns.update(
        {
            name: pd.Series(dtype=object if name == SYNTHETIC_COLUMN else "float64")
            for name in options.keep
        }
    )
    columns.update({item_id: pd.Series(dtype="float64") for item_id in instrument.item_ids})
    if any(rs.not_applicable is not None for rs in instrument.response_scales.values()):
        columns.update({f"{item_id}__na": pd.Series(dtype=bool) for item_id in instrument.item_ids})
    return pd.DataFrame(columns)


def iter_dask_outputs(
    files: list[Path],
    instrument: Instrument,
    options: BatchOptions,
    tally: Tally,
    *,
    progress,
    scheduler: str | None,
    jobs: int,
) -> Iterator[pd.DataFrame]:
    """Check each file in a dask task, score the partitions with ``dask.dataframe.map_partitions``.

    One partition per input file; the scoring function is :func:`score_frame`, the same pure
    function the local engine uses. Cross-file duplicate ids are removed here, in input order.
    """
    try:
        import dask
        import dask.dataframe as dd
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise UsageError(
            "--engine dask needs dask: pip install 'mhdq[dask]' (dask[dataframe,distributed])"
        ) from None
    cluster = None
    if scheduler:
        try:
            client = Client(scheduler, timeout="10s")
        except OSError as exc:
            raise UsageError(
                f"--scheduler {scheduler}: cannot connect to the dask scheduler ({exc})"
            ) from None
    else:
        cluster = LocalCluster(
            n_workers=max(1, min(jobs, len(files))),
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
        )
        client = Client(cluster)
    try:
        parts = [
            dask.delayed(checked_file, nout=2, pure=False)(path, instrument, options)
            for path in files
        ]
        meta_in = empty_checked(instrument, options)
        with dask.config.set({"dataframe.convert-string": False}):
            ddf = dd.from_delayed([frame for frame, _ in parts], meta=meta_in, verify_meta=False)
            meta_out = score_frame(meta_in, instrument, options)
            scored = ddf.map_partitions(score_frame, instrument, options, meta=meta_out)
            partitions = scored.to_delayed()
        futures = client.compute(list(partitions) + [info for _, info in parts])
        score_futures, info_futures = futures[: len(files)], futures[len(files) :]
        for n, (path, score_future, info_future) in enumerate(
            zip(files, score_futures, info_futures, strict=True)
        ):
            info = info_future.result()
            if info["error"] is not None:
                tally.refuse(path, DataError(info["error"]))
                continue
            tally.n_read += info["n_read"]
            tally.n_rejected += info["n_rejected"]
            tally.problems.extend(info["problems"])
            frame = score_future.result().reset_index(drop=True)
            for column in frame.columns:  # dask may hand back text as pandas' NA-string dtype
                if isinstance(frame[column].dtype, pd.StringDtype):
                    frame[column] = frame[column].to_numpy(dtype=object, na_value=None)
            hashes = id_hashes(frame["respondent_id"].astype(object))
            if progress is not None:
                progress(info["n_read"], str(path))
            yield drop_cross_file_duplicates(
                ChunkResult(frame, hashes, [], len(frame), 0), tally, remember=n < len(files) - 1
            )
            tally.problems.finish_file(str(path))
    finally:
        _close_dask(client, cluster)


def _close_dask(client, cluster) -> None:
    """Shut the client and a local cluster down in order, without the exit-time noise.

    Closing the client first lets its comms finish before the cluster's workers stop (a
    ``CommClosedError`` traceback was printed at exit otherwise); distributed's own loggers
    are quietened for the shutdown only, since a closed connection is then expected.
    """
    import logging

    names = ("distributed", "distributed.comm", "distributed.core", "distributed.worker")
    loggers = [logging.getLogger(name) for name in names]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        client.close(timeout=10)
        if cluster is not None:
            cluster.close(timeout=10)
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
