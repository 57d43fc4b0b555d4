"""Measurement invariance: multi-group CFA across a grouping column, configural → metric → scalar.

:class:`MultiGroupCFA` fits one :class:`~analysis.sem.cfa.MeasurementModel` in every group with
chosen parameter classes held equal (lavaan's ``cfa(model, data, group = "g", group.equal = ...)``);
:func:`measurement_invariance` fits the usual ladder and tabulates the change in fit at each step.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
from scipy import special  # not scipy.stats: ~1 s to import

from analysis._estimator import Estimator, ModelResults
from analysis._results import Result
from analysis.sem.engine import (
    COMPARISON_MEASURES,
    Structure,
    fit_structure,
    group_stats,
    missing_stats,
    prepare_data,
)
from analysis.sem.syntax import MeasurementModel

__all__ = ["MultiGroupCFA", "measurement_invariance", "InvarianceResult", "STEPS"]

#: Fit measures of each step of an invariance sequence, in table order.
STEP_FIT_MEASURES = COMPARISON_MEASURES

#: The invariance steps and the parameter classes each holds equal across groups
#: (lavaan ``group.equal``).
STEPS: dict[str, tuple[str, ...]] = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
    "strict": ("loadings", "intercepts", "residuals"),
}
_ALLOWED_EQUAL = ("loadings", "intercepts", "residuals", "lv.variances", "lv.covariances")


class MultiGroupCFA(Estimator):
    """Multi-group confirmatory factor analysis by maximum likelihood.

    Parameters
    ----------
    model : MeasurementModel or str
        The same model in every group (lavaan-like syntax accepted).
    group : str
        Column of ``data`` naming each respondent's group. Rows with a missing group are dropped.
    group_equal : sequence of str, default ()
        Parameter classes held equal across groups: ``"loadings"`` (incl. second-order loadings),
        ``"intercepts"``, ``"residuals"``, ``"lv.variances"``, ``"lv.covariances"`` (lavaan
        ``group.equal``). With ``"intercepts"`` the latent means are fixed to 0 in the first group
        and free in the others, as lavaan does.
    missing : {"listwise", "ml"}, default "listwise"
        As :class:`analysis.sem.cfa.CFA` (``"ml"``: full-information ML per group).

    Attributes
    ----------
    fit_measures_ : pandas.Series
        As :attr:`analysis.sem.cfa.CFA.fit_measures_` for the multi-group model.
    estimates_ : pandas.DataFrame
        ``group, lhs, op, rhs, est, se, z, pvalue, std_all`` (``group`` numbers the groups in
        ``groups_`` order; ``~1`` rows are intercepts and latent means).
    groups_ : tuple
        Group labels in order of first appearance in the data (lavaan's default order).
    n_obs_ : pandas.Series
        Respondents used per group.
    converged_ : bool
    results_ : ModelResults
        ``estimates_`` as its table and ``fit_measures_`` among its statistics.

    Notes
    -----
    Every group has a mean structure (lavaan's default with groups): item intercepts ν and latent
    means α, μ_g = ν_g + Λ_g A_g α_g. The discrepancy is Σ_g (N_g/N)·F_g with
    F_g = log|Σ_g| + tr(S_gΣ_g⁻¹) − log|S_g| − p + (x̄_g − μ_g)ᵀΣ_g⁻¹(x̄_g − μ_g), χ² = N·F, and
    df = G·(p(p+1)/2 + p) − q. lavaan's multi-group fit measures follow: the baseline is the
    independence model in each group; RMSEA = √G·√(max(χ² − df, 0)/(df·N)) (lavaan
    ``lav_fit_rmsea``); SRMR is each group's SRMR (the standardized mean residuals included, over
    p(p+1)/2 + p elements) weighted by N_g/N.

    References
    ----------
    Meredith, W. (1993). Measurement invariance, factor analysis and factorial invariance.
    *Psychometrika, 58*, 525-543.
    Jöreskog, K. G. (1971). Simultaneous factor analysis in several populations. *Psychometrika,
    36*, 409-426.
    """

    def __init__(
        self,
        model: MeasurementModel | str,
        *,
        group: str,
        group_equal: Sequence[str] = (),
        missing: str = "listwise",
    ):
        self.model = model
        self.group = group
        self.group_equal = group_equal
        self.missing = missing

    def fit(self, data: pd.DataFrame, y=None) -> MultiGroupCFA:
        """Estimate the multi-group model on ``data`` (items and the group column)."""
        model = (
            MeasurementModel.from_syntax(self.model) if isinstance(self.model, str) else self.model
        )
        if not isinstance(model, MeasurementModel):
            raise TypeError(
                "model: expected a MeasurementModel or lavaan-like syntax, got "
                f"{type(model).__name__}"
            )
        equal = tuple(self.group_equal)
        bad = [e for e in equal if e not in _ALLOWED_EQUAL]
        if bad:
            raise ValueError(
                f"group_equal: {', '.join(map(repr, bad))} not allowed; allowed: "
                f"{', '.join(_ALLOWED_EQUAL)}"
            )
        if not isinstance(data, pd.DataFrame):
            raise TypeError(f"data: expected a pandas DataFrame, got {type(data).__name__}")
        if self.group not in data.columns:
            raise ValueError(f"group: {self.group!r} is not a column of the data")
        data = data[data[self.group].notna()]
        labels = tuple(pd.unique(data[self.group]))
        if len(labels) < 2:
            raise ValueError(
                f"group: column {self.group!r} has {len(labels)} group(s); need at least 2"
            )
        stats_, n_obs = [], {}
        for lab in labels:
            x = prepare_data(data[data[self.group] == lab], model.observed, self.missing)
            if x.shape[0] <= len(model.observed):
                raise ValueError(
                    f"data: group {lab!r} of {self.group!r} has {x.shape[0]} complete rows for "
                    f"{len(model.observed)} items; need more rows than items"
                )
            stats_.append(missing_stats(x, lab) if self.missing == "ml" else group_stats(x, lab))
            n_obs[lab] = x.shape[0]
        struct = Structure(
            model,
            len(labels),
            meanstructure=True,
            equal=equal,
            free_latent_means="intercepts" in equal,
        )
        res = fit_structure(struct, stats_)
        self._struct, self._stats = struct, stats_
        self.theta_, self.converged_ = res.theta, res.converged
        self.fit_measures_ = res.fit_measures
        self.estimates_ = res.estimates
        self.groups_ = labels
        self.n_obs_ = pd.Series(n_obs, name="n_obs")
        self.model_ = model
        return self._finish_fit(
            ModelResults.of(self, self.estimates_, self.fit_measures_.to_dict())
        )

    def summary(self) -> pd.DataFrame:
        """The parameter estimates (``estimates_``)."""
        self._check_fitted()
        return self.results_.summary()


@dataclass(frozen=True, slots=True, repr=False)
class InvarianceResult(Result):
    """The invariance ladder: one fitted :class:`MultiGroupCFA` per step.

    Attributes
    ----------
    group : str
        The grouping column.
    groups : tuple
        Group labels (first group = reference for latent means).
    n_obs : dict
        Respondents per group.
    steps : tuple of str
        Step names in order.
    fits : dict of str to MultiGroupCFA
    """

    group: str
    groups: tuple
    n_obs: dict
    steps: tuple[str, ...]
    fits: dict = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """One row per step: ``step, group_equal, npar, chisq, df, pvalue, cfi, tli, rmsea,
        rmsea_ci_lower, rmsea_ci_upper, srmr, aic, bic, delta_chisq, delta_df, delta_pvalue,
        delta_cfi, delta_rmsea`` (changes relative to the previous step; NaN for the first)."""
        cols = STEP_FIT_MEASURES
        rows, prev = [], None
        for name in self.steps:
            fm = self.fits[name].fit_measures_
            rec: dict[str, Any] = {
                "step": name,
                "group_equal": ",".join(self.fits[name].group_equal) or "none",
            }
            rec.update({c: float(fm[c]) for c in cols})
            if prev is None:
                rec.update(
                    delta_chisq=math.nan,
                    delta_df=math.nan,
                    delta_pvalue=math.nan,
                    delta_cfi=math.nan,
                    delta_rmsea=math.nan,
                )
            else:
                dchi, ddf = fm["chisq"] - prev["chisq"], fm["df"] - prev["df"]
                rec.update(
                    delta_chisq=dchi,
                    delta_df=ddf,
                    delta_pvalue=float(special.chdtrc(ddf, max(dchi, 0.0)))
                    if ddf > 0
                    else math.nan,
                    delta_cfi=fm["cfi"] - prev["cfi"],
                    delta_rmsea=fm["rmsea"] - prev["rmsea"],
                )
            rows.append(rec)
            prev = fm
        return pd.DataFrame(rows).set_index("step")


def measurement_invariance(
    data: pd.DataFrame,
    model: MeasurementModel | str,
    *,
    group: str,
    steps: Sequence[str] = ("configural", "metric", "scalar"),
    missing: str = "listwise",
) -> InvarianceResult:
    """Fit the configural, metric and scalar models across ``group`` and compare them.

    Parameters
    ----------
    data : pandas.DataFrame
        Item responses and the grouping column.
    model : MeasurementModel or str
    group : str
        The grouping column.
    steps : sequence of str, default ("configural", "metric", "scalar")
        Any of ``configural`` (same pattern), ``metric`` (equal loadings), ``scalar`` (equal
        loadings
        and intercepts, latent means free in groups 2..G), ``strict`` (also equal residual
        variances), in increasing order of constraint.
    missing : {"listwise", "ml"}, default "listwise"

    Returns
    -------
    InvarianceResult
        ``.summary()`` gives χ², df, CFI, TLI, RMSEA (90% CI), SRMR, AIC and BIC per step with
        Δχ² (df, p), ΔCFI and ΔRMSEA against the previous step.

    Notes
    -----
    Matches lavaan's ``cfa(model, data, group = group, group.equal = ...)`` with ``group.equal``
    ``c()``, ``"loadings"``, ``c("loadings", "intercepts")`` and ``c(..., "residuals")``, and the
    Δχ² of ``lavTestLRT`` (ML). Common readings: ΔCFI ≥ −.01 (Cheung & Rensvold 2002) and
    ΔRMSEA ≤ .015 (Chen 2007) for metric/scalar invariance.

    References
    ----------
    Meredith, W. (1993). Measurement invariance, factor analysis and factorial invariance.
    *Psychometrika, 58*, 525-543.
    Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for testing
    measurement invariance. *Structural Equation Modeling, 9*, 233-255.
    Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance.
    *Structural Equation Modeling, 14*, 464-504.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(3)  # synthetic data, two groups, same measurement model
    >>> f = rng.normal(size=(600, 1))
    >>> x = f @ np.ones((1, 4)) + rng.normal(size=(600, 4))
    >>> d = pd.DataFrame(x, columns=["a", "b", "c", "d"]).assign(g=np.repeat([1, 2], 300))
    >>> res = measurement_invariance(d, "f =~ a + b + c + d", group="g")
    >>> res.summary()["df"].tolist()
    [4.0, 7.0, 10.0]
    """
    order = list(STEPS)
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise ValueError(
            f"steps: unknown step(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(order)}"
        )
    if list(steps) != sorted(steps, key=order.index) or len(set(steps)) != len(steps):
        raise ValueError(f"steps: give each step once, in the order {', '.join(order)}")
    fits = {
        s: MultiGroupCFA(model, group=group, group_equal=STEPS[s], missing=missing).fit(data)
        for s in steps
    }
    first = fits[steps[0]]
    return InvarianceResult(group, first.groups_, first.n_obs_.to_dict(), tuple(steps), fits)
