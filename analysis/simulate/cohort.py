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
3. **Missing, not-applicable and skipped answers.** Answers are deleted completely at random with
   probability ``missing_rate``. Real respondents leave three kinds of item unanswered by design,
   and the simulator draws who does from the background answers that decide it (independently of
   the latent scores, so the structural missingness is ignorable):

   - *sponsor* items for members who never had a sponsor or mentor (``sponsor_ever`` = no, with
     probability ``1 − sponsor_share``);
   - *relapse* items for members who never relapsed while attending (``relapse_ever`` = no, with
     probability ``1 − relapse_share``);
   - *step* items for members of groups without steps (every group kind but twelve-step, drawn
     from ``group_kind_shares``);
   - (item bank 0.2.0 only) items on mental-health problems for members without them
     (``mental_health`` = no, with probability ``1 − mental_health_share``).

   With a specification that has skip logic (item bank 0.2.0: ``applies_to`` and ``relevant``
   conditions, :meth:`~instrument.spec.Instrument.item_conditions`) these items are *skipped by
   design*: left blank exactly where the form would not show them
   (:func:`instrument.check.shown_items`). With a specification without skip logic (item bank
   0.1.0) they get the scale's not-applicable code (9) where real respondents tick "does not apply
   to me"; the items are found by their default-language text (``sponsor``, ``relapse``, ``steps``).
   ``SimulatedCohort.structural`` marks every such cell. With the defaults, 40% (sponsor), 45%
   (relapse) and 45% (steps) of the respondents skip the affected items.
4. **Careless respondents.** A share ``careless_share`` answers every item with one code
   (straight-lining) or uniformly at random (``careless_kind``).
5. **Background covariates** are drawn per question type (choice questions uniformly over their
   codes, integers within their range, with a few MHDQ questions given realistic shapes; the
   questions deciding applicability at the rates above; the form answered is the baseline form,
   participation "still attending"), and questions whose ``relevant`` condition is not met are left
   blank. Each respondent belongs to one of ``n_groups`` groups (``group_id``), each group of one
   kind; ``group_kind`` and ``group_name`` (a synthetic name) are data columns when the
   specification asks them.
6. **Follow-up.** Time to disengagement follows a proportional-hazards model with a Weibull baseline
   (shape ``weibull_shape`` < 1, so hazard is highest in the first months), log hazard ratio
   ``log_hazard_ratios[theme]`` per SD of each theme's latent score, calibrated so that a share
   ``event_rate`` disengages before the last follow-up at ``followup_months`` (administrative
   censoring there).

The true loadings, factor correlations, thresholds and hazard ratios are returned in
:class:`SimulatedCohort` so tests can compare estimates with them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import optimize, stats

from analysis.factor.polychoric import bivariate_normal_cdf
from instrument.spec import Instrument

SYNTHETIC_LABEL = "synthetic"
#: Respondents drawn per block (a progress report after each).
PROGRESS_BLOCK = 20_000


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
    structural : DataFrame
        Boolean, respondents × items: True where the answer is left out by design (skipped with
        skip logic, or the not-applicable code without it); see the generative model, point 3.
    membership : DataFrame
        ``respondent_id``, ``group_id``, ``group_kind`` (a kind name such as ``twelve_step``),
        ``sponsor_ever``, ``relapse_ever``, ``mental_health`` (1/0): the truth behind the skips,
        also for specifications that do not ask these questions.
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
    structural: pd.DataFrame | None = None
    membership: pd.DataFrame | None = None


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


#: Default shares of group kinds among members (a PAL-style mix of fellowships; synthetic).
GROUP_KIND_SHARES = {"twelve_step": 0.55, "smart": 0.2, "liferring": 0.1, "wfs": 0.1, "other": 0.05}

_STEPS = re.compile(r"\bsteps\b")


def _structural_classes(instrument: Instrument) -> dict[str, str]:
    """Items of a specification without skip logic that real respondents mark not applicable:
    item id -> ``sponsor``, ``relapse`` or ``steps``, from the default-language text."""
    out = {}
    for item in instrument.items:
        if instrument.response_scale_of(item.id).not_applicable is None:
            continue
        text = item.text.get(instrument.default_language, "").lower()
        if "sponsor" in text:
            out[item.id] = "sponsor"
        elif "relapse" in text:
            out[item.id] = "relapse"
        elif _STEPS.search(text):
            out[item.id] = "steps"
    return out


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
    n_groups: int = 20,
    group_kind_shares: Mapping[str, float] | None = None,
    sponsor_share: float = 0.6,
    relapse_share: float = 0.55,
    mental_health_share: float = 0.5,
    progress: Callable[[int, int], None] | None = None,
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
    n_groups : int, default 20
        Groups the members are recruited from; respondents are spread evenly over them, each group
        of one kind.
    group_kind_shares : mapping, optional
        Share of groups of each kind (default :data:`GROUP_KIND_SHARES`: 55% twelve-step, 20%
        SMART, 10% LifeRing, 10% Women for Sobriety, 5% other). Members of groups of any kind but
        ``twelve_step`` skip the step items.
    sponsor_share : float, default 0.6
        Share who ever had a sponsor or mentor; the others skip the sponsor items.
    relapse_share : float, default 0.55
        Share who relapsed while attending; the others skip the relapse items.
    mental_health_share : float, default 0.5
        Share with mental-health problems besides addiction (item bank 0.2.0 asks about them only
        then).
    progress : callable, optional
        Called as ``progress(done, n)`` with the respondents whose answers are drawn so far, after
        each block of :data:`PROGRESS_BLOCK` respondents (the last call is ``progress(n, n)``).
        Drawing in blocks takes the same random numbers as drawing at once: the cohort does not
        depend on whether ``progress`` is given.

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
    shares = _check_cohort_options(
        instrument,
        n=n,
        careless_kind=careless_kind,
        missing_rate=missing_rate,
        careless_share=careless_share,
        event_rate=event_rate,
        switch_share=switch_share,
        sponsor_share=sponsor_share,
        relapse_share=relapse_share,
        mental_health_share=mental_health_share,
        n_groups=n_groups,
        group_kind_shares=group_kind_shares,
    )
    rng = np.random.default_rng(seed)
    n = int(n)
    leaves = [s.id for s in instrument.leaf_scales]
    phi = facet_correlation_matrix(instrument, gamma=gamma, root_correlation=root_correlation)
    # Drawn in blocks of rows so that progress can be reported; numpy's generator fills the rows of
    # one large draw in the same order, so the blocks give the same numbers as a single draw.
    blocks = [(start, min(start + PROGRESS_BLOCK, n)) for start in range(0, n, PROGRESS_BLOCK)]
    eta = np.vstack([rng.standard_normal((b - a, len(leaves))) for a, b in blocks]) @ (
        np.linalg.cholesky(phi.to_numpy()).T
    )
    latent = pd.DataFrame(eta, columns=leaves)

    # Theme scores: the standardized mean of their facets' latent variables.
    themes = theme_scales(instrument)
    _add_theme_scores(latent, instrument, themes, phi)

    # Items
    item_ids = list(instrument.item_ids)
    population = np.random.default_rng(parameter_seed)
    if isinstance(loading, tuple):
        lam = population.uniform(loading[0], loading[1], size=len(item_ids))
    else:
        lam = np.full(len(item_ids), float(loading))
    keyed = np.array([instrument.item(i).keyed for i in item_ids], dtype=float)
    facet_index = np.array([leaves.index(instrument.item(i).scale) for i in item_ids])
    threshold_rows = {}
    scale_codes = []
    for item_id in item_ids:
        scale = instrument.response_scale_of(item_id)
        threshold_rows[item_id] = _default_thresholds(scale.points) + population.normal(0, 0.25)
        scale_codes.append(np.asarray(scale.codes, dtype=float))
    codes = np.empty((n, len(item_ids)))
    for a, b in blocks:
        propensity = eta[a:b, facet_index] * (keyed * lam) + rng.standard_normal(
            (b - a, len(item_ids))
        ) * np.sqrt(1 - lam**2)
        for j, item_id in enumerate(item_ids):
            tau = threshold_rows[item_id]
            codes[a:b, j] = scale_codes[j][np.searchsorted(tau, propensity[:, j])]
        if progress is not None:
            progress(b, n)

    careless = _careless_answers(codes, rng, instrument, careless_share, careless_kind)

    width = len(str(n))
    ids = [f"SIM{str(k + 1).zfill(width)}" for k in range(n)]
    # Who applies for what: groups, their kinds, sponsors, relapses (independent of the latent
    # scores, from a stream of their own so the answers above stay as they were without it).
    membership = _membership(
        ids,
        seed=seed,
        shares=shares,
        n_groups=int(n_groups),
        sponsor_share=sponsor_share,
        relapse_share=relapse_share,
        mental_health_share=mental_health_share,
    )
    background = _background(instrument, n, rng, membership)
    structural = _blank_structural(codes, background, membership, instrument)
    codes[(rng.random(codes.shape) < missing_rate) & ~structural] = np.nan

    responses = pd.concat(
        [pd.DataFrame({"respondent_id": ids}), pd.DataFrame(codes, columns=item_ids), background],
        axis=1,
    )
    responses["synthetic"] = SYNTHETIC_LABEL

    # Follow-up from a proportional-hazards model on the latent theme scores.
    log_hazard_ratios, beta, followup = _followup(
        latent,
        themes,
        ids,
        rng,
        log_hazard_ratios=log_hazard_ratios,
        followup_months=followup_months,
        event_rate=event_rate,
        weibull_shape=weibull_shape,
        switch_share=switch_share,
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
        n_groups=int(n_groups),
        group_kind_shares=shares,
        sponsor_share=sponsor_share,
        relapse_share=relapse_share,
        mental_health_share=mental_health_share,
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
        structural=pd.DataFrame(structural, index=ids, columns=item_ids),
        membership=membership,
    )


def _check_cohort_options(
    instrument: Instrument,
    *,
    n: int,
    careless_kind: str,
    missing_rate: float,
    careless_share: float,
    event_rate: float,
    switch_share: float,
    sponsor_share: float,
    relapse_share: float,
    mental_health_share: float,
    n_groups: int,
    group_kind_shares: Mapping[str, float] | None,
) -> dict[str, float]:
    """Refuse invalid settings of :func:`simulate_cohort`; returns the group kinds' shares."""
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
    for name, value in (
        ("sponsor_share", sponsor_share),
        ("relapse_share", relapse_share),
        ("mental_health_share", mental_health_share),
    ):
        if not 0 <= value <= 1:
            raise ValueError(f"{name}: must be in [0, 1], got {value!r}")
    if isinstance(n_groups, bool) or not isinstance(n_groups, (int, np.integer)) or n_groups < 1:
        raise ValueError(f"n_groups: need a whole number of at least 1 group, got {n_groups!r}")
    shares = dict(GROUP_KIND_SHARES if group_kind_shares is None else group_kind_shares)
    if instrument.group_kinds is not None:
        unknown_kinds = set(shares) - set(instrument.group_kinds.kinds)
        if unknown_kinds:
            raise ValueError(
                f"group_kind_shares: unknown group kinds {sorted(unknown_kinds)}; allowed: "
                f"{', '.join(instrument.group_kinds.kinds)}"
            )
    if not shares or any(v < 0 for v in shares.values()) or sum(shares.values()) <= 0:
        raise ValueError(
            f"group_kind_shares: need non-negative shares summing above 0, got {shares}"
        )
    return shares


def _add_theme_scores(
    latent: pd.DataFrame, instrument: Instrument, themes: Sequence[str], phi: pd.DataFrame
) -> None:
    """Add each theme's score to ``latent``: the standardized mean of its facets' latent variables."""
    leaves = [s.id for s in instrument.leaf_scales]
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


def _careless_answers(
    codes: np.ndarray,
    rng: np.random.Generator,
    instrument: Instrument,
    careless_share: float,
    careless_kind: str,
) -> np.ndarray:
    """Overwrite a share of rows of ``codes`` with careless answers; returns the mask of those rows."""
    n = codes.shape[0]
    item_ids = list(instrument.item_ids)
    careless = np.zeros(n, dtype=bool)
    n_careless = int(round(careless_share * n))
    if not n_careless:
        return careless
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
    return careless


def _membership(
    ids: list[str],
    *,
    seed: int,
    shares: Mapping[str, float],
    n_groups: int,
    sponsor_share: float,
    relapse_share: float,
    mental_health_share: float,
) -> pd.DataFrame:
    """Draw each respondent's group, its kind, sponsor, relapse and mental-health history.

    Independent of the latent scores, from a stream of its own so the answers stay as they were
    without it.
    """
    n = len(ids)
    mrng = np.random.default_rng([int(seed), 7])
    kinds = list(shares)
    weights = np.array([shares[k] for k in kinds], dtype=float)
    group_kind_of = mrng.choice(kinds, size=n_groups, p=weights / weights.sum())
    group_of = np.arange(n) % n_groups
    mrng.shuffle(group_of)
    return pd.DataFrame(
        {
            "respondent_id": ids,
            "group_id": [f"G{g + 1:02d}" for g in group_of],
            "group_kind": group_kind_of[group_of],
            "sponsor_ever": (mrng.random(n) < sponsor_share).astype(int),
            "relapse_ever": (mrng.random(n) < relapse_share).astype(int),
            "mental_health": (mrng.random(n) < mental_health_share).astype(int),
        }
    )


def _blank_structural(
    codes: np.ndarray, background: pd.DataFrame, membership: pd.DataFrame, instrument: Instrument
) -> np.ndarray:
    """Blank (or mark not applicable) the answers the form does not ask; returns their mask."""
    item_ids = list(instrument.item_ids)
    structural = np.zeros(codes.shape, dtype=bool)
    if any(instrument.item_conditions(i) for i in item_ids):
        from instrument.check import shown_items

        # skipped by design: blank where the form does not show the item
        structural = ~shown_items(background, instrument)
        codes[structural] = np.nan
        return structural
    applies = {
        "sponsor": membership["sponsor_ever"].to_numpy() == 1,
        "relapse": membership["relapse_ever"].to_numpy() == 1,
        "steps": membership["group_kind"].to_numpy() == "twelve_step",
    }
    for item_id, kind in _structural_classes(instrument).items():
        j = item_ids.index(item_id)
        structural[:, j] = ~applies[kind]
        codes[structural[:, j], j] = instrument.response_scale_of(item_id).not_applicable
    return structural


def _followup(
    latent: pd.DataFrame,
    themes: Sequence[str],
    ids: list[str],
    rng: np.random.Generator,
    *,
    log_hazard_ratios: Mapping[str, float] | None,
    followup_months: float,
    event_rate: float,
    weibull_shape: float,
    switch_share: float,
) -> tuple[Mapping[str, float], np.ndarray, pd.DataFrame]:
    """Draw follow-up from a Weibull proportional-hazards model on the latent theme scores.

    Returns the log hazard ratios used, their vector in theme order, and the follow-up table.
    """
    n = len(ids)
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
    return log_hazard_ratios, beta, followup


# Realistic shapes for the MHDQ background questions; anything else is drawn generically.
_SHAPES = {
    "age": lambda rng, n: np.clip(np.round(rng.normal(41, 11, n)), 18, 80),
    "use_years": lambda rng, n: np.clip(np.round(rng.gamma(3, 4, n)), 1, 50),
    "attend_months": lambda rng, n: np.clip(np.round(rng.gamma(1.5, 20, n)), 6, 400),
    "recovery_months": lambda rng, n: np.clip(np.round(rng.gamma(1.5, 24, n)), 0, 400),
    "steps_worked": lambda rng, n: rng.integers(0, 13, n).astype(float),
}


def _background(
    instrument: Instrument, n: int, rng: np.random.Generator, membership: pd.DataFrame
) -> pd.DataFrame:
    columns: dict[str, np.ndarray] = {}
    base = pd.Timestamp("2026-01-01")
    kind_codes = instrument.group_kinds.kinds if instrument.group_kinds is not None else {}
    kind_question = instrument.group_kinds.question if instrument.group_kinds is not None else None
    for question in instrument.background:
        if question.id in ("status", "participation") and 1 in question.choice_codes():
            # A prospective cohort is recruited among members who attend at baseline.
            values = np.ones(n)
        elif question.id == instrument.wave_question and instrument.wave_forms:
            values = np.full(n, float(next(iter(instrument.wave_forms.values())).code))
        elif question.id == kind_question:
            values = membership["group_kind"].map(kind_codes).to_numpy(dtype=float)
        elif question.id == "group_name":
            values = ("Synthetic group " + membership["group_id"]).to_numpy(dtype=object)
        elif question.id in ("sponsor_ever", "relapse_ever", "mental_health") and set(
            question.choice_codes()
        ) >= {0, 1}:
            values = membership[question.id].to_numpy(dtype=float)
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
            # each possible text once, then picked per respondent (a DateOffset per respondent
            # took 25 s at 200,000 respondents)
            month_texts = np.array(
                [(base - pd.DateOffset(months=m)).strftime("%Y-%m") for m in range(36)],
                dtype=object,
            )
            values = month_texts[months]
        elif question.type == "date":
            days = rng.integers(0, 3 * 365, n)
            day_texts = np.array(
                [(base - pd.Timedelta(days=d)).strftime("%Y-%m-%d") for d in range(3 * 365)],
                dtype=object,
            )
            values = day_texts[days]
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
