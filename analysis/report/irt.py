"""The IRT section of the validation report: one small renderer per part.

:func:`render_irt` writes the section from :attr:`ValidationResults.irt`
(:class:`analysis.study.irt.IRTStudy`); :func:`irt_figure_count` says how many figures it draws.
"""

from __future__ import annotations

import pandas as pd

from analysis.report.html import HtmlReport

__all__ = ["IRT_SHEET_NOTES", "irt_figure_count", "render_irt"]

IRT_SHEET_NOTES = {
    "IRT fit": "Graded response model per leaf scale (mirt defaults: 61 quadrature points on [-6, 6], "
    "N(0, 1) trait); C2 limited-information fit (mirt M2(type = 'C2')) with RMSEA (90% interval), "
    "CFI and SRMSR; rxx of the EAP-sum-score table, empirical reliability of the EAPs (mirt "
    "empirical_rxx) and marginal reliability (mirt marginal_rxx).",
    "IRT parameters": "Slope-intercept form (mirt coef): P(X >= k) = 1/(1 + exp(-(a theta + d_k))); "
    "Louis standard errors and Wald intervals. Reverse-keyed items were reversed first.",
    "IRT traditional": "Traditional form: b_k = -d_k / a (delta-method SEs).",
    "IRT item fit": "Orlando-Thissen S-X2 (mirt itemfit(, 'S_X2')); complete responses only.",
    "IRT sum scores": "EAP for each summed score (mirt fscores(method = 'EAPsum')): the look-up "
    "table for scoring by hand; sum_score counts categories from 0, raw_sum on the items' codes "
    "(reverse-keyed items reversed).",
    "IRT DIF": "lordif: ordinal logistic regression DIF with an iteratively purified EAP matching "
    "score; flagged when any of the three likelihood-ratio tests has p <= .01.",
}


def irt_figure_count(res) -> int:
    """Figures :func:`render_irt` draws: two per scale, one per DIF analysis with flagged items."""
    study = getattr(res, "irt", None)
    if study is None:
        return 0
    n = 0
    for s in study.scales.values():
        n += 2 + sum(1 for d in s.dif.values() if d.curves is not None)
    return n


def render_irt(report: HtmlReport, res, status_note) -> None:
    """Write the IRT section; ``status_note(report, res, name)`` reports a step that did not run."""
    report.section(
        "Item response theory",
        intro=(
            "Samejima's graded response model per scale (marginal maximum likelihood as "
            "mirt::mirt(data, 1, itemtype = 'graded'); 61 quadrature points on [−6, 6], standard "
            "normal trait; Louis standard errors). Reverse-keyed items are reversed first, so "
            "every slope points the scale's way. Hierarchical totals are not modelled: they are "
            "multidimensional."
        ),
    )
    if not status_note(report, res, "irt"):
        return
    study = res.irt
    for name, reason in study.skipped.items():
        report.note(f"Scale {name} not modelled: {reason}")
    if not study.scales:
        return
    _fit_overview(report, study)
    for s in study.scales.values():
        _scale(report, s, study.options)


def _fit_overview(report: HtmlReport, study) -> None:
    table = study.summary()
    shown = pd.DataFrame(
        {
            "Items": table["n_items"].to_numpy(),
            "N": table["n_obs"].to_numpy(),
            "C2": table["m2"].to_numpy(),
            "df": table["m2_df"].to_numpy(),
            "p": table["m2_p"].to_numpy(),
            "RMSEA": table["rmsea"].to_numpy(),
            "CFI": table["cfi"].to_numpy(),
            "SRMSR": table["srmsr"].to_numpy(),
            "rxx (sum score)": table["rxx_sum_score"].to_numpy(),
            "Empirical rxx": table["empirical_reliability"].to_numpy(),
            "Marginal rxx": table["marginal_reliability"].to_numpy(),
        },
        index=pd.Index(table["scale"], name="Scale"),
    )
    report.table(
        shown, caption="Graded response model per scale: C2 fit (mirt M2, type C2) and reliability"
    )


def _scale(report: HtmlReport, s, options: dict) -> None:
    report.subsection(f"Scale {s.scale}")
    if s.n_calibration < s.n_obs:
        report.note(
            f"Parameters estimated on a random subsample of {s.n_calibration} of the {s.n_obs} "
            f"respondents (seed {options['seed']}; at most {options['max_calibration']} "
            "respondents calibrate a scale, to keep validation fast); fit, sum-score counts and "
            "category use use everyone."
        )
    for problem in s.problems:
        report.note(f"Not computed: {problem}")
    if s.reversed_items:
        report.paragraph(f"Reversed before fitting: {', '.join(s.reversed_items)}.")
    _parameters(report, s)
    _category_curves(report, s)
    _information(report, s)
    _item_fit(report, s)
    _sum_scores(report, s)
    _category_use(report, s)
    for d in s.dif.values():
        _dif(report, s, d)


def _with_se(estimate: float, se: float) -> str:
    return f"{estimate:.2f} ({se:.2f})" if pd.notna(se) else f"{estimate:.2f}"


def _wide(frame: pd.DataFrame) -> pd.DataFrame:
    cells = frame.assign(
        cell=[_with_se(e, s) for e, s in zip(frame["estimate"], frame["se"], strict=True)]
    )
    wide = cells.pivot(index="item", columns="parameter", values="cell").fillna("")
    wide = wide.loc[list(dict.fromkeys(frame["item"]))]
    wide.index.name = "Item"
    wide.columns.name = None
    return wide


def _parameters(report: HtmlReport, s) -> None:
    report.table(
        _wide(s.parameters),
        caption=f"{s.scale}: slope-intercept parameters a, d_k (SE), as mirt's coef()",
    )
    report.table(
        _wide(s.traditional),
        caption=f"{s.scale}: traditional parameters a, b_k = −d_k/a (delta-method SE)",
    )


def _category_curves(report: HtmlReport, s) -> None:
    import matplotlib.pyplot as plt

    items = list(s.items)
    cols = min(len(items), 3)
    rows = -(-len(items) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.4 * rows), squeeze=False)
    curves = s.category_curves
    for ax, item in zip(axes.ravel(), items, strict=False):
        for value, part in curves[curves["item"] == item].groupby("category"):
            ax.plot(part["theta"], part["probability"], label=f"{value:g}", linewidth=1.2)
        ax.set_title(item, fontsize=9)
        ax.set_ylim(0, 1)
        ax.tick_params(labelsize=7)
    for ax in axes.ravel()[len(items) :]:
        ax.axis("off")
    axes[0, 0].legend(title="answer", fontsize=6, title_fontsize=7)
    for ax in axes[-1]:
        ax.set_xlabel("trait (θ)", fontsize=8)
    for ax in axes[:, 0]:
        ax.set_ylabel("probability", fontsize=8)
    fig.subplots_adjust(hspace=0.45, wspace=0.25)
    report.figure(
        fig,
        caption=f"{s.scale}: category response curves (mirt probtrace) of each item.",
        alt=f"Category response curves of the items of {s.scale}",
    )


def _information(report: HtmlReport, s) -> None:
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(9, 3.2))
    info = s.item_information
    for item in info.columns:
        left.plot(info.index, info[item], label=item, linewidth=1.2)
    left.set_xlabel("trait (θ)")
    left.set_ylabel("item information")
    left.legend(fontsize=7)
    test = s.test_information
    right.plot(test["theta"], test["information"], color="C0")
    right.set_xlabel("trait (θ)")
    right.set_ylabel("test information", color="C0")
    twin = right.twinx()
    twin.plot(test["theta"], test["se"], color="C3", linestyle="--")
    twin.set_ylabel("conditional SE = 1/√I(θ)", color="C3")
    fig.subplots_adjust(wspace=0.35)
    best = test.loc[test["information"].idxmax()]
    report.figure(
        fig,
        caption=(
            f"{s.scale}: item information (left) and test information with the conditional "
            f"standard error (right); most precise at θ = {best['theta']:.1f} "
            f"(SE {best['se']:.2f})."
        ),
        alt=f"Item and test information of {s.scale}",
    )


def _item_fit(report: HtmlReport, s) -> None:
    if s.item_fit is None:
        return
    fit = s.item_fit.set_index("item")[["s_x2", "df", "p_value", "n_obs"]]
    fit.columns = ["S-X²", "df", "p", "N"]
    fit.index.name = "Item"
    report.table(fit, caption=f"{s.scale}: item fit, S-X² (mirt itemfit, complete responses)")
    misfit = fit.index[fit["p"] < 0.01].tolist()
    if misfit:
        report.note(
            f"S-X² p < .01 for {', '.join(map(str, misfit))}. With large samples S-X² flags small "
            "misfit; judge it beside the category curves and C2's RMSEA."
        )


def _sum_scores(report: HtmlReport, s) -> None:
    t = s.sum_scores.table
    shown = pd.DataFrame(
        {
            "Sum score": t["raw_sum"].round().astype(int).to_numpy(),
            "θ (EAP)": t["theta"].to_numpy(),
            "SE": t["se"].to_numpy(),
        }
    )
    if "observed" in t.columns:
        shown["Observed"] = t["observed"].astype(int).to_numpy()
        shown["Expected"] = t["expected"].to_numpy()
    rxx = s.sum_scores.reliability
    report.table(
        shown.set_index("Sum score"),
        caption=(
            f"{s.scale}: EAP for each summed score (mirt fscores EAPsum; raw sum of the keyed "
            f"items; also in tables.xlsx)" + (f"; rxx = {rxx:.3f}" if rxx is not None else "")
        ),
        digits=2,
    )


def _category_use(report: HtmlReport, s) -> None:
    sparse = s.category_use[s.category_use["sparse"]]
    if len(sparse):
        cells = ", ".join(f"{r.item} = {r.category:g} ({r.count})" for r in sparse.itertuples())
        report.note(
            f"{s.scale}: response categories used fewer than 10 times: {cells}. Sparse categories "
            "make their thresholds imprecise; consider merging them."
        )
    else:
        report.paragraph(f"{s.scale}: every response category was used at least 10 times.")


def _dif(report: HtmlReport, s, d) -> None:
    if d.result is None:
        report.note(f"{s.scale}: DIF across {d.group_by} not computed: {d.reason}")
        return
    r = d.result
    table = r.summary().set_index("item")[
        ["n_obs", "chi2_12", "p_12", "chi2_23", "p_23", "chi2_13", "p_13", "nagelkerke_13"]
    ]
    table["flagged"] = r.statistics.set_index("item")["flagged"]
    table.columns = [
        "N",
        "χ² uniform",
        "p",
        "χ² non-uniform",
        "p ",
        "χ² total",
        "p  ",
        "ΔR² (Nagelkerke)",
        "Flagged",
    ]
    table.index.name = "Item"
    labels = ", ".join(map(str, r.group_labels))
    report.table(
        table,
        caption=(
            f"{s.scale}: DIF across {d.group_by} ({labels}) by ordinal logistic regression "
            f"(lordif; {r.iterations} purification iteration(s))"
        ),
    )
    if not r.flagged:
        report.paragraph(f"{s.scale}: no item flagged for DIF across {d.group_by}.")
        return
    report.note(
        f"{s.scale}: flagged for DIF across {d.group_by}: {', '.join(r.flagged)} (any of the "
        "three likelihood-ratio tests p ≤ .01; with large samples trivial DIF is flagged, so "
        "read ΔR² and the curves for its size)."
    )
    if d.curves is not None:
        _dif_curves(report, s, d)


def _dif_curves(report: HtmlReport, s, d) -> None:
    import matplotlib.pyplot as plt

    shown = [*d.result.flagged, "scale"]
    fig, axes = plt.subplots(1, len(shown), figsize=(2.8 * len(shown), 2.6), squeeze=False)
    for ax, item in zip(axes.ravel(), shown, strict=True):
        part = d.curves[d.curves["item"] == item]
        for label, g in part.groupby("group", sort=False):
            ax.plot(g["theta"], g["expected"], label=str(label), linewidth=1.2)
        ax.set_title(item if item != "scale" else f"{s.scale} (sum)", fontsize=9)
        ax.tick_params(labelsize=7)
    axes[0, 0].legend(title=d.group_by, fontsize=7, title_fontsize=7)
    for ax in axes[0]:
        ax.set_xlabel("trait (θ)", fontsize=8)
    axes[0, 0].set_ylabel("expected score", fontsize=8)
    fig.subplots_adjust(wspace=0.3)
    report.figure(
        fig,
        caption=(
            f"{s.scale}: expected scores of the flagged items and of the scale by {d.group_by} "
            "(multiple-group graded model anchored on the unflagged items); the gap between the "
            "curves is the DIF's effect on scores."
        ),
        alt=f"Expected-score curves by {d.group_by} for {s.scale}",
    )
