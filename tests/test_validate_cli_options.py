"""`mhdq validate`: missing item columns are an error unless --allow-missing-items; --rename.

Data: the first 400 rows of psychTools' bfi (tests/data/bfi.csv)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.cli import main

ROOT = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data"
BFI = ROOT / "examples" / "bfi.yaml"


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exit_info:
        main([*args])
        raise SystemExit(0)
    out = capsys.readouterr()
    return int(exit_info.value.code or 0), out.out, out.err


@pytest.fixture
def bfi_400() -> pd.DataFrame:
    return pd.read_csv(DATA / "bfi.csv").head(400)


FAST = ["--bootstrap", "0", "-q"]


def test_missing_item_columns_stop_with_one_message(bfi_400, tmp_path, capsys):
    path = tmp_path / "lacking.csv"
    bfi_400.drop(columns=["C3", "O5"]).to_csv(path, index=False)
    code, _, err = run_cli(
        ["validate", str(path), "--instrument", str(BFI), "--out", str(tmp_path / "o"), *FAST],
        capsys,
    )
    assert code == 1
    assert "lacking.csv: no column for 2 item(s): C3, O5" in err
    assert "--allow-missing-items" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "results.json").exists()


def test_allow_missing_items_analyses_the_rest(bfi_400, tmp_path, capsys):
    path = tmp_path / "lacking.csv"
    bfi_400.drop(columns=["C3", "O5"]).to_csv(path, index=False)
    out = tmp_path / "o"
    code, _, err = run_cli(
        [
            "validate",
            str(path),
            "--instrument",
            str(BFI),
            "--out",
            str(out),
            "--allow-missing-items",
        ]
        + FAST,
        capsys,
    )
    assert code == 0, err
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert result["data"]["n_used"] == 400


def test_rename_maps_r_style_names(bfi_400, tmp_path, capsys):
    path = tmp_path / "dotted.csv"
    bfi_400.rename(columns={"A1": "a.one", "N5": "n.five"}).to_csv(path, index=False)
    rename = tmp_path / "rename.yaml"
    rename.write_text("a.one: A1\nn.five: N5\n", encoding="utf-8")
    out = tmp_path / "o"
    code, _, err = run_cli(
        ["validate", str(path), "--instrument", str(BFI), "--out", str(out)]
        + ["--rename", str(rename), *FAST],
        capsys,
    )
    assert code == 0, err
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert result["cfa"]["models"]["facets"]["n_obs"] == 400 - int(
        bfi_400[[c for c in bfi_400.columns if c[:1] in "ACENO" and c[1:].isdigit()]]
        .isna()
        .all(axis=1)
        .sum()
    )
    # without the map the two columns are missing items: an error
    code, _, err = run_cli(
        ["validate", str(path), "--instrument", str(BFI), "--out", str(tmp_path / "p"), *FAST],
        capsys,
    )
    assert code == 1 and "A1, N5" in err


@pytest.mark.slow
def test_nfactors_fm_rotation_match_psych(tmp_path, capsys):
    """--nfactors 5 --fm ml --rotation varimax on all of bfi against
    psych::fa(bfi[, 1:25], nfactors = 5, fm = "ml", rotate = "varimax") (bfi_reference.json)."""
    from analysis.factor.efa import match_factors

    ref = json.loads((DATA / "bfi_reference.json").read_text(encoding="utf-8"))["fa_ml_varimax"]
    out = tmp_path / "o"
    code, _, err = run_cli(
        ["validate", str(DATA / "bfi.csv"), "--instrument", str(BFI), "--out", str(out)]
        + ["--nfactors", "5", "--fm", "ml", "--rotation", "varimax", *FAST],
        capsys,
    )
    assert code == 0, err
    result = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert result["options"]["n_factors"] == 5 and result["options"]["fm"] == "ml"
    efa = result["efa"]
    ours = pd.DataFrame(efa["loadings"]["values"], index=efa["loadings"]["rows"])
    expected = np.array(ref["loadings"]["values"])
    ours = ours.loc[ref["loadings"]["rows"]].to_numpy()
    # reverse-keyed items may enter with flipped signs: compare magnitudes after matching factors
    order, _ = match_factors(np.abs(ours), np.abs(expected))
    np.testing.assert_allclose(np.abs(ours[:, order]), np.abs(expected), atol=2e-3)
    assert efa["fit"]["chi_square"] == pytest.approx(ref["STATISTIC"], rel=1e-3)
    assert efa["phi"] is None  # varimax: orthogonal
    # the instrument has no sub-scales: omega across all items at --nfactors
    # R: om <- psych::omega(bfi[1:25], nfactors = 5); om$omega_h, om$omega.tot; abs 2e-3 as
    # tests/test_reliability.py (psych's iterated minres stops early)
    omega_ref = json.loads((DATA / "bfi_reference.json").read_text(encoding="utf-8"))["omega_all"]
    om = result["reliability"]["omega_hierarchical"]
    assert om["n_factors"] == 5
    assert om["omega_hierarchical"] == pytest.approx(omega_ref["omega_h"], abs=2e-3)
    assert om["omega_total"] == pytest.approx(omega_ref["omega_total"], abs=2e-3)
    assert "Omega across all items at 5 factors" in (out / "report.html").read_text("utf-8")
