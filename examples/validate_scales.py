"""Validate the MHDQ scales on a SYNTHETIC cohort: items, reliability, factor analyses, CFA, validity.

Usage: python examples/validate_scales.py [OUT_DIR]   (default ./example-output)

One call runs the analyses a validation paper reports, each from its own module, and records what
could not run and why. ``mhdq validate FILES --out DIR`` is the same on the command line.
"""

import sys
import warnings
from pathlib import Path

from analysis.report.validation import write_validation_outputs
from analysis.simulate.cohort import simulate_cohort
from analysis.study.validate import validate
from instrument.spec import load_instrument

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output") / "validation"
out.mkdir(parents=True, exist_ok=True)
mhdq = load_instrument()

# SYNTHETIC responses (the frame's `synthetic` column makes every output say so).
responses = simulate_cohort(mhdq, n=500, seed=3).responses

with warnings.catch_warnings():
    warnings.simplefilter(
        "ignore"
    )  # every warning is also listed beside its analysis in the report
    results = validate(responses, mhdq, seed=3)

print(results.summary()[["step", "status", "reason"]].to_string(index=False))

# Reliability of every scale: alpha with its Feldt interval, omega (one factor)
rel = results.reliability.table
print(
    "\n"
    + rel[["scale", "n_items", "alpha", "alpha_ci_low", "alpha_ci_high", "omega_total"]]
    .round(3)
    .to_string(index=False)
)

# CFA of the hypothesised models (lavaan's fit measures)
for name, fit in results.cfa.items():
    m = fit.fit_measures_
    print(
        f"CFA {name:13s} CFI {m['cfi']:.3f}  RMSEA {m['rmsea']:.3f} [{m['rmsea_ci_lower']:.3f}, "
        f"{m['rmsea_ci_upper']:.3f}]"
    )

paths = write_validation_outputs(results, out)  # results.json, tables.xlsx, report.html
print("\n" + "\n".join(f"wrote {p}" for p in paths.values()))
