"""Who leaves the group, and when: a Cox model of disengagement on the theme scores (SYNTHETIC data).

Usage: python examples/attrition_model.py [OUT_DIR]   (default ./example-output)

Baseline scale scores are joined to follow-up by respondent id, the model is fitted, checked
(proportional hazards) and validated by bootstrap, and the report is written.
``mhdq attrition fit RESPONSES --followup FILE --event disengaged --time months --out DIR`` is the
same on the command line; ``mhdq attrition predict`` applies the saved model.json to new people.
"""

import sys
import warnings
from pathlib import Path

from analysis.attrition import fit_attrition, join_followup
from analysis.attrition.report import write_outputs
from analysis.simulate.cohort import simulate_cohort, theme_scales
from instrument.score import score_items
from instrument.spec import load_instrument

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output") / "attrition"
out.mkdir(parents=True, exist_ok=True)
mhdq = load_instrument()

# SYNTHETIC cohort: baseline answers and 12 months of follow-up (months, disengaged, switched).
cohort = simulate_cohort(mhdq, n=600, seed=12, followup_months=12)
themes = theme_scales(mhdq)  # model, frustration, cage
scores = score_items(cohort.responses, mhdq, scales=themes)
scores.insert(0, "respondent_id", cohort.responses["respondent_id"])

# Join by id; moving to another group ("switched") is a competing outcome, censored here.
joined = join_followup(
    scores, cohort.followup, event="disengaged", time="months", competing="switched"
)

with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    analysis = fit_attrition(joined, scales=themes, n_boot=100, seed=12)
for w in caught:
    print(f"note: {w.message}")

# Hazard ratios per scale point and per SD, with 95% intervals
print(
    analysis.effects[["hazard_ratio", "ci_low", "ci_high", "hazard_ratio_per_sd", "p"]]
    .round(3)
    .to_string()
)
print("\nApparent and optimism-corrected performance:")
print(analysis.validation.table.round(3).to_string())

paths = write_outputs(analysis, out, instrument=mhdq, synthetic=True)
print("\n" + "\n".join(f"wrote {p}" for p in paths.values()))
