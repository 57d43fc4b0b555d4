"""Hypothesised CFA models generated from instrument specifications (analysis/study/models.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from analysis.sem.cfa import CFA, compare_models
from analysis.study.models import answers_only, hypothesised_models, skipped_models
from instrument.spec import load_instrument

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent


def _spec(scales, items_per_leaf=3, reverse=()):
    """A small SYNTHETIC specification: scales as (id, parent) pairs, items on every leaf."""
    parents = {p for _, p in scales if p}
    leaves = [s for s, _ in scales if s not in parents]
    items = []
    for leaf in leaves:
        for k in range(1, items_per_leaf + 1):
            iid = f"{leaf}_{k}"
            items.append(
                {
                    "id": iid,
                    "text": {"en": f"Item {iid}"},
                    "scale": leaf,
                    "keyed": "-" if iid in reverse else "+",
                    "response_scale": "five",
                }
            )
    return load_instrument(
        {
            "format": 1,
            "metadata": {
                "name": "Synthetic",
                "short_name": "syn",
                "version": "1",
                "authors": ["test"],
                "citation": "none",
                "licence": "CC0",
            },
            "languages": [{"code": "en", "name": "English", "default": True}],
            "response_scales": {
                "five": {
                    "points": 5,
                    "codes": [1, 2, 3, 4, 5],
                    "labels": {"en": ["a", "b", "c", "d", "e"]},
                }
            },
            "scales": [
                {"id": s, "label": {"en": s}, **({"parent": p} if p else {})} for s, p in scales
            ],
            "items": items,
        }
    )


def test_bfi_models_and_fit_match_lavaan_five_factor_model():
    bfi = load_instrument(ROOT / "examples" / "bfi.yaml")
    models = hypothesised_models(bfi)
    assert list(models) == ["one_factor", "facets"]
    assert set(skipped_models(bfi)) == {"themes", "second_order"}
    facets = models["facets"]
    assert facets.latent == ("agree", "conscientious", "extraversion", "neuroticism", "openness")
    assert dict(facets.keyed)["A1"] == -1 and facets.indicators("agree")[0] == "A2"
    ref = json.loads((DATA / "bfi_reference.json").read_text())["cfa_ml"]
    data = pd.read_csv(DATA / "bfi.csv", index_col=0)
    fit = CFA(facets).fit(answers_only(data, bfi))
    # R: cfa(five-factor model, bfi[, 1:25], estimator = "ML", missing = "listwise"): the marker
    # choice changes no fit statistic (tolerance 1e-3; chisq relative 1e-3)
    assert fit.fit_measures_["chisq"] == pytest.approx(ref["fit"]["chisq"], rel=1e-3)
    for name in ["cfi", "tli", "rmsea", "srmr"]:
        assert fit.fit_measures_[name] == pytest.approx(ref["fit"][name], abs=1e-3)
    # R: standardizedSolution(); lavaan's markers are the first listed items, A1 and E1 reverse
    # keyed,
    # ours the first positively keyed: agree and extraversion point the other way (sign flips only)
    expected = pd.DataFrame(ref["std_loadings"])
    table = fit.standardized_loadings()
    lavaan_marker = expected.groupby("lhs", sort=False)["rhs"].first()
    sign = np.array([facets.keys[lavaan_marker[f]] for f in expected.lhs], dtype=float)
    assert (sign < 0).sum() == 10  # the five agree and five extraversion loadings
    got = [table.loc[r, lhs] for lhs, r in zip(expected.lhs, expected.rhs, strict=True)]
    np.testing.assert_allclose(got, sign * expected["est.std"], atol=1e-3)
    # every positively keyed item now loads positively, every reverse-keyed one negatively
    keys = facets.keys
    assert all(np.sign(table.loc[i].sum()) == keys[i] for i in facets.observed)


def test_mhdq_hierarchy_gives_four_nested_models():
    mhdq = load_instrument()
    models = hypothesised_models(mhdq)
    assert list(models) == ["one_factor", "themes", "second_order", "facets"]
    root = [s.id for s in mhdq.root_scales if mhdq.children(s.id)][0]
    themes = [s.id for s in mhdq.children(root)]
    leaves = [
        s.id
        for s in mhdq.leaf_scales
        if s.id in {x for t in themes for x in [c.id for c in mhdq.children(t)] or [t]}
    ]
    assert models["one_factor"].latent == (root,)
    assert models["themes"].latent == tuple(themes)
    assert set(models["facets"].latent) == set(leaves)
    assert models["second_order"].second_order == tuple(themes)
    items = set(mhdq.scale_items(root))
    for m in models.values():
        assert set(m.observed) == items  # a separate root scale (criterion) is left out
        for f in m.first_order:
            assert mhdq.item(m.indicators(f)[0]).keyed == 1  # marker positively keyed


def test_generic_hierarchies():
    flat_two = _spec([("a", None), ("b", None)])
    assert list(hypothesised_models(flat_two)) == ["one_factor", "facets"]
    # one theme with two facets: second-order factor with two indicators and nothing to correlate
    # with
    one_theme = _spec([("total", None), ("t", "total"), ("f1", "t"), ("f2", "t")])
    reasons = skipped_models(one_theme)
    assert "not identified" in reasons["second_order"] and "one-factor" in reasons["themes"]
    assert list(hypothesised_models(one_theme)) == ["one_factor", "facets"]
    # a theme with a single facet and a leaf theme enter the second-order model as first-order
    # factors
    mixed = _spec(
        [
            ("total", None),
            ("t1", "total"),
            ("f1", "t1"),
            ("f2", "t1"),
            ("t2", "total"),
            ("f3", "t2"),
            ("t3", "total"),
        ]
    )
    so = hypothesised_models(mixed)["second_order"]
    assert so.second_order == ("t1",) and set(so.first_order) == {"f1", "f2", "f3", "t3"}
    # a deeper hierarchy: themes are the root's children, facets all leaves below them
    deep = _spec(
        [
            ("total", None),
            ("t1", "total"),
            ("s1", "t1"),
            ("f1", "s1"),
            ("f2", "s1"),
            ("f3", "t1"),
            ("t2", "total"),
            ("f4", "t2"),
            ("f5", "t2"),
        ]
    )
    so = hypothesised_models(deep)["second_order"]
    assert so.indicators("t1") == ("f1", "f2", "f3")
    # single-item facets cannot be identified
    tiny = _spec(
        [
            ("total", None),
            ("t1", "total"),
            ("f1", "t1"),
            ("f2", "t1"),
            ("t2", "total"),
            ("f3", "t2"),
            ("f4", "t2"),
        ],
        items_per_leaf=1,
    )
    assert "fewer than two items" in skipped_models(tiny)["facets"]
    with pytest.raises(ValueError, match="several scale hierarchies"):
        hypothesised_models(_spec([("r1", None), ("a", "r1"), ("r2", None), ("b", "r2")]))
    with pytest.raises(KeyError):
        hypothesised_models(flat_two, root="nope")


def test_models_fit_synthetic_hierarchical_data_and_compare():
    # SYNTHETIC data from the true second-order model: 2 themes x 2 facets x 4 items
    spec = _spec(
        [
            ("total", None),
            ("t1", "total"),
            ("f1", "t1"),
            ("f2", "t1"),
            ("t2", "total"),
            ("f3", "t2"),
            ("f4", "t2"),
        ],
        items_per_leaf=4,
        reverse=("f1_4", "f3_4"),
    )
    rng = np.random.default_rng(11)
    n = 3000
    themes = rng.multivariate_normal([0, 0], [[1, 0.4], [0.4, 1]], size=n)
    facets = np.repeat(themes, 2, axis=1) * 0.8 + 0.6 * rng.normal(size=(n, 4))
    cols = {}
    for f in range(4):
        for k in range(1, 5):
            sign = -1 if k == 4 and f in (0, 2) else 1
            cols[f"f{f + 1}_{k}"] = sign * 0.7 * facets[:, f] + 0.7 * rng.normal(size=n)
    data = pd.DataFrame(cols)
    fits = {name: CFA(m).fit(data) for name, m in hypothesised_models(spec).items()}
    table = compare_models(fits).set_index("model")
    assert list(table.index) == ["one_factor", "themes", "second_order", "facets"]
    assert table.loc["one_factor", "nested"] and table.loc["themes", "nested"]
    assert table.loc["themes", "delta_pvalue"] < 1e-6  # facets matter
    assert (
        table.loc["second_order", "delta_df"] == 1
    )  # 4 facets: 6 covariances vs 5 second-order params
    assert fits["second_order"].fit_measures_["cfi"] > 0.99
    loadings = fits["facets"].standardized_loadings()
    assert loadings.loc["f1_4", "f1"] < 0 < loadings.loc["f1_1", "f1"]


def test_answers_only_blanks_codes_off_the_scale():
    spec = _spec([("a", None), ("b", None)])
    raw = pd.DataFrame({"a_1": [1, 5, 9, 0], "b_2": ["3", "x", None, 2], "other": [1, 2, 3, 4]})
    out = answers_only(raw, spec)
    assert list(out.columns) == ["a_1", "b_2"]
    assert out["a_1"].tolist()[:2] == [1.0, 5.0] and out["a_1"].isna().tolist() == [
        False,
        False,
        True,
        True,
    ]
    assert out["b_2"].isna().tolist() == [False, True, True, False]
    with pytest.raises(ValueError, match="none of the syn items"):
        answers_only(pd.DataFrame({"z": [1]}), spec)
