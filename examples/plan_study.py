"""Plan a study: how precise will N respondents be, and what N meets a target? (Monte Carlo on
SYNTHETIC cohorts.)

Usage: python examples/plan_study.py [OUT_DIR]   (default ./example-output)

``mhdq plan --n 400`` and ``mhdq plan --target alpha_width=0.1`` do the same on the command line
(with 50 simulated cohorts per N by default; this example uses fewer to run quickly).
"""

import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

from analysis.simulate.plan import find_sample_size, plan_study  # noqa: E402
from instrument.spec import load_instrument  # noqa: E402

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output") / "plan"
out.mkdir(parents=True, exist_ok=True)
mhdq = load_instrument()

# What does a study of 400 respondents give? (10 cohorts: quick, but noisy; use 50+ for decisions)
plan = plan_study(mhdq, n=400, reps=10, seed=1, event_rate=0.4)
print(
    plan.reliability[["scale", "alpha_mean", "alpha_width", "omega_width"]]
    .round(3)
    .to_string(index=False)
)
print(
    plan.cfa[["model", "p_rmsea_ok", "p_cfi_ok", "complete_rows_mean"]]
    .round(3)
    .to_string(index=False)
)
print(plan.attrition[["c_index_mean", "c_index_width"]].round(3).to_string(index=False))
plan.plot().figure.savefig(out / "plan.png", dpi=100)

# The smallest N (on a grid) whose alpha intervals are at most 0.10 wide for every scale
search = find_sample_size(
    mhdq, {"alpha_width": 0.10}, grid=(100, 200, 300, 400, 600, 800), reps=4, seed=1, cfa_model=None
)
print(f"\nalpha_width <= 0.10 for every scale from N = {search.n_required} (synthetic Monte Carlo)")
print(search.evaluations.round(3).to_string(index=False))
search.plot().figure.savefig(out / "search.png", dpi=100)
print(f"\nwrote {out / 'plan.png'} and {out / 'search.png'}")
