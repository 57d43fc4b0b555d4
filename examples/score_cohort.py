"""Read, check and score collected responses (here a SYNTHETIC cohort standing in for them).

Usage: python examples/score_cohort.py [OUT_DIR]   (default ./example-output)

The steps a study takes after collecting the workbooks or exports: read the file into a
ResponseTable, check every cell (problems are records with file, row, column and rule), score
every scale. ``mhdq score FILES --out scores.csv`` does the same for many files at once.
"""

import sys
from pathlib import Path

from analysis.simulate.cohort import simulate_cohort
from instrument.check import check_responses
from instrument.io.write import write_problems
from instrument.read import read_responses
from instrument.score import score_items
from instrument.spec import load_instrument

out = Path(sys.argv[1] if len(sys.argv) > 1 else "example-output") / "scores"
out.mkdir(parents=True, exist_ok=True)
mhdq = load_instrument()

# 1. Collected responses. We simulate 300 respondents in the Data entry layout (SYNTHETIC: the file
#    carries a `synthetic` column); in a real study this is your exported file (.xlsx, .csv, .sav
# ...).
cohort = simulate_cohort(mhdq, n=300, seed=7)
responses_file = out / "synthetic-responses.csv"
cohort.responses.to_csv(responses_file, index=False)

# 2. Read: columns are matched to the specification's item and background ids.
table = read_responses(responses_file, mhdq)

# 3. Check: invalid codes, not-applicable answers, straight-lining, duplicates ... as records.
checked = check_responses(table, mhdq)
print(checked.summary().to_string(index=False))
write_problems(checked.problems, out / "problems.csv")

# 4. Score: mean of the answered items per scale (reverse-keyed items reversed, not-applicable
#    answers excluded, at least half the items answered), for the rows the checks kept.
kept = ~checked.rejected
scores = score_items(
    checked.codes[kept], mhdq, not_applicable=checked.not_applicable[kept], trusted=True
)
scores.insert(0, "respondent_id", checked.meta.loc[kept, "respondent_id"])
scores["synthetic"] = "synthetic"
scores.to_csv(out / "synthetic-scores.csv", index=False)
print(f"\n{int(kept.sum())} of {checked.n_rows} rows scored (SYNTHETIC data); mean scale scores:")
print(scores[[s.id for s in mhdq.scales]].mean().round(2).to_string())
print(f"\nwrote {out / 'synthetic-scores.csv'} and {out / 'problems.csv'}")
