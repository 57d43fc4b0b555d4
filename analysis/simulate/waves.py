"""Synthetic longitudinal studies: repeated waves, drifting scores, groups, competing outcomes.

:func:`simulate_study` extends :func:`analysis.simulate.cohort.simulate_cohort` to a PAL-style
prospective study: members of several groups (fellowships of several kinds) answer the instrument at
baseline and at follow-up waves (by default 6 and 12 months); their scores drift; each member may
leave for one of several reasons, with cause-specific hazards that depend on their latest score;
some waves are skipped. Everything it returns is labelled synthetic.

Generative model
----------------
1. **Baseline.** :func:`~analysis.simulate.cohort.simulate_cohort` draws the item parameters, the
   facets' latent scores, the background answers, the groups and who skips which items (see its
   generative model). Careless responding is not simulated here.
2. **Groups.** Every facet's latent score gets the group kind's shift ``kind_effects[kind]`` (SD
   units) and a random intercept of the group, N(0, ``group_sd``²), the same at every wave: members
   of one group resemble each other and fellowships differ in their means.
3. **Waves.** Between consecutive waves the latent scores follow
   ``η_w = ρ η_{w−1} + sqrt(1 − ρ²) ξ + drift`` with ``ρ = stability`` and ξ ~ N(0, Φ) (the
   facets' correlation matrix), so each facet keeps unit within-group variance and its mean moves by
   ``drift`` SD per wave. Items are drawn from the graded model with the baseline item parameters,
   the same skips by design at every wave, and answers missing completely at random at
   ``missing_rate``.
4. **Outcomes.** Member *i* leaves for reason *k* (``graduated``, ``switched``, ``dropped_out``,
   ``relapsed``) with hazard ``base_rates[k] · exp(β_k (z_i(t) − c) + v_g)`` per month, where
   ``z_i(t)`` is the member's observed mean score on ``hazard_scale`` at the latest wave answered
   before *t* (last observation carried forward), ``c`` the baseline sample mean of that score and
   ``v_g`` ~ N(0, ``group_hazard_sd``²) a shared frailty of the group. The hazards are constant
   between waves (piecewise exponential); members still attending at the last wave are censored
   there (``still_attending``). A time-varying Cox model of reason *k* on (start, stop] rows with
   the latest observed score is therefore correctly specified (with ``group_hazard_sd = 0``),
   and ``β_k`` is its true coefficient.
5. **Skipped waves.** A member still attending skips a follow-up wave with probability
   ``wave_skip_rate``; one who has left answers it (the participation question recording why)
   with probability ``leaver_response``.

Data layout: :attr:`SimulatedStudy.responses` has one row per member and wave answered, with
``respondent_id``, ``wave`` (months since baseline as a label: ``"0"``, ``"6"``, ``"12"``),
``date``, ``group_id``, the items and background answers as in the baseline cohort (the wave form
and participation answered as at that wave); :attr:`SimulatedStudy.outcomes` one row per member.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from analysis.simulate.cohort import SYNTHETIC_LABEL, SimulatedCohort, simulate_cohort
from instrument.spec import Instrument

__all__ = ["OUTCOME_TYPES", "SimulatedStudy", "draw_items", "simulate_study"]

#: Outcome types and their codes (the participation question of item bank 0.2.0: 1 still attending,
#: 2 graduated, 3 switched, 4 dropped out over problems, 5 stopped after a relapse).
OUTCOME_TYPES = {
    "still_attending": 0,
    "graduated": 1,
    "switched": 2,
    "dropped_out": 3,
    "relapsed": 4,
}
_PARTICIPATION = {0: 1, 1: 2, 2: 3, 3: 4, 4: 5}

#: Default monthly base hazards per reason for leaving (synthetic; about 40% leave within a year).
BASE_RATES = {"graduated": 0.008, "switched": 0.01, "dropped_out": 0.015, "relapsed": 0.01}
#: Default log hazard ratios per point of the hazard scale's mean score.
LOG_HAZARD_RATIOS = {"graduated": -0.6, "switched": 0.3, "dropped_out": 0.9, "relapsed": 0.4}
#: Default shifts (SD units) of every facet's latent score by group kind.
KIND_EFFECTS = {"twelve_step": 0.0, "smart": -0.4, "liferring": -0.3, "wfs": -0.2, "other": 0.0}


@dataclass(frozen=True)
class SimulatedStudy:
    """A simulated longitudinal study and the truth it was drawn from.

    Attributes
    ----------
    responses : DataFrame
        One row per member and wave answered (see the module's data layout), ``synthetic`` column.
    outcomes : DataFrame
        One row per member: ``respondent_id, group_id, group_kind, months, outcome,
        outcome_code, left, synthetic`` (``months``: time of leaving or of the last wave;
        ``outcome_code`` as :data:`OUTCOME_TYPES`; ``left`` 1 when the member left).
    hazard_scores : DataFrame
        The covariate behind the hazards: ``respondent_id, wave_month, score`` (the observed mean
        score on ``hazard_scale`` at each wave answered before leaving).
    latent : DataFrame
        Latent facet scores per member and wave (``respondent_id, wave`` and one column per facet).
    log_hazard_ratios : Series
        True ``β_k`` per outcome type (per point of the hazard scale's score).
    base_rates : Series
        Monthly base hazard per outcome type (at ``z = c``).
    cohort : SimulatedCohort
        The baseline cohort (item parameters, skips, membership).
    settings : dict
        Every setting, including the seed; ``synthetic`` True.
    """

    responses: pd.DataFrame
    outcomes: pd.DataFrame
    hazard_scores: pd.DataFrame
    latent: pd.DataFrame
    log_hazard_ratios: pd.Series
    base_rates: pd.Series
    cohort: SimulatedCohort = field(repr=False)
    settings: dict = field(default_factory=dict)
    synthetic: bool = True

    def wave_scores(self, instrument: Instrument, scales: Sequence[str] | None = None):
        """Scale scores per member and wave (:func:`instrument.score.score_items`):
        ``respondent_id, wave, group_id, group_kind`` and one column per scale."""
        from instrument.score import score_items

        chosen = list(scales) if scales is not None else [s.id for s in instrument.scales]
        scores = score_items(self.responses, instrument, scales=chosen)[chosen]
        kinds = self.outcomes.set_index("respondent_id")["group_kind"]
        front = self.responses[["respondent_id", "wave", "group_id"]].copy()
        front["group_kind"] = front["respondent_id"].map(kinds).to_numpy()
        return pd.concat([front.reset_index(drop=True), scores.reset_index(drop=True)], axis=1)


def draw_items(
    instrument: Instrument,
    eta: np.ndarray,
    loadings: pd.Series,
    thresholds: pd.DataFrame,
    rng: np.random.Generator,
) -> np.ndarray:
    """Item codes from latent facet scores under the graded model of :func:`simulate_cohort`.

    Parameters
    ----------
    instrument : Instrument
    eta : ndarray, shape (n, n_facets)
        Latent scores, columns in ``instrument.leaf_scales`` order.
    loadings : Series
        Signed standardized loading per item (``SimulatedCohort.loadings``).
    thresholds : DataFrame
        Thresholds per item (``SimulatedCohort.thresholds``).
    rng : numpy Generator

    Returns
    -------
    ndarray, shape (n, n_items)
        Codes in ``instrument.item_ids`` order.
    """
    leaves = [s.id for s in instrument.leaf_scales]
    item_ids = list(instrument.item_ids)
    lam = loadings[item_ids].to_numpy(dtype=float)
    facet_index = np.array([leaves.index(instrument.item(i).scale) for i in item_ids])
    noise = rng.standard_normal((eta.shape[0], len(item_ids)))
    propensity = eta[:, facet_index] * lam + noise * np.sqrt(1 - lam**2)
    codes = np.empty(propensity.shape)
    for j, item_id in enumerate(item_ids):
        tau = thresholds.loc[item_id].dropna().to_numpy(dtype=float)
        scale_codes = np.asarray(instrument.response_scale_of(item_id).codes, dtype=float)
        codes[:, j] = scale_codes[np.searchsorted(tau, propensity[:, j])]
    return codes


def _check_share(name: str, value: float, *, upper_open: bool = False) -> None:
    if not (0 <= value < 1 if upper_open else 0 <= value <= 1):
        raise ValueError(f"{name}: must be in [0, 1{')' if upper_open else ']'}, got {value!r}")


def simulate_study(
    instrument: Instrument,
    *,
    n: int,
    seed: int,
    wave_months: Sequence[float] = (0, 6, 12),
    n_groups: int = 20,
    group_sd: float = 0.3,
    kind_effects: Mapping[str, float] | None = None,
    stability: float = 0.8,
    drift: float = -0.1,
    hazard_scale: str | None = None,
    base_rates: Mapping[str, float] | None = None,
    log_hazard_ratios: Mapping[str, float] | None = None,
    group_hazard_sd: float = 0.0,
    wave_skip_rate: float = 0.1,
    leaver_response: float = 0.7,
    missing_rate: float = 0.03,
    start_date: str = "2026-01-05",
    **cohort_settings,
) -> SimulatedStudy:
    """Draw a synthetic PAL-style longitudinal study (see the module's generative model).

    Parameters
    ----------
    instrument : Instrument
        Any specification with a scale hierarchy; item bank 0.2.0 gives skips by design.
    n : int
        Members at baseline (at least 10).
    seed : int
        Seed; the same seed gives the same study.
    wave_months : sequence of float, default (0, 6, 12)
        Months of the waves since baseline; the first must be 0.
    n_groups : int, default 20
        Groups (each of one kind, :data:`analysis.simulate.cohort.GROUP_KIND_SHARES`).
    group_sd : float, default 0.3
        SD of the groups' random intercept on every facet's latent score.
    kind_effects : mapping, optional
        Shift of every facet's latent score per group kind (default :data:`KIND_EFFECTS`).
    stability : float, default 0.8
        Correlation of a member's latent facet score between consecutive waves (within group).
    drift : float, default -0.1
        Change of the facets' latent means per wave (SD units).
    hazard_scale : str, optional
        Scale whose observed mean score drives the hazards (default: the first root scale with
        children, the MHDQ's problems ``total``).
    base_rates : mapping, optional
        Monthly base hazard per reason for leaving (default :data:`BASE_RATES`).
    log_hazard_ratios : mapping, optional
        Log hazard ratio per point of the hazard scale's score, per reason (default
        :data:`LOG_HAZARD_RATIOS`).
    group_hazard_sd : float, default 0
        SD of the groups' shared log-normal frailty on every hazard.
    wave_skip_rate : float, default 0.1
        Probability that a member still attending skips a follow-up wave.
    leaver_response : float, default 0.7
        Probability that a member who has left answers a later wave.
    missing_rate : float, default 0.03
        Answers missing completely at random, per wave.
    start_date : str, default "2026-01-05"
        First baseline date; baselines are spread over the following 8 weeks.
    **cohort_settings
        Further :func:`simulate_cohort` settings (``loading``, ``gamma``, ``sponsor_share``,
        ``group_kind_shares`` ...).

    Returns
    -------
    SimulatedStudy

    Examples
    --------
    >>> from instrument import load_instrument
    >>> study = simulate_study(load_instrument("mhdq-0.2.0"), n=60, seed=1)
    >>> sorted(study.responses["wave"].unique(), key=float)
    ['0', '6', '12']
    >>> bool((study.outcomes["synthetic"] == "synthetic").all())
    True
    """
    months = [float(m) for m in wave_months]
    if (
        not months
        or months[0] != 0
        or any(b <= a for a, b in zip(months, months[1:], strict=False))
    ):
        raise ValueError(
            f"wave_months: need 0 first and increasing months, got {list(wave_months)!r}"
        )
    if not 0 <= stability < 1:
        raise ValueError(f"stability: must be in [0, 1), got {stability!r}")
    for name, value in (("group_sd", group_sd), ("group_hazard_sd", group_hazard_sd)):
        if not value >= 0:
            raise ValueError(f"{name}: must be zero or more, got {value!r}")
    _check_share("wave_skip_rate", wave_skip_rate, upper_open=True)
    _check_share("leaver_response", leaver_response)
    _check_share("missing_rate", missing_rate, upper_open=True)
    rates = dict(BASE_RATES if base_rates is None else base_rates)
    betas = dict(LOG_HAZARD_RATIOS if log_hazard_ratios is None else log_hazard_ratios)
    reasons = [k for k in OUTCOME_TYPES if k != "still_attending"]
    for name, mapping in (("base_rates", rates), ("log_hazard_ratios", betas)):
        unknown = set(mapping) - set(reasons)
        if unknown:
            raise ValueError(f"{name}: unknown outcome types {sorted(unknown)}; allowed: {reasons}")
    if any(v < 0 for v in rates.values()):
        raise ValueError(f"base_rates: must be zero or more, got {rates}")
    effects = dict(KIND_EFFECTS if kind_effects is None else kind_effects)
    if hazard_scale is None:
        hazard_scale = next(
            (s.id for s in instrument.root_scales if instrument.children(s.id)),
            instrument.scales[0].id,
        )
    instrument.scale(hazard_scale)  # KeyError naming the scales

    cohort = simulate_cohort(
        instrument,
        n=n,
        seed=seed,
        n_groups=n_groups,
        careless_share=0.0,
        missing_rate=missing_rate,
        followup_months=months[-1],
        **cohort_settings,
    )
    rng = np.random.default_rng([int(seed), 11])
    n = int(n)
    membership = cohort.membership
    assert membership is not None and cohort.structural is not None  # always set by simulate_cohort
    ids = membership["respondent_id"].to_numpy()
    leaves = [s.id for s in instrument.leaf_scales]
    phi = cohort.facet_correlations.loc[leaves, leaves].to_numpy()
    chol = np.linalg.cholesky(phi)
    group_ids = membership["group_id"].to_numpy()
    groups, group_index = np.unique(group_ids, return_inverse=True)
    kind = membership["group_kind"].to_numpy()
    unknown_kinds = set(kind) - set(effects)
    if unknown_kinds:
        raise ValueError(f"kind_effects: no effect for group kinds {sorted(unknown_kinds)}")
    shift = (
        np.array([effects[k] for k in kind])[:, None]
        + rng.normal(0, group_sd, len(groups))[group_index][:, None]
    )
    frailty = rng.normal(0, group_hazard_sd, len(groups))[group_index] if group_hazard_sd else 0.0
    structural = cohort.structural.to_numpy()
    not_applicable: dict[int, int | None] = {
        j: instrument.response_scale_of(i).not_applicable for j, i in enumerate(instrument.item_ids)
    }

    from instrument.score import score_items

    eta = cohort.latent[leaves].to_numpy()
    item_ids = list(instrument.item_ids)
    latent_rows, wave_codes, wave_scores = [], [], []
    for w in range(len(months)):
        if w > 0:
            innovation = rng.standard_normal(eta.shape) @ chol.T
            eta = stability * eta + np.sqrt(1 - stability**2) * innovation + drift
        observed = eta + shift
        codes = draw_items(instrument, observed, cohort.loadings, cohort.thresholds, rng)
        for j in np.flatnonzero(structural.any(axis=0)):
            fill = not_applicable[int(j)] if not_applicable[int(j)] is not None else np.nan
            codes[structural[:, j], j] = np.nan if instrument.item_conditions(item_ids[j]) else fill
        codes[(rng.random(codes.shape) < missing_rate) & ~structural] = np.nan
        wave_codes.append(codes)
        frame = pd.DataFrame(codes, columns=item_ids)
        wave_scores.append(
            score_items(frame, instrument, scales=[hazard_scale])[hazard_scale].to_numpy()
        )
        latent_rows.append(
            pd.DataFrame(observed, columns=leaves).assign(respondent_id=ids, wave=f"{months[w]:g}")
        )

    # Which follow-up waves an attending member skips (decided up front; baseline always answered)
    skip = rng.random((n, len(months))) < wave_skip_rate
    skip[:, 0] = False
    center = float(np.nanmean(wave_scores[0]))
    beta = np.array([betas.get(k, 0.0) for k in reasons])
    base = np.array([rates.get(k, 0.0) for k in reasons])
    time = np.full(n, months[-1])
    cause = np.zeros(n, dtype=int)
    z = wave_scores[0].copy()
    z = np.where(np.isnan(z), center, z)  # a member without a baseline score: at the mean
    at_risk = np.ones(n, dtype=bool)
    for w in range(len(months) - 1):
        if w > 0:
            answered = at_risk & ~skip[:, w] & ~np.isnan(wave_scores[w])
            z = np.where(answered, wave_scores[w], z)
        hazards = base[None, :] * np.exp(
            np.outer(z - center, beta) + np.asarray(frailty)[..., None]
        )
        total = hazards.sum(axis=1)
        with np.errstate(divide="ignore"):
            wait = rng.exponential(1.0, n) / total
        leaves_now = at_risk & (months[w] + wait < months[w + 1])
        time[leaves_now] = months[w] + wait[leaves_now]
        u = rng.random(n)[:, None]
        chosen = (u > np.cumsum(hazards / total[:, None], axis=1)).sum(axis=1)
        cause[leaves_now] = chosen[leaves_now] + 1
        at_risk &= ~leaves_now

    # Waves answered: always baseline; later waves by attending members (unless skipped) and by
    # leavers with probability leaver_response.
    respond_left = rng.random((n, len(months))) < leaver_response
    starts = pd.Timestamp(start_date) + pd.to_timedelta(rng.integers(0, 56, n), unit="D")
    background = cohort.responses.drop(columns=[*item_ids, "respondent_id", "synthetic"])
    rows = []
    score_rows = []
    for w, month in enumerate(months):
        attending = time >= month if w < len(months) - 1 else cause == 0
        answered = (
            np.ones(n, dtype=bool)
            if w == 0
            else np.where(attending, ~skip[:, w], respond_left[:, w])
        )
        part = pd.DataFrame(wave_codes[w][answered], columns=item_ids)
        bg = background.loc[answered].reset_index(drop=True).copy()
        if instrument.wave_question and instrument.wave_question in bg and instrument.wave_forms:
            forms = list(instrument.wave_forms.values())
            bg[instrument.wave_question] = float(
                forms[0 if w == 0 else min(1, len(forms) - 1)].code
            )
        if "participation" in bg:
            code = np.where(attending, 0, cause)[answered]
            bg["participation"] = [float(_PARTICIPATION[int(c)]) for c in code]
        dates = (starts[answered] + pd.DateOffset(months=int(month))).strftime("%Y-%m-%d")
        front = pd.DataFrame(
            {
                "respondent_id": ids[answered],
                "wave": f"{month:g}",
                "date": np.asarray(dates),
                "group_id": group_ids[answered],
            }
        )
        rows.append(pd.concat([front, part, bg], axis=1))
        if w < len(months) - 1:
            before = answered & (time > month) & ~np.isnan(wave_scores[w])
            score_rows.append(
                pd.DataFrame(
                    {
                        "respondent_id": ids[before],
                        "wave_month": month,
                        "score": wave_scores[w][before],
                    }
                )
            )
    responses = pd.concat(rows, ignore_index=True)
    responses["synthetic"] = SYNTHETIC_LABEL
    labels = {code: label for label, code in OUTCOME_TYPES.items()}
    outcomes = pd.DataFrame(
        {
            "respondent_id": ids,
            "group_id": group_ids,
            "group_kind": kind,
            "months": np.round(time, 4),
            "outcome": [labels[int(c)] for c in cause],
            "outcome_code": cause,
            "left": (cause > 0).astype(int),
            "synthetic": SYNTHETIC_LABEL,
        }
    )
    settings = dict(
        n=n,
        seed=seed,
        wave_months=months,
        n_groups=int(n_groups),
        group_sd=group_sd,
        kind_effects=effects,
        stability=stability,
        drift=drift,
        hazard_scale=hazard_scale,
        hazard_center=center,
        base_rates=rates,
        log_hazard_ratios=betas,
        group_hazard_sd=group_hazard_sd,
        wave_skip_rate=wave_skip_rate,
        leaver_response=leaver_response,
        missing_rate=missing_rate,
        cohort=cohort.settings,
        instrument=instrument.metadata.short_name,
        instrument_version=instrument.version,
        synthetic=True,
    )
    return SimulatedStudy(
        responses=responses,
        outcomes=outcomes,
        hazard_scores=pd.concat(score_rows, ignore_index=True),
        latent=pd.concat(latent_rows, ignore_index=True),
        log_hazard_ratios=pd.Series(beta, index=reasons, name="log_hazard_ratio"),
        base_rates=pd.Series(base, index=reasons, name="base_rate"),
        cohort=cohort,
        settings=settings,
    )
