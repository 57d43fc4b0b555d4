"""Alpha, omega and split-half reliability for every scale of an instrument specification."""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from analysis._results import Result
from analysis.reliability.alpha import cronbach_alpha, ordinal_alpha
from analysis.reliability.bootstrap import (
    omega_total_replicates,
    percentile_result,
    resampled_correlations,
)
from analysis.reliability.keying import (
    MISSING_RULES,
    check_boot_settings,
    check_ci_level,
    key_items,
)
from analysis.reliability.omega import OmegaResult, omega, ordinal_omega
from analysis.reliability.split_half import split_half
from analysis.study.keys import item_keys

if TYPE_CHECKING:  # pragma: no cover - typing only
    from instrument.spec import Instrument

__all__ = ["ReliabilityTable", "TABLE_OMEGA_N_BOOT", "TABLE_OMEGA_MIN_N", "reliability_table"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class ReliabilityTable(Result):
    """Reliability of every scale of an instrument (:func:`reliability_table`).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per scale, columns listed in :func:`reliability_table`.
    problems : tuple of str
        Coefficients that could not be computed, as ``"scale: coefficient: reason"``.
    missing : str
    ci_level : float
    """

    table: pd.DataFrame
    problems: tuple[str, ...]
    missing: str
    ci_level: float

    def summary(self) -> pd.DataFrame:
        """The table (one row per scale)."""
        return self.table.copy()


_TABLE_COLUMNS = [
    "scale", "level", "depth", "n_items", "n_obs", "missing",
    "alpha", "alpha_ci_low", "alpha_ci_high", "alpha_duhachek_ci_low", "alpha_duhachek_ci_high",
    "alpha_boot_ci_low", "alpha_boot_ci_high", "ci_level",
    "std_alpha", "g6", "average_r", "median_r", "signal_noise", "ase", "mean", "sd", "sem",
    "omega_total", "omega_total_ci_low", "omega_total_ci_high",
    "omega_hierarchical", "omega_n_factors", "omega_total_sl", "omega_total_sl_ci_low",
    "omega_total_sl_ci_high", "omega_n_boot",
    "lambda4", "beta", "mean_split_half", "ordinal_alpha", "ordinal_omega_total",
]  # fmt: skip


#: Bootstrap resamples for the omega intervals of :func:`reliability_table` when neither
#: ``omega_n_boot`` nor ``n_boot`` is given: enough for a percentile interval whose end points
#: move by about 0.2 standard errors between seeds, and cheap enough for ``mhdq validate``'s
#: 10 s budget on 20,000 respondents (see benchmarks/bench_validate.py).
TABLE_OMEGA_N_BOOT = 200


#: Fewest respondents (``n_obs``) for which :func:`reliability_table` bootstraps the omega
#: intervals; below it the intervals are NaN and ``problems`` says why. Each resample is a
#: factor analysis, and 50 is the minimum ``mhdq validate`` asks of any factor analysis
#: (``analysis.study.validate.MIN_RESPONDENTS["factor_analysis"]``). Below it a resample holds ~63%
#: distinct
#: respondents, so fewer distinct rows than a 36-item scale has items and a singular correlation
#: matrix: on 30 simulated MHDQ respondents 198 of 200 Schmid-Leiman resamples of the total
#: scale ended in a Heywood case (psych's bound ψ = 0.005), so the percentile interval reflects
#: the bound more than the sampling variability of omega.
TABLE_OMEGA_MIN_N = 50


def reliability_table(
    items: pd.DataFrame,
    instrument: Instrument,
    *,
    scales: Iterable[str] | None = None,
    missing: str = "pairwise",
    ci_level: float = 0.95,
    n_boot: int = 0,
    seed: int | None = None,
    ordinal: bool = False,
    omega_n_boot: int | None = None,
) -> ReliabilityTable:
    """Alpha, omega and split-half reliability for every scale of an instrument.

    Parameters
    ----------
    items : pandas.DataFrame
        Responses, one column per item id (columns not in the instrument are ignored).
    instrument : Instrument
        The specification: scales, their items (a scale holds its descendants' items), keys and
        response scales.
    scales : iterable of str, optional
        Scale ids to include (default: every scale, facets, themes and totals).
    missing : {"pairwise", "listwise"}, default "pairwise"
    ci_level : float, default 0.95
    n_boot : int, default 0
        Bootstrap resamples for a percentile interval of alpha (0: none).
    seed : int, optional
    ordinal : bool, default False
        Add ordinal alpha and one-factor ordinal omega (polychoric; slower).
    omega_n_boot : int, optional
        Bootstrap resamples for the percentile intervals of ``omega_total`` and
        ``omega_total_sl`` (0: none). Default: ``n_boot`` when it is positive, else
        :data:`TABLE_OMEGA_N_BOOT` (200). Both intervals of a scale use the same resamples
        (seeded with ``seed``), the resamples :func:`omega` with that ``n_boot`` and ``seed``
        draws. Not computed for scales with fewer than :data:`TABLE_OMEGA_MIN_N` (50)
        respondents: the intervals are then NaN, ``omega_n_boot`` is missing and ``problems``
        says why.

    Returns
    -------
    ReliabilityTable
        ``table`` columns: ``scale, level, depth, n_items, n_obs, missing, alpha, alpha_ci_low,
        alpha_ci_high`` (Feldt), ``alpha_duhachek_ci_low/high, alpha_boot_ci_low/high,
        ci_level, std_alpha, g6, average_r, median_r, signal_noise, ase, mean, sd, sem``
        (of the mean score, from alpha), ``omega_total`` (one factor) with its bootstrap
        interval ``omega_total_ci_low/high``, ``omega_hierarchical`` and ``omega_total_sl``
        (Schmid–Leiman with one group factor per facet, for scales with at least 3 facets,
        ``omega_n_factors`` of them) with ``omega_total_sl_ci_low/high`` (omega hierarchical has
        no interval, see :func:`omega`), ``omega_n_boot`` (resamples behind the omega intervals),
        ``lambda4, beta, mean_split_half, ordinal_alpha, ordinal_omega_total``.

    Notes
    -----
    Items of each scale are taken from ``instrument.scale_items`` and keyed with the instrument's
    ``keyed`` field, reversed on their response scale (``min + max - x``). Scales with fewer
    than 2 items present in ``items`` are skipped with a problem entry; a coefficient that fails
    (e.g. a factor model that cannot be fitted) is NaN and its reason is in ``problems``.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> mhdq = load_instrument()
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(400, 1))
    >>> data = pd.DataFrame(np.clip(np.round(3 + f + rng.normal(size=(400, len(mhdq.item_ids)))), 1, 5),
    ...                     columns=list(mhdq.item_ids))  # synthetic data
    >>> tab = reliability_table(data, mhdq, scales=["strategy"]).table
    >>> tab["scale"].tolist()
    ['strategy']
    """
    from instrument.spec import Instrument

    if not isinstance(instrument, Instrument):
        raise TypeError(f"instrument: expected an Instrument, got {type(instrument).__name__}")
    if missing not in MISSING_RULES:
        raise ValueError(f"missing: must be one of {', '.join(MISSING_RULES)}, got {missing!r}")
    check_ci_level(ci_level)
    if omega_n_boot is None:
        omega_n_boot = n_boot if n_boot else TABLE_OMEGA_N_BOOT
    if omega_n_boot:
        check_boot_settings(omega_n_boot, None)
    wanted = [s.id for s in instrument.scales] if scales is None else list(scales)
    for sid in wanted:
        instrument.scale(sid)  # raises KeyError naming the scales
    leaves = {s.id for s in instrument.leaf_scales}
    keys = item_keys(instrument)
    rows, problems = [], []
    for sid in wanted:
        spec_scale = instrument.scale(sid)
        present = [i for i in instrument.scale_items(sid) if i in items.columns]
        row: dict[str, Any] = dict.fromkeys(_TABLE_COLUMNS, np.nan)
        row.update(
            scale=sid,
            level=spec_scale.level,
            depth=instrument.depth(sid),
            n_items=len(present),
            missing=missing,
            ci_level=ci_level,
        )
        if len(present) < 2:
            problems.append(f"{sid}: all: fewer than 2 of its items are in the data")
            rows.append(row)
            continue
        sub = items[present]
        common = {"keys": keys, "missing": missing, "scale": sid}
        a = _attempt(
            problems,
            sid,
            "alpha",
            cronbach_alpha,
            sub,
            ci_level=ci_level,
            n_boot=n_boot,
            seed=seed,
            **common,
        )
        if a is not None:
            row.update(
                n_obs=a.n_obs, alpha=a.estimate, alpha_ci_low=a.ci_low, alpha_ci_high=a.ci_high,
                alpha_duhachek_ci_low=a.duhachek_ci[0], alpha_duhachek_ci_high=a.duhachek_ci[1],
                std_alpha=a.std_alpha, g6=a.g6, average_r=a.average_r, median_r=a.median_r,
                signal_noise=a.signal_noise, ase=a.ase, mean=a.mean, sd=a.sd, sem=a.sem,
            )  # fmt: skip
            if a.bootstrap is not None:
                row.update(
                    alpha_boot_ci_low=a.bootstrap.ci_low, alpha_boot_ci_high=a.bootstrap.ci_high
                )
        o1 = _attempt(problems, sid, "omega_total", omega, sub, n_factors=1, **common)
        if o1 is not None:
            row["omega_total"] = o1.omega_total
        facets = [
            s
            for s in _descendant_leaves(instrument, sid, leaves)
            if any(i in present for i in instrument.scale_items(s))
        ]
        if len(facets) >= 3:
            osl = _attempt(
                problems, sid, "omega_hierarchical", omega, sub, n_factors=len(facets), **common
            )
            if osl is not None:
                row.update(
                    omega_hierarchical=osl.omega_hierarchical,
                    omega_total_sl=osl.omega_total,
                    omega_n_factors=len(facets),
                )
        else:
            osl = None
        n_fit = next((r.n_obs for r in (o1, osl) if r is not None), 0)
        if omega_n_boot and n_fit and n_fit < TABLE_OMEGA_MIN_N:
            problems.append(
                f"{sid}: omega_interval: skipped: {n_fit} respondents; the omega bootstrap needs "
                f"at least {TABLE_OMEGA_MIN_N}, below which many resamples "
                "end in a Heywood case; the intervals are NaN"
            )
        elif omega_n_boot and (o1 is not None or osl is not None):
            intervals = _attempt(
                problems, sid, "omega_interval", _table_omega_intervals, sub, o1, osl,
                instrument=instrument, missing=missing, n_boot=omega_n_boot, seed=seed,
                ci_level=ci_level,
            )  # fmt: skip
            if intervals is not None:
                row.update(intervals, omega_n_boot=omega_n_boot)
        sh = _attempt(problems, sid, "split_half", split_half, sub, seed=seed, **common)
        if sh is not None:
            row.update(lambda4=sh.lambda4, beta=sh.beta, mean_split_half=sh.mean_split_half)
        if ordinal:
            oa = _attempt(problems, sid, "ordinal_alpha", ordinal_alpha, sub, **common)
            if oa is not None:
                row["ordinal_alpha"] = oa.estimate
            oo = _attempt(problems, sid, "ordinal_omega", ordinal_omega, sub, **common)
            if oo is not None:
                row["ordinal_omega_total"] = oo.omega_total
        rows.append(row)
    table = pd.DataFrame(rows, columns=_TABLE_COLUMNS)
    table["omega_n_factors"] = table["omega_n_factors"].astype("Int64")
    table["omega_n_boot"] = table["omega_n_boot"].astype("Int64")
    table["n_obs"] = table["n_obs"].astype("Int64")
    return ReliabilityTable(
        table=table, problems=tuple(problems), missing=missing, ci_level=ci_level
    )


def _table_omega_intervals(
    sub: pd.DataFrame,
    o1: OmegaResult | None,
    osl: OmegaResult | None,
    *,
    instrument: Instrument,
    missing: str,
    n_boot: int,
    seed: int | None,
    ci_level: float,
) -> dict[str, float]:
    """Bootstrap intervals of one scale's ``omega_total`` and ``omega_total_sl`` from one set
    of resampled correlation matrices (what :func:`omega` with ``n_boot``/``seed`` computes)."""
    keyed = key_items(sub, keys=item_keys(instrument), missing=missing, min_items=2)
    R = resampled_correlations(keyed, n_boot=n_boot, seed=seed, chunk_size=None)
    signs = np.ones(R.shape[1])  # keyed by the instrument: psych's flip is off
    out = {}
    for prefix, res, n_factors, start in (
        ("omega_total", o1, 1, None if o1 is None else o1.loadings["g"].to_numpy()),
        ("omega_total_sl", osl, 0 if osl is None else osl.n_factors,
         None if osl is None else osl.loadings["u2"].to_numpy()),
    ):  # fmt: skip
        if res is None:
            continue
        assert start is not None  # given whenever the result exists
        boot = percentile_result(
            omega_total_replicates(R, n_factors=n_factors, start=start, signs=signs),
            estimate=res.omega_total, ci_level=ci_level, seed=seed, keyed=keyed,
            coefficient=prefix,
            reason="had an item pair without 2 common answers or a factor model that could not be fitted",
        )  # fmt: skip
        out[f"{prefix}_ci_low"], out[f"{prefix}_ci_high"] = boot.ci_low, boot.ci_high
    return out


def _attempt(problems: list[str], sid: str, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """Run one coefficient; record its failure or warnings in ``problems`` instead of stopping."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            result = fn(*args, **kwargs)
        except (ValueError, np.linalg.LinAlgError, ArithmeticError) as exc:
            problems.append(f"{sid}: {name}: {exc}")
            result = None
    for w in caught:
        if not issubclass(w.category, (DeprecationWarning, FutureWarning)):
            problems.append(f"{sid}: {name}: warning: {w.message}")
    return result


def _descendant_leaves(instrument: Instrument, scale_id: str, leaves: set[str]) -> list[str]:
    out, frontier = [], [scale_id]
    while frontier:
        sid = frontier.pop(0)
        if sid in leaves:
            out.append(sid)
        frontier.extend(s.id for s in instrument.children(sid))
    return out
