"""Chunked, bounded-memory validation (analysis.moments, analysis.study.chunked) against the
in-memory path on the same rows. All data here are SYNTHETIC (simulate_cohort / numpy draws).

The expected values come from the in-memory functions (pandas' pairwise covariances, the
in-memory alpha, EFA, parallel analysis and CFA), which are pinned to R elsewhere
(tests/test_reliability*.py, tests/test_efa.py, tests/test_cfa.py, tests/test_fiml.py); here the
claim is that accumulating sufficient statistics in chunks changes nothing but rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.correlation import pairwise_cor, pairwise_cov
from analysis.factor.efa import EFA
from analysis.factor.retention import parallel_analysis
from analysis.moments import MomentAccumulator
from analysis.reliability.alpha import cronbach_alpha
from analysis.sem.cfa import CFA
from analysis.sem.fiml import pattern_moments
from analysis.study.chunked import validate_chunked
from analysis.study.keys import item_keys
from analysis.study.models import hypothesised_models
from instrument.spec import load_instrument

N = 403  # not divisible by the chunk sizes below
CHUNKS = (pytest.param(1, marks=pytest.mark.slow), 10, 64, 1000)


def _synthetic_items(n: int = 300, p: int = 8, seed: int = 1) -> pd.DataFrame:
    """Two correlated factors, five-point codes, 8% of the answers missing (synthetic)."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(n, 2))
    loadings = np.zeros((p, 2))
    loadings[: p // 2, 0] = 0.7
    loadings[p // 2 :, 1] = 0.7
    x = np.clip(np.round(3 + f @ loadings.T + 0.8 * rng.normal(size=(n, p))), 1, 5)
    x[rng.random((n, p)) < 0.08] = np.nan
    x[3] = np.nan  # a row without any answer
    return pd.DataFrame(x, columns=[f"i{j}" for j in range(p)])


def _accumulate(frame: pd.DataFrame, chunk: int, **kwargs) -> MomentAccumulator:
    acc = MomentAccumulator(frame.columns, categories=[1, 2, 3, 4, 5], **kwargs)
    x = frame.to_numpy()
    for start in range(0, len(frame), chunk):
        acc.update(x[start : start + chunk])
    return acc


@pytest.mark.parametrize("chunk", [1, 7, 64, 300, 1000])
def test_moments_equal_in_memory_correlations(chunk):
    frame = _synthetic_items()
    acc = _accumulate(frame, chunk)
    # pandas DataFrame.cov/corr (R's cov/cor(use = "pairwise")), the in-memory path
    assert np.abs(acc.pairwise_cov() - pairwise_cov(frame)).max() < 1e-12
    assert np.abs(acc.pairwise_cor() - pairwise_cor(frame)).max() < 1e-12
    complete = frame.dropna()
    assert acc.n_complete == len(complete)
    assert np.abs(acc.listwise_cov() - complete.cov().to_numpy()).max() < 1e-12
    summary = acc.summary().set_index("item")
    assert np.abs(summary["sd"] - frame.std()).max() < 1e-12
    assert (summary["n_3"] == (frame == 3).sum()).all()
    table = acc.bivariate_table(0, 5)
    both = frame[["i0", "i5"]].dropna()
    expected = pd.crosstab(both["i0"], both["i5"]).reindex(
        index=[1.0, 2, 3, 4, 5], columns=[1.0, 2, 3, 4, 5], fill_value=0
    )
    assert np.array_equal(table, expected.to_numpy())


def test_moments_whole_data_in_one_chunk_is_exact():
    frame = _synthetic_items()
    one = _accumulate(frame, len(frame))
    again = MomentAccumulator(frame.columns, categories=[1, 2, 3, 4, 5])
    again.update(frame[list(reversed(frame.columns))])  # a DataFrame is read by item name
    for name in ("pair_n", "pair_sum", "pair_sq", "cross", "complete_cross", "tables"):
        assert np.array_equal(getattr(one, name), getattr(again, name))
    # integer codes: sums are exact, so any chunking gives the identical statistics
    small = _accumulate(frame, 7)
    for name in ("pair_n", "pair_sum", "pair_sq", "cross", "complete_cross", "tables"):
        assert np.array_equal(getattr(one, name), getattr(small, name))


def test_reservoir_sample_does_not_depend_on_chunks_and_is_uniform():
    frame = _synthetic_items(n=2000)
    a = _accumulate(frame, 3, reservoir_size=100, seed=5)
    b = _accumulate(frame, 333, reservoir_size=100, seed=5)
    assert np.array_equal(a.sample_index(), b.sample_index())
    assert len(a.sample_index()) == 100 and len(set(a.sample_index())) == 100
    rows = frame.to_numpy()[a.sample_index()]
    assert np.array_equal(np.isnan(rows), np.isnan(a.sample_rows()))
    # uniform: the positions' mean is near (n - 1) / 2 (sd of the mean ≈ 577 / √100 ≈ 58)
    assert abs(a.sample_index().mean() - 999.5) < 4 * 58
    c = _accumulate(frame, 333, reservoir_size=100, seed=6)
    assert not np.array_equal(a.sample_index(), c.sample_index())


def test_merge_of_partitions_equals_one_pass():
    frame = _synthetic_items()
    whole = _accumulate(frame, 50)
    parts = [_accumulate(frame.iloc[s : s + 120], 50) for s in range(0, len(frame), 120)]
    merged = parts[0]
    for part in parts[1:]:
        merged.merge(part)
    assert merged.n == whole.n
    for name in ("pair_n", "pair_sum", "pair_sq", "cross", "complete_cross", "tables"):
        assert np.array_equal(getattr(merged, name), getattr(whole, name))
    r1, w1 = merged.fiml_rows()
    r2, w2 = whole.fiml_rows()
    a, b = pattern_moments(r1, weights=w1), pattern_moments(r2, weights=w2)
    assert a.n_patterns == b.n_patterns
    assert abs(a.h1 - b.h1) < 1e-12
    assert len(merged.sample_index()) == min(whole.n, merged.reservoir_size)


@pytest.mark.parametrize("chunk", [pytest.param(1, marks=pytest.mark.slow), 13, 1000])
def test_fiml_from_patterns_equals_in_memory(chunk):
    frame = _synthetic_items()
    acc = _accumulate(frame, chunk)
    acc.pattern_row_limit = 5  # force most patterns to moments (weighted rows)
    if chunk == 1:
        acc = MomentAccumulator(frame.columns, reservoir_size=0)
        acc.pattern_row_limit = 5
        for start in range(len(frame)):
            acc.update(frame.iloc[start : start + 1])
    rows, weights = acc.fiml_rows()
    x = frame.to_numpy()
    pm = pattern_moments(rows, weights=weights)
    ref = pattern_moments(x[~np.isnan(x).all(axis=1)])
    assert pm.n == ref.n and pm.n_patterns == ref.n_patterns
    # saturated model by EM (tol 1e-10) from the same sufficient statistics
    assert abs(pm.h1 - ref.h1) < 1e-12
    assert np.abs(pm.cov - ref.cov).max() < 1e-12
    model = "f1 =~ i0 + i1 + i2 + i3\nf2 =~ i4 + i5 + i6 + i7"
    a = CFA(model, missing="ml").fit_moments(pm)
    b = CFA(model, missing="ml").fit(frame)
    rel = ((a.fit_measures_ - b.fit_measures_).abs() / b.fit_measures_.abs().clip(lower=1)).max()
    assert rel < 1e-10  # achieved ~2e-11 (chi-square, logl, CFI, RMSEA, SRMR, AIC, BIC)
    # estimates: the ML fit polishes past its stopping rule until the gradient stops shrinking
    # (engine._polish), so fits from inputs equal to rounding land on one point
    est = np.abs(a.estimates_["est"].to_numpy() - b.estimates_["est"].to_numpy()).max()
    assert est < 1e-12  # achieved ~7e-14 (1.3e-8 before the polish)
    se = np.abs(a.estimates_["se"].to_numpy() - b.estimates_["se"].to_numpy()).max()
    assert se < 1e-8  # achieved ~7e-10 (observed information by forward differences)


def test_listwise_cfa_from_complete_moments_equals_in_memory():
    from analysis.sem.engine import GroupStats

    frame = _synthetic_items()
    acc = _accumulate(frame, 17)
    n, mean, cov = acc.complete_moments()
    stats = GroupStats(None, n, cov, mean, float(np.linalg.slogdet(cov)[1]))
    model = "f1 =~ i0 + i1 + i2 + i3\nf2 =~ i4 + i5 + i6 + i7"
    a = CFA(model).fit_moments(stats)
    b = CFA(model).fit(frame)
    assert a.n_obs_ == b.n_obs_
    rel = ((a.fit_measures_ - b.fit_measures_).abs() / b.fit_measures_.abs().clip(lower=1)).max()
    assert rel < 1e-10
    assert np.abs(a.estimates_["est"] - b.estimates_["est"]).max() < 1e-12  # achieved ~4e-15
    with pytest.raises(TypeError, match="PatternMoments"):
        CFA(model, missing="ml").fit_moments(stats)


def _same_fit(got: CFA, ref: CFA) -> None:
    """The likelihood-based fit measures to rounding; the estimates (and SRMR) to where the ML
    fit's polish stops (the gradient no longer shrinks): in a badly fitting model (bfi's one
    factor) F is so flat along one direction that fits from inputs differing at 1e-15 stop
    ~3e-10 apart (2e-7 before the polish), at the same likelihood to 1e-14."""
    a, b = got.fit_measures_, ref.fit_measures_
    rel = ((a - b).abs() / b.abs().clip(lower=1)).drop(["srmr"], errors="ignore")
    assert rel.max() < 1e-12  # achieved ~2e-14 (chisq, fmin, logl, cfi, tli, rmsea, aic, bic)
    assert abs(a["srmr"] - b["srmr"]) < 1e-11  # achieved ~1.3e-12
    est = np.abs(got.estimates_["est"].to_numpy() - ref.estimates_["est"].to_numpy()).max()
    assert est < 1e-9  # achieved 3.3e-10 (bfi's one-factor model), ~1e-13 elsewhere


@pytest.fixture(scope="module")
def bfi_file(tmp_path_factory):
    from analysis.simulate.cohort import simulate_cohort

    bfi = load_instrument("examples/bfi.yaml")
    frame = simulate_cohort(bfi, n=N, seed=3, missing_rate=0.05).responses  # synthetic
    path = tmp_path_factory.mktemp("chunked") / "synthetic.csv"
    frame.to_csv(path, index=False)
    return bfi, path


@pytest.fixture(scope="module")
def bfi_in_memory(bfi_file):
    from analysis.study.models import answers_only
    from instrument.check import check_responses
    from instrument.read import read_responses

    bfi, path = bfi_file
    checked = check_responses(read_responses(path, bfi), bfi)
    codes = checked.codes.reset_index(drop=True)[~checked.rejected.to_numpy(dtype=bool)]
    return answers_only(codes.reset_index(drop=True), bfi)


@pytest.mark.parametrize("chunk", CHUNKS)
def test_validate_chunked_equals_in_memory(bfi_file, bfi_in_memory, chunk):
    bfi, path = bfi_file
    codes = bfi_in_memory
    res = validate_chunked(path, bfi, chunk_rows=chunk, seed=4, reservoir_size=100)
    assert res.n_used == len(codes) == N
    assert res.n_chunks == -(-N // chunk)
    assert res.synthetic
    assert (res.steps["status"] == "ok").all(), res.steps
    keys = item_keys(bfi)
    for row in res.reliability.itertuples():
        items = codes[list(bfi.scale_items(row.scale))]
        ref = cronbach_alpha(items, keys=keys)
        assert abs(row.alpha - ref.estimate) < 1e-12
        assert abs(row.ci_low - ref.ci_low) < 1e-12 and abs(row.ci_high - ref.ci_high) < 1e-12
        assert row.n_obs == ref.n_obs
    struct = list(res.correlations.index)
    assert np.abs(res.correlations.to_numpy() - pairwise_cor(codes[struct])).max() < 1e-12
    pa = parallel_analysis(codes[struct], n_iter=20, seed=4)
    assert res.parallel.n_factors == pa.n_factors
    efa = EFA(res.efa.n_factors).fit(codes[struct])
    assert np.abs(res.efa.loadings_.to_numpy() - efa.loadings_.to_numpy()).max() < 1e-10
    for name, model in hypothesised_models(bfi).items():
        for got, ref in (
            (res.cfa[name], CFA(model, missing="ml").fit(codes)),
            (res.cfa_listwise[name], CFA(model).fit(codes)),
        ):
            assert got.n_obs_ == ref.n_obs_
            _same_fit(got, ref)
    assert res.subsample_size == 100 and res.subsample_analyses == ("split_half",)
    out = res.to_dict()
    assert out["subsample"]["analyses"] == ["split_half"] and out["synthetic"]


def test_validate_chunked_rejects_bad_chunk_rows(bfi_file):
    bfi, path = bfi_file
    with pytest.raises(ValueError, match="chunk_rows"):
        validate_chunked(path, bfi, chunk_rows=0)
    with pytest.raises(TypeError, match="chunk_rows"):
        validate_chunked(path, bfi, chunk_rows=2.5)  # type: ignore[arg-type]


def test_cli_chunk_rows_writes_results(bfi_file, tmp_path, capsys):
    import json

    from analysis.cli import main

    bfi, path = bfi_file
    out = tmp_path / "out"
    main(["validate", str(path), "--instrument", "examples/bfi.yaml", "--out", str(out),
          "--chunk-rows", "100", "--seed", "4"])  # fmt: skip
    printed = capsys.readouterr().out
    assert printed.startswith("SYNTHETIC DATA: 403 of 403 rows analysed in 5 chunks")
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert results["synthetic"] and results["data"]["n_used"] == N
    assert results["subsample"]["analyses"] == ["split_half"]
    api = validate_chunked(path, bfi, chunk_rows=100, seed=4)
    alpha = {r["scale"]: r["alpha"] for r in results["reliability"]}
    assert alpha == dict(zip(api.reliability["scale"], api.reliability["alpha"], strict=True))
    assert (out / "synthetic_cfa_fit.csv").exists()


def test_cli_chunk_rows_refuses_other_analyses(bfi_file, tmp_path, capsys):
    from analysis.cli import main

    _, path = bfi_file
    with pytest.raises(SystemExit) as stop:
        main(["validate", str(path), "--instrument", "examples/bfi.yaml", "--out",
              str(tmp_path / "o"), "--chunk-rows", "100", "--group-by", "gender"])  # fmt: skip
    assert stop.value.code == 2
    assert "--chunk-rows: not available with --group-by" in capsys.readouterr().err


def test_dask_partitions_on_two_workers_equal_local_accumulation():
    dd = pytest.importorskip("dask.dataframe")
    distributed = pytest.importorskip("dask.distributed")
    from analysis.moments import accumulate_dask

    frame = _synthetic_items(n=500)
    local = _accumulate(frame, 64, reservoir_size=50, seed=9)
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        got = accumulate_dask(
            dd.from_pandas(frame, npartitions=5),
            frame.columns,
            categories=[1, 2, 3, 4, 5],
            reservoir_size=50,
            seed=9,
            client=client,
        )
    assert got.n == local.n == 500 and got.n_complete == local.n_complete
    for name in ("pair_n", "pair_sum", "pair_sq", "cross", "complete_cross", "tables"):
        assert np.array_equal(getattr(got, name), getattr(local, name))  # integer codes: exact
    assert np.abs(got.pairwise_cor() - pairwise_cor(frame)).max() < 1e-12
    a, b = _fiml(got), _fiml(local)
    assert a.n_patterns == b.n_patterns and abs(a.h1 - b.h1) < 1e-12
    index = got.sample_index()
    assert len(index) == 50 and len(set(index)) == 50 and index.max() < 500
    assert np.array_equal(np.isnan(got.sample_rows()), np.isnan(frame.to_numpy()[index]))


def _fiml(acc: MomentAccumulator):
    rows, weights = acc.fiml_rows()
    return pattern_moments(rows, weights=weights)
