"""``mhdq demo``: the whole journey on a synthetic cohort - build, score, validate, attrition, reports."""

from __future__ import annotations

import time

import click

from analysis.cli.options import instrument_option, open_instrument, output_dir


@click.command("demo", short_help="The whole journey on SYNTHETIC data, every report.")
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default="mhdq-demo",
    show_default=True,
    help="Output folder.",
)
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=100),
    default=600,
    show_default=True,
    help="Simulated respondents.",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed.")
@click.option(
    "--months",
    type=click.FloatRange(min=1),
    default=12.0,
    show_default=True,
    help="Months of follow-up.",
)
@click.option(
    "--n-boot",
    type=click.IntRange(min=1),
    default=200,
    show_default=True,
    help="Bootstrap resamples of the attrition model's validation.",
)
@click.option("--no-figures", is_flag=True, help="Skip the PNG figures.")
@instrument_option
@click.option("--quiet", "-q", is_flag=True, help="Print only the output folder.")
def command(out, n, seed, months, n_boot, no_figures, instrument_path, quiet):
    """The whole journey on SYNTHETIC data: forms, cohort, scores, validation, attrition, waves.

    Builds every form (item bank 0.2.0 unless --instrument is given), simulates a cohort with
    follow-up, checks and scores it, validates the scales (CFA by full-information ML), models
    attrition, follows members over three waves (retention flow, test-retest, fellowship
    comparison, competing outcomes), writes every report into --out and prints each output."""
    from analysis.simulate.demo import SYNTHETIC_NOTICE, run_demo

    folder = output_dir(out)
    # default: item bank 0.2.0 (skip logic), chosen by run_demo
    spec = open_instrument(instrument_path) if instrument_path else None
    say = (
        (lambda message: None) if quiet else (lambda message: click.echo(f"- {message}", err=True))
    )
    started = time.perf_counter()
    result = run_demo(
        folder,
        n=n,
        seed=seed,
        followup_months=months,
        n_boot=n_boot,
        instrument=spec,
        figures=not no_figures,
        progress=say,
    )
    elapsed = time.perf_counter() - started
    if quiet:
        click.echo(str(folder))
        return
    f = result.facts
    click.echo(f"\n{SYNTHETIC_NOTICE}\n")
    lines = [
        f"{f['instrument']}: {f['n']} synthetic respondents scored, "
        f"{f['problems']} problem record(s), {f['events']} disengaged within {months:g} months."
    ]
    if "alpha" in f:
        lines.append(
            f"Reliability: alpha of '{f['alpha_scale']}' = {f['alpha']:.2f}; parallel analysis suggests "
            f"{f['suggested_factors']} factor(s)."
        )
    if "cfa_model" in f:
        lines.append(
            f"CFA ({f['cfa_model']}, full-information ML, n = {f['cfa_n']}): "
            f"CFI = {f['cfa_cfi']:.3f}, RMSEA = {f['cfa_rmsea']:.3f}."
        )
    lines.append(
        f"Attrition (Cox on the theme scores): C = {f['c_index']:.3f}, "
        f"optimism-corrected {f['c_index_corrected']:.3f}."
    )
    if "waves" in f:
        seen = ", ".join(f"{w} months {k}" for w, k in f["waves"].items())
        lines.append(f"Waves (members seen): {seen}.")
    if "retest_icc" in f:
        low, high = f["retest_ci"]
        lines.append(
            f"Test-retest of '{f['retest_scale']}' (ICC(3,1), n = {f['retest_n']}): "
            f"{f['retest_icc']:.2f} [{low:.2f}, {high:.2f}]."
        )
    if "fellowship_p" in f:
        lines.append(
            f"Fellowships compared on '{f['fellowship_scale']}': Welch ANOVA p = "
            f"{f['fellowship_p']:.2g}."
        )
    if "cif_end" in f:
        parts = ", ".join(f"{k} {v:.0%}" for k, v in sorted(f["cif_end"].items()))
        lines.append(
            f"Left within {months:g} months by outcome type (cumulative incidence): {parts}."
        )
    click.echo("\n".join(lines) + "\n")
    width = max(len(name) for name in result.outputs)
    for name, path in result.outputs.items():
        click.echo(f"  {name:<{width}}  {path}")
    steps = ", ".join(f"{k} {v:.1f}s" for k, v in result.timings.items())
    click.echo(
        f"\nDone in {elapsed:.1f} s ({steps}). Open {folder / 'validation' / 'report.html'}, "
        f"{folder / 'attrition' / 'report.html'} and {folder / 'longitudinal' / 'report.html'} "
        "in a browser."
    )
