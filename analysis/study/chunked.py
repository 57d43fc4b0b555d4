"""The validation analyses of a large data file in bounded memory, from sufficient statistics.

:func:`validate_chunked` reads a response file in chunks of ``chunk_rows`` respondents
(:func:`instrument.read.iter_response_chunks`, streamed for CSV and Parquet), checks each chunk
as :func:`analysis.study.validate.validate` does (duplicate respondent ids are found across
chunks), and accumulates the sufficient statistics of the answers
(:class:`analysis.moments.MomentAccumulator`). Memory then depends on the number of items and
missing-data patterns, not on respondents. The analyses are run from these statistics with the
same functions as the in-memory validation:

- item statistics (n, mean, SD and category counts per item);
- reliability of every scale: Cronbach's alpha (``psych::alpha``'s statistics from the keyed
  pairwise covariance matrix, :func:`analysis.reliability.alpha.alpha_from_covariance`) with the
  Feldt and Duhachek intervals, and McDonald's omega total of a one-factor minres model of the
  keyed pairwise correlations;
- pairwise Pearson correlations of the structure items; KMO and Bartlett; parallel analysis
  (simulated correlation matrices need only n and the number of items) and MAP; EFA;
- CFA of the hypothesised models by full-information ML (the missing-data patterns' moments) and
  by ML on the complete rows (their moments), with composite reliability and AVE;
- split-half reliability (which samples splits of rows' item sets and needs rows) on a seeded
  uniform random subsample of :data:`analysis.moments.DEFAULT_RESERVOIR_SIZE` respondents;
  :attr:`ChunkedValidation.subsample_analyses` names every analysis run on the subsample.

Not run in this mode: bootstrap intervals, polychoric (ordinal) analyses, measurement invariance,
the bifactor and method-factor models, and IRT (use :func:`~analysis.study.validate.validate` on
:meth:`ChunkedValidation.subsample` for those, knowing it is a subsample).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from analysis._results import Result
from analysis.moments import DEFAULT_RESERVOIR_SIZE, MomentAccumulator
from instrument.spec import Instrument

__all__ = ["ChunkedValidation", "validate_chunked", "accumulate_responses"]

#: Analyses computed from the random subsample of rows rather than from the whole data.
SUBSAMPLE_ANALYSES = ("split_half",)
_ANALYSIS_ERRORS = (ValueError, ArithmeticError, np.linalg.LinAlgError, RuntimeError)


@dataclass(frozen=True, repr=False)
class ChunkedValidation(Result):
    """The validation analyses computed from sufficient statistics accumulated in chunks.

    Attributes
    ----------
    n_read, n_rejected, n_used : int
        Rows read, rejected by the checks, analysed.
    n_complete : int
        Used rows answering every structure item.
    n_patterns : int
        Missing-data patterns of the structure items (complete rows count as one).
    chunk_rows : int
        Respondents per chunk read.
    n_chunks : int
    synthetic : bool
        The input marks its rows synthetic (a ``synthetic`` column holding ``synthetic``).
    problems : DataFrame
        Problem counts of the checks by ``rule, severity, n``.
    item_statistics : DataFrame
        ``item, n, mean, sd`` and one ``n_<code>`` column per answer code.
    reliability : DataFrame
        One row per scale: ``scale, n_items, n_obs, alpha, ci_low, ci_high`` (Feldt),
        ``duhachek_low, duhachek_high, std_alpha, g6, average_r, omega_total``, ``ci_level``.
    correlations : DataFrame
        Pairwise Pearson correlations of the structure items.
    kmo, bartlett, parallel, map, efa : results of :mod:`analysis.factor`, or None
    cfa : dict of str to CFA
        Full-information ML fit of each hypothesised model (``missing="ml"``).
    cfa_listwise : dict of str to CFA
        The same models on the complete rows' moments.
    validity : DataFrame or None
        ``model, factor, composite_reliability, ave`` of the full-information fits.
    split_half : DataFrame or None
        From the subsample: ``scale, lambda4, beta, mean_split_half, n_obs``.
    subsample_size : int
        Rows of the random subsample (reservoir sampling, seeded by ``seed``).
    subsample_analyses : tuple of str
        Analyses computed from the subsample instead of the whole data.
    steps : DataFrame
        ``step, status, reason, seconds`` of every analysis.
    seed : int
    """

    n_read: int
    n_rejected: int
    n_used: int
    n_complete: int
    n_patterns: int
    chunk_rows: int
    n_chunks: int
    synthetic: bool
    problems: pd.DataFrame
    item_statistics: pd.DataFrame
    reliability: pd.DataFrame
    correlations: pd.DataFrame | None
    kmo: Any
    bartlett: Any
    parallel: Any
    map: Any
    efa: Any
    cfa: dict
    cfa_listwise: dict
    validity: pd.DataFrame | None
    split_half: pd.DataFrame | None
    subsample_size: int
    subsample_analyses: tuple[str, ...]
    steps: pd.DataFrame
    seed: int
    accumulator: MomentAccumulator = field(repr=False)

    def subsample(self) -> pd.DataFrame:
        """The random subsample of used rows (codes of every accumulated item)."""
        return self.accumulator.sample_frame()

    def cfa_fit_table(self) -> pd.DataFrame:
        """One row per model and missing-data rule: ``model, missing, n_obs, chisq, df, pvalue,
        cfi, tli, rmsea, srmr, aic, bic``."""
        rows = []
        for rule, fits in (("ml", self.cfa), ("listwise", self.cfa_listwise)):
            for name, fit in fits.items():
                fm = fit.fit_measures_
                rows.append(
                    {"model": name, "missing": rule, "n_obs": fit.n_obs_}
                    | {
                        k: float(fm[k]) if k in fm else np.nan
                        for k in (
                            "chisq",
                            "df",
                            "pvalue",
                            "cfi",
                            "tli",
                            "rmsea",
                            "srmr",
                            "aic",
                            "bic",
                        )
                    }
                )
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """The steps: ``step, status, reason, seconds``."""
        return self.steps.copy()

    def tables(self) -> dict[str, pd.DataFrame]:
        """Every table by name (for CSV output)."""
        out = {
            "steps": self.steps,
            "problems": self.problems,
            "item_statistics": self.item_statistics,
            "reliability": self.reliability,
            "cfa_fit": self.cfa_fit_table(),
        }
        if self.correlations is not None:
            out["correlations"] = self.correlations.reset_index(names="item")
        if self.efa is not None:
            out["efa_loadings"] = self.efa.loadings_.reset_index(names="item")
        if self.parallel is not None:
            out["parallel_analysis"] = self.parallel.summary()
        if self.validity is not None:
            out["validity"] = self.validity
        if self.split_half is not None:
            out["split_half"] = self.split_half
        return out

    def to_dict(self) -> dict:
        """JSON-ready: aggregates only (no respondent values, no identifiers)."""

        def records(frame: pd.DataFrame) -> list:
            clean = frame.astype(object).where(frame.notna(), None)
            return clean.to_dict(orient="records")

        return {
            "synthetic": self.synthetic,
            "mode": "chunked",
            "data": {
                "n_read": self.n_read,
                "n_rejected": self.n_rejected,
                "n_used": self.n_used,
                "n_complete": self.n_complete,
                "n_patterns": self.n_patterns,
                "chunk_rows": self.chunk_rows,
                "n_chunks": self.n_chunks,
                "problems": records(self.problems),
            },
            "subsample": {
                "size": self.subsample_size,
                "seed": self.seed,
                "method": "reservoir sampling (Vitter's algorithm R) over the used rows",
                "analyses": list(self.subsample_analyses),
            },
            **{name: records(table) for name, table in self.tables().items() if name != "problems"},
            "parallel_analysis_factors": None if self.parallel is None else self.parallel.n_factors,
            "kmo": None if self.kmo is None else float(self.kmo.overall),
        }


def accumulate_responses(
    paths: Sequence[str | Path],
    instrument: Instrument,
    items: Sequence[str],
    *,
    chunk_rows: int = 100_000,
    reservoir_size: int = DEFAULT_RESERVOIR_SIZE,
    seed: int = 20240601,
    rename: Mapping[str, str] | None = None,
    platform: str | None = None,
    categories: Sequence[float] | None = None,
    progress: Callable[[int], None] | None = None,
) -> tuple[MomentAccumulator, dict]:
    """Read and check response files chunk by chunk and accumulate the moments of ``items``.

    Returns the accumulator and a dict with ``n_read, n_rejected, n_chunks, synthetic`` and
    ``problems`` (counts by rule and severity).
    """
    from instrument.check import check_responses, hash_ids, merge_seen
    from instrument.read import iter_response_chunks

    acc = MomentAccumulator(items, categories=categories, reservoir_size=reservoir_size, seed=seed)
    seen = None
    n_read = n_rejected = n_chunks = 0
    synthetic = False
    counts: dict[tuple[str, str], int] = {}
    for path in paths:
        for table in iter_response_chunks(
            path, instrument, chunk_rows=chunk_rows, rename=rename, platform=platform
        ):
            synthetic = synthetic or any(
                p.column == "synthetic" and p.rule == "unknown_column" for p in table.problems
            )
            checked = check_responses(table, instrument, seen_ids=seen)
            keep = ~checked.rejected.to_numpy(dtype=bool)
            if "respondent_id" in checked.meta:
                kept = checked.meta.loc[keep, "respondent_id"]
                if len(kept):
                    seen = merge_seen(seen, hash_ids(kept))
            for frame in (checked.meta, checked.background):
                if "synthetic" in frame.columns:
                    synthetic = synthetic or bool(
                        frame["synthetic"].astype(str).str.lower().eq("synthetic").any()
                    )
            for rule, severity, n in checked.summary()[["rule", "severity", "n"]].itertuples(
                index=False
            ):
                counts[(rule, severity)] = counts.get((rule, severity), 0) + int(n)
            codes = checked.codes.reset_index(drop=True)[keep]
            acc.update(codes.loc[:, list(items)].to_numpy(dtype=float, na_value=np.nan))
            n_read += checked.n_rows
            n_rejected += checked.n_rejected
            n_chunks += 1
            if progress is not None:
                progress(n_read)
    problems = pd.DataFrame(
        [(r, s, n) for (r, s), n in sorted(counts.items())], columns=["rule", "severity", "n"]
    )
    info = {
        "n_read": n_read,
        "n_rejected": n_rejected,
        "n_chunks": n_chunks,
        "synthetic": synthetic,
        "problems": problems,
    }
    return acc, info


def _subset(acc: MomentAccumulator, names: Sequence[str]) -> np.ndarray:
    where = {n: i for i, n in enumerate(acc.items)}
    return np.array([where[n] for n in names], dtype=int)


def _reliability(
    acc: MomentAccumulator, instrument: Instrument, *, ci_level: float
) -> pd.DataFrame:
    from analysis.factor.efa import extract_factors
    from analysis.reliability.alpha import alpha_from_covariance, feldt_interval
    from analysis.study.keys import item_keys

    keys = item_keys(instrument).keys
    C_all = acc.pairwise_cov()
    rows = []
    z = special.ndtri(0.5 + ci_level / 2.0)
    for scale in instrument.scales:
        names = [i for i in instrument.scale_items(scale.id) if i in acc.items]
        if len(names) < 2:
            continue
        idx = _subset(acc, names)
        sign = keys.reindex(names).to_numpy(dtype=float)
        C = C_all[np.ix_(idx, idx)] * np.outer(sign, sign)
        core = alpha_from_covariance(C)
        n = acc.n
        lo, hi = feldt_interval(core["raw_alpha"], n, len(names), ci_level=ci_level)
        ase = float(np.sqrt(core["q"] / n))
        sd = np.sqrt(np.diag(C))
        R = C / np.outer(sd, sd)
        loadings, _, _ = extract_factors(R, 1, method="minres")
        u2 = 1 - (np.asarray(loadings) ** 2).sum(axis=1)
        rows.append(
            {
                "scale": scale.id,
                "n_items": len(names),
                "n_obs": n,
                "alpha": core["raw_alpha"],
                "ci_low": lo,
                "ci_high": hi,
                "duhachek_low": core["raw_alpha"] - z * ase,
                "duhachek_high": core["raw_alpha"] + z * ase,
                "std_alpha": core["std_alpha"],
                "g6": core["g6"],
                "average_r": core["average_r"],
                "omega_total": float((R.sum() - u2.sum()) / R.sum()),
                "ci_level": ci_level,
            }
        )
    return pd.DataFrame(rows)


def _split_half(sample: pd.DataFrame, instrument: Instrument, seed: int) -> pd.DataFrame:
    from analysis.reliability.split_half import split_half
    from analysis.study.keys import item_keys

    keys = item_keys(instrument)
    rows = []
    for scale in instrument.scales:
        names = [i for i in instrument.scale_items(scale.id) if i in sample.columns]
        if len(names) < 2:
            continue
        res = split_half(sample[names], keys=keys, seed=seed)
        rows.append(
            {
                "scale": scale.id,
                "lambda4": res.lambda4,
                "beta": res.beta,
                "mean_split_half": res.mean_split_half,
                "n_obs": len(sample),
            }
        )
    return pd.DataFrame(rows)


def _model_stats(acc: MomentAccumulator, observed: Sequence[str], fiml_rows: tuple) -> tuple:
    """(PatternMoments, GroupStats or None) of the model items, in the model's order."""
    from analysis.sem.engine import GroupStats
    from analysis.sem.fiml import pattern_moments

    idx = _subset(acc, observed)
    rows, weights = fiml_rows
    sub = rows[:, idx]
    has = ~np.isnan(sub).all(axis=1)
    pm = pattern_moments(sub[has], weights=weights[has])
    listwise = None
    if set(observed) == set(acc.items) or len(idx) == len(acc.items):
        n, mean, cov = acc.complete_moments()
        mean, cov = mean[idx], cov[np.ix_(idx, idx)]
        sign, logdet = np.linalg.slogdet(cov)
        if sign > 0:
            listwise = GroupStats(None, n, cov, mean, float(logdet))
    return pm, listwise


def validate_chunked(
    paths: str | Path | Sequence[str | Path],
    instrument: Instrument,
    *,
    chunk_rows: int = 100_000,
    seed: int = 20240601,
    n_factors: int | None = None,
    rotation: str | None = "oblimin",
    fm: str = "minres",
    n_iter: int = 20,
    ci_level: float = 0.95,
    reservoir_size: int = DEFAULT_RESERVOIR_SIZE,
    rename: Mapping[str, str] | None = None,
    platform: str | None = None,
    progress: Callable[[int], None] | None = None,
) -> ChunkedValidation:
    """Validation analyses of response files read in chunks, in memory bounded by the items.

    Parameters
    ----------
    paths : path or sequence of paths
        Response files (CSV/TSV and Parquet are streamed; workbooks and SPSS files are read whole).
    instrument : Instrument
    chunk_rows : int, default 100000
        Respondents read at a time.
    seed : int, default 20240601
        Seed of the subsample, parallel analysis and split-half sampling.
    n_factors : int, optional
        EFA factors (default: parallel analysis's number).
    rotation, fm : as :func:`analysis.study.validate.validate`
    n_iter : int, default 20
        Simulated data sets of the parallel analysis.
    ci_level : float, default 0.95
    reservoir_size : int, default 20000
        Rows of the random subsample for the analyses that need rows.
    rename, platform : as :func:`instrument.read.read_responses`
    progress : callable, optional
        Called with the number of rows read after each chunk.

    Returns
    -------
    ChunkedValidation

    Notes
    -----
    Missing answers: pairwise for item statistics, reliability and correlations (the in-memory
    default ``missing="pairwise"``), full-information ML for CFA (``cfa_missing="ml"``) with the
    complete-row fit beside it. On the same rows the moment-based results equal the in-memory
    ones up to rounding (tests/test_chunked_validation.py): correlations, alpha and EFA to about
    1e-12, CFA fit measures to about 1e-10 and estimates to the ML optimiser's tolerance.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from instrument.spec import load_instrument
    >>> from analysis.simulate.cohort import simulate_cohort
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "synthetic.csv"
    >>> simulate_cohort(bfi, n=300, seed=1).responses.to_csv(path, index=False)
    >>> res = validate_chunked(path, bfi, chunk_rows=64, seed=1)
    >>> res.n_used, res.n_chunks, res.synthetic
    (300, 5, True)
    """
    from analysis.factor.efa import EFA, METHODS, ROTATIONS
    from analysis.factor.factorability import bartlett_sphericity, kmo
    from analysis.factor.retention import parallel_analysis, velicer_map
    from analysis.study.models import hypothesised_models
    from analysis.study.validate import structure_items

    if not isinstance(instrument, Instrument):
        raise TypeError(f"instrument: expected an Instrument, got {type(instrument).__name__}")
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, (int, np.integer)):
        raise TypeError(f"chunk_rows: expected a whole number, got {chunk_rows!r}")
    if chunk_rows < 1:
        raise ValueError(f"chunk_rows: must be at least 1, got {chunk_rows}")
    if rotation not in ROTATIONS:
        raise ValueError(f"rotation: must be one of {ROTATIONS}, got {rotation!r}")
    if fm not in METHODS:
        raise ValueError(f"fm: must be one of {METHODS}, got {fm!r}")
    if not 0 < ci_level < 1:
        raise ValueError(f"ci_level: must be between 0 and 1, got {ci_level!r}")
    if isinstance(paths, (str, Path)):
        paths = [paths]
    struct = list(structure_items(instrument))
    scale_items = {i for s in instrument.scales for i in instrument.scale_items(s.id)}
    items = [i for i in instrument.item_ids if i in scale_items or i in struct]
    codes = sorted(
        {float(c) for i in items for c in instrument.response_scale_of(i).codes} if items else set()
    )
    steps: list[tuple[str, str, str, float]] = []
    start = time.perf_counter()
    acc, info = accumulate_responses(
        list(paths),
        instrument,
        items,
        chunk_rows=int(chunk_rows),
        reservoir_size=reservoir_size,
        seed=seed,
        rename=rename,
        platform=platform,
        categories=codes or None,
        progress=progress,
    )
    steps.append(("read_and_accumulate", "ok", "", time.perf_counter() - start))
    results: dict[str, Any] = {}

    def run(name: str, fn: Callable[[], Any]) -> Any:
        t0 = time.perf_counter()
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                value = fn()
        except _ANALYSIS_ERRORS as exc:
            steps.append((name, "failed", str(exc), time.perf_counter() - t0))
            return None
        note = "; ".join(sorted({str(w.message) for w in caught}))
        steps.append((name, "ok", note, time.perf_counter() - t0))
        return value

    n_used = acc.n
    results["reliability"] = run(
        "reliability", lambda: _reliability(acc, instrument, ci_level=ci_level)
    )
    struct_idx = _subset(acc, struct)
    R = None
    if len(struct) >= 3 and n_used > max(50, len(struct)):
        R = run("correlations", lambda: acc.pairwise_cor()[np.ix_(struct_idx, struct_idx)])
    if R is not None:
        R_df = pd.DataFrame(R, index=struct, columns=struct)
        got = run("factorability", lambda: (kmo(R_df), bartlett_sphericity(R_df, n_obs=n_used)))
        results["kmo"], results["bartlett"] = got if got is not None else (None, None)
        got = run(
            "retention",
            lambda: (
                parallel_analysis(R_df, n_iter=n_iter, n_obs=n_used, seed=seed),
                velicer_map(R_df),
            ),
        )
        results["parallel"], results["map"] = got if got is not None else (None, None)
        pa = results["parallel"]
        k = n_factors or (int(pa.n_factors) if pa is not None and pa.n_factors >= 1 else 1)
        k = min(k, len(struct) - 1)
        results["efa"] = run(
            "efa", lambda: EFA(k, method=fm, rotation=rotation).fit(R_df, n_obs=n_used)
        )
    else:
        steps.append(("correlations", "skipped", "too few structure items or rows", 0.0))
    cfa: dict = {}
    cfa_listwise: dict = {}
    validity_rows: list[dict] = []
    models = hypothesised_models(instrument) if struct else {}
    if models and n_used > max(50, len(struct)):
        cfa, cfa_listwise, validity_rows = _cfa_steps(acc, models, run)
    else:
        steps.append(("cfa", "skipped", "no hypothesised model or too few rows", 0.0))
    sample = acc.sample_frame()
    results["split_half"] = run("split_half", lambda: _split_half(sample, instrument, seed))
    return ChunkedValidation(
        n_read=info["n_read"],
        n_rejected=info["n_rejected"],
        n_used=n_used,
        n_complete=_complete_on(acc, struct_idx),
        n_patterns=acc.n_patterns,
        chunk_rows=int(chunk_rows),
        n_chunks=info["n_chunks"],
        synthetic=info["synthetic"],
        problems=info["problems"],
        item_statistics=acc.summary(),
        reliability=results["reliability"]
        if results["reliability"] is not None
        else pd.DataFrame(),
        correlations=None if R is None else pd.DataFrame(R, index=struct, columns=struct),
        kmo=results.get("kmo"),
        bartlett=results.get("bartlett"),
        parallel=results.get("parallel"),
        map=results.get("map"),
        efa=results.get("efa"),
        cfa=cfa,
        cfa_listwise=cfa_listwise,
        validity=pd.DataFrame(validity_rows) if validity_rows else None,
        split_half=results["split_half"],
        subsample_size=len(sample),
        subsample_analyses=SUBSAMPLE_ANALYSES,
        steps=pd.DataFrame(steps, columns=["step", "status", "reason", "seconds"]),
        seed=seed,
        accumulator=acc,
    )


def _cfa_steps(
    acc: MomentAccumulator, models: Mapping[str, Any], run: Callable[[str, Callable[[], Any]], Any]
) -> tuple[dict, dict, list[dict]]:
    """Fit each hypothesised model by FIML (and listwise) from the moments, with its validity.

    Returns the FIML fits, the listwise fits and the composite reliability / AVE rows.
    """
    from analysis.sem.cfa import CFA

    cfa: dict = {}
    cfa_listwise: dict = {}
    validity_rows: list[dict] = []
    fiml_rows = run("missing_data_patterns", acc.fiml_rows)
    for name, model in models.items():
        if fiml_rows is None:
            break
        stats = run(f"moments_{name}", partial(_model_stats, acc, model.observed, fiml_rows))
        if stats is None:
            continue
        pm, lw = stats
        fit = run(f"cfa_{name}", partial(CFA(model, missing="ml").fit_moments, pm))
        if fit is not None:
            cfa[name] = fit
            got = run(f"validity_{name}", partial(_validity, fit))
            if got is not None:
                cr, ave = got
                for factor in cr.index:
                    validity_rows.append(
                        {
                            "model": name,
                            "factor": factor,
                            "composite_reliability": float(cr[factor]),
                            "ave": float(ave.get(factor, np.nan)),
                        }
                    )
        if lw is not None:
            fit_lw = run(
                f"cfa_listwise_{name}", partial(CFA(model, missing="listwise").fit_moments, lw)
            )
            if fit_lw is not None:
                cfa_listwise[name] = fit_lw
    return cfa, cfa_listwise, validity_rows


def _validity(fit: Any) -> tuple[pd.Series, pd.Series]:
    from analysis.sem.validity import average_variance_extracted, composite_reliability

    return composite_reliability(fit), average_variance_extracted(fit)


def _complete_on(acc: MomentAccumulator, idx: np.ndarray) -> int:
    """Rows answering every item of ``idx`` (from the patterns: complete rows plus incomplete
    patterns that answer all of them)."""
    total = acc.n_complete
    for block in acc.patterns.values():
        if block.answered[idx].all():
            total += block.n
    return total
