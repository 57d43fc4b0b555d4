"""Your own instrument: the Big Five Inventory items of psych's bfi, from specification to results.

Usage: python examples/own_instrument_bfi.py [OUT_DIR]   (default ./example-output)

examples/bfi.yaml describes the 25 items, their five scales, keys and the 6-point response scale.
With the real bfi data (tests/data/bfi.csv, psychTools::bfi, 2,800 respondents) when it is there,
otherwise with a SYNTHETIC cohort drawn from the same specification.
"""

import sys
import warnings
from pathlib import Path

from analysis.factor.efa import EFA
from analysis.factor.retention import parallel_analysis
from analysis.simulate.cohort import simulate_cohort
from analysis.study.models import answers_only
from analysis.study.reliability_table import reliability_table
from instrument.check import check_responses
from instrument.forms import build_forms
from instrument.read import read_responses
from instrument.score import score_items
from instrument.spec import load_instrument

HERE = Path(__file__).resolve().parent
out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output") / "bfi"
out.mkdir(parents=True, exist_ok=True)

bfi = load_instrument(HERE / "bfi.yaml")
build_forms(bfi, out, formats=["xlsx", "html"])  # a data-entry workbook and a printable form

data_file = HERE.parent / "tests" / "data" / "bfi.csv"
if data_file.exists():
    table = read_responses(data_file, bfi)  # the first (unnamed) column holds R's row names
    source = "psychTools::bfi"
else:
    synthetic_file = out / "synthetic-bfi.csv"
    simulate_cohort(bfi, n=1000, seed=5).responses.to_csv(synthetic_file, index=False)
    table = read_responses(synthetic_file, bfi)
    source = "SYNTHETIC cohort"

checked = check_responses(table, bfi)
items = checked.codes[~checked.rejected]
print(
    f"{source}: {len(items)} respondents; problems by "
    f"rule:\n{checked.summary().to_string(index=False)}\n"
)

scores = score_items(
    items, bfi, not_applicable=checked.not_applicable[~checked.rejected], trusted=True
)
scores.to_csv(out / "bfi-scores.csv", index=False)

# Reliability of the five scales (psych::alpha and psych::omega)
rel = reliability_table(items, bfi).table
print(
    rel[["scale", "n_items", "alpha", "alpha_ci_low", "alpha_ci_high", "omega_total"]]
    .round(3)
    .to_string(index=False)
)

# How many factors, and do the items load where the specification puts them?
answers = answers_only(items, bfi)
pa = parallel_analysis(answers, seed=1)
print(f"\nparallel analysis: {pa.n_factors} factors, {pa.n_components} components")
with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    efa = EFA(5, rotation="oblimin").fit(answers)
primary = efa.loadings_.abs().idxmax(axis=1)
for factor, group in primary.groupby(primary):
    print(f"  {factor}: {', '.join(group.index)}")
print(f"\nwrote {out}")
