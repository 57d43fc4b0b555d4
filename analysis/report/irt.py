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
    """Items × parameters of "estimate (SE)" cells (as a pivot; built from plain lists: faster)."""
    cells: dict[str, dict[str, str]] = {}
    for item, parameter, estimate, se in zip(
        frame["item"].tolist(),
        frame["parameter"].tolist(),
        frame["estimate"].tolist(),
        frame["se"].tolist(),
        strict=True,
    ):
        cells.setdefault(item, {})[parameter] = _with_se(estimate, se)
    columns = sorted({p for row in cells.values() for p in row})
    wide = pd.DataFrame(
        [[row.get(p, "") for p in columns] for row in cells.values()],
        index=pd.Index(list(cells), name="Item"),
        columns=columns,
    )
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


def _grid(n: int, columns: int) -> tuple[int, int]:
    cols = min(n, columns)
    return cols, -(-n // cols)


def _category_curves(report: HtmlReport, s) -> None:
    """Small multiples of the category response curves: one panel per item, shared axes."""
    from analysis.report.svg import COLOURS, Svg, nice_ticks

    items = list(s.items)
    curves = s.category_curves
    theta = curves["theta"].to_numpy(dtype=float)
    xlim = (float(theta.min()), float(theta.max()))
    cols, rows = _grid(len(items), 4)
    width, height, gap_x, gap_y, left, top = 190, 110, 22, 36, 62, 58
    chart = Svg(left + cols * (width + gap_x) + 10, top + rows * (height + gap_y) + 34)
    categories = sorted(curves["category"].unique())
    chart.legend(
        left,
        6,
        [(f"{c:g}", COLOURS[k % len(COLOURS)], "solid") for k, c in enumerate(categories)],
        title="answer",
        columns=len(categories),
        column_width=52,
        size=10,
    )
    colour = {c: COLOURS[k % len(COLOURS)] for k, c in enumerate(categories)}
    xticks = nice_ticks(*xlim, n=4)
    # Row positions of each (item, category) curve, found once (a groupby per panel costs more).
    rows_of = curves.groupby(["item", "category"], sort=True).indices
    probability = curves["probability"].to_numpy(dtype=float)
    for k, item in enumerate(items):
        row, col = divmod(k, cols)
        last_row = row == rows - 1 or k + cols >= len(items)
        panel = chart.panel(
            left + col * (width + gap_x),
            top + row * (height + gap_y),
            width,
            height,
            xlim=xlim,
            ylim=(0, 1),
            xticks=xticks,
            yticks=[0, 0.5, 1],
            xtick_labels=last_row,
            ytick_labels=col == 0,
            title=str(item),
            xlabel="trait (θ)" if last_row else "",
            ylabel="probability" if col == 0 else "",
            size=10,
        )
        for value in categories:
            at = rows_of.get((item, value))
            if at is not None:
                panel.line(
                    theta[at],
                    probability[at],
                    colour=colour[value],
                    label=f"{item}: answer {value:g}",
                )
    report.svg_figure(
        chart.render(),
        caption=f"{s.scale}: category response curves (mirt probtrace) of each item.",
        alt=f"Category response curves of the items of {s.scale}",
    )


def _information(report: HtmlReport, s) -> None:
    """Item information (left, one line per item) and test information with its SE (right)."""
    from analysis.report.svg import COLOURS, Svg

    info = s.item_information
    test = s.test_information
    theta = info.index.to_numpy(dtype=float)
    xlim = (float(theta.min()), float(theta.max()))
    items = [str(c) for c in info.columns]
    per_column = 14
    legend_columns = -(-len(items) // per_column)
    legend_width = 70 * legend_columns
    width, height, top = 280, 200, 14
    left = 64
    right_left = left + width + 20 + legend_width + 70
    chart = Svg(right_left + width + 70, top + height + 52)
    values = info.to_numpy(dtype=float)
    panel = chart.panel(
        left,
        top,
        width,
        height,
        xlim=xlim,
        ylim=(0, _upper(values)),
        xlabel="trait (θ)",
        ylabel="item information",
        size=10,
    )
    entries = []
    for k, item in enumerate(items):
        colour = COLOURS[k % len(COLOURS)]
        style = "solid" if k < len(COLOURS) else "dashed"
        panel.line(theta, values[:, k], colour=colour, style=style, label=item)
        entries.append((item, colour, style))
    for c in range(legend_columns):
        chart.legend(
            left + width + 16 + 70 * c,
            top,
            entries[c * per_column : (c + 1) * per_column],
            size=10,
            column_width=70,
        )
    x = test["theta"].to_numpy(dtype=float)
    information = test["information"].to_numpy(dtype=float)
    se = test["se"].to_numpy(dtype=float)
    right = chart.panel(
        right_left,
        top,
        width,
        height,
        xlim=xlim,
        ylim=(0, _upper(information)),
        xlabel="trait (θ)",
        ylabel="test information",
        size=10,
    )
    right.line(x, information, colour=COLOURS[0], label="test information")
    twin = chart.right_axis(
        right, ylim=(0, _upper(se)), label="conditional SE = 1/√I(θ)", colour=COLOURS[3], size=10
    )
    twin.line(x, se, colour=COLOURS[3], style="dashed", label="conditional SE")
    best = test.loc[test["information"].idxmax()]
    report.svg_figure(
        chart.render(),
        caption=(
            f"{s.scale}: item information (left) and test information with the conditional "
            f"standard error (right, dashed); most precise at θ = {best['theta']:.1f} "
            f"(SE {best['se']:.2f})."
        ),
        alt=f"Item and test information of {s.scale}",
    )


def _upper(values) -> float:
    """The top of a y axis from 0: 5 % above the largest finite value."""
    import numpy as np

    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    top = float(finite.max()) if finite.size else 1.0
    return top * 1.05 if top > 0 else 1.0


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
    """Expected-score curves by group: one panel per flagged item and one of the scale's sum."""
    from analysis.report.svg import COLOURS, Svg

    shown = [*d.result.flagged, "scale"]
    curves = d.curves
    theta = curves["theta"].to_numpy(dtype=float)
    xlim = (float(theta.min()), float(theta.max()))
    groups = list(dict.fromkeys(curves["group"]))
    colour = {g: COLOURS[k % len(COLOURS)] for k, g in enumerate(groups)}
    cols, rows = _grid(len(shown), 4)
    width, height, gap_x, gap_y, left, top = 170, 120, 50, 40, 62, 50
    chart = Svg(left + cols * (width + gap_x), top + rows * (height + gap_y) + 30)
    chart.legend(
        left,
        6,
        [(str(g), colour[g], "solid") for g in groups],
        title=str(d.group_by),
        columns=len(groups),
        size=10,
    )
    by_item = dict(tuple(curves.groupby("item", sort=False)))
    for k, item in enumerate(shown):
        row, col = divmod(k, cols)
        part = by_item.get(item)
        expected = part["expected"].to_numpy(dtype=float) if part is not None else []
        panel = chart.panel(
            left + col * (width + gap_x),
            top + row * (height + gap_y),
            width,
            height,
            xlim=xlim,
            ylim=_score_range(expected),
            title=item if item != "scale" else f"{s.scale} (sum)",
            xlabel="trait (θ)",
            ylabel="expected score" if col == 0 else "",
            size=10,
        )
        if part is None:
            continue
        for label, g in part.groupby("group", sort=False):
            panel.line(g["theta"], g["expected"], colour=colour[label], label=f"{item}: {label}")
    report.svg_figure(
        chart.render(),
        caption=(
            f"{s.scale}: expected scores of the flagged items and of the scale by {d.group_by} "
            "(multiple-group graded model anchored on the unflagged items); the gap between the "
            "curves is the DIF's effect on scores."
        ),
        alt=f"Expected-score curves by {d.group_by} for {s.scale}",
    )


def _score_range(values) -> tuple[float, float]:
    import numpy as np

    finite = np.asarray(values, dtype=float)
    finite = finite[np.isfinite(finite)]
    if not finite.size:
        return (0.0, 1.0)
    low, high = float(finite.min()), float(finite.max())
    pad = 0.05 * (high - low) or 0.5
    return (low - pad, high + pad)
