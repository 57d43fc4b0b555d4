"""McDonald's omega (``psych::omega``): Schmid-Leiman on a minres solution, and ordinal omega."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from analysis._results import Result
from analysis.correlation import smc
from analysis.factor.extraction import extract_factors
from analysis.factor.rotation import reflect_and_sort, rotate
from analysis.reliability.bootstrap import (
    omega_total_replicates,
    percentile_result,
    resampled_correlations,
)
from analysis.reliability.keying import (
    check_boot_settings,
    check_ci_level,
    drop_constant_items,
    item_correlations,
    key_items,
)
from analysis.reliability.results import BootstrapResult

__all__ = ["OmegaResult", "omega", "ordinal_omega"]


@dataclass(frozen=True, slots=True, eq=False, repr=False)
class OmegaResult(Result):
    """McDonald's omega from a Schmid–Leiman solution (``psych::omega``).

    Attributes
    ----------
    estimate : float
        Omega total (``omega.tot``).
    ci_low, ci_high : float
        Percentile bootstrap interval of omega total (``bootstrap``) when ``n_boot > 0``,
        else NaN (psych computes an interval only with ``n.iter > 1``).
    ci_level : float
    n_obs : int
    n_items : int
    method : str
        ``omega_minres_one_factor`` or ``omega_schmid_leiman_minres_oblimin``.
    missing : str
    correlation : str
        ``pearson`` (pairwise ``cor``) or ``polychoric``.
    omega_total : float
        ``(V_t - Σ u²) / V_t`` (``omega.tot``).
    omega_hierarchical : float
        ``(Σ g)² / V_t`` (``omega_h``); NaN for a one-factor solution, where psych warns that
        it is not meaningful.
    omega_h_asymptotic : float
        ``(Σ g)² / (V_t - Σ u²)`` (``omega.lim``); NaN for one factor.
    alpha_std : float
        Standardized alpha of the (flipped) correlation matrix (``alpha``).
    g6 : float
        Guttman's lambda 6 (``G6``).
    ecv : float
        Explained common variance of the general factor (``ECV``); NaN for one factor.
    n_factors : int
    loadings : pandas.DataFrame
        Schmid–Leiman loadings: ``g``, ``F1*`` ... ``Fk*``, ``h2``, ``u2``, ``p2`` (``schmid$sl``).
    flipped : tuple of str
        Items reversed because their general-factor loading was negative (``flip = TRUE``).
    bootstrap : BootstrapResult or None
        Bootstrap of omega total (``coefficient = "omega_total"``) when ``n_boot > 0``. Omega
        hierarchical has no interval (see :func:`omega`, Notes).
    scale : str or None
    """

    estimate: float
    ci_low: float
    ci_high: float
    ci_level: float
    n_obs: int
    n_items: int
    method: str
    missing: str
    correlation: str
    omega_total: float
    omega_hierarchical: float
    omega_h_asymptotic: float
    alpha_std: float
    g6: float
    ecv: float
    n_factors: int
    loadings: pd.DataFrame = field(repr=False)
    flipped: tuple[str, ...] = ()
    bootstrap: BootstrapResult | None = None
    scale: str | None = None

    def summary(self) -> pd.DataFrame:
        """One row per coefficient: ``omega_total, omega_hierarchical, omega_h_asymptotic,
        alpha_std, g6, ecv`` with columns ``scale, coefficient, estimate, ci_low, ci_high,
        ci_level, n_obs, n_items, n_factors, method, correlation, missing``."""
        rows = [
            (name, getattr(self, name))
            for name in (
                "omega_total",
                "omega_hierarchical",
                "omega_h_asymptotic",
                "alpha_std",
                "g6",
                "ecv",
            )
        ]
        frame = pd.DataFrame(rows, columns=["coefficient", "estimate"])
        frame.insert(0, "scale", self.scale)
        frame["ci_low"] = np.where(frame["coefficient"] == "omega_total", self.ci_low, np.nan)
        frame["ci_high"] = np.where(frame["coefficient"] == "omega_total", self.ci_high, np.nan)
        frame["ci_level"] = self.ci_level
        frame["n_obs"] = self.n_obs
        frame["n_items"] = self.n_items
        frame["n_factors"] = self.n_factors
        frame["method"] = self.method
        frame["correlation"] = self.correlation
        frame["missing"] = self.missing
        return frame


def _minres(R: np.ndarray, n_factors: int) -> np.ndarray:
    """Unrotated minres loadings (``psych::fa(fm = "minres", rotate = "none")``)."""
    loadings, _, _ = extract_factors(R, n_factors, method="minres")
    return np.asarray(loadings, dtype="float64").reshape(R.shape[0], n_factors)


def _schmid_leiman(
    R: np.ndarray, n_factors: int, *, option: str = "equal"
) -> dict[str, np.ndarray]:
    """``psych::schmid(R, nfactors, fm = "minres", rotate = "oblimin")``."""
    from analysis._compat import single_threaded_blas

    with single_threaded_blas():  # 36 x 36 eigh: 0.1 ms on one thread, 20 ms contended
        return _schmid_leiman_fit(R, n_factors, option=option)


def _schmid_leiman_fit(R: np.ndarray, n_factors: int, *, option: str) -> dict[str, np.ndarray]:
    orth = _minres(R, n_factors)
    h2 = (orth**2).sum(axis=1)
    phi: np.ndarray | None
    if n_factors == 1:
        fload = orth
        gload = np.array([1.0])
        phi = np.ones((1, 1))
    else:
        # psych: fa(R, nfactors, rotate = "varimax") (stats::varimax, columns reflected and
        # sorted as fa does), then GPArotation::oblimin of those loadings
        varimax, _ = reflect_and_sort(rotate(orth, "varimax").loadings, None)
        oblimin = rotate(varimax, "oblimin")
        fload, phi = oblimin.loadings, oblimin.phi
        assert phi is not None  # an oblique rotation
        if n_factors > 2:
            gload = _minres(phi, 1)[:, 0]
            if gload.sum() < 0:
                gload = -gload
        else:
            r12 = phi[0, 1]
            if option != "equal":
                raise ValueError(
                    f"option: only 'equal' is implemented for two group factors, got {option!r}"
                )
            gload = np.array([np.sqrt(abs(r12)), np.sign(r12) * np.sqrt(abs(r12))])
    g = fload @ gload
    uniq2 = fload**2 * (1.0 - gload**2)
    uniq2[uniq2 < 0] = 0.0
    group = np.sign(fload) * np.sqrt(uniq2)
    return {"g": g, "group": group, "h2": h2, "u2": np.diag(R) - h2, "phi": phi, "gload": gload}


def omega(
    items: pd.DataFrame,
    *,
    n_factors: int = 3,
    keys: Any = None,
    scale_min: float | None = None,
    scale_max: float | None = None,
    missing: str = "pairwise",
    flip: bool = True,
    correlation: str = "pearson",
    ci_level: float = 0.95,
    n_boot: int = 0,
    seed: int | None = None,
    chunk_size: int | None = None,
    scale: str | None = None,
) -> OmegaResult:
    """McDonald's omega total and hierarchical from a Schmid–Leiman solution.

    Parameters
    ----------
    items : pandas.DataFrame
        One numeric column per item, NaN for missing answers.
    n_factors : int, default 3
        Group factors (psych's default 3). 1 gives omega total of a one-factor model
        (``psych::omega(x, nfactors = 1)``, what jamovi reports as McDonald's ω).
    keys : None, mapping, Series, list of str or Instrument, default None
        Reverse keying. When given, items are keyed first and ``flip`` is not applied (psych:
        giving ``key`` sets ``flip = FALSE``).
    scale_min, scale_max : float, optional
        Response scale end points for reversing.
    missing : {"pairwise", "listwise"}, default "pairwise"
    flip : bool, default True
        Reverse items whose general-factor loading is negative (psych's ``flip``) when no
        ``keys`` are given.
    correlation : {"pearson", "polychoric"}, default "pearson"
        ``polychoric`` uses :func:`analysis.factor.polychoric.polychoric` (psych's ``poly = TRUE``).
    ci_level : float, default 0.95
        Level of the bootstrap interval.
    n_boot : int, default 0
        Bootstrap resamples of the rows for a percentile interval of omega total (0: none; at
        least 2, 1,000 is a good choice). Pearson correlations only.
    seed : int, optional
        Seed of the bootstrap's ``numpy.random.Generator``; the same seed gives the same
        interval (and the same resamples as :func:`bootstrap_alpha` with that seed).
    chunk_size : int, optional
        Resamples per batch, as :func:`bootstrap_alpha`.
    scale : str, optional

    Returns
    -------
    OmegaResult

    Notes
    -----
    Reproduces ``psych::omega(x, nfactors, fm = "minres", rotate = "oblimin")`` (psych 2.2.9):
    R is ``cor(x, use = "pairwise")``; minres extraction of ``nfactors``; varimax then oblimin
    (GPArotation defaults); the general factor is a one-factor minres solution of the factor
    correlations Φ (for two factors psych's ``option = "equal"``: both g loadings
    ``sqrt|φ12|``); Schmid–Leiman: ``g = F γ``, group loadings ``sign(F)·sqrt(F²(1 - γ²))``;
    ``h²`` are the communalities of the minres solution and ``u² = 1 - h²``. With V_t = 1'R1 of
    the (flipped or keyed) correlation matrix:

    - ω_t = (V_t - Σ u²) / V_t (``omega.tot``)
    - ω_h = (Σ g)² / V_t (``omega_h``)
    - ω_h asymptotic = (Σ g)² / (V_t - Σ u²) (``omega.lim``)
    - α = (V_t - tr R)/V_t · k/(k-1), G6 = (V_t + Σ smc - tr R)/V_t, ECV = Σg² / Σ(g² + Σ group²)

    For one factor, ω_t = (V_t - Σ(1 - λ²)) / V_t with λ the one-factor minres loadings.
    Extraction is :func:`analysis.factor.extract_factors` (psych's minres), rotation
    :mod:`analysis.factor.rotation` (``stats::varimax``, then GPArotation's oblimin step by step).

    **Bootstrap interval** (``n_boot > 0``). As ``psych::omega(x, nfactors, n.iter = B)``, each
    resample draws n rows with replacement, takes ``cor(use = "pairwise")`` and refits the
    model; the reported interval is the ``(1 ± ci_level)/2`` percentiles of the B omega totals
    (as for alpha). psych itself reports a different interval from the same replicates:
    ``tanh(mean(z) ± z_{.975} sd(z))`` of their Fisher z, kept as ``bootstrap.fisher_z_ci``.
    The correlation matrices of all resamples come from one set of matrix products (the alpha
    bootstrap's resample-count machinery, :func:`bootstrap_alpha`), and the factor models are
    fitted to all of them at once:

    - one factor: Newton's method on the minres criterion ``Σ_{i<j}(r_ij - λ_iλ_j)²`` from the
      full-sample loadings; with ``flip`` each resample is flipped by its own loadings' signs
      (as psych, which calls ``omegah`` with ``flip = TRUE`` on every resample);
    - ``n_factors > 1``: ω_t needs only the uniquenesses of the ``n_factors``-factor minres
      solution (it does not change with rotation), found by iterated principal axes from the
      full-sample uniquenesses (the fixed point is the minres solution). The items flipped in
      the full sample stay flipped in every resample (psych re-decides from each resample's
      rotated general factor).

    Resamples where the batched fit does not converge inside psych's bounds (uniquenesses
    ≥ .005, e.g. a Heywood case) are refitted one at a time with
    :func:`analysis.factor.extract_factors` (bounded L-BFGS-B, as psych). Omega hierarchical has
    no interval: each resample needs its own oblimin rotation and second-order fit, about 0.1 s per
    resample for 36 items and 3 factors (100 s for 1,000 resamples), and the general factor's
    orientation must be re-decided per resample.

    References
    ----------
    McDonald, R. P. (1999). Test theory: A unified treatment. Mahwah, NJ: Erlbaum.
    Revelle, W., & Zinbarg, R. E. (2009). Coefficients alpha, beta, omega, and the glb: Comments
    on Sijtsma. Psychometrika, 74, 145-154.
    Schmid, J., & Leiman, J. M. (1957). The development of hierarchical factor solutions.
    Psychometrika, 22, 53-61.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> f = rng.normal(size=(500, 1))
    >>> df = pd.DataFrame(0.7 * f + 0.7 * rng.normal(size=(500, 6)), columns=list("abcdef"))
    >>> res = omega(df, n_factors=1)
    >>> bool(0.7 < res.omega_total < 0.9)
    True
    >>> boot = omega(df, n_factors=1, n_boot=200, seed=1)
    >>> bool(boot.ci_low < boot.estimate < boot.ci_high), boot.bootstrap.n_boot
    (True, 200)
    """
    check_ci_level(ci_level)
    if isinstance(n_factors, bool) or not isinstance(n_factors, (int, np.integer)) or n_factors < 1:
        raise ValueError(f"n_factors: must be a whole number of at least 1, got {n_factors!r}")
    if correlation not in ("pearson", "polychoric"):
        raise ValueError(f"correlation: must be 'pearson' or 'polychoric', got {correlation!r}")
    if n_boot:
        check_boot_settings(n_boot, chunk_size)
        if correlation != "pearson":
            raise ValueError(
                "n_boot: bootstrap intervals of omega are computed for Pearson correlations only "
                "(each resample would need its own polychoric fit); use n_boot=0 with "
                "correlation='polychoric'"
            )
    keyed = key_items(
        items, keys=keys, scale_min=scale_min, scale_max=scale_max, missing=missing, min_items=2
    )
    drop_constant_items(keyed, 2)
    names = [str(c) for c in keyed.data.columns]
    k = len(names)
    if n_factors > 1 and k < 2 * n_factors:
        raise ValueError(
            f"n_factors: {n_factors} group factors need at least {2 * n_factors} items, the scale "
            f"has {k}"
        )
    R = item_correlations(keyed, correlation)
    sl = _schmid_leiman(R, n_factors)
    g, group = sl["g"], sl["group"]
    flipped: tuple[str, ...] = ()
    sign = np.ones(k)
    if flip and keys is None:
        sign = np.sign(g)
        sign[sign == 0] = 1.0
        if (sign < 0).any():
            R = R * np.outer(sign, sign)
            g = g * sign
            group = group * sign[:, None]
            flipped = tuple(n for n, s in zip(names, sign, strict=True) if s < 0)
    Vt = R.sum()
    trace = np.trace(R)
    u2 = sl["u2"]
    gsq = g.sum() ** 2
    omega_t = (Vt - u2.sum()) / Vt
    one = n_factors == 1
    ev = np.concatenate([[np.sum(g**2)], np.sum(group**2, axis=0)])
    loadings = pd.DataFrame(
        np.column_stack([g, group, sl["h2"], u2, g**2 / sl["h2"]]),
        index=pd.Index(names, name="item"),
        columns=["g", *[f"F{i + 1}*" for i in range(n_factors)], "h2", "u2", "p2"],
    )
    boot = None
    if n_boot:
        replicates = omega_total_replicates(
            resampled_correlations(keyed, n_boot=n_boot, seed=seed, chunk_size=chunk_size),
            n_factors=n_factors,
            start=sl["g"] if one else u2,
            signs=None if (one and flip and keys is None) else sign,
        )
        boot = percentile_result(
            replicates, estimate=float(omega_t), ci_level=ci_level, seed=seed, keyed=keyed,
            coefficient="omega_total",
            reason="had an item pair without 2 common answers or a factor model that could not be fitted",
        )  # fmt: skip
    return OmegaResult(
        estimate=float(omega_t),
        ci_low=float("nan") if boot is None else boot.ci_low,
        ci_high=float("nan") if boot is None else boot.ci_high,
        ci_level=ci_level,
        n_obs=keyed.n_obs,
        n_items=k,
        method="omega_minres_one_factor" if one else "omega_schmid_leiman_minres_oblimin",
        missing=keyed.missing,
        correlation=correlation,
        omega_total=float(omega_t),
        omega_hierarchical=float("nan") if one else float(gsq / Vt),
        omega_h_asymptotic=float("nan") if one else float(gsq / (Vt - u2.sum())),
        alpha_std=float((Vt - trace) / Vt * k / (k - 1)),
        g6=float((Vt + smc(R).sum() - trace) / Vt),
        ecv=float("nan") if one else float(ev[0] / ev.sum()),
        n_factors=int(n_factors),
        loadings=loadings,
        flipped=flipped,
        bootstrap=boot,
        scale=scale,
    )


def ordinal_omega(items: pd.DataFrame, *, n_factors: int = 1, **kwargs: Any) -> OmegaResult:
    """Ordinal omega: :func:`omega` of the polychoric correlations (psych ``omega(poly = TRUE)``).

    Parameters
    ----------
    items : pandas.DataFrame
        Whole-number response codes, NaN for missing answers.
    n_factors : int, default 1
        One factor gives ordinal omega total (Gadermann, Guhn & Zumbo, 2012).
    **kwargs
        Passed to :func:`omega` (``keys``, ``missing``, ``flip``, ``scale`` ...).

    Returns
    -------
    OmegaResult
        With ``correlation = "polychoric"``.

    References
    ----------
    Gadermann, A. M., Guhn, M., & Zumbo, B. D. (2012). Practical Assessment, Research &
    Evaluation, 17(3).
    """
    return omega(items, n_factors=n_factors, correlation="polychoric", **kwargs)
