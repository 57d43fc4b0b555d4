"""IRT model fit (M2/C2, S-X2, LD, category use) against mirt's asserted values."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.irt import GradedResponseModel
from analysis.irt.fit import category_use, item_fit, local_dependence, m2

DATA = Path(__file__).parent / "data" / "irt"
REF = json.loads((DATA / "mirt_reference.json").read_text())
EXTRA = json.loads((DATA / "mirt_testsuite_extra.json").read_text())


@pytest.fixture(scope="module")
def science():
    return pd.read_csv(DATA / "Science.csv")


@pytest.fixture(scope="module")
def lsat7():
    table = pd.read_csv(DATA / "LSAT7.csv")
    items = list(table.columns[:5])
    return pd.DataFrame(np.repeat(table[items].to_numpy(), table["freq"], axis=0), columns=items)


@pytest.fixture(scope="module")
def lsat7_model(lsat7):
    return GradedResponseModel("2PL", se_type=None).fit(lsat7)


def test_c2_science(science):
    # M2(mirt(Science, 1), type='C2'): 19.17929, p 6.84337e-05 (tolerance 1e-4). Achieved
    # 1.2e-4 relative on the statistic (19.17692) and 1.2e-3 on p: mirt evaluates it at its
    # EM-stopped estimates (see test_irt_model), we at the exact maximum.
    ref = REF["science_graded_1f"]["M2_C2"]
    model = GradedResponseModel(se_type=None).fit(science)
    result = m2(model, science)
    assert result.type == "C2" and result.df == 2
    assert result.statistic == pytest.approx(ref["M2"], rel=1.3e-4)
    assert result.p_value == pytest.approx(ref["p"], rel=1.3e-3)
    assert 0 < result.rmsea_low < result.rmsea < result.rmsea_high
    assert 0 <= result.cfi <= 1
    assert result.summary().shape[0] == 1


def test_m2_lsat7(lsat7_model, lsat7):
    # M2(modm1) on LSAT7: 11.93841, df 5 (closeEnough 1e-2); achieved 2.4e-6, within half a unit
    # of the 5th printed decimal, the tolerance here
    ref = EXTRA["lsat7_m2"]
    result = m2(lsat7_model, lsat7)
    assert result.df == ref["df"]
    assert result.statistic == pytest.approx(ref["M2"], abs=5e-6)
    # RMSEA from M2 as mirt's rmsea(): sqrt((M2/df - 1)/(N - 1)); achieved 1.7e-7 relative (half
    # a unit in M2's 5th decimal moves it by 3.6e-7)
    assert result.rmsea == pytest.approx(np.sqrt((ref["M2"] / 5 - 1) / 999), rel=5e-7)


def test_s_x2_lsat7(lsat7_model, lsat7):
    # itemfit(modm1, "S_X2") on LSAT7 (closeEnough 1e-2); achieved 2.4e-3 at the exact maximum
    # (1.6e-3 with convergence="mirt")
    ref = EXTRA["lsat7_itemfit"]
    table = item_fit(lsat7_model, lsat7)
    np.testing.assert_allclose(table["s_x2"], ref["S_X2"], atol=2.5e-3)
    assert table["df"].tolist() == ref["df_S_X2"]
    assert ((table["p_value"] > 0) & (table["p_value"] < 1)).all()


def test_local_dependence_lsat7(lsat7_model, lsat7):
    # residuals(modm1) (type 'LD'): lower triangle LD X2, upper signed Cramer's V
    # (tolerance 1e-2 relative); achieved 8e-4 absolute on X2, 1.3e-5 on V, same signs
    ref = np.array(EXTRA["lsat7_ld_residuals"]["values"], float).reshape(5, 5).T
    table = local_dependence(lsat7_model, lsat7)
    for row in table.itertuples():
        i = int(row.item_1.split(".")[1]) - 1
        j = int(row.item_2.split(".")[1]) - 1
        assert row.ld_x2 == pytest.approx(ref[j, i], abs=8e-4)
        assert row.cramers_v == pytest.approx(ref[i, j], abs=1.5e-5)


def test_category_use_flags_sparse_categories(science):
    table = category_use(science, min_count=10)
    comfort = table[table["item"] == "Comfort"].set_index("category")
    assert comfort["count"].sum() == len(science)
    assert comfort.loc[1.0, "sparse"] == (comfort.loc[1.0, "count"] < 10)
    gap = category_use(pd.DataFrame({"x": [1, 1, 3, 3]}), min_count=1)
    assert gap.set_index("category").loc[2.0, "count"] == 0
    assert bool(gap.set_index("category").loc[2.0, "sparse"])


def test_generalised_s_x2_science_against_an_independent_r_computation(science):
    # Rscript tests/data/irt/make_sx2_reference.R <mirt>/R/utils.R: mirt's itemfit(mod, 'S_X2')
    # S_X2 branch computed in R without our code -- expected tables by brute-force enumeration of
    # all 256 response patterns (not the Lord-Wingersky recursion), mirt's own collapseCells()
    # -- at mirt's published Louis estimates of mirt(Science, 1). No published mirt value exists
    # for a unidimensional graded S-X2 on the data here. Achieved: tables 1e-13, S-X2 1e-13
    # relative, df exact.
    from analysis.irt.fit import _sx2_tables
    from analysis.irt.model import _split

    ref = json.loads((DATA / "sx2_reference.json").read_text())
    mirt = json.loads((DATA / "mirt_reference.json").read_text())["science_graded_1f"]
    est = np.array(mirt["coef_with_louis_se"]["values_est_se_pairs"][:32], float)[0::2]
    model = GradedResponseModel(se_type=None).fit(science)
    model.params_ = _split(est, model._par_offsets)
    codes = model.prepare(science).codes
    for (_, _, expected), r_table in zip(
        _sx2_tables(model, codes), ref["expected_uncollapsed"], strict=True
    ):
        r_table = np.array(r_table, float)
        np.testing.assert_array_equal(np.isnan(expected), r_table == -1)
        keep = r_table != -1
        np.testing.assert_allclose(expected[keep], r_table[keep], rtol=1e-11, atol=1e-12)
    table = item_fit(model, science)
    np.testing.assert_allclose(table["s_x2"], ref["S_X2"], rtol=1e-11)
    assert table["df"].tolist() == ref["df_S_X2"]
    np.testing.assert_allclose(table["p_value"], ref["p_S_X2"], rtol=1e-9)
