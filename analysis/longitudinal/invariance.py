"""Longitudinal measurement invariance: the same items at several waves, configural → scalar.

One model holds a factor per wave; the same item's residuals covary across waves; loadings
(metric) and then intercepts (scalar) are held equal across waves, and under scalar invariance the
latent means of waves 2.. are free against the first wave's 0 — the model lavaan/semTools users
write for repeated measures. Fitted by ML with full-information ML for missing answers on the
SEM engine of :mod:`analysis.sem`.
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from analysis._estimator import Estimator, ModelResults
from analysis._results import Result
from analysis.longitudinal._checks import check_columns, wave_order
from analysis.sem.engine import (
    ALPHA,
    LAMBDA,
    NU,
    Structure,
    fit_structure,
    missing_stats,
    prepare_data,
)
from analysis.sem.invariance import STEP_FIT_MEASURES
from analysis.sem.syntax import MeasurementModel

__all__ = [
    "LONGITUDINAL_STEPS",
    "LongitudinalInvariance",
    "LongitudinalInvarianceCFA",
    "longitudinal_invariance",
]

#: The steps and what each holds equal across waves.
LONGITUDINAL_STEPS: dict[str, tuple[str, ...]] = {
    "configural": (),
    "metric": ("loadings",),
    "scalar": ("loadings", "intercepts"),
}

#: Conventional limits for the change in fit at each step (Cheung & Rensvold 2002; Chen 2007).
DELTA_CFI_LIMIT = -0.01
DELTA_RMSEA_LIMIT = 0.015


def _wide_name(item: str, k: int) -> str:
    return f"{item}_t{k + 1}"


def longitudinal_model(factors: Mapping[str, Sequence[str]], n_waves: int) -> MeasurementModel:
    """The configural pattern: ``{factor}_t{k}`` measured by ``{item}_t{k}`` for each wave k, and
    ``{item}_t{j} ~~ {item}_t{k}`` for every pair of waves."""
    facs = []
    for k in range(n_waves):
        for f, items in factors.items():
            facs.append((_wide_name(f, k), tuple(_wide_name(i, k) for i in items)))
    covs = []
    for items in factors.values():
        for i in items:
            for j, k in itertools.combinations(range(n_waves), 2):
                covs.append((_wide_name(i, j), _wide_name(i, k)))
    return MeasurementModel(tuple(facs), tuple(covs), name="longitudinal")


class _WaveStructure(Structure):
    """A one-group :class:`~analysis.sem.engine.Structure` with parameters held equal across
    waves: the same item's loading (``"loadings"``) and intercept (``"intercepts"``) share one
    free parameter, and with equal intercepts the latent means of waves 2.. are free."""

    def __init__(self, model: MeasurementModel, base_of: Mapping[str, str], equal: Sequence[str]):
        super().__init__(model, 1, meanstructure=True)
        t = self.table
        free = t.free.copy()
        latent_wave = {f: int(f.rsplit("_t", 1)[1]) for f in self.lat}
        if "intercepts" in equal:
            for row in np.flatnonzero(t.mat == ALPHA):
                if latent_wave[t.lhs[row]] > 1:
                    free[row] = -1  # newly free; numbered below
        shared: dict[tuple, int] = {}
        numbers = [0] * len(free)
        counter = 0
        for k in range(len(free)):
            if free[k] == 0:
                continue
            key: tuple | None = None
            if t.mat[k] == LAMBDA and "loadings" in equal:
                key = ("loading", base_of[t.lhs[k]], base_of[t.rhs[k]])
            elif t.mat[k] == NU and "intercepts" in equal:
                key = ("intercept", base_of[t.lhs[k]])
            if key is not None and key in shared:
                numbers[k] = shared[key]
                continue
            counter += 1
            numbers[k] = counter
            if key is not None:
                shared[key] = counter
        self.table = dataclasses.replace(t, free=np.asarray(numbers, dtype=t.free.dtype))
        self.n_free = counter


class LongitudinalInvarianceCFA(Estimator):
    """One longitudinal CFA: a factor per wave, equal parameters across waves as asked.

    Parameters
    ----------
    factors : mapping of str to sequence of str
        Each factor and its items (the first item is the marker: loading 1 at every wave).
    id : str
        Respondent-id column of the person-period data.
    wave : str
        Wave column.
    waves : sequence, optional
        Waves in order (default: the categories' order of ``wave``, or sorted).
    equal : sequence of str, default ()
        ``"loadings"`` and/or ``"intercepts"`` held equal across waves.

    Attributes
    ----------
    fit_measures_ : pandas.Series
        As :attr:`analysis.sem.cfa.CFA.fit_measures_` (lavaan ``fitMeasures`` names in snake_case).
    estimates_ : pandas.DataFrame
        ``lhs, op, rhs, est, se, z, pvalue, std_all`` in the wide names (``item_t1``, ``f_t2``).
    waves_ : tuple
        Waves in order (``t1`` is the first).
    n_obs_ : int
        Respondents with at least one answer.
    model_ : MeasurementModel
        The configural pattern in wide names.
    converged_ : bool
    results_ : ModelResults
        ``estimates_`` as its table and ``fit_measures_`` among its statistics.
    """

    def __init__(
        self,
        factors: Mapping[str, Sequence[str]],
        *,
        id: str,
        wave: str,
        waves: Sequence | None = None,
        equal: Sequence[str] = (),
    ):
        self.factors = factors
        self.id = id
        self.wave = wave
        self.waves = waves
        self.equal = equal

    def fit(self, data: pd.DataFrame, y=None) -> LongitudinalInvarianceCFA:
        """Fit on person-period data (one row per respondent and wave)."""
        factors = _check_factors(self.factors)
        bad = [e for e in self.equal if e not in ("loadings", "intercepts")]
        if bad:
            raise ValueError(
                f"equal: {', '.join(map(repr, bad))} not allowed; allowed: loadings, intercepts"
            )
        items = [i for its in factors.values() for i in its]
        wide, order = _widen(data, items, id=self.id, wave=self.wave, waves=self.waves)
        model = longitudinal_model(factors, len(order))
        base_of = {_wide_name(n, k): n for k in range(len(order)) for n in (*factors, *items)}
        x = prepare_data(wide, model.observed, "ml")
        if x.shape[0] <= len(factors):
            raise ValueError(f"data: {x.shape[0]} respondents is too few for the model")
        struct = _WaveStructure(model, base_of, tuple(self.equal))
        res = fit_structure(struct, [missing_stats(x, None)])
        self.theta_, self.converged_ = res.theta, res.converged
        self.fit_measures_ = res.fit_measures
        self.estimates_ = res.estimates.drop(columns="group")
        self.waves_ = tuple(order)
        self.n_obs_ = int(x.shape[0])
        self.model_ = model
        return self._finish_fit(
            ModelResults.of(self, self.estimates_, self.fit_measures_.to_dict())
        )

    def summary(self) -> pd.DataFrame:
        """The parameter estimates (``estimates_``)."""
        self._check_fitted()
        return self.results_.summary()

    def to_syntax(self) -> str:
        """The fitted model in lavaan syntax, with labels for the equalities (for R's ``cfa()``)."""
        self._check_fitted()
        return _syntax(self.model_, _check_factors(self.factors), len(self.waves_), self.equal)


def _syntax(model: MeasurementModel, factors: Mapping, n_waves: int, equal: Sequence[str]) -> str:
    lines = []
    for f, inds in model.factors:
        terms = [
            f"l{k + 1}*{ind}" if k > 0 and "loadings" in equal else ind
            for k, ind in enumerate(inds)
        ]
        lines.append(f"{f} =~ {' + '.join(terms)}")
    lines += [f"{a} ~~ {b}" for a, b in model.residual_covariances]
    if "intercepts" in equal:
        for w in range(n_waves):
            for f, items in factors.items():
                for k, i in enumerate(items):
                    lines.append(f"{_wide_name(i, w)} ~ {f}_i{k + 1}*1")
        for f in factors:
            lines.append(f"{_wide_name(f, 0)} ~ 0*1")
            lines += [f"{_wide_name(f, w)} ~ NA*1" for w in range(1, n_waves)]
    return "\n".join(lines)


def _check_factors(factors: Mapping[str, Sequence[str]]) -> dict[str, tuple[str, ...]]:
    if not isinstance(factors, Mapping) or not factors:
        raise TypeError("factors: expected a non-empty mapping of factor -> items")
    out = {str(f): tuple(map(str, items)) for f, items in factors.items()}
    short = [f for f, items in out.items() if len(items) < 2]
    if short:
        raise ValueError(f"factors: {', '.join(short)} need(s) at least two items")
    every = [i for items in out.values() for i in items]
    twice = sorted({i for i in every if every.count(i) > 1})
    if twice:
        raise ValueError(f"factors: item(s) {', '.join(twice)} listed under more than one factor")
    return out


def _widen(
    data: pd.DataFrame, items: Sequence[str], *, id: str, wave: str, waves: Sequence | None
) -> tuple[pd.DataFrame, list]:
    check_columns(data, [id, wave, *items], "data")
    order = wave_order(data, wave=wave, waves=waves)
    if len(order) < 2:
        raise ValueError(f"data: column {wave!r} holds {len(order)} wave(s); need at least two")
    sub = data.loc[data[wave].isin(order) & data[id].notna(), [id, wave, *items]]
    dup = sub.duplicated([id, wave])
    if dup.any():
        raise ValueError(
            f"data: {int(dup.sum())} respondent(s) appear twice within a wave (columns {id!r}, "
            f"{wave!r}); resolve duplicates before fitting"
        )
    parts = []
    for k, w in enumerate(order):
        part = sub[sub[wave] == w].set_index(id)[list(items)]
        parts.append(part.rename(columns={i: _wide_name(i, k) for i in items}))
    wide = pd.concat(parts, axis=1, join="outer")
    return wide, list(order)


@dataclass(frozen=True, slots=True, repr=False)
class LongitudinalInvariance(Result):
    """The longitudinal invariance ladder: one fitted model per step.

    Attributes
    ----------
    factors : dict of str to tuple of str
        Factors and their items.
    waves : tuple
        Waves in order (``t1`` = first, the reference for latent means).
    n_obs : int
        Respondents with at least one answer at any wave.
    steps : tuple of str
    fits : dict of str to LongitudinalInvarianceCFA
    """

    factors: dict
    waves: tuple
    n_obs: int
    steps: tuple[str, ...]
    fits: dict = field(repr=False)

    def summary(self) -> pd.DataFrame:
        """One row per step: ``step, npar, chisq, df, pvalue, cfi, tli, rmsea, rmsea_ci_lower,
        rmsea_ci_upper, srmr, aic, bic, delta_chisq, delta_df, delta_pvalue, delta_cfi,
        delta_rmsea, supported`` (changes relative to the previous step; ``supported``: ΔCFI ≥ −.01
        and ΔRMSEA ≤ .015, True for the configural step)."""
        cols = STEP_FIT_MEASURES
        rows, prev = [], None
        for name in self.steps:
            fm = self.fits[name].fit_measures_
            rec: dict[str, Any] = {"step": name}
            rec.update({c: float(fm[c]) for c in cols})
            if prev is None:
                rec.update(
                    delta_chisq=math.nan,
                    delta_df=math.nan,
                    delta_pvalue=math.nan,
                    delta_cfi=math.nan,
                    delta_rmsea=math.nan,
                    supported=True,
                )
            else:
                dchi, ddf = fm["chisq"] - prev["chisq"], fm["df"] - prev["df"]
                dcfi, drmsea = fm["cfi"] - prev["cfi"], fm["rmsea"] - prev["rmsea"]
                rec.update(
                    delta_chisq=dchi,
                    delta_df=ddf,
                    delta_pvalue=float(stats.chi2.sf(max(dchi, 0.0), ddf)) if ddf > 0 else math.nan,
                    delta_cfi=dcfi,
                    delta_rmsea=drmsea,
                    supported=bool(dcfi >= DELTA_CFI_LIMIT and drmsea <= DELTA_RMSEA_LIMIT),
                )
            rows.append(rec)
            prev = fm
        return pd.DataFrame(rows).set_index("step")

    @property
    def scalar_supported(self) -> bool | None:
        """Whether metric and scalar invariance both held by ΔCFI/ΔRMSEA (None: not fitted)."""
        if "scalar" not in self.steps or "metric" not in self.steps:
            return None
        return bool(self.summary()["supported"].all())

    def latent_means(self) -> pd.DataFrame:
        """Latent means of waves 2.. against the first wave's 0 under scalar invariance:
        ``factor, wave, estimate, se, z, pvalue`` (empty without the scalar step)."""
        cols = ["factor", "wave", "estimate", "se", "z", "pvalue"]
        if "scalar" not in self.fits:
            return pd.DataFrame(columns=cols)
        est = self.fits["scalar"].estimates_
        rows = []
        for f in self.factors:
            for k in range(1, len(self.waves)):
                r = est[(est["lhs"] == _wide_name(f, k)) & (est["op"] == "~1")].iloc[0]
                rows.append([f, self.waves[k], r["est"], r["se"], r["z"], r["pvalue"]])
        return pd.DataFrame(rows, columns=cols)

    def to_dict(self) -> dict:
        """Aggregated results (no respondent rows)."""
        s = self.summary().reset_index()
        return {
            "factors": {f: list(i) for f, i in self.factors.items()},
            "waves": [str(w) for w in self.waves],
            "n_obs": self.n_obs,
            "criteria": {"delta_cfi_min": DELTA_CFI_LIMIT, "delta_rmsea_max": DELTA_RMSEA_LIMIT},
            "steps": s.astype(object).where(s.notna(), None).to_dict("records"),
            "scalar_supported": self.scalar_supported,
            "latent_means": self.latent_means().to_dict("records"),
        }


def longitudinal_invariance(
    data: pd.DataFrame,
    factors: Mapping[str, Sequence[str]],
    *,
    id: str,
    wave: str,
    waves: Sequence | None = None,
    steps: Sequence[str] = ("configural", "metric", "scalar"),
) -> LongitudinalInvariance:
    """Fit the configural, metric and scalar longitudinal models and compare them.

    Parameters
    ----------
    data : pandas.DataFrame
        Person-period item responses: one row per respondent and wave, the ``id`` and ``wave``
        columns and the items (blank = not answered; a respondent missing a wave keeps the
        answers of the others).
    factors : mapping of str to sequence of str
        Each factor and its items (first item = marker).
    id, wave : str
        Respondent-id and wave columns.
    waves : sequence, optional
        Waves in order (default: categories' order of ``wave``, or sorted).
    steps : sequence of str, default ("configural", "metric", "scalar")
        In this order; a prefix of it is allowed.

    Returns
    -------
    LongitudinalInvariance
        ``.summary()``: fit per step with Δχ² (df, p), ΔCFI, ΔRMSEA and whether the step held;
        ``.latent_means()``: latent mean change under scalar invariance.

    Notes
    -----
    The data are made wide (``item_t1, item_t2, ...`` per respondent). For W waves the model has a
    factor ``f_tk`` per factor and wave measured by ``item_tk`` (marker loading 1), free factor
    (co)variances within and across waves, and a residual covariance ``item_tj ~~ item_tk`` for
    every item and pair of waves. Every model has a mean structure. Configural: loadings and
    intercepts free at each wave, latent means 0. Metric: the same item's loading equal at every
    wave. Scalar: the same item's intercept equal too, the first wave's latent means 0 and the
    later waves' free. Estimation is ML with FIML (lavaan ``missing = "ml"``): χ² against the
    saturated model estimated by EM, standard errors from the observed information. Δχ² is the
    difference of the nested models' χ² (lavaan ``lavTestLRT``). A step is taken to hold when
    ΔCFI ≥ −.01 (Cheung & Rensvold 2002) and ΔRMSEA ≤ .015 (Chen 2007); Δχ² is reported beside it
    (sensitive to n). Comparing means across waves presumes scalar invariance.

    Matches lavaan's ``cfa(model, data = wide, missing = "ml")`` for the three models written
    with labels (``l2*item_t1``, ``l2*item_t2``; ``item_t1 ~ i1*1``; ``f_t2 ~ NA*1``) and
    ``lavTestLRT(configural, metric, scalar)``; ``LongitudinalInvarianceCFA.to_syntax()`` prints
    each model. semTools' ``measEq.syntax(..., longFacNames = ...)`` writes the same models.

    References
    ----------
    Meredith, W. (1993). Measurement invariance, factor analysis and factorial invariance.
    *Psychometrika, 58*, 525-543.
    Widaman, K. F., Ferrer, E., & Conger, R. D. (2010). Factorial invariance within longitudinal
    structural equation models: Measuring the same construct across time. *Child Development
    Perspectives, 4*, 10-18.
    Cheung, G. W., & Rensvold, R. B. (2002). Evaluating goodness-of-fit indexes for testing
    measurement invariance. *Structural Equation Modeling, 9*, 233-255.
    Chen, F. F. (2007). Sensitivity of goodness of fit indexes to lack of measurement invariance.
    *Structural Equation Modeling, 14*, 464-504.

    Examples
    --------
    >>> rng = np.random.default_rng(5)  # synthetic data: 300 people, one factor, two waves
    >>> f = rng.normal(size=300)
    >>> rows = []
    >>> for w, shift in ((1, 0.0), (2, 0.5)):
    ...     x = (f + shift)[:, None] + rng.normal(size=(300, 3))
    ...     rows.append(pd.DataFrame(x, columns=["a", "b", "c"]).assign(pid=range(300), w=w))
    >>> res = longitudinal_invariance(pd.concat(rows), {"f": ["a", "b", "c"]}, id="pid", wave="w")
    >>> res.summary()["df"].tolist()
    [5.0, 7.0, 9.0]
    """
    order = list(LONGITUDINAL_STEPS)
    unknown = [s for s in steps if s not in LONGITUDINAL_STEPS]
    if unknown:
        raise ValueError(
            f"steps: unknown step(s) {', '.join(map(repr, unknown))}; allowed: {', '.join(order)}"
        )
    if list(steps) != order[: len(list(steps))]:
        raise ValueError(f"steps: give the steps in the order {', '.join(order)}")
    fits = {
        s: LongitudinalInvarianceCFA(
            factors, id=id, wave=wave, waves=waves, equal=LONGITUDINAL_STEPS[s]
        ).fit(data)
        for s in steps
    }
    first = fits[steps[0]]
    return LongitudinalInvariance(
        _check_factors(factors), first.waves_, first.n_obs_, tuple(steps), fits
    )
