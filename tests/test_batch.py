"""Batch scoring (instrument/batch/pipeline.py, instrument/io/write.py): accounting, duplicates across files,
parallel = serial, atomic output, strict mode, output formats, psych parity through the pipeline.

Synthetic files are built from the synthetic test instrument (tests/data/scoring_spec.yaml) and
from psych's bfi data (tests/data/bfi.csv) split into several files.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from instrument.batch.pipeline import expand_inputs, fit_norms, run_batch
from instrument.check import ROW_REJECTING_RULES
from instrument.errors import UsageError
from instrument.io.write import TableWriter
from instrument.spec import load_instrument

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
BFI_SCALES = ["agree", "conscientious", "extraversion", "neuroticism", "openness"]
ITEMS = [f"a{i}" for i in range(1, 7)] + [f"b{i}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def spec():
    return load_instrument(DATA / "scoring_spec.yaml")


@pytest.fixture(scope="module")
def bfi():
    return load_instrument(ROOT / "examples" / "bfi.yaml")


@pytest.fixture()
def bfi_files(tmp_path):
    frame = pd.read_csv(DATA / "bfi.csv").rename(columns={"Unnamed: 0": "respondent_id"})
    paths = []
    for n, (start, stop) in enumerate([(0, 1000), (1000, 1900), (1900, 2800)]):
        path = tmp_path / f"bfi_part{n}.csv"
        frame.iloc[start:stop].to_csv(path, index=False)
        paths.append(path)
    return paths


def synthetic_files(folder: Path) -> list[Path]:
    """Two small CSV files with every kind of row problem (synthetic)."""
    rng = np.random.default_rng(7)
    first = pd.DataFrame(rng.integers(1, 6, (8, 12)), columns=ITEMS).astype(object)
    first.insert(
        0, "respondent_id", ["p1", "p2", "p3", "p4", "p2", "p5", "p6", "=cmd|' /C calc'!A0"]
    )
    first.loc[3, ITEMS] = (
        None  # p4: no answers (but a background answer, so the reader keeps it) -> rejected
    )
    first["gender"] = 1
    first.loc[1, "a1"] = "x"  # text: cell blanked only
    first.loc[2, "a2"] = 7  # outside the scale: cell blanked only
    first.loc[5, ITEMS] = 3  # p5: straight-lining (warning, kept)
    second = pd.DataFrame(rng.integers(1, 6, (4, 12)), columns=ITEMS).astype(object)
    second.insert(
        0, "respondent_id", ["p9", "p1", "p10", "p9"]
    )  # p1 repeats file 1; p9 repeats itself
    paths = [folder / "wave1.csv", folder / "wave2.csv"]
    first.to_csv(paths[0], index=False)
    second.to_csv(paths[1], index=False)
    return paths


def check_accounting(result):
    assert result.n_read == result.n_scored + result.n_rejected
    errors = {
        (p.file, p.row)
        for p in result.problems
        if p.severity == "error" and p.rule in ROW_REJECTING_RULES
    }
    assert len(errors) == result.n_rejected  # every rejected row has an error record saying why


def test_accounting_and_duplicates_across_files(tmp_path, spec):
    files = synthetic_files(tmp_path)
    result = run_batch(files, spec, tmp_path / "scores.csv", jobs=1)
    check_accounting(result)
    assert (result.n_read, result.n_scored, result.n_rejected) == (12, 8, 4)
    rejected = sorted(
        (Path(p.file).name, p.row, p.rule)
        for p in result.problems
        if p.rule in ("no_answers", "duplicate_respondent_id")
    )
    assert rejected == [
        ("wave1.csv", 5, "no_answers"),
        ("wave1.csv", 6, "duplicate_respondent_id"),
        ("wave2.csv", 3, "duplicate_respondent_id"),
        ("wave2.csv", 5, "duplicate_respondent_id"),
    ]
    rules = {p.rule for p in result.problems}
    assert {"text_not_code", "code_outside_scale", "straight_lining"} <= rules
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert scores["respondent_id"].tolist() == [
        "p1",
        "p2",
        "p3",
        "p5",
        "p6",
        "'=cmd|' /C calc'!A0",
        "p9",
        "p10",
    ]
    assert scores["source_row"].tolist() == [2, 3, 4, 7, 8, 9, 2, 4]
    problems = pd.read_csv(tmp_path / "scores.problems.csv")  # default name beside the output
    assert len(problems) == len(result.problems) + 1  # and the run's own record, first


def problem_key(result):
    return sorted((p.file, p.row or 0, p.column or "", p.rule) for p in result.problems)


def test_parallel_equals_serial(tmp_path, spec):
    files = synthetic_files(tmp_path)
    serial = run_batch(files, spec, tmp_path / "serial.parquet", jobs=1)
    parallel = run_batch(files, spec, tmp_path / "parallel.parquet", jobs=2)
    parallel_chunked = run_batch(
        files, spec, tmp_path / "parallel_chunked.parquet", jobs=2, chunk_rows=3
    )
    expected = pd.read_parquet(tmp_path / "serial.parquet").drop(columns="run_id")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "parallel.parquet").drop(columns="run_id"), expected
    )
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "parallel_chunked.parquet").drop(columns="run_id"), expected
    )
    assert problem_key(parallel) == problem_key(serial) == problem_key(parallel_chunked)
    for result in (serial, parallel, parallel_chunked):
        check_accounting(result)


def test_chunked_equals_serial(tmp_path, spec):
    files = synthetic_files(tmp_path)
    serial = run_batch(files, spec, tmp_path / "serial.parquet", jobs=1)
    chunked = run_batch(files, spec, tmp_path / "chunked.parquet", jobs=1, chunk_rows=3)
    check_accounting(chunked)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "chunked.parquet").drop(columns="run_id"),
        pd.read_parquet(tmp_path / "serial.parquet").drop(columns="run_id"),
    )
    assert problem_key(chunked) == problem_key(serial)


def test_bfi_through_the_batch_matches_psych(tmp_path, bfi, bfi_files):
    # psych::scoreItems(keys, bfi[1:25], totals = FALSE, impute = "none" | "median"); tolerance
    # 1e-9.
    # With impute="median" the medians are taken over all three files together, as psych does
    # over the whole sample.
    for impute in ("none", "median"):
        out = tmp_path / f"bfi_{impute}.parquet"
        result = run_batch(bfi_files, bfi, out, impute=impute, jobs=2)
        check_accounting(result)
        assert result.n_scored == 2800
        scores = pd.read_parquet(out)
        reference = pd.read_csv(DATA / f"bfi_scores_mean_impute_{impute}.csv")
        np.testing.assert_allclose(
            scores[BFI_SCALES].to_numpy(), reference[BFI_SCALES].to_numpy(), rtol=0, atol=1e-9
        )
        assert scores["respondent_id"].iloc[0] == "61617"


def test_interrupted_write_leaves_no_output(tmp_path, spec, monkeypatch):
    files = synthetic_files(tmp_path)
    out = tmp_path / "scores.parquet"
    out.write_bytes(b"previous run")
    original = TableWriter.write
    calls = {"n": 0}

    def failing_write(self, frame):
        calls["n"] += 1
        if calls["n"] == 2:
            raise KeyboardInterrupt("simulated interruption")
        return original(self, frame)

    monkeypatch.setattr(TableWriter, "write", failing_write)
    with pytest.raises(KeyboardInterrupt):
        run_batch(files, spec, out, jobs=1)
    assert out.read_bytes() == b"previous run"  # untouched
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".part")]  # no temporary left
    assert not (tmp_path / "scores.problems.csv").exists()


def test_strict_writes_only_problems(tmp_path, spec):
    files = synthetic_files(tmp_path)
    result = run_batch(files, spec, tmp_path / "scores.csv", strict=True, jobs=1)
    assert result.output is None and result.n_errors > 0
    assert not (tmp_path / "scores.csv").exists()
    assert (tmp_path / "scores.problems.csv").exists()
    clean = tmp_path / "clean"
    clean.mkdir()
    pd.DataFrame({"respondent_id": ["a", "b"], **{i: [1, 2] for i in ITEMS}}).to_csv(
        clean / "ok.csv", index=False
    )
    result = run_batch([clean], spec, clean / "scores.csv", strict=True, jobs=1)
    assert result.output == clean / "scores.csv" and result.n_errors == 0


@pytest.mark.parametrize("suffix", [".xlsx", ".sav", ".csv"])
def test_output_formats(tmp_path, spec, suffix):
    files = synthetic_files(tmp_path)
    out = tmp_path / f"scores{suffix}"
    run_batch(files, spec, out, jobs=1)
    if suffix == ".sav":
        import pyreadstat

        frame, meta = pyreadstat.read_sav(out)
        assert meta.column_names_to_labels["a"] == "Facet A (mean score)"
        assert meta.column_names_to_labels["total"] == "Total (sum score)"
    elif suffix == ".xlsx":
        frame = pd.read_excel(out, engine="openpyxl")
        from openpyxl import load_workbook

        sheet = load_workbook(out)["scores"]
        ids = [c.value for c in sheet["A"]]
        assert "'=cmd|' /C calc'!A0" in ids  # stored as text, not a formula
        assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    else:
        frame = pd.read_csv(out)
    assert len(frame) == 8
    assert list(frame.columns[:3]) == ["respondent_id", "source_file", "source_row"]


def test_norms_in_the_batch(tmp_path, bfi, bfi_files):
    norms, result = fit_norms(bfi_files, bfi, by="gender", jobs=1)
    assert result.n_scored == 2800 and sorted(norms.norms_) == ["1", "2"]
    reference = pd.read_csv(
        DATA / "bfi_scores_mean_impute_none.csv"
    )  # psych::scoreItems(impute = "none")
    gender = pd.read_csv(DATA / "bfi.csv")["gender"]
    women = reference.loc[gender.to_numpy() == 2, "agree"]
    assert norms.norms_["2"]["agree"]["mean"] == pytest.approx(women.mean(), abs=1e-12)
    assert norms.norms_["2"]["agree"]["sd"] == pytest.approx(women.std(ddof=1), abs=1e-12)
    out = tmp_path / "normed.parquet"
    run_batch(bfi_files, bfi, out, norms=norms, jobs=1)
    scored = pd.read_parquet(out)
    z = (reference["agree"] - women.mean()) / women.std(ddof=1)
    np.testing.assert_allclose(
        scored.loc[gender.to_numpy() == 2, "agree_z"], z[gender.to_numpy() == 2], atol=1e-9
    )
    assert {"agree_t", "agree_pct", "gender"} <= set(scored.columns)
    import pyreadstat

    run_batch(bfi_files, bfi, tmp_path / "normed.sav", norms=norms, jobs=1)
    _, meta = pyreadstat.read_sav(tmp_path / "normed.sav")
    assert meta.variable_value_labels["gender"] == {1.0: "Male", 2.0: "Female"}
    assert meta.column_names_to_labels["agree_z"] == "Agreeableness (mean score): z score"


def test_inputs_globs_folders_and_errors(tmp_path, spec):
    files = synthetic_files(tmp_path)
    (tmp_path / "notes.md").write_text("not data")
    assert expand_inputs([tmp_path]) == sorted(files)
    assert expand_inputs([str(tmp_path / "wave*.csv"), files[0]]) == files  # de-duplicated
    with pytest.raises(UsageError, match="file not found"):
        expand_inputs([tmp_path / "missing.csv"])
    with pytest.raises(UsageError, match="unknown file type"):
        expand_inputs([tmp_path / "notes.md"])
    with pytest.raises(UsageError, match="no response files match"):
        expand_inputs([str(tmp_path / "*.json")])
    with pytest.raises(UsageError, match="unknown output format"):
        run_batch(files, spec, tmp_path / "scores.txt")
    with pytest.raises(UsageError, match="also an input"):
        run_batch(files, spec, files[0], jobs=1)


def test_unreadable_file_is_reported_and_others_scored(tmp_path, spec):
    files = synthetic_files(tmp_path)
    broken = tmp_path / "broken.xlsx"
    broken.write_text("this is not a workbook")
    result = run_batch([files[0], broken], spec, tmp_path / "scores.csv", jobs=1)
    assert result.unreadable == (str(broken),)
    assert any(p.rule == "unreadable_file" and p.file == str(broken) for p in result.problems)
    assert result.n_scored == 6
    check_accounting(result)


STREAM_FILES = {
    # synthetic CSV files exercising the reader's streaming paths (pyarrow, text items re-read,
    # exact csv)
    "plain.csv": "respondent_id,a1,a2,b1,gender,extra\np1,1,2,3,1,x\np2,,5,1,2,y\n,3,3,3,1,z\np4,8,9,1,3,w\n",
    "text_in_items.csv": "respondent_id,a1,a2,b1\np1,1,2,3\np2,Agree,5,1\np3,x,3,3\np5,2,2,2\np6,1,,\n",
    "blank_line.csv": "respondent_id,a1,a2\np1,1,2\np2,2,2\n\np3,3,4\np4,5,5\n",
    "semicolon_bom.csv": "\ufeffrespondent_id;a1;a2\np1;1;2\np2;3;4\n",
    "duplicate_column.csv": "a1,a1,a2,hiv,age\n1,2,3,1,17\n4,5,6,7,200\n",
}


@pytest.mark.parametrize("name", sorted(STREAM_FILES))
@pytest.mark.parametrize("chunk_rows", [2, 1000])
def test_batch_chunks_are_the_readers_tables(tmp_path, spec, name, chunk_rows):
    from instrument.batch.pipeline import BatchOptions, iter_chunks
    from instrument.read import read_responses

    path = tmp_path / name
    path.write_text(STREAM_FILES[name], encoding="utf-8")
    options = BatchOptions(chunk_rows=chunk_rows)
    chunks = list(iter_chunks(path, spec, options))
    whole = read_responses(path, spec)
    for part in ("items", "background", "meta"):
        joined = pd.concat([getattr(c, part) for c in chunks])
        pd.testing.assert_frame_equal(
            joined, getattr(whole, part), check_dtype=False, check_categorical=False
        )
    assert sorted(map(str, (p for c in chunks for p in c.problems))) == sorted(
        map(str, whole.problems)
    )


def test_vectorised_neutralising_equals_neutralise():
    from instrument.io.security import neutralise
    from instrument.io.write import neutralise_text

    values = ["=SUM(A1)", "plain", "@cmd", None, "\tx", "-3", "+1", "ok\x07", "'quoted"]
    frame = pd.DataFrame(
        {
            "str": pd.Series(values, dtype="str"),
            "obj": pd.Series(values, dtype=object),
            "cat": pd.Categorical([v or "" for v in values]),
            "num": np.arange(len(values)) - 3.0,
        }
    )
    out = neutralise_text(frame)
    expected = [neutralise(v) for v in values]
    assert [None if pd.isna(v) else v for v in out["str"]] == expected
    assert out["obj"].tolist() == expected
    assert out["cat"].tolist() == [neutralise(v or "") for v in values]
    assert out["num"].tolist() == frame["num"].tolist()  # numbers stay numbers


def test_mixed_formats_match_psych(tmp_path, bfi):
    # bfi split into Parquet (read in chunks), .xlsx and .sav files; scores equal
    # psych::scoreItems(keys, bfi[1:25], totals = FALSE, impute = "none") to 1e-9.
    import pyreadstat

    frame = pd.read_csv(DATA / "bfi.csv").rename(columns={"Unnamed: 0": "respondent_id"})
    frame["respondent_id"] = frame["respondent_id"].astype(str)
    frame.iloc[:1000].to_parquet(tmp_path / "a.parquet")
    frame.iloc[1000:1400].to_excel(tmp_path / "b.xlsx", index=False)
    pyreadstat.write_sav(frame.iloc[1400:], str(tmp_path / "c.sav"))
    files = [tmp_path / "a.parquet", tmp_path / "b.xlsx", tmp_path / "c.sav"]
    result = run_batch(files, bfi, tmp_path / "scores.parquet", jobs=1, chunk_rows=300)
    check_accounting(result)
    scores = pd.read_parquet(tmp_path / "scores.parquet")
    assert scores["respondent_id"].tolist() == frame["respondent_id"].tolist()
    reference = pd.read_csv(DATA / "bfi_scores_mean_impute_none.csv")
    np.testing.assert_allclose(
        scores[BFI_SCALES].to_numpy(), reference[BFI_SCALES].to_numpy(), rtol=0, atol=1e-9
    )


def test_synthetic_marker_and_skipped_rows_whatever_the_split(tmp_path, spec):
    # a simulated file (synthetic marker) with rows holding only an id (respondents who answered
    # nothing: read and rejected) and an empty row (skipped), and a file without the marker: the
    # same scores, marker and accounting at any chunk size, serial or parallel
    (tmp_path / "sim.csv").write_text(
        "respondent_id,a1,a2,b1,synthetic\ns1,1,2,3,synthetic\ns2,,,,\ns3,2,2,,synthetic\n,,,,\ns5,4,4,4,synthetic\n",
        encoding="utf-8",
    )
    (tmp_path / "real.csv").write_text("respondent_id,a1,a2\nr1,1,2\nr2,,\n", encoding="utf-8")
    files = [tmp_path / "sim.csv", tmp_path / "real.csv"]
    results, frames = [], []
    for n, (jobs, chunk_rows) in enumerate([(1, 100), (1, 1), (2, 2)]):
        out = tmp_path / f"scores{n}.parquet"
        results.append(run_batch(files, spec, out, jobs=jobs, chunk_rows=chunk_rows))
        frames.append(pd.read_parquet(out).drop(columns="run_id"))  # the run's id differs
    for result, frame in zip(results, frames, strict=True):
        check_accounting(result)
        assert result.synthetic
        assert (result.n_read, result.n_scored, result.n_rejected, result.n_skipped) == (6, 4, 2, 1)
        assert sorted(
            (Path(p.file).name, p.row) for p in result.problems if p.rule == "empty_row_skipped"
        ) == [("sim.csv", 5)]
        assert sorted(
            (Path(p.file).name, p.row) for p in result.problems if p.rule == "no_answers"
        ) == [("real.csv", 3), ("sim.csv", 3)]
        assert frame["synthetic"].fillna("").tolist() == ["synthetic", "synthetic", "synthetic", ""]
        pd.testing.assert_frame_equal(frame, frames[0])
