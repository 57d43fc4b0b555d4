"""Every Python block in docs/*.md runs (issue 12 §8): a user copying the guide's code gets no error.

The blocks of one page run in order in one namespace, as a reader pastes them into one session,
in a temporary folder holding the files the page names (all SYNTHETIC, made here from the
simulator). Console blocks are not run here; ``docs/cli.md`` is checked against ``--help``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = sorted((ROOT / "docs").glob("*.md"))
BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)


def python_blocks(path: Path) -> list[str]:
    return BLOCK.findall(path.read_text(encoding="utf-8"))


PAGES = [p for p in DOCS if python_blocks(p)]


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """The files the docs' examples read, SYNTHETIC: a cohort with follow-up, a workbook, a spec."""
    import shutil

    from analysis.simulate.cohort import simulate_cohort
    from instrument.forms.workbook import write_workbook
    from instrument.spec import load_instrument

    folder = tmp_path_factory.mktemp("docs")
    mhdq = load_instrument()
    cohort = simulate_cohort(mhdq, n=120, seed=3)  # synthetic
    cohort.responses.to_csv(folder / "cohort.csv", index=False)
    cohort.responses.to_csv(folder / "answers.csv", index=False)
    cohort.responses.to_csv(folder / "big.csv", index=False)
    cohort.followup.to_csv(folder / "cohort-followup.csv", index=False)
    from instrument.batch.pipeline import run_batch

    # reading-data.md checks that a run's scores and problem list carry one run id
    run_batch([folder / "answers.csv"], mhdq, folder / "scores.csv", jobs=1)
    qualtrics = cohort.responses.rename(columns={"mf_st1": "Q5_1", "mf_st2": "Q5_2"})
    for column in ("Q5_1", "Q5_2"):
        qualtrics[column] = qualtrics[column].where(qualtrics[column] > 5, qualtrics[column] + 10)
    qualtrics.to_csv(folder / "qualtrics.csv", index=False)
    (folder / "collected").mkdir()
    workbook = write_workbook(mhdq, folder / "collected" / "wave1.xlsx")
    from openpyxl import load_workbook

    wb = load_workbook(workbook)
    sheet = wb["Data entry"] if "Data entry" in wb.sheetnames else wb.worksheets[1]
    header = [c.value for c in sheet[1]]
    first = next(r for r in range(1, 10) if sheet.cell(row=r, column=1).value is None)
    for offset, (_, row) in enumerate(cohort.responses.head(30).iterrows()):
        for col, name in enumerate(header, start=1):
            if name in row.index and row[name] == row[name]:
                sheet.cell(row=first + offset, column=col, value=row[name])
    wb.save(workbook)
    shutil.copy(ROOT / "instrument" / "banks" / "mhdq.yaml", folder / "my-scale.yaml")
    (folder / "examples").mkdir()
    shutil.copy(ROOT / "examples" / "bfi.yaml", folder / "examples" / "bfi.yaml")
    return folder


@pytest.mark.parametrize("page", PAGES, ids=[p.name for p in PAGES])
def test_python_blocks_in_the_docs_run(page, files, monkeypatch):
    monkeypatch.chdir(files)
    namespace: dict = {"__name__": "__docs__"}
    for number, code in enumerate(python_blocks(page), start=1):
        try:
            exec(compile(code, f"{page.name} (python block {number})", "exec"), namespace)
        except Exception as exc:  # noqa: BLE001 - the failure is reported with the block named
            pytest.fail(f"{page.name}, python block {number}: {type(exc).__name__}: {exc}")


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo"])
def test_sample_outputs_in_the_docs_are_current(name):
    # ~20 s of CPU: one default `mhdq demo` run (SYNTHETIC data)
    from tests.docs_outputs import BLOCKS, current, fresh

    assert current(name) == fresh(name), (
        f"{BLOCKS[name][0]}: the generated block {name!r} is out of date; run "
        "`.venv/bin/python tests/docs_outputs.py --write`"
    )
