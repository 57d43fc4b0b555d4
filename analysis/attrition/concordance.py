"""Harrell's concordance index for censored data (the AUC as its uncensored case), O(n log n)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

__all__ = ["Concordance", "concordance_counting", "concordance_index", "count_later_smaller"]


@dataclass(frozen=True, slots=True)
class Concordance:
    """Harrell's C with its pair counts.

    Attributes
    ----------
    estimate : float
        :math:`(n_c + n_{tx}/2) / (n_c + n_d + n_{tx})`.
    concordant, discordant, tied_risk, tied_time : float
        Comparable pairs ordered as predicted, ordered against it, tied in the prediction;
        and pairs of events at the same time (not comparable).
    """

    estimate: float
    concordant: float
    discordant: float
    tied_risk: float
    tied_time: float

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])


def _later_counts(rank: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per position i: #{j > i: rank[j] < rank[i]} and #{j > i: rank[j] <= rank[i]}.

    A pair with ``rank[j] < rank[i]`` first differs at one bit b, where i has 1 and j has 0, with
    equal higher bits. Going from the top bit down, the positions are kept stably partitioned by
    their higher bits (a wavelet matrix): at bit b every run of equal higher bits is one group in
    position order, and each position with bit b set counts the later positions of its group with
    bit b clear (a suffix count), then the group is stably split by bit b in O(n) with cumulative
    sums. With B = ceil(log2(max rank + 1)) bits the total is O(n log n), no sorting and no Python
    loop over elements (the counting of a Fenwick tree, one bit level at a time). Equal ranks
    later in the sequence are counted from one stable sort.
    """
    rank = np.asarray(rank, dtype=np.int64)
    n = len(rank)
    less = np.zeros(n, dtype=np.int64)
    if n < 2:
        return less, less.copy()
    if rank.min() < 0:
        raise ValueError("rank: must be non-negative integers")
    bits = int(rank.max()).bit_length()
    order = np.arange(n)  # positions, grouped by the bits above the current one
    values = rank.copy()  # rank[order]
    is_start = np.zeros(n + 1, dtype=bool)  # first index of each group in `order`; sentinel at n
    is_start[[0, n]] = True
    idx = np.arange(n)
    for b in range(bits - 1, -1, -1):
        bit = ((values >> b) & 1).astype(bool)
        cz = np.empty(n + 1, dtype=np.int64)  # cz[p] = zeros before index p
        cz[0] = 0
        np.cumsum(~bit, out=cz[1:])
        bounds = np.flatnonzero(is_start)
        starts, ends = bounds[:-1], bounds[1:]
        group = np.cumsum(is_start[:n]) - 1
        start_of, end_of = starts[group], ends[group]
        zeros_of = cz[end_of] - cz[start_of]
        # later zeros of the same group, for positions whose bit is set
        less[order[bit]] += (cz[end_of] - cz[idx + 1])[bit]
        before = cz[idx] - cz[start_of]  # zeros earlier in the group
        new_pos = np.where(bit, idx + zeros_of - before, start_of + before)
        new_order = np.empty_like(order)
        new_order[new_pos] = order
        new_values = np.empty_like(values)
        new_values[new_pos] = values
        order, values = new_order, new_values
        is_start[starts + cz[ends] - cz[starts]] = True
        is_start[n] = True
    # equal ranks later in the sequence: stable sort by rank keeps position order within a value
    by_rank = np.argsort(rank, kind="stable")
    sorted_rank = rank[by_rank]
    run_end = np.r_[np.flatnonzero(np.diff(sorted_rank)) + 1, n]
    run_of = np.searchsorted(run_end, np.arange(n), side="right")
    equal_later = np.empty(n, dtype=np.int64)
    equal_later[by_rank] = run_end[run_of] - 1 - np.arange(n)
    return less, less + equal_later


def count_later_smaller(rank: np.ndarray, *, strict: bool = True) -> np.ndarray:
    """For each position i, the number of later positions j > i with ``rank[j] < rank[i]``.

    With ``strict=False`` counts ``rank[j] <= rank[i]``. See :func:`_later_counts` for the method.

    Examples
    --------
    >>> count_later_smaller(np.array([3, 1, 2, 0])).tolist()
    [3, 1, 1, 0]
    >>> count_later_smaller(np.array([1, 1, 0]), strict=False).tolist()
    [2, 1, 0]
    """
    less, leq = _later_counts(rank)
    return less if strict else leq


def concordance_index(time, event, risk) -> Concordance:
    """Harrell's C: the share of comparable pairs whose predicted risk orders their event times.

    Parameters
    ----------
    time : array
        Follow-up time.
    event : array
        1 = event, 0 = censored.
    risk : array
        Predicted risk (higher = earlier event), e.g. the Cox linear predictor.

    Returns
    -------
    Concordance

    Notes
    -----
    A pair (i, j) is comparable when i has the event at :math:`t_i` and j is still at risk
    after it: :math:`t_j > t_i`, or :math:`t_j = t_i` with j censored (censored subjects are at
    risk at their censoring time, as in the Cox risk set). Pairs with both events at the same time
    are ``tied_time`` and not used. Ties in ``risk`` count one half:
    :math:`C = (n_c + n_{tx}/2) / (n_c + n_d + n_{tx})`. This is the statistic
    ``survival::coxph`` reports as ``concordance`` (survival >= 3, ``timewt = "n"``), checked on
    lung within 1e-3. For a binary outcome without censoring times it equals the AUC.

    Sorting by (time, events before censored, risk) and counting, for every event, the later rows
    with a smaller, equal or larger risk (bitwise counting, :func:`_later_counts`) gives all
    counts in O(n log n); the pairs of tied events
    are then removed in closed form (within a tied group sorted by risk, no later member has a
    smaller risk).

    References
    ----------
    Harrell FE, Lee KL, Mark DB (1996). Multivariable prognostic models. Stat Med 15:361-387.

    Examples
    --------
    >>> concordance_index([1, 2, 3, 4], [1, 1, 1, 0], [4, 3, 2, 1]).estimate
    1.0
    >>> concordance_index([1, 2, 3], [1, 1, 1], [1, 1, 1]).estimate
    0.5
    """
    time = np.asarray(time, dtype=float)
    event = np.asarray(event).astype(bool)
    risk = np.asarray(risk, dtype=float)
    if not (len(time) == len(event) == len(risk)):
        raise ValueError("time, event, risk: must have the same length")
    if np.isnan(risk).any() or np.isnan(time).any():
        raise ValueError("time, risk: must not contain missing values")
    # values equal to 12 decimals are ties (floating-point noise must not break them)
    _, rank = np.unique(np.round(risk, 12), return_inverse=True)
    order = np.lexsort((rank, ~event, time))
    rank_s, ev_s, t_s = rank[order], event[order], time[order]
    n = len(time)
    less, leq = _later_counts(rank_s)
    after = n - 1 - np.arange(n)
    # tied events at the same time: runs of (time, event) with event; sorted by rank inside
    key_change = np.r_[True, (t_s[1:] != t_s[:-1]) | (ev_s[1:] != ev_s[:-1])]
    run_id = np.cumsum(key_change) - 1
    run_end = np.r_[np.flatnonzero(key_change)[1:], n] if n else np.array([], dtype=int)
    later_in_run = run_end[run_id] - 1 - np.arange(n)
    sub_change = key_change | np.r_[True, rank_s[1:] != rank_s[:-1]]
    sub_id = np.cumsum(sub_change) - 1
    sub_end = np.r_[np.flatnonzero(sub_change)[1:], n] if n else np.array([], dtype=int)
    later_same_rank = sub_end[sub_id] - 1 - np.arange(n)
    e = ev_s
    concordant = float(less[e].sum())
    tied_risk = float((leq - less - later_same_rank)[e].sum())
    discordant = float((after - leq - (later_in_run - later_same_rank))[e].sum())
    tied_time = float(later_in_run[e].sum())
    total = concordant + discordant + tied_risk
    estimate = (concordant + tied_risk / 2) / total if total > 0 else float("nan")
    return Concordance(float(estimate), concordant, discordant, tied_risk, tied_time)


def concordance_counting(start, stop, event, risk) -> Concordance:
    """Harrell's C for counting-process (start, stop] data with time-varying risk scores.

    Parameters
    ----------
    start, stop, event : array
        Interval of each row and whether it ends in the event.
    risk : array
        Risk score of each row (higher = earlier event).

    Returns
    -------
    Concordance

    Notes
    -----
    Each event at time t is compared with every other row at risk at t (start < t <= stop, the
    Cox risk set) using the score each row has then; rows ending in an event at the same t are
    ``tied_time``. Ties in the score count 1/2. This is the concordance ``coxph`` reports for
    ``Surv(start, stop, event)`` data (``timewt = "n"``). Each distinct event time is one
    vectorised comparison over the rows sorted by score, O(G n) for G event times.

    Examples
    --------
    >>> concordance_counting([0, 0, 0], [1, 2, 3], [1, 1, 0], [3, 2, 1]).estimate
    1.0
    """
    start = np.asarray(start, dtype=float)
    stop = np.asarray(stop, dtype=float)
    event = np.asarray(event).astype(bool)
    risk = np.round(np.asarray(risk, dtype=float), 12)
    concordant = discordant = tied_risk = tied_time = 0.0
    for t in np.unique(stop[event]):
        at_risk = (start < t) & (stop >= t)
        cases = at_risk & (stop == t) & event
        others = at_risk & ~cases
        sorted_others = np.sort(risk[others])
        case_risk = risk[cases]
        below = np.searchsorted(sorted_others, case_risk, side="left")
        equal = np.searchsorted(sorted_others, case_risk, side="right") - below
        concordant += float(below.sum())
        tied_risk += float(equal.sum())
        discordant += float((len(sorted_others) - below - equal).sum())
        k = int(cases.sum())
        tied_time += k * (k - 1) / 2
    total = concordant + discordant + tied_risk
    estimate = (concordant + tied_risk / 2) / total if total > 0 else float("nan")
    return Concordance(float(estimate), concordant, discordant, tied_risk, tied_time)
