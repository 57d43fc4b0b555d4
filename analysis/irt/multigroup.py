"""Multiple-group unidimensional IRT models and likelihood-ratio DIF tests (mirt's ``DIF()``).

Groups share one quadrature (61 nodes on [-6, 6]); the first group's trait is N(0, 1), the other
groups' means and variances are free (mirt's ``invariance = c("free_means", "free_var", ...)``).
Items listed as constrained have one set of parameters for all groups (anchors); every other item
has its own parameters in each group. Estimation is EM: expected counts are pooled over groups
for constrained items, each group's trait distribution is updated by maximising the expected
complete-data log-likelihood of its (normalised) quadrature weights.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: ~1 s to import

from analysis._compat import single_threaded_blas
from analysis._estimator import Estimator, ModelResults
from analysis.errors import ConvergenceWarning
from analysis.irt.items import item_derivatives
from analysis.irt.model import (
    GradedResponseModel,
    check_responses,
    normal_pdf,
    prepare_responses,
    start_values,
)

__all__ = ["MultipleGroupGradedModel", "dif_multigroup"]


def _group_weights(nodes: np.ndarray, mean: float, sd: float) -> np.ndarray:
    w = normal_pdf(nodes, loc=mean, scale=sd)
    return w / w.sum()


class MultipleGroupGradedModel(Estimator):
    """A graded (or GPCM/2PL) model fitted jointly in several groups.

    Parameters
    ----------
    item_type : str or list of str, default "graded"
    constrained : sequence of str or None, default None
        Items with parameters equal across groups. ``None``: all items (the fully invariant
        model).
    free_means, free_variances : bool, default True
        Estimate the trait mean / variance of every group but the first.
    quadrature_points : int, default 61
    theta_limits : tuple, default (-6, 6)
    tol : float, default 1e-7
        EM stops when the log-likelihood improves by less than this.
    max_iter : int, default 5000
    se_type : {None, "louis", "sandwich"}, default None
        Standard errors of every item parameter and of the free group means and variances:
        the observed information (``"louis"``), or the sandwich with it as bread and the
        cross-product of the respondents' scores as meat. None (the default, as used by the DIF
        likelihood-ratio tests): no SEs.

    Attributes
    ----------
    groups_ : list
        Group labels; the first is the reference group (N(0, 1)).
    group_means_, group_variances_ : ndarray
    parameters_ : DataFrame
        ``item, group`` (``"all"`` for constrained items), ``a1, d1, ...``.
    loglik_ : float
    n_parameters_ : int
    converged_ : bool
    results_ : ModelResults
        ``parameters_`` as its table and the scalar statistics (log-likelihood, counts).
    cov_ : ndarray or None
        Covariance of the free parameters in the order of ``estimates_`` (with ``se_type``).
    estimates_ : DataFrame
        Long form: ``item`` (``"GROUP"`` for the trait), ``group``, ``parameter`` (``a1, d1..``;
        ``MEAN_1``, ``COV_11``), ``estimate, se`` (NaN without ``se_type``).

    Notes
    -----
    R mirt's ``multipleGroup(data, 1, group, invariance = c(constrained items, "free_means",
    "free_var"), SE = TRUE, SE.type = "Louis" | "sandwich")``. The observed information is
    obtained as the Jacobian (central differences) of the exact marginal score, which by Fisher's
    identity is the posterior expectation of the complete-data score in every group; for a single
    group this is Louis' information (checked against the analytic single-group Louis matrix).
    The trait parameters are the group mean and variance (mirt's ``MEAN_1``, ``COV_11``).
    """

    def __init__(
        self,
        item_type: str | list[str] = "graded",
        *,
        constrained: Sequence[str] | None = None,
        free_means: bool = True,
        free_variances: bool = True,
        quadrature_points: int = 61,
        theta_limits: tuple[float, float] = (-6.0, 6.0),
        tol: float = 1e-7,
        max_iter: int = 5000,
        se_type: str | None = None,
    ):
        self.item_type = item_type
        self.constrained = constrained
        self.free_means = free_means
        self.free_variances = free_variances
        self.quadrature_points = quadrature_points
        self.theta_limits = theta_limits
        self.tol = tol
        self.max_iter = max_iter
        self.se_type = se_type

    def fit(self, data: pd.DataFrame, group: pd.Series | np.ndarray) -> MultipleGroupGradedModel:
        """Estimate the model; rows with a missing group or no answer are dropped."""
        if self.se_type not in (None, "louis", "sandwich"):
            raise ValueError(f"se_type must be None, 'louis' or 'sandwich', got {self.se_type!r}")
        check_responses(data)
        group = pd.Series(np.asarray(group), index=data.index)
        keep = group.notna() & data.notna().any(axis=1)
        data, group = data.loc[keep], group.loc[keep]
        labels = sorted(pd.unique(group), key=str)
        if len(labels) < 2:
            raise ValueError("group has fewer than 2 groups among respondents with answers")
        items = [str(c) for c in data.columns]
        kinds = [self.item_type] * len(items) if isinstance(self.item_type, str) else self.item_type
        if len(kinds) != len(items):
            raise ValueError(f"item_type has {len(kinds)} entries for {len(items)} items")
        constrained = items if self.constrained is None else [str(c) for c in self.constrained]
        unknown = sorted(set(constrained) - set(items))
        if unknown:
            raise ValueError(f"constrained items not in data: {unknown}")
        # expanded item set: constrained items once, free items once per group
        columns: dict[str, pd.Series] = {}
        expanded_kinds: list[str] = []
        owners: list[tuple[str, Any]] = []
        for item, kind in zip(items, kinds, strict=True):
            if item in constrained:
                columns[item] = data[item]
                expanded_kinds.append(kind)
                owners.append((item, "all"))
            else:
                for label in labels:
                    columns[f"{item}@{label}"] = data[item].where(group == label)
                    expanded_kinds.append(kind)
                    owners.append((item, label))
        expanded = pd.DataFrame(columns, index=data.index).astype(float)
        # a free item's column may be empty in a group without answers to it
        empty = [c for c in expanded.columns if expanded[c].notna().sum() == 0]
        if empty:
            raise ValueError(f"no answers in a group for: {empty}")
        whole = prepare_responses(expanded)
        per_group = [
            prepare_responses(expanded.loc[(group == g).to_numpy()], categories=whole.categories)
            for g in labels
        ]
        with single_threaded_blas():
            self._estimate(whole, per_group, expanded_kinds, labels)
        self.groups_ = labels
        self.items_ = items
        rows = []
        for (item, label), kind, p in zip(owners, expanded_kinds, self.params_, strict=True):
            row: dict[str, Any] = {"item": item, "group": label, "item_type": kind, "a1": p[0]}
            row.update({f"d{k}": v for k, v in enumerate(p[1:], start=1)})
            rows.append(row)
        self.parameters_ = pd.DataFrame(rows)
        self.n_obs_ = int(len(data))
        self._owners = owners
        self._kinds = expanded_kinds
        self._categories = whole.categories
        self.cov_ = None
        se = np.full(self._n_free(), np.nan)
        if self.se_type is not None:
            with single_threaded_blas():
                self.cov_ = self._covariance(per_group, expanded_kinds)
            se = np.sqrt(np.clip(np.diag(self.cov_), 0.0, None))
        self.estimates_ = self._estimate_table(se)
        return self._finish_fit(ModelResults.of(self, self.parameters_))

    # ------------------------------------------------------------------ standard errors
    def _n_free(self) -> int:
        n_latent = (len(self.groups_) - 1) * (int(self.free_means) + int(self.free_variances))
        return int(sum(p.size for p in self.params_) + n_latent)

    def _flat(self) -> np.ndarray:
        parts = [np.concatenate(self.params_)]
        for g in range(1, len(self.groups_)):
            if self.free_means:
                parts.append(np.array([self.group_means_[g]]))
            if self.free_variances:
                parts.append(np.array([self.group_variances_[g]]))
        return np.concatenate(parts)

    def _unflat(self, flat: np.ndarray):
        sizes = [p.size for p in self.params_]
        cuts = np.concatenate([[0], np.cumsum(sizes)])
        params = [flat[cuts[j] : cuts[j + 1]] for j in range(len(sizes))]
        means = np.zeros(len(self.groups_))
        variances = np.ones(len(self.groups_))
        at = int(cuts[-1])
        for g in range(1, len(self.groups_)):
            means[g] = self.group_means_[g]
            variances[g] = self.group_variances_[g]
            if self.free_means:
                means[g] = flat[at]
                at += 1
            if self.free_variances:
                variances[g] = flat[at]
                at += 1
        return params, means, variances

    def _pattern_scores(self, flat: np.ndarray, per_group, kinds) -> list[tuple]:
        """Per group (pattern counts, marginal score of each pattern (n_pat, n_free))."""
        params, means, variances = self._unflat(flat)
        engine = GradedResponseModel(kinds)
        engine.item_types_ = kinds
        nodes, _ = _grid(self.quadrature_points, self.theta_limits)
        engine.nodes_ = nodes
        sizes = np.array([p.size for p in params])
        offsets = np.concatenate([[0], np.cumsum(sizes)])
        n_free = flat.size
        dlogs = [item_derivatives(kind, p, nodes)[1] for kind, p in zip(kinds, params, strict=True)]
        out = []
        at_latent = int(offsets[-1])
        for g, data_g in enumerate(per_group):
            engine.weights_ = _group_weights(nodes, means[g], np.sqrt(variances[g]))
            post, _, _ = engine._posterior(data_g, params)
            scores = np.zeros((data_g.patterns.shape[0], n_free))
            for j in range(len(params)):
                seen = np.nonzero(data_g.patterns[:, j] >= 0)[0]
                if seen.size == 0:
                    continue
                q, k, pj = dlogs[j].shape
                through = (post[seen] @ dlogs[j].reshape(q, k * pj)).reshape(-1, k, pj)
                scores[seen, offsets[j] : offsets[j + 1]] = through[
                    np.arange(seen.size), data_g.patterns[seen, j]
                ]
            if g > 0:
                # d log w_q / d(mean, variance) of the normalised normal weights on the grid
                w = engine.weights_
                dev = nodes - means[g]
                d_mean = dev / variances[g]
                d_var = -0.5 / variances[g] + 0.5 * dev**2 / variances[g] ** 2
                col = at_latent + (g - 1) * (int(self.free_means) + int(self.free_variances))
                if self.free_means:
                    scores[:, col] = post @ (d_mean - w @ d_mean)
                    col += 1
                if self.free_variances:
                    scores[:, col] = post @ (d_var - w @ d_var)
            out.append((data_g.counts, scores))
        return out

    def _covariance(self, per_group, kinds) -> np.ndarray:
        flat = self._flat()

        def total_score(x):
            return sum(c @ s for c, s in self._pattern_scores(x, per_group, kinds))

        info = np.zeros((flat.size, flat.size))
        for i in range(flat.size):
            h = 1e-5 * max(1.0, abs(flat[i]))
            up, down = flat.copy(), flat.copy()
            up[i] += h
            down[i] -= h
            info[:, i] = -(total_score(up) - total_score(down)) / (2 * h)
        info = (info + info.T) / 2.0
        self.information_ = info
        try:
            inverse = np.linalg.inv(info)
        except np.linalg.LinAlgError:
            return np.full_like(info, np.nan)
        if self.se_type == "louis":
            return inverse
        meat = sum(s.T @ (c[:, None] * s) for c, s in self._pattern_scores(flat, per_group, kinds))
        return inverse @ meat @ inverse

    def _estimate_table(self, se: np.ndarray) -> pd.DataFrame:
        rows = []
        at = 0
        for (item, label), p in zip(self._owners, self.params_, strict=True):
            for k, value in enumerate(p):
                name = "a1" if k == 0 else f"d{k}"
                rows.append(
                    {
                        "item": item,
                        "group": label,
                        "parameter": name,
                        "estimate": float(value),
                        "se": float(se[at]),
                    }
                )
                at += 1
        for g in range(1, len(self.groups_)):
            for flag, name, value in (
                (self.free_means, "MEAN_1", self.group_means_[g]),
                (self.free_variances, "COV_11", self.group_variances_[g]),
            ):
                if flag:
                    rows.append(
                        {
                            "item": "GROUP",
                            "group": self.groups_[g],
                            "parameter": name,
                            "estimate": float(value),
                            "se": float(se[at]),
                        }
                    )
                    at += 1
        return pd.DataFrame(rows)

    def group_models(self) -> dict[Any, GradedResponseModel]:
        """Each group's item parameters as a fitted single-group model (on the common scale).

        For :func:`~analysis.irt.expected_score_curves` (DTF) and for scoring one group's
        respondents; the trait of group g is N(``group_means_[g]``, ``group_variances_[g]``)
        on this scale, while the returned models score with the N(0, 1) quadrature.
        """
        self._check_fitted()
        out = {}
        for label in self.groups_:
            model = GradedResponseModel([])
            model.items_, model.item_types_, model.categories_, model.params_ = [], [], [], []
            for (item, owner), kind, cats, p in zip(
                self._owners, self._kinds, self._categories, self.params_, strict=True
            ):
                if owner == "all" or owner == label:
                    model.items_.append(item)
                    model.item_types_.append(kind)
                    model.categories_.append(cats)
                    model.params_.append(p.copy())
            model.nodes_, model.weights_ = _grid(self.quadrature_points, self.theta_limits)
            model._par_offsets = np.concatenate([[0], np.cumsum([p.size for p in model.params_])])
            model.cov_ = None
            model.loglik_ = float(self.loglik_)
            model.n_obs_ = self.n_obs_
            model.converged_ = self.converged_
            model.n_iter_ = self.n_iter_
            out[label] = model
        return out

    def _estimate(self, whole, per_group, kinds, labels) -> None:
        engine = GradedResponseModel(kinds)
        engine.item_types_ = kinds
        engine.nodes_, engine.weights_ = _grid(self.quadrature_points, self.theta_limits)
        nodes = engine.nodes_
        params = [
            start_values(kind, np.asarray(whole.onehot[:, lo:hi].T @ whole.counts).ravel())
            for kind, lo, hi in zip(kinds, whole.offsets[:-1], whole.offsets[1:], strict=True)
        ]
        means = np.zeros(len(labels))
        sds = np.ones(len(labels))
        loglik = -np.inf
        converged = False
        engine._m_newton_steps = 1
        n_iter = 0
        for _ in range(int(self.max_iter)):
            expected = np.zeros((int(whole.offsets[-1]), nodes.size))
            total = 0.0
            node_counts = []
            for g, data_g in enumerate(per_group):
                engine.weights_ = _group_weights(nodes, means[g], sds[g])
                post, _, ll = engine._posterior(data_g, params)
                total += ll
                counts = engine._expected_counts(data_g, post)
                expected += counts
                node_counts.append(data_g.counts @ post)
            engine._m_step(expected, params, whole)
            for g in range(1, len(labels)):
                means[g], sds[g] = self._latent_step(nodes, node_counts[g], means[g], sds[g])
            n_iter += 1
            if abs(total - loglik) < self.tol:
                converged = True
                loglik = total
                break
            loglik = total
        # the log-likelihood at the final parameters
        final = 0.0
        for g, data_g in enumerate(per_group):
            engine.weights_ = _group_weights(nodes, means[g], sds[g])
            final += engine._posterior(data_g, params)[2]
        if not converged:
            warnings.warn(
                "the multiple-group IRT model did not converge", ConvergenceWarning, stacklevel=3
            )
        self.params_ = params
        self.group_means_ = means
        self.group_variances_ = sds**2
        self.loglik_ = final
        self.converged_ = converged
        self.n_iter_ = n_iter
        n_latent = (len(labels) - 1) * (int(self.free_means) + int(self.free_variances))
        self.n_parameters_ = int(sum(p.size for p in params) + n_latent)

    def _latent_step(self, nodes, counts, mean, sd):
        """Posterior moments of the group's trait (the EM update of a normal trait on a grid)."""
        total = counts.sum()
        new_mean = float(counts @ nodes / total) if self.free_means else mean
        if self.free_variances:
            sd = float(np.sqrt(counts @ (nodes - new_mean) ** 2 / total))
        return new_mean, sd


def _grid(points: int, limits: tuple[float, float]):
    from analysis.irt.model import quadrature

    return quadrature(int(points), limits)


def dif_multigroup(
    data: pd.DataFrame,
    group: pd.Series | np.ndarray,
    *,
    anchors: Sequence[str] | None = None,
    items: Sequence[str] | None = None,
    item_type: str | list[str] = "graded",
) -> pd.DataFrame:
    """Likelihood-ratio DIF test of each item between multiple-group IRT models (mirt's DIF()).

    Parameters
    ----------
    data : DataFrame
        Item responses.
    group : array-like
        Group of each respondent.
    anchors : sequence of str, optional
        Items assumed free of DIF. Given: the baseline model constrains the anchors only and each
        tested item is constrained in turn (mirt ``scheme = "add"``). Not given: the baseline
        constrains all items and each tested item is freed in turn (``scheme = "drop"``).
    items : sequence of str, optional
        Items to test; default all non-anchor items.
    item_type : str or list of str, default "graded"

    Returns
    -------
    DataFrame
        One row per tested item: ``item, chi2, df, p_value, aic_diff, bic_diff, loglik_free,
        loglik_constrained`` (differences are constrained minus free: positive AIC/BIC
        differences favour DIF).

    Notes
    -----
    R mirt: ``DIF(multipleGroup(data, 1, group, invariance = c(anchors, "free_means",
    "free_var")), which.par = c("a1", "d1", ...), scheme = "add")``; the test frees (or
    constrains) all of the item's parameters at once.
    """
    group = pd.Series(np.asarray(group), index=data.index)
    names = [str(c) for c in data.columns]
    anchor_list = [] if anchors is None else [str(a) for a in anchors]
    tested = [c for c in names if c not in anchor_list] if items is None else list(items)
    n = int((group.notna() & data.notna().any(axis=1)).sum())

    def fit(constrained):
        return MultipleGroupGradedModel(item_type, constrained=constrained).fit(data, group)

    rows = []
    if anchors is not None:
        baseline = fit(anchor_list)
        for item in tested:
            constrained = fit([*anchor_list, item])
            rows.append(_lr_row(item, baseline, constrained, n))
    else:
        baseline = fit(names)
        for item in tested:
            free = fit([c for c in names if c != item])
            rows.append(_lr_row(item, free, baseline, n))
    return pd.DataFrame(rows)


def _lr_row(item, free, constrained, n) -> dict[str, Any]:
    chi2 = max(2.0 * (free.loglik_ - constrained.loglik_), 0.0)
    df = free.n_parameters_ - constrained.n_parameters_
    aic_free = -2 * free.loglik_ + 2 * free.n_parameters_
    aic_con = -2 * constrained.loglik_ + 2 * constrained.n_parameters_
    bic_free = -2 * free.loglik_ + np.log(n) * free.n_parameters_
    bic_con = -2 * constrained.loglik_ + np.log(n) * constrained.n_parameters_
    return {
        "item": item,
        "chi2": float(chi2),
        "df": int(df),
        "p_value": float(special.chdtrc(df, max(chi2, 0.0))) if df > 0 else np.nan,
        "aic_diff": float(aic_con - aic_free),
        "bic_diff": float(bic_con - bic_free),
        "loglik_free": float(free.loglik_),
        "loglik_constrained": float(constrained.loglik_),
    }
