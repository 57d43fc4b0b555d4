"""Item and test information, the conditional standard error, and marginal reliability."""

from __future__ import annotations

import numpy as np
import pandas as pd

from analysis.irt.items import item_probabilities, item_slope_derivative
from analysis.irt.model import GradedResponseModel, normal_pdf

__all__ = [
    "category_response_curves",
    "empirical_reliability",
    "item_information",
    "marginal_reliability",
    "plot_category_curves",
    "plot_information",
    "test_information",
]


def _grid(theta) -> np.ndarray:
    return np.linspace(-4, 4, 161) if theta is None else np.atleast_1d(np.asarray(theta, float))


def item_information(model: GradedResponseModel, theta=None) -> pd.DataFrame:
    """Fisher information of every item along the trait.

    Parameters
    ----------
    model : GradedResponseModel
        Fitted.
    theta : array-like, optional
        Trait values; default 161 points on [-4, 4].

    Returns
    -------
    DataFrame
        Index ``theta``; one column per item.

    Notes
    -----
    ``I_j(theta) = sum_k (dP_jk/dtheta)^2 / P_jk``; R mirt's ``iteminfo(extract.item(mod, j),
    Theta)``.
    """
    model._check_fitted()
    grid = _grid(theta)
    columns = {}
    for item, kind, p in zip(model.items_, model.item_types_, model.params_, strict=True):
        probs = item_probabilities(kind, p, grid)
        slope = item_slope_derivative(kind, p, grid)
        columns[item] = (slope**2 / probs).sum(axis=1)
    return pd.DataFrame(columns, index=pd.Index(grid, name="theta"))


def test_information(model: GradedResponseModel, theta=None) -> pd.DataFrame:
    """Test information and the conditional standard error of measurement.

    Returns
    -------
    DataFrame
        Columns ``theta, information, se`` with ``se = 1 / sqrt(information)`` (R mirt's
        ``testinfo(mod, Theta)``; the prior's unit information is not added).
    """
    info = item_information(model, theta).sum(axis=1).to_numpy()
    grid = _grid(theta)
    return pd.DataFrame({"theta": grid, "information": info, "se": 1.0 / np.sqrt(info)})


# pytest must not collect the function above as a test
test_information.__test__ = False  # type: ignore[attr-defined]


def marginal_reliability(model: GradedResponseModel) -> float:
    """Marginal reliability ``integral I(theta) / (I(theta) + 1) phi(theta) dtheta``.

    Notes
    -----
    R mirt's ``marginal_rxx(mod)`` (trait variance 1, standard normal density). mirt integrates
    adaptively over the real line (``integrate``); here the smooth, Gaussian-tailed integrand is
    summed by the trapezoidal rule on 2,401 points over [-12, 12], which is exact to rounding for
    such integrands (agrees with adaptive quadrature to 1e-12) and needs one vectorised
    evaluation instead of hundreds.
    """
    model._check_fitted()
    grid = np.linspace(-12.0, 12.0, 2401)
    info = np.zeros_like(grid)
    for kind, p in zip(model.item_types_, model.params_, strict=True):
        probs = item_probabilities(kind, p, grid)
        info += (item_slope_derivative(kind, p, grid) ** 2 / probs).sum(axis=1)
    integrand = info / (info + 1.0) * normal_pdf(grid)
    return float(np.trapezoid(integrand, grid))  # scipy.integrate.trapezoid's sum


def empirical_reliability(scores: pd.DataFrame) -> float:
    """Empirical reliability of estimated trait scores: ``var(theta) / (var(theta) + mean(se^2))``.

    Parameters
    ----------
    scores : DataFrame
        With columns ``theta`` and ``se`` (e.g. from :func:`~analysis.irt.eap_scores`); rows with
        non-finite values are skipped.

    Notes
    -----
    R mirt's ``empirical_rxx(fscores(mod, full.scores.SE = TRUE))`` (``var`` with ``n - 1``).
    """
    if not {"theta", "se"} <= set(scores.columns):
        raise ValueError("scores needs the columns 'theta' and 'se'")
    keep = np.isfinite(scores["theta"]) & np.isfinite(scores["se"])
    theta, se = scores.loc[keep, "theta"], scores.loc[keep, "se"]
    var = float(theta.var(ddof=1))
    return var / (var + float(np.mean(se**2)))


def plot_information(model: GradedResponseModel, theta=None, *, ax=None):
    """Test information (left axis) and conditional SE (right axis); returns the Axes."""
    import matplotlib.pyplot as plt

    table = test_information(model, theta)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    ax.plot(table["theta"], table["information"], color="C0", label="information")
    ax.set_xlabel("trait (theta)")
    ax.set_ylabel("test information")
    twin = ax.twinx()
    twin.plot(table["theta"], table["se"], color="C1", linestyle="--", label="SE")
    twin.set_ylabel("conditional SE")
    return ax


def category_response_curves(model: GradedResponseModel, theta=None) -> pd.DataFrame:
    """Probability of every response category along the trait.

    Returns
    -------
    DataFrame
        Long format: ``item, category`` (the item's own response value), ``theta``,
        ``probability`` (R mirt's ``probtrace``).
    """
    model._check_fitted()
    grid = _grid(theta)
    frames = []
    for item, probs, cats in zip(
        model.items_, model.item_probabilities(grid), model.categories_, strict=True
    ):
        for k, value in enumerate(cats):
            frames.append(
                pd.DataFrame(
                    {"item": item, "category": value, "theta": grid, "probability": probs[:, k]}
                )
            )
    return pd.concat(frames, ignore_index=True)


def plot_category_curves(model: GradedResponseModel, item: str, theta=None, *, ax=None):
    """Category response curves of one item; returns the Axes."""
    import matplotlib.pyplot as plt

    if item not in model.items_:
        raise ValueError(f"item {item!r} is not in the model; items: {model.items_}")
    table = category_response_curves(model, theta)
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 4))
    for value, part in table[table["item"] == item].groupby("category"):
        ax.plot(part["theta"], part["probability"], label=f"{value:g}")
    ax.set_xlabel("trait (theta)")
    ax.set_ylabel("probability")
    ax.set_title(item)
    ax.legend(title="response")
    return ax
