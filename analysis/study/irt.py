"""The IRT part of the validation study: a graded response model per scale, with DIF by group.

For every leaf scale of the instrument (each item once, as the item statistics) with at least
:data:`IRT_MIN_ITEMS` items and :data:`IRT_MIN_RESPONDENTS` respondents with an answer,
:func:`irt_study` fits Samejima's graded response model (:class:`analysis.irt.GradedResponseModel`,
Louis SEs) to the keyed items (reverse-keyed items reversed on their response scale, so every
slope points the scale's way) and computes what a validation paper shows: parameters in the
slope-intercept and the traditional form, category response curves, item and test information
with the conditional SE, S-X2 item fit, C2/M2 limited-information fit, the EAP-for-sum-scores
table, category use, and, per grouping column, lordif's ordinal-logistic DIF with the
expected-score curves of the flagged items from a multiple-group model anchored on the others.

Above :data:`IRT_MAX_CALIBRATION` respondents the model is calibrated on a seeded random
subsample of that size (the estimates' SEs then describe that subsample); everything else (item
fit, M2, the observed sum-score counts, category use) uses every respondent. The statistical
work is done by :mod:`analysis.irt`; this module only chooses scales, keys items and collects.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from analysis._results import Result
from instrument.errors import DataError, UsageError
from instrument.spec import Instrument

__all__ = [
    "IRT_MAX_CALIBRATION",
    "IRT_MIN_ITEMS",
    "IRT_MIN_RESPONDENTS",
    "IRTParameterSet",
    "IRTStudy",
    "ScaleDIF",
    "ScaleIRT",
    "irt_eligible",
    "irt_study",
    "keyed_items",
    "load_irt_parameters",
    "save_irt_parameters",
]

#: Fewest items and respondents for the IRT section to run by default (``--irt`` forces it for
#: any scale with 3 or more items).
IRT_MIN_ITEMS = 4
IRT_MIN_RESPONDENTS = 200
#: Largest calibration sample; above it a seeded random subsample of this size is used.
IRT_MAX_CALIBRATION = 5000
#: Fewest respondents per group for the DIF analysis of a grouping column.
DIF_MIN_GROUP = 50
#: Trait grid of the curves kept in the results (81 points on [-4, 4]).
THETA_GRID = np.linspace(-4.0, 4.0, 81)
SET_FORMAT = "mhdq-irt-item-parameter-set"
SET_FORMAT_VERSION = 1


@dataclass(frozen=True)
class ScaleDIF:
    """lordif DIF of one scale across the groups of one column.

    Attributes
    ----------
    group_by : str
    result : DIFResult or None
        None when not computed (``reason`` says why).
    curves : DataFrame or None
        :func:`analysis.irt.expected_score_curves` of the flagged items and the scale (``group,
        theta, item, expected``) from a multiple-group graded model with the unflagged items as
        anchors; None when nothing was flagged.
    reason : str
    """

    group_by: str
    result: Any = None
    curves: pd.DataFrame | None = None
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "group_by": self.group_by,
            "reason": self.reason or None,
            "result": None if self.result is None else self.result.to_dict(),
            "curves": None if self.curves is None else self.curves.to_dict(orient="records"),
        }


@dataclass(frozen=True)
class ScaleIRT:
    """The graded response model of one scale and everything computed from it.

    Attributes
    ----------
    scale : str
    items : tuple of str
    reversed_items : tuple of str
        Reverse-keyed items, reversed (``min + max - x``) before fitting.
    model : GradedResponseModel
    n_obs : int
        Respondents with at least one answer to the scale.
    n_calibration : int
        Respondents the parameters were estimated on (``n_obs``, or the subsample).
    parameters : DataFrame
        Slope-intercept form with SEs and intervals (``results_.parameters``, mirt's ``coef``).
    traditional : DataFrame
        ``a, b_k`` with delta-method SEs (``results_.traditional``).
    item_information, test_information : DataFrame
        On :data:`THETA_GRID`; test information with ``se = 1/sqrt(I)``.
    category_curves : DataFrame
        ``item, category, theta, probability``.
    item_fit : DataFrame or None
        S-X2 (``item, s_x2, df, p_value, n_obs``).
    m2 : M2Result or None
    sum_scores : SumScoreTable
    category_use : DataFrame
    empirical_reliability : float
        mirt's ``empirical_rxx`` of the EAP scores.
    marginal_reliability : float
        mirt's ``marginal_rxx``: ``integral I(theta) / (I(theta) + 1) phi(theta) dtheta``.
    dif : dict of str to ScaleDIF
    problems : tuple of str
        Parts that could not be computed, with the reason.
    """

    scale: str
    items: tuple[str, ...]
    reversed_items: tuple[str, ...]
    model: Any
    n_obs: int
    n_calibration: int
    parameters: pd.DataFrame
    traditional: pd.DataFrame
    item_information: pd.DataFrame
    test_information: pd.DataFrame
    category_curves: pd.DataFrame
    item_fit: pd.DataFrame | None
    m2: Any
    sum_scores: Any
    category_use: pd.DataFrame
    empirical_reliability: float
    marginal_reliability: float = float("nan")
    dif: dict = field(default_factory=dict)
    problems: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {
            "scale": self.scale,
            "items": list(self.items),
            "reversed_items": list(self.reversed_items),
            "n_obs": self.n_obs,
            "n_calibration": self.n_calibration,
            "model": self.model.results_.to_dict(),
            "traditional": self.traditional.to_dict(orient="records"),
            "test_information": self.test_information.to_dict(orient="records"),
            "item_information": self.item_information.reset_index().to_dict(orient="records"),
            "item_fit": None if self.item_fit is None else self.item_fit.to_dict(orient="records"),
            "m2": None if self.m2 is None else self.m2.to_dict(),
            "sum_scores": self.sum_scores.to_dict(),
            "category_use": self.category_use.to_dict(orient="records"),
            "empirical_reliability": self.empirical_reliability,
            "marginal_reliability": self.marginal_reliability,
            "dif": {name: d.to_dict() for name, d in self.dif.items()},
            "problems": list(self.problems),
        }


@dataclass(frozen=True, repr=False)
class IRTStudy(Result):
    """The IRT section of the validation study.

    Attributes
    ----------
    scales : dict of str to ScaleIRT
    skipped : dict of str to str
        Scales not modelled, with the reason.
    options : dict
        ``min_items, min_respondents, max_calibration, seed, se_type, forced``.
    """

    scales: dict
    skipped: dict
    options: dict

    def summary(self) -> pd.DataFrame:
        """One row per modelled scale: ``scale, n_items, n_obs, n_calibration, loglik, m2_type,
        m2, m2_df, m2_p, rmsea, cfi, srmsr, rxx_sum_score, empirical_reliability,
        marginal_reliability, misfitting_items, sparse_categories``."""
        rows = []
        for name, s in self.scales.items():
            m2 = s.m2
            misfit = 0 if s.item_fit is None else int((s.item_fit["p_value"] < 0.01).sum())
            rows.append(
                {
                    "scale": name,
                    "n_items": len(s.items),
                    "n_obs": s.n_obs,
                    "n_calibration": s.n_calibration,
                    "loglik": s.model.loglik_,
                    "m2_type": None if m2 is None else m2.type,
                    "m2": np.nan if m2 is None else m2.statistic,
                    "m2_df": np.nan if m2 is None else m2.df,
                    "m2_p": np.nan if m2 is None else m2.p_value,
                    "rmsea": np.nan if m2 is None else m2.rmsea,
                    "cfi": np.nan if m2 is None else m2.cfi,
                    "srmsr": np.nan if m2 is None else m2.srmsr,
                    "rxx_sum_score": s.sum_scores.reliability,
                    "empirical_reliability": s.empirical_reliability,
                    "marginal_reliability": s.marginal_reliability,
                    "misfitting_items": misfit,
                    "sparse_categories": int(s.category_use["sparse"].sum()),
                }
            )
        return pd.DataFrame(rows)

    def tables(self) -> dict[str, pd.DataFrame]:
        """Sheets for tables.xlsx: fit summary, parameters, item fit, sum-score tables, DIF."""
        if not self.scales:
            return {}
        out = {"IRT fit": self.summary()}
        out["IRT parameters"] = pd.concat(
            [s.parameters.assign(scale=n) for n, s in self.scales.items()], ignore_index=True
        )
        out["IRT traditional"] = pd.concat(
            [s.traditional.assign(scale=n) for n, s in self.scales.items()], ignore_index=True
        )
        fits = [
            s.item_fit.assign(scale=n) for n, s in self.scales.items() if s.item_fit is not None
        ]
        if fits:
            out["IRT item fit"] = pd.concat(fits, ignore_index=True)
        out["IRT sum scores"] = pd.concat(
            [s.sum_scores.table.assign(scale=n) for n, s in self.scales.items()],
            ignore_index=True,
        )
        dif = [
            d.result.summary().assign(scale=n, group_by=g)
            for n, s in self.scales.items()
            for g, d in s.dif.items()
            if d.result is not None
        ]
        if dif:
            out["IRT DIF"] = pd.concat(dif, ignore_index=True)
        return {name: _scale_first(t) for name, t in out.items()}

    def to_dict(self) -> dict:
        return {
            "options": dict(self.options),
            "skipped": dict(self.skipped),
            "summary": self.summary().to_dict(orient="records"),
            "scales": {name: s.to_dict() for name, s in self.scales.items()},
        }


def _scale_first(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("scale", "group_by") if c in frame.columns]
    return frame[cols + [c for c in frame.columns if c not in cols]]


def keyed_items(codes: pd.DataFrame, instrument: Instrument, items: list[str]) -> pd.DataFrame:
    """The items' codes with reverse-keyed items reversed on their response scale (``min + max -
    x``), as :func:`instrument.score.score_items` keys them."""
    out = codes[items].astype(float).copy()
    for item in items:
        if instrument.item(item).keyed < 0:
            rs = instrument.response_scale_of(item)
            out[item] = rs.minimum + rs.maximum - out[item]
    return out


def irt_eligible(
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    min_items: int = IRT_MIN_ITEMS,
    min_respondents: int = IRT_MIN_RESPONDENTS,
) -> tuple[list[str], dict[str, str]]:
    """Leaf scales large enough for the IRT section, and the others with the reason."""
    chosen, skipped = [], {}
    for scale in instrument.leaf_scales:
        items = [i for i in instrument.scale_items(scale.id) if i in codes.columns]
        n = int(codes[items].notna().any(axis=1).sum()) if items else 0
        if len(items) < min_items:
            skipped[scale.id] = f"{len(items)} items; the IRT section needs at least {min_items}"
        elif n < min_respondents:
            skipped[scale.id] = (
                f"{n} respondents with answers; the IRT section needs at least {min_respondents}"
            )
        else:
            chosen.append(scale.id)
    return chosen, skipped


def irt_study(
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    groups: dict[str, pd.Series] | None = None,
    forced: bool = False,
    seed: int = 20240601,
    max_calibration: int = IRT_MAX_CALIBRATION,
) -> IRTStudy:
    """Fit the graded response model of every eligible scale; DIF across each grouping column.

    Parameters
    ----------
    codes : DataFrame
        Checked item codes of the analysed respondents (one column per item).
    instrument : Instrument
    groups : dict of str to Series, optional
        Grouping column name -> group label of each row of ``codes``.
    forced : bool, default False
        ``--irt``: model every scale with at least 3 items and 50 respondents instead of the
        defaults :data:`IRT_MIN_ITEMS` and :data:`IRT_MIN_RESPONDENTS`.
    seed : int
        Seed of the calibration subsample (only used above ``max_calibration`` respondents).
    max_calibration : int, default :data:`IRT_MAX_CALIBRATION`

    Returns
    -------
    IRTStudy
    """
    min_items, min_n = (3, 50) if forced else (IRT_MIN_ITEMS, IRT_MIN_RESPONDENTS)
    chosen, skipped = irt_eligible(codes, instrument, min_items=min_items, min_respondents=min_n)
    scales = {}
    for scale_id in chosen:
        try:
            scales[scale_id] = _scale_irt(
                codes, instrument, scale_id, groups or {}, seed, max_calibration
            )
        except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
            skipped[scale_id] = f"could not be fitted: {type(exc).__name__}: {exc}"
    options = {
        "scales": "leaf scales",
        "min_items": min_items,
        "min_respondents": min_n,
        "max_calibration": int(max_calibration),
        "seed": seed,
        "se_type": "louis",
        "forced": bool(forced),
        "model": "graded (Samejima), 61 quadrature points on [-6, 6], N(0, 1) trait",
    }
    return IRTStudy(scales=scales, skipped=skipped, options=options)


def _calibration_rows(data: pd.DataFrame, seed: int, cap: int) -> pd.DataFrame:
    if len(data) <= cap:
        return data
    rng = np.random.default_rng(seed)
    keep = np.sort(rng.choice(len(data), size=cap, replace=False))
    return data.iloc[keep]


def _scale_irt(
    codes: pd.DataFrame,
    instrument: Instrument,
    scale_id: str,
    groups: dict[str, pd.Series],
    seed: int,
    cap: int,
) -> ScaleIRT:
    from analysis import irt

    items = [i for i in instrument.scale_items(scale_id) if i in codes.columns]
    data = keyed_items(codes, instrument, items)
    answered = data.notna().any(axis=1)
    data = data[answered]
    calibration = _calibration_rows(data, seed, cap)
    model = irt.GradedResponseModel(se_type="louis").fit(calibration)
    problems: list[str] = []
    item_fit = m2 = None
    try:
        item_fit = irt.item_fit(model, data)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        problems.append(f"item fit: {exc}")
    try:
        m2 = irt.m2(model, data)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        problems.append(f"M2: {exc}")
    eap = irt.eap_scores(model, data)
    dif = {}
    for name, labels in groups.items():
        dif[name] = _scale_dif(model, data, labels.loc[data.index], name)
    return ScaleIRT(
        scale=scale_id,
        items=tuple(items),
        reversed_items=tuple(i for i in items if instrument.item(i).keyed < 0),
        model=model,
        n_obs=len(data),
        n_calibration=len(calibration),
        parameters=model.results_.parameters,
        traditional=model.results_.traditional,
        item_information=irt.item_information(model, THETA_GRID),
        test_information=irt.test_information(model, THETA_GRID),
        category_curves=irt.category_response_curves(model, THETA_GRID),
        item_fit=item_fit,
        m2=m2,
        sum_scores=irt.sum_score_table(model, data),
        category_use=irt.category_use(data),
        empirical_reliability=irt.empirical_reliability(eap),
        marginal_reliability=irt.marginal_reliability(model),
        dif=dif,
        problems=tuple(problems),
    )


def _scale_dif(model, data: pd.DataFrame, labels: pd.Series, name: str) -> ScaleDIF:
    from analysis import irt

    labels = labels.astype(object).where(labels.notna())
    sizes = labels.value_counts()
    if len(sizes) < 2:
        return ScaleDIF(name, reason="fewer than 2 groups among respondents with answers")
    small = sizes[sizes < DIF_MIN_GROUP]
    if len(small):
        return ScaleDIF(
            name,
            reason=f"groups with fewer than {DIF_MIN_GROUP} respondents: "
            + ", ".join(str(g) for g in small.index),
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            result = irt.dif_lordif(data, labels)
    except (ValueError, ArithmeticError, np.linalg.LinAlgError) as exc:
        return ScaleDIF(name, reason=f"could not be computed: {exc}")
    curves = None
    anchors = [i for i in data.columns if i not in result.flagged]
    if result.flagged and anchors:
        try:
            multi = irt.MultipleGroupGradedModel(constrained=anchors, tol=1e-4, max_iter=500)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                multi.fit(data, labels)
            curves = irt.expected_score_curves(multi.group_models(), THETA_GRID)
            curves = curves[curves["item"].isin([*result.flagged, "scale"])].reset_index(drop=True)
        except (ValueError, ArithmeticError, np.linalg.LinAlgError):
            curves = None
    return ScaleDIF(name, result=result, curves=curves)


# --------------------------------------------------------------------------------------------
# Saving and loading the calibrated parameters of every scale
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class IRTParameterSet:
    """Calibrated graded models of an instrument's scales, read from ``irt_params.json``.

    Attributes
    ----------
    models : dict of str to GradedResponseModel
        Scale -> model (on the keyed items).
    reversed_items : dict of str to list of str
        Scale -> its reverse-keyed items (reversed before scoring, as at calibration).
    instrument_fingerprint : str or None
    """

    models: dict
    reversed_items: dict
    instrument_fingerprint: str | None

    def score(self, codes: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
        """EAP scores of every scale: ``<scale>_theta``, ``<scale>_theta_se`` per row of
        ``codes`` (NaN where a respondent answered none of the scale's items)."""
        from analysis.irt import eap_scores

        columns = {}
        for scale, model in self.models.items():
            missing = [i for i in model.items_ if i not in codes.columns]
            if missing:
                raise DataError(f"IRT scale {scale}: item columns missing: {missing}")
            data = keyed_items(codes, instrument, list(model.items_))
            eap = eap_scores(model, data)
            none = eap["n_answered"].to_numpy() == 0
            columns[f"{scale}_theta"] = eap["theta"].mask(none).to_numpy()
            columns[f"{scale}_theta_se"] = eap["se"].mask(none).to_numpy()
        return pd.DataFrame(columns, index=codes.index)

    def labels(self, instrument: Instrument) -> dict[str, str]:
        """Variable labels of the :meth:`score` columns."""
        out = {}
        for scale in self.models:
            out[f"{scale}_theta"] = f"{scale}: IRT trait score (EAP, graded model)"
            out[f"{scale}_theta_se"] = f"{scale}: standard error of the IRT trait score"
        return out


def save_irt_parameters(study: IRTStudy, path: str | Path, *, instrument: Instrument) -> Path:
    """Write every modelled scale's item parameters, with the instrument fingerprint, as JSON."""
    from analysis.irt.params_io import parameters_to_dict
    from instrument.io.write import atomic_path

    content = {
        "format": SET_FORMAT,
        "format_version": SET_FORMAT_VERSION,
        "instrument": {
            "name": instrument.metadata.name,
            "version": instrument.version,
            "fingerprint": instrument.fingerprint,
        },
        "keying": "reverse-keyed items are reversed (min + max - x) before the model sees them",
        "scales": {
            name: {
                **parameters_to_dict(
                    s.model, instrument_fingerprint=instrument.fingerprint, scale=name
                ),
                "reversed_items": list(s.reversed_items),
            }
            for name, s in study.scales.items()
        },
    }
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(content, indent=1), encoding="utf-8")
    return target


def load_irt_parameters(path: str | Path, *, instrument: Instrument) -> IRTParameterSet:
    """Read ``irt_params.json`` written by ``mhdq validate``; refuse another instrument version.

    Raises
    ------
    UsageError
        The parameters were calibrated on another instrument (fingerprint differs).
    DataError
        The file cannot be read or is not an item-parameter set.
    """
    from analysis.irt.params_io import model_from_dict

    source = Path(path)
    try:
        content = json.loads(source.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DataError(f"{source}: cannot read IRT item parameters ({exc})") from exc
    if not isinstance(content, dict) or content.get("format") != SET_FORMAT:
        raise DataError(
            f"{source}: not an IRT parameter file written by mhdq validate (format {SET_FORMAT!r})"
        )
    if content.get("format_version") != SET_FORMAT_VERSION:
        raise DataError(
            f"{source}: format version {content.get('format_version')!r} is not supported "
            f"(expected {SET_FORMAT_VERSION})"
        )
    saved = (content.get("instrument") or {}).get("fingerprint")
    if saved != instrument.fingerprint:
        raise UsageError(
            f"{source}: these item parameters were calibrated on another instrument version "
            f"(fingerprint {saved}; the responses come from {instrument.metadata.short_name} "
            f"{instrument.version}, fingerprint {instrument.fingerprint}); IRT scores are only "
            "comparable under the same items - recalibrate with mhdq validate"
        )
    models, reversed_items = {}, {}
    scales = content.get("scales")
    if not isinstance(scales, dict) or not scales:
        raise DataError(f"{source}: holds no scales")
    for name, entry in scales.items():
        model = model_from_dict(entry, source=source, instrument_fingerprint=saved)
        unknown = [i for i in model.items_ if i not in instrument.item_ids]
        if unknown:
            raise UsageError(f"{source}: scale {name}: items not in the instrument: {unknown}")
        models[name] = model
        reversed_items[name] = list(entry.get("reversed_items", []))
        expected = [i for i in model.items_ if instrument.item(i).keyed < 0]
        if sorted(reversed_items[name]) != sorted(expected):
            raise DataError(f"{source}: scale {name}: keying differs from the instrument's")
    return IRTParameterSet(models, reversed_items, saved)
