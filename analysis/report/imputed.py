"""The validation report's section on the analyses pooled over multiple imputations
(``mhdq validate --impute M``): pooled reliability and CFA fit, with the fraction of missing
information."""

from __future__ import annotations

from typing import Any

import pandas as pd

from analysis.report.html import HtmlReport


def render_imputed(report: HtmlReport, res: Any) -> None:
    """Add the pooled section when ``res.imputed`` holds results (nothing otherwise)."""
    imp = res.imputed
    if imp is None:
        step = next((s for s in res.steps if s.name == "imputation"), None)
        if step is not None and step.status != "ok":
            report.section("Pooled over imputations")
            report.note(f"Multiple imputation {step.status}: {step.reason}")
        return
    method = {
        "pmm": "predictive mean matching",
        "polr": "a proportional-odds model per item",
    }.get(imp.method, imp.method)
    report.section(
        f"Pooled over {imp.m} imputations",
        intro=(
            f"The {imp.n_missing} missing answers were imputed {imp.m} times by chained equations "
            f"({method}, seed {imp.seed}); the {imp.n_left} not-applicable or skipped answers "
            "were left as they are. Each analysis was run on every completed data set and "
            "pooled by Rubin's rules (the model chi-square by the D2 statistic). Valid when "
            "answers are missing at random given the other answers. FMI: fraction of missing "
            "information."
        ),
    )
    rel = imp.reliability
    if len(rel):
        table = pd.DataFrame(
            {
                "Scale": rel["scale"],
                "Coefficient": rel["coefficient"].map({"alpha": "α", "omega_total": "ω total"}),
                "Estimate": rel["estimate"],
                "SE": rel["se"],
                "CI low": rel["ci_low"],
                "CI high": rel["ci_high"],
                "FMI": rel["fmi"],
            }
        ).set_index("Scale")
        level = float(rel["ci_level"].iloc[0])
        report.table(
            table,
            caption=f"Reliability pooled over {imp.m} imputations ({level:.0%} intervals)",
        )
    fit = imp.cfa_fit
    if len(fit):
        table = pd.DataFrame(
            {
                "Model": fit["model"],
                "χ² (D2)": fit["chisq"],
                "df": fit["df"],
                "p": fit["p"],
                "mean χ²": fit["chisq_mean"],
                "ARIV": fit["ariv"],
                "FMI": fit["fmi"],
            }
        ).set_index("Model")
        report.table(table, caption=f"CFA fit pooled over {imp.m} imputations (ML, D2 statistic)")


#: Notes of the tables.xlsx sheets written with --impute.
IMPUTED_SHEET_NOTES = {
    "Pooled reliability": "Alpha and omega total pooled over m imputations by Rubin's rules "
    "(mice::pool.scalar); fmi: fraction of missing information; m: imputations.",
    "Pooled CFA fit": "Chi-square pooled over m imputations by D2 (semTools lavTestLRT.mi, "
    "test = 'D2'): d2 the F statistic on (df, df2), chisq = df x d2; fmi, ariv.",
    "Pooled CFA estimates": "Free parameters pooled over m imputations by Rubin's rules "
    "(summary(cfa.mi(...), scale.W = FALSE)); fmi per parameter.",
}
