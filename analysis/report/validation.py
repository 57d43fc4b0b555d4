"""The three outputs of ``mhdq validate``: report.html, tables.xlsx and results.json.

:func:`write_validation_outputs` writes all three from a
:class:`~analysis.study.validate.ValidationResults`. The report reads top to bottom as the results
section of a validation paper: data and problems,
answers per item, item statistics, reliability, factorability and the number of factors, EFA, CFA,
convergent and discriminant validity, invariance, and what was run with which software. Every
judgement against a threshold is a verdict that names its rule and cites its source
(:data:`THRESHOLDS`). Only aggregates are shown: never a respondent identifier or a single answer.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis.report.html import HtmlReport, write_json, write_tables_xlsx
from analysis.report.imputed import IMPUTED_SHEET_NOTES, render_imputed
from analysis.report.irt import IRT_SHEET_NOTES, irt_figure_count, render_irt

__all__ = [
    "PAPER_HEADERS",
    "THRESHOLDS",
    "Verdict",
    "build_report",
    "paper_table",
    "verdicts",
    "write_validation_outputs",
]


@dataclass(frozen=True, slots=True)
class Threshold:
    """A cut-off with the rule as text and its source."""

    value: float
    rule: str
    citation: str


#: Every threshold the report judges against (docs/validation.md explains each).
THRESHOLDS: dict[str, Threshold] = {
    "alpha": Threshold(
        0.70,
        "α ≥ .70 (group-level use)",
        "Nunnally, J. C., & Bernstein, I. H. (1994). Psychometric theory (3rd ed.). McGraw-Hill.",
    ),
    "omega": Threshold(
        0.70,
        "ω total ≥ .70",
        "Nunnally & Bernstein (1994), applied to ω as recommended by Dunn, Baguley & Brunsden "
        "(2014), Br J Psychol 105:399-412.",
    ),
    "kmo": Threshold(
        0.60,
        "overall KMO ≥ .60",
        "Kaiser, H. F. (1974). An index of factorial simplicity. Psychometrika, 39, 31-36.",
    ),
    "bartlett": Threshold(
        0.05,
        "Bartlett's test of sphericity p < .05",
        "Bartlett, M. S. (1950). Tests of significance in factor analysis. Br J Stat Psychol, 3, "
        "77-85.",
    ),
    "sample": Threshold(
        7.0,
        "n ≥ 7 × items and n ≥ 100 (COSMIN 'very good'; ≥ 5 × items 'adequate')",
        "Mokkink, L. B., et al. (2018). COSMIN Risk of Bias checklist. Qual Life Res, 27, "
        "1171-1179.",
    ),
    "cfi_srmr": Threshold(
        0.95,
        "CFI ≥ .95 together with SRMR ≤ .08",
        "Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes. Struct Equ Modeling, 6, "
        "1-55.",
    ),
    "rmsea": Threshold(0.06, "RMSEA ≤ .06", "Hu & Bentler (1999), Struct Equ Modeling, 6, 1-55."),
    "delta_cfi": Threshold(
        -0.01,
        "ΔCFI ≥ −.01 against the previous step",
        "Cheung, G. W., & Rensvold, R. B. (2002). Struct Equ Modeling, 9, 233-255.",
    ),
    "delta_rmsea": Threshold(
        0.015,
        "ΔRMSEA ≤ .015 against the previous step",
        "Chen, F. F. (2007). Struct Equ Modeling, 14, 464-504.",
    ),
    "ave": Threshold(
        0.50, "AVE ≥ .50", "Fornell, C., & Larcker, D. F. (1981). J Marketing Res, 18, 39-50."
    ),
    "cr": Threshold(
        0.70,
        "composite reliability ≥ .70",
        "Fornell & Larcker (1981); Nunnally & Bernstein (1994).",
    ),
    "fornell_larcker": Threshold(
        math.nan,
        "√AVE of both factors greater than their correlation",
        "Fornell & Larcker (1981), J Marketing Res, 18, 39-50.",
    ),
    "htmt": Threshold(
        0.85,
        "HTMT < .85",
        "Henseler, J., Ringle, C. M., & Sarstedt, M. (2015). J Acad Mark Sci, 43, 115-135.",
    ),
    "ecv": Threshold(
        0.70,
        "ECV ≥ .70 (general factor) for a total score",
        "Rodriguez, A., Reise, S. P., & Haviland, M. G. (2016). Applying bifactor statistical "
        "indices in the evaluation of psychological measures. J Pers Assess, 98, 223-237.",
    ),
    "omega_h": Threshold(
        0.80,
        "ω_h ≥ .80 for a total score",
        "Rodriguez, A., Reise, S. P., & Haviland, M. G. (2016). Evaluating bifactor models. "
        "Psychol Methods, 21, 137-150.",
    ),
    "total_alpha": Threshold(
        math.nan,
        "α of a multidimensional total is not evidence for a total score; ECV and ω_h are",
        "Rodriguez, Reise & Haviland (2016), Psychol Methods, 21, 137-150; Sijtsma, K. (2009). "
        "Psychometrika, 74, 107-120.",
    ),
}


@dataclass(frozen=True, slots=True)
class Verdict:
    """One judgement: what was judged, the value, whether it passed, the rule and its source."""

    section: str
    label: str
    value: float | None
    passed: bool | None
    rule: str
    citation: str

    def to_dict(self) -> dict:
        return {
            "section": self.section,
            "label": self.label,
            "value": self.value,
            "passed": self.passed,
            "rule": self.rule,
            "citation": self.citation,
        }


def _f(x: Any, digits: int = 3) -> str:
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "–"
    text = f"{x:.{digits}f}"
    if abs(x) < 1 and text.lstrip("-").startswith("0."):  # APA: no leading zero for bounded values
        text = text.replace("0.", ".", 1)
    return text.replace("-", "−")


def _p(x: Any) -> str:
    """A p value as APA prints it: no leading zero, "< .001" below .001."""
    if not _finite(x):
        return "–"
    return "<\u00a0.001" if x < 0.001 else _f(float(x))


def _ci(low: Any, high: Any, digits: int = 3) -> str:
    return f"[{_f(low, digits)}, {_f(high, digits)}]" if _finite(low) and _finite(high) else "–"


#: Column headings of the paper tables (report.html and tables.xlsx); snake_case stays in
#: results.json.
PAPER_HEADERS = {
    "scale": "Scale",
    "item": "Item",
    "keyed": "Key",
    "n": "n",
    "mean": "M",
    "sd": "SD",
    "skew": "Skew",
    "kurtosis": "Kurtosis",
    "floor": "Floor",
    "ceiling": "Ceiling",
    "missing_share": "Missing share",
    "raw_r": "r (raw)",
    "std_r": "r (std)",
    "r_cor": "r (corrected)",
    "r_drop": "r (item–rest)",
    "alpha_if_dropped": "α if dropped",
    "level": "Level",
    "depth": "Depth",
    "n_items": "Items",
    "n_obs": "N",
    "missing": "Missing data",
    "alpha": "α",
    "alpha_ci_low": "α CI low (Feldt)",
    "alpha_ci_high": "α CI high (Feldt)",
    "alpha_duhachek_ci_low": "α CI low (Duhachek)",
    "alpha_duhachek_ci_high": "α CI high (Duhachek)",
    "alpha_boot_ci_low": "α CI low (bootstrap)",
    "alpha_boot_ci_high": "α CI high (bootstrap)",
    "ci_level": "CI level",
    "std_alpha": "Standardized α",
    "g6": "G6 (smc)",
    "average_r": "Mean r",
    "median_r": "Median r",
    "signal_noise": "S/N",
    "ase": "ASE",
    "sem": "SEM",
    "omega_total": "ω total",
    "omega_hierarchical": "ω hierarchical",
    "omega_n_factors": "ω group factors",
    "omega_total_sl": "ω total (SL)",
    "lambda4": "λ4 (max split half)",
    "beta": "β (min split half)",
    "mean_split_half": "Mean split half",
    "ordinal_alpha": "Ordinal α",
    "ordinal_omega_total": "Ordinal ω",
    "model": "Model",
    "npar": "Parameters",
    "chisq": "χ²",
    "df": "df",
    "pvalue": "p",
    "cfi": "CFI",
    "tli": "TLI",
    "rmsea": "RMSEA",
    "rmsea_ci_lower": "RMSEA 90% CI low",
    "rmsea_ci_upper": "RMSEA 90% CI high",
    "srmr": "SRMR",
    "aic": "AIC",
    "bic": "BIC",
    "compared_with": "Compared with",
    "delta_chisq": "Δχ²",
    "delta_df": "Δdf",
    "delta_pvalue": "p (Δχ²)",
    "nested": "Nested",
    "chisq_scaled": "χ² (scaled)",
    "df_scaled": "df (scaled)",
    "pvalue_scaled": "p (scaled)",
    "cfi_scaled": "CFI (scaled)",
    "tli_scaled": "TLI (scaled)",
    "rmsea_scaled": "RMSEA (scaled)",
    "cfi_robust": "CFI (robust)",
    "tli_robust": "TLI (robust)",
    "rmsea_robust": "RMSEA (robust)",
    "rmsea_ci_lower_robust": "RMSEA (robust) 90% CI low",
    "rmsea_ci_upper_robust": "RMSEA (robust) 90% CI high",
    "pair_n_min": "Fewest n per item pair",
    "pair_n_max": "Most n per item pair",
    "step": "Step",
    "group_equal": "Held equal",
    "delta_cfi": "ΔCFI",
    "delta_rmsea": "ΔRMSEA",
    "factor": "Factor",
    "composite_reliability": "CR",
    "ave": "AVE",
    "sqrt_ave": "√AVE",
    "max_shared_variance": "Max shared variance",
    "factor_a": "Factor A",
    "factor_b": "Factor B",
    "correlation": "r",
    "htmt": "HTMT",
    "fornell_larcker_ok": "Fornell–Larcker met",
    "htmt_ok": "HTMT < .85",
    "criterion": "Criterion scale",
    "latent_correlation": "Latent r",
    "score_correlation": "Score r",
    "not_applicable": "Not applicable",
    "msa": "MSA",
    "chi_square": "χ²",
    "dof": "df",
    "p_value": "p",
    "number": "Number",
    "pc_observed": "PC observed",
    "pc_simulated": "PC simulated (95%)",
    "fa_observed": "FA observed",
    "fa_simulated": "FA simulated (95%)",
    "map": "MAP",
    "communality": "h²",
    "uniqueness": "u²",
    "indicator": "Indicator",
    "estimate": "Estimate",
    "se": "SE",
    "std_all": "Standardized",
    "factor_1": "Factor 1",
    "factor_2": "Factor 2",
    "r": "r",
    "rule": "Rule",
    "severity": "Severity",
    "quantity": "Quantity",
    "value": "Value",
    "group": "Group",
    "label": "Label",
    "status": "Status",
    "reason": "Reason",
    "seconds": "Seconds",
    "statistic": "Statistic",
}


def reliability_notes(problems: tuple[str, ...] | list[str]) -> list[str]:
    """The reliability table's problems as report notes, the omega-interval skips said once.

    Each scale below the omega bootstrap's minimum sample records the same reason; a reader needs
    it once, in words, with the scales it concerns.
    """
    notes, skipped, counts = [], [], set()
    marker = ": omega_interval: skipped: "
    for problem in problems:
        if marker in problem:
            scale, rest = problem.split(marker, 1)
            skipped.append(scale)
            counts.add(rest.split(" ", 1)[0])
        else:
            notes.append(f"Not computed: {problem}")
    if skipped:
        from analysis.study.reliability_table import TABLE_OMEGA_MIN_N

        n = f"{' or '.join(sorted(counts))} respondents" if counts else "too few respondents"
        notes.insert(
            0,
            f"Bootstrap intervals for omega were not computed for {len(skipped)} "
            f"scale{'s' if len(skipped) > 1 else ''} ({', '.join(skipped)}): with {n}, fewer "
            f"than the {TABLE_OMEGA_MIN_N} the omega bootstrap needs, many resamples end in a "
            "Heywood case.",
        )
    return notes


def paper_table(frame: pd.DataFrame) -> pd.DataFrame:
    """A table with paper headings (:data:`PAPER_HEADERS`; ``share_3`` → ``Share 3``); values unchanged.

    Examples
    --------
    >>> list(paper_table(pd.DataFrame({"alpha": [0.8], "share_3": [0.2]})).columns)
    ['α', 'Share 3']
    """
    out = frame.rename(
        columns=lambda c: PAPER_HEADERS.get(
            c, f"Share {c[6:]}" if str(c).startswith("share_") else c
        )
    )
    if out.index.name in PAPER_HEADERS:
        out.index.name = PAPER_HEADERS[out.index.name]
    return out


def _finite(x: Any) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(float(x))


def _v(section: str, label: str, value: Any, passed: Any, key: str) -> Verdict:
    th = THRESHOLDS[key]
    ok = None if passed is None else bool(passed)
    return Verdict(
        section, label, None if not _finite(value) else float(value), ok, th.rule, th.citation
    )


# --------------------------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------------------------
def verdicts(res) -> list[Verdict]:
    """Every verdict the report shows, in report order (one function per section)."""
    return [
        *_sample_verdicts(res),
        *_reliability_verdicts(res),
        *_factorability_verdicts(res),
        *_cfa_verdicts(res),
        *_bifactor_verdicts(res),
        *_validity_verdicts(res),
        *_invariance_verdicts(res),
    ]


def _sample_verdicts(res) -> list[Verdict]:
    """Sample size against the items of the factor analyses."""
    out: list[Verdict] = []
    p = len(res.data.structure_items)
    n = res.data.n_used
    n_cfa = _cfa_n(res)
    used = ""
    if n_cfa is not None and n_cfa != n:
        used = f" (the respondents the CFA used, of {n} analysed)"
        if res.options.get("cfa_missing") == "pairwise":
            used = f" (the fewest respondents answering an item pair in the CFA, of {n} analysed)"
        n = n_cfa
    if p:
        ratio = n / p
        out.append(
            _v(
                "data",
                f"sample size for factor analysis: n = {n}{used} for {p} items "
                f"({ratio:.1f} per item)",
                ratio,
                ratio >= 7 and n >= 100,
                "sample",
            )
        )
    return out


def _reliability_verdicts(res) -> list[Verdict]:
    """α and ω total per scale (the general factor of a bifactor model: its own verdict)."""
    out: list[Verdict] = []
    if res.reliability is not None:
        for _, row in res.reliability.table.iterrows():
            a, o = row["alpha"], row["omega_total"]
            lo, hi = row["alpha_ci_low"], row["alpha_ci_high"]
            if row["scale"] == (res.bifactor or {}).get("general"):
                out.append(_total_alpha_verdict(res, row["scale"], a, lo, hi))
                continue
            out.append(
                _v(
                    "reliability",
                    f"α of {row['scale']} = {_f(a)} [{_f(lo)}, {_f(hi)}]",
                    a,
                    None if not _finite(a) else a >= THRESHOLDS["alpha"].value,
                    "alpha",
                )
            )
            o_ci = (
                f" [{_f(row['omega_total_ci_low'])}, {_f(row['omega_total_ci_high'])}]"
                if _finite(row.get("omega_total_ci_low"))
                else ""
            )
            out.append(
                _v(
                    "reliability",
                    f"ω total of {row['scale']} = {_f(o)}{o_ci}",
                    o,
                    None if not _finite(o) else o >= THRESHOLDS["omega"].value,
                    "omega",
                )
            )
    return out


def _factorability_verdicts(res) -> list[Verdict]:
    """Overall KMO and Bartlett's test."""
    out: list[Verdict] = []
    if res.kmo is not None:
        k = res.kmo.overall
        out.append(
            _v(
                "factorability",
                f"overall KMO = {_f(k)}",
                k,
                None if not _finite(k) else k >= 0.60,
                "kmo",
            )
        )
    if res.bartlett is not None:
        b = res.bartlett
        out.append(
            _v(
                "factorability",
                f"Bartlett χ²({b.dof:.0f}) = {b.chi_square:.1f}, p "
                f"{'' if b.p_value < 0.001 else '= '}{_p(b.p_value)}",
                b.p_value,
                None if not _finite(b.p_value) else b.p_value < 0.05,
                "bartlett",
            )
        )
    return out


def _cfa_verdicts(res) -> list[Verdict]:
    """Per CFA model: sample size, CFI with SRMR, RMSEA."""
    out: list[Verdict] = []
    if res.cfa_comparison is not None:
        for _, row in _fit_indices(res).iterrows():
            n_model = _model_n(res, row["model"])
            fit = res.cfa.get(row["model"])
            if n_model is not None and fit is not None:
                p_model = len(fit.model_.observed)
                r_model = n_model / p_model
                out.append(
                    _v(
                        "cfa",
                        f"{row['model']}: sample size n = {n_model} for {p_model} items "
                        f"({r_model:.1f} per item)",
                        r_model,
                        r_model >= 7 and n_model >= 100,
                        "sample",
                    )
                )
            cfi, srmr, rmsea = row["cfi"], row["srmr"], row["rmsea"]
            both = None if not (_finite(cfi) and _finite(srmr)) else (cfi >= 0.95 and srmr <= 0.08)
            what = "scaled " if res.cfa_estimator == "WLSMV" else ""
            out.append(
                _v(
                    "cfa",
                    f"{row['model']}: {what}CFI = {_f(cfi)}, SRMR = {_f(srmr)}",
                    cfi,
                    both,
                    "cfi_srmr",
                )
            )
            ci = (
                f" [{_f(row['rmsea_ci_lower'])}, {_f(row['rmsea_ci_upper'])}]"
                if "rmsea_ci_lower" in row.index
                else ""
            )
            out.append(
                _v(
                    "cfa",
                    f"{row['model']}: {what}RMSEA = {_f(rmsea)}{ci}",
                    rmsea,
                    None if not _finite(rmsea) else rmsea <= 0.06,
                    "rmsea",
                )
            )
    return out


def _validity_verdicts(res) -> list[Verdict]:
    """CR and AVE per factor; HTMT and Fornell-Larcker per pair of factors."""
    out: list[Verdict] = []
    if res.validity is not None:
        for factor, row in res.validity.factors.iterrows():
            cr, ave = row["composite_reliability"], row["ave"]
            out.append(
                _v(
                    "validity",
                    f"composite reliability of {factor} = {_f(cr)}",
                    cr,
                    cr >= 0.70 if _finite(cr) else None,
                    "cr",
                )
            )
            out.append(
                _v(
                    "validity",
                    f"AVE of {factor} = {_f(ave)}",
                    ave,
                    ave >= 0.50 if _finite(ave) else None,
                    "ave",
                )
            )
        for _, row in res.validity.pairs.iterrows():
            pair = f"{row['factor_a']}–{row['factor_b']}"
            out.append(
                _v(
                    "validity",
                    f"{pair}: HTMT = {_f(row['htmt'])}",
                    row["htmt"],
                    None if not _finite(row["htmt"]) else row["htmt"] < res.validity.htmt_threshold,
                    "htmt",
                )
            )
            root_ave = res.validity.factors["sqrt_ave"]
            judged = (
                _finite(row["correlation"])
                and _finite(root_ave[row["factor_a"]])
                and _finite(root_ave[row["factor_b"]])
            )
            out.append(
                _v(
                    "validity",
                    f"{pair}: r = {_f(row['correlation'])}, √AVE = {_f(root_ave[row['factor_a']])} "
                    f"and {_f(root_ave[row['factor_b']])}",
                    row["correlation"],
                    bool(row["fornell_larcker_ok"]) if judged else None,
                    "fornell_larcker",
                )
            )
    return out


def _invariance_verdicts(res) -> list[Verdict]:
    """ΔCFI and ΔRMSEA of each invariance step against the previous one."""
    out: list[Verdict] = []
    if res.invariance is not None:
        summary = res.invariance.summary()
        for step, row in summary.iloc[1:].iterrows():
            out.append(
                _v(
                    "invariance",
                    f"{step} invariance: ΔCFI = {_f(row['delta_cfi'])}",
                    row["delta_cfi"],
                    None if not _finite(row["delta_cfi"]) else row["delta_cfi"] >= -0.01,
                    "delta_cfi",
                )
            )
            out.append(
                _v(
                    "invariance",
                    f"{step} invariance: ΔRMSEA = {_f(row['delta_rmsea'])}",
                    row["delta_rmsea"],
                    None if not _finite(row["delta_rmsea"]) else row["delta_rmsea"] <= 0.015,
                    "delta_rmsea",
                )
            )
    return out


def _model_n(res, model: str) -> int | None:
    """Respondents the fitted CFA model used (its own n, not the rows read)."""
    fit = res.cfa.get(model)
    return None if fit is None else int(fit.n_obs_)


#: The missing-data rule of CFA, validity and invariance, as the report states it.
_CFA_MISSING_TEXT = {
    "listwise": "listwise",
    "ml": "full-information ML (FIML)",
    "pairwise": "pairwise-present WLSMV (each polychoric correlation from the respondents "
    "answering both items; lavaan missing = 'pairwise'; invariance by FIML)",
}


def _pair_n_cells(r: pd.Series, cfa_missing: str) -> dict:
    """The range of respondents per item pair beside a pairwise-present WLSMV model."""
    if cfa_missing != "pairwise" or "pair_n_min" not in r.index:
        return {}
    return {"n per item pair": f"{int(r['pair_n_min'])}–{int(r['pair_n_max'])}"}


def _listwise_cells(r: pd.Series) -> dict:
    """The listwise sensitivity fit beside a FIML model (none without it)."""
    if "listwise_n_obs" not in r.index:
        return {}
    return {
        "Listwise n": int(r["listwise_n_obs"]),
        "Listwise CFI": r["listwise_cfi"],
        "Listwise RMSEA": r["listwise_rmsea"],
        "Listwise SRMR": r["listwise_srmr"],
    }


def _total_alpha_verdict(res, scale: str, a: Any, lo: Any, hi: Any) -> Verdict:
    """α of the hierarchy's total, not judged against .70: the bifactor evidence decides."""
    label, _reason = (res.bifactor or {}).get("total_score", ("provisional", ""))
    return _v(
        "reliability",
        f"α of {scale} = {_f(a)} [{_f(lo)}, {_f(hi)}] — total score {label} (see the bifactor "
        "section)",
        a,
        None,
        "total_alpha",
    )


def _bifactor_verdicts(res) -> list[Verdict]:
    """ECV and ω_h of the bifactor model's general factor."""
    ind = (res.bifactor or {}).get("indices")
    if ind is None:
        return []
    return [
        _v(
            "bifactor",
            f"ECV of {ind.general} = {_f(ind.ecv)}",
            ind.ecv,
            ind.ecv >= THRESHOLDS["ecv"].value if _finite(ind.ecv) else None,
            "ecv",
        ),
        _v(
            "bifactor",
            f"ω_h of {ind.general} = {_f(ind.omega_h)}",
            ind.omega_h,
            ind.omega_h >= THRESHOLDS["omega_h"].value if _finite(ind.omega_h) else None,
            "omega_h",
        ),
    ]


def _bifactor_section(report: HtmlReport, res, all_verdicts: list[Verdict]) -> None:
    """The bifactor and acquiescence models, and whether a total score is justified."""
    b = res.bifactor or {}
    report.section(
        "Bifactor and acquiescence models: is a total score justified?",
        intro=(
            "A bifactor model (a general factor over every item plus the facets, all orthogonal) "
            "tells how much of the common variance a total score carries: ECV, PUC and ω "
            "hierarchical (Rodriguez, Reise & Haviland 2016; as BifactorIndicesCalculator). An "
            "acquiescence factor (every raw-coded loading fixed to 1, orthogonal to the facets; "
            "Billiet & McClendon 2000, Maydeu-Olivares & Coffman 2006) measures agreeing "
            "regardless of content. α of a multidimensional total does not justify a total score."
        ),
    )
    label, reason = b.get("total_score", ("provisional", "no bifactor model was fitted"))
    report.paragraph(f"Total score: {label.upper()} — {reason}.")
    if not _status_note(report, res, "bifactor"):
        return
    for name, why in b.get("skipped", {}).items():
        report.note(f"Model {name} not fitted: {why}")
    rows = []
    for name, fit in b.get("fits", {}).items():
        fm = fit.fit_measures_
        scaled = "_scaled" if res.cfa_estimator == "WLSMV" else ""
        rows.append(
            {
                "Model": name,
                "χ²": fm.get("chisq" + scaled, np.nan),
                "df": fm.get("df" + scaled, np.nan),
                "CFI": fm.get("cfi" + scaled, np.nan),
                "TLI": fm.get("tli" + scaled, np.nan),
                "RMSEA": fm.get("rmsea" + scaled, np.nan),
                "SRMR": fm.get("srmr", np.nan),
            }
        )
    if rows:
        report.table(
            pd.DataFrame(rows).set_index("Model"),
            caption=f"Fit of the method models, {res.cfa_estimator}",
            digits=3,
        )
    acq = b.get("fits", {}).get("acquiescence")
    if acq is not None:
        e = acq.estimates_
        var = e[(e["op"] == "~~") & (e["lhs"] == "acquiescence") & (e["rhs"] == "acquiescence")]
        if len(var):
            v = var.iloc[0]
            report.paragraph(
                f"Acquiescence variance = {_f(v['est'])} (SE {_f(v['se'])}, p {_p(v['pvalue'])}) "
                "on the items' raw scale."
            )
    ind = b.get("indices")
    if ind is not None:
        general = pd.DataFrame(
            [
                {
                    "Factor": ind.general,
                    "ω": ind.omega,
                    "ω_h": ind.omega_h,
                    "relative ω": ind.relative_omega,
                    "ECV": ind.ecv,
                    "PUC": ind.puc,
                    "H": ind.h_general,
                }
            ]
        ).set_index("Factor")
        report.table(general, caption="Bifactor indices of the general factor", digits=3)
        facets = ind.facets.rename(
            columns={
                "facet": "Facet",
                "n_items": "Items",
                "omega": "ω",
                "omega_hs": "ω_hs",
                "relative_omega": "relative ω",
                "ecv_ss": "ECV_SS",
                "h": "H",
                "omega_hs_raw": "ω_hs (raw sum)",
            }
        ).set_index("Facet")
        report.table(facets, caption="Bifactor indices of each facet", digits=3)
    _show_verdicts(report, all_verdicts, "bifactor")


def _cfa_n(res) -> int | None:
    """The smallest number of respondents any CFA model used (None when no model was fitted);
    for pairwise-present WLSMV the fewest answering both items of a pair."""
    ns = [
        int(getattr(fit, "pair_n_range_", (fit.n_obs_,))[0])
        for fit in (res.cfa or {}).values()
        if hasattr(fit, "n_obs_")
    ]
    return min(ns) if ns else None


def _fit_indices(res) -> pd.DataFrame:
    """The comparison with the indices judged: ML as is; WLSMV's scaled (robust) CFI, TLI, RMSEA."""
    cmp = res.cfa_comparison
    if res.cfa_estimator != "WLSMV":
        return cmp
    out = cmp[["model", "srmr"]].copy()
    for name in ("cfi", "tli", "rmsea"):
        out[name] = cmp[f"{name}_scaled"]
    return out


# --------------------------------------------------------------------------------------------
# The HTML report
# --------------------------------------------------------------------------------------------
def _status_note(report: HtmlReport, res, name: str) -> bool:
    """Write a note when the step did not run; True when it ran."""
    try:
        step = res.step(name)
    except KeyError:
        return False
    if step.status == "ok":
        for w in step.warnings:
            report.note(f"Warning during {name.replace('_', ' ')}: {w}")
        if step.reason:
            report.note(step.reason)
        return True
    word = {
        "skipped": "Skipped",
        "failed": "Could not be computed",
        "not_requested": "Not requested",
    }.get(step.status, step.status)
    report.note(f"{word}: {step.reason}")
    return False


def _show_verdicts(report: HtmlReport, items: list[Verdict], section: str) -> None:
    for v in items:
        if v.section == section:
            report.verdict(v.label, v.passed, v.rule, v.citation)


def _likert_groups(res) -> list[tuple[str, list[str]]]:
    """The items with answers, in specification order, drawn as one figure."""
    dist = res.distribution
    present = [i for i in dist.index if dist.loc[i, "n"] > 0]
    return [("the instrument", present)] if present else []


def expected_figures(res) -> int:
    """How many figures :func:`build_report` draws for these results (for checks and tests)."""
    n = len(_likert_groups(res))
    n += int(res.parallel is not None)
    n += int(res.efa is not None)
    n += int(res.cfa_comparison is not None and len(res.cfa_comparison) > 0)
    n += int(res.invariance is not None)
    n += irt_figure_count(res)
    return n


def _data_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """1. Rows read, rejected and analysed; problem counts; how missing answers were handled."""
    opts = res.options
    synthetic = res.data.synthetic
    report.section(
        "Data and problems",
        intro=(
            "Rows read, rejected by the checks and analysed. Problems are counted by the rule that "
            "found them; "
            "the problem records themselves (with file and row) are written by mhdq score (its "
            ".problems.csv), never in this report."
        ),
    )
    if synthetic:
        report.note(
            "These are SYNTHETIC data (the input is marked synthetic): the figures describe a "
            "simulation, "
            "not real respondents."
        )
    report.table(paper_table(res.data.summary().set_index("quantity")), caption="Data summary")
    if res.data.rejected_by_rule:
        report.table(
            pd.DataFrame({"rows": res.data.rejected_by_rule}).rename_axis("rule"),
            caption="Rows rejected, by rule",
        )
    if res.data.rejected_by_rule.get("no_answers"):
        report.note(no_answer_note(res.data.rejected_by_rule["no_answers"]))
    if len(res.data.problems):
        report.table(
            paper_table(res.data.problems.set_index("rule")),
            caption="Problem records by rule and severity",
        )
    else:
        report.paragraph("The checks found no problems.")
    if res.data.group_sizes is not None:
        report.table(
            paper_table(res.data.group_sizes[["label", "n"]].set_index("label")),
            caption=f"Respondents per group of {res.data.group_by}",
        )
    report.paragraph(
        f"Missing answers: {opts['missing']} deletion for item statistics, reliability and "
        "correlations; "
        + _CFA_MISSING_TEXT.get(opts["cfa_missing"], "full-information ML (FIML)")
        + f" for CFA, validity and invariance ({res.data.n_complete} respondents answered every structure item)."
    )
    _show_verdicts(report, all_verdicts, "data")


def _answers_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """2. Diverging stacked bars of the answers per item, and the answer table."""
    from analysis.report import charts

    inst = res.instrument
    report.section(
        "Answers per item",
        intro=(
            "Diverging stacked bars of the share of answers in each category, centred on the "
            "neutral category "
            "(as HH::likert): disagreement to the left, agreement to the right. Items as answered "
            "(before reverse keying)."
        ),
    )
    codes = [c for c in res.distribution.columns if c.startswith("share_")]
    cat_labels = labels or inst.get("category_labels") or {}
    legend = [
        str(cat_labels.get(c.removeprefix("share_"), c.removeprefix("share_"))) for c in codes
    ]
    for root, items in _likert_groups(res):
        shares = res.distribution.loc[items, codes]
        shares = shares.loc[:, shares.notna().any()]
        used_legend = [legend[codes.index(c)] for c in shares.columns]
        report.svg_figure(
            charts.likert_svg(shares, labels=used_legend, title=f"Answers to the items of {root}"),
            caption="Share of answers per category (numbers of answers per item in the table "
            "below).",
            alt=f"Diverging stacked bars of the answers to the items of {root}",
        )
    report.table(
        paper_table(
            res.distribution[["scale", "keyed", "n", "missing", "not_applicable", "mean", "sd"]]
        ),
        caption="Answers, missing and not-applicable per item (mean and SD as answered)",
    )


def _item_statistics_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """3. Item statistics within each scale (psych::alpha), flagging low item-rest correlations."""
    report.section(
        "Item statistics",
        intro=(
            "Per item within its scale (psych::alpha item statistics on the keyed items): "
            "corrected item–rest "
            "correlation r_drop, alpha if the item is dropped, and the response distribution "
            "(floor and ceiling shares)."
        ),
    )
    if _status_note(report, res, "item_statistics"):
        cols = [
            c
            for c in [
                "scale",
                "item",
                "keyed",
                "n",
                "mean",
                "sd",
                "skew",
                "kurtosis",
                "floor",
                "ceiling",
                "r_drop",
                "alpha_if_dropped",
            ]
            if c in res.item_statistics.columns
        ]
        report.table(
            paper_table(res.item_statistics[cols]),
            caption="Item statistics (keyed items within their scale; mean and SD as answered)",
            index=False,
        )
        low = res.item_statistics[res.item_statistics["r_drop"] < 0.30]
        if len(low):
            report.note(
                f"{len(low)} item(s) correlate below .30 with the rest of their scale: "
                + ", ".join(low["item"].astype(str))
                + " (a common flag for revision; DeVellis 2017)."
            )


def _reliability_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """4. Reliability per scale (α with its intervals, ω, λ4, SEM) and ω across all items."""
    opts = res.options
    report.section(
        "Reliability",
        intro=(
            "Cronbach's α with its Feldt and Duhachek intervals, McDonald's ω total (one factor) "
            "with a percentile "
            "bootstrap interval, ω hierarchical "
            "for scales with three or more facets, Guttman's λ4 (best split half), and the "
            "standard error of "
            "measurement of the mean score. Ordinal α and ω use the polychoric correlations (with "
            "--ordinal)."
        ),
    )
    if _status_note(report, res, "reliability"):
        level = f"{res.reliability.ci_level:.0%}"
        rows = []
        for _, r in res.reliability.table.iterrows():
            row = {
                "Scale": r["scale"],
                "Items": r["n_items"],
                "N": r["n_obs"],
                "α": r["alpha"],
                f"{level} CI (Feldt)": _ci(r["alpha_ci_low"], r["alpha_ci_high"]),
                f"{level} CI (Duhachek)": _ci(
                    r["alpha_duhachek_ci_low"], r["alpha_duhachek_ci_high"]
                ),
            }
            if opts.get("n_boot"):
                row[f"{level} CI (bootstrap)"] = _ci(
                    r["alpha_boot_ci_low"], r["alpha_boot_ci_high"]
                )
            row["ω total"] = r["omega_total"]
            if "omega_total_ci_low" in r.index:
                row[f"{level} CI of ω (bootstrap)"] = _ci(
                    r["omega_total_ci_low"], r["omega_total_ci_high"]
                )
            row.update(
                {"ω hierarchical": r["omega_hierarchical"], "λ4": r["lambda4"], "SEM": r["sem"]}
            )
            if opts.get("ordinal"):
                row.update({"Ordinal α": r["ordinal_alpha"], "Ordinal ω": r["ordinal_omega_total"]})
            rows.append(row)
        report.table(
            pd.DataFrame(rows).set_index("Scale"),
            caption=(
                f"Reliability per scale ({res.reliability.missing} deletion; SEM of the mean score)"
            ),
        )
        for note in reliability_notes(res.reliability.problems):
            report.note(note)
        _show_verdicts(report, all_verdicts, "reliability")
    om = res.omega_hierarchical
    if om is not None:
        report.paragraph(
            f"Omega across all items at {om.n_factors} factors (psych::omega, Schmid–Leiman, "
            f"the specification has no sub-scales): ω hierarchical = {_f(om.omega_hierarchical)}, "
            f"ω total = {_f(om.omega_total)}."
        )


def _factors_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """5. Factorability (KMO, Bartlett) and the number of factors (parallel analysis, MAP)."""
    from analysis.report import charts

    opts = res.options
    report.section(
        "Factorability and the number of factors",
        intro=(
            f"On the {len(res.data.structure_items)} items of the scale hierarchy, "
            f"{opts['correlation'].capitalize()} "
            "correlations. "
            "KMO measures how much of the correlation is shared (psych::KMO); Bartlett's test asks "
            "whether the "
            "correlation matrix differs from identity. Parallel analysis (psych::fa.parallel, "
            f"{opts['n_iter']} simulated data sets, 95th percentile) and Velicer's MAP suggest the "
            "number of factors."
        ),
    )
    if _status_note(report, res, "factorability"):
        _show_verdicts(report, all_verdicts, "factorability")
        low = res.kmo.items[res.kmo.items < 0.60]
        if len(low):
            report.note(f"Items with MSA below .60: {', '.join(map(str, low.index))}.")
    if _status_note(report, res, "retention"):
        pa = res.parallel
        report.svg_figure(
            charts.scree_svg(
                pa.pc_values,
                simulated=pa.pc_simulated,
                observed_fa=pa.fa_values,
                simulated_fa=pa.fa_simulated,
                quantile=pa.quantile,
            ),
            caption=(
                f"Scree plot with parallel analysis: {pa.n_factors} factor(s) and "
                f"{pa.n_components} component(s) exceed the simulated eigenvalues."
            ),
            alt="Scree plot of observed and simulated eigenvalues",
        )
        map_text = f"; Velicer's MAP suggests {res.map.n_factors}" if res.map is not None else ""
        report.paragraph(
            f"Parallel analysis suggests {pa.n_factors} factor(s){map_text}. "
            f"The specification hypothesises {_n_leaves(res)} facet(s)."
        )


def _efa_section(report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None) -> None:
    """6. The EFA: loadings heatmap and table, factor correlations, fit."""
    from analysis.report import charts

    report.section(
        "Exploratory factor analysis",
        intro=(
            "psych::fa defaults: minimum residual extraction, oblimin rotation. Loadings below are "
            "the pattern "
            "matrix; reverse-keyed items load negatively."
        ),
    )
    if _status_note(report, res, "efa"):
        efa = res.efa
        report.paragraph(f"{efa.n_factors} factor(s), as suggested by {res.factors_source}.")
        report.svg_figure(
            charts.loadings_svg(
                efa.loadings_, title=f"EFA pattern loadings ({efa.n_factors} factors, oblimin)"
            ),
            caption="EFA pattern loadings (values of |λ| ≥ .30 printed).",
            alt="Heatmap of the EFA loadings",
        )
        tab = efa.loadings_.astype(object).where(efa.loadings_.abs() >= 0.10, "")
        tab["h²"] = efa.communalities_
        tab.index.name = "Item"
        report.table(
            tab,
            caption="Pattern loadings (|λ| < .10 left blank; all values in tables.xlsx) and "
            "communalities (h²)",
            digits=2,
        )
        if efa.phi_ is not None:
            phi = efa.phi_.copy()
            phi.index.name = "factor"
            report.table(phi, caption="Factor correlations", digits=2)
        if efa.fit_ is not None:
            f = efa.fit_
            report.paragraph(
                f"Fit: χ²({f.dof:.0f}) = {f.chi_square:.1f}, TLI = {_f(f.tli)}, RMSEA = "
                f"{_f(f.rmsea)} "
                f"[{_f(f.rmsea_low)}, {_f(f.rmsea_high)}], RMSR = {_f(f.rms)}."
            )


def _cfa_section(report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None) -> None:
    """7. The hypothesised CFA models: comparison, fit figure, loadings of the primary model."""
    from analysis.report import charts

    opts = res.options
    report.section(
        "Confirmatory factor analysis",
        intro=(
            "The models the specification implies (one factor, themes, facets, facets under "
            "second-order themes), "
            "fitted as lavaan::cfa (maximum likelihood; WLSMV with --ordinal; "
            + (
                "listwise deletion"
                if opts["cfa_missing"] == "listwise"
                else "pairwise-present polychoric statistics for missing answers"
                if opts["cfa_missing"] == "pairwise"
                else "full-information ML for missing answers"
            )
            + "; first loading fixed to 1). Nested ML models are compared by Δχ² (lavTestLRT)."
        ),
    )
    if res.estimator_warning:
        report.note(res.estimator_warning)
    if res.cfa_estimator == "WLSMV":
        report.note(
            "--ordinal: the models are fitted by WLSMV on the polychoric correlations (lavaan's "
            'estimator = "WLSMV", ordered = TRUE); verdicts use the scaled (robust) CFI and RMSEA. '
            "Hu & Bentler's cut-offs were derived for ML and carry over only approximately to "
            "WLSMV "
            "(Xia & Yang 2019, Behav Res Methods 51:409-428). The robust CFI, TLI and RMSEA are "
            "lavaan's (fitMeasures cfi.robust etc.; Savalei 2021). No Δχ² tests: they need "
            "lavaan's DIFFTEST."
        )
    if _status_note(report, res, "cfa"):
        cmp = res.cfa_comparison
        for name, reason in res.cfa_skipped.items():
            report.note(f"Model {name} not fitted: {reason}")
        rows = []
        for _, r in cmp.iterrows():
            if res.cfa_estimator == "WLSMV":
                rows.append(
                    {
                        "Model": r["model"],
                        "n": _model_n(res, r["model"]),
                        "χ² (scaled)": r["chisq_scaled"],
                        "df": round(float(r["df_scaled"]), 2),
                        "p": _p(r["pvalue_scaled"]),
                        "CFI (scaled)": r["cfi_scaled"],
                        "TLI (scaled)": r["tli_scaled"],
                        "RMSEA (scaled)": r["rmsea_scaled"],
                        "CFI (robust)": r.get("cfi_robust"),
                        "TLI (robust)": r.get("tli_robust"),
                        "RMSEA (robust)": r.get("rmsea_robust"),
                        "90% CI (robust)": _ci(
                            r.get("rmsea_ci_lower_robust"), r.get("rmsea_ci_upper_robust")
                        ),
                        "SRMR": r["srmr"],
                        **_pair_n_cells(r, opts["cfa_missing"]),
                    }
                )
            else:
                rows.append(
                    {
                        "Model": r["model"],
                        "n": _model_n(res, r["model"]),
                        "χ²": r["chisq"],
                        "df": int(r["df"]),
                        "p": _p(r["pvalue"]),
                        "CFI": r["cfi"],
                        "TLI": r["tli"],
                        "RMSEA": r["rmsea"],
                        "90% CI": _ci(r["rmsea_ci_lower"], r["rmsea_ci_upper"]),
                        "SRMR": r["srmr"],
                        "AIC": r["aic"],
                        "BIC": r["bic"],
                        "Δχ² (Δdf) vs": (
                            f"{r['delta_chisq']:.1f} ({r['delta_df']:.0f}) vs "
                            f"{r['compared_with']}, "
                            f"p {_p(r['delta_pvalue'])}"
                            if r["nested"]
                            else "–"
                        ),
                        **_listwise_cells(r),
                    }
                )
        report.table(
            pd.DataFrame(rows).set_index("Model"),
            caption=f"Model comparison, {res.cfa_estimator} (most constrained first)"
            + (
                "; listwise: the same model on the respondents who answered all its items "
                "(sensitivity check)"
                if "listwise_n_obs" in cmp.columns
                else ""
            ),
            digits=3,
        )
        cc_note = None if res.complete_case is None else res.complete_case.note()
        if cc_note:
            report.note(cc_note)
        report.svg_figure(
            charts.fit_comparison_svg(_fit_indices(res)),
            caption="Fit indices per model against Hu & Bentler's cut-offs (dashed lines).",
            alt="Fit indices of the CFA models",
        )
        _show_verdicts(report, all_verdicts, "cfa")
        primary = next(
            (m for m in ("facets", "second_order", "themes", "one_factor") if m in res.cfa), None
        )
        if primary is not None:
            fit = res.cfa[primary]
            sl = fit.standardized_loadings()
            shown = sl.astype(object).where(
                sl != 0, ""
            )  # blank where an item does not load (fixed to 0)
            shown.index.name, shown.columns.name = "Indicator", None
            report.table(
                shown, caption=f"Standardized loadings (std.all) of the {primary} model", digits=2
            )
            fc = fit.factor_correlations()
            if fc.shape[0] > 1:
                report.table(fc, caption=f"Factor correlations of the {primary} model", digits=2)


def _validity_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """8. Convergent and discriminant validity (CR, AVE, Fornell-Larcker, HTMT, criterion)."""
    report.section(
        "Convergent and discriminant validity",
        intro=(
            "Composite reliability and average variance extracted (AVE) per factor, the "
            "Fornell–Larcker criterion "
            "and the heterotrait–monotrait ratio (HTMT) between factors, from a CFA of the "
            "first-order model with "
            "each criterion scale added as a factor."
        ),
    )
    if _status_note(report, res, "validity"):
        v = res.validity
        report.paragraph(f"Model: {res.validity_model}; n = {v.n_obs} respondents.")
        report.table(
            paper_table(v.factors.assign(n_obs=v.n_obs)),
            caption="Composite reliability (CR) and average variance extracted (AVE)",
        )
        fl = v.fornell_larcker.copy()
        report.table(
            fl,
            caption="Fornell–Larcker: √AVE on the diagonal, factor correlations below and above",
            digits=2,
        )
        report.table(v.htmt, caption="HTMT", digits=2)
        if res.criterion is not None and len(res.criterion):
            report.table(
                paper_table(res.criterion.set_index("scale")),
                caption=(
                    "Scale hierarchy against the criterion scale(s): latent correlation "
                    "(two-factor CFA), HTMT and "
                    "correlation of scale scores"
                ),
            )
        _show_verdicts(report, all_verdicts, "validity")


def _invariance_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """9. Measurement invariance across the --group-by groups."""
    from analysis.report import charts

    report.section(
        "Measurement invariance",
        intro=(
            "Multi-group CFA across the groups of the --group-by column: configural (same "
            "pattern), metric (equal "
            "loadings), scalar (equal loadings and intercepts), as lavaan's group.equal."
        ),
    )
    if _status_note(report, res, "invariance"):
        inv = res.invariance
        report.paragraph(
            f"Model: {res.invariance_model}; groups: "
            + ", ".join(f"{g} (n = {inv.n_obs[g]})" for g in inv.groups)
            + "."
        )
        s = inv.summary()
        rows = [
            {
                "Step": step,
                "n": int(sum(inv.n_obs.values())),
                "χ²": r["chisq"],
                "df": int(r["df"]),
                "CFI": r["cfi"],
                "TLI": r["tli"],
                "RMSEA": r["rmsea"],
                "SRMR": r["srmr"],
                "Δχ²": r["delta_chisq"],
                "Δdf": r["delta_df"],
                "p (Δχ²)": _p(r["delta_pvalue"]),
                "ΔCFI": r["delta_cfi"],
                "ΔRMSEA": r["delta_rmsea"],
            }
            for step, r in s.iterrows()
        ]
        report.table(
            pd.DataFrame(rows).set_index("Step"),
            caption="Invariance steps (ML; Δ against the previous step)",
        )
        report.svg_figure(
            charts.invariance_ladder_svg(s),
            caption="CFI and RMSEA per invariance step, with the change from the previous step.",
            alt="Invariance ladder",
        )
        _show_verdicts(report, all_verdicts, "invariance")


def _provenance_section(
    report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None
) -> None:
    """11. Which analyses ran, and the provenance of the report."""
    inst = res.instrument
    opts = res.options
    report.section(
        "Analyses run and software", intro="Status of each analysis, and what produced this report."
    )
    report.table(paper_table(res.summary().set_index("step")), caption="Analyses", digits=2)
    prov = {
        "instrument": f"{inst['name']} {inst['version']}",
        "fingerprint": inst["fingerprint"],
        "data hash": res.provenance["data_hash"],
        "seed": str(opts["seed"]),
        "missing data": f"{opts['missing']} (CFA: {opts['cfa_missing']})",
        "bootstrap resamples (α, ω)": f"{opts['n_boot']}, {opts['omega_n_boot']}",
    }
    prov.update({k: v for k, v in res.provenance["software"].items()})
    report.table(pd.DataFrame({"value": prov}).rename_axis("item"), caption="Provenance")


def _bifactor(report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None) -> None:
    """7b. The method models (bifactor, acquiescence) and whether a total score is justified."""
    _bifactor_section(report, res, all_verdicts)


def _irt(report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None) -> None:
    """10. Item response theory (analysis/report/irt.py)."""
    render_irt(report, res, _status_note)


def _imputed(report: HtmlReport, res, all_verdicts: list[Verdict], labels: dict | None) -> None:
    """10b. With ``impute``: the analyses pooled over the imputations (analysis/report/imputed.py)."""
    render_imputed(report, res)


#: The report's sections in order: each renders one part of the results into the report.
SECTIONS: tuple[Callable[[HtmlReport, Any, list[Verdict], dict | None], None], ...] = (
    _data_section,
    _answers_section,
    _item_statistics_section,
    _reliability_section,
    _factors_section,
    _efa_section,
    _cfa_section,
    _bifactor,
    _validity_section,
    _invariance_section,
    _irt,
    _imputed,
    _provenance_section,
)


def build_report(res, *, labels: dict | None = None) -> HtmlReport:
    """The validation report as an :class:`~analysis.report.html.HtmlReport` (not yet written).

    Parameters
    ----------
    res : ValidationResults
    labels : dict, optional
        Response category labels per code (default: taken from the results' instrument block).

    Notes
    -----
    The title block is built here; each section is rendered by its own function, in the order of
    :data:`SECTIONS`.
    """
    inst = res.instrument
    synthetic = res.data.synthetic
    subtitle = (
        f"{inst['name']} (version {inst['version']}, specification fingerprint "
        f"{inst['fingerprint']}) · "
        f"{res.data.n_used} respondents analysed · created {res.provenance['created']}"
    )
    if synthetic:
        subtitle = "SYNTHETIC DATA · " + subtitle
    report = HtmlReport(f"Validation report: {inst['short_name']}", subtitle=subtitle)
    all_verdicts = verdicts(res)
    for render in SECTIONS:
        render(report, res, all_verdicts, labels)
    return report


def no_answer_note(n_rows: int) -> str:
    """What the data section says when rows without any answer were left out (issue 11 §4)."""
    return (
        f"{n_rows} row(s) without any answer were left out (rule no_answers): they are not "
        "respondents, so every n in this report counts only rows with answers. psych, given the "
        "whole file, counts such rows in n (cortest.bartlett's n and alpha's Feldt interval and "
        "ase use nrow(x)), so its chi-square and intervals differ slightly; remove the empty rows "
        "before comparing."
    )


def _n_leaves(res) -> int:
    return int(res.instrument.get("n_structure_leaves", 0))


def _sheet_notes(res) -> dict[str, str]:
    """The note under each sheet of tables.xlsx: what the numbers are and how they were computed."""
    o = res.options
    level = f"{o['ci_level']:.0%}"
    est = res.cfa_estimator
    return {
        "Data summary": f"Rows read, rejected by the checks and analysed; sources: {', '.join(res.data.sources)}.",
        "Problems by rule": "Problem records of reading and checking, counted by rule and severity.",
        "Responses": "Answers per item as answered (before reverse keying): n answers, missing, not applicable, "
        "share of answers per code, M and SD.",
        "Item statistics": f"psych::alpha item statistics on the keyed items within each leaf scale; {o['missing']} "
        "deletion. r (item–rest) = r.drop.",
        "Reliability": f"{level} intervals: Feldt and Duhachek (α ± z·ASE)"
        + (f", percentile bootstrap of α ({o['n_boot']} resamples)" if o["n_boot"] else "")
        + (
            f"; ω total from one factor with a percentile bootstrap interval ({o['omega_n_boot']} "
            "resamples)"
            if o["omega_n_boot"]
            else "; ω total from one factor"
        )
        + f", ω hierarchical by Schmid–Leiman; {o['missing']} deletion.",
        "Polychoric correlations": "psych::polychoric (two-step, global thresholds, 0.5 correction for empty cells).",
        "Thresholds": "Thresholds of the polychoric correlations (Φ⁻¹ of cumulative proportions).",
        "KMO": f"Kaiser–Meyer–Olkin measure of sampling adequacy (psych::KMO), {o['correlation']} correlations.",
        "Bartlett": "Bartlett's test of sphericity (psych::cortest.bartlett).",
        "Retention": f"Parallel analysis (psych::fa.parallel, {o['n_iter']} simulated data sets, 95th percentile, "
        f"seed {o['seed']}) and Velicer's MAP.",
        "EFA loadings": f"psych::fa: minres, oblimin, {o['correlation']} correlations; pattern loadings.",
        "EFA factor correlations": "Correlations of the oblimin-rotated factors.",
        "EFA fit": "psych::factor.stats fit of the EFA (RMSEA interval 90%).",
        "CFA fit comparison": f"lavaan::cfa, {est}, missing = {o['cfa_missing']}; Δχ² between nested neighbours "
        "(ML only).",
        "CFA standardized loadings": f"lavaan standardizedSolution (std.all), {est}.",
        "CFA factor correlations": f"Model-implied factor correlations, {est}.",
        "CR and AVE": f"From the {res.validity_model} CFA ({est}); CR on keyed standardized loadings.",
        "Fornell-Larcker": "√AVE on the diagonal, factor correlations off it.",
        "HTMT": "Heterotrait–monotrait ratio of item correlations (semTools::htmt, absolute correlations).",
        "Discriminant pairs": "Fornell–Larcker: |r| below both √AVE; HTMT below .85 (Henseler et al. 2015).",
        "Criterion scales": "Hierarchy total against each criterion scale: two-factor CFA, HTMT, scale-score r.",
        "Invariance": "lavaan::cfa multi-group ML (group.equal); Δ against the previous step.",
        "Bifactor and method fit": f"Bifactor (orthogonal) and acquiescence models, {est}.",
        "Bifactor indices": "ECV, PUC, ω, ω_h, H (Rodriguez, Reise & Haviland 2016) from the "
        "standardized loadings; *_raw as semTools::compRelSEM(obs.var = FALSE).",
        "Bifactor IECV": "Item explained common variance of the general factor.",
        "Analyses": "Status of every analysis; reasons for those skipped or failed.",
        **IRT_SHEET_NOTES,
        **IMPUTED_SHEET_NOTES,
    }


def write_validation_outputs(res, out_dir: str | Path) -> dict[str, Path]:
    """Write ``results.json``, ``tables.xlsx`` and ``report.html`` into ``out_dir``.

    Parameters
    ----------
    res : ValidationResults
    out_dir : str or Path
        Output folder; created (with its parents) if it does not exist.

    Returns
    -------
    dict
        ``{"json": path, "xlsx": path, "html": path}``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": write_json(res.to_dict(), out / "results.json")}
    tables = res.tables()
    notes = _sheet_notes(res)
    if res.data.synthetic:
        notes = {name: "SYNTHETIC DATA. " + notes.get(name, "") for name in tables}
    paths["xlsx"] = write_tables_xlsx(
        {name: paper_table(t) for name, t in tables.items()}, out / "tables.xlsx", notes=notes
    )
    paths["html"] = build_report(res).write(out / "report.html")
    return paths
