"""report.html, tables.xlsx and results.json of the longitudinal study
(:mod:`analysis.study.longitudinal`).

Only aggregated tables are written: no respondent identifiers, no per-person rows, no free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from analysis.attrition.competing import CumulativeIncidence
from analysis.longitudinal.hypotheses import COSMIN_SHARE
from analysis.study.longitudinal import LongitudinalResults

__all__ = ["CompetingOutcomes", "write_longitudinal_outputs"]


@dataclass(frozen=True)
class CompetingOutcomes:
    """What the longitudinal report shows of the outcome types (who left, for which reason).

    Attributes
    ----------
    incidence : CumulativeIncidence
        Curves of every outcome type over all members.
    times : tuple of float
        Times of the table.
    unit : str
    by_group : CumulativeIncidence, optional
        The same by group, for Gray's tests across ``groups_label``.
    groups_label : str
    context : str
        Where the outcome types come from.
    """

    incidence: CumulativeIncidence
    times: tuple[float, ...]
    unit: str = "months"
    by_group: CumulativeIncidence | None = None
    groups_label: str = "the groups"
    context: str = ""


_SYNTHETIC = "SYNTHETIC DATA - simulated respondents, not real people. "


def result_tables(results: LongitudinalResults) -> dict[str, pd.DataFrame]:
    """The tables of the results, by sheet name (the same tables the report shows)."""
    tables: dict[str, pd.DataFrame] = {
        "retention": results.retention.summary(),
        "means_per_wave": results.means.summary(),
    }
    if results.retest is not None:
        tables["test_retest_icc"] = results.retest.summary()
        tables["measurement_error"] = results.retest.measurement_error()
    if results.change:
        tables["reliable_change"] = pd.concat([c.summary() for c in results.change])
    if results.groups is not None:
        tables["groups_descriptives"] = results.groups.descriptives
        tables["groups_welch"] = results.groups.welch
        tables["groups_pairs"] = results.groups.summary()
    if results.invariance:
        tables["longitudinal_invariance"] = pd.concat(
            [r.summary().reset_index().assign(scale=s) for s, r in results.invariance.items()]
        )[["scale", *results.invariance[next(iter(results.invariance))].summary().reset_index()]]
        means = [r.latent_means().assign(scale=s) for s, r in results.invariance.items()]
        tables["latent_mean_change"] = pd.concat(means)[
            ["scale", "wave", "estimate", "se", "z", "pvalue"]
        ]
    if results.hypotheses is not None:
        tables["hypotheses"] = results.hypotheses.summary()
    if results.repeated is not None:
        tables["repeated_outcome_gee"] = results.repeated.summary()
    tables["problems"] = results.problems
    return tables


def write_longitudinal_outputs(
    results: LongitudinalResults,
    folder: str | Path,
    *,
    provenance: dict | None = None,
    competing: CompetingOutcomes | None = None,
) -> dict[str, Path]:
    """Write report.html, tables.xlsx and results.json into ``folder``.

    Parameters
    ----------
    results : LongitudinalResults
    folder : str or Path
        Output folder; created (with its parents) if it does not exist.
    provenance : dict, optional
        Extra facts for results.json (instrument name and fingerprint, files read).
    competing : CompetingOutcomes, optional
        Cumulative incidence of the outcome types: a section of the report and its tables.

    Returns
    -------
    dict
        ``{"html": path, "xlsx": path, "json": path}``.
    """
    from analysis.report import software_versions, write_json, write_tables_xlsx

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tables = result_tables(results)
    report = _report(results, tables)
    if competing is not None:
        from analysis.report.competing import competing_section

        competing_section(
            report,
            competing.incidence,
            times=competing.times,
            unit=competing.unit,
            tables=tables,
            models=["kaplan_meier", "aalen_johansen", "cause_specific", "fine_gray", "clustered"],
            context=competing.context,
            tests=None if competing.by_group is None else competing.by_group.tests,
            tests_of=competing.groups_label,
        )
    label = _SYNTHETIC if results.synthetic else ""
    notes = {name: label.strip() for name in tables} if label else None
    paths = {
        "xlsx": write_tables_xlsx(tables, folder / "tables.xlsx", notes=notes),
        "json": write_json(
            {
                **results.to_dict(),
                "provenance": {**(provenance or {}), "software": software_versions()},
            },
            folder / "results.json",
        ),
    }
    paths["html"] = report.write(folder / "report.html")
    return paths


def _report(results: LongitudinalResults, tables: dict[str, pd.DataFrame]):
    import matplotlib.pyplot as plt

    from analysis.report import HtmlReport

    level = f"{results.ci_level:.0%}"
    subtitle = (
        f"{len(results.waves)} waves ({', '.join(results.waves)}); scales: "
        f"{', '.join(results.scales)}"
    )
    if results.synthetic:
        subtitle = _SYNTHETIC + subtitle
    report = HtmlReport("Longitudinal analysis", subtitle=subtitle)
    if results.synthetic:
        report.note(_SYNTHETIC + "Nothing here describes real people.")
    for note in results.notes:
        report.note(note)

    report.section(
        "Retention across waves",
        "Respondents seen at each wave (the counts of a CONSORT-style participant flow diagram).",
    )
    report.table(tables["retention"], caption="Retention per wave", index=False)
    report.figure(results.retention.plot().figure, caption="Participant flow across waves.")
    if len(results.problems):
        report.table(results.problems, caption="Reading and linkage problems (counts)", index=False)

    if results.invariance:
        report.section(
            "Longitudinal measurement invariance",
            "For each scale one model with a factor per wave, the same item's residuals "
            "correlated across waves; configural (same pattern), metric (equal loadings) and "
            "scalar (equal loadings and intercepts, latent means of later waves free) models by "
            "ML with full-information ML for missing answers (lavaan cfa(missing = 'ml') with "
            "lavTestLRT). A step holds when ΔCFI ≥ −.01 and ΔRMSEA ≤ .015 (Cheung & Rensvold "
            "2002; Chen 2007); Δχ² is shown beside it.",
        )
        report.table(
            tables["longitudinal_invariance"], caption="Invariance across waves", index=False
        )
        for scale, res in results.invariance.items():
            report.verdict(
                f"scalar invariance across waves of {scale}",
                bool(res.scalar_supported),
                rule="ΔCFI ≥ −.01 and ΔRMSEA ≤ .015 at the metric and scalar steps",
                citation="Cheung & Rensvold (2002); Chen (2007)",
            )
        if len(tables["latent_mean_change"]):
            report.table(
                tables["latent_mean_change"],
                caption="Latent mean change against the first wave (scalar model)",
                index=False,
            )
    report.section("Scale means per wave", f"Mean per wave with its {level} t interval.")
    unsupported = results.means_without_scalar_invariance
    if unsupported and len(results.waves) > 1:
        tested = [s for s in unsupported if s in results.invariance]
        untested = [s for s in unsupported if s not in results.invariance]
        if tested:
            report.note(
                f"Means of {', '.join(tested)} are compared across waves without scalar "
                "invariance: the invariance tests above did not support equal loadings and "
                "intercepts, so a change in the mean may reflect a change in how items are "
                "answered rather than in the construct."
            )
        if untested:
            report.note(
                f"Means of {', '.join(untested)} are compared across waves without a test of "
                "scalar invariance across waves."
            )
    report.table(tables["means_per_wave"], caption="Means per wave", index=False)
    fig, ax = plt.subplots(figsize=(6, 4))
    results.means.plot(ax=ax)
    report.figure(fig, caption=f"Scale means per wave ({level} CI).")

    if results.retest is not None:
        first = results.retest.results[0]
        report.section(
            "Test–retest reliability and measurement error",
            f"ICC(2,1) (absolute agreement) and ICC(3,1) (consistency), single and average, "
            f"between {first.waves[0]} and {first.waves[1]} (pingouin intraclass_corr; "
            "psych::ICC gives the same values). SEM and SDC as in COSMIN's measurement-error "
            "box; the SDC is the change one person must show to exceed measurement error.",
        )
        interval = first.interval_days_median
        if interval is not None:
            report.paragraph(
                f"Median interval between the two waves: {interval:.0f} days "
                f"(range {first.interval_days_min:.0f}–{first.interval_days_max:.0f})."
            )
        report.table(tables["test_retest_icc"], caption="Intraclass correlations", index=False)
        for r in results.retest.results:
            report.verdict(
                f"ICC(2,1) of {r.scale} = {r.icc.at['ICC2', 'estimate']:.2f} (n = {r.n_obs})",
                bool(r.icc.at["ICC2", "estimate"] >= 0.70),
                rule="ICC >= .70",
                citation="Prinsen et al. (2018), COSMIN criteria for good measurement properties",
            )
        report.table(tables["measurement_error"], caption="Measurement error", index=False)
    if results.change:
        report.section(
            "Individual change",
            "Reliable change index (Jacobson & Truax 1991; reliability = ICC(3,1)) and change "
            "beyond the smallest detectable change (SDC from the agreement SEM). Counts only.",
        )
        report.table(tables["reliable_change"], caption="Change categories", index=False)
    if results.groups is not None:
        report.section(
            "Comparison across groups (known-groups validity)",
            f"Scores at {results.group_wave} by {results.groups.group}: Welch's ANOVA, "
            f"Games–Howell pairwise comparisons ({level} simultaneous intervals) and Hedges' g "
            f"with {level} intervals.",
        )
        for note in results.groups.notes:
            report.note(note)
        report.table(tables["groups_descriptives"], caption="Scores by group", index=False)
        report.table(tables["groups_welch"], caption="Welch's ANOVA", index=False)
        report.table(tables["groups_pairs"], caption="Pairwise comparisons", index=False)
    if results.hypotheses is not None:
        h = results.hypotheses
        report.section(
            "Hypotheses stated in advance (construct validity)",
            f"Each hypothesis of the specification tested at {results.group_wave}: observed "
            f"value with its {level} interval; confirmed when the estimate satisfies the stated "
            "direction and size.",
        )
        report.table(tables["hypotheses"], caption="Hypotheses", index=False)
        report.verdict(
            f"{h.n_confirmed} of {h.n_evaluated} hypotheses confirmed",
            h.meets_cosmin,
            rule=f"at least {COSMIN_SHARE:.0%} confirmed",
            citation="Prinsen et al. (2018); Terwee et al. (2007)",
        )
    if results.repeated is not None:
        g = results.repeated
        report.section(
            "Repeated binary outcome (GEE)",
            f"{results.repeated_outcome} at each wave modelled by logistic GEE (Liang & Zeger "
            f"1986) on the same wave's scale scores and the wave's position (0 = "
            f"{results.waves[0]}); {g.correlation} working correlation within members "
            f"(alpha = {g.alpha:.3f}), robust (sandwich) SEs, {level} intervals; "
            f"{g.n_obs} person-waves of {g.n_clusters} members. Odds ratios are population-"
            "averaged (marginal), not per member.",
        )
        report.table(tables["repeated_outcome_gee"], caption="GEE odds ratios", index=False)
    return report
