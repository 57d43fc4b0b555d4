"""Figures of a validation study, each a function of result tables that draws on an Axes.

Every function takes ``ax=None`` and returns the Axes it drew on (the validation report draws the
same figures as SVG without matplotlib: :mod:`analysis.report.charts`). With ``ax=None`` it makes a new
:class:`matplotlib.figure.Figure` (no pyplot state, no backend chosen at import: the figure renders
with Agg when saved), so the functions are safe in servers, tests and notebooks alike.

=====================  ===============================================================
Function               R counterpart drawn the same way
=====================  ===============================================================
:func:`likert_bars`    ``HH::likert`` (diverging stacked bars centred on the neutral category)
:func:`scree_plot`     ``psych::fa.parallel`` (observed and simulated eigenvalues)
:func:`loadings_heatmap` ``psych::cor.plot`` of a loading matrix
:func:`fit_comparison` ``semTools::compareFit`` indices, drawn against the Hu & Bentler cut-offs
:func:`invariance_ladder` ``semTools::compareFit`` of the configural → scalar fits (ΔCFI, ΔRMSEA)
=====================  ===============================================================
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from analysis.report.charts import diverging_colours, diverging_starts

__all__ = ["fit_comparison", "invariance_ladder", "likert_bars", "loadings_heatmap", "scree_plot"]


def _new_axes(ax, size: tuple[float, float]):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=size)
    return fig.add_subplot()


def likert_bars(
    shares: pd.DataFrame,
    *,
    labels: Sequence[str] | None = None,
    item_labels: Sequence[str] | None = None,
    ax=None,
    title: str = "",
):
    """Diverging stacked bars of the answers to each item, centred on the neutral category.

    Parameters
    ----------
    shares : DataFrame
        Items (rows, drawn top to bottom in this order) × response categories (columns, from
        the most negative to the most positive), holding the share of answers (rows sum to 1;
        NaN treated as 0).
    labels : sequence of str, optional
        Legend labels of the categories (default: the column names).
    item_labels : sequence of str, optional
        Axis labels of the items (default: the index).
    ax : matplotlib Axes, optional
    title : str, default ""

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    As ``HH::likert`` (Heiberger & Robbins 2014): categories below the middle extend to the
    left of zero, those above to the right; with an odd number of categories the middle
    (neutral) one is split half on each side, so each bar is centred on the neutral point and
    the share agreeing or disagreeing can be read off either side. Axis in percent.

    References
    ----------
    Heiberger, R. M., & Robbins, N. B. (2014). Design of diverging stacked bar charts for
    Likert scales and other applications. *Journal of Statistical Software, 57*(5), 1-32.

    Examples
    --------
    >>> shares = pd.DataFrame([[.1, .2, .4, .2, .1], [.3, .3, .2, .1, .1]], index=["a", "b"])
    >>> ax = likert_bars(shares)
    >>> len(ax.patches)
    10
    """
    if not isinstance(shares, pd.DataFrame) or shares.shape[1] < 1:
        raise ValueError("shares: expected a DataFrame of items × categories")
    values = shares.fillna(0.0).to_numpy(dtype=float) * 100
    n_items, k = values.shape
    ax = _new_axes(ax, (8.5, 0.9 + 0.32 * n_items))
    colours = diverging_colours(k)
    labels = list(shares.columns.astype(str)) if labels is None else list(labels)
    if len(labels) != k:
        raise ValueError(f"labels: {len(labels)} given for {k} categories")
    starts = diverging_starts(values)
    left_start = starts[:, 0]
    y = np.arange(n_items)[::-1]
    for j in range(k):
        ax.barh(
            y,
            values[:, j],
            left=starts[:, j],
            color=colours[j],
            edgecolor="white",
            linewidth=0.4,
            height=0.75,
            label=labels[j],
        )
    start = starts[:, -1] + values[:, -1]
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_ylim(-0.6, n_items - 0.4)
    ax.set_yticks(y, list(shares.index.astype(str)) if item_labels is None else list(item_labels))
    span = max(50.0, float(np.ceil(max(-left_start.min(), (start).max()) / 10) * 10))
    ax.set_xlim(-span, span)
    step = 25 if span > 60 else 10
    edge = np.floor(span / step) * step
    ticks = np.arange(-edge, edge + 1, step)
    ax.set_xticks(ticks, [f"{abs(t):.0f}" for t in ticks])
    ax.set_xlabel("Percent of answers")
    ax.legend(
        ncol=min(k, 5),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.35 / max(1, n_items / 8)),
        frameon=False,
        fontsize=8,
    )
    ax.tick_params(axis="y", labelsize=8)
    if title:
        ax.set_title(title)
    return ax


def scree_plot(
    observed: Sequence[float] | np.ndarray,
    *,
    simulated: Sequence[float] | np.ndarray | None = None,
    observed_fa: Sequence[float] | np.ndarray | None = None,
    simulated_fa: Sequence[float] | np.ndarray | None = None,
    quantile: float | None = 0.95,
    ax=None,
    title: str = "Parallel analysis scree plot",
):
    """Scree plot of eigenvalues with the parallel-analysis lines (``psych::fa.parallel``).

    Parameters
    ----------
    observed : array
        Principal-component eigenvalues of the observed correlation matrix.
    simulated : array, optional
        The same from simulated (uncorrelated) data, at the ``quantile`` (dashed line).
    observed_fa, simulated_fa : array, optional
        Eigenvalues of the reduced correlation matrix (factor solution), observed and simulated.
    quantile : float or None, default 0.95
        Used only in the legend text.
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    As psych's plot: observed PC eigenvalues as crosses joined by a line, FA eigenvalues as
    triangles, the simulated ones as dotted/dashed lines; the number of factors suggested is
    the count of leading observed values above their simulated counterparts.

    Examples
    --------
    >>> ax = scree_plot([3.0, 1.2, 0.9, 0.5, 0.4], simulated=[1.3, 1.1, 1.0, 0.9, 0.7])
    >>> [line.get_label() for line in ax.lines if not line.get_label().startswith("_")]
    ['PC observed', 'PC simulated (95% quantile)']
    """
    observed = np.asarray(observed, dtype=float)
    ax = _new_axes(ax, (7.0, 4.2))
    x = np.arange(1, len(observed) + 1)
    q = "" if quantile is None else f" ({quantile:.0%} quantile)"
    ax.plot(x, observed, "x-", color="tab:blue", label="PC observed")
    if simulated is not None:
        ax.plot(
            x, np.asarray(simulated, dtype=float), ":", color="tab:blue", label=f"PC simulated{q}"
        )
    if observed_fa is not None:
        ax.plot(
            x,
            np.asarray(observed_fa, dtype=float),
            "^-",
            color="tab:red",
            markersize=4,
            label="FA observed",
        )
    if simulated_fa is not None:
        ax.plot(
            x,
            np.asarray(simulated_fa, dtype=float),
            "--",
            color="tab:red",
            label=f"FA simulated{q}",
        )
    ax.axhline(1.0, color="grey", linewidth=0.6)
    ax.set_xlabel("Factor / component number")
    ax.set_ylabel("Eigenvalue")
    ax.set_xlim(0.5, len(observed) + 0.5)
    ax.legend(frameon=False, fontsize=8)
    if title:
        ax.set_title(title)
    return ax


def loadings_heatmap(
    loadings: pd.DataFrame, *, ax=None, title: str = "Factor loadings", annotate_above: float = 0.3
):
    """Heatmap of a loading matrix (items × factors) on a −1 … 1 diverging scale.

    Parameters
    ----------
    loadings : DataFrame
        Items (rows, top to bottom) × factors.
    ax : matplotlib Axes, optional
    title : str
    annotate_above : float, default 0.3
        Loadings at or above this in absolute value are printed in their cell (0: all; None: none).

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Drawn as ``psych::cor.plot(loadings)``: red for negative, blue for positive, white at 0.

    Examples
    --------
    >>> ax = loadings_heatmap(pd.DataFrame({"F1": [.7, .6, .1], "F2": [.0, .2, .8]}, index=list("abc")))
    >>> len(ax.images)
    1
    """
    if not isinstance(loadings, pd.DataFrame) or loadings.empty:
        raise ValueError("loadings: expected a non-empty DataFrame of items × factors")
    values = loadings.to_numpy(dtype=float)
    n_items, k = values.shape
    ax = _new_axes(ax, (1.6 + 0.9 * k, 1.0 + 0.26 * n_items))
    image = ax.imshow(values, cmap="RdBu", vmin=-1, vmax=1, aspect="auto", interpolation="nearest")
    ax.set_xticks(np.arange(k), [str(c) for c in loadings.columns], fontsize=8)
    ax.set_yticks(np.arange(n_items), [str(i) for i in loadings.index], fontsize=7)
    ax.xaxis.tick_top()
    if annotate_above is not None:
        for i in range(n_items):
            for j in range(k):
                v = values[i, j]
                if np.isfinite(v) and abs(v) >= annotate_above:
                    ax.text(
                        j,
                        i,
                        f"{v:.2f}".replace("0.", ".", 1).replace("-", "−"),
                        ha="center",
                        va="center",
                        fontsize=6.5,
                        color="white" if abs(v) > 0.65 else "black",
                    )
    ax.figure.colorbar(image, ax=ax, shrink=0.6, label="loading")
    if title:
        ax.set_title(title, fontsize=10)
    return ax


def fit_comparison(comparison: pd.DataFrame, *, ax=None, title: str = "CFA model comparison"):
    """CFI, TLI, RMSEA (90% CI) and SRMR of competing models against Hu & Bentler's cut-offs.

    Parameters
    ----------
    comparison : DataFrame
        One row per model with columns ``model, cfi, tli, rmsea, srmr`` and optionally
        ``rmsea_ci_lower, rmsea_ci_upper`` (as :func:`analysis.sem.cfa.compare_models`).
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Grouped points per model: incremental indices (CFI, TLI; good ≥ .95) and residual indices
    (RMSEA with its interval, SRMR; good ≤ .06 and ≤ .08), Hu & Bentler (1999), each with
    its cut-off as a horizontal line. The numbers are the rows of ``semTools::compareFit``.

    Examples
    --------
    >>> cmp = pd.DataFrame({"model": ["a", "b"], "cfi": [.9, .97], "tli": [.88, .96],
    ...                     "rmsea": [.08, .04], "srmr": [.07, .03]})
    >>> ax = fit_comparison(cmp)
    >>> ax.get_title()
    'CFA model comparison'
    """
    need = {"model", "cfi", "tli", "rmsea", "srmr"}
    if not isinstance(comparison, pd.DataFrame) or not need <= set(comparison.columns):
        raise ValueError(f"comparison: expected a DataFrame with columns {', '.join(sorted(need))}")
    ax = _new_axes(ax, (7.5, 4.0))
    models = comparison["model"].astype(str).tolist()
    x = np.arange(len(models))
    twin = ax.twinx()
    ax.plot(x - 0.12, comparison["cfi"], "o", color="tab:blue", label="CFI")
    ax.plot(x - 0.04, comparison["tli"], "s", color="tab:cyan", label="TLI")
    ax.axhline(0.95, color="tab:blue", linewidth=0.7, linestyle="--")
    ax.set_ylabel("CFI, TLI (good ≥ .95)")
    low = float(np.nanmin(comparison[["cfi", "tli"]].to_numpy(dtype=float)))
    ax.set_ylim(min(0.8, np.floor(low * 20) / 20 if np.isfinite(low) else 0.8), 1.005)
    rmsea = comparison["rmsea"].to_numpy(dtype=float)
    if {"rmsea_ci_lower", "rmsea_ci_upper"} <= set(comparison.columns):
        lo = rmsea - comparison["rmsea_ci_lower"].to_numpy(dtype=float)
        hi = comparison["rmsea_ci_upper"].to_numpy(dtype=float) - rmsea
        twin.errorbar(
            x + 0.04,
            rmsea,
            yerr=[np.clip(lo, 0, None), np.clip(hi, 0, None)],
            fmt="D",
            color="tab:red",
            capsize=3,
            label="RMSEA (90% CI)",
        )
    else:
        twin.plot(x + 0.04, rmsea, "D", color="tab:red", label="RMSEA")
    twin.plot(x + 0.12, comparison["srmr"], "v", color="tab:orange", label="SRMR")
    twin.axhline(0.06, color="tab:red", linewidth=0.7, linestyle="--")
    twin.axhline(0.08, color="tab:orange", linewidth=0.7, linestyle=":")
    twin.set_ylabel("RMSEA (≤ .06), SRMR (≤ .08)")
    top = float(np.nanmax(np.r_[rmsea, comparison["srmr"].to_numpy(dtype=float), 0.1]))
    twin.set_ylim(0, top * 1.15)
    ax.set_xticks(x, models)
    ax.set_xlim(-0.5, len(models) - 0.5)
    handles = ax.get_legend_handles_labels()
    handles2 = twin.get_legend_handles_labels()
    ax.legend(
        handles[0] + handles2[0],
        handles[1] + handles2[1],
        loc="upper center",
        bbox_to_anchor=(0.5, -0.1),
        ncol=4,
        fontsize=8,
        frameon=False,
    )
    if title:
        ax.set_title(title)
    return ax


def invariance_ladder(steps: pd.DataFrame, *, ax=None, title: str = "Measurement invariance"):
    """CFI and RMSEA at each invariance step, with the change from the previous step.

    Parameters
    ----------
    steps : DataFrame
        Indexed by step (configural, metric, scalar, ...) with columns ``cfi, rmsea`` and
        optionally ``delta_cfi, delta_rmsea`` (as
        :meth:`analysis.sem.invariance.InvarianceResult.summary`).
    ax : matplotlib Axes, optional
    title : str

    Returns
    -------
    matplotlib Axes

    Notes
    -----
    Each step is labelled with ΔCFI and ΔRMSEA (green when invariant, red when not); a step counts
    as invariant when ΔCFI ≥ −.01 (Cheung & Rensvold 2002) and ΔRMSEA ≤ .015 (Chen 2007). Numbers as
    ``semTools::compareFit``.

    Examples
    --------
    >>> s = pd.DataFrame({"cfi": [.97, .965, .95], "rmsea": [.04, .041, .05],
    ...                   "delta_cfi": [np.nan, -.005, -.015], "delta_rmsea": [np.nan, .001, .009]},
    ...                  index=["configural", "metric", "scalar"])
    >>> [t.get_text().splitlines()[0] for t in invariance_ladder(s).get_xticklabels()]
    ['configural', 'metric', 'scalar']
    """
    if not isinstance(steps, pd.DataFrame) or not {"cfi", "rmsea"} <= set(steps.columns):
        raise ValueError("steps: expected a DataFrame indexed by step with columns cfi and rmsea")
    ax = _new_axes(ax, (7.0, 3.8))
    x = np.arange(len(steps))
    names = [str(s) for s in steps.index]
    ax.plot(x, steps["cfi"], "o-", color="tab:blue", label="CFI")
    ax.set_ylabel("CFI")
    twin = ax.twinx()
    twin.plot(x, steps["rmsea"], "D--", color="tab:red", label="RMSEA")
    twin.set_ylabel("RMSEA")
    cfi = steps["cfi"].to_numpy(dtype=float)
    ax.set_ylim(min(0.85, np.nanmin(cfi) - 0.02), 1.0)
    twin.set_ylim(0, max(0.1, float(np.nanmax(steps["rmsea"])) * 1.4))
    colours = ["black"] * len(names)
    if {"delta_cfi", "delta_rmsea"} <= set(steps.columns):
        for i, (dc, dr) in enumerate(zip(steps["delta_cfi"], steps["delta_rmsea"], strict=True)):
            if np.isfinite(dc) and np.isfinite(dr):
                colours[i] = "tab:green" if (dc >= -0.01 and dr <= 0.015) else "tab:red"
                names[i] += f"\nΔCFI {dc:+.3f}\nΔRMSEA {dr:+.3f}".replace("-", "−")
    ax.set_xticks(x, names, fontsize=8)
    for tick, colour in zip(ax.get_xticklabels(), colours, strict=False):
        tick.set_color(colour)
    ax.set_xlim(-0.5, len(steps) - 0.5)
    h1, l1 = ax.get_legend_handles_labels()
    h2, l2 = twin.get_legend_handles_labels()
    ax.legend(h1 + h2, l1 + l2, loc="upper right", fontsize=8, frameon=False)
    if title:
        ax.set_title(title)
    return ax
