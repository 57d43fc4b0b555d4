"""``mhdq score`` and ``mhdq validate`` with waves (--wave COLUMN, --wave-of FILE=LABEL).

Synthetic: bfi rows as a baseline and a second wave with answers jittered; ids changed to make
linkage problems on purpose.
"""

import numpy as np
import pandas as pd
import pytest

from instrument.score import score_items
from instrument.spec import load_instrument
from tests.test_longitudinal_cli import DATA, SPEC, run


@pytest.fixture(scope="module")
def two_waves(tmp_path_factory):
    folder = tmp_path_factory.mktemp("score_waves")
    bfi = pd.read_csv(DATA / "bfi.csv", index_col=0).iloc[:250]
    items = [c for c in bfi.columns if c[0] in "ACENO" and c[1:].isdigit()]
    base = bfi[items].copy()
    base.insert(0, "respondent_id", [f"P{i:04d}" for i in range(len(base))])
    base["synthetic"] = "synthetic"
    later = base.sample(frac=0.8, random_state=3).copy()
    rng = np.random.default_rng(11)
    later[items] = (later[items] + rng.integers(-1, 2, size=later[items].shape)).clip(1, 6)
    later.iloc[0, 0] = "NEW1"  # first seen at the second wave
    later = pd.concat([later, later.iloc[[1]]])  # an id twice within the second wave
    t0, t6 = folder / "t0.csv", folder / "t6.csv"
    base.to_csv(t0, index=False)
    later.to_csv(t6, index=False)
    both = pd.concat([base.assign(visit="t0"), later.assign(visit="t6")])
    one = folder / "all.csv"
    both.to_csv(one, index=False)
    return folder, t0, t6, one, base, later


def test_score_wave_of_writes_waves_and_linkage_problems(two_waves, capsys):
    folder, t0, t6, _, base, later = two_waves
    out = folder / "scores.csv"
    args = ["score", "--instrument", str(SPEC), "--out", str(out)]
    code, printed = run([*args, "--wave-of", f"{t0}=t0", "--wave-of", f"{t6}=t6"], capsys)
    assert code == 0, printed.err
    scores = pd.read_csv(out)
    assert list(scores.columns[:3]) == ["respondent_id", "wave", "wave_index"]
    assert scores.groupby("wave").size().to_dict() == {"t0": 250, "t6": 200}  # duplicate dropped
    problems = pd.read_csv(folder / "scores.problems.csv")
    rules = set(problems["rule"])
    assert {"id_not_in_first_wave", "duplicate_id_in_wave"} <= rules
    assert "NEW1" not in problems.to_string()  # problem records never quote an id
    # scores equal a one-wave scoring of the same rows (score_items on the baseline)
    spec = load_instrument(SPEC)
    expected = score_items(base.set_index("respondent_id"), spec)
    got = scores[scores["wave"] == "t0"].set_index("respondent_id")
    pd.testing.assert_series_equal(
        got["agree"], expected["agree"].rename("agree"), check_names=False, atol=1e-12
    )


def test_score_wave_column_matches_wave_of(two_waves, capsys):
    folder, t0, t6, one, *_ = two_waves
    out = folder / "scores_one.csv"
    code, printed = run(
        ["score", "--instrument", str(SPEC), "--out", str(out), str(one), "--wave", "visit"],
        capsys,
    )
    assert code == 0, printed.err
    a = pd.read_csv(out).drop(columns=["source_file", "source_row"])
    b = pd.read_csv(folder / "scores.csv").drop(columns=["source_file", "source_row"])
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--wave-of", "nolabel.csv"], "FILE=LABEL"),
        (["--wave-of", "a.csv=t0", "--wave-of", "b.csv=t0"], "more than one file"),
        (["--wave", "visit"], "one INPUT"),
        (["--id-column", "pid", "x.csv"], "--id-column applies"),
    ],
)
def test_score_wave_usage_errors(extra, message, capsys, tmp_path):
    code, printed = run(
        ["score", "--instrument", str(SPEC), "--out", str(tmp_path / "s.csv"), *extra], capsys
    )
    assert code == 2 and message in printed.err


def test_score_strict_with_linkage_errors_writes_no_scores(two_waves, capsys):
    folder, t0, t6, *_ = two_waves
    out = folder / "strict.csv"
    args = ["score", "--instrument", str(SPEC), "--out", str(out), "--strict"]
    code, _ = run([*args, "--wave-of", f"{t0}=t0", "--wave-of", f"{t6}=t6"], capsys)
    assert code == 1 and not out.exists()


def test_validate_runs_on_the_baseline_wave(two_waves, capsys):
    folder, t0, t6, *_ = two_waves
    out = folder / "validation"
    args = ["validate", "--instrument", str(SPEC), "--out", str(out), "--bootstrap", "0"]
    code, printed = run([*args, "--wave-of", f"{t0}=t0", "--wave-of", f"{t6}=t6"], capsys)
    assert code == 0, printed.err
    assert "validated at the baseline wave t0 of 2" in printed.out
    assert "250 of 250 rows analysed" in printed.out  # the baseline rows only, not 450
