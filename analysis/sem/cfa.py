"""Confirmatory factor analysis by maximum likelihood, with lavaan's fit indices.

:class:`MeasurementModel` says which items measure which factor (from lavaan-like syntax or, via
:mod:`analysis.study.models`, from an instrument specification); :class:`CFA` estimates it by
normal-theory maximum likelihood and reports the fit measures, the parameter estimates with standard
errors and
standardized values, and modification indices, numerically as lavaan 0.6 does with its defaults
(``cfa(model, data, estimator = "ML")``: marker-variable identification, ML covariance matrix,
expected information, listwise deletion), or with ``missing = "ml"`` by full-information ML.

The estimator is written here in numpy rather than wrapped from semopy, because semopy has no SRMR,
RMSEA interval, modification indices or equality constraints across groups, and its AIC/BIC are
not on lavaan's log-likelihood scale. The same engine fits one group or several groups with
parameters held equal (:mod:`analysis.sem.invariance`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import special  # not scipy.stats: ~1 s to import

from analysis._estimator import Estimator, ModelResults
from analysis.sem.engine import (
    COMPARISON_MEASURES,
    LAMBDA,
    THETA,
    GroupStats,
    Structure,
    fit_structure,
    group_stats,
    missing_stats,
    prepare_data,
    trace_products,
)
from analysis.sem.fiml import PatternMoments
from analysis.sem.syntax import MeasurementModel

__all__ = ["CFA", "compare_models"]


class CFA(Estimator):
    """Confirmatory factor analysis by maximum likelihood (lavaan's ``cfa()`` defaults).

    Parameters
    ----------
    model : MeasurementModel or str
        The hypothesised model, or lavaan-like syntax for one.
    estimator : {"ML"}, default "ML"
        Normal-theory maximum likelihood on the ML (divide-by-N) covariance matrix. For ordinal
        items see :mod:`analysis.sem.wlsmv`.
    missing : {"listwise", "ml"}, default "listwise"
        ``"listwise"`` drops rows with any missing model item (lavaan ``missing = "listwise"``).
        ``"ml"`` uses every answer by full-information ML under missing at random (lavaan
        ``missing = "ml"``): the model gets a mean structure, the χ² is against the saturated
        model estimated by EM, and standard errors come from the observed information (lavaan's
        default with ``missing = "ml"``). The likelihood is summed over missing-data patterns
        (:mod:`analysis.sem.fiml`); it matches lavaan on bfi with its real missing answers
        (tests/test_fiml.py). Modification indices are not available with it.

    Attributes
    ----------
    fit_measures_ : pandas.Series
        lavaan's ``fitMeasures`` with snake_case names: ``npar, fmin, chisq, df, pvalue,
        baseline_chisq, baseline_df, baseline_pvalue, cfi, tli, logl, unrestricted_logl, aic, bic,
        ntotal, rmsea, rmsea_ci_lower, rmsea_ci_upper, rmsea_pvalue, srmr``.
    estimates_ : pandas.DataFrame
        lavaan's ``parameterEstimates(fit, standardized = TRUE)``: columns ``lhs, op, rhs, est, se,
        z, pvalue, std_all`` (fixed parameters have se 0 and NaN z/pvalue, as lavaan).
    converged_ : bool
    n_obs_ : int
        Respondents used: the complete rows under listwise deletion, every row with at least one
        answer under ``missing = "ml"``.
    implied_cov_ : pandas.DataFrame
        Model-implied covariance matrix Σ̂.
    sample_cov_ : pandas.DataFrame
        ML sample covariance matrix S (divided by N).
    results_ : ModelResults
        ``estimates_`` as its table (:meth:`summary`) and ``fit_measures_`` among its statistics.

    Notes
    -----
    The discrepancy minimised is F_ML = log|Σ| + tr(SΣ⁻¹) − log|S| − p (Jöreskog 1969), with
    Σ = ΛΦΛᵀ + Θ (first-order) or Σ = ΛAΨAᵀΛᵀ + Θ, A = (I − Β)⁻¹ (second-order factors in Β).
    Identification: the first loading of every factor is fixed to 1. Then (Bollen 1989; lavaan
    ``lav_fit_measures.R``):

    - χ² = N·F_ML (lavaan ``chisq``; N, not N − 1, with ``likelihood = "normal"``), df = p(p+1)/2 −
      q;
    - CFI = 1 − max(χ² − df, 0)/max(χ²_B − df_B, χ² − df, 0) and TLI = (χ²_B/df_B −
      χ²/df)/(χ²_B/df_B − 1), with the independence model (diagonal Σ) as baseline B;
    - RMSEA = √(max(χ² − df, 0)/(df·N)), 90% interval from the noncentral χ²
      (:func:`rmsea_interval`);
    - SRMR = √(mean over i ≥ j of ((s_ij − σ̂_ij)/√(s_ii s_jj))²) (lavaan ``srmr``, Bentler's form;
      with a mean structure, e.g. ``missing = "ml"``, the standardized mean residuals (x̄_i −
      μ̂_i)/√s_ii are averaged in too, and S, x̄ are the EM estimates of the saturated model);
    - logl = −N/2 (p log 2π + log|Σ̂| + tr(SΣ̂⁻¹)), AIC = −2 logl + 2q, BIC = −2 logl + q log N with q
      free parameters (no means without a mean structure, as lavaan);
    - standard errors from the inverse expected information, (N·½ΔᵀVΔ)⁻¹ (lavaan
      ``information = "expected"``), and ``std_all`` as lavaan's ``standardizedSolution`` (latent
      and observed variances both from the model).

    The criteria conventionally read as good fit (CFI/TLI ≥ .95, RMSEA ≤ .06, SRMR ≤ .08) are from
    Hu & Bentler (1999). Reverse-keyed items are modelled raw and get negative loadings.

    References
    ----------
    Bollen, K. A. (1989). *Structural equations with latent variables*. Wiley.
    Jöreskog, K. G. (1969). A general approach to confirmatory maximum likelihood factor analysis.
    *Psychometrika, 34*, 183-202.
    Hu, L., & Bentler, P. M. (1999). Cutoff criteria for fit indexes in covariance structure
    analysis. *Structural Equation Modeling, 6*, 1-55.
    Browne, M. W., & Cudeck, R. (1993). Alternative ways of assessing model fit. In K. A. Bollen &
    J. S. Long (Eds.), *Testing structural equation models*. Sage.

    Examples
    --------
    >>> rng = np.random.default_rng(1)  # synthetic data: two factors, three items each
    >>> f = rng.normal(size=(500, 2))
    >>> x = np.repeat(f, 3, axis=1) + rng.normal(size=(500, 6))
    >>> data = pd.DataFrame(x, columns=[f"i{k}" for k in range(1, 7)])
    >>> fit = CFA("a =~ i1 + i2 + i3\\nb =~ i4 + i5 + i6").fit(data)
    >>> int(fit.fit_measures_["df"]), bool(fit.fit_measures_["cfi"] > 0.95)
    (8, True)
    """

    def __init__(
        self, model: MeasurementModel | str, *, estimator: str = "ML", missing: str = "listwise"
    ):
        self.model = model
        self.estimator = estimator
        self.missing = missing

    def _model(self) -> MeasurementModel:
        if isinstance(self.model, str):
            return MeasurementModel.from_syntax(self.model)
        if not isinstance(self.model, MeasurementModel):
            raise TypeError(
                "model: expected a MeasurementModel or lavaan-like syntax, got "
                f"{type(self.model).__name__}"
            )
        return self.model

    def fit(self, data: pd.DataFrame, y=None) -> CFA:
        """Estimate the model on ``data`` (respondents × items; extra columns are ignored)."""
        if self.estimator != "ML":
            raise ValueError(
                f"estimator: {self.estimator!r} is not supported here; allowed: 'ML' "
                "(ordinal items: analysis.sem.wlsmv)"
            )
        model = self._model()
        x = prepare_data(data, model.observed, self.missing)
        if x.shape[0] <= len(model.observed):
            raise ValueError(
                f"data: {x.shape[0]} usable rows for {len(model.observed)} items; need more rows "
                "than items"
            )
        fiml = self.missing == "ml"
        return self._fit_stats(model, missing_stats(x, None) if fiml else group_stats(x, None))

    def fit_moments(self, stats: GroupStats | PatternMoments) -> CFA:
        """Estimate the model from sufficient statistics instead of rows.

        Parameters
        ----------
        stats : GroupStats or PatternMoments
            Complete-data moments of the model's items in ``model.observed`` order
            (:class:`analysis.sem.engine.GroupStats`, with ``missing="listwise"``) or their
            missing-data patterns (:func:`analysis.sem.fiml.pattern_moments`, with
            ``missing="ml"``), e.g. accumulated in chunks by :mod:`analysis.moments`.

        Returns
        -------
        CFA
            self, fitted exactly as :meth:`fit` on the rows behind ``stats``.
        """
        if self.estimator != "ML":
            raise ValueError(f"estimator: {self.estimator!r} is not supported here; allowed: 'ML'")
        model = self._model()
        kind = PatternMoments if self.missing == "ml" else GroupStats
        if not isinstance(stats, kind):
            raise TypeError(
                f"stats: missing={self.missing!r} needs {kind.__name__}, got {type(stats).__name__}"
            )
        if len(stats.mean) != len(model.observed):
            raise ValueError(
                f"stats: moments of {len(stats.mean)} items for a model of "
                f"{len(model.observed)} items"
            )
        if stats.n <= len(model.observed):
            raise ValueError(
                f"stats: {stats.n} rows for {len(model.observed)} items; need more rows than items"
            )
        return self._fit_stats(model, stats)

    def _fit_stats(self, model: MeasurementModel, stats: GroupStats | PatternMoments) -> CFA:
        fiml = isinstance(stats, PatternMoments)
        st = [stats]
        struct = Structure(model, 1, meanstructure=fiml)
        result = fit_structure(struct, st)
        self._struct, self._stats = struct, st
        self.theta_, self.converged_ = result.theta, result.converged
        self.fit_measures_ = result.fit_measures
        self.estimates_ = result.estimates.drop(columns="group")
        self.n_obs_ = stats.n
        sigma, _, _ = struct.implied(result.theta, 0)
        self.implied_cov_ = pd.DataFrame(sigma, index=model.observed, columns=model.observed)
        self.sample_cov_ = pd.DataFrame(st[0].cov, index=model.observed, columns=model.observed)
        self.model_ = model
        return self._finish_fit(self._results())

    def _results(self) -> ModelResults:
        return ModelResults.of(self, self.estimates_, self.fit_measures_.to_dict())

    # --- reading the solution -----------------------------------------------------------------

    def standardized_loadings(self) -> pd.DataFrame:
        """Standardized loadings (``std_all``) as an indicators × factors table (0 where none)."""
        self._check_fitted()
        e = self.estimates_[self.estimates_["op"] == "=~"]
        tab = e.pivot(index="rhs", columns="lhs", values="std_all").fillna(0.0)
        order_r = [v for v in (*self.model_.observed, *self.model_.latent) if v in tab.index]
        order_c = [f for f in self.model_.latent if f in tab.columns]
        out = tab.loc[order_r, order_c]
        out.index.name, out.columns.name = "indicator", "factor"
        return out

    def factor_correlations(self) -> pd.DataFrame:
        """Model-implied correlations among all factors (std_all of cov(η) = AΨAᵀ)."""
        self._check_fitted()
        _, _, (L, B, P, T, nu, al, A, LA) = self._struct.implied(self.theta_, 0)
        V = A @ P @ A.T
        sd = np.sqrt(np.diag(V))
        R = V / np.outer(sd, sd)
        lat = self.model_.latent
        return pd.DataFrame(
            R, index=pd.Index(lat, name="factor"), columns=pd.Index(lat, name="factor")
        )

    def modification_indices(self, top: int | None = 10) -> pd.DataFrame:
        """Score tests for fixed-to-zero cross-loadings and residual covariances.

        Parameters
        ----------
        top : int or None, default 10
            Keep the ``top`` largest (None: all).

        Returns
        -------
        pandas.DataFrame
            Columns ``lhs, op, rhs, mi, epc``, sorted by ``mi`` (largest first).

        Notes
        -----
        For a fixed parameter c with gradient g_c of F_ML at the estimates and expected information
        H (of F, i.e. twice the per-observation information), MI = N·g_c² / (2·V_c) with
        V_c = H_cc − H_cf H_ff⁻¹ H_fc, and EPC = −g_c / V_c (lavaan ``modindices``: candidates are
        the cross-loadings of first-order factors and the residual covariances of items).
        """
        self._check_fitted()
        if self.missing != "listwise":
            raise NotImplementedError(
                "modification indices are implemented for missing='listwise' only"
            )
        struct, st = self._struct, self._stats
        oi = {n: i for i, n in enumerate(struct.obs)}
        li = {n: i for i, n in enumerate(struct.lat)}
        t = struct.table
        have = {(int(m), int(r), int(c)) for m, r, c in zip(t.mat, t.row, t.col, strict=True)}
        cand: list[tuple[int, int, int]] = []
        labels: list[tuple[str, str, str]] = []
        for f in self.model_.first_order:
            for item in struct.obs:
                key = (LAMBDA, oi[item], li[f])
                if key not in have:
                    cand.append(key)
                    labels.append((f, "=~", item))
        for i in range(struct.p):
            for j in range(i):
                key = (THETA, i, j)
                if key not in have:
                    cand.append(key)
                    labels.append((struct.obs[j], "~~", struct.obs[i]))
        if not cand:
            return pd.DataFrame(columns=["lhs", "op", "rhs", "mi", "epc"])
        sigma, mu, dS, dM = struct.derivatives(self.theta_, 0, extra=cand)
        inv = np.linalg.inv(sigma)
        Wm = inv - inv @ st[0].cov @ inv
        grad = dS.reshape(len(dS), -1) @ Wm.ravel()
        H = trace_products(inv, dS)
        q = struct.n_free
        Hff, Hcf, Hcc = H[:q, :q], H[q:, :q], H[q:, q:]
        V = np.diag(Hcc) - np.einsum("ij,ji->i", Hcf, np.linalg.solve(Hff, Hcf.T))
        gc = grad[q:]
        with np.errstate(divide="ignore", invalid="ignore"):
            mi = st[0].n * gc**2 / (2 * V)
            epc = -gc / V
        out = pd.DataFrame(labels, columns=["lhs", "op", "rhs"])
        out["mi"], out["epc"] = mi, epc
        out = out.sort_values("mi", ascending=False, kind="stable").reset_index(drop=True)
        return out if top is None else out.head(top)

    def summary(self) -> pd.DataFrame:
        """The parameter estimates (``estimates_``)."""
        self._check_fitted()
        return self.results_.summary()


def _nested(a: MeasurementModel, b: MeasurementModel) -> bool:
    """Crude nesting check for the models this module builds: same items, and a's implied structure
    obtainable from b's by constraints (a with fewer parameters whose factors are unions of b's)."""
    if set(a.observed) != set(b.observed):
        return False
    # a factor of `a` must be a union of first-order factors of `b` (one-factor ⊂ themes ⊂ facets),
    # or `a` is b with second-order structure (second-order ⊂ facets).
    b_sets = [set(b.items_of(f)) for f in b.first_order]
    for f in a.first_order:
        items = set(a.items_of(f))
        parts = [s for s in b_sets if s & items]
        if not all(s <= items for s in parts):
            return False
    return True


def compare_models(fits: Mapping[str, CFA]) -> pd.DataFrame:
    """Fit comparison table with χ² difference tests between nested models.

    Parameters
    ----------
    fits : mapping of str to fitted CFA
        Models on the same items and respondents.

    Returns
    -------
    pandas.DataFrame
        One row per model, sorted by df (most constrained first): ``model, n_obs, npar, chisq, df,
        pvalue, cfi, tli, rmsea, rmsea_ci_lower, rmsea_ci_upper, srmr, aic, bic, compared_with, delta_chisq,
        delta_df, delta_pvalue, nested``. Each model is compared with the next less constrained
        model in the table; the Δχ² test is only given when the pair is nested (``nested``),
        otherwise
        only AIC/BIC can compare them (the Δχ² columns are NaN).

    Notes
    -----
    Δχ² = χ²_restricted − χ²_general on df_restricted − df_general (lavaan ``lavTestLRT`` for ML).
    Nesting is recognised structurally: every factor of the restricted model must be a union of
    factors of the general one (one factor ⊂ themes ⊂ facets), or the restricted model is the
    general one with a second-order structure on its factors. Models fitted on different
    respondents cannot be compared and raise ``ValueError``.
    """
    if not fits:
        raise ValueError("fits: no models to compare")
    rows = []
    for name, fit in fits.items():
        if not isinstance(fit, CFA) or not hasattr(fit, "fit_measures_"):
            raise ValueError(f"fits[{name!r}]: expected a fitted CFA")
        rows.append((name, fit))
    ns = {fit.n_obs_ for _, fit in rows}
    if len(ns) > 1:
        raise ValueError(
            f"fits: the models were fitted on different numbers of respondents ({sorted(ns)})"
        )
    rows.sort(key=lambda r: -r[1].fit_measures_["df"])
    cols = COMPARISON_MEASURES
    out = []
    for k, (name, fit) in enumerate(rows):
        rec = {"model": name, "n_obs": int(fit.n_obs_)}
        rec.update({c: float(fit.fit_measures_[c]) for c in cols})
        rec.update(
            compared_with=None,
            delta_chisq=math.nan,
            delta_df=math.nan,
            delta_pvalue=math.nan,
            nested=False,
        )
        if k + 1 < len(rows):
            gname, gfit = rows[k + 1]
            rec["compared_with"] = gname
            ddf = fit.fit_measures_["df"] - gfit.fit_measures_["df"]
            nested = ddf > 0 and _nested(fit.model_, gfit.model_)
            rec["nested"] = bool(nested)
            if nested:
                dchi = fit.fit_measures_["chisq"] - gfit.fit_measures_["chisq"]
                rec.update(
                    delta_chisq=dchi,
                    delta_df=ddf,
                    delta_pvalue=float(special.chdtrc(ddf, max(dchi, 0.0))),
                )
        out.append(rec)
    return pd.DataFrame(out)
