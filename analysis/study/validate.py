"""The validation study of an instrument in one call: every analysis, in order, with its status.

:func:`validate` takes collected responses (a :class:`~instrument.responses.ResponseTable`, several
of them, or a DataFrame in the Data entry layout) and the :class:`~instrument.spec.Instrument` they
were collected with, checks them (:func:`instrument.check.check_responses`), and runs the analyses a
validation paper reports, each from the module that owns it:

1. data summary and problems (counts by rule) and the response distribution of every item;
2. item statistics per scale (:func:`analysis.study.items.item_analysis`);
3. reliability of every scale (:func:`analysis.study.reliability_table.reliability_table`);
4. polychoric correlations of the structure items (:func:`analysis.factor.polychoric.polychoric`);
5. factorability: KMO and Bartlett (:mod:`analysis.factor.factorability`);
6. factor retention: parallel analysis, MAP, scree (:mod:`analysis.factor.retention`);
7. EFA with the number of factors parallel analysis suggests (:class:`analysis.factor.efa.EFA`);
8. CFA of the hypothesised models (:func:`analysis.study.models.hypothesised_models`,
   :class:`analysis.sem.cfa.CFA`, :func:`analysis.sem.cfa.compare_models`);
9. convergent and discriminant validity (:mod:`analysis.sem.validity`);
10. measurement invariance across ``group_by``
    (:func:`analysis.sem.invariance.measurement_invariance`).

An analysis that cannot run (too few respondents, a single group, a model that does not apply)
is skipped with its reason; one that fails numerically is recorded as failed with the error
message. Neither stops the others. Every step's status, reason, warnings and time are kept in
:attr:`ValidationResults.steps`, and the reason is written beside the (empty) result in the JSON
and the report.
"""

from __future__ import annotations

import math
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from analysis._results import Result
from instrument.check import CheckedResponses, check_responses, hash_ids, merge_seen
from instrument.errors import DataQualityWarning
from instrument.problems import Problem
from instrument.responses import ResponseTable
from instrument.spec import Instrument

__all__ = [
    "MIN_RESPONDENTS",
    "DataSummary",
    "Step",
    "criterion_scales",
    "ValidationResults",
    "responses_from_frame",
    "structure_items",
    "validate",
]

#: Version of the layout of :meth:`ValidationResults.to_dict` (docs/results-schema.md).
SCHEMA_VERSION = "1.0"
MISSING_RULES = ("pairwise", "listwise")
#: Missing answers in CFA, validity and invariance (``auto``: FIML when a model item has a gap).
CFA_MISSING_RULES = ("auto", "ml", "listwise", "pairwise")


def resolve_cfa_missing(
    rule: str, codes: pd.DataFrame, items: Sequence[str], *, ordinal: bool
) -> str:
    """The missing-data rule a CFA uses: ``auto`` becomes ``ml`` (full-information ML) when any
    of ``items`` has a missing or not-applicable answer among the respondents who answered at
    least one of them, ``listwise`` otherwise (the same fit without a mean structure); with
    ``ordinal`` (WLSMV) ``pairwise`` (pairwise-present polychoric statistics, lavaan
    ``missing = "pairwise"``) when an item has a gap, ``listwise`` otherwise.

    Examples
    --------
    >>> frame = pd.DataFrame({"a": [1, 2, None], "b": [2, 3, 4]})
    >>> resolve_cfa_missing("auto", frame, ["a", "b"], ordinal=False)
    'ml'
    >>> resolve_cfa_missing("auto", frame.dropna(), ["a", "b"], ordinal=False)
    'listwise'
    >>> resolve_cfa_missing("auto", frame, ["a", "b"], ordinal=True)
    'pairwise'
    """
    if rule != "auto":
        return rule
    if not len(items):
        return "listwise"
    block = codes[list(items)]
    block = block[block.notna().any(axis=1)]
    gaps = bool(block.isna().to_numpy().any())
    if not gaps:
        return "listwise"
    return "pairwise" if ordinal else "ml"


#: Fewest respondents each kind of analysis is run with (below it the analysis is skipped with
#: its reason). Factor analyses also need more respondents than items.
MIN_RESPONDENTS = {
    "item_statistics": 10,
    "reliability": 10,
    "factor_analysis": 50,
    "cfa": 50,
    "invariance_group": 30,
}
#: Errors that mean "this analysis cannot be computed on these data" rather than a bug.
_ANALYSIS_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError)


# --------------------------------------------------------------------------------------------
# Records
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Step:
    """What happened to one analysis.

    Attributes
    ----------
    name : str
        Analysis name (``reliability``, ``cfa``, ...), the key of its block in the JSON.
    status : str
        ``ok``, ``skipped`` (not applicable or too few respondents: ``reason`` says why),
        ``failed`` (an error while computing: ``reason`` holds the message) or ``not_requested``.
    reason : str
        Why it was skipped or failed ("" when ok).
    warnings : tuple of str
        Warnings raised while computing (non-convergence, Heywood cases, ...).
    seconds : float
        Wall-clock time.
    """

    name: str
    status: str
    reason: str = ""
    warnings: tuple[str, ...] = ()
    seconds: float = 0.0

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "reason": self.reason or None,
            "warnings": list(self.warnings),
            "seconds": round(self.seconds, 4),
        }


@dataclass(frozen=True, repr=False)
class DataSummary(Result):
    """The data as read, checked and used (aggregates only: no respondent identifiers).

    Attributes
    ----------
    sources : tuple of str
        Input names (file names as given).
    platforms : tuple of str
        Detected source format of each input.
    n_read, n_rejected, n_used : int
        Rows read, rows rejected by the checks (``no_answers``, ``duplicate_respondent_id``), rows
        analysed.
    problems : DataFrame
        Count of problem records by ``rule`` and ``severity`` (columns ``rule, severity, n``).
    rejected_by_rule : dict
        Rows rejected per rule.
    structure_items : tuple of str
        Items of the factor analyses (the instrument's scale hierarchy, or every item of a flat
        instrument).
    n_complete : int
        Used rows that answered every structure item (the listwise sample of CFA).
    group_by : str or None
    group_sizes : DataFrame or None
        ``group, label, n`` for the grouping column (rows with a missing group: label ``missing``).
    synthetic : bool
        True when the input marks its rows as synthetic: a ``synthetic`` column holding
        ``synthetic`` (as :mod:`analysis.simulate.cohort` writes it), or a file with a ``synthetic``
        column the reader set aside as not part of the instrument. Outputs are then labelled
        synthetic.
    """

    sources: tuple[str, ...]
    platforms: tuple[str, ...]
    n_read: int
    n_rejected: int
    n_used: int
    problems: pd.DataFrame
    rejected_by_rule: dict
    structure_items: tuple[str, ...]
    n_complete: int
    group_by: str | None = None
    group_sizes: pd.DataFrame | None = None
    synthetic: bool = False

    def summary(self) -> pd.DataFrame:
        """One row per figure: ``quantity, value``."""
        rows = [
            ("rows read", self.n_read),
            ("rows rejected", self.n_rejected),
            ("rows used", self.n_used),
            ("structure items", len(self.structure_items)),
            ("rows complete on the structure items", self.n_complete),
        ]
        return pd.DataFrame(rows, columns=["quantity", "value"])

    def to_dict(self) -> dict:
        return {
            "sources": list(self.sources),
            "platforms": list(self.platforms),
            "n_read": self.n_read,
            "n_rejected": self.n_rejected,
            "n_used": self.n_used,
            "rejected_by_rule": dict(self.rejected_by_rule),
            "problems_by_rule": self.problems.to_dict(orient="records"),
            "structure_items": list(self.structure_items),
            "n_complete": self.n_complete,
            "group_by": self.group_by,
            "synthetic": self.synthetic,
            "group_sizes": None
            if self.group_sizes is None
            else self.group_sizes.to_dict(orient="records"),
        }


@dataclass(frozen=True, repr=False)
class ValidationResults(Result):
    """Every result of :func:`validate`, with provenance.

    Attributes
    ----------
    instrument : dict
        ``name, short_name, version, fingerprint, source``, ``roots`` (each root scale with its
        items), ``n_structure_leaves`` (facets of the structure), ``category_labels`` (code → label
        in the default language when every item shares one response scale, else empty).
    options : dict
        The options used: ``missing``, ``ordinal``, ``seed``, ``group_by``, ``n_boot``,
        ``omega_n_boot``, ``ci_level``, ``n_iter`` (parallel analysis), ``cfa_missing``
        (``listwise`` or ``ml``) and
        ``estimator``.
    provenance : dict
        ``created`` (UTC time), ``software`` (:func:`analysis.report.html.software_versions`),
        ``data_hash`` (:func:`analysis.report.html.data_hash` of the analysed item codes).
    data : DataSummary
    distribution : DataFrame
        Per item: ``n`` answers, ``missing`` (blank or invalid), ``not_applicable``, then
        ``share_<code>`` of the answers for every code of its response scale.
    item_statistics : DataFrame or None
        :func:`analysis.study.items.item_analysis` of every leaf scale (and every separate root
        scale), stacked: ``scale, item, keyed, n, missing_share, mean, sd, skew, kurtosis, floor,
        ceiling, share_<code>..., raw_r, std_r, r_cor, r_drop, alpha_if_dropped``.
    reliability : ReliabilityTable or None
    polychoric : PolychoricResult or None
    kmo, bartlett : KMOResult, BartlettResult or None
    parallel : ParallelAnalysis or None
    map : MAPResult or None
    efa : EFA or None
        Fitted with :attr:`suggested_factors` factors.
    suggested_factors : int or None
        The number of factors used for the EFA and where it came from (``factors_source``).
    factors_source : str
    cfa : dict of str to fitted CFA
        The hypothesised models that were fitted, most constrained first:
        :class:`analysis.sem.cfa.CFA` (ML), or with ``ordinal=True``
        :class:`analysis.sem.wlsmv.OrdinalCFA` (WLSMV).
    cfa_estimator : str
        ``ML`` or ``WLSMV``.
    cfa_skipped : dict of str to str
        Models that do not apply or failed, with the reason.
    cfa_comparison : DataFrame or None
        :func:`analysis.sem.cfa.compare_models` (ML); for WLSMV the columns of
        :data:`WLSMV_COMPARISON` (with lavaan's robust CFI/TLI/RMSEA) and each model's
        ``n_obs``, ``pair_n_min`` and ``pair_n_max`` side by side, without Δχ² tests (lavaan's DIFFTEST is not
        available).
    validity : ValidityResult or None
        :func:`analysis.sem.validity.validity` of the first-order hypothesised model (facets, else
        themes, else one factor) extended by one factor per criterion scale (MHDQ: ``meaning``).
    validity_model : str or None
        Name of that model (e.g. ``facets+meaning``).
    criterion : DataFrame or None
        Each scale hierarchy's root against each criterion scale: ``scale, criterion,
        latent_correlation`` (two-factor CFA), ``htmt``, ``score_correlation`` (Pearson r of the
        scale scores of :func:`instrument.score.score_items`), ``n_obs``.
    invariance : InvarianceResult or None
    invariance_model : str or None
        Name of the model tested for invariance.
    omega_hierarchical : OmegaResult or None
        For instruments without sub-scales (no facets under themes): psych ``omega(x, nfactors)``
        of all structure items at ``n_factors`` (default: the retention rule's number), the
        general factor's omega hierarchical by Schmid–Leiman (psych's default ``flip = TRUE``,
        no keys).
    complete_case : CompleteCaseReport or None
        :func:`analysis.sem.missingness.complete_case_report` of the structure items: how many
        respondents listwise deletion keeps and which items' gaps cost most (its ``note()`` is the
        report line when fewer than 70% would be kept).
    irt : IRTStudy or None
        :func:`analysis.study.irt.irt_study`: graded response model per leaf scale, with DIF
        across ``group_by``.
    steps : tuple of Step
    bifactor : dict
        The method models (:func:`analysis.study.models.method_models`, same estimator and rows
        as the CFA): ``fits`` (name to fitted model: ``bifactor``, ``acquiescence``), ``skipped``
        (name to reason), ``indices`` (:class:`analysis.sem.bifactor.BifactorIndices` of the
        bifactor fit or None) and ``total_score`` ((label, reason) of
        :func:`analysis.sem.bifactor.total_score_verdict`: ``justified``, ``not justified`` or
        ``provisional`` when no bifactor evidence exists).
    estimator_warning : str
        Non-empty when ML was applied to items with five or fewer response categories.
    """

    instrument: dict
    options: dict
    provenance: dict
    data: DataSummary
    distribution: pd.DataFrame
    item_statistics: pd.DataFrame | None = None
    reliability: Any = None
    polychoric: Any = None
    kmo: Any = None
    bartlett: Any = None
    parallel: Any = None
    map: Any = None
    efa: Any = None
    suggested_factors: int | None = None
    factors_source: str = ""
    cfa: dict = field(default_factory=dict)
    cfa_estimator: str = "ML"
    cfa_skipped: dict = field(default_factory=dict)
    cfa_comparison: pd.DataFrame | None = None
    validity: Any = None
    validity_model: str | None = None
    criterion: pd.DataFrame | None = None
    invariance: Any = None
    invariance_model: str | None = None
    complete_case: Any = None
    irt: Any = None
    omega_hierarchical: Any = None
    steps: tuple[Step, ...] = ()
    bifactor: dict = field(default_factory=dict)
    estimator_warning: str = ""
    imputed: Any = None  # ImputedValidation with validate(..., impute=m)

    def step(self, name: str) -> Step:
        """The :class:`Step` record of one analysis."""
        for s in self.steps:
            if s.name == name:
                return s
        raise KeyError(f"no step {name!r}; steps: {', '.join(s.name for s in self.steps)}")

    def summary(self) -> pd.DataFrame:
        """One row per analysis: ``step, status, reason, seconds``."""
        return pd.DataFrame(
            [
                {"step": s.name, "status": s.status, "reason": s.reason, "seconds": s.seconds}
                for s in self.steps
            ]
        )

    # --- tables ------------------------------------------------------------------------------
    def tables(self) -> dict[str, pd.DataFrame]:
        """Every result table, named as the sheets of ``tables.xlsx`` (full precision).

        Tables of analyses that did not run are left out; :meth:`summary` says why.
        """
        return _tables(self)

    def to_dict(self) -> dict:
        """Every figure as plain JSON-ready values; the layout is documented in docs/results-schema.md."""
        return _to_dict(self)


# --------------------------------------------------------------------------------------------
# Inputs
# --------------------------------------------------------------------------------------------
def responses_from_frame(
    frame: pd.DataFrame,
    instrument: Instrument,
    *,
    source: str = "<data frame>",
    id_column: str | None = "respondent_id",
) -> ResponseTable:
    """A DataFrame in the Data entry layout as a :class:`ResponseTable` (for checking).

    Parameters
    ----------
    frame : DataFrame
        One row per respondent: item columns (named by item id), background columns (multiple
        choice as ``{id}_{code}``), any other columns (kept as metadata).
    instrument : Instrument
    source : str, default "<data frame>"
        Name used in problem records.
    id_column : str or None, default "respondent_id"
        Column with respondent ids; when absent, ids are ``<source>:<row>``.

    Returns
    -------
    ResponseTable
        ``source_row`` numbers rows as a spreadsheet would (header = row 1).

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> table = responses_from_frame(pd.DataFrame({"A1": [1, 2], "gender": [1, 2]}), bfi)
    >>> list(table.items.columns), list(table.background.columns), table.meta["source_row"].tolist()
    (['A1'], ['gender'], [2, 3])
    """
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"responses: expected a DataFrame or ResponseTable, got {type(frame).__name__}"
        )
    frame = frame.reset_index(drop=True)
    item_cols = [i for i in instrument.item_ids if i in frame.columns]
    bg_cols = []
    for q in instrument.background:
        if q.id in frame.columns:
            bg_cols.append(q.id)
        bg_cols += [
            c
            for c in frame.columns
            if isinstance(c, str)
            and c.startswith(f"{q.id}_")
            and c[len(q.id) + 1 :].lstrip("-").isdigit()
        ]
    rows = np.arange(len(frame)) + 2
    if id_column is not None and id_column in frame.columns:
        ids = frame[id_column].astype(object).where(frame[id_column].notna(), None)
        ids = pd.Series(
            [f"{source}:{r}" if v is None else str(v) for v, r in zip(ids, rows, strict=True)],
            dtype=object,
        )
    else:
        ids = pd.Series([f"{source}:{r}" for r in rows], dtype=object)
    meta = pd.DataFrame({"source_file": source, "source_row": rows, "respondent_id": ids})
    used = set(item_cols) | set(bg_cols) | ({id_column} if id_column else set())
    extra = [c for c in frame.columns if c not in used]
    for c in extra:
        meta[c] = frame[c].to_numpy()
    return ResponseTable(
        items=frame[item_cols],
        background=frame[bg_cols],
        meta=meta,
        problems=[],
        platform="dataframe",
        source=source,
    )


def structure_items(instrument: Instrument) -> tuple[str, ...]:
    """Items of the factor analyses: the items of the scale hierarchy, or all of a flat instrument.

    A root scale with children (the MHDQ's ``total``) holds the hypothesised structure; root
    scales without children beside it (the MHDQ's ``meaning``) are separate criterion scales,
    analysed for reliability and discriminant validity only. When every scale is a root (bfi),
    all items are analysed together.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> len(structure_items(load_instrument())), len(structure_items(load_instrument("examples/bfi.yaml")))
    (37, 25)
    """
    hierarchical = [s.id for s in instrument.root_scales if instrument.children(s.id)]
    if not hierarchical:
        return tuple(instrument.item_ids)
    members = {i for sid in hierarchical for i in instrument.scale_items(sid)}
    return tuple(i for i in instrument.item_ids if i in members)


def _check_tables(tables: Sequence[ResponseTable], instrument: Instrument) -> CheckedResponses:
    """Check several tables as one: duplicate ids are found across them; results concatenated."""
    seen = None
    parts: list[CheckedResponses] = []
    for table in tables:
        checked = check_responses(table, instrument, seen_ids=seen)
        kept = (
            checked.meta.loc[~checked.rejected, "respondent_id"]
            if "respondent_id" in checked.meta
            else None
        )
        if kept is not None and len(kept):
            seen = merge_seen(seen, hash_ids(kept))
        parts.append(checked)
    if len(parts) == 1:
        return parts[0]
    problems: list[Problem] = [p for c in parts for p in c.problems]

    def cat(attr: str) -> pd.DataFrame | pd.Series:
        return pd.concat([getattr(c, attr) for c in parts], ignore_index=True)

    return CheckedResponses(
        codes=cat("codes"),
        not_applicable=cat("not_applicable"),
        background=cat("background"),
        meta=cat("meta"),
        rejected=cat("rejected"),
        reasons=cat("reasons"),
        problems=problems,
    )


# --------------------------------------------------------------------------------------------
# The orchestration
# --------------------------------------------------------------------------------------------
#: The steps of :func:`validate` in the order they run, for its progress callback.
VALIDATION_STEPS = (
    "check",
    "responses",
    "item_statistics",
    "reliability",
    "polychoric",
    "factorability",
    "retention",
    "efa",
    "cfa",
    "validity",
    "invariance",
)


class _Runner:
    """Runs analysis steps, recording status, reason, warnings and time of each.

    With a ``progress`` callback, each step is announced before it runs as
    ``progress(done, total, name)``, ``done`` counting the steps of :data:`VALIDATION_STEPS`
    already finished, run or skipped.
    """

    def __init__(self, progress: Callable[[int, int | None, str], None] | None = None) -> None:
        self.steps: list[Step] = []
        self.progress = progress

    def announce(self, name: str) -> None:
        if self.progress is not None:
            done = len({s.name for s in self.steps} & set(VALIDATION_STEPS))
            self.progress(min(done, len(VALIDATION_STEPS)), len(VALIDATION_STEPS), name)

    def skip(self, name: str, reason: str, status: str = "skipped") -> None:
        self.steps.append(Step(name, status, reason))

    def run(self, name: str, fn: Callable[[], Any]) -> Any:
        self.announce(name)
        start = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                value = fn()
            except _ANALYSIS_ERRORS as exc:
                self.steps.append(
                    Step(
                        name,
                        "failed",
                        f"{type(exc).__name__}: {exc}",
                        _warning_texts(caught),
                        time.perf_counter() - start,
                    )
                )
                return None
        self.steps.append(Step(name, "ok", "", _warning_texts(caught), time.perf_counter() - start))
        return value


def _warning_texts(caught: Iterable[warnings.WarningMessage]) -> tuple[str, ...]:
    out: list[str] = []
    for w in caught:
        text = f"{w.category.__name__}: {w.message}"
        if text not in out:
            out.append(text)
    return tuple(out)


def _distribution(
    codes: pd.DataFrame, not_applicable: pd.DataFrame, instrument: Instrument
) -> pd.DataFrame:
    all_codes = sorted({c for rs in instrument.response_scales.values() for c in rs.codes})
    rows = []
    for item in instrument.item_ids:
        x = codes[item].to_numpy(dtype="float64", na_value=np.nan)
        answered = ~np.isnan(x)
        n = int(answered.sum())
        na = int(not_applicable[item].sum())
        rec: dict[str, Any] = {
            "item": item,
            "scale": instrument.item(item).scale,
            "keyed": instrument.item(item).keyed,
            "n": n,
            "missing": int(len(x) - n - na),
            "not_applicable": na,
        }
        allowed = set(instrument.response_scale_of(item).codes)
        for code in all_codes:
            rec[f"share_{code}"] = (
                float((x[answered] == code).sum() / n) if n and code in allowed else np.nan
            )
        rec["mean"] = float(np.nanmean(x)) if n else np.nan
        rec["sd"] = float(np.nanstd(x, ddof=1)) if n > 1 else np.nan
        rows.append(rec)
    return pd.DataFrame(rows).set_index("item")


def _group_column(name: str, checked: CheckedResponses) -> pd.Series:
    """The grouping column from the background answers or the metadata; UsageError listing the columns."""
    candidates: dict[str, pd.Series] = {}
    for frame in (checked.background, checked.meta):
        for c in frame.columns:
            if c not in candidates and c not in ("source_file", "source_row", "respondent_id"):
                candidates[str(c)] = frame[c].reset_index(drop=True)
    if name not in candidates:
        from instrument.errors import UsageError

        available = ", ".join(sorted(candidates)) or "none"
        raise UsageError(f"--group-by {name!r}: no such column in the data; available: {available}")
    return candidates[name]


def _group_labels(name: str, values: pd.Series, instrument: Instrument) -> pd.Series:
    """Group values as readable labels (choice labels for a single-choice background question)."""
    labels: dict[Any, str] = {}
    if name in instrument.background_ids:
        q = next(q for q in instrument.background if q.id == name)
        lang = instrument.default_language
        labels = {float(c.code): c.label.get(lang, str(c.code)) for c in q.choices}

    def label(v: Any) -> Any:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
            return None
        try:
            key = float(v)
        except (TypeError, ValueError):
            return str(v)
        return labels.get(key, str(int(key)) if key.is_integer() else str(v))

    return pd.Series([label(v) for v in values], index=values.index, dtype=object)


def _as_tables(responses: Any, instrument: Instrument) -> list[ResponseTable]:
    if isinstance(responses, pd.DataFrame):
        return [responses_from_frame(responses, instrument)]
    if isinstance(responses, ResponseTable):
        return [responses]
    if (
        isinstance(responses, Sequence)
        and responses
        and all(isinstance(t, ResponseTable) for t in responses)
    ):
        return list(responses)
    raise TypeError(
        "responses: expected a DataFrame, a ResponseTable or a non-empty list of ResponseTables, "
        f"got {type(responses).__name__}"
    )


def _is_synthetic(tables: Sequence[ResponseTable], checked: CheckedResponses) -> bool:
    """True when the input marks itself synthetic (a ``synthetic`` column, read or set aside)."""
    if any(
        p.column == "synthetic" and p.rule == "unknown_column" for t in tables for p in t.problems
    ):
        return True
    return any(
        "synthetic" in frame.columns
        and bool(frame["synthetic"].astype(str).str.lower().eq("synthetic").any())
        for frame in (checked.meta, checked.background)
    )


def _instrument_info(instrument: Instrument) -> dict:
    struct = set(structure_items(instrument))
    lang = instrument.default_language
    scales = list(instrument.response_scales.values())
    shared = len({(rs.codes, tuple(rs.labels.get(lang, ()))) for rs in scales}) == 1
    return {
        "name": instrument.metadata.name,
        "short_name": instrument.metadata.short_name,
        "version": instrument.version,
        "fingerprint": instrument.fingerprint,
        "source": instrument.source,
        "roots": [[s.id, list(instrument.scale_items(s.id))] for s in instrument.root_scales],
        "n_structure_leaves": len(
            [s for s in instrument.leaf_scales if set(instrument.scale_items(s.id)) & struct]
        ),
        "category_labels": {str(c): scales[0].label(c, lang) for c in scales[0].codes}
        if shared
        else {},
    }


def _omega_resamples(n_boot: int | None) -> int:
    from analysis.study.reliability_table import TABLE_OMEGA_N_BOOT

    return int(TABLE_OMEGA_N_BOOT) if n_boot is None else int(n_boot)


def validate(
    responses: pd.DataFrame | ResponseTable | Sequence[ResponseTable],
    instrument: Instrument,
    *,
    group_by: str | None = None,
    ordinal: bool = False,
    seed: int = 20240601,
    missing: str = "pairwise",
    cfa_missing: str = "auto",
    n_boot: int | None = None,
    n_iter: int = 20,
    ci_level: float = 0.95,
    invariance_steps: Sequence[str] = ("configural", "metric", "scalar"),
    irt: bool | None = None,
    progress: Callable[[int, int | None, str], None] | None = None,
    n_factors: int | None = None,
    rotation: str | None = "oblimin",
    fm: str = "minres",
    impute: int | None = None,
    impute_method: str = "pmm",
) -> ValidationResults:
    """Run the validation analyses of an instrument on collected responses.

    Parameters
    ----------
    responses : DataFrame, ResponseTable or sequence of ResponseTable
        As read by :func:`instrument.read.read_responses`, several files at once (duplicate
        respondent ids are found across them), or a DataFrame in the Data entry layout
        (:func:`responses_from_frame`).
    instrument : Instrument
        The specification the responses were collected with.
    group_by : str, optional
        Background (or metadata) column to test measurement invariance across.
    ordinal : bool, default False
        Treat items as ordinal: ordinal alpha and omega, KMO, retention and EFA on polychoric
        correlations, CFA and validity by WLSMV (:class:`analysis.sem.wlsmv.OrdinalCFA`). Invariance
        stays ML (multi-group WLSMV is not available).
    seed : int, default 20240601
        Seed of every random step (parallel analysis, split-half sampling, bootstrap).
    missing : {"pairwise", "listwise"}, default "pairwise"
        Missing answers in item statistics, reliability and correlations.
    cfa_missing : {"auto", "ml", "listwise", "pairwise"}, default "auto"
        Missing and not-applicable answers in CFA, validity and invariance: full-information ML
        (lavaan ``missing = "ml"``) or listwise deletion (lavaan's default for ML). ``"auto"``
        uses full-information ML whenever a model item has a missing or not-applicable answer
        (listwise otherwise, where both are the same fit); with full-information ML every model
        is also fitted on the complete rows as a sensitivity check (the comparison table's
        ``listwise_*`` columns). With ``ordinal=True`` (WLSMV) ``"auto"`` uses pairwise-present
        polychoric statistics (lavaan ``missing = "pairwise"``; ``"pairwise"``) whenever a model
        item has a gap, and invariance, which stays ML, uses full-information ML then.
    n_boot : int or None, default None
        Bootstrap resamples. None: no bootstrap interval for alpha (the analytic Feldt and
        Duhachek intervals only, as ``psych::alpha``'s default ``n.iter = 1``) and
        :data:`analysis.study.reliability_table.TABLE_OMEGA_N_BOOT` resamples for the omega
        intervals. A number: that many for both alpha and omega (0: no bootstrap at all, the
        fastest; 1 is
        refused). Omega intervals are not bootstrapped for scales with fewer than
        :data:`analysis.study.reliability_table.TABLE_OMEGA_MIN_N` respondents (the reliability
        step's warnings and the table's problems say so).
    n_iter : int, default 20
        Simulated data sets of the parallel analysis (``psych::fa.parallel``'s default).
    ci_level : float, default 0.95
    invariance_steps : sequence of str, default ("configural", "metric", "scalar")
    irt : bool or None, default None
        The IRT section (:func:`analysis.study.irt.irt_study`). None: on for leaf scales with at
        least :data:`~analysis.study.irt.IRT_MIN_ITEMS` items and
        :data:`~analysis.study.irt.IRT_MIN_RESPONDENTS` respondents; True (``--irt``): for every
        scale with 3 or more items and 50 respondents; False (``--no-irt``): not run.
    progress : callable, optional
        Called as ``progress(done, total, step)`` before each analysis step (``step`` one of
        :data:`VALIDATION_STEPS`, ``done`` the steps finished) and as ``progress(total, total,
        "done")`` at the end; the command line shows it as a progress display.
    n_factors : int, optional
        Factors of the EFA (``psych::fa(r, nfactors)``); default: parallel analysis's number.
    rotation : {"oblimin", "promax", "varimax", "geomin", None}, default "oblimin"
        EFA rotation (psych's names; None: unrotated).
    fm : {"minres", "ml", "pa"}, default "minres"
        EFA extraction (psych ``fm``).
    impute : int, optional
        Also impute the missing answers this many times by chained equations and pool
        reliability and the CFA models over the imputations (:func:`analysis.study.imputed.
        validate_imputed`; ``ValidationResults.imputed``). Not-applicable and skipped answers
        are not imputed.
    impute_method : {"pmm", "polr"}, default "pmm"
        Imputation model of the items: predictive mean matching or proportional odds.

    Returns
    -------
    ValidationResults

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> from analysis.simulate.cohort import simulate_cohort
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> data = simulate_cohort(bfi, n=300, seed=1).responses  # synthetic
    >>> res = validate(data, bfi, seed=1)
    >>> res.data.n_used, res.step("reliability").status
    (300, 'ok')
    """
    if not isinstance(instrument, Instrument):
        raise TypeError(f"instrument: expected an Instrument, got {type(instrument).__name__}")
    _check_step_options(
        missing=missing,
        cfa_missing=cfa_missing,
        ordinal=ordinal,
        n_boot=n_boot,
        n_iter=n_iter,
        ci_level=ci_level,
    )
    _check_efa_options(n_factors=n_factors, rotation=rotation, fm=fm)
    _check_impute_options(impute=impute, impute_method=impute_method)
    tables = _as_tables(responses, instrument)
    run = _Runner(progress)
    run.announce("check")
    start = time.perf_counter()
    checked = _check_tables(tables, instrument)
    run.steps.append(Step("check", "ok", "", (), time.perf_counter() - start))

    keep = ~checked.rejected.to_numpy(dtype=bool)
    codes = checked.codes.reset_index(drop=True)[keep].reset_index(drop=True)
    not_applicable = checked.not_applicable.reset_index(drop=True)[keep].reset_index(drop=True)
    n_used = int(keep.sum())
    struct = structure_items(instrument)
    requested_cfa_missing = cfa_missing
    cfa_missing = resolve_cfa_missing(cfa_missing, codes, struct, ordinal=ordinal)
    groups, group_sizes = _groups(group_by, checked, keep, instrument)
    data = _data_summary(tables, checked, codes, struct, group_by=group_by, group_sizes=group_sizes)
    start = time.perf_counter()
    distribution = _distribution(codes, not_applicable, instrument)
    run.steps.append(Step("responses", "ok", "", (), time.perf_counter() - start))

    from analysis.report.html import data_hash, software_versions

    options = {
        "missing": missing,
        "cfa_missing": cfa_missing,
        "cfa_missing_requested": requested_cfa_missing,
        "ordinal": bool(ordinal),
        "seed": seed,
        "group_by": group_by,
        "n_boot": 0 if n_boot is None else int(n_boot),
        "omega_n_boot": _omega_resamples(n_boot),
        "n_iter": int(n_iter),
        "ci_level": ci_level,
        "invariance_steps": list(invariance_steps),
        "n_factors": None if n_factors is None else int(n_factors),
        "rotation": rotation,
        "fm": fm,
        "correlation": "polychoric" if ordinal else "pearson",
        "cfa_estimator": "WLSMV" if ordinal else "ML",
        "invariance_estimator": "ML",
        "irt": irt,
        "impute": None if impute is None else int(impute),
        "impute_method": None if impute is None else impute_method,
    }
    out: dict[str, Any] = {}

    # --- item statistics and reliability ----------------------------------------------------
    _reliability_steps(
        run,
        out,
        codes,
        instrument,
        n_used=n_used,
        missing=missing,
        ci_level=ci_level,
        n_boot=n_boot,
        seed=seed,
        ordinal=ordinal,
    )

    # --- correlations, factorability, retention, EFA ----------------------------------------
    _exploratory_steps(
        run,
        out,
        codes,
        struct,
        instrument,
        missing=missing,
        ordinal=ordinal,
        seed=seed,
        n_iter=int(n_iter),
        efa_options={"n_factors": n_factors, "rotation": rotation, "fm": fm},
    )

    # --- CFA ----------------------------------------------------------------------------------
    _cfa_steps(run, out, codes, instrument, ordinal=ordinal, cfa_missing=cfa_missing)
    if struct:
        from analysis.sem.missingness import complete_case_report

        out["complete_case"] = complete_case_report(
            codes, list(struct), not_applicable=not_applicable[list(struct)]
        )

    # --- bifactor and method factor --------------------------------------------------------------
    _method_step(run, out, codes, instrument, ordinal=ordinal, cfa_missing=cfa_missing)

    # --- validity -----------------------------------------------------------------------------
    _validity_step(run, out, codes, instrument, ordinal=ordinal, cfa_missing=cfa_missing)

    # --- invariance ---------------------------------------------------------------------------
    if group_by is None:
        run.skip("invariance", "no --group-by column given", status="not_requested")
    else:
        _invariance_step(
            run,
            out,
            codes,
            groups,
            group_by,
            instrument,
            steps=invariance_steps,
            # invariance is ML even with --ordinal: pairwise-present WLSMV becomes FIML there
            cfa_missing="ml" if cfa_missing == "pairwise" else cfa_missing,
        )

    # --- item response theory ----------------------------------------------------------------
    _irt_step(run, out, codes, groups, group_by, instrument, irt=irt, seed=seed)
    if impute is not None:
        _imputation_step(
            run,
            out,
            codes,
            not_applicable,
            instrument,
            m=int(impute),
            method=impute_method,
            seed=seed,
            ci_level=ci_level,
        )

    provenance = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "software": software_versions(),
        "data_hash": data_hash(codes),
    }
    if progress is not None:
        progress(len(VALIDATION_STEPS), len(VALIDATION_STEPS), "done")
    return ValidationResults(
        instrument=_instrument_info(instrument),
        options=options,
        provenance=provenance,
        data=data,
        distribution=distribution,
        item_statistics=out.get("item_statistics"),
        reliability=out.get("reliability"),
        polychoric=out.get("polychoric"),
        kmo=out.get("kmo"),
        bartlett=out.get("bartlett"),
        parallel=out.get("parallel"),
        map=out.get("map"),
        efa=out.get("efa"),
        suggested_factors=out.get("suggested_factors"),
        factors_source=out.get("factors_source", ""),
        cfa=out.get("cfa", {}),
        cfa_estimator=out.get("cfa_estimator", "ML"),
        cfa_skipped=out.get("cfa_skipped", {}),
        cfa_comparison=out.get("cfa_comparison"),
        complete_case=out.get("complete_case"),
        omega_hierarchical=out.get("omega_hierarchical"),
        validity=out.get("validity"),
        validity_model=out.get("validity_model"),
        criterion=out.get("criterion"),
        invariance=out.get("invariance"),
        invariance_model=out.get("invariance_model"),
        irt=out.get("irt"),
        steps=tuple(run.steps),
        bifactor=out.get("bifactor", {}),
        estimator_warning="" if ordinal else ml_categories_warning(instrument),
        imputed=out.get("imputed"),
    )


def _check_step_options(
    *,
    missing: str,
    cfa_missing: str,
    ordinal: bool,
    n_boot: int | None,
    n_iter: int,
    ci_level: float,
) -> None:
    """Refuse invalid missing-data, bootstrap, iteration and interval options of validate."""
    if missing not in MISSING_RULES:
        raise ValueError(f"missing: must be one of {', '.join(MISSING_RULES)}, got {missing!r}")
    if n_boot is not None and (
        not isinstance(n_boot, (int, np.integer)) or n_boot < 0 or n_boot == 1
    ):
        # 1 resample gives no interval: refused here rather than failing the whole reliability step
        raise ValueError(
            "n_boot (--bootstrap): must be 0 (no bootstrap) or at least 2 resamples, got "
            f"{n_boot!r}"
        )
    if not isinstance(n_iter, (int, np.integer)) or n_iter < 1:
        raise ValueError(f"n_iter: must be a whole number of at least 1, got {n_iter!r}")
    if cfa_missing not in CFA_MISSING_RULES:
        raise ValueError(
            f"cfa_missing: must be one of {', '.join(CFA_MISSING_RULES)}, got {cfa_missing!r}"
        )
    if ordinal and cfa_missing == "ml":
        raise ValueError(
            "cfa_missing: full-information ML is not available for ordinal (WLSMV) CFA; "
            "use cfa_missing='pairwise' or 'listwise' with ordinal=True"
        )
    if not ordinal and cfa_missing == "pairwise":
        raise ValueError(
            "cfa_missing: 'pairwise' is for ordinal (WLSMV) CFA; use 'ml' or 'listwise' for ML"
        )
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level: must be between 0 and 1, got {ci_level!r}")


def _check_efa_options(*, n_factors: int | None, rotation: str | None, fm: str) -> None:
    """Refuse an invalid number of factors, rotation or extraction method of validate's EFA."""
    from analysis.factor.efa import METHODS, ROTATIONS

    if n_factors is not None and (
        not isinstance(n_factors, (int, np.integer)) or isinstance(n_factors, bool) or n_factors < 1
    ):
        raise ValueError(f"n_factors: must be a whole number of at least 1, got {n_factors!r}")
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation: must be one of {ROTATIONS}, got {rotation!r}")
    if fm not in METHODS:
        raise ValueError(f"fm: must be one of {METHODS}, got {fm!r}")


def _check_impute_options(*, impute: int | None, impute_method: str) -> None:
    """Refuse an invalid number of imputations or imputation method of validate."""
    if impute is None:
        return
    from analysis.study.imputed import IMPUTATION_METHODS

    if isinstance(impute, bool) or not isinstance(impute, (int, np.integer)) or impute < 2:
        raise ValueError(f"impute: need at least 2 imputations, got {impute!r}")
    if impute_method not in IMPUTATION_METHODS:
        raise ValueError(
            f"impute_method: must be one of {', '.join(IMPUTATION_METHODS)}, got {impute_method!r}"
        )


def _groups(
    group_by: str | None, checked: CheckedResponses, keep: np.ndarray, instrument: Instrument
) -> tuple[pd.Series | None, pd.DataFrame | None]:
    """Group labels of the kept rows and the size of each group (None, None without group_by)."""
    if group_by is None:
        return None, None
    raw_group = _group_column(group_by, checked).reset_index(drop=True)[keep].reset_index(drop=True)
    groups = _group_labels(group_by, raw_group, instrument)
    counts = groups.fillna("missing").value_counts(sort=False)
    group_sizes = pd.DataFrame(
        {"group": group_by, "label": counts.index.astype(str), "n": counts.to_numpy()}
    )
    return groups, group_sizes


def _rejected_by_rule(checked: CheckedResponses) -> dict[str, int]:
    """Number of rejected rows per check rule (a row rejected by two rules counts for both)."""
    counts: dict[str, int] = {}
    for reasons in checked.reasons[checked.rejected.to_numpy(dtype=bool)]:
        for rule in str(reasons).split(";"):
            if rule:
                counts[rule] = counts.get(rule, 0) + 1
    return counts


def _data_summary(
    tables: Sequence[ResponseTable],
    checked: CheckedResponses,
    codes: pd.DataFrame,
    struct: tuple[str, ...],
    *,
    group_by: str | None,
    group_sizes: pd.DataFrame | None,
) -> DataSummary:
    """Summarise the data read, rejected and used (``codes``: the kept rows)."""
    n_complete = int(codes[list(struct)].notna().all(axis=1).sum()) if struct else 0
    return DataSummary(
        sources=tuple(t.source for t in tables),
        platforms=tuple(t.platform for t in tables),
        n_read=int(checked.n_rows),
        n_rejected=int(checked.n_rejected),
        n_used=len(codes),
        problems=checked.summary(),
        rejected_by_rule=_rejected_by_rule(checked),
        structure_items=struct,
        n_complete=n_complete,
        group_by=group_by,
        group_sizes=group_sizes,
        synthetic=_is_synthetic(tables, checked),
    )


def _reliability_steps(
    run: _Runner,
    out: dict[str, Any],
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    n_used: int,
    missing: str,
    ci_level: float,
    n_boot: int | None,
    seed: int,
    ordinal: bool,
) -> None:
    """Run (or skip, with too few respondents) the item statistics and reliability steps."""
    # listwise deletion, when asked for, is per scale inside the reliability functions
    if n_used < MIN_RESPONDENTS["item_statistics"]:
        run.skip(
            "item_statistics",
            f"{n_used} respondents used; item statistics need at least "
            f"{MIN_RESPONDENTS['item_statistics']}",
        )
    else:
        out["item_statistics"] = run.run(
            "item_statistics", lambda: _item_statistics(codes, instrument, missing)
        )
    if n_used < MIN_RESPONDENTS["reliability"]:
        run.skip(
            "reliability",
            f"{n_used} respondents used; reliability needs at least "
            f"{MIN_RESPONDENTS['reliability']}",
        )
        return
    from analysis.study.reliability_table import TABLE_OMEGA_MIN_N, reliability_table

    def reliability() -> Any:
        table = reliability_table(
            codes,
            instrument,
            missing=missing,
            ci_level=ci_level,
            n_boot=0 if n_boot is None else int(n_boot),
            omega_n_boot=_omega_resamples(n_boot),
            seed=seed,
            ordinal=ordinal,
        )
        skipped = [p.split(":", 1)[0] for p in table.problems if ": omega_interval: skipped:" in p]
        if skipped:  # the step's record says so too, not only the table's problems
            warnings.warn(
                f"omega bootstrap intervals not computed for {len(skipped)} scale(s) "
                f"({', '.join(skipped)}): fewer than {TABLE_OMEGA_MIN_N} respondents",
                DataQualityWarning,
                stacklevel=2,
            )
        return table

    out["reliability"] = run.run("reliability", reliability)


def _too_few_for_factors(p: int, n_fa: int) -> str | None:
    """Why the factor analyses cannot run on ``n_fa`` respondents and ``p`` items (None: they can)."""
    if p < 3:
        return f"{p} structure items with answers; factor analyses need at least 3"
    if n_fa < max(MIN_RESPONDENTS["factor_analysis"], p + 1):
        return (
            f"{n_fa} respondents for {p} items; factor analyses need more respondents than items "
            f"and at least {MIN_RESPONDENTS['factor_analysis']}"
        )
    return None


def _exploratory_steps(
    run: _Runner,
    out: dict[str, Any],
    codes: pd.DataFrame,
    struct: tuple[str, ...],
    instrument: Instrument,
    *,
    missing: str,
    ordinal: bool,
    seed: int,
    n_iter: int,
    efa_options: dict[str, Any],
) -> None:
    """Run the polychoric, factorability, retention, EFA and omega hierarchical steps."""
    present_struct = [i for i in struct if codes[i].notna().any()]
    fa_items = codes[present_struct]
    if missing == "listwise":
        fa_items = fa_items.dropna()
    p = len(present_struct)
    n_fa = len(fa_items)
    too_few = _too_few_for_factors(p, n_fa)
    if too_few:
        for name in ("polychoric", "factorability", "retention", "efa"):
            run.skip(name, too_few)
        return
    from analysis.factor.polychoric import polychoric

    corr_input: Any = fa_items
    out["polychoric"] = run.run("polychoric", lambda: polychoric(fa_items))
    if ordinal:
        if out["polychoric"] is None:
            for name in ("factorability", "retention", "efa"):
                run.skip(name, "ordinal analyses need the polychoric correlations, which failed")
            corr_input = None
        else:
            corr_input = out["polychoric"]
    if corr_input is not None:
        _factor_steps(
            run,
            out,
            corr_input,
            n_fa,
            instrument,
            seed=seed,
            n_iter=n_iter,
            efa_options=efa_options,
        )
    if not instrument_has_hierarchy(instrument):
        _omega_hierarchical_step(
            run,
            out,
            fa_items,
            n_factors=efa_options["n_factors"],
            missing=missing,
            ordinal=ordinal,
        )


def _omega_hierarchical_step(
    run: _Runner,
    out: dict[str, Any],
    fa_items: pd.DataFrame,
    *,
    n_factors: int | None,
    missing: str,
    ordinal: bool,
) -> None:
    """Run omega hierarchical on the structure items with the EFA's (or retention's) factors."""
    p = fa_items.shape[1]
    k_omega = n_factors if n_factors is not None else out.get("suggested_factors")
    if k_omega is None or k_omega < 2 or k_omega >= p:
        run.skip(
            "omega_hierarchical",
            f"omega hierarchical needs 2 to {p - 1} factors, got {k_omega}",
        )
        return
    from analysis.reliability import omega

    out["omega_hierarchical"] = run.run(
        "omega_hierarchical",
        lambda: omega(
            fa_items,
            n_factors=int(k_omega),
            missing=missing,
            correlation="polychoric" if ordinal else "pearson",
        ),
    )


def _imputation_step(
    run: _Runner,
    out: dict[str, Any],
    codes: pd.DataFrame,
    not_applicable: pd.DataFrame,
    instrument: Instrument,
    *,
    m: int,
    method: str,
    seed: int,
    ci_level: float,
) -> None:
    """Impute the missing answers ``m`` times and pool reliability and the CFA models."""
    from analysis.study.imputed import validate_imputed

    out["imputed"] = run.run(
        "imputation",
        lambda: validate_imputed(
            codes,
            instrument,
            not_applicable=not_applicable,
            m=m,
            method=method,
            seed=seed,
            ci_level=ci_level,
        ),
    )


# --------------------------------------------------------------------------------------------
# Steps
# --------------------------------------------------------------------------------------------
def _item_scales(instrument: Instrument) -> list[str]:
    """Scales whose item statistics are reported: every leaf scale (each item once)."""
    return [s.id for s in instrument.leaf_scales]


def _item_statistics(codes: pd.DataFrame, instrument: Instrument, missing: str) -> pd.DataFrame:
    from analysis.study.items import item_analysis

    frames = []
    for sid in _item_scales(instrument):
        present = [i for i in instrument.scale_items(sid) if codes[i].notna().any()]
        if len(present) < 2:
            continue
        res = item_analysis(codes[present], keys=instrument, missing=missing, scale=sid)
        frames.append(res.summary())
    if not frames:
        raise ValueError("no scale has two or more items with answers")
    return pd.concat(frames, ignore_index=True)


def _factor_steps(
    run: _Runner,
    out: dict,
    corr_input: Any,
    n_obs: int,
    instrument: Instrument,
    *,
    seed: int,
    n_iter: int,
    efa_options: dict | None = None,
) -> None:
    from analysis.factor.efa import EFA

    opts = {"n_factors": None, "rotation": "oblimin", "fm": "minres", **(efa_options or {})}
    from analysis.factor.factorability import bartlett_sphericity, kmo
    from analysis.factor.retention import parallel_analysis, velicer_map

    got = run.run(
        "factorability", lambda: (kmo(corr_input), bartlett_sphericity(corr_input, n_obs=n_obs))
    )
    if got is not None:
        out["kmo"], out["bartlett"] = got

    hypothesised = len(
        [
            s
            for s in instrument.leaf_scales
            if set(instrument.scale_items(s.id)) & set(structure_items(instrument))
        ]
    )
    got = run.run(
        "retention",
        lambda: (
            parallel_analysis(corr_input, n_iter=n_iter, n_obs=n_obs, seed=seed),
            velicer_map(corr_input),
        ),
    )
    if got is not None:
        out["parallel"], out["map"] = got
    pa = out.get("parallel")
    if pa is not None and pa.n_factors >= 1:
        k, source = (
            int(pa.n_factors),
            "parallel analysis (factor eigenvalues above the simulated 95th percentile)",
        )
    else:
        k = max(1, hypothesised)
        source = "the number of leaf scales in the specification (parallel analysis suggested none or did not run)"
    p = corr_input.rho.shape[0] if hasattr(corr_input, "rho") else corr_input.shape[1]
    k = min(k, p - 1)
    out["suggested_factors"], out["factors_source"] = k, source
    if opts["n_factors"] is not None:
        if opts["n_factors"] >= p:
            run.skip("efa", f"--nfactors {opts['n_factors']}: needs fewer factors than items ({p})")
            return
        k = int(opts["n_factors"])
        out["factors_source"] = (
            f"--nfactors {k} (the retention rule suggested {out['suggested_factors']})"
        )
    out["efa"] = run.run(
        "efa",
        lambda: EFA(k, method=opts["fm"], rotation=opts["rotation"]).fit(corr_input, n_obs=n_obs),
    )


_USABLE = {
    "listwise": "answered every model item (listwise)",
    "ml": "answered at least one model item (FIML)",
    "pairwise": "answered at least one model item (pairwise-present WLSMV)",
}


def _model_rows(frame: pd.DataFrame, cfa_missing: str) -> pd.DataFrame:
    """Rows a CFA uses: complete rows (listwise) or rows with any answer (FIML, pairwise)."""
    return frame.dropna() if cfa_missing == "listwise" else frame[frame.notna().any(axis=1)]


def _models_data(
    models: dict, instrument: Instrument, codes: pd.DataFrame, cfa_missing: str
) -> tuple[list[str], pd.DataFrame]:
    """The items of ``models`` in the specification's order, and the rows their fits use."""
    order = list(instrument.item_ids).index
    items = sorted({i for m in models.values() for i in m.observed}, key=order)
    return items, _model_rows(codes[items], cfa_missing)


def _cfa_steps(
    run: _Runner,
    out: dict,
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    ordinal: bool,
    cfa_missing: str,
) -> None:
    from analysis.study.models import hypothesised_models, skipped_models

    try:
        models = hypothesised_models(instrument)
        skipped = dict(skipped_models(instrument))
    except ValueError as exc:
        run.skip("cfa", f"no hypothesised models: {exc}")
        return
    out["cfa_skipped"] = skipped
    if not models:
        run.skip("cfa", "the specification implies no identified CFA model")
        return
    items, data = _models_data(models, instrument, codes, cfa_missing)
    if len(data) < max(MIN_RESPONDENTS["cfa"], len(items) + 1):
        run.skip(
            "cfa",
            f"{len(data)} respondents {_USABLE[cfa_missing]}; CFA needs more "
            f"respondents than items ({len(items)}) and at least {MIN_RESPONDENTS['cfa']}",
        )
        return
    from analysis.sem.cfa import CFA, compare_models

    def fit_all() -> dict:
        fit_kwargs: dict[str, Any] = {}
        if ordinal:
            from analysis.sem.wlsmv import OrdinalCFA, ordinal_statistics

            # every model uses the same rows (listwise over all the models' items, or pairwise), so
            # the thresholds, polychoric correlations and Γ are computed once and each model takes
            # its items' block (OrdinalStatistics.subset); identical fits, a quarter of the work
            try:
                fit_kwargs["statistics"] = ordinal_statistics(data, missing=cfa_missing)
                out["_ordinal_statistics"] = (
                    data.index,
                    fit_kwargs["statistics"],
                )  # reused by validity
            except _ANALYSIS_ERRORS:
                pass  # e.g. an item with one observed answer: each model then reports its own failure

            def make(model: Any) -> CFA:
                return OrdinalCFA(model, missing=cfa_missing)
        else:

            def make(model: Any) -> CFA:
                return CFA(model, missing=cfa_missing)

        fits = {}
        for name, model in models.items():
            try:
                fits[name] = make(model).fit(data, **fit_kwargs)
            except _ANALYSIS_ERRORS as exc:
                skipped[name] = f"failed: {type(exc).__name__}: {exc}"
        if not fits:
            raise ValueError("no hypothesised model could be fitted")
        return fits

    fits = run.run("cfa", fit_all)
    if fits is None:
        return
    out["cfa"] = fits
    out["_cfa_rows"] = data.index  # the validity step reuses a fit on these rows
    out["cfa_estimator"] = "WLSMV" if ordinal else "ML"
    out["cfa_comparison"] = _wlsmv_comparison(fits) if ordinal else compare_models(fits)
    if cfa_missing == "ml" and not ordinal:
        out["cfa_comparison"] = _with_listwise(out["cfa_comparison"], fits, codes)


#: Fit measures of the listwise sensitivity fit added beside each FIML model.
LISTWISE_COLUMNS = ("chisq", "df", "cfi", "tli", "rmsea", "srmr")


def _with_listwise(table: pd.DataFrame, fits: dict, codes: pd.DataFrame) -> pd.DataFrame:
    """The comparison table with each model refitted on its complete rows (listwise deletion) as
    a sensitivity check: ``listwise_n_obs`` and ``listwise_<measure>`` (NaN when too few
    respondents answered every item of the model or the fit failed)."""
    from analysis.sem.cfa import CFA

    rows = []
    for name in table["model"]:
        model = fits[name].model_
        data = codes[list(model.observed)].dropna()
        rec: dict[str, Any] = {"listwise_n_obs": len(data)}
        rec.update({f"listwise_{c}": math.nan for c in LISTWISE_COLUMNS})
        if len(data) >= max(MIN_RESPONDENTS["cfa"], len(model.observed) + 1):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter(
                        "ignore"
                    )  # the sensitivity fit's warnings are not the model's
                    fm = CFA(model, missing="listwise").fit(data).fit_measures_
                rec.update({f"listwise_{c}": float(fm[c]) for c in LISTWISE_COLUMNS})
            except _ANALYSIS_ERRORS:
                pass
        rows.append(rec)
    return pd.concat([table.reset_index(drop=True), pd.DataFrame(rows)], axis=1)


def ml_categories_warning(instrument: Instrument, *, max_categories: int = 5) -> str:
    """A warning when normal-theory ML is applied to items with few response categories.

    Items answered on five or fewer ordered categories are not continuous: ML on their Pearson
    covariances underestimates loadings and distorts fit (Rhemtulla, Brosseau-Liard & Savalei
    2012, Psychological Methods 17:354-373); WLSMV on polychoric correlations (``--ordinal``) is
    the usual remedy. Returns ``""`` when no structure item has that few categories.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> "--ordinal" in ml_categories_warning(load_instrument("examples/bfi.yaml"), max_categories=6)
    True
    """
    items = structure_items(instrument)
    few = [i for i in items if len(instrument.response_scale_of(i).codes) <= max_categories]
    if not few:
        return ""
    k = max(len(instrument.response_scale_of(i).codes) for i in few)
    return (
        f"{len(few)} of the {len(items)} items have {k} or fewer response categories, but the "
        "factor models were fitted by normal-theory ML, which treats answers as continuous; with "
        f"≤ {max_categories} categories ML underestimates loadings and misjudges fit (Rhemtulla, "
        "Brosseau-Liard & Savalei 2012). Rerun with --ordinal (WLSMV on polychoric correlations)."
    )


def _method_step(
    run: _Runner,
    out: dict,
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    ordinal: bool,
    cfa_missing: str,
) -> None:
    """Fit the bifactor and acquiescence models; judge whether a total score is justified."""
    from analysis.sem.bifactor import bifactor_indices_of_fit, total_score_verdict
    from analysis.study.models import hypothesised_models, method_models

    block: dict[str, Any] = {"fits": {}, "skipped": {}, "indices": None}
    out["bifactor"] = block
    block["total_score"] = total_score_verdict(None)
    try:
        models, skipped = method_models(instrument)
    except ValueError as exc:
        run.skip("bifactor", f"no method models: {exc}")
        return
    block["skipped"] = dict(skipped)
    one = hypothesised_models(instrument).get("one_factor")
    block["general"] = None if one is None else one.latent[0]  # the total the indices judge
    if not models:
        run.skip("bifactor", "; ".join(f"{k}: {v}" for k, v in skipped.items()))
        return
    items, data = _models_data(models, instrument, codes, cfa_missing)
    if len(data) < max(MIN_RESPONDENTS["cfa"], len(items) + 1):
        run.skip(
            "bifactor",
            f"{len(data)} respondents {_USABLE[cfa_missing]}; the models need more respondents "
            f"than items ({len(items)}) and at least {MIN_RESPONDENTS['cfa']}",
        )
        return

    shared: dict[str, Any] = {}
    rows_and_statistics = out.get("_ordinal_statistics")
    if ordinal and rows_and_statistics is not None:
        rows, statistics = rows_and_statistics
        # the CFA's thresholds, polychorics and Γ: same complete rows, same items
        if set(items) <= set(statistics.items) and data.index.equals(rows):
            shared["statistics"] = statistics

    def fit_all() -> dict:
        from analysis.sem.cfa import CFA

        fits: dict[str, CFA] = {}
        for name, model in models.items():
            try:
                if ordinal:
                    from analysis.sem.wlsmv import OrdinalCFA

                    fits[name] = OrdinalCFA(model, missing=cfa_missing).fit(data, **shared)
                else:
                    fits[name] = CFA(model, missing=cfa_missing).fit(data)
            except _ANALYSIS_ERRORS as exc:
                block["skipped"][name] = f"failed: {type(exc).__name__}: {exc}"
        if not fits:
            raise ValueError("neither the bifactor nor the acquiescence model could be fitted")
        return fits

    fits = run.run("bifactor", fit_all)
    if fits is None:
        return
    block["fits"] = fits
    if "bifactor" in fits:
        general = models["bifactor"].latent[0]
        try:
            block["indices"] = bifactor_indices_of_fit(fits["bifactor"], general=general)
        except _ANALYSIS_ERRORS as exc:
            block["skipped"]["bifactor_indices"] = f"failed: {type(exc).__name__}: {exc}"
        else:
            block["total_score"] = total_score_verdict(block["indices"])


#: Columns of the WLSMV model comparison (lavaan's fitMeasures names, ``.`` as ``_``).
WLSMV_COMPARISON = [
    "npar",
    "chisq",
    "df",
    "pvalue",
    "chisq_scaled",
    "df_scaled",
    "pvalue_scaled",
    "cfi",
    "tli",
    "rmsea",
    "cfi_scaled",
    "tli_scaled",
    "rmsea_scaled",
    "cfi_robust",
    "tli_robust",
    "rmsea_robust",
    "rmsea_ci_lower_robust",
    "rmsea_ci_upper_robust",
    "srmr",
]


def _wlsmv_comparison(fits: dict) -> pd.DataFrame:
    """Fit of WLSMV models side by side (most constrained first); no Δχ² (it needs lavaan's DIFFTEST).

    ``n_obs`` is each model's respondents; ``pair_n_min``/``pair_n_max`` the fewest and most
    answering both items of a pair (equal to ``n_obs`` with listwise deletion)."""
    rows = [
        {
            "model": name,
            "n_obs": int(fit.n_obs_),
            "pair_n_min": int(fit.pair_n_range_[0]),
            "pair_n_max": int(fit.pair_n_range_[1]),
            **{c: float(fit.fit_measures_.get(c, np.nan)) for c in WLSMV_COMPARISON},
        }
        for name, fit in fits.items()
    ]
    return (
        pd.DataFrame(rows).sort_values("df", ascending=False, kind="stable").reset_index(drop=True)
    )


def _keyed_first(items: Sequence[str], instrument: Instrument) -> tuple[str, ...]:
    """Items with the first positively keyed one first (it becomes the factor's marker)."""
    items = list(items)
    positive = [i for i in items if instrument.item(i).keyed > 0]
    if positive:
        items.remove(positive[0])
        items.insert(0, positive[0])
    return tuple(items)


def instrument_has_hierarchy(instrument: Instrument) -> bool:
    """True when a scale of the specification has sub-scales (facets under themes, as the MHDQ).

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> instrument_has_hierarchy(load_instrument())
    True
    >>> instrument_has_hierarchy(load_instrument("examples/bfi.yaml"))
    False
    """
    return any(instrument.children(s.id) for s in instrument.root_scales)


def criterion_scales(instrument: Instrument) -> tuple[str, ...]:
    """Root scales outside the scale hierarchy (the MHDQ's ``meaning``): criterion scales.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> criterion_scales(load_instrument()), criterion_scales(load_instrument("examples/bfi.yaml"))
    (('meaning',), ())
    """
    hierarchical = [s.id for s in instrument.root_scales if instrument.children(s.id)]
    if not hierarchical:
        return ()
    return tuple(s.id for s in instrument.root_scales if not instrument.children(s.id))


def _validity_step(
    run: _Runner,
    out: dict,
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    ordinal: bool,
    cfa_missing: str,
) -> None:
    from analysis.sem.validity import validity

    name = _primary_first_order(out)
    if name is None:
        run.skip(
            "validity", "no first-order CFA model was fitted, so there are no factors to assess"
        )
        return
    from analysis.sem.cfa import CFA
    from analysis.sem.syntax import MeasurementModel

    primary = out["cfa"][name].model_
    criteria = [
        c
        for c in criterion_scales(instrument)
        if len([i for i in instrument.scale_items(c) if codes[i].notna().any()]) >= 2
    ]
    factors = [(f, primary.indicators(f)) for f in primary.first_order]
    factors += [(c, _keyed_first(instrument.scale_items(c), instrument)) for c in criteria]
    keyed = tuple((i, instrument.item(i).keyed) for _, inds in factors for i in inds)
    label = name + "".join(f"+{c}" for c in criteria)
    model = MeasurementModel(tuple(factors), keyed=keyed, name=label)
    data = _model_rows(codes[list(model.observed)], cfa_missing)
    if len(data) < max(MIN_RESPONDENTS["cfa"], len(model.observed) + 1):
        run.skip(
            "validity",
            f"{len(data)} respondents {_USABLE[cfa_missing]} of the {label} model; need more "
            f"than {len(model.observed)} and at least {MIN_RESPONDENTS['cfa']}",
        )
        return
    roots = [s.id for s in instrument.root_scales if instrument.children(s.id)]

    def make(m: Any) -> Any:
        if ordinal:
            from analysis.sem.wlsmv import OrdinalCFA

            return OrdinalCFA(m, missing=cfa_missing)
        return CFA(m, missing=cfa_missing)

    shared: dict[str, Any] = {}
    rows_and_statistics = out.get("_ordinal_statistics")
    if ordinal and rows_and_statistics is not None:
        rows, statistics = rows_and_statistics
        # the CFA's statistics when the validity model uses the same complete rows and a subset of
        # its items
        if set(model.observed) <= set(statistics.items) and data.index.equals(rows):
            shared["statistics"] = statistics

    reuse = out["cfa"][name] if _same_fit(model, primary, data, out.get("_cfa_rows")) else None

    def compute() -> tuple:
        # the primary model on the same rows (no criterion scales): its CFA fit is this fit
        fit = reuse if reuse is not None else make(model).fit(data, **shared)
        result = validity(fit, data)
        rows = []
        for root in roots:
            for c in criteria:
                two = MeasurementModel(
                    (
                        (root, _keyed_first([i for i in instrument.scale_items(root)], instrument)),
                        (c, _keyed_first(instrument.scale_items(c), instrument)),
                    ),
                    keyed=tuple(
                        (i, instrument.item(i).keyed)
                        for i in (*instrument.scale_items(root), *instrument.scale_items(c))
                    ),
                    name=f"{root}+{c}",
                )
                sub = _model_rows(codes[list(two.observed)], cfa_missing)
                pair = validity(make(two).fit(sub), sub)
                row = pair.pairs.iloc[0]
                rows.append(
                    {
                        "scale": root,
                        "criterion": c,
                        "latent_correlation": float(row["correlation"]),
                        "htmt": float(row["htmt"]),
                        "score_correlation": _score_correlation(codes, instrument, root, c),
                        "n_obs": len(sub),
                    }
                )
        criterion = pd.DataFrame(
            rows,
            columns=[
                "scale",
                "criterion",
                "latent_correlation",
                "htmt",
                "score_correlation",
                "n_obs",
            ],
        )
        return result, fit, criterion

    got = run.run("validity", compute)
    if got is not None:
        out["validity"], _, out["criterion"] = got
        out["validity_model"] = label


def _same_fit(model: Any, primary: Any, data: pd.DataFrame, cfa_rows: pd.Index | None) -> bool:
    """True when fitting ``model`` to ``data`` repeats the CFA step's fit of ``primary``: the same
    factors, constraints and keys, on the same items and respondents."""
    return (
        cfa_rows is not None
        and model.factors == primary.factors
        and model.residual_covariances == primary.residual_covariances
        and model.orthogonal == primary.orthogonal
        and model.fixed_loadings == primary.fixed_loadings
        and dict(model.keyed) == dict(primary.keyed)
        and data.index.equals(cfa_rows)
    )


def _score_correlation(codes: pd.DataFrame, instrument: Instrument, a: str, b: str) -> float:
    from instrument.score import score_items

    scores = score_items(codes, instrument)
    return float(scores[a].corr(scores[b]))


def _primary_first_order(out: dict) -> str | None:
    fits = out.get("cfa") or {}
    for name in ("facets", "themes", "one_factor"):
        if name in fits:
            return name
    return None


def _primary_model(out: dict) -> str | None:
    fits = out.get("cfa") or {}
    for name in ("facets", "second_order", "themes", "one_factor"):
        if name in fits:
            return name
    return None


def _invariance_step(
    run: _Runner,
    out: dict,
    codes: pd.DataFrame,
    groups: pd.Series,
    group_by: str,
    instrument: Instrument,
    *,
    steps: Sequence[str],
    cfa_missing: str,
) -> None:
    name = _primary_model(out)
    if name is None:
        run.skip(
            "invariance", "no CFA model was fitted, so there is no model to test across groups"
        )
        return
    model = out["cfa"][name].model_
    items = list(model.observed)
    frame = _model_rows(codes[items], cfa_missing).copy()
    frame[group_by] = groups.to_numpy()[frame.index.to_numpy()]
    frame = frame[frame[group_by].notna()]
    sizes = frame[group_by].value_counts()
    need = max(MIN_RESPONDENTS["invariance_group"], len(items) + 1)
    small = sizes[sizes < need]
    if len(sizes) - len(small) < 2:
        shown = ", ".join(f"{k}: {v}" for k, v in sizes.head(10).items())
        more = f" and {len(sizes) - 10} more groups" if len(sizes) > 10 else ""
        run.skip(
            "invariance",
            f"fewer than two groups of {group_by!r} have {need} or more usable respondents "
            f"(more than the {len(items)} items); group sizes: {shown}{more}",
        )
        return
    note = ""
    if len(small):
        frame = frame[~frame[group_by].isin(small.index)]
        note = f"groups left out (fewer than {need} usable respondents): {', '.join(map(str, small.index))}"
    from analysis.sem.invariance import measurement_invariance

    out["invariance_model"] = name
    res = run.run(
        "invariance",
        lambda: measurement_invariance(
            frame, model, group=group_by, steps=tuple(steps), missing=cfa_missing
        ),
    )
    if res is not None:
        out["invariance"] = res
        if note:
            last = run.steps[-1]
            run.steps[-1] = Step(last.name, last.status, note, last.warnings, last.seconds)


# --------------------------------------------------------------------------------------------
# Tables and JSON
# --------------------------------------------------------------------------------------------
def _irt_step(
    run: _Runner,
    out: dict,
    codes: pd.DataFrame,
    groups: pd.Series | None,
    group_by: str | None,
    instrument: Instrument,
    *,
    irt: bool | None,
    seed: int,
) -> None:
    if irt is False:
        run.skip("irt", "turned off (--no-irt)", status="not_requested")
        return
    from analysis.study.irt import irt_eligible, irt_study

    if irt is None and not irt_eligible(codes, instrument)[0]:
        run.skip(
            "irt",
            "no scale has enough items and respondents for the default IRT section "
            "(--irt forces it)",
            status="not_requested",
        )
        return
    by = {} if groups is None or group_by is None else {group_by: groups}
    out["irt"] = run.run(
        "irt", lambda: irt_study(codes, instrument, groups=by, forced=bool(irt), seed=seed)
    )


def _cfa_loadings(fits: dict) -> pd.DataFrame:
    rows = []
    for name, fit in fits.items():
        e = fit.estimates_[fit.estimates_["op"] == "=~"]
        rows.append(
            pd.DataFrame(
                {
                    "model": name,
                    "factor": e["lhs"].to_numpy(),
                    "indicator": e["rhs"].to_numpy(),
                    "estimate": e["est"].to_numpy(),
                    "se": e["se"].to_numpy(),
                    "pvalue": e["pvalue"].to_numpy(),
                    "std_all": e["std_all"].to_numpy(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame()


def _cfa_factor_correlations(fits: dict) -> pd.DataFrame:
    rows = []
    for name, fit in fits.items():
        r = fit.factor_correlations()
        lat = list(r.columns)
        for a in range(len(lat)):
            for b in range(a + 1, len(lat)):
                rows.append(
                    {
                        "model": name,
                        "factor_1": lat[a],
                        "factor_2": lat[b],
                        "r": float(r.iloc[a, b]),
                    }
                )
    return pd.DataFrame(rows, columns=["model", "factor_1", "factor_2", "r"])


def _efa_loadings(efa: Any) -> pd.DataFrame:
    tab = efa.loadings_.copy()
    tab["communality"] = efa.communalities_
    tab["uniqueness"] = efa.uniquenesses_
    tab.index.name = "item"
    return tab


def _retention_table(res: ValidationResults) -> pd.DataFrame | None:
    if res.parallel is None:
        return None
    tab = res.parallel.summary()
    if res.map is not None:
        m = res.map.summary().rename(columns={"n_components": "number"})
        tab = tab.merge(m, on="number", how="left")
    return tab


def _tables(res: ValidationResults) -> dict[str, pd.DataFrame]:
    t: dict[str, pd.DataFrame] = {}
    t["Data summary"] = res.data.summary()
    t["Problems by rule"] = res.data.problems
    if res.data.group_sizes is not None:
        t["Groups"] = res.data.group_sizes
    t["Responses"] = res.distribution
    if res.item_statistics is not None:
        t["Item statistics"] = res.item_statistics
    if res.reliability is not None:
        t["Reliability"] = res.reliability.table
    if res.polychoric is not None:
        rho = res.polychoric.rho.copy()
        rho.index.name = "item"
        t["Polychoric correlations"] = rho
        th = res.polychoric.thresholds.copy()
        th.index.name = "item"
        th.columns = [f"tau_{c}" for c in th.columns]
        t["Thresholds"] = th
    if res.kmo is not None:
        t["KMO"] = res.kmo.summary()
    if res.bartlett is not None:
        t["Bartlett"] = res.bartlett.summary()
    retention = _retention_table(res)
    if retention is not None:
        t["Retention"] = retention
    if res.efa is not None:
        t["EFA loadings"] = _efa_loadings(res.efa)
        if res.efa.phi_ is not None:
            phi = res.efa.phi_.copy()
            phi.index.name = "factor"
            t["EFA factor correlations"] = phi
        if res.efa.fit_ is not None:
            t["EFA fit"] = res.efa.fit_.summary()
    if res.cfa_comparison is not None:
        comparison = res.cfa_comparison
        if "n_obs" not in comparison and res.cfa:  # every model states the respondents it used
            comparison = comparison.copy()
            comparison.insert(
                1,
                "n_obs",
                [int(res.cfa[m].n_obs_) if m in res.cfa else None for m in comparison["model"]],
            )
        t["CFA fit comparison"] = comparison
    if res.cfa:
        t["CFA standardized loadings"] = _cfa_loadings(res.cfa)
        fc = _cfa_factor_correlations(res.cfa)
        if len(fc):
            t["CFA factor correlations"] = fc
    if res.validity is not None:
        t.update(_validity_tables(res))
    if res.invariance is not None:
        t["Invariance"] = res.invariance.summary()
    if res.irt is not None:
        t.update(res.irt.tables())
    t.update(_bifactor_tables(res))
    if res.imputed is not None:
        t.update(res.imputed.tables())
    t["Analyses"] = res.summary()
    return t


def _bifactor_tables(res: ValidationResults) -> dict[str, pd.DataFrame]:
    """Fit of the method models and the bifactor indices (sheets ``Bifactor ...``)."""
    b = res.bifactor or {}
    t: dict[str, pd.DataFrame] = {}
    if b.get("fits"):
        t["Bifactor and method fit"] = pd.DataFrame(
            [{"model": k, **f.fit_measures_.to_dict()} for k, f in b["fits"].items()]
        )
    if b.get("indices") is not None:
        t["Bifactor indices"] = b["indices"].summary()
        t["Bifactor IECV"] = b["indices"].iecv.rename_axis("item").reset_index()
    return t


def _validity_tables(res: ValidationResults) -> dict[str, pd.DataFrame]:
    v = res.validity
    t = {"CR and AVE": v.factors}
    fl = v.fornell_larcker.copy()
    fl.index.name = "factor"
    t["Fornell-Larcker"] = fl
    ht = v.htmt.copy()
    ht.index.name = "factor"
    t["HTMT"] = ht
    t["Discriminant pairs"] = v.pairs
    if res.criterion is not None and len(res.criterion):
        t["Criterion scales"] = res.criterion
    return t


def _frame_records(frame: pd.DataFrame | None, *, index: str | None = None) -> list | None:
    if frame is None:
        return None
    f = frame.reset_index() if index is not None or frame.index.name else frame
    return f.to_dict(orient="records")


def _matrix(frame: pd.DataFrame) -> dict:
    return {
        "names": [str(c) for c in frame.columns],
        "rows": [str(i) for i in frame.index],
        "values": frame.to_numpy(dtype=float).tolist(),
    }


def _to_dict(res: ValidationResults) -> dict:
    steps = {s.name: s for s in res.steps}

    def block(name: str, **content: Any) -> dict:
        s = steps.get(name)
        head = (
            s.to_dict()
            if s is not None
            else {"status": "not_run", "reason": None, "warnings": [], "seconds": 0.0}
        )
        return {**head, **content} if head["status"] == "ok" else head

    out: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "generated_by": "mhdq validate",
        "instrument": dict(res.instrument),
        "options": dict(res.options),
        "provenance": dict(res.provenance),
        "data": res.data.to_dict(),
        "steps": [{"name": s.name, **s.to_dict()} for s in res.steps],
        "responses": block("responses", items=_frame_records(res.distribution)),
        "item_statistics": block("item_statistics", items=_frame_records(res.item_statistics)),
    }
    rel = res.reliability
    out["reliability"] = block(
        "reliability",
        **(
            {}
            if rel is None
            else {
                "missing": rel.missing,
                "ci_level": rel.ci_level,
                "problems": list(rel.problems),
                "scales": rel.table.to_dict(orient="records"),
                "omega_hierarchical": None
                if res.omega_hierarchical is None
                else {
                    "n_factors": int(res.omega_hierarchical.n_factors),
                    **{
                        str(r["coefficient"]): float(r["estimate"])
                        for _, r in res.omega_hierarchical.summary().iterrows()
                    },
                },
            }
        ),
    )
    pc = res.polychoric
    out["polychoric"] = block(
        "polychoric",
        **(
            {}
            if pc is None
            else {
                "n_respondents": pc.n_respondents,
                "smoothed": pc.smoothed,
                "corrected_cells": pc.corrected_cells,
                "correct": pc.correct,
                "global_thresholds": pc.global_thresholds,
                "categories": list(pc.categories),
                "rho": _matrix(pc.rho),
                "thresholds": _matrix(pc.thresholds),
            }
        ),
    )
    out["factorability"] = block(
        "factorability",
        **(
            {}
            if res.kmo is None
            else {
                "kmo": {"overall": res.kmo.overall, "items": res.kmo.items.to_dict()},
                "bartlett": None
                if res.bartlett is None
                else {
                    "chi_square": res.bartlett.chi_square,
                    "dof": res.bartlett.dof,
                    "p_value": res.bartlett.p_value,
                    "n_obs": res.bartlett.n_obs,
                },
            }
        ),
    )
    pa = res.parallel
    out["retention"] = block(
        "retention",
        **(
            {}
            if pa is None
            else {
                "parallel": {
                    "n_factors": pa.n_factors,
                    "n_components": pa.n_components,
                    "n_iter": pa.n_iter,
                    "quantile": pa.quantile,
                    "n_obs": pa.n_obs,
                    "seed": pa.seed,
                    "eigenvalues": pa.summary().to_dict(orient="records"),
                },
                "map": None
                if res.map is None
                else {
                    "n_factors": res.map.n_factors,
                    "values": res.map.summary().to_dict(orient="records"),
                },
                "suggested_factors": res.suggested_factors,
                "factors_source": res.factors_source,
            }
        ),
    )
    efa = res.efa
    out["efa"] = block(
        "efa",
        **(
            {}
            if efa is None
            else {
                "n_factors": int(efa.n_factors),
                "method": efa.method,
                "rotation": efa.rotation,
                "correlation": res.options["correlation"],
                "factors_source": res.factors_source,
                "loadings": _matrix(efa.loadings_),
                "communalities": efa.communalities_.to_dict(),
                "phi": None if efa.phi_ is None else _matrix(efa.phi_),
                "variance": _matrix(efa.variance_),
                "fit": None
                if efa.fit_ is None
                else efa.fit_.summary().set_index("statistic")["estimate"].to_dict(),
                "heywood_items": list(efa.heywood_items_),
            }
        ),
    )
    out["cfa"] = block(
        "cfa",
        **(
            {}
            if not res.cfa
            else {
                "estimator": res.cfa_estimator,
                "missing": res.options["cfa_missing"],
                "models": {
                    name: {
                        "syntax": fit.model_.to_syntax(),
                        "n_obs": int(fit.n_obs_),
                        # WLSMV: fewest and most respondents answering both items of a pair
                        "pair_n_range": (
                            [int(v) for v in fit.pair_n_range_]
                            if hasattr(fit, "pair_n_range_")
                            else None
                        ),
                        "converged": bool(fit.converged_),
                        "fit_measures": fit.fit_measures_.to_dict(),
                        "estimates": fit.estimates_.to_dict(orient="records"),
                    }
                    for name, fit in res.cfa.items()
                },
                "skipped": dict(res.cfa_skipped),
                "complete_case": None
                if res.complete_case is None
                else {
                    k: v
                    for k, v in res.complete_case.to_dict().items()
                    if k in ("n_rows", "n_complete", "share_complete")
                },
                "comparison": None
                if res.cfa_comparison is None
                else res.cfa_comparison.to_dict(orient="records"),
            }
        ),
    )
    v = res.validity
    out["validity"] = block(
        "validity",
        **(
            {}
            if v is None
            else {
                "model": res.validity_model,
                "htmt_threshold": v.htmt_threshold,
                "factors": v.factors.reset_index().to_dict(orient="records"),
                "fornell_larcker": _matrix(v.fornell_larcker),
                "htmt": _matrix(v.htmt),
                "pairs": v.pairs.to_dict(orient="records"),
                "criterion": None
                if res.criterion is None
                else res.criterion.to_dict(orient="records"),
            }
        ),
    )
    inv = res.invariance
    out["invariance"] = block(
        "invariance",
        **(
            {}
            if inv is None
            else {
                "model": res.invariance_model,
                "group": inv.group,
                "groups": [str(g) for g in inv.groups],
                "n_obs": {str(k): int(v) for k, v in inv.n_obs.items()},
                "steps": inv.summary().reset_index().to_dict(orient="records"),
            }
        ),
    )
    out["irt"] = block("irt", **({} if res.irt is None else res.irt.to_dict()))
    b = res.bifactor or {}
    out["bifactor"] = block(
        "bifactor",
        **{
            "fits": {
                k: {str(m): float(v) for m, v in f.fit_measures_.items()}
                for k, f in b.get("fits", {}).items()
            },
            "skipped": dict(b.get("skipped", {})),
            "indices": None if b.get("indices") is None else b["indices"].to_dict(),
        },
    )
    label, reason = b.get("total_score", ("provisional", "no bifactor model was fitted"))
    out["total_score"] = {"label": label, "reason": reason}
    out["estimator_warning"] = res.estimator_warning or None
    out["imputed"] = None if res.imputed is None else res.imputed.to_dict()
    from analysis.report.validation import verdicts

    out["verdicts"] = [v.to_dict() for v in verdicts(res)]
    return out
