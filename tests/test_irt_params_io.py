"""Saved IRT item parameters score a new cohort; another instrument version is refused."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.irt import GradedResponseModel, eap_scores, sum_score_table
from analysis.irt.params_io import load_item_parameters, save_item_parameters
from instrument.errors import DataError, UsageError

DATA = Path(__file__).parent / "data" / "irt"


def test_round_trip_scores_identically(tmp_path):
    science = pd.read_csv(DATA / "Science.csv")
    calibration, cohort = science.iloc[:300], science.iloc[300:]
    model = GradedResponseModel(["graded"] * 3 + ["gpcm"]).fit(calibration)
    path = save_item_parameters(model, tmp_path / "irt.json", instrument_fingerprint="abc123")
    loaded = load_item_parameters(path, instrument_fingerprint="abc123")
    before = eap_scores(model, cohort)
    after = eap_scores(loaded, cohort)
    pd.testing.assert_frame_equal(before, after, check_exact=False, rtol=1e-14)
    np.testing.assert_allclose(
        sum_score_table(loaded).table["theta"], sum_score_table(model).table["theta"], rtol=1e-14
    )
    np.testing.assert_allclose(loaded.cov_, model.cov_)


def test_other_instrument_version_is_refused(tmp_path):
    science = pd.read_csv(DATA / "Science.csv")
    model = GradedResponseModel(se_type=None).fit(science)
    path = save_item_parameters(model, tmp_path / "irt.json", instrument_fingerprint="abc123")
    with pytest.raises(UsageError, match="another instrument version"):
        load_item_parameters(path, instrument_fingerprint="zzz999")


def test_malformed_file_is_a_data_error(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"format": "something else"}', encoding="utf-8")
    with pytest.raises(DataError, match="not an MHDQ IRT"):
        load_item_parameters(bad)
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(DataError, match="cannot read"):
        load_item_parameters(bad)
