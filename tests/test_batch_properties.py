"""Issue 10: property tests of the batch promise over random damage, chunk sizes and jobs.

For SYNTHETIC files damaged at a random row in a random way, whatever ``chunk_rows`` and
``jobs``: rows read = rows scored + rows rejected; every rejected row has an error record
saying why; the scores file holds exactly the rows scored; and the result (counts, scores and
problem records) is the one of a plain run with one job and one chunk.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from instrument.batch.pipeline import run_batch
from instrument.check import ROW_REJECTING_RULES
from instrument.spec import load_instrument

SPEC = Path(__file__).parent / "data" / "scoring_spec.yaml"
ITEMS = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]
N_ROWS = 40

DAMAGE = {
    "stray_quote": lambda cells: [cells[0], '"' + cells[1], *cells[2:]],
    "short_row": lambda cells: cells[:4],
    "extra_fields": lambda cells: [*cells, "9", "9"],
    "blank_line": lambda cells: [],
    "id_only": lambda cells: [cells[0]] + [""] * 12,
    "text_code": lambda cells: [cells[0], "agree", *cells[2:]],
    "outside_scale": lambda cells: [cells[0], "7", *cells[2:]],
    "semicolons": lambda cells: [";".join(cells)],
    "repeated_id": lambda cells: ["r1", *cells[1:]],
}


@pytest.fixture(scope="module")
def spec():
    return load_instrument(SPEC)


def write_file(path: Path, prefix: str, damage: list[tuple[int, str]]) -> Path:
    rows = []
    kinds = dict(damage)  # one kind of damage per row
    for i in range(N_ROWS):
        cells = [f"{prefix}{i}", *(str(1 + (i * 7 + j) % 5) for j in range(12))]
        if i in kinds:
            cells = DAMAGE[kinds[i]](cells)
        rows.append(",".join(cells))
    path.write_text(",".join(["respondent_id", *ITEMS]) + "\n" + "\n".join(rows) + "\n")
    return path


def outcome(result, out: Path) -> tuple:
    # the run id (a column of both files) differs from run to run by design
    scores = (
        pd.read_csv(out).drop(columns="run_id") if result.output is not None else pd.DataFrame()
    )
    problems = sorted(
        (Path(p.file).name, p.row or 0, p.column or "", p.rule, p.message) for p in result.problems
    )
    rows = scores.to_csv(index=False) if len(scores) else ""
    return (result.n_read, result.n_scored, result.n_rejected, result.n_skipped, rows, problems)


def check_promise(result, out: Path) -> None:
    assert result.n_read == result.n_scored + result.n_rejected
    rejected = {
        (p.file, p.row)
        for p in result.problems
        if p.severity == "error" and p.rule in ROW_REJECTING_RULES
    }
    assert len(rejected) == result.n_rejected
    written = len(pd.read_csv(out)) if result.output is not None else 0
    assert written == result.n_scored


damage_list = st.lists(
    st.tuples(st.integers(0, N_ROWS - 1), st.sampled_from(sorted(DAMAGE))), min_size=1, max_size=3
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    first=damage_list,
    second=damage_list,
    chunk_rows=st.integers(1, 60),
    jobs=st.sampled_from([1, 2]),
)
# Found failing: the duplicate's record said "an earlier file or chunk" with one-row chunks
# (CI); labels read as codes were counted in one record per chunk (150 examples, seed 7).
@example(first=[(0, "repeated_id")], second=[(0, "blank_line")], chunk_rows=1, jobs=1)
@example(
    first=[(0, "blank_line")],
    second=[(0, "text_code"), (15, "blank_line"), (17, "text_code")],
    chunk_rows=1,
    jobs=1,
)
def test_promise_holds_whatever_the_damage_chunks_and_jobs(
    tmp_path_factory, spec, first, second, chunk_rows, jobs
):
    folder = tmp_path_factory.mktemp("prop")
    files = [write_file(folder / "a.csv", "r", first), write_file(folder / "b.csv", "s", second)]
    plain_out = folder / "plain.csv"
    plain = run_batch(files, spec, plain_out, jobs=1, chunk_rows=100_000)
    check_promise(plain, plain_out)
    out = folder / "varied.csv"
    varied = run_batch(files, spec, out, jobs=jobs, chunk_rows=chunk_rows)
    check_promise(varied, out)
    assert outcome(varied, out) == outcome(plain, plain_out)


@pytest.mark.parametrize(
    "chunk_rows, jobs, engine",
    [(100_000, 1, "local"), (1, 1, "local"), (2, 2, "local"), (1, 2, "local"), (3, 2, "dask")],
)
def test_duplicate_id_names_its_first_use_whatever_the_chunks_jobs_and_engine(
    tmp_path, spec, chunk_rows, jobs, engine
):
    # CI failure of the property test above (chunk_rows=1): the message said "an earlier file
    # or chunk" instead of the row, so the problem list depended on the chunk size.
    if engine == "dask":
        pytest.importorskip("dask.distributed")
    a = write_file(tmp_path / "a.csv", "r", [(0, "repeated_id")])  # row 2 holds r1 as row 3
    b = write_file(tmp_path / "b.csv", "r", [])  # r1 and r5 repeat rows 2 and 7 of a.csv
    result = run_batch(
        [a, b], spec, tmp_path / "out.csv", chunk_rows=chunk_rows, jobs=jobs, engine=engine
    )
    messages = {
        (Path(p.file).name, p.row): p.message
        for p in result.problems
        if p.rule == "duplicate_respondent_id"
    }
    assert len(messages) == 40  # a.csv row 3, and every row of b.csv but r0 (row 2)
    assert messages[("a.csv", 3)] == "respondent id already used in row 2; row not scored"
    assert messages[("b.csv", 3)] == f"respondent id already used in row 2 of {a}; row not scored"
    assert messages[("b.csv", 7)] == f"respondent id already used in row 7 of {a}; row not scored"
    assert ("b.csv", 2) not in messages
    assert result.n_read == 80 and result.n_rejected == 40
