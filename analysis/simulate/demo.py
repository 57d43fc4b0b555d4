"""The whole MHDQ journey on synthetic data, in one call: build, simulate, check and score, validate,
model attrition, and write every report.

:func:`run_demo` drives the same public functions a user calls, in the order of a study:

1. **build** the questionnaire in every format (:func:`instrument.forms.build_forms`);
2. **collect**: simulate a cohort of 600 respondents with 12-month follow-up
   (:func:`analysis.simulate.cohort.simulate_cohort`) and write it as the files a study would hold;
3. **check and score** the responses file (:func:`instrument.batch.pipeline.run_batch`: read, check, score,
   problem list);
4. **validate** the scales (:func:`analysis.study.validate.validate`, written by
   :func:`analysis.report.validation.write_validation_outputs`);
5. **attrition**: join scores to follow-up (:func:`analysis.attrition.join_followup`), fit and
   validate the Cox model (:func:`analysis.attrition.fit_attrition`) and write its report
   (:func:`analysis.attrition.report.write_outputs`);
6. **longitudinal**: a PAL-style study of the same size
   (:func:`analysis.simulate.waves.simulate_study`: waves at baseline, half-way and the end of
   follow-up, members in groups of several fellowship kinds, outcome types), read back with
   :func:`instrument.waves.read_waves`, analysed with
   :func:`analysis.study.longitudinal.longitudinal_study` (retention flow, test-retest, individual change,
   fellowship comparison; report by :func:`analysis.longitudinal.write_longitudinal_outputs`) and
   the competing outcomes' cumulative incidence with Gray's test across fellowships
   (:func:`analysis.attrition.competing.cumulative_incidence`);
7. a few figures for the user guide.

The instrument is item bank 0.2.0 (skip logic: sponsor, relapse and step items skipped by design)
unless another is given. The CFA uses full-information ML, so every respondent counts.

Every data file, table and report says the data are synthetic; the folder gets a README saying so.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from analysis._results import Result
from instrument.spec import Instrument, load_instrument

__all__ = ["DemoResult", "SYNTHETIC_NOTICE", "run_demo"]

SYNTHETIC_NOTICE = (
    "SYNTHETIC DATA. Every respondent in this folder was simulated by analysis.simulate.cohort "
    "(mhdq demo); none is a real person. The figures illustrate the software, not the MHDQ."
)


@dataclass(frozen=True, repr=False)
class DemoResult(Result):
    """What :func:`run_demo` wrote and found.

    Attributes
    ----------
    out : Path
        The demo folder.
    outputs : dict of str to Path
        Every file written, by a short name (``forms.xlsx``, ``scores``, ``validation.report`` ...).
    timings : dict of str to float
        Seconds per step (``build, simulate, score, validate, attrition, longitudinal, figures``).
    facts : dict
        Headline numbers: ``n``, ``events``, ``problems``, ``alpha_total``, ``cfa_model``,
        ``cfa_cfi``, ``cfa_rmsea``, ``cfa_n``, ``c_index``, ``c_index_corrected``,
        ``suggested_factors``; from the longitudinal study ``waves`` (members per wave),
        ``retest_scale``, ``retest_icc``, ``retest_ci``, ``fellowship_p`` (Welch ANOVA),
        ``outcomes`` (members per outcome type), ``cif_12`` (cumulative incidence per outcome type
        at the end of follow-up) and ``gray_p`` (Gray's test across fellowships per type).
    synthetic : bool
        Always True.
    """

    out: Path
    outputs: dict[str, Path]
    timings: dict[str, float]
    facts: dict = field(default_factory=dict)
    synthetic: bool = True

    def summary(self) -> pd.DataFrame:
        """One row per output: ``step, output, path``."""
        rows = [(name.split(".")[0], name, str(path)) for name, path in self.outputs.items()]
        return pd.DataFrame(rows, columns=["step", "output", "path"])


def _save_figure(ax, path: Path, title: str) -> Path:
    import matplotlib.pyplot as plt

    fig = ax.figure
    ax.set_title(title)
    fig.text(
        0.01, 0.01, "SYNTHETIC DATA (mhdq demo): simulated respondents", fontsize=7, color="grey"
    )
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _figures(validation, attrition, folder: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    written = {}
    if validation.parallel is not None:
        _, ax = plt.subplots(figsize=(6.5, 4))
        validation.parallel.plot(ax=ax)
        ax.set_xlim(0.5, 15.5)
        written["figures.parallel_analysis"] = _save_figure(
            ax,
            folder / "parallel-analysis.png",
            f"Parallel analysis: {validation.parallel.n_factors} factors (synthetic cohort)",
        )
    if attrition.km:
        scale, (km, test) = next(iter(attrition.km.items()))
        _, ax = plt.subplots(figsize=(6.5, 4))
        km.plot(ax=ax, xlabel="Months since baseline")
        written["figures.kaplan_meier"] = _save_figure(
            ax,
            folder / "kaplan-meier.png",
            f"Staying engaged by tertile of '{scale}' (log-rank p = {test.p:.2g}; synthetic)",
        )
    if validation.efa is not None:
        loadings = validation.efa.loadings_
        fig, ax = plt.subplots(figsize=(6.5, 7))
        image = ax.imshow(loadings.to_numpy(), cmap="RdBu_r", vmin=-1, vmax=1, aspect="auto")
        ax.set_yticks(range(len(loadings)), loadings.index, fontsize=6)
        ax.set_xticks(range(loadings.shape[1]), loadings.columns)
        fig.colorbar(image, ax=ax, shrink=0.6, label="pattern loading")
        written["figures.efa_loadings"] = _save_figure(
            ax, folder / "efa-loadings.png", "EFA pattern loadings (oblimin; synthetic cohort)"
        )
    return written


def run_demo(
    out: str | Path,
    *,
    n: int = 600,
    seed: int = 2026,
    followup_months: float = 12.0,
    n_boot: int = 200,
    instrument: Instrument | None = None,
    figures: bool = True,
    progress: Callable[[str], None] | None = None,
) -> DemoResult:
    """Run the whole journey on a synthetic cohort and write every output into ``out``.

    Parameters
    ----------
    out : str or Path
        Output folder (created if needed; existing demo files are overwritten).
    n : int, default 600
        Simulated respondents.
    seed : int, default 2026
        Seed of the simulation (and of the analyses' random steps).
    followup_months : float, default 12
        Months of follow-up (administrative censoring).
    n_boot : int, default 200
        Bootstrap resamples of the attrition model's validation.
    instrument : Instrument, optional
        Default: the embedded MHDQ item bank 0.2.0 (``load_instrument("mhdq-0.2.0")``).
    figures : bool, default True
        Also write PNG figures (parallel analysis, Kaplan-Meier, EFA loadings, competing-outcome
        curves) into ``figures/``.
    progress : callable, optional
        Called with a short message before each step.

    Returns
    -------
    DemoResult

    Notes
    -----
    Folder layout: ``README.txt``; ``forms/`` (workbook, XLSForm, REDCap, printable HTML);
    ``data/synthetic-responses.csv`` and ``data/synthetic-followup.csv``;
    ``scores/synthetic-scores.csv`` and its problem list; ``validation/`` (``results.json``,
    ``tables.xlsx``, ``report.html``); ``attrition/`` (``model.json``, ``results.json``,
    ``tables.xlsx``, ``problems.csv``, ``report.html``); ``data/synthetic-waves.csv`` and
    ``data/synthetic-outcomes.csv``; ``longitudinal/`` (``report.html``, ``tables.xlsx``,
    ``results.json``, ``competing-incidence.csv``, ``gray-tests.csv``); ``figures/``.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as folder:  # doctest: +SKIP
    ...     result = run_demo(folder)
    ...     sorted(result.timings)
    ['attrition', 'build', 'figures', 'longitudinal', 'score', 'simulate', 'validate']
    """
    from analysis.attrition import fit_attrition, join_followup
    from analysis.attrition.report import write_outputs
    from analysis.report.html import data_hash
    from analysis.report.validation import write_validation_outputs
    from analysis.simulate.cohort import PROGRESS_BLOCK, simulate_cohort, theme_scales
    from analysis.study.validate import validate
    from instrument.batch.pipeline import run_batch
    from instrument.forms import build_forms
    from instrument.read import read_responses

    spec = instrument if instrument is not None else load_instrument("mhdq-0.2.0")
    say = progress or (lambda message: None)
    root = Path(out)
    folders = {
        name: root / name
        for name in (
            "forms",
            "data",
            "scores",
            "validation",
            "attrition",
            "longitudinal",
            "figures",
        )
    }
    for folder in folders.values():
        folder.mkdir(parents=True, exist_ok=True)
    outputs: dict[str, Path] = {}
    timings: dict[str, float] = {}
    readme = root / "README.txt"
    readme.write_text(
        f"{SYNTHETIC_NOTICE}\n\nmhdq demo: {spec.metadata.short_name} {spec.version}, n = {n}, "
        f"seed = {seed}, "
        f"{followup_months:g} months of follow-up.\n",
        encoding="utf-8",
    )
    outputs["readme"] = readme

    # 1. Build the questionnaire in every format ------------------------------------------------
    say("Building the questionnaire (workbook, XLSForm, REDCap, HTML)")
    start = time.perf_counter()
    for fmt, path in build_forms(spec, folders["forms"]).items():
        outputs[f"forms.{fmt}"] = path
    timings["build"] = time.perf_counter() - start

    # 2. Collect: a synthetic cohort with follow-up ----------------------------------------------
    say(f"Simulating {n} respondents with {followup_months:g} months of follow-up (synthetic)")
    start = time.perf_counter()
    cohort = simulate_cohort(
        spec,
        n=n,
        seed=seed,
        followup_months=followup_months,
        # a line per block of respondents drawn, only when there is more than one block
        progress=(
            (lambda done, total: say(f"  {done:,} of {total:,} respondents drawn"))
            if n > PROGRESS_BLOCK
            else None
        ),
    )
    responses_path = folders["data"] / "synthetic-responses.csv"
    followup_path = folders["data"] / "synthetic-followup.csv"
    cohort.responses.to_csv(responses_path, index=False)
    cohort.followup.to_csv(followup_path, index=False)
    outputs["data.responses"] = responses_path
    outputs["data.followup"] = followup_path
    timings["simulate"] = time.perf_counter() - start

    # 3. Check and score the responses file -----------------------------------------------------
    say("Checking and scoring the responses (problem list included)")
    start = time.perf_counter()
    scores_path = folders["scores"] / "synthetic-scores.csv"
    batch = run_batch([responses_path], spec, scores_path, jobs=1)
    for key, written in (("scores", batch.output), ("scores.problems", batch.problems_path)):
        if written is not None:
            outputs[key] = written
    timings["score"] = time.perf_counter() - start

    # 4. Validate the scales --------------------------------------------------------------------
    say("Validating the scales (items, reliability, factor analyses, CFA, validity)")
    start = time.perf_counter()
    table = read_responses(responses_path, spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report lists every warning beside its analysis
        validation = validate(table, spec, seed=seed, cfa_missing="ml")
    for kind, path in write_validation_outputs(validation, folders["validation"]).items():
        outputs[
            f"validation.{ {'json': 'results', 'xlsx': 'tables', 'html': 'report'}.get(kind, kind) }"
        ] = path
    timings["validate"] = time.perf_counter() - start

    # 5. Attrition: scores joined to follow-up, Cox model, validation, report --------------------
    say("Modelling attrition (Cox model of the theme scores, bootstrap validation)")
    start = time.perf_counter()
    scores = pd.read_csv(scores_path, dtype={"respondent_id": str})
    # the join records its own source rows; the scores file's provenance columns would clash
    scores = scores.drop(columns=[c for c in ("source_file", "source_row") if c in scores.columns])
    follow = pd.read_csv(followup_path, dtype={"respondent_id": str})
    themes = [t for t in theme_scales(spec) if t in scores.columns]
    joined = join_followup(
        scores,
        follow,
        event="disengaged",
        time="months",
        competing="switched",
        baseline_file=scores_path.name,
        followup_file=followup_path.name,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # shown in the report (sample size, proportional hazards)
        attrition = fit_attrition(joined, scales=themes, n_boot=n_boot, seed=seed)
    inputs = {
        "responses": scores_path.name,
        "followup": followup_path.name,
        "dropout_definition": "status column disengaged (switching group counted as censored)",
        "scored_from_items": True,
        "responses_hash": data_hash(scores),
        "followup_hash": data_hash(follow),
    }
    for kind, path in write_outputs(
        attrition, folders["attrition"], instrument=spec, inputs=inputs, synthetic=True
    ).items():
        outputs[f"attrition.{kind}"] = path
    timings["attrition"] = time.perf_counter() - start

    # 6. Longitudinal: waves, retention, test-retest, fellowships, competing outcomes ----------
    say("Following members over waves (retention, test-retest, fellowships, competing outcomes)")
    start = time.perf_counter()
    longitudinal, competing, long_outputs = _longitudinal(
        spec, n=n, seed=seed, months=followup_months, folders=folders
    )
    outputs.update(long_outputs)
    timings["longitudinal"] = time.perf_counter() - start

    # 7. Figures ----------------------------------------------------------------------------------
    if figures:
        say("Drawing figures")
        start = time.perf_counter()
        outputs.update(_figures(validation, attrition, folders["figures"]))
        outputs.update(_competing_figure(competing, folders["figures"], followup_months))
        timings["figures"] = time.perf_counter() - start

    facts = _facts(spec, batch, validation, attrition)
    facts.update(_longitudinal_facts(longitudinal, competing, followup_months))
    facts["instrument"] = f"{spec.metadata.short_name} {spec.version}"
    return DemoResult(out=root, outputs=outputs, timings=timings, facts=facts)


def _longitudinal(spec: Instrument, *, n: int, seed: int, months: float, folders: dict):
    """Simulate the waves, read them back as a user would, run the longitudinal analyses and the
    competing outcomes, write their outputs."""
    from analysis.attrition.competing import cumulative_incidence
    from analysis.report.longitudinal import CompetingOutcomes, write_longitudinal_outputs
    from analysis.simulate.cohort import theme_scales
    from analysis.simulate.waves import simulate_study
    from analysis.study.longitudinal import longitudinal_study
    from instrument.hypotheses import hypotheses_of
    from instrument.score import score_items
    from instrument.waves import read_waves

    wave_months = (0.0, months / 2, months)
    labels = [f"{m:g}" for m in wave_months]
    study = simulate_study(spec, n=n, seed=seed, wave_months=wave_months)
    waves_path = folders["data"] / "synthetic-waves.csv"
    outcomes_path = folders["data"] / "synthetic-outcomes.csv"
    study.responses.to_csv(waves_path, index=False)
    study.outcomes.to_csv(outcomes_path, index=False)
    outputs = {"data.waves": waves_path, "data.outcomes": outcomes_path}

    table = read_waves(waves_path, spec, wave="wave", date="date", waves=labels)
    pp = table.person_period
    # the scales a reader looks at first: the roots (total, meaning ...) and the themes
    scale_ids = [s.id for s in spec.root_scales] + [
        t for t in theme_scales(spec) if t not in {s.id for s in spec.root_scales}
    ]
    scored = score_items(pp[list(table.item_columns)], spec, scales=scale_ids)
    keep = [c for c in pp.columns if c not in table.item_columns]
    frame = pd.concat([pp[keep], scored[scale_ids]], axis=1)
    kinds = study.outcomes.set_index("respondent_id")["group_kind"]
    frame["fellowship"] = frame["respondent_id"].astype(str).map(kinds).to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the report notes what needs noting
        results = longitudinal_study(
            frame,
            scales=scale_ids,
            date="date",
            waves=labels,
            group="fellowship",
            hypotheses=hypotheses_of(spec),
            problems=table.problems_frame(),
            synthetic=True,
        )
    outcomes = study.outcomes
    cif = cumulative_incidence(
        outcomes["months"].to_numpy(), outcomes["outcome"].to_numpy(), censor_code="still_attending"
    )
    by_fellowship = cumulative_incidence(
        outcomes["months"].to_numpy(),
        outcomes["outcome"].to_numpy(),
        group=outcomes["group_kind"].to_numpy(),
        censor_code="still_attending",
    )
    competing = CompetingOutcomes(
        incidence=cif,
        times=tuple(months * q for q in (0.25, 0.5, 0.75, 1.0)),
        unit="months",
        by_group=by_fellowship,
        groups_label="the fellowships",
        context=(
            "SYNTHETIC outcome types of the simulated members (still attending, or graduated, "
            "switched, dropped out, relapsed)."
        ),
    )
    for kind, path in write_longitudinal_outputs(
        results,
        folders["longitudinal"],
        competing=competing,
        provenance={
            "instrument": spec.metadata.name,
            "instrument_version": spec.version,
            "files": [waves_path.name],
            "synthetic": True,
        },
    ).items():
        name = {"json": "results", "xlsx": "tables", "html": "report"}.get(kind, kind)
        outputs[f"longitudinal.{name}"] = path

    incidence_path = folders["longitudinal"] / "competing-incidence.csv"
    cif.table.assign(synthetic="synthetic").to_csv(incidence_path, index=False)
    outputs["longitudinal.competing_incidence"] = incidence_path
    if by_fellowship.tests is not None:
        gray_path = folders["longitudinal"] / "gray-tests.csv"
        by_fellowship.tests.assign(synthetic="synthetic").to_csv(gray_path, index=False)
        outputs["longitudinal.gray_tests"] = gray_path
    return results, (cif, by_fellowship, outcomes), outputs


def _competing_figure(competing, folder: Path, months: float) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cif = competing[0]
    _, ax = plt.subplots(figsize=(6.5, 4))
    cif.plot(ax=ax, unit="months")
    ax.set_xlim(0, months)
    return {
        "figures.competing_outcomes": _save_figure(
            ax,
            folder / "competing-outcomes.png",
            "Leaving the group, by outcome type (Aalen-Johansen; synthetic)",
        )
    }


def _longitudinal_facts(results, competing, months: float) -> dict:
    cif, by_fellowship, outcomes = competing
    facts: dict = {}
    flow = results.retention.table
    facts["waves"] = {str(w): int(k) for w, k in zip(flow["wave"], flow["n_observed"], strict=True)}
    if results.retest is not None and results.retest.results:
        first = results.retest.results[0]
        row = first.icc.loc["ICC3"]
        facts.update(
            retest_scale=first.scale,
            retest_icc=float(row["estimate"]),
            retest_ci=(float(row["ci_low"]), float(row["ci_high"])),
            retest_n=int(first.n_obs),
        )
    if results.groups is not None and len(results.groups.welch):
        welch = results.groups.welch.iloc[0]
        facts["fellowship_scale"] = str(welch["scale"])
        facts["fellowship_p"] = float(welch["p_value"])
    facts["outcomes"] = {str(k): int(v) for k, v in outcomes["outcome"].value_counts().items()}
    at_end = cif.at([months])
    facts["cif_end"] = {str(r.cause): float(r.estimate) for r in at_end.itertuples()}
    if by_fellowship.tests is not None:
        facts["gray_p"] = {str(r.cause): float(r.p) for r in by_fellowship.tests.itertuples()}
    return facts


def _facts(spec: Instrument, batch, validation, attrition) -> dict:
    facts: dict = {
        "n": int(batch.n_scored),
        "problems": len(batch.problems),
        "events": int(attrition.model.n_events_),
    }
    if validation.reliability is not None:
        table = validation.reliability.table.set_index("scale")
        top = next((s.id for s in spec.root_scales if spec.children(s.id)), spec.scales[0].id)
        facts["alpha_scale"] = top
        facts["alpha"] = float(table.loc[top, "alpha"])
    facts["suggested_factors"] = validation.suggested_factors
    if validation.cfa:
        name = "second_order" if "second_order" in validation.cfa else list(validation.cfa)[-1]
        measures = validation.cfa[name].fit_measures_
        facts.update(
            cfa_model=name,
            cfa_cfi=float(measures["cfi"]),
            cfa_rmsea=float(measures["rmsea"]),
            cfa_n=int(validation.cfa[name].n_obs_),
        )
    table = attrition.validation.table
    metric = "c_index" if "c_index" in table.index else table.index[0]
    facts["c_index"] = float(table.loc[metric, "apparent"])
    facts["c_index_corrected"] = float(table.loc[metric, "corrected"])
    return facts
