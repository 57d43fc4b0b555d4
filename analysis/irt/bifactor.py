"""Bifactor graded response model (mirt's ``bfactor``) by EM with two-tier quadrature.

Every item loads on the general trait and on at most one specific trait; all traits are
independent N(0, 1). The likelihood of a response pattern factorises given the general trait, so
the E-step integrates each specific trait on its own (Gibbons and Hedeker's dimension reduction):
``L(x) = sum_q w_q prod_s sum_r w_r prod_{j in s} P_j(x_j | g_q, s_r)``, a two-dimensional grid
per specific factor however many there are.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit

from analysis._compat import single_threaded_blas
from analysis._estimator import Estimator
from analysis._results import Result
from analysis.errors import ConvergenceWarning
from analysis.irt.model import check_responses, prepare_responses, quadrature, start_values

__all__ = ["BifactorFit", "BifactorGradedModel"]

_FLOOR = 1e-300


def _graded_probs(params: np.ndarray, design: np.ndarray, n_slopes: int) -> np.ndarray:
    """Category probabilities (N, K) of a graded item with logits ``design @ slopes + d_k``."""
    z = (design @ params[:n_slopes])[:, None] + params[n_slopes:][None, :]
    pstar = expit(z)
    full = np.concatenate([np.ones((z.shape[0], 1)), pstar, np.zeros((z.shape[0], 1))], axis=1)
    return np.maximum(full[:, :-1] - full[:, 1:], _FLOOR)


def _graded_design(params: np.ndarray, design: np.ndarray, n_slopes: int):
    """Category probabilities and log-probability derivatives of a graded item whose boundary
    logits are ``design @ slopes + d_k``.

    ``design`` is (N, n_slopes); returns probs (N, K), dlog (N, K, P), d2log (N, K, P, P).
    """
    slopes, ints = params[:n_slopes], params[n_slopes:]
    n_cat = ints.size + 1
    n_par = params.size
    z = (design @ slopes)[:, None] + ints[None, :]
    pstar = expit(z)
    full = np.concatenate([np.ones((z.shape[0], 1)), pstar, np.zeros((z.shape[0], 1))], axis=1)
    probs = np.maximum(full[:, :-1] - full[:, 1:], _FLOOR)
    psi = pstar * (1.0 - pstar)
    dpsi = psi * (1.0 - 2.0 * pstar)
    basis = np.zeros((z.shape[0], n_cat - 1, n_par))
    basis[:, :, :n_slopes] = design[:, None, :]
    basis[:, np.arange(n_cat - 1), n_slopes + np.arange(n_cat - 1)] = 1.0
    dstar = psi[:, :, None] * basis
    d2star = dpsi[:, :, None, None] * basis[:, :, :, None] * basis[:, :, None, :]
    zeros1 = np.zeros((z.shape[0], 1, n_par))
    zeros2 = np.zeros((z.shape[0], 1, n_par, n_par))
    dfull = np.concatenate([zeros1, dstar, zeros1], axis=1)
    d2full = np.concatenate([zeros2, d2star, zeros2], axis=1)
    dlog = (dfull[:, :-1] - dfull[:, 1:]) / probs[:, :, None]
    d2log = (d2full[:, :-1] - d2full[:, 1:]) / probs[:, :, None, None] - (
        dlog[:, :, :, None] * dlog[:, :, None, :]
    )
    return probs, dlog, d2log


@dataclass(frozen=True, repr=False)
class BifactorFit(Result):
    """Estimates of a bifactor graded model.

    Attributes
    ----------
    parameters : DataFrame
        One row per item: ``item, specific`` (the specific factor, or None), ``a_general,
        a_specific, d1..`` (mirt's ``coef()``: ``a1`` general, ``a2..`` specific).
    loglik : float
    n_obs, n_parameters, n_iter : int
    converged : bool
    """

    parameters: pd.DataFrame
    loglik: float
    n_obs: int
    n_parameters: int
    n_iter: int
    converged: bool
    options: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """The parameter table (one row per item)."""
        return self.parameters.copy()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["parameters"] = self.parameters.to_dict(orient="records")
        return out


class BifactorGradedModel(Estimator):
    """Bifactor graded response model (binary items: the bifactor 2PL) by marginal ML.

    Parameters
    ----------
    specific : sequence
        The specific factor of each item (any labels; None or NaN: general factor only).
    quadrature_points : int, default 31
        Nodes per dimension (mirt's ``bfactor`` default for a two-tier grid).
    theta_limits : tuple, default (-6, 6)
    tol : float, default 1e-5
        EM stops when no parameter moves more than this.
    max_iter : int, default 2000

    Attributes
    ----------
    items_ : list of str
    specific_ : list
    params_ : list of ndarray
        Per item ``(a_general, a_specific, d_1, ..., d_{K-1})`` (``a_specific`` 0 and fixed for an
        item without a specific factor).
    loglik_ : float
    results_ : BifactorFit

    Notes
    -----
    R mirt's ``bfactor(data, specific)`` (EM, 31 nodes per dimension on [-6, 6], independent
    standard normal traits). No standard errors.

    References
    ----------
    Gibbons, R. D., & Hedeker, D. R. (1992). Full-information item bi-factor analysis.
    Psychometrika, 57, 423-436.
    Cai, L., Yang, J. S., & Hansen, M. (2011). Generalized full-information item bifactor analysis.
    Psychological Methods, 16, 221-248.
    """

    def __init__(
        self,
        specific: Sequence[Any],
        *,
        quadrature_points: int = 31,
        theta_limits: tuple[float, float] = (-6.0, 6.0),
        tol: float = 1e-5,
        max_iter: int = 2000,
    ):
        self.specific = specific
        self.quadrature_points = quadrature_points
        self.theta_limits = theta_limits
        self.tol = tol
        self.max_iter = max_iter

    def fit(self, data: pd.DataFrame) -> BifactorGradedModel:
        """Estimate the item parameters (respondents without any answer are ignored)."""
        check_responses(data)
        specific = list(self.specific)
        if len(specific) != data.shape[1]:
            raise ValueError(f"specific has {len(specific)} entries for {data.shape[1]} items")
        labels = [
            None if s is None or (isinstance(s, float) and np.isnan(s)) else s for s in specific
        ]
        groups = sorted({s for s in labels if s is not None}, key=str)
        if not groups:
            raise ValueError("specific assigns no item to a specific factor")
        answered = data.notna().any(axis=1).to_numpy()
        prepared = prepare_responses(data.loc[answered])
        with single_threaded_blas():
            self._estimate(prepared, labels, groups)
        self.items_ = prepared.items
        self.specific_ = labels
        self.categories_ = prepared.categories
        self.n_obs_ = int(prepared.counts.sum())
        rows = []
        for item, s, p in zip(self.items_, labels, self.params_, strict=True):
            row: dict[str, Any] = {"item": item, "specific": s, "a_general": p[0]}
            row["a_specific"] = p[1] if s is not None else 0.0
            row.update({f"d{k}": v for k, v in enumerate(p[2:], start=1)})
            rows.append(row)
        n_par = sum(
            p.size - (0 if s is not None else 1) for s, p in zip(labels, self.params_, strict=True)
        )
        results = BifactorFit(
            parameters=pd.DataFrame(rows),
            loglik=float(self.loglik_),
            n_obs=self.n_obs_,
            n_parameters=int(n_par),
            n_iter=self.n_iter_,
            converged=self.converged_,
            options={"quadrature_points": int(self.quadrature_points), "specific": labels},
        )
        return self._finish_fit(results)

    def _estimate(self, data, labels, groups) -> None:
        nodes, weights = quadrature(int(self.quadrature_points), self.theta_limits)
        q = nodes.size
        g_grid = np.repeat(nodes, q)  # (q*q,) general node of each (g, s) cell
        s_grid = np.tile(nodes, q)
        design2 = np.column_stack([g_grid, s_grid])
        design1 = nodes[:, None]
        members = {s: [j for j, lab in enumerate(labels) if lab == s] for s in groups}
        alone = [j for j, lab in enumerate(labels) if lab is None]

        def item_cells(items):
            return np.concatenate(
                [np.arange(data.offsets[j], data.offsets[j + 1]) for j in items] or [[]]
            ).astype(int)

        cells = {s: item_cells(members[s]) for s in groups}
        alone_cells = item_cells(alone)
        params = []
        for j in range(len(labels)):
            lo, hi = data.offsets[j], data.offsets[j + 1]
            counts = np.asarray(data.onehot[:, lo:hi].T @ data.counts).ravel()
            base = start_values("graded", counts)
            params.append(
                np.concatenate([[base[0]], [0.5 if labels[j] is not None else 0.0], base[1:]])
            )
        pats = data.patterns
        n = data.counts
        log_w = np.log(weights)
        loglik = -np.inf
        converged = False
        n_iter = 0
        for n_iter in range(1, int(self.max_iter) + 1):  # noqa: B007
            # E-step: per specific factor the (pattern, g, s) likelihood, integrated over s
            inner = {}
            log_general = np.zeros((pats.shape[0], q))
            for s in groups:
                cols = cells[s]
                log_probs = np.vstack(
                    [np.log(_graded_probs(params[j], design2, 2)).T for j in members[s]]
                )  # (cells of s, q*q)
                logl = np.asarray(data.onehot[:, cols] @ log_probs)
                logl = logl.reshape(-1, q, q) + log_w[None, None, :]
                peak = logl.max(axis=2, keepdims=True)
                like = np.exp(logl - peak)
                total = like.sum(axis=2, keepdims=True)
                inner[s] = like / total  # posterior of s given (pattern, g)
                log_general += (peak + np.log(total))[:, :, 0]
            if alone:
                log_probs = np.vstack(
                    [
                        np.log(
                            _graded_probs(params[j][[0, *range(2, params[j].size)]], design1, 1)
                        ).T
                        for j in alone
                    ]
                )
                log_general += np.asarray(data.onehot[:, alone_cells] @ log_probs)
            log_general += log_w[None, :]
            peak = log_general.max(axis=1, keepdims=True)
            post_g = np.exp(log_general - peak)
            norm = post_g.sum(axis=1, keepdims=True)
            post_g /= norm
            new_loglik = float(n @ (peak + np.log(norm))[:, 0])
            weighted = n[:, None] * post_g  # (P, q)
            old = np.concatenate(params)
            # M-step: one Newton step per item on its expected complete-data log-likelihood
            for s in groups:
                joint = (weighted[:, :, None] * inner[s]).reshape(pats.shape[0], q * q)
                expected = np.asarray(data.onehot[:, cells[s]].T @ joint)  # (cells, q*q)
                at = 0
                for j in members[s]:
                    k = int(data.n_categories[j])
                    params[j] = _newton_step(params[j], expected[at : at + k].T, design2, 2)
                    at += k
            if alone:
                expected = np.asarray(data.onehot[:, alone_cells].T @ weighted)  # (cells, q)
                at = 0
                for j in alone:
                    k = int(data.n_categories[j])
                    reduced = params[j][[0, *range(2, params[j].size)]]
                    reduced = _newton_step(reduced, expected[at : at + k].T, design1, 1)
                    params[j] = np.concatenate([[reduced[0]], [0.0], reduced[1:]])
                    at += k
            change = np.abs(np.concatenate(params) - old).max()
            loglik = new_loglik
            if change < self.tol:
                converged = True
                break
        if not converged:
            warnings.warn(
                f"the bifactor model did not converge after {n_iter} EM cycles",
                ConvergenceWarning,
                stacklevel=3,
            )
        self.params_ = params
        self.loglik_ = loglik
        self.converged_ = converged
        self.n_iter_ = n_iter


def _newton_step(params: np.ndarray, counts: np.ndarray, design: np.ndarray, n_slopes: int):
    """One safeguarded Newton step on ``sum counts * log P`` (counts (N, K))."""
    probs, dlog, d2log = _graded_design(params, design, n_slopes)
    grad = np.einsum("nk,nkp->p", counts, dlog)
    hess = np.einsum("nk,nkpr->pr", counts, d2log)
    value = float((counts * np.log(probs)).sum())
    try:
        if np.all(np.linalg.eigvalsh(-hess) > 0):
            step = -np.linalg.solve(hess, grad)
        else:
            step = grad / max(1.0, float(np.abs(hess).max()))
    except np.linalg.LinAlgError:
        step = grad / max(1.0, float(np.abs(hess).max()))
    scale = 1.0
    while scale > 1e-6:
        trial = params + scale * step
        ints = trial[n_slopes:]
        ordered = np.all(np.isfinite(trial)) and (ints.size < 2 or np.all(np.diff(ints) < 0))
        if (
            ordered
            and float((counts * np.log(_graded_probs(trial, design, n_slopes))).sum()) >= value
        ):
            return trial
        scale /= 2.0
    return params
