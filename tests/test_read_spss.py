"""Reading SPSS .sav files written with pyreadstat.write_sav (synthetic data)."""

from __future__ import annotations

import math
import struct
from pathlib import Path

import pandas as pd
import pyreadstat
import pytest

from instrument.errors import DataError
from instrument.read import detect_platform, read_responses
from instrument.spec import load_instrument

EXPORTS = Path(__file__).parent / "data" / "exports"
LABELS = {
    1: "Strongly disagree",
    2: "Disagree",
    3: "Neither agree nor disagree",
    4: "Agree",
    5: "Strongly agree",
    9: "Does not apply",
    -9: "Refused",
}


@pytest.fixture(scope="module")
def mini():
    return load_instrument(EXPORTS / "mini.yaml")


def write_sav(path, *, reverse_fit_2=False):
    frame = pd.DataFrame(
        {
            "respondent_id": ["A1", "A2", "A3"],
            "fit_1": [1.0, 5.0, -9.0],
            "fit_2": [2.0, None, 4.0],
            "ppl_1": [9.0, 3.0, 3.0],
            "gender": [1.0, 2.0, 3.0],
        }
    )
    labels = {
        "fit_1": LABELS,
        "ppl_1": LABELS,
        "fit_2": {k: LABELS[6 - k] for k in range(1, 6)} if reverse_fit_2 else LABELS,
    }
    pyreadstat.write_sav(
        frame,
        str(path),
        variable_value_labels=labels,
        missing_ranges={"fit_1": [-9]},
        variable_measure={"fit_1": "ordinal", "fit_2": "ordinal", "ppl_1": "ordinal"},
    )
    return path


def test_codes_labels_and_user_missing(tmp_path, mini):
    path = write_sav(tmp_path / "answers.sav")
    assert detect_platform(path) == "spss"
    table = read_responses(path, mini)
    assert table.platform == "spss"
    # the user-missing code -9 reaches the checks as -9, not as NaN
    assert table.items["fit_1"].tolist() == [1.0, 5.0, -9.0]
    assert table.items["fit_2"].tolist()[0] == 2.0 and math.isnan(table.items["fit_2"].tolist()[1])
    assert table.meta["respondent_id"].tolist() == ["A1", "A2", "A3"]
    assert table.meta["source_row"].tolist() == [2, 3, 4]
    # value labels in a side mapping with integer codes
    labels = table.value_labels
    assert labels["fit_1"][9] == "Does not apply" and all(
        isinstance(k, int) for k in labels["fit_1"]
    )
    assert not [p for p in table.problems if p.rule == "value_labels_differ"]


def test_reversed_value_labels_warn(tmp_path, mini):
    table = read_responses(write_sav(tmp_path / "rev.sav", reverse_fit_2=True), mini)
    [problem] = [p for p in table.problems if p.rule == "value_labels_differ"]
    assert problem.column == "fit_2" and problem.severity == "warning"


def test_truncated_sav(tmp_path, mini):
    data = write_sav(tmp_path / "whole.sav").read_bytes()
    cut = tmp_path / "cut.sav"
    cut.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError, match=r"cut\.sav: not a readable SPSS file"):
        read_responses(cut, mini)


def test_crafted_value_label_index_does_not_crash_the_process(tmp_path, mini):
    """ReadStat does not bounds-check the variable index of a value-label record (type 4): a file
    naming variable 1,121,584 of 5 crashes it. The reader parses in a child process, so this is a
    DataError here, not a dead interpreter."""
    data = bytearray(write_sav(tmp_path / "ok.sav").read_bytes())
    record = data.find(struct.pack("<ii", 4, 1))  # type-4 record naming one variable
    assert record > 0
    data[record + 8 : record + 12] = struct.pack("<i", 0x00111D30)
    path = tmp_path / "crafted.sav"
    path.write_bytes(bytes(data))
    with pytest.raises(DataError, match=r"crafted\.sav: not a readable SPSS file"):
        read_responses(path, mini)
