"""Model fit of a unidimensional IRT model: M2 (limited information), S-X2 item fit, local
dependence (Chen-Thissen LD chi-square and G2) and category use."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, special  # not scipy.stats: ~1 s to import

from analysis._results import Result
from analysis.irt.items import item_derivatives
from analysis.irt.model import GradedResponseModel
from analysis.irt.scoring import lord_wingersky

__all__ = ["M2Result", "category_use", "item_fit", "local_dependence", "m2"]


@dataclass(frozen=True, repr=False)
class M2Result(Result):
    """Limited-information goodness of fit (Maydeu-Olivares & Joe; Cai & Hansen's C2).

    Attributes
    ----------
    statistic : float
        M2 (or C2).
    df : int
    p_value : float
    rmsea, rmsea_low, rmsea_high : float
        RMSEA from M2 and its ``ci_level`` interval.
    srmsr : float
        Standardised root mean square residual of the item correlations.
    tli, cfi : float
        Against the independence (intercepts-only) model's M2.
    null_statistic : float
    null_df : int
    type : str
        ``"M2*"`` (binary items: M2) or ``"C2"``.
    n_obs : int
    ci_level : float
    """

    statistic: float
    df: int
    p_value: float
    rmsea: float
    rmsea_low: float
    rmsea_high: float
    srmsr: float
    tli: float
    cfi: float
    null_statistic: float
    null_df: int
    type: str
    n_obs: int
    ci_level: float

    def summary(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(self)])

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _moment_quantities(item_types, params, nodes, sizes):
    """Per item: P (Q,K), dP (Q,K,P), E[X|theta], E[X^2|theta], dE[X|theta]."""
    out = []
    for kind, p, k in zip(item_types, params, sizes, strict=True):
        probs, dlog, _ = item_derivatives(kind, p, nodes)
        dprob = probs[:, :, None] * dlog
        scores = np.arange(k)
        out.append(
            {
                "P": probs,
                "dP": dprob,
                "EX": probs @ scores,
                "EX2": probs @ scores**2,
                "dEX": np.einsum("qkp,k->qp", dprob, scores),
            }
        )
    return out


def _m2_statistic(
    codes: np.ndarray,
    item_types: list[str],
    params: list[np.ndarray],
    free: list[np.ndarray],
    nodes: np.ndarray,
    weights: np.ndarray,
    sizes: np.ndarray,
    kind: str,
) -> tuple[float, int, float]:
    """The quadratic form of mirt's M2internal (type "M2*" or "C2"); returns (M2, df, srmsr)."""
    n_items = len(params)
    quant = _moment_quantities(item_types, params, nodes, sizes)
    answered = codes >= 0
    x = np.where(answered, codes, 0).astype(float)
    n_full = codes.shape[0]
    pairs = [(i, j) for i in range(n_items) for j in range(i + 1, n_items)]
    # first-order moments: category indicators k >= 1 (C2) or item means (M2*)
    first: list[tuple[int, int | None]] = []
    if kind == "C2":
        first = [(i, k) for i in range(n_items) for k in range(1, int(sizes[i]))]
    else:
        first = [(i, None) for i in range(n_items)]
    n_first, n_second = len(first), len(pairs)
    obs = np.zeros(n_first + n_second)
    count = np.zeros(n_first + n_second)
    for a, (i, k) in enumerate(first):
        seen = answered[:, i]
        count[a] = seen.sum()
        obs[a] = np.mean(codes[seen, i] == k) if k is not None else np.mean(x[seen, i])
    for b, (i, j) in enumerate(pairs):
        seen = answered[:, i] & answered[:, j]
        count[n_first + b] = seen.sum()
        obs[n_first + b] = np.mean(x[seen, i] * x[seen, j])

    # model-implied moments and their derivatives
    offsets = np.concatenate([[0], np.cumsum([p.size for p in params])])
    n_par = int(offsets[-1])
    expected = np.zeros(n_first + n_second)
    delta = np.zeros((n_first + n_second, n_par))

    def cond_first(i, k):
        return quant[i]["P"][:, k] if k is not None else quant[i]["EX"]

    for a, (i, k) in enumerate(first):
        expected[a] = weights @ cond_first(i, k)
        grad = quant[i]["dP"][:, k, :] if k is not None else quant[i]["dEX"]
        delta[a, offsets[i] : offsets[i + 1]] = weights @ grad
    for b, (i, j) in enumerate(pairs):
        row = n_first + b
        expected[row] = weights @ (quant[i]["EX"] * quant[j]["EX"])
        delta[row, offsets[i] : offsets[i + 1]] = (weights * quant[j]["EX"]) @ quant[i]["dEX"]
        delta[row, offsets[j] : offsets[j + 1]] = (weights * quant[i]["EX"]) @ quant[j]["dEX"]

    # Xi2: model covariance of the moment indicators, from products of per-item conditional
    # expectations (items independent given theta)
    moments: list[dict[int, tuple]] = [
        {i: ("ind", k) if k is not None else ("x",)} for i, k in first
    ]
    moments += [{i: ("x",), j: ("x",)} for i, j in pairs]

    def item_expectation(i, funcs):
        if len(funcs) == 1:
            f = funcs[0]
            return quant[i]["P"][:, f[1]] if f[0] == "ind" else quant[i]["EX"]
        f, g = funcs
        if f[0] == "ind" and g[0] == "ind":
            return quant[i]["P"][:, f[1]] if f[1] == g[1] else np.zeros(nodes.size)
        if f[0] == "ind" or g[0] == "ind":
            k = f[1] if f[0] == "ind" else g[1]
            return k * quant[i]["P"][:, k]
        return quant[i]["EX2"]

    n_mom = len(moments)
    xi = np.zeros((n_mom, n_mom))
    for a in range(n_mom):
        for b in range(a, n_mom):
            items = set(moments[a]) | set(moments[b])
            cond = np.ones(nodes.size)
            for i in items:
                funcs = [m[i] for m in (moments[a], moments[b]) if i in m]
                cond = cond * item_expectation(i, funcs)
            xi[a, b] = xi[b, a] = weights @ cond - expected[a] * expected[b]

    free_mask = np.concatenate(free)
    delta = delta[:, free_mask]
    q, _ = np.linalg.qr(delta, mode="complete")
    rank = delta.shape[1]
    if q.shape[1] <= rank:
        raise ValueError("M2 cannot be computed: too few degrees of freedom")
    comp = q[:, rank:]
    c2 = comp @ np.linalg.solve(comp.T @ xi @ comp, comp.T)
    ratio = np.sqrt(count / n_full)
    c2 = np.outer(ratio, ratio) * c2
    resid = np.sqrt(count) * (obs - expected)
    statistic = float(abs(resid @ c2 @ resid))
    df = n_first + n_second - int(free_mask.sum())

    # SRMSR of the item correlations (observed vs model)
    means = np.array([np.mean(x[answered[:, i], i]) for i in range(n_items)])
    ex = np.array([weights @ quant[i]["EX"] for i in range(n_items)])
    r_obs = np.eye(n_items)
    r_mod = np.eye(n_items)
    var_obs = np.array([np.mean(x[answered[:, i], i] ** 2) - means[i] ** 2 for i in range(n_items)])
    var_mod = np.array([weights @ quant[i]["EX2"] - ex[i] ** 2 for i in range(n_items)])
    squares = []
    for b, (i, j) in enumerate(pairs):
        seen = answered[:, i] & answered[:, j]
        cov_o = obs[n_first + b] - means[i] * means[j]
        cov_m = expected[n_first + b] - ex[i] * ex[j]
        r_obs[i, j] = cov_o / np.sqrt(var_obs[i] * var_obs[j])
        r_mod[i, j] = cov_m / np.sqrt(var_mod[i] * var_mod[j])
        squares.append((r_obs[i, j] - r_mod[i, j]) ** 2)
        del seen
    srmsr = float(np.sqrt(np.mean(squares)))
    return statistic, df, srmsr


def _rmsea(statistic: float, df: int, n: int) -> float:
    if df <= 0:
        return float("nan")
    return float(np.sqrt(max(statistic / df - 1.0, 0.0) / (n - 1)))


def _rmsea_ci(statistic: float, df: int, n: int, ci_level: float) -> tuple[float, float]:
    lower_p, upper_p = (1 - ci_level) / 2, 1 - (1 - ci_level) / 2

    if not df > 0:  # no interval without degrees of freedom (as _rmsea: nan)
        return float("nan"), float("nan")
    # scipy.stats.ncx2.cdf / chi2.cdf are these special functions for df > 0 and x >= 0
    x = max(statistic, 0.0)

    def root(target, upper):
        def f(lam):
            return (
                special.chndtr(x, df, lam) - target if lam > 0 else (special.chdtr(df, x) - target)
            )

        if f(0.0) * f(upper) > 0:
            return 0.0
        return optimize.brentq(f, 0.0, upper, xtol=1e-12)

    lam_low = root(upper_p, max(statistic, 1e-8))
    lam_high = root(lower_p, max(n, statistic * 5))
    return float(np.sqrt(lam_low / (n * df))), float(np.sqrt(lam_high / (n * df)))


def m2(model: GradedResponseModel, data: pd.DataFrame, *, ci_level: float = 0.90) -> M2Result:
    """Limited-information fit: M2 (binary items) or C2 (polytomous items), RMSEA, CFI, TLI.

    Parameters
    ----------
    model : GradedResponseModel
        Fitted.
    data : DataFrame
        The responses the model was fitted on.
    ci_level : float, default 0.90
        Level of the RMSEA interval (mirt's ``CI = .9``).

    Returns
    -------
    M2Result

    Notes
    -----
    Reproduces R mirt's ``M2(mod)`` for binary items (M2) and ``M2(mod, type = "C2")`` for
    polytomous items: first-order moments (category proportions for C2, item means for M2) and
    item-pair cross-products, ``M2 = N e' [D_c (D_c' Xi D_c)^-1 D_c'] e`` with ``D_c`` the
    orthogonal complement of the moments' Jacobian; ``df`` = number of moments minus free
    parameters; RMSEA ``sqrt(max(M2/df - 1, 0)/(N - 1))``; the null model has slopes fixed at 0.

    References
    ----------
    Maydeu-Olivares, A., & Joe, H. (2006). Limited information goodness-of-fit testing in
    multidimensional contingency tables. Psychometrika, 71, 713-732.
    Cai, L., & Hansen, M. (2013). Limited-information goodness-of-fit testing of hierarchical item
    factor models. British Journal of Mathematical and Statistical Psychology, 66, 245-276.
    """
    model._check_fitted()
    prepared = model.prepare(data)
    answered = data[model.items_].notna().any(axis=1).to_numpy()
    codes = prepared.codes[answered]
    sizes = prepared.n_categories
    kind = "M2*" if np.all(sizes == 2) else "C2"
    free = [np.ones(p.size, dtype=bool) for p in model.params_]
    statistic, df, srmsr = _m2_statistic(
        codes, model.item_types_, model.params_, free, model.nodes_, model.weights_, sizes, kind
    )
    n = codes.shape[0]
    # independence model: slopes 0, intercepts at the observed cumulative logits
    null_params = []
    for j, k in enumerate(sizes):
        seen = codes[:, j] >= 0
        counts = np.bincount(codes[seen, j], minlength=int(k)).astype(float)
        above = np.cumsum(counts[::-1])[::-1][1:] / counts.sum()
        null_params.append(np.concatenate([[0.0], np.log(above / (1 - above))]))
    null_free = [np.concatenate([[False], np.ones(int(k) - 1, dtype=bool)]) for k in sizes]
    null_stat, null_df, _ = _m2_statistic(
        codes,
        ["graded"] * len(sizes),
        null_params,
        null_free,
        np.array([-1.0, 1.0]),
        np.array([0.5, 0.5]),
        sizes,
        kind,
    )
    low, high = _rmsea_ci(statistic, df, n, ci_level)
    tli = (null_stat / null_df - statistic / df) / (null_stat / null_df - 1)
    cfi = float(np.clip(1 - (statistic - df) / (null_stat - null_df), 0, 1))
    return M2Result(
        statistic=statistic,
        df=df,
        p_value=float(special.chdtrc(df, max(statistic, 0.0))) if df > 0 else np.nan,
        rmsea=_rmsea(statistic, df, n),
        rmsea_low=low,
        rmsea_high=high,
        srmsr=srmsr,
        tli=float(tli),
        cfi=cfi,
        null_statistic=null_stat,
        null_df=null_df,
        type=kind,
        n_obs=n,
        ci_level=ci_level,
    )


def item_fit(model: GradedResponseModel, data: pd.DataFrame, *, min_expected: float = 1.0):
    """Orlando and Thissen's S-X2 item fit with p-values.

    Parameters
    ----------
    model : GradedResponseModel
        Fitted.
    data : DataFrame
        Complete responses (respondents with a missing answer are left out: the summed score
        needs every item).
    min_expected : float, default 1
        Sparse cells (expected count below this, mirt's ``mincell``) are merged as mirt's
        ``collapseCells`` does: the impossible extreme score rows into their neighbours, rows of a
        single respondent into the next, then categories within a score row (polytomous items),
        rare columns, and finally score rows.

    Returns
    -------
    DataFrame
        One row per item: ``item, s_x2, df, p_value, n_obs``.

    Notes
    -----
    R mirt's ``itemfit(mod, "S_X2")``: for each summed score s (extremes excluded), the observed
    and the model-expected proportions in each category of the item, the expected ones from the
    Lord-Wingersky distributions with and without the item; for polytomous items the
    generalised S-X2 of Kang and Chen (2008). ``df`` = cells left after collapsing - score groups -
    item parameters. The collapsing is a port of mirt's ``collapseCells`` (checked against that R
    function on Science in tests/test_irt_fit.py).

    References
    ----------
    Orlando, M., & Thissen, D. (2000). Likelihood-based item-fit indices for dichotomous item
    response theory models. Applied Psychological Measurement, 24, 50-64.
    Kang, T., & Chen, T. T. (2008). Performance of the generalized S-X2 item fit index for
    polytomous IRT models. Journal of Educational Measurement, 45, 391-406.
    """
    model._check_fitted()
    prepared = model.prepare(data)
    complete = (prepared.codes >= 0).all(axis=1)
    rows = []
    for j, (item, observed, expected) in enumerate(_sx2_tables(model, prepared.codes[complete])):
        observed, expected = _collapse_mirt(observed, expected, min_expected)
        cells = np.isfinite(expected)
        stat = float(np.sum((observed[cells] - expected[cells]) ** 2 / expected[cells]))
        df = int(cells.sum() - expected.shape[0] - model.params_[j].size)
        rows.append(
            {
                "item": item,
                "s_x2": stat if df > 0 else float("nan"),
                "df": max(df, 0),
                "p_value": float(special.chdtrc(df, stat)) if df > 0 else float("nan"),
                "n_obs": int(complete.sum()),
            }
        )
    return pd.DataFrame(rows)


def _sx2_tables(model: GradedResponseModel, codes: np.ndarray):
    """Per item the observed and expected (score 1..max-1) x category tables before collapsing;
    ``expected`` is NaN where a cell is impossible (mirt's ``makeObstables`` and
    ``EAPsum(S_X2 = TRUE)`` times the score-group sizes)."""
    sums = codes.sum(axis=1)
    probs = model.item_probabilities(model.nodes_)
    weights = model.weights_
    total = lord_wingersky(probs)  # (S, Q)
    denom = total @ weights
    max_score = total.shape[0] - 1
    n_score = np.bincount(sums, minlength=max_score + 1).astype(float)
    for j, item in enumerate(model.items_):
        k = probs[j].shape[1]
        rest = lord_wingersky([p for i, p in enumerate(probs) if i != j])
        expected = np.full((max_score + 1, k), np.nan)
        for c in range(k):
            expected[c : c + rest.shape[0], c] = (rest * probs[j][:, c][None, :]) @ weights
        expected = expected / denom[:, None] * n_score[:, None]
        observed = np.zeros((max_score + 1, k))
        np.add.at(observed, (sums, codes[:, j]), 1.0)
        yield item, observed[1:-1], expected[1:-1]


def local_dependence(model: GradedResponseModel, data: pd.DataFrame) -> pd.DataFrame:
    """Chen and Thissen's local dependence statistics for every item pair.

    Returns
    -------
    DataFrame
        One row per pair: ``item_1, item_2, ld_x2, ld_g2, df, p_x2, cramers_v`` (signed: positive
        when the pair agrees more than the model expects), ``n_obs``.

    Notes
    -----
    R mirt's ``residuals(mod, type = "LD")`` (lower triangle: X2; upper: signed Cramer's V) and
    ``type = "LDG2"``; expected tables ``N sum_q P_ik(theta_q) P_jl(theta_q) w_q``,
    ``df = (K_i - 1)(K_j - 1)``.

    References
    ----------
    Chen, W.-H., & Thissen, D. (1997). Local dependence indexes for item pairs using item
    response theory. Journal of Educational and Behavioral Statistics, 22, 265-289.
    """
    model._check_fitted()
    prepared = model.prepare(data)
    probs = model.item_probabilities(model.nodes_)
    weights = model.weights_
    rows = []
    n_items = len(model.items_)
    for i in range(n_items):
        for j in range(i + 1, n_items):
            seen = (prepared.codes[:, i] >= 0) & (prepared.codes[:, j] >= 0)
            n = int(seen.sum())
            ki, kj = probs[i].shape[1], probs[j].shape[1]
            observed = np.zeros((ki, kj))
            np.add.at(observed, (prepared.codes[seen, i], prepared.codes[seen, j]), 1.0)
            expected = n * np.einsum("qk,ql,q->kl", probs[i], probs[j], weights)
            x2 = float(np.sum((observed - expected) ** 2 / expected))
            positive = observed > 0
            g2 = float(
                2 * np.sum(observed[positive] * np.log(observed[positive] / expected[positive]))
            )
            df = (ki - 1) * (kj - 1)
            score_i, score_j = np.arange(ki), np.arange(kj)
            agreement = float(score_i @ (observed - expected) @ score_j)
            v = np.sqrt(x2 / (n * (min(ki, kj) - 1)))
            rows.append(
                {
                    "item_1": model.items_[i],
                    "item_2": model.items_[j],
                    "ld_x2": x2,
                    "ld_g2": g2,
                    "df": df,
                    "p_x2": float(special.chdtrc(df, x2)) if df > 0 else np.nan,
                    "cramers_v": float(np.sign(agreement) * v),
                    "n_obs": n,
                }
            )
    return pd.DataFrame(rows)


def category_use(
    data: pd.DataFrame, *, items: list[str] | None = None, min_count: int = 10
) -> pd.DataFrame:
    """Answers per response category, with categories used fewer than ``min_count`` times flagged.

    Returns
    -------
    DataFrame
        One row per (item, category value): ``item, category, count, proportion, sparse``.
        Categories never used but lying between used ones appear with count 0.
    """
    items = list(data.columns) if items is None else items
    rows = []
    for item in items:
        column = data[item].dropna()
        if column.empty:
            continue
        counts = column.value_counts()
        values = counts.index.to_numpy(dtype=float)
        grid = values
        if np.all(values == np.round(values)):
            grid = np.arange(values.min(), values.max() + 1)
        for value in grid:
            c = int(counts.get(value, 0))
            rows.append(
                {
                    "item": str(item),
                    "category": float(value),
                    "count": c,
                    "proportion": c / len(column),
                    "sparse": c < min_count,
                }
            )
    return pd.DataFrame(rows)


def _collapse_mirt(  # noqa: C901 - mirt's collapseCells, one branch per step of it
    observed: np.ndarray, expected: np.ndarray, min_expected: float = 1.0
):
    """R mirt's ``collapseCells`` for one item, step by step (R/utils.R).

    ``observed`` and ``expected`` are (score 1..max-1) x category tables; ``expected`` is NaN
    where the cell is impossible. Returns the collapsed tables, ``expected`` NaN where a cell was
    merged away (those cells are not counted in the statistic or the df). mirt's quirks are kept:
    the sparse-cell flags of the across-category step are computed before the rows holding a single
    respondent are merged (and are then read by the new row positions).
    """
    obs = np.array(observed, dtype=float)
    exp = np.array(expected, dtype=float)
    drop = np.nonzero(np.isnan(exp).any(axis=1))[0]
    exp[np.isnan(exp)] = 0.0
    if drop.size:
        half = drop.size // 2
        up = np.arange(drop[0], drop[max(half - 1, 0)] + 1)
        low = np.arange(drop[half], drop[-1] + 1)
        top = up.max() + 1
        bottom = low.min() - 1
        exp[top] = exp[np.concatenate([up, [top]])].sum(axis=0)
        obs[top] = obs[np.concatenate([up, [top]])].sum(axis=0)
        exp[bottom] = exp[np.concatenate([low, [bottom]])].sum(axis=0)
        obs[bottom] = obs[np.concatenate([low, [bottom]])].sum(axis=0)
        keep = np.ones(exp.shape[0], dtype=bool)
        keep[np.concatenate([up, low])] = False
        exp, obs = exp[keep], obs[keep]
    if exp.shape[0] == 0:
        return obs, exp
    nonzero = obs.sum(axis=1) != 0
    obs, exp = obs[nonzero], exp[nonzero]
    sparse = exp < min_expected
    single = []
    for j in range(obs.shape[0] - 1):
        if obs[j].sum() == 1:
            single.append(j)
            obs[j + 1] += obs[j]
            exp[j + 1] += exp[j]
    if single:
        keep = np.ones(obs.shape[0], dtype=bool)
        keep[single] = False
        obs, exp = obs[keep], exp[keep]
    if obs.shape[0] > 1 and obs[-1].sum() == 1:
        obs[-2] += obs[-1]
        exp[-2] += exp[-1]
        obs, exp = obs[:-1], exp[:-1]
    n_cat = exp.shape[1]
    if n_cat > 2:  # collapse across categories within a score row
        for j in range(exp.shape[0]):
            if j >= sparse.shape[0] or not sparse[j].any():
                continue
            e_row, o_row = list(exp[j]), list(obs[j])
            while len(e_row) > 2:
                smallest = min(e_row)
                at = max(i for i, v in enumerate(e_row) if v == smallest)
                if at == 0:
                    pick = 1
                elif at == len(e_row) - 1:
                    pick = at - 1
                else:
                    pick = at - 1 if e_row[at - 1] <= e_row[at + 1] else at + 1
                e_row[pick] += e_row[at]
                o_row[pick] += o_row[at]
                del e_row[at], o_row[at]
                if all(v >= min_expected for v in e_row):
                    break
            exp[j] = e_row + [0.0] * (n_cat - len(e_row))  # mirt pads with NA, then sets 0
            obs[j] = o_row + [0.0] * (n_cat - len(o_row))
    if exp.shape[1] > 2:  # the rightmost columns, when too rare
        while True:
            rare = exp.sum(axis=0) < min_expected * math.ceil(exp.shape[0] * 0.1)
            if not rare[-1] or exp.shape[1] == 2:
                break
            exp[:, -2] += exp[:, -1]
            obs[:, -2] += obs[:, -1]
            exp, obs = exp[:, :-1], obs[:, :-1]
    dropcol = np.zeros(exp.shape[1], dtype=bool)
    for j in range(exp.shape[1] - 1, 0, -1):  # any other very rare column
        if (exp[:, j] > 0).sum() / exp.shape[0] < 0.05:
            dropcol[j] = True
            exp[:, j - 1] += exp[:, j]
            obs[:, j - 1] += obs[:, j]
    exp, obs = exp[:, ~dropcol], obs[:, ~dropcol]
    flags = (exp < min_expected) & (exp != 0)
    while flags.any() and exp.shape[0] > 1:  # merge score rows
        at = int(np.nonzero(flags.any(axis=1))[0].min())
        if at == 0:
            pick = 1
        elif at == exp.shape[0] - 1:
            pick = at - 1
        else:
            pick = at - 1 if obs[at - 1].sum() <= obs[at + 1].sum() else at + 1
        exp[pick] += exp[at]
        obs[pick] += obs[at]
        exp, obs = np.delete(exp, at, axis=0), np.delete(obs, at, axis=0)
        flags = (exp < min_expected) & (exp != 0)
    exp[exp == 0] = np.nan
    return obs, exp
