"""Scale scores from item answers: reverse keying, mean or prorated sum, the min-answered rule.

:func:`score_items` is a pure function of a DataFrame of item codes, so the same function scores
a whole table, one chunk of a streamed file or one partition of a dask DataFrame. Scores match
``psych::scoreItems(keys, items, totals = FALSE, impute = "none" | "median")`` for mean scores
(tested on psych's bfi data).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from instrument.spec import Instrument

IMPUTE_METHODS = ("none", "median")


def _rows_of(instrument: Instrument, scale_id: str) -> slice | np.ndarray:
    """Positions of a scale's items in the item order: a slice when they are contiguous."""
    index = {item_id: j for j, item_id in enumerate(instrument.item_ids)}
    rows = [index[i] for i in instrument.scale_items(scale_id)]
    if rows and rows == list(range(rows[0], rows[0] + len(rows))):
        return slice(rows[0], rows[0] + len(rows))
    return np.asarray(rows, dtype=np.intp)


def _count(rows: slice | np.ndarray) -> int:
    return rows.stop - rows.start if isinstance(rows, slice) else len(rows)


def _bool_sum(mask: np.ndarray) -> np.ndarray:
    """Column sums of a boolean items x rows block (as int16: at most 32,767 items)."""
    return mask.view(np.int8).sum(axis=0, dtype=np.int16)


def _reversal(instrument: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Per item: sign (+1/-1) and the offset min+max used for reverse keyed items (0 otherwise)."""
    sign = np.array([float(item.keyed) for item in instrument.items])
    offset = np.array(
        [
            float(
                instrument.response_scales[item.response_scale].minimum
                + instrument.response_scales[item.response_scale].maximum
            )
            if item.keyed < 0
            else 0.0
            for item in instrument.items
        ]
    )
    return sign, offset


def item_matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The numeric columns of ``frame`` as a new items-major (columns x rows) float64 array.

    Items-major keeps each item's cells contiguous, so the masks over millions of rows stay
    fast; a frame whose float block is already items-major (as pandas stores it) is copied
    without a transposition.
    """
    dtypes = frame.dtypes  # one lookup: a column access per item costs more than the check
    if all(
        pd.api.types.is_float_dtype(dtypes[c]) or pd.api.types.is_integer_dtype(dtypes[c])
        for c in columns
    ) and len(columns):
        whole = frame if list(frame.columns) == columns else frame[columns]
        wide = whole.to_numpy(dtype="float64", na_value=np.nan)
        return np.array(wide.T, order="C")
    out = np.empty((len(columns), len(frame)))
    for j, column in enumerate(columns):
        series = frame[column]
        if pd.api.types.is_numeric_dtype(series.dtype):
            out[j] = series.to_numpy(dtype="float64", na_value=np.nan)
        else:
            out[j] = pd.to_numeric(series, errors="coerce").to_numpy(
                dtype="float64", na_value=np.nan
            )
    return out


def _code_block(codes: pd.DataFrame, instrument: Instrument) -> tuple[np.ndarray, np.ndarray]:
    """Items-major (items x rows) substantive codes (NaN elsewhere) and not-applicable cells."""
    item_ids = list(instrument.item_ids)
    present = [i for i in item_ids if i in codes.columns]
    if present == item_ids:
        values = item_matrix(codes, item_ids)
    else:
        values = np.full((len(item_ids), len(codes)), np.nan)
        if present:
            values[[item_ids.index(i) for i in present]] = item_matrix(codes, present)
    na = np.zeros(values.shape, dtype=bool)
    for rs_id, rs in instrument.response_scales.items():
        rows = np.array(
            [j for j, item in enumerate(instrument.items) if item.response_scale == rs_id]
        )
        if not len(rows):
            continue
        whole = len(rows) == len(instrument.items)
        sub = values if whole else values[rows]
        lo, hi = rs.minimum, rs.maximum
        if list(rs.codes) == list(range(lo, hi + 1)):
            answer = (sub >= lo) & (sub <= hi) & (sub == np.floor(sub))
        else:
            answer = np.isin(sub, np.asarray(rs.codes, dtype=float))
        if rs.not_applicable is not None:
            if whole:
                na = sub == rs.not_applicable
            else:
                na[rows] = sub == rs.not_applicable
        if not answer.all():
            sub[~answer] = np.nan
            if not whole:
                values[rows] = sub
    return values, na


def code_counts(codes: pd.DataFrame, instrument: Instrument) -> pd.DataFrame:
    """How often each answer code occurs per item (items × codes), for medians over many chunks.

    Counts from several chunks add up, and :func:`medians_from_counts` turns the total into the
    exact median of each item, so a streamed file gets the same medians as one read whole.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> counts = code_counts(pd.DataFrame({"A1": [1.0, 2.0, 2.0, None]}), bfi)
    >>> counts.loc["A1"].tolist()
    [1, 2, 0, 0, 0, 0]
    """
    values, _ = _code_block(codes, instrument)
    all_codes = sorted({c for rs in instrument.response_scales.values() for c in rs.codes})
    out = np.zeros((len(instrument.item_ids), len(all_codes)), dtype="int64")
    for c, code in enumerate(all_codes):
        out[:, c] = (values == code).sum(axis=1)
    return pd.DataFrame(out, index=pd.Index(instrument.item_ids, name="item"), columns=all_codes)


def medians_from_counts(counts: pd.DataFrame) -> pd.Series:
    """Median of each item from its code counts (R's ``median``: mean of the middle two when n is even).

    Examples
    --------
    >>> medians_from_counts(pd.DataFrame([[1, 1, 0], [0, 0, 0]], index=["a", "b"], columns=[1, 2, 3])).tolist()
    [1.5, nan]
    """
    codes = np.asarray(counts.columns, dtype=float)
    out = np.full(len(counts), np.nan)
    for r, row in enumerate(counts.to_numpy()):
        total = int(row.sum())
        if total == 0:
            continue
        cumulative = np.cumsum(row)
        low = codes[np.searchsorted(cumulative, (total - 1) // 2 + 1)]
        high = codes[np.searchsorted(cumulative, total // 2 + 1)]
        out[r] = (low + high) / 2
    return pd.Series(out, index=counts.index, name="median")


def item_medians(codes: pd.DataFrame, instrument: Instrument) -> pd.Series:
    """Median of each item's answers (blank, missing and not-applicable cells left out)."""
    return medians_from_counts(code_counts(codes, instrument))


def score_items(
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    not_applicable: pd.DataFrame | None = None,
    impute: str = "none",
    medians: pd.Series | Mapping[str, float] | None = None,
    scales: list[str] | None = None,
    trusted: bool = False,
) -> pd.DataFrame:
    """Score every scale of the instrument for each row.

    Parameters
    ----------
    codes : DataFrame
        Item answers, one column per item id (extra columns are ignored, absent items count as
        unanswered). Cells holding a code of the item's response scale are answers; the
        not-applicable code is not applicable; anything else (NaN, declared missing codes,
        invalid values) is unanswered. :func:`instrument.check.check_responses` gives such a frame.
    instrument : Instrument
        Keys, response scales and scoring rules.
    not_applicable : DataFrame of bool, optional
        Extra not-applicable marks (``CheckedResponses.not_applicable``), same columns as ``codes``.
    impute : {"none", "median"}, default "none"
        ``"median"`` replaces each unanswered item by that item's median before scoring, as
        ``psych::scoreItems(impute = "median")``; rows below a scale's ``min_answered`` share
        still get no score.
    medians : Series or mapping, optional
        Item medians to impute with (for example over a whole streamed file, from
        :func:`code_counts`). Default: the medians of ``codes``.
    scales : list of str, optional
        Scale ids to score. Default: every scale, in specification order.
    trusted : bool, default False
        True when ``codes`` holds every item and only answer codes or NaN (as
        ``CheckedResponses.codes``), with not-applicable cells given in ``not_applicable``:
        skips re-validating the cells.

    Returns
    -------
    DataFrame
        Same index as ``codes``; a float64 column ``<scale>`` per scale (NaN when the row has
        too few answers), then an int64 column ``<scale>_n`` per scale with the number of items
        answered (imputed values not counted).

    Notes
    -----
    Reverse keyed items are reversed as ``min + max - x`` with the response scale's lowest and
    highest answer codes. For scale *s* with *k* items, *a* answered and *q* not applicable:

    * the items counted are ``c = k - q`` when the scale's ``not_applicable`` rule is
      ``exclude`` and ``c = k`` when it is ``missing`` (then a not-applicable answer is unanswered);
    * the score is NaN unless ``a >= min_answered * c`` (and ``c > 0``);
    * ``mean``: the mean of the answered items after reversal (with ``impute="median"`` the
      mean over the ``c`` counted items, unanswered ones replaced by their median);
    * ``sum``: the mean times ``c``, i.e. a sum prorated for unanswered items.

    ``impute="none"`` reproduces ``psych::scoreItems(keys, items, totals = FALSE,
    impute = "none")``; ``impute="median"`` reproduces ``impute = "median"`` (psych takes each
    item's median before reversal; reversing the median gives the median of the reversed item).

    References
    ----------
    Revelle, W. (2024). psych: Procedures for Psychological, Psychometric, and Personality
    Research (``scoreItems``). Northwestern University.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> answers = pd.DataFrame({"A1": [6.0, 2.0], "A2": [4.0, None], "A3": [4.0, 4.0]})
    >>> score_items(answers, bfi, scales=["agree"])
       agree  agree_n
    0    3.0        3
    1    4.5        2
    """
    if not isinstance(codes, pd.DataFrame):
        raise TypeError(f"codes: expected a DataFrame of item answers, got {type(codes).__name__}")
    if impute not in IMPUTE_METHODS:
        raise ValueError(f"impute: {impute!r} is not allowed; allowed: {', '.join(IMPUTE_METHODS)}")
    scale_ids = [s.id for s in instrument.scales] if scales is None else list(scales)
    for scale_id in scale_ids:
        instrument.scale(scale_id)  # raises KeyError naming the scales
    if trusted:
        values = item_matrix(codes, list(instrument.item_ids))
        na = np.zeros(values.shape, dtype=bool)
    else:
        values, na = _code_block(codes, instrument)
    if not_applicable is not None:
        extra = (
            not_applicable
            if list(not_applicable.columns) == list(instrument.item_ids)
            else not_applicable.reindex(columns=list(instrument.item_ids), fill_value=False)
        )
        extra = extra.to_numpy(dtype=bool, na_value=False)
        if extra.any():
            na |= extra.T
    sign, offset = _reversal(instrument)
    # Items-major arrays (items x rows), worked on in place: each item's cells are contiguous and
    # no large temporaries are allocated, which is what keeps millions of rows fast. Sums of
    # small integers in float64 are exact.
    answered = ~np.isnan(values)
    for j in np.flatnonzero(sign < 0):
        np.subtract(offset[j], values[j], out=values[j])
    np.copyto(values, 0.0, where=~answered)
    members = [_rows_of(instrument, scale_id) for scale_id in scale_ids]
    n_items = np.array([_count(m) for m in members], dtype=float)[:, None]
    sums = (
        np.stack([values[m].sum(axis=0) for m in members]) if members else np.zeros((0, len(codes)))
    )
    n_answered = (
        np.stack([_bool_sum(answered[m]) for m in members]).astype(float)
        if members
        else np.zeros((0, len(codes)))
    )
    any_na = bool(na.any())
    n_na = (
        np.stack([_bool_sum(na[m]) for m in members]).astype(float)
        if any_na
        else np.zeros_like(sums)
    )
    rules = [instrument.scale(s).scoring for s in scale_ids]
    exclude = np.array([rule.not_applicable == "exclude" for rule in rules])[:, None]
    counted = np.where(exclude, n_items - n_na, n_items)
    share = np.array([rule.min_answered for rule in rules])[:, None]
    enough = (counted > 0) & (n_answered >= share * counted - 1e-9)
    with np.errstate(invalid="ignore", divide="ignore"):
        if impute == "median":
            if medians is None:
                median = item_medians(codes, instrument).to_numpy()
            else:
                median = (
                    pd.Series(medians, dtype="float64")
                    .reindex(list(instrument.item_ids))
                    .to_numpy()
                )
            median_reversed = median * sign + offset
            no_median = np.isnan(median_reversed)
            median_reversed = np.where(no_median, 0.0, median_reversed)[:, None]
            unanswered = ~answered & ~na
            fill_missing = np.stack(
                [(np.where(unanswered, median_reversed, 0.0))[m].sum(axis=0) for m in members]
            )
            fill_na = np.stack(
                [(np.where(na, median_reversed, 0.0))[m].sum(axis=0) for m in members]
            )
            total = sums + fill_missing + np.where(exclude, 0.0, fill_na)
            # An item without a median (nobody answered it) leaves the scales that need it
            # unscored, as psych's NA median does.
            lacking = np.stack(
                [(unanswered & no_median[:, None])[m].sum(axis=0) for m in members]
            ) + np.where(
                exclude, 0, np.stack([(na & no_median[:, None])[m].sum(axis=0) for m in members])
            )
            mean = np.where(lacking > 0, np.nan, total / counted)
        else:
            mean = sums / n_answered
    mean = np.where(enough, mean, np.nan)
    result = {}
    for s, scale_id in enumerate(scale_ids):
        result[scale_id] = mean[s] * counted[s] if rules[s].method == "sum" else mean[s]
    for s, scale_id in enumerate(scale_ids):
        result[f"{scale_id}_n"] = n_answered[s].astype("int64")
    return pd.DataFrame(result, index=codes.index)


def score_labels(instrument: Instrument, lang: str | None = None) -> dict[str, str]:
    """Variable labels of the score columns: the scale label, and "<label>: items answered"."""
    lang = instrument.check_language(lang)
    labels = {}
    for scale in instrument.scales:
        text = scale.label.get(lang) or next(iter(scale.label.values()), scale.id)
        method = "sum" if scale.scoring.method == "sum" else "mean"
        labels[scale.id] = f"{text} ({method} score)"
        labels[f"{scale.id}_n"] = f"{text}: items answered"
    return labels


def response_counts(
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    not_applicable: pd.DataFrame | None = None,
    skipped: pd.DataFrame | None = None,
    scales: list[str] | None = None,
) -> pd.DataFrame:
    """How many of each scale's items each row answered, skipped by design, marked not
    applicable (code 9), or left blank.

    Scoring treats skipped-by-design and not-applicable cells alike (each scale's
    ``not_applicable`` rule); this table says how many of each there were.

    Parameters
    ----------
    codes : DataFrame
        Item answers as ``CheckedResponses.codes`` (NaN where not answered).
    instrument : Instrument
        The specification.
    not_applicable, skipped : DataFrame of bool, optional
        ``CheckedResponses.not_applicable`` (code 9 *or* skipped) and ``CheckedResponses.skipped``.
    scales : list of str, optional
        Scale ids; default every scale.

    Returns
    -------
    DataFrame
        Same index as ``codes``; for each scale ``<scale>_answered``, ``<scale>_skipped``,
        ``<scale>_not_applicable`` and ``<scale>_missing`` (int64; they add up to the scale's
        number of items).

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> codes = pd.DataFrame({"A1": [1.0, None], "A2": [2.0, 3.0]})
    >>> response_counts(codes, bfi, scales=["agree"]).loc[1].tolist()
    [1, 0, 0, 4]
    """
    item_ids = list(instrument.item_ids)
    values = codes.reindex(columns=item_ids).to_numpy(dtype="float64", na_value=np.nan)
    n = len(codes)

    def mask(frame: pd.DataFrame | None) -> np.ndarray:
        if frame is None:
            return np.zeros((n, len(item_ids)), dtype=bool)
        return frame.reindex(columns=item_ids, fill_value=False).to_numpy(
            dtype=bool, na_value=False
        )

    skip = mask(skipped)
    na = mask(not_applicable) & ~skip
    answered = ~np.isnan(values) & ~skip & ~na
    missing = ~answered & ~skip & ~na
    out = {}
    for scale_id in [s.id for s in instrument.scales] if scales is None else scales:
        members = [item_ids.index(i) for i in instrument.scale_items(scale_id)]
        for name, block in (
            ("answered", answered),
            ("skipped", skip),
            ("not_applicable", na),
            ("missing", missing),
        ):
            out[f"{scale_id}_{name}"] = block[:, members].sum(axis=1).astype("int64")
    return pd.DataFrame(out, index=codes.index)


def careless_indices(
    codes: pd.DataFrame,
    instrument: Instrument,
    *,
    background: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Careless-responding indices per respondent.

    Parameters
    ----------
    codes : DataFrame
        Item answers as ``CheckedResponses.codes``, in any column order (the indices follow the
        order the forms present the items, :func:`instrument.forms.ordered_items`).
    instrument : Instrument
        The specification (keys, presentation order, attention checks).
    background : DataFrame, optional
        Background answers, for the attention checks (questions with an ``expected`` answer).

    Returns
    -------
    DataFrame
        Same index as ``codes``: ``n_answered``; ``longstring`` (the longest run of identical
        answers in presentation order, skipped and blank items passed over);
        ``irv`` (intra-individual response variability: the standard deviation of the row's
        answers, ddof 0; NaN with fewer than two); ``straight_lining`` (every answer the same,
        with at least one positively and one reverse-keyed item answered, as
        :func:`instrument.check.check_responses` flags it); and per attention check
        ``<question>_failed`` (True for a wrong answer, NA when not answered).

    Notes
    -----
    Long-string and IRV follow Curran (2016) and Dunn et al. (2018); like the R package
    ``careless`` (``longstring``, ``irv``), they are computed on the raw answers in the order the
    items were presented.

    References
    ----------
    Curran, P. G. (2016). Methods for the detection of carelessly invalid responses in survey
    data. *Journal of Experimental Social Psychology*, 66, 4-19.
    Dunn, A. M., Heggestad, E. D., Shanock, L. R., & Theilgard, N. (2018). Intra-individual
    response variability as an indicator of insufficient effort responding. *Journal of
    Business and Psychology*, 33, 105-121.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> codes = pd.DataFrame({"A1": [3.0, 1.0], "C1": [3.0, 6.0], "E1": [3.0, 1.0]})
    >>> careless_indices(codes, bfi)[["n_answered", "longstring"]].values.tolist()
    [[3, 3], [3, 1]]
    """
    from instrument.forms import ordered_items  # the order the forms present the items

    order = [item.id for item in ordered_items(instrument)]
    values = codes.reindex(columns=order).to_numpy(dtype="float64", na_value=np.nan)
    n = len(codes)
    answered = ~np.isnan(values)
    n_answered = answered.sum(axis=1)
    longest = np.zeros(n, dtype="int64")
    for r in range(n):
        row = values[r, answered[r]]
        if row.size:
            breaks = np.flatnonzero(np.diff(row) != 0)
            edges = np.concatenate(([-1], breaks, [row.size - 1]))
            longest[r] = int(np.diff(edges).max())
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.nansum(values, axis=1) / n_answered
        irv = np.sqrt(np.nansum((values - mean[:, None]) ** 2, axis=1) / n_answered)
    irv = np.where(n_answered >= 2, irv, np.nan)
    keyed = np.array([instrument.item(i).keyed for i in order])
    both = answered[:, keyed < 0].any(axis=1) & answered[:, keyed > 0].any(axis=1)
    flat = (n_answered > 0) & (
        np.nanmax(np.where(answered, values, -np.inf), axis=1)
        == np.nanmin(np.where(answered, values, np.inf), axis=1)
    )
    out = pd.DataFrame(
        {
            "n_answered": n_answered.astype("int64"),
            "longstring": longest,
            "irv": irv,
            "straight_lining": flat & both,
        },
        index=codes.index,
    )
    for question in instrument.attention_checks:
        given = (
            pd.to_numeric(background[question.id], errors="coerce")
            if background is not None and question.id in background
            else pd.Series(np.nan, index=codes.index)
        )
        failed = (given != question.expected).astype("boolean")
        failed[given.isna().to_numpy()] = pd.NA
        out[f"{question.id}_failed"] = failed.to_numpy()
    return out
