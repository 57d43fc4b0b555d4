"""Minimum sample size for developing a prediction model (Riley et al. 2019, 2020)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

from analysis._results import Result

__all__ = ["SampleSize", "riley_sample_size"]


@dataclass(frozen=True, slots=True, repr=False)
class SampleSize(Result):
    """Riley et al.'s minimum sample size, one row per criterion.

    Attributes
    ----------
    table : DataFrame
        Index ``criterion``; columns ``n_required, events_required, epp_required, rule``.
    n_required : int
        The largest requirement (the minimum sample size).
    events_required : float
    epp_required : float
        Events per candidate parameter at the minimum sample size.
    r2_cs : float
        Anticipated Cox-Snell R² used.
    r2_cs_source : str
        Where it came from.
    r2_cs_max : float
    outcome : str
        ``binary`` or ``survival``.
    n_parameters : int
    """

    table: pd.DataFrame
    n_required: int
    events_required: float
    epp_required: float
    r2_cs: float
    r2_cs_source: str
    r2_cs_max: float
    outcome: str
    n_parameters: int

    def summary(self) -> pd.DataFrame:
        return self.table.reset_index()


def _n_for_shrinkage(p: int, r2: float, s: float) -> float:
    return p / ((s - 1) * math.log(1 - r2 / s))


def riley_sample_size(
    *,
    outcome: str,
    n_parameters: int,
    prevalence: float | None = None,
    event_rate: float | None = None,
    mean_followup: float | None = None,
    horizon: float | None = None,
    r2_cs: float | None = None,
    shrinkage: float = 0.9,
    delta: float = 0.05,
    margin: float = 0.05,
    mape: float | None = 0.05,
    default_r2_fraction: float = 0.15,
) -> SampleSize:
    """Minimum sample size to develop a logistic or Cox prediction model with little overfitting.

    Parameters
    ----------
    outcome : {"binary", "survival"}
    n_parameters : int
        Candidate predictor parameters (all of them, not only those kept).
    prevalence : float
        Binary: anticipated share with the outcome.
    event_rate, mean_followup, horizon : float
        Survival: events per unit of time, mean follow-up and the prediction horizon (same unit).
    r2_cs : float, optional
        Anticipated Cox-Snell R². Default ``default_r2_fraction`` x its maximum, Riley et al.'s
        (2020) conservative choice when no earlier model reports one (R²_Nagelkerke = 0.15).
    shrinkage : float, default 0.9
        Target expected uniform shrinkage (criterion 1).
    delta : float, default 0.05
        Largest acceptable optimism in Nagelkerke's R² (criterion 2).
    margin : float, default 0.05
        Absolute margin of error for the overall risk (criterion 3).
    mape : float or None, default 0.05
        Binary: target mean absolute prediction error (criterion 4, added in Riley et al. 2020);
        None leaves it out, as in the three binary criteria of Riley et al. (2019).

    Returns
    -------
    SampleSize

    Notes
    -----
    Criterion 1, expected shrinkage :math:`S`: :math:`n = p / ((S - 1)\\ln(1 - R^2_{CS}/S))`.
    Criterion 2, optimism in Nagelkerke's R² at most δ: the same formula with
    :math:`S_{VH} = R^2_{CS} / (R^2_{CS} + \\delta R^2_{CS,max})`, where
    :math:`R^2_{CS,max} = 1 - \\exp(2\\ln L_{null}/n)`; :math:`\\ln L_{null}/n = \\phi\\ln\\phi +
    (1-\\phi)\\ln(1-\\phi)` (binary) or :math:`(E/n)\\ln(E/n) - E/n` with :math:`E/n` = rate x
    mean follow-up (survival).
    Criterion 3, binary: the intercept within ``margin``, :math:`n = (1.96/m)^2\\phi(1-\\phi)`;
    survival: the overall risk at the horizon within ``margin`` under an exponential model,
    :math:`n = (1.96\\,h e^{-\\lambda h}/m)^2 \\lambda / \\bar t` (the calculation behind
    pmsampsize's reported interval; Riley et al. 2019 Part II check it rather than solve for n).
    Criterion 4, binary only: mean absolute prediction error (van Smeden et al. 2019),
    :math:`n = \\exp((-0.508 + 0.259\\ln\\phi + 0.504\\ln p - \\ln \\mathrm{MAPE})/0.544)`.
    The minimum is the largest n. Riley et al. advise against "10 events per variable".

    References
    ----------
    Riley RD, Snell KIE, Ensor J, et al. (2019). Minimum sample size for developing a
    multivariable prediction model: Part II - binary and time-to-event outcomes. Stat Med
    38:1276-1296.
    Riley RD, Ensor J, Snell KIE, et al. (2020). Calculating the sample size required for
    developing a clinical prediction model. BMJ 368:m441.
    van Smeden M, Moons KGM, de Groot JAH, et al. (2019). Sample size for binary logistic
    prediction models: beyond events per variable criteria. Stat Methods Med Res 28:2455-2474.

    Examples
    --------
    >>> res = riley_sample_size(outcome="binary", n_parameters=24, prevalence=0.174, r2_cs=0.288, mape=None)
    >>> res.n_required, round(res.epp_required, 1)
    (662, 4.8)
    """
    if outcome not in ("binary", "survival"):
        raise ValueError(f"outcome: must be 'binary' or 'survival'; got {outcome!r}")
    if n_parameters < 1:
        raise ValueError(f"n_parameters: must be at least 1; got {n_parameters}")
    if not 0 < shrinkage < 1:
        raise ValueError(f"shrinkage: must be between 0 and 1; got {shrinkage}")
    p = int(n_parameters)
    rows = {}
    if outcome == "binary":
        if prevalence is None or not 0 < prevalence < 1:
            raise ValueError(
                f"prevalence: must be between 0 and 1 for a binary outcome; got {prevalence}"
            )
        phi = prevalence
        lnl_null_per_n = phi * math.log(phi) + (1 - phi) * math.log(1 - phi)
        events_per_n = phi
    else:
        for name, value in (
            ("event_rate", event_rate),
            ("mean_followup", mean_followup),
            ("horizon", horizon),
        ):
            if value is None or value <= 0:
                raise ValueError(
                    f"{name}: must be a positive number for a survival outcome; got {value}"
                )
        assert event_rate is not None and mean_followup is not None and horizon is not None
        events_per_n = event_rate * mean_followup
        if events_per_n >= 1:
            events_per_n = min(events_per_n, 0.999)
        lnl_null_per_n = events_per_n * math.log(events_per_n) - events_per_n
    r2_max = 1 - math.exp(2 * lnl_null_per_n)
    if r2_cs is None:
        r2_cs = default_r2_fraction * r2_max
        source = f"default: {default_r2_fraction:g} x maximum R2_CS (Riley et al. 2020)"
    else:
        source = "given"
    if not 0 < r2_cs < r2_max:
        raise ValueError(f"r2_cs: must be between 0 and its maximum {r2_max:.3f}; got {r2_cs}")
    n1 = _n_for_shrinkage(p, r2_cs, shrinkage)
    s_vh = r2_cs / (r2_cs + delta * r2_max)
    n2 = _n_for_shrinkage(p, r2_cs, s_vh)
    rows["1: shrinkage"] = (n1, f"expected shrinkage >= {shrinkage:g}")
    rows["2: optimism in R2"] = (n2, f"apparent - adjusted Nagelkerke R2 <= {delta:g}")
    if outcome == "binary":
        n3 = (1.959964 / margin) ** 2 * phi * (1 - phi)
        rows["3: overall risk"] = (n3, f"overall risk (intercept) within +/- {margin:g}")
        if mape is not None:
            n4 = math.exp(
                (-0.508 + 0.259 * math.log(phi) + 0.504 * math.log(p) - math.log(mape)) / 0.544
            )
            rows["4: prediction error"] = (n4, f"mean absolute prediction error <= {mape:g}")
    else:
        assert event_rate is not None and mean_followup is not None and horizon is not None
        lam, h = event_rate, horizon
        n3 = (1.959964 * h * math.exp(-lam * h) / margin) ** 2 * lam / mean_followup
        rows["3: overall risk"] = (
            n3,
            f"risk at the horizon within +/- {margin:g} (exponential model)",
        )
    table = pd.DataFrame(
        [(name, int(math.ceil(n - 1e-9)), rule) for name, (n, rule) in rows.items()],
        columns=["criterion", "n_required", "rule"],
    ).set_index("criterion")
    table["events_required"] = table["n_required"] * events_per_n
    table["epp_required"] = table["events_required"] / p
    table = table[["n_required", "events_required", "epp_required", "rule"]]
    n_req = int(table["n_required"].max())
    return SampleSize(
        table=table,
        n_required=n_req,
        events_required=n_req * events_per_n,
        epp_required=n_req * events_per_n / p,
        r2_cs=float(r2_cs),
        r2_cs_source=source,
        r2_cs_max=float(r2_max),
        outcome=outcome,
        n_parameters=p,
    )
