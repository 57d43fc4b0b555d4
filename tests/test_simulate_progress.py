"""Progress while simulating (issue 12 §9): ``simulate_cohort`` reports respondents drawn block by
block, the cohort does not depend on it, and ``mhdq simulate`` / ``mhdq demo`` show the counts.
All data here are synthetic."""

from __future__ import annotations

from contextlib import contextmanager

import pandas as pd
import pytest
from click.testing import CliRunner

import analysis.simulate.cohort as cohort_module
from analysis.simulate.cohort import simulate_cohort
from instrument.spec import load_instrument


@pytest.fixture(scope="module")
def bfi():
    return load_instrument("examples/bfi.yaml")


def test_progress_counts_rise_to_the_total_and_leave_the_cohort_unchanged(bfi, monkeypatch):
    monkeypatch.setattr(cohort_module, "PROGRESS_BLOCK", 40)
    calls: list[tuple[int, int]] = []
    shown = simulate_cohort(bfi, n=130, seed=5, progress=lambda d, t: calls.append((d, t)))
    assert calls == [(40, 130), (80, 130), (120, 130), (130, 130)]
    monkeypatch.setattr(cohort_module, "PROGRESS_BLOCK", 20_000)
    silent = simulate_cohort(bfi, n=130, seed=5)  # one block, no callback
    pd.testing.assert_frame_equal(shown.responses, silent.responses)
    pd.testing.assert_frame_equal(shown.followup, silent.followup)


def test_mhdq_simulate_shows_intermediate_counts(monkeypatch, tmp_path):
    from analysis.cli import cli

    monkeypatch.setattr(cohort_module, "PROGRESS_BLOCK", 50)
    seen: list[tuple] = []

    @contextmanager
    def recording(title, *, quiet):
        yield lambda done, total, label: seen.append((done, total, label))

    monkeypatch.setattr("analysis.cli.feedback.progress_display", recording)
    out = tmp_path / "cohort.csv"
    result = CliRunner().invoke(
        cli,
        [
            "simulate",
            "--instrument",
            "examples/bfi.yaml",
            "--n",
            "120",
            "--seed",
            "1",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    drawn = [(d, t) for d, t, label in seen if "respondents drawn" in label]
    assert drawn == [(0, 120), (50, 120), (100, 120), (120, 120)]
    assert seen[-1] == (120, 120, "writing the files")


def test_demo_says_how_many_respondents_are_drawn(monkeypatch, tmp_path):
    import analysis.simulate.demo as demo

    monkeypatch.setattr(cohort_module, "PROGRESS_BLOCK", 100)
    lines: list[str] = []
    with pytest.raises(_Stop):
        demo.run_demo(tmp_path, n=250, seed=1, progress=lambda m: _stop_after_draw(m, lines))
    assert [line for line in lines if "drawn" in line] == [
        "  100 of 250 respondents drawn",
        "  200 of 250 respondents drawn",
        "  250 of 250 respondents drawn",
    ]


class _Stop(Exception):
    pass


def _stop_after_draw(message: str, lines: list[str]) -> None:
    lines.append(message)
    if message.startswith("Checking"):  # the step after simulating: enough seen
        raise _Stop
