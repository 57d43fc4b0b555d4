"""Study planning (analysis/simulate/plan.py, ``mhdq plan``): Monte Carlo on synthetic cohorts.

The plan's fast per-cohort statistics must be the library's statistics (checked against
``cronbach_alpha``/``omega``, which are pinned to psych elsewhere) and pandas' pairwise moments;
the Monte Carlo summaries must follow their stated definitions; the search must return the
smallest grid N meeting its target.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from analysis.reliability import cronbach_alpha, omega
from analysis.simulate.cohort import simulate_cohort
from analysis.simulate.plan import (
    DEFAULT_GRID,
    find_sample_size,
    pairwise_moments,
    parse_targets,
    plan_study,
)
from analysis.study import item_keys
from analysis.study.models import answers_only
from tests.conftest import ROOT


@pytest.fixture(scope="module")
def bfi_plan(bfi_spec):
    return plan_study(bfi_spec, n=150, reps=4, seed=7)


def test_pairwise_moments_equal_pandas_pairwise_cov_and_corr():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 5)) @ rng.normal(size=(5, 5))
    x[rng.random(x.shape) < 0.2] = np.nan
    cov, cor = pairwise_moments(x)
    frame = pd.DataFrame(x)
    # R: cov(x, use = "pairwise"), cor(x, use = "pairwise") -- pandas implements the same definition
    np.testing.assert_allclose(cov, frame.cov().to_numpy(), rtol=1e-12)
    np.testing.assert_allclose(cor, frame.corr().to_numpy(), rtol=1e-12)


def test_per_cohort_alpha_and_omega_are_the_library_statistics(bfi_spec, bfi_plan):
    # Rebuild the first cohort from its recorded seed and compare with cronbach_alpha / omega
    first = bfi_plan.replicates.iloc[0]
    settings = {
        k: bfi_plan.settings[k]
        for k in ("event_rate", "followup_months", "missing_rate", "careless_share")
    }
    cohort = simulate_cohort(bfi_spec, n=bfi_plan.n, seed=int(first["seed"]), **settings)
    items = answers_only(cohort.responses, bfi_spec)
    for scale in bfi_plan.reliability["scale"]:
        ids = list(bfi_spec.scale_items(scale))
        alpha = cronbach_alpha(items[ids], keys=item_keys(bfi_spec))
        assert first[f"alpha:{scale}"] == pytest.approx(alpha.estimate, abs=1e-10)
        assert first[f"alpha_width:{scale}"] == pytest.approx(
            alpha.ci_high - alpha.ci_low, abs=1e-10
        )
        # omega(n_factors = 1) and the plan call the same minres (analysis.factor.extract_factors):
        # achieved gap 3.3e-16; 1e-12 leaves room for rounding (was 1e-4 when omega used
        # factor_analyzer's minres)
        om = omega(items[ids], n_factors=1, keys=item_keys(bfi_spec))
        assert first[f"omega:{scale}"] == pytest.approx(om.estimate, abs=1e-12)


def test_per_cohort_omega_width_is_the_omega_bootstrap_interval(bfi_spec, bfi_plan):
    # The plan's omega interval is omega(n_factors=1, n_boot=200, seed=cohort seed + scale position)
    # on the cohort's answers: same resamples, same fits (the start loadings differ by about 1e-6,
    # Newton converges to the same minres solution)
    first = bfi_plan.replicates.iloc[0]
    settings = {
        k: bfi_plan.settings[k]
        for k in ("event_rate", "followup_months", "missing_rate", "careless_share")
    }
    cohort = simulate_cohort(bfi_spec, n=bfi_plan.n, seed=int(first["seed"]), **settings)
    items = answers_only(cohort.responses, bfi_spec)
    assert bfi_plan.settings["omega_n_boot"] == 200
    for j, scale in enumerate(bfi_plan.reliability["scale"]):
        ids = list(bfi_spec.scale_items(scale))
        om = omega(
            items[ids],
            n_factors=1,
            keys=item_keys(bfi_spec),
            n_boot=200,
            seed=int(first["seed"]) + j,
        )
        assert first[f"omega_width:{scale}"] == pytest.approx(om.ci_high - om.ci_low, abs=1e-6)


def test_summaries_follow_their_definitions(bfi_plan):
    reps = bfi_plan.replicates
    rel = bfi_plan.reliability.set_index("scale")
    for scale in rel.index:
        assert rel.loc[scale, "alpha_width"] == pytest.approx(reps[f"alpha_width:{scale}"].mean())
        assert rel.loc[scale, "omega_width"] == pytest.approx(reps[f"omega_width:{scale}"].mean())
        error = reps[f"omega:{scale}"] - reps[f"omega_population:{scale}"]
        assert rel.loc[scale, "omega_wald_width"] == pytest.approx(
            2 * 1.959964 * error.std(), rel=1e-5
        )
    cfa = bfi_plan.cfa.iloc[0]
    assert (
        cfa["model"] == "facets"
    )  # bfi is flat: its generating model is the five correlated scales
    assert cfa["p_rmsea_ok"] == pytest.approx((reps["rmsea_upper"] < 0.08).mean())
    assert cfa["p_cfi_ok"] == pytest.approx((reps["cfi"] >= 0.95).mean())
    assert bfi_plan.attrition["c_index_width"].iloc[0] == pytest.approx(
        2 * 1.959964 * reps["c_index"].std(), rel=1e-5
    )
    assert bfi_plan.synthetic and bfi_plan.settings["synthetic"]
    tidy = bfi_plan.summary()
    assert list(tidy.columns) == ["n", "reps", "section", "target", "quantity", "estimate"]


def test_feldt_width_is_the_f_quantile_spread(bfi_plan):
    # Feldt, Woodruff & Salih (1987): bounds 1 - (1 - alpha) F_q(n - 1, (n - 1)(k - 1)), so the
    # width
    # divided by (1 - alpha) is F_.975 - F_.025 of those degrees of freedom (scipy's F quantiles)
    from scipy import stats

    reps = bfi_plan.replicates
    n, k = bfi_plan.n, 5
    spread = stats.f.ppf(0.975, n - 1, (n - 1) * (k - 1)) - stats.f.ppf(
        0.025, n - 1, (n - 1) * (k - 1)
    )
    for scale in bfi_plan.reliability["scale"]:
        np.testing.assert_allclose(
            reps[f"alpha_width:{scale}"] / (1 - reps[f"alpha:{scale}"]), spread, rtol=1e-8
        )


def test_search_returns_the_smallest_grid_n_meeting_the_target(bfi_spec):
    grid = (50, 100, 200, 400, 800)
    found = find_sample_size(
        bfi_spec, "alpha_width=0.12", grid=grid, reps=2, seed=5, cfa_model=None
    )
    assert found.n_required in grid
    ev = found.evaluations.set_index("n")
    assert bool(ev.loc[found.n_required, "met"])
    below = [g for g in grid if g < found.n_required]
    if below:  # the grid point just below was evaluated by the bisection and fails
        assert not bool(ev.loc[below[-1], "met"])
    assert found.evaluations["value"].is_monotonic_decreasing


def test_search_reports_an_unreachable_target(bfi_spec):
    found = find_sample_size(
        bfi_spec, {"alpha_width": 0.001}, grid=(50, 100), reps=2, seed=1, cfa_model=None
    )
    assert found.n_required is None
    assert list(found.evaluations["n"]) == [100]  # the largest N fails: nothing smaller is tried


@pytest.mark.parametrize(
    "text, message",
    [
        ("alpha=0.1", "unknown metric"),
        ("alpha_width", "metric=value"),
        ("p_cfi_ok=1.5", "between 0 and 1"),
        ("c_index_width@model=0.1", "only alpha_width, omega_width and icc_width"),
    ],
)
def test_bad_targets_are_named(text, message):
    with pytest.raises(ValueError, match=message):
        parse_targets(text)


def test_targets_parse_with_scales():
    assert parse_targets("alpha_width@strategy=0.1, p_rmsea_ok=.8") == {
        "alpha_width@strategy": 0.1,
        "p_rmsea_ok": 0.8,
    }
    assert DEFAULT_GRID[0] >= 10


def test_bad_arguments(bfi_spec):
    with pytest.raises(ValueError, match="n: need"):
        plan_study(bfi_spec, n=5)
    with pytest.raises(ValueError, match="reps"):
        plan_study(bfi_spec, n=50, reps=1)
    with pytest.raises(ValueError, match="cfa_model"):
        plan_study(bfi_spec, n=50, reps=2, cfa_model="themes")
    with pytest.raises(KeyError):
        plan_study(bfi_spec, n=50, reps=2, scales=["nope"])
    with pytest.raises(ValueError, match="omega_n_boot"):
        plan_study(bfi_spec, n=50, reps=2, omega_n_boot=1)


def test_without_bootstrap_the_omega_width_is_the_monte_carlo_width(bfi_spec):
    plan = plan_study(bfi_spec, n=100, reps=3, seed=2, cfa_model=None, omega_n_boot=0)
    rel = plan.reliability
    np.testing.assert_allclose(rel["omega_width"], rel["omega_wald_width"])
    assert plan.replicates[[f"omega_width:{s}" for s in rel["scale"]]].isna().all().all()


def _mhdq(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-c", "from analysis.cli import main; main()", *args],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=cwd,
    )


def test_cli_plan_json_and_plot(tmp_path):
    out = tmp_path / "plan"
    done = _mhdq(
        "plan",
        "--instrument",
        str(ROOT / "examples" / "bfi.yaml"),
        "--n",
        "100",
        "--reps",
        "3",
        "--format",
        "json",
        "--out",
        str(out),
    )
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["synthetic"] is True and "synthetic" in payload["note"]
    assert {r["scale"] for r in payload["reliability"]} == {
        "agree",
        "conscientious",
        "extraversion",
        "neuroticism",
        "openness",
    }
    assert (out / "plan.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((out / "plan.json").read_text())["synthetic"] is True


def test_cli_plan_target_table(tmp_path):
    done = _mhdq(
        "plan",
        "--instrument",
        str(ROOT / "examples" / "bfi.yaml"),
        "--reps",
        "2",
        "--target",
        "alpha_width=0.2",
        "--out",
        str(tmp_path),
    )
    assert done.returncode == 0, done.stderr
    assert "synthetic" in done.stdout and "smallest N meeting every target" in done.stdout
    assert (tmp_path / "search.png").exists()


@pytest.mark.parametrize("args", [["plan"], ["plan", "--n", "100", "--target", "nonsense=1"]])
def test_cli_plan_usage_errors(args):
    done = _mhdq(*args)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
