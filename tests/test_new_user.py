"""Issue 12: what a new user stumbles on (each test failed before its fix)."""

from __future__ import annotations

from analysis.simulate.cohort import simulate_cohort


# --------------------------------------------------------------------------------------------
# 12. The omega-interval note: once, in words
# --------------------------------------------------------------------------------------------
def test_omega_interval_note_is_said_once_in_words(mhdq_spec):
    from analysis.report.validation import reliability_notes
    from analysis.study.reliability_table import reliability_table

    data = simulate_cohort(mhdq_spec, n=30, seed=1).responses  # synthetic
    items = data[[c for c in mhdq_spec.item_ids if c in data]]
    items = items.where(items.apply(lambda s: s.isin(mhdq_spec.response_scale_of(s.name).codes)))
    table = reliability_table(items, mhdq_spec, seed=1, omega_n_boot=50)
    assert sum("omega_interval: skipped" in p for p in table.problems) > 1
    assert not any("TABLE_OMEGA_MIN_N" in p for p in table.problems)
    notes = reliability_notes(table.problems)
    omega = [n for n in notes if "omega" in n.lower() and "bootstrap" in n.lower()]
    assert len(omega) == 1
    assert "30 respondents" in omega[0] and "fewer than the 50" in omega[0]
    assert not any("TABLE_OMEGA_MIN_N" in n or "omega_interval" in n for n in notes)


# --------------------------------------------------------------------------------------------
# 6. API functions that write to a folder create it
# --------------------------------------------------------------------------------------------
def test_write_validation_outputs_creates_the_folder(bfi_spec, tmp_path):
    from analysis.report.validation import write_validation_outputs
    from analysis.study.validate import validate

    data = simulate_cohort(bfi_spec, n=40, seed=1).responses  # synthetic
    res = validate(data, bfi_spec, n_boot=0, n_iter=2)
    paths = write_validation_outputs(res, tmp_path / "validation" / "run1")
    assert {p.name for p in paths.values()} == {"results.json", "tables.xlsx", "report.html"}
    assert all(p.is_file() and p.parent == tmp_path / "validation" / "run1" for p in paths.values())
