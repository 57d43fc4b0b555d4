"""Synthetic cohorts from any instrument specification, with a documented generative model.

The simulator serves three purposes: the one-command demo, study planning by Monte Carlo, and
recovery tests that check the analyses find what was put in. Every frame it returns carries a
``synthetic`` marker column, and every file written from it says the data are synthetic.

Generative model
----------------
1. **Latent factors follow the specification's hierarchy.** Each scale without children (a facet)
   has a latent variable η. Every parent–child edge has the same standardized loading ``gamma``, so
   two facets whose paths to their lowest common ancestor have lengths *a* and *b* correlate
   ``gamma ** (a + b)`` (facets of one theme: γ²; facets of different themes under one total: γ⁴).
   Facets under different roots correlate ``root_correlation · γ^(depth_a + depth_b)``; a root named
   in ``opposed_roots`` (the MHDQ's positively worded *meaning* scale) correlates negatively.
2. **Items follow a graded (ordinal) factor model.** The response propensity of item *i* on facet
   *f* is ``y* = keyed_i · λ_i · η_f + sqrt(1 − λ_i²) · ε``, ε ~ N(0, 1), and the observed code is
   the number of thresholds ``τ_i`` below ``y*`` mapped onto the response codes. Reverse-keyed items
   load negatively, so their raw answers run against the facet.
3. **Missing and not-applicable answers.** Answers are deleted completely at random with
   probability ``missing_rate``. Items whose (default-language) text mentions a sponsor get the
   scale's not-applicable code for respondents who never had one (a ``sponsor_ever`` background
   question answered "no"): not applicable by design.
4. **Careless respondents.** A share ``careless_share`` answers every item with one code
   (straight-lining) or uniformly at random (``careless_kind``).
5. **Background covariates** are drawn per question type (choice questions uniformly over their
   codes, integers within their range, with a few MHDQ questions given realistic shapes), and
   questions whose ``relevant`` condition is not met are left blank.
6. **Follow-up.** Time to disengagement follows a proportional-hazards model with a Weibull baseline
   (shape ``weibull_shape`` < 1, so hazard is highest in the first months), log hazard ratio
   ``log_hazard_ratios[theme]`` per SD of each theme's latent score, calibrated so that a share
   ``event_rate`` disengages before the last follow-up at ``followup_months`` (administrative
   censoring there).

The true loadings, factor correlations, thresholds and hazard ratios are returned in
:class:`SimulatedCohort` so tests can compare estimates with them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.factor.polychoric import bivariate_normal_cdf
from instrument.spec import Instrument

SYNTHETIC_LABEL = "synthetic"


@dataclass(frozen=True)
class SimulatedCohort:
    """A simulated cohort and the truth it was drawn from.

    Attributes
    ----------
    responses : DataFrame
        One row per respondent in the layout of the MHDQ workbook's Data entry sheet:
        ``respondent_id``, one column per item (codes; NaN = missing), background questions
        (multiple choice as ``{id}_{code}`` 0/1 columns), and a ``synthetic`` marker column.
    followup : DataFrame
        ``respondent_id``, ``months`` (time to disengagement or censoring), ``disengaged``
        (1 = event), ``switched`` (1 = moved to another group; a competing outcome, subset of
        events), ``synthetic``.
    latent : DataFrame
        The latent facet scores η (respondents × facets) and theme scores used for the hazards.
    loadings : Series
        True standardized loading of each item on its facet (sign = keyed direction).
    facet_correlations : DataFrame
        True correlations of the facets' latent variables.
    thresholds : DataFrame
        True thresholds τ per item.
    hazard_ratios : Series
        True hazard ratio per SD of each theme's latent score.
    careless : Series
        True flag of careless respondents.
    settings : dict
        Every setting used, including the seed.
    """

    responses: pd.DataFrame
    followup: pd.DataFrame
    latent: pd.DataFrame
    loadings: pd.Series
    facet_correlations: pd.DataFrame
    thresholds: pd.DataFrame
    hazard_ratios: pd.Series
    careless: pd.Series
    settings: dict = field(default_factory=dict)


def facet_correlation_matrix(
    instrument: Instrument,
    *,
    gamma: float = 0.8,
    root_correlation: float = 0.3,
    opposed_roots: tuple[str, ...] = ("meaning",),
) -> pd.DataFrame:
    """Correlations of the facets' latent variables implied by the scale hierarchy.

    Parameters
    ----------
    instrument : Instrument
        The specification whose scale tree is used.
    gamma : float, default 0.8
        Standardized loading of every child scale on its parent.
    root_correlation : float, default 0.3
        Correlation of the top-level (root) factors; negative for a root in ``opposed_roots``.
    opposed_roots : tuple of str, default ("meaning",)
        Roots measuring the opposite pole (e.g. positively worded benefit scales).

    Returns
    -------
    DataFrame
        Facets × facets correlation matrix (positive definite by construction).

    Examples
    --------
    >>> from instrument import load_instrument
    >>> phi = facet_correlation_matrix(load_instrument(), gamma=0.8)
    >>> round(float(phi.loc["strategy", "explanatory"]), 2), round(float(phi.loc["strategy", "social"]), 4)
    (0.64, 0.4096)
    """
    leaves = [s.id for s in instrument.leaf_scales]

    def path(scale_id: str) -> list[str]:
        chain = [scale_id]
        while (parent := instrument.scale(chain[-1]).parent) is not None:
            chain.append(parent)
        return chain

    paths = {leaf: path(leaf) for leaf in leaves}
    phi = np.eye(len(leaves))
    for a, first in enumerate(leaves):
        for b in range(a + 1, len(leaves)):
            second = leaves[b]
            pa, pb = paths[first], paths[second]
            common = next((s for s in pa if s in pb), None)
            if common is not None:
                value = gamma ** (pa.index(common) + pb.index(common))
            else:
                rho = root_correlation * (
                    -1 if (pa[-1] in opposed_roots) != (pb[-1] in opposed_roots) else 1
                )
                value = rho * gamma ** (len(pa) - 1 + len(pb) - 1)
            phi[a, b] = phi[b, a] = value
    return pd.DataFrame(phi, index=leaves, columns=leaves)


def theme_scales(instrument: Instrument) -> list[str]:
    """Scales whose latent scores drive disengagement: the children of the first multi-level root
    (the MHDQ's three themes), or every root when the instrument is flat (bfi's five scales)."""
    for root in instrument.root_scales:
        children = instrument.children(root.id)
        if children:
            return [c.id for c in children]
    return [r.id for r in instrument.root_scales]


def _default_thresholds(points: int) -> np.ndarray:
    # Cut points of a slightly right-skewed Likert distribution (most people disagree with
    # problem statements): quantiles of a standard normal at evenly spaced, shifted probabilities.
    probs = np.linspace(0, 1, points + 1)[1:-1] ** 0.85
    return stats.norm.ppf(probs)


def simulate_cohort(
    instrument: Instrument,
    *,
    n: int,
    seed: int,
    loading: float | tuple[float, float] = (0.55, 0.8),
    gamma: float = 0.8,
    root_correlation: float = 0.3,
    missing_rate: float = 0.03,
    careless_share: float = 0.03,
    careless_kind: str = "mixed",
    followup_months: float = 12.0,
    event_rate: float = 0.4,
    weibull_shape: float = 0.7,
    log_hazard_ratios: Mapping[str, float] | None = None,
    switch_share: float = 0.25,
    parameter_seed: int = 0,
) -> SimulatedCohort:
    """Draw a synthetic cohort from an instrument specification.

    Parameters
    ----------
    instrument : Instrument
        Any specification; its hierarchy shapes the latent structure.
    n : int
        Number of respondents (at least 10).
    seed : int
        Seed of the numpy random generator; the same seed gives the same cohort.
    loading : float or (low, high), default (0.55, 0.8)
        Standardized item loadings, fixed or drawn uniformly per item.
    gamma, root_correlation : float
        Hierarchy parameters, see :func:`facet_correlation_matrix`.
    missing_rate : float, default 0.03
        Probability that an answer is missing completely at random.
    careless_share : float, default 0.03
        Share of careless respondents.
    careless_kind : {"straight", "random", "mixed"}, default "mixed"
        Straight-lining, uniformly random answering, or half of each.
    followup_months : float, default 12
        Last follow-up (administrative censoring).
    event_rate : float, default 0.4
        Target share disengaging before the last follow-up.
    weibull_shape : float, default 0.7
        Weibull shape of the baseline hazard (< 1: risk concentrated early).
    log_hazard_ratios : mapping, optional
        Log hazard ratio per SD of each theme's latent score; default 0.35, 0.2, 0.3 for the
        first three themes and 0.1 for any further ones.
    switch_share : float, default 0.25
        Share of disengagement events that are switches to another group (competing outcome).
    parameter_seed : int, default 0
        Seed of the population's item parameters (loadings, thresholds), drawn from a stream of
        their own: cohorts with different ``seed`` (or ``n``) are samples from one population.

    Returns
    -------
    SimulatedCohort

    Examples
    --------
    >>> from instrument import load_instrument
    >>> cohort = simulate_cohort(load_instrument(), n=50, seed=1)
    >>> cohort.responses.shape[0], bool((cohort.responses["synthetic"] == "synthetic").all())
    (50, True)
    """
    if not isinstance(n, (int, np.integer)) or n < 10:
        raise ValueError(f"n: need an integer of at least 10 respondents, got {n!r}")
    if careless_kind not in ("straight", "random", "mixed"):
        raise ValueError(f"careless_kind: allowed straight, random, mixed; got {careless_kind!r}")
    for name, value in (
        ("missing_rate", missing_rate),
        ("careless_share", careless_share),
        ("event_rate", event_rate),
        ("switch_share", switch_share),
    ):
        if not 0 <= value < 1:
            raise ValueError(f"{name}: must be in [0, 1), got {value!r}")
    rng = np.random.default_rng(seed)
    n = int(n)
    leaves = [s.id for s in instrument.leaf_scales]
    phi = facet_correlation_matrix(instrument, gamma=gamma, root_correlation=root_correlation)
    eta = rng.standard_normal((n, len(leaves))) @ np.linalg.cholesky(phi.to_numpy()).T
    latent = pd.DataFrame(eta, columns=leaves)

    # Theme scores: the standardized mean of their facets' latent variables.
    themes = theme_scales(instrument)
    for theme in themes:
        facets = [
            f
            for f in leaves
            if f in {instrument.item(i).scale for i in instrument.scale_items(theme)}
        ]
        score = latent[facets].mean(axis=1)
        latent[f"theme_{theme}"] = (score - 0.0) / np.sqrt(
            phi.loc[facets, facets].to_numpy().mean()
        )

    # Items
    item_ids = list(instrument.item_ids)
    population = np.random.default_rng(parameter_seed)
    if isinstance(loading, tuple):
        lam = population.uniform(loading[0], loading[1], size=len(item_ids))
    else:
        lam = np.full(len(item_ids), float(loading))
    keyed = np.array([instrument.item(i).keyed for i in item_ids], dtype=float)
    facet_index = np.array([leaves.index(instrument.item(i).scale) for i in item_ids])
    propensity = eta[:, facet_index] * (keyed * lam) + rng.standard_normal(
        (n, len(item_ids))
    ) * np.sqrt(1 - lam**2)
    codes = np.empty((n, len(item_ids)))
    threshold_rows = {}
    for j, item_id in enumerate(item_ids):
        scale = instrument.response_scale_of(item_id)
        tau = _default_thresholds(scale.points) + population.normal(0, 0.25)
        threshold_rows[item_id] = tau
        codes[:, j] = np.asarray(scale.codes, dtype=float)[np.searchsorted(tau, propensity[:, j])]

    careless = np.zeros(n, dtype=bool)
    n_careless = int(round(careless_share * n))
    if n_careless:
        who = rng.choice(n, size=n_careless, replace=False)
        careless[who] = True
        kinds = {
            "straight": np.ones(n_careless, bool),
            "random": np.zeros(n_careless, bool),
            "mixed": np.arange(n_careless) % 2 == 0,
        }[careless_kind]
        for row, straight in zip(who, kinds, strict=True):
            if straight:
                scale = instrument.response_scale_of(item_ids[0])
                codes[row, :] = rng.choice(scale.codes)
            else:
                for j, item_id in enumerate(item_ids):
                    codes[row, j] = rng.choice(instrument.response_scale_of(item_id).codes)

    background = _background(instrument, n, rng)
    # Not applicable by design: sponsor items for people who never had a sponsor.
    if "sponsor_ever" in background:
        never = (background["sponsor_ever"] == 0).to_numpy()
        for j, item_id in enumerate(item_ids):
            scale = instrument.response_scale_of(item_id)
            text = instrument.item(item_id).text.get(instrument.default_language, "").lower()
            if scale.not_applicable is not None and "sponsor" in text:
                codes[never, j] = scale.not_applicable
    codes[rng.random(codes.shape) < missing_rate] = np.nan

    width = len(str(n))
    ids = [f"SIM{str(k + 1).zfill(width)}" for k in range(n)]
    responses = pd.concat(
        [pd.DataFrame({"respondent_id": ids}), pd.DataFrame(codes, columns=item_ids), background],
        axis=1,
    )
    responses["synthetic"] = SYNTHETIC_LABEL

    # Follow-up from a proportional-hazards model on the latent theme scores.
    if log_hazard_ratios is None:
        defaults = [0.35, 0.2, 0.3]
        log_hazard_ratios = {
            t: (defaults[k] if k < len(defaults) else 0.1) for k, t in enumerate(themes)
        }
    unknown = set(log_hazard_ratios) - set(themes)
    if unknown:
        raise ValueError(f"log_hazard_ratios: unknown themes {sorted(unknown)}; allowed: {themes}")
    beta = np.array([log_hazard_ratios.get(t, 0.0) for t in themes])
    theme_matrix = latent[[f"theme_{t}" for t in themes]].to_numpy()
    linear = theme_matrix @ beta
    unit = rng.random(n)

    def share_before(log_scale: float) -> float:
        cumulative = (followup_months / np.exp(log_scale)) ** weibull_shape * np.exp(linear)
        return float(np.mean(1 - np.exp(-cumulative))) - event_rate

    log_scale = optimize.brentq(share_before, -20, 30) if event_rate > 0 else 50.0
    # Inverse transform: S(t) = exp(-(t/scale)^k · e^lp) = U.
    times = np.exp(log_scale) * (-np.log(unit) / np.exp(linear)) ** (1 / weibull_shape)
    event = times <= followup_months
    months = np.minimum(times, followup_months)
    switched = event & (rng.random(n) < switch_share)
    followup = pd.DataFrame(
        {
            "respondent_id": ids,
            "months": np.round(months, 3),
            "disengaged": event.astype(int),
            "switched": switched.astype(int),
            "synthetic": SYNTHETIC_LABEL,
        }
    )
    settings = dict(
        n=n,
        seed=seed,
        loading=loading,
        gamma=gamma,
        root_correlation=root_correlation,
        missing_rate=missing_rate,
        careless_share=careless_share,
        careless_kind=careless_kind,
        followup_months=followup_months,
        event_rate=event_rate,
        weibull_shape=weibull_shape,
        log_hazard_ratios=dict(log_hazard_ratios),
        switch_share=switch_share,
        parameter_seed=parameter_seed,
        instrument=instrument.metadata.short_name,
        instrument_version=instrument.version,
        synthetic=True,
    )
    max_points = max(len(t) for t in threshold_rows.values())
    thresholds = pd.DataFrame(
        {
            k: np.pad(v, (0, max_points - len(v)), constant_values=np.nan)
            for k, v in threshold_rows.items()
        }
    ).T
    thresholds.columns = [f"tau{k + 1}" for k in range(max_points)]
    return SimulatedCohort(
        responses=responses,
        followup=followup,
        latent=latent,
        loadings=pd.Series(keyed * lam, index=item_ids, name="loading"),
        facet_correlations=phi,
        thresholds=thresholds,
        hazard_ratios=pd.Series(np.exp(beta), index=themes, name="hazard_ratio"),
        careless=pd.Series(careless, index=ids, name="careless"),
        settings=settings,
    )


# Realistic shapes for the MHDQ background questions; anything else is drawn generically.
_SHAPES = {
    "age": lambda rng, n: np.clip(np.round(rng.normal(41, 11, n)), 18, 80),
    "use_years": lambda rng, n: np.clip(np.round(rng.gamma(3, 4, n)), 1, 50),
    "attend_months": lambda rng, n: np.clip(np.round(rng.gamma(1.5, 20, n)), 6, 400),
    "recovery_months": lambda rng, n: np.clip(np.round(rng.gamma(1.5, 24, n)), 0, 400),
    "steps_worked": lambda rng, n: rng.integers(0, 13, n).astype(float),
}


def _background(instrument: Instrument, n: int, rng: np.random.Generator) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {}
    base = pd.Timestamp("2026-01-01")
    for question in instrument.background:
        if question.id == "status" and 1 in question.choice_codes():
            # A prospective cohort is recruited among members who attend at baseline.
            values = np.ones(n)
        elif question.type == "single_choice":
            values = rng.choice(np.array(question.choice_codes(), dtype=float), size=n)
        elif question.type == "multiple_choice":
            codes = question.choice_codes()
            chosen = rng.random((n, len(codes))) < 0.2
            none = [k for k, c in enumerate(question.choices) if c.code == 0]
            if none:  # "none" excludes the others
                others = [k for k in range(len(codes)) if k not in none]
                chosen[:, none[0]] = ~chosen[:, others].any(axis=1)
            for k, code in enumerate(codes):
                columns[f"{question.id}_{code}"] = chosen[:, k].astype(float)
            continue
        elif question.type == "integer":
            if question.id in _SHAPES:
                values = _SHAPES[question.id](rng, n)
            else:
                low = question.minimum if question.minimum is not None else 0
                high = question.maximum if question.maximum is not None else 100
                values = rng.integers(low, high + 1, n).astype(float)
            if question.minimum is not None and question.maximum is not None:
                values = np.clip(values, question.minimum, question.maximum)
        elif question.type == "year_month":
            months = rng.integers(1, 36, n)
            values = np.array(
                [(base - pd.DateOffset(months=int(m))).strftime("%Y-%m") for m in months],
                dtype=object,
            )
        elif question.type == "date":
            days = rng.integers(0, 3 * 365, n)
            values = np.array(
                [(base - pd.Timedelta(days=int(d))).strftime("%Y-%m-%d") for d in days],
                dtype=object,
            )
        else:  # free text: left blank in synthetic data
            values = np.array([None] * n, dtype=object)
        if question.relevant is not None and question.relevant.question in columns:
            shown = np.isin(columns[question.relevant.question], question.relevant.values)
            values = values.astype(object) if values.dtype == object else values.astype(float)
            values[~shown] = None if values.dtype == object else np.nan
        columns[question.id] = values
    return pd.DataFrame(columns)


def population_covariance(
    cohort, instrument: Instrument, items: Sequence[str] | None = None
) -> pd.DataFrame:
    """Covariance matrix of the keyed item codes implied by a simulated cohort's true parameters.

    Parameters
    ----------
    cohort : SimulatedCohort
        From :func:`analysis.simulate.cohort.simulate_cohort`: its true loadings, facet correlations
        and thresholds are used (not its data).
    instrument : Instrument
        The specification the cohort was drawn from (keys, response codes).
    items : sequence of str, optional
        Item ids (default: every item).

    Returns
    -------
    DataFrame
        Items × items covariance of the codes after reverse keying (``min + max − x``).

    Notes
    -----
    A code is ``c_1 + Σ_k Δc_k · 1{y* > τ_k}`` with ``y* = λ η_f + √(1−λ²) ε`` standard normal, so
    ``Cov(X_i, X_j) = Σ_k Σ_l Δc_ik Δc_jl [Φ₂(−τ_ik, −τ_jl; ρ_ij) − Φ̄(τ_ik) Φ̄(τ_jl)]`` with
    ``ρ_ij = λ_i λ_j φ_f(i)f(j)``, and ``Var(X_i) = Σ_k Σ_l Δc_k Δc_l [Φ̄(max(τ_k, τ_l)) − Φ̄(τ_k)
    Φ̄(τ_l)]``; reversing an item flips the sign of its covariances. Missing answers completely at
    random do
    not change it; careless respondents (a contamination of the model) are not part of it.
    Population alpha and omega of a scale are those of this matrix; cohorts drawn with the same
    ``parameter_seed`` share it.

    Examples
    --------
    >>> from instrument import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> cov = population_covariance(simulate_cohort(bfi, n=20, seed=1), bfi, ["A1", "A2"])
    >>> bool(cov.loc["A1", "A2"] > 0)  # A1 is reverse keyed: keyed codes correlate positively
    True
    """
    items = list(instrument.item_ids if items is None else items)
    p = len(items)
    lam = cohort.loadings[items].to_numpy(dtype=float)
    keyed = np.array([instrument.item(i).keyed for i in items], dtype=float)
    facets = [instrument.item(i).scale for i in items]
    rho = np.outer(lam, lam) * cohort.facet_correlations.loc[facets, facets].to_numpy()
    width = max(instrument.response_scale_of(i).points for i in items) - 1
    taus = np.full((p, width), np.inf)  # padding: +inf thresholds with zero steps add nothing
    steps = np.zeros((p, width))
    for row, item in enumerate(items):
        tau = cohort.thresholds.loc[item].dropna().to_numpy(dtype=float)
        taus[row, : len(tau)] = tau
        steps[row, : len(tau)] = np.diff(
            np.sort(np.asarray(instrument.response_scale_of(item).codes, dtype=float))
        )
    above = stats.norm.sf(taus)  # Φ̄(τ), 0 at +inf
    a, b = np.triu_indices(p, k=1)
    joint = bivariate_normal_cdf(
        -taus[a][:, :, None], -taus[b][:, None, :], rho[a, b][:, None, None]
    )
    weights = steps[a][:, :, None] * steps[b][:, None, :]
    cov = np.zeros((p, p))
    cov[a, b] = cov[b, a] = np.sum(
        weights * (joint - above[a][:, :, None] * above[b][:, None, :]), axis=(1, 2)
    )
    both = stats.norm.sf(np.maximum(taus[:, :, None], taus[:, None, :]))
    cov[np.arange(p), np.arange(p)] = np.sum(
        steps[:, :, None] * steps[:, None, :] * (both - above[:, :, None] * above[:, None, :]),
        axis=(1, 2),
    )
    cov *= np.outer(keyed, keyed)
    return pd.DataFrame(cov, index=items, columns=items)
