"""Model fit of a unidimensional IRT model: M2 (limited information), S-X2 item fit, local
dependence (Chen-Thissen LD chi-square and G2) and category use."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

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

    def root(target, upper):
        def f(lam):
            return (
                stats.ncx2.cdf(statistic, df, lam) - target
                if lam > 0
                else (stats.chi2.cdf(statistic, df) - target)
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
        p_value=float(stats.chi2.sf(statistic, df)),
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
        Score groups are merged with their neighbour (from the ends inwards) until every expected
        cell reaches this (mirt's ``mincell``).

    Returns
    -------
    DataFrame
        One row per item: ``item, s_x2, df, p_value, n_obs``.

    Notes
    -----
    R mirt's ``itemfit(mod, "S_X2")``: for each summed score s (extremes excluded), the observed
    and the model-expected proportions in each category of the item, the expected ones from the
    Lord-Wingersky distributions with and without the item. ``df`` = cells - score groups -
    item parameters.

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
    codes = prepared.codes[complete]
    sums = codes.sum(axis=1)
    nodes, weights = model.nodes_, model.weights_
    probs = model.item_probabilities(nodes)
    total = lord_wingersky(probs)  # (S, Q)
    denom = total @ weights
    max_score = total.shape[0] - 1
    n_score = np.bincount(sums, minlength=max_score + 1).astype(float)
    rows = []
    for j, item in enumerate(model.items_):
        k = probs[j].shape[1]
        rest = lord_wingersky([p for i, p in enumerate(probs) if i != j])
        expected = np.zeros((max_score + 1, k))
        for c in range(k):
            expected[c : c + rest.shape[0], c] = (rest * probs[j][:, c][None, :]) @ weights
        expected = expected / denom[:, None] * n_score[:, None]
        observed = np.zeros((max_score + 1, k))
        np.add.at(observed, (sums, codes[:, j]), 1.0)
        observed, expected = observed[1:-1], expected[1:-1]
        keep = n_score[1:-1] > 0
        observed, expected = observed[keep], expected[keep]
        observed, expected = _collapse_scores(observed, expected, min_expected)
        stat = float(np.sum((observed - expected) ** 2 / expected, where=expected > 0))
        df = int((expected > 0).sum() - expected.shape[0] - model.params_[j].size)
        rows.append(
            {
                "item": item,
                "s_x2": stat if df > 0 else float("nan"),
                "df": max(df, 0),
                "p_value": float(stats.chi2.sf(stat, df)) if df > 0 else float("nan"),
                "n_obs": int(complete.sum()),
            }
        )
    return pd.DataFrame(rows)


def _collapse_scores(observed, expected, min_expected):
    """Merge score groups from both ends inwards while an expected cell is below the minimum."""
    obs = [row.copy() for row in observed]
    exp = [row.copy() for row in expected]
    changed = True
    while changed and len(exp) > 1:
        changed = False
        # pop first, then add into the neighbour: ``exp[1] += exp.pop(0)`` would write the sum
        # back at the shifted index, duplicating one group and losing another
        if (exp[0] < min_expected).any():
            first_exp, first_obs = exp.pop(0), obs.pop(0)
            exp[0] = exp[0] + first_exp
            obs[0] = obs[0] + first_obs
            changed = True
        if len(exp) > 1 and (exp[-1] < min_expected).any():
            last_exp, last_obs = exp.pop(), obs.pop()
            exp[-1] = exp[-1] + last_exp
            obs[-1] = obs[-1] + last_obs
            changed = True
    # a middle group still sparse: merge it into the next one
    i = 0
    while i < len(exp) - 1:
        if (exp[i] < min_expected).any():
            sparse_exp, sparse_obs = exp.pop(i), obs.pop(i)
            exp[i] = exp[i] + sparse_exp
            obs[i] = obs[i] + sparse_obs
        else:
            i += 1
    return np.array(obs), np.array(exp)


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
                    "p_x2": float(stats.chi2.sf(x2, df)),
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
