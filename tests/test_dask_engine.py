"""``--engine dask``: the same scoring function on a dask.distributed cluster gives identical results.

Small data (psych's bfi split into files, and synthetic files with duplicate ids) on an
in-process LocalCluster (processes=False, 1-2 workers).
"""

from __future__ import annotations

import builtins
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("dask.distributed")

from instrument.batch.pipeline import run_batch  # noqa: E402
from instrument.errors import UsageError  # noqa: E402
from instrument.spec import load_instrument  # noqa: E402

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]


@pytest.fixture(scope="module")
def bfi():
    return load_instrument(ROOT / "examples" / "bfi.yaml")


@pytest.fixture()
def files(tmp_path):
    frame = pd.read_csv(DATA / "bfi.csv").rename(columns={"Unnamed: 0": "respondent_id"})
    paths = []
    for n, (start, stop) in enumerate([(0, 1200), (1200, 2800)]):
        path = tmp_path / f"part{n}.csv"
        frame.iloc[start:stop].to_csv(path, index=False)
        paths.append(path)
    # a third file repeating two respondents of the first (duplicates across files) and an empty
    # answer row
    extra = frame.iloc[[5, 7]].copy()
    extra.loc[extra.index[1], [c for c in frame.columns[1:26]]] = np.nan
    path = tmp_path / "part2.csv"
    extra.to_csv(path, index=False)
    paths.append(path)
    return paths


def test_dask_engine_equals_local_engine(tmp_path, bfi, files):
    local = run_batch(files, bfi, tmp_path / "local.parquet", jobs=1)
    distributed = run_batch(files, bfi, tmp_path / "dask.parquet", engine="dask", jobs=2)
    expected = pd.read_parquet(tmp_path / "local.parquet").drop(columns="run_id")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask.parquet").drop(columns="run_id"), expected
    )
    assert (
        (distributed.n_read, distributed.n_scored, distributed.n_rejected)
        == (local.n_read, local.n_scored, local.n_rejected)
        == (2802, 2800, 2)
    )
    key = lambda r: sorted((p.file, p.row or 0, p.column or "", p.rule) for p in r.problems)  # noqa: E731
    assert key(distributed) == key(local)
    # and the scores are psych's: psych::scoreItems(keys, bfi[1:25], totals = FALSE, impute =
    # "none"), 1e-9
    reference = pd.read_csv(DATA / "bfi_scores_mean_impute_none.csv")
    np.testing.assert_allclose(
        expected[SCALES].to_numpy(), reference[SCALES].to_numpy(), rtol=0, atol=1e-9
    )


def test_dask_engine_with_a_scheduler_address(tmp_path, bfi, files):
    from dask.distributed import LocalCluster

    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        run_batch(
            files[:2],
            bfi,
            tmp_path / "dask.csv",
            engine="dask",
            scheduler=cluster.scheduler_address,
        )
    run_batch(files[:2], bfi, tmp_path / "local.csv", jobs=1)
    pd.testing.assert_frame_equal(
        pd.read_csv(tmp_path / "dask.csv").drop(columns="run_id"),
        pd.read_csv(tmp_path / "local.csv").drop(columns="run_id"),
    )


def test_clear_message_without_dask(tmp_path, bfi, files, monkeypatch):
    real_import = builtins.__import__

    def no_dask(name, *args, **kwargs):
        if name == "dask" or name.startswith("dask."):
            raise ImportError("No module named 'dask'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_dask)
    with pytest.raises(UsageError, match=r"mhdq\[dask\]"):
        run_batch(files, bfi, tmp_path / "x.csv", engine="dask")
    assert not (tmp_path / "x.csv").exists()


def test_dask_engine_keeps_the_synthetic_marker(tmp_path, bfi):
    # a simulated file (synthetic marker, an empty row) beside one without the marker
    (tmp_path / "sim.csv").write_text(
        "respondent_id,A1,A2,synthetic\ns1,1,2,synthetic\n,,,\ns3,2,2,synthetic\n", encoding="utf-8"
    )
    (tmp_path / "real.csv").write_text("respondent_id,A1,A2\nr1,1,2\n", encoding="utf-8")
    files = [tmp_path / "sim.csv", tmp_path / "real.csv"]
    local = run_batch(files, bfi, tmp_path / "local.parquet", jobs=1)
    distributed = run_batch(files, bfi, tmp_path / "dask.parquet", engine="dask", jobs=2)
    expected = pd.read_parquet(tmp_path / "local.parquet").drop(columns="run_id")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "dask.parquet").drop(columns="run_id"), expected
    )
    assert expected["synthetic"].fillna("").tolist() == ["synthetic", "synthetic", ""]
    assert distributed.synthetic and local.synthetic
    assert distributed.n_skipped == local.n_skipped == 1


@pytest.mark.slow
def test_dask_engine_exits_without_a_traceback(tmp_path, files):
    # Issue 10, case 12: 1 of 4 successful runs printed a CommClosedError traceback at exit.
    import os
    import subprocess
    import sys

    for attempt in range(4):
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                "from analysis.cli import main; main()",
                "score",
                *map(str, files),
                "--instrument",
                str(ROOT / "examples" / "bfi.yaml"),
                "--engine",
                "dask",
                "--jobs",
                "2",
                "--out",
                str(tmp_path / f"s{attempt}.parquet"),
            ],
            capture_output=True,
            text=True,
            timeout=300,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        assert done.returncode == 0, done.stderr
        assert "Traceback" not in done.stderr and "CommClosedError" not in done.stderr
