"""Predicting how many leave for each reason with a saved model (Fine-Gray), against R's
cmprsk::predict.crr; and the clear refusals for model kinds that cannot predict.

Expected numbers: tests/data/competing_reference.json, written with R 4.2 and cmprsk 2.2-11 by
tests/data/make_competing_reference.R on survival::mgus2 (progression 1 before death 2).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.attrition.followup import join_followup
from analysis.attrition.model_io import load_model, save_model
from analysis.attrition.study import fit_attrition
from analysis.errors import DataError
from tests.test_attrition_cli import run

DATA = Path(__file__).parent / "data"
REF = json.loads((DATA / "competing_reference.json").read_text())
COVARIATES = ["age", "male", "mspike"]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    d = pd.read_csv(DATA / "mgus2_competing.csv")
    d["respondent_id"] = d["id"].astype(str)
    base = d[["respondent_id", *COVARIATES]]
    fu = pd.DataFrame(
        {
            "respondent_id": d["respondent_id"],
            "months": d["etime"],
            "progressed": (d["event"] == 1).astype(int),
            "died": (d["event"] == 2).astype(int),
        }
    )
    joined = join_followup(base, fu, time="months", event="progressed", competing="died")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        analysis = fit_attrition(joined, scales=[], covariates=COVARIATES, horizon=120, n_boot=5)
    folder = tmp_path_factory.mktemp("fg")
    path = save_model(analysis, folder / "model.json")
    return {"analysis": analysis, "path": path, "folder": folder}


@pytest.mark.parametrize(("code", "outcome"), [(1, "disengaged"), (2, "competing outcome")])
def test_saved_model_predicts_cumulative_incidence_as_predict_crr(saved, code, outcome):
    # R: f <- crr(etime, event, cov1 = cbind(age, male, mspike), failcode = code, cencode = 0)
    #    on the 1,373 complete cases; predict(f, cov1 = newx) read at each time's last uftime.
    #    Gap measured: 4.9e-14 relative, 1.3e-14 absolute (the model file keeps full precision).
    ref = REF[f"predict_crr_failcode{code}"]
    model = load_model(saved["path"])
    assert model.fine_gray[outcome]["coef"].index.tolist() == COVARIATES
    new = pd.DataFrame(ref["newdata"])
    pred = model.predict_cumulative_incidence(new, ref["times"])
    slug = outcome.replace(" ", "_")
    got = np.column_stack([pred[f"cumulative_incidence_{slug}_{t:g}"] for t in ref["times"]])
    expected = np.asarray(ref["cif"]).reshape(len(ref["times"]), len(new)).T
    np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-15)
    # the model in memory agrees with the one read back
    fg = saved["analysis"].fine_gray[outcome]
    np.testing.assert_allclose(
        fg.predict_cumulative_incidence(new, ref["times"]).to_numpy(), got, rtol=1e-15
    )


def test_cli_predicts_cumulative_incidence_and_refuses_what_it_cannot(saved, tmp_path):
    new = pd.DataFrame(REF["predict_crr_failcode1"]["newdata"])
    new.insert(0, "respondent_id", ["a", "b", "c"])
    responses = tmp_path / "new.csv"
    new.to_csv(responses, index=False)
    out = tmp_path / "pred.csv"
    done = run(
        "attrition",
        "predict",
        saved["path"],
        responses,
        "--horizon",
        120,
        "--cumulative-incidence",
        "12,120",
        "--out",
        out,
        "-q",
    )
    assert done.returncode == 0, done.stderr
    pred = pd.read_csv(out)
    expected = np.asarray(REF["predict_crr_failcode1"]["cif"]).reshape(6, 3)[3]  # t = 120
    np.testing.assert_allclose(pred["cumulative_incidence_disengaged_120"], expected, rtol=1e-10)
    assert "cumulative_incidence_competing_outcome_12" in pred.columns
    # a time beyond the follow-up of the development data is refused, not extrapolated
    done = run(
        "attrition",
        "predict",
        saved["path"],
        responses,
        "--horizon",
        120,
        "--cumulative-incidence",
        "9999",
        "--out",
        out,
    )
    assert done.returncode == 2 and "extrapolated" in done.stderr
    done = run(
        "attrition",
        "predict",
        saved["path"],
        responses,
        "--horizon",
        120,
        "--cumulative-incidence",
        "soon",
        "--out",
        out,
    )
    assert done.returncode == 2 and "separated by commas" in done.stderr
    # a model without a competing outcome says why it cannot
    plain = json.loads(saved["path"].read_text())
    plain["fine_gray"] = None
    plain_path = tmp_path / "plain.json"
    plain_path.write_text(json.dumps(plain))
    done = run(
        "attrition",
        "predict",
        plain_path,
        responses,
        "--horizon",
        120,
        "--cumulative-incidence",
        "12",
        "--out",
        out,
    )
    assert done.returncode == 2 and "without a competing outcome" in done.stderr


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("frailty", "conditional on a group's unknown frailty"),
        ("time_varying", "scores not yet measured"),
        ("gee", "population-average"),
    ],
)
def test_model_kinds_that_cannot_predict_are_refused_with_the_reason(saved, tmp_path, kind, reason):
    data = json.loads(saved["path"].read_text())
    data["model_type"] = kind
    path = tmp_path / f"{kind}.json"
    path.write_text(json.dumps(data))
    with pytest.raises(DataError, match=reason):
        load_model(path)
