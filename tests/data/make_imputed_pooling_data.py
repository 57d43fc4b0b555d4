"""Write the fixed completed data sets of the pooling reference (SYNTHETIC data).

A synthetic bfi cohort (250 respondents, 10% of answers missing completely at random) is imputed
three times by :func:`analysis.study.imputed.impute_answers`; the completed sets and the facets
model's lavaan syntax go to tests/data/synthetic_imputed/, where make_imputed_pooling_reference.R
pools them with mice and semTools. Run from the repository root:

    .venv/bin/python tests/data/make_imputed_pooling_data.py
    Rscript tests/data/make_imputed_pooling_reference.R
"""

from pathlib import Path

from analysis.simulate.cohort import simulate_cohort
from analysis.study.imputed import impute_answers
from analysis.study.models import hypothesised_models
from instrument.spec import load_instrument

OUT = Path("tests/data/synthetic_imputed")
bfi = load_instrument("examples/bfi.yaml")
cohort = simulate_cohort(bfi, n=250, seed=11, missing_rate=0.10)  # synthetic
items = list(bfi.item_ids)
completed = impute_answers(cohort.responses[items], m=3, seed=5)
OUT.mkdir(parents=True, exist_ok=True)
for k, data in enumerate(completed, 1):
    data.astype(int).to_csv(OUT / f"completed_{k}.csv", index=False)
(OUT / "facets.lav").write_text(hypothesised_models(bfi)["facets"].to_syntax() + "\n")
(OUT / "README.txt").write_text(
    "SYNTHETIC DATA: simulated bfi answers (analysis.simulate.cohort), imputed three times;\n"
    "not real respondents. Written by tests/data/make_imputed_pooling_data.py.\n"
)
