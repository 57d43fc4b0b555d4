"""Issue 10: the promise of ``mhdq score`` (rows read = rows scored + rows rejected) under damaged
files, hostile workbooks and many problems, tested with the real CLI as a user runs it.

Every file is synthetic and generated here, small. The command runs in a child process under an
address-space cap (``resource.setrlimit``), so a reader that tries to allocate gigabytes fails
the test with a signal or MemoryError instead of taking the machine down.
"""

from __future__ import annotations

import io
import os
import re
import resource
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parent.parent
SPEC = ROOT / "tests" / "data" / "scoring_spec.yaml"
ITEMS = ["a1", "a2", "a3", "a4", "a5", "a6", "b1", "b2", "b3", "b4", "b5", "b6"]
HEADER = ",".join(["respondent_id", *ITEMS])
#: Address-space cap of every child run (pyarrow and pandas need about 0.6 GB of it to start).
MEMORY_CAP = 1_500_000_000
SUMMARY = re.compile(r"rows read ([\d,]+) = scored ([\d,]+) \+ rejected ([\d,]+)")


def _cap_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_CAP, MEMORY_CAP))


def mhdq(
    *args: str | Path, cwd: Path | None = None, timeout: float = 120
) -> subprocess.CompletedProcess:
    """Run the installed ``mhdq`` command in a child process under the memory cap."""
    command = [sys.executable, "-c", "from analysis.cli import main; main()", *map(str, args)]
    return subprocess.run(
        command,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=_cap_memory,
        cwd=cwd,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )


def score(tmp_path: Path, *inputs: Path, out: str = "scores.csv", extra=()) -> tuple:
    """``mhdq score INPUT... --out OUT``; return (completed process, accounting or None)."""
    done = mhdq("score", *inputs, "--instrument", SPEC, "--out", tmp_path / out, *extra)
    assert done.returncode in (0, 1, 2), (done.returncode, done.stderr[-2000:])
    assert "Traceback" not in done.stderr, done.stderr[-2000:]
    match = SUMMARY.search(done.stdout)
    counts = tuple(int(g.replace(",", "")) for g in match.groups()) if match else None
    if counts is not None:
        assert counts[0] == counts[1] + counts[2], done.stdout
    return done, counts


def answers_csv(path: Path, n: int, *, start: int = 0) -> Path:
    """``n`` complete synthetic respondents (ids p<start>...)."""
    rows = [f"p{start + i}," + ",".join(str(1 + (i + j) % 5) for j in range(12)) for i in range(n)]
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# Hostile workbooks (cases 5, 6, 7)
# ------------------------------------------------------------------------------------------
SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
)


def crafted(path: Path, parts: dict[str, bytes]) -> Path:
    """A real openpyxl workbook (header + one answer row) with some parts replaced."""
    book = openpyxl.Workbook()
    book.active.append(["respondent_id", *ITEMS])
    book.active.append(["p1", *range(1, 6), *range(1, 6), 1, 2])
    buffer = io.BytesIO()
    book.save(buffer)
    with (
        zipfile.ZipFile(buffer) as source,
        zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        names = [info.filename for info in source.infolist()]
        for name in names:
            target.writestr(name, parts.get(name, source.read(name)))
        for name in parts.keys() - set(names):
            target.writestr(name, parts[name])
    return path


def far_cell_sheet(quote: str) -> bytes:
    """A sheet whose second row holds one cell at XFD1048576 (the last cell Excel has)."""
    q = quote
    return (
        SHEET_HEAD + "<sheetData>"
        f"<row r={q}1{q}><c r={q}A1{q} t={q}inlineStr{q}><is><t>respondent_id</t></is></c></row>"
        f"<row r={q}1048576{q}><c r={q}XFD1048576{q}><v>1</v></c></row></sheetData></worksheet>"
    ).encode()


@pytest.mark.parametrize("quote", ['"', "'"])
def test_far_cell_workbook_is_refused_by_score_not_a_crash(tmp_path, quote):
    # Case 5 (score passed unlimited bounds to the workbook reader) and case 6 (single-quoted
    # attributes bypassed the pre-scan): before the fix the child died allocating ~550 GB.
    book = crafted(tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": far_cell_sheet(quote)})
    assert book.stat().st_size < 10_000
    done, counts = score(tmp_path, book)
    assert done.returncode == 1, done.stderr
    assert "XFD" in done.stderr or "1,048,576" in done.stderr or "column 16,384" in done.stderr
    problems = pd.read_csv(tmp_path / "scores.problems.csv")
    assert "unreadable_file" in set(problems["rule"])
    assert counts == (0, 0, 0)


def test_far_cell_workbook_is_refused_by_norms(tmp_path):
    book = crafted(tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": far_cell_sheet('"')})
    done = mhdq("norms", book, "--instrument", SPEC, "--out", tmp_path / "norms.json")
    assert done.returncode in (1, 2), done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "norms.json").exists()


def test_single_quoted_far_cell_is_refused_by_validate_scan(tmp_path):
    # Case 6 through the library (validate reads with the default bounds): the pre-scan must see
    # single-quoted references too.
    from instrument.errors import DataError
    from instrument.io.safety import check_workbook

    book = crafted(tmp_path / "far.xlsx", {"xl/worksheets/sheet1.xml": far_cell_sheet("'")})
    with pytest.raises(DataError, match="beyond Excel|more than"):
        check_workbook(book)


def test_single_quoted_shared_string_bomb_is_refused(tmp_path):
    # Case 6: a shared string of 30,000 characters referenced by 40,000 cells with t='s'.
    from instrument.errors import DataError
    from instrument.io.safety import ReadLimits, check_workbook

    strings = (
        '<?xml version="1.0" encoding="UTF-8"?><sst xmlns="http://schemas.openxmlformats.org/'
        "spreadsheetml/2006/main\" count='1' uniqueCount='1'><si><t>"
        + "x" * 30_000
        + "</t></si></sst>"
    ).encode()
    cells = "".join(f"<c r='A{r}' t='s'><v>0</v></c>" for r in range(2, 40_002))
    sheet = (SHEET_HEAD + f"<sheetData><row r='1'>{cells}</row></sheetData></worksheet>").encode()
    book = crafted(
        tmp_path / "text.xlsx",
        {"xl/worksheets/sheet1.xml": sheet, "xl/sharedStrings.xml": strings},
    )
    with pytest.raises(DataError, match="shared text"):
        check_workbook(book, ReadLimits(max_text_bytes=100_000_000))


def test_dtd_after_padding_is_refused(tmp_path):
    # Case 7: the DTD check read only the first 4,096 bytes of each part.
    from instrument.errors import DataError
    from instrument.io.safety import check_workbook

    sheet = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<!--' + " " * 5_000 + "-->"
        '<!DOCTYPE worksheet [<!ENTITY x "x">]>'
        + SHEET_HEAD.split("\n", 1)[1]
        + "<sheetData/></worksheet>"
    ).encode()
    book = crafted(tmp_path / "dtd.xlsx", {"xl/worksheets/sheet1.xml": sheet})
    with pytest.raises(DataError, match="DTD"):
        check_workbook(book)
    other = crafted(
        tmp_path / "dtd_rels.xlsx",
        {
            "_rels/.rels": (
                '<?xml version="1.0"?>' + "<!--" + "p" * 6_000 + "-->"
                "<!DOCTYPE r [<!ENTITY a 'b'>]><Relationships/>"
            ).encode()
        },
    )
    with pytest.raises(DataError, match="DTD"):
        check_workbook(other)


# ------------------------------------------------------------------------------------------
# Data loss (cases 1, 2, 4) and the accounting of counted records (case 14)
# ------------------------------------------------------------------------------------------
def damaged_csv(path: Path, n: int, *, break_at: int, start: int = 0) -> Path:
    """``n`` respondents with a stray quote opening in data row ``break_at`` (1-based)."""
    answers_csv(path, n, start=start)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[break_at] = lines[break_at].replace(",3,", ',"3,', 1)
    assert '"' in lines[break_at]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.parametrize("chunk_rows", ["7", "500", "100000"])
def test_file_broken_late_is_refused_whole_whatever_the_chunk_size(tmp_path, chunk_rows):
    # Case 1: before the fix the rows before the break were scored and written, the rest
    # dropped without a record, and how many depended on --chunk-rows.
    broken = damaged_csv(tmp_path / "broken.csv", 3_000, break_at=2_500)
    done, counts = score(tmp_path, broken, extra=["--chunk-rows", chunk_rows, "--jobs", "1"])
    assert done.returncode == 1
    assert counts == (0, 0, 0)
    assert "row 2501" in done.stderr and "never closed" in done.stderr
    assert not (tmp_path / "scores.csv").exists()
    problems = pd.read_csv(tmp_path / "scores.problems.csv")
    assert problems["rule"].tolist() == ["run", "unreadable_file"]  # the run's record first


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_summary_counts_only_what_was_read_with_several_jobs(tmp_path, jobs):
    # Case 2: with --jobs 2 a file damaged late was counted as read and scored but not written.
    good = answers_csv(tmp_path / "good.csv", 1_000)
    broken = damaged_csv(tmp_path / "late.csv", 600, break_at=550, start=5_000)
    done, counts = score(tmp_path, good, broken, extra=["--jobs", jobs, "--chunk-rows", "100"])
    assert done.returncode == 1
    assert counts == (1_000, 1_000, 0)
    assert len(pd.read_csv(tmp_path / "scores.csv")) == 1_000


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_first_file_broken_late_leaves_nothing_before_a_good_file(tmp_path, jobs):
    # The first file streams its chunks straight to the output; when it breaks late, the rows
    # already handed on are discarded and the next file is scored as if it came alone.
    broken = damaged_csv(tmp_path / "late.csv", 600, break_at=550, start=5_000)
    good = answers_csv(tmp_path / "good.csv", 1_000)
    done, counts = score(tmp_path, broken, good, extra=["--jobs", jobs, "--chunk-rows", "100"])
    assert done.returncode == 1
    assert counts == (1_000, 1_000, 0)
    scores = pd.read_csv(tmp_path / "scores.csv")
    assert len(scores) == 1_000
    assert set(scores["source_file"]) == {str(good)}
    problems = pd.read_csv(tmp_path / "scores.problems.csv")
    assert problems.loc[problems["file"] == str(broken), "rule"].tolist() == ["unreadable_file"]


def test_short_row_is_recorded(tmp_path):
    # Case 4: a row with 4 of 13 fields was padded with blanks without a record.
    path = answers_csv(tmp_path / "short.csv", 5)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = ",".join(lines[3].split(",")[:4])
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done, counts = score(tmp_path, path, extra=["--jobs", "1"])
    assert counts is not None and counts[0] == 5
    problems = pd.read_csv(tmp_path / "scores.problems.csv")
    short = problems[problems["rule"] == "short_row"]
    assert short["row"].tolist() == [4]
    assert short["message"].str.contains("4 field").all()


def test_delimiter_mismatch_is_named(tmp_path):
    # Case 13: comma header, semicolon rows: 300 rows rejected as no_answers with no hint.
    rows = [f"p{i};" + ";".join(str(1 + (i + j) % 5) for j in range(12)) for i in range(300)]
    path = tmp_path / "mixed.csv"
    path.write_text(HEADER + "\n" + "\n".join(rows) + "\n", encoding="utf-8")
    done, counts = score(tmp_path, path, extra=["--jobs", "1"])
    assert counts == (300, 0, 300)
    problems = pd.read_csv(tmp_path / "scores.problems.csv")
    assert (problems["rule"] == "delimiter_mismatch").sum() == 1
    assert (
        "different delimiters" in done.stdout + done.stderr or "delimiter_mismatch" in done.stdout
    )


def test_counted_records_are_counted_per_file_not_per_chunk(tmp_path):
    # Case 14: not_applicable records were one per chunk (4 by default, 128 with --chunk-rows 7).
    path = answers_csv(tmp_path / "na.csv", 200)
    frame = pd.read_csv(path)
    frame.loc[::3, "a1"] = 8  # the not-applicable code of scoring_spec.yaml
    frame.loc[::50, ITEMS] = None  # empty rows (an id only: rejected as no_answers)
    frame.to_csv(path, index=False)
    results = []
    for chunk_rows in ("7", "100000"):
        done, counts = score(tmp_path, path, extra=["--chunk-rows", chunk_rows, "--jobs", "1"])
        problems = pd.read_csv(tmp_path / "scores.problems.csv")
        na = problems[problems["rule"] == "not_applicable"]
        assert len(na) == 1, na
        assert na["message"].iloc[0].startswith(f"{(frame['a1'] == 8).sum()} cell(s)")
        problems = problems[problems["rule"] != "run"].drop(columns="run_id")  # differ by design
        results.append((counts, problems.sort_values(["rule", "row"]).to_csv(index=False)))
    assert results[0] == results[1]


def test_empty_rows_are_counted_not_recorded_one_by_one(tmp_path):
    path = answers_csv(tmp_path / "gaps.csv", 10)
    text = path.read_text(encoding="utf-8")
    path.write_text(text + ",,,,,,,,,,,,\n" * 500 + "p999,1,1,1,1,1,1,1,1,1,1,1,1\n")
    done, counts = score(tmp_path, path, extra=["--jobs", "1", "--chunk-rows", "50"])
    assert counts == (11, 11, 0)
    assert "500 empty rows skipped" in done.stdout
    problems = pd.read_csv(tmp_path / "scores.problems.csv")
    assert (problems["rule"] == "empty_row_skipped").sum() == 1


def test_wrong_instrument_says_why_and_writes_no_scores(tmp_path):
    # Case 15: only "could not read" was printed and a 0-byte scores file was left.
    path = tmp_path / "other.csv"
    path.write_text("id,E1,E2,E3\n1,2,3,4\n", encoding="utf-8")
    done, counts = score(tmp_path, path)
    assert done.returncode == 1
    assert "no column matches" in done.stderr or "item" in done.stderr
    assert not (tmp_path / "scores.csv").exists()


# ------------------------------------------------------------------------------------------
# Formula look-alikes (case 10)
# ------------------------------------------------------------------------------------------
#: Text a spreadsheet could evaluate as a formula once it trims or folds the first characters.
FORMULA_LOOKALIKES = [
    "=1+1",
    "\uff1d1+1",  # full-width equals
    "\ufe661+1",  # small equals
    "\uff0b1+1",  # full-width plus
    "\uff0d1+1",  # full-width minus
    "\uff20SUM(A1)",  # full-width at
    "\u22121+1",  # minus sign
    "\ufeff=1+1",  # byte-order mark first
    "\u00a0=1+1",  # no-break space first
    " =1+1",  # a space first
    "  +1+1",
    "\u3000=1+1",  # ideographic space
    "\u200b=1+1",  # zero-width space
    "\u2060@SUM(A1)",  # word joiner
    "\t=1+1",
]


@pytest.mark.parametrize("text", FORMULA_LOOKALIKES)
def test_formula_lookalikes_are_neutralised(text):
    from instrument.io.security import neutralise
    from instrument.io.write import neutralise_text

    assert neutralise(text).startswith("'")
    assert neutralise_text(pd.DataFrame({"id": [text]}))["id"].iloc[0].startswith("'")


def test_ordinary_text_is_left_alone():
    from instrument.io.security import neutralise

    for text in ["p1", "a=b", "Strongly agree", "x-1", "1e5", "\u00e9t\u00e9"]:
        assert neutralise(text) == text


SOFFICE = __import__("shutil").which("soffice") or __import__("shutil").which("libreoffice")


def libreoffice_formulas(path: Path, tmp_path: Path, infilter: list[str]) -> tuple[int, int]:
    """(cells that are formulas, rows) once LibreOffice has opened ``path`` (via flat ODS)."""
    done = subprocess.run(
        [
            SOFFICE,
            f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
            "--headless",
            "--norestore",
            *infilter,
            "--convert-to",
            "fods",
            "--outdir",
            str(tmp_path / "lo"),
            str(path),
        ],
        capture_output=True,
        text=True,
        timeout=180,
    )
    flat = tmp_path / "lo" / f"{path.stem}.fods"
    assert flat.exists(), done.stderr
    xml = flat.read_text(encoding="utf-8")
    return xml.count("table:formula="), xml.count("<table:table-row")


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
@pytest.mark.parametrize("suffix", [".xlsx", ".csv"])
def test_no_written_cell_is_a_formula_in_libreoffice(tmp_path, suffix):
    from instrument.io.write import write_table

    frame = pd.DataFrame(
        {"respondent_id": FORMULA_LOOKALIKES, "score": range(len(FORMULA_LOOKALIKES))}
    )
    path = write_table(frame, tmp_path / f"ids{suffix}")
    # CSV import with "evaluate formulas" and "trim spaces" on: the most trusting reader.
    infilter = (
        ["--infilter=CSV:44,34,76,1,,0,false,true,false,true,true"] if suffix == ".csv" else []
    )
    formulas, rows = libreoffice_formulas(path, tmp_path, infilter)
    assert formulas == 0
    assert rows >= 2


@pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed")
def test_the_libreoffice_check_sees_a_formula_when_there_is_one(tmp_path):
    # The control: the same check on text written without neutralising finds formulas.
    book = openpyxl.Workbook()
    for text in FORMULA_LOOKALIKES:
        book.active.append([text])
    book.save(tmp_path / "raw.xlsx")
    formulas, _ = libreoffice_formulas(tmp_path / "raw.xlsx", tmp_path, [])
    assert formulas >= 1


# ------------------------------------------------------------------------------------------
# Outputs published together, one writer at a time, nothing stale (cases 3, 9)
# ------------------------------------------------------------------------------------------
def test_second_writer_to_the_same_output_is_refused(tmp_path):
    # Case 3: two runs writing the same --out interleaved; now the second is refused.
    from instrument.io.write import output_lock

    path = answers_csv(tmp_path / "a.csv", 20)
    with output_lock(tmp_path / "scores.csv") as lock:
        lock.write_text(str(os.getppid()), encoding="ascii")  # held by a live process
        done, _ = score(tmp_path, path)
    assert done.returncode == 2
    assert "another mhdq run" in done.stderr
    assert not (tmp_path / "scores.csv").exists()


def test_lock_of_a_dead_run_is_taken_over(tmp_path):
    path = answers_csv(tmp_path / "a.csv", 20)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (tmp_path / ".scores.csv.lock").write_text(dead.stdout.strip(), encoding="ascii")
    done, counts = score(tmp_path, path)
    assert done.returncode == 0 and counts == (20, 20, 0)
    assert not (tmp_path / ".scores.csv.lock").exists()


def test_no_scores_left_beside_a_newer_problem_list(tmp_path):
    # Case 3: a run that writes no scores (strict, errors found) must not leave an older
    # scores file beside its problem list.
    good = answers_csv(tmp_path / "a.csv", 20)
    done, _ = score(tmp_path, good)
    assert (tmp_path / "scores.csv").exists()
    bad = tmp_path / "a.csv"
    bad.write_text(bad.read_text(encoding="utf-8").replace("p3,", "p3,7", 1), encoding="utf-8")
    done, _ = score(tmp_path, bad, extra=["--strict"])
    assert done.returncode == 1
    assert not (tmp_path / "scores.csv").exists()
    assert (tmp_path / "scores.problems.csv").exists()


def test_stale_parts_of_a_dead_run_are_removed_at_the_next_start(tmp_path):
    # Case 9: parts named with the id of a process that no longer runs.
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    pid = dead.stdout.strip()
    stale_file = tmp_path / f".scores.csv.{pid}.abc123.part"
    stale_file.write_bytes(b"x" * 100)
    stale_dir = tmp_path / f".mhdq-parts-{pid}-xyz"
    stale_dir.mkdir()
    (stale_dir / "part000000.parquet").write_bytes(b"x")
    alive = tmp_path / f".other.csv.{os.getpid()}.def456.part"  # this process runs: kept
    alive.write_bytes(b"y")
    path = answers_csv(tmp_path / "a.csv", 20)
    done, counts = score(tmp_path, path)
    assert done.returncode == 0
    assert not stale_file.exists() and not stale_dir.exists()
    assert alive.exists()


def test_norms_summary_does_not_speak_of_a_scores_file(tmp_path, capsys):
    from analysis.cli import main

    path = answers_csv(tmp_path / "a.csv", 30)
    try:
        main(["norms", str(path), "--instrument", str(SPEC), "--out", str(tmp_path / "n.json")])
    except SystemExit as exc:
        assert not exc.code
    captured = capsys.readouterr()
    assert "rows read 30 = scored 30 + rejected 0" in captured.out
    assert "scores file" not in captured.err
