"""``mhdq plan``: expected precision of a study of N respondents, by Monte Carlo on the simulator."""

from __future__ import annotations

import json
from pathlib import Path

import click

from analysis.cli.options import format_option, instrument_option, open_instrument, output_dir
from instrument.errors import UsageError


def _write_plot(result, path: Path) -> Path:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = result.plot()
    ax.figure.text(
        0.01, 0.01, "SYNTHETIC: simulated cohorts, not real respondents", fontsize=7, color="grey"
    )
    ax.figure.tight_layout(rect=(0, 0.03, 1, 1))
    ax.figure.savefig(path, dpi=110)
    plt.close(ax.figure)
    return path


@click.command("plan", short_help="Precision and CFA fit to expect with N respondents.")
@instrument_option
@click.option(
    "--n",
    "n",
    type=click.IntRange(min=10),
    default=None,
    help="Respondents in the planned study (required unless --target is given).",
)
@click.option(
    "--events-rate",
    "event_rate",
    type=click.FloatRange(0.01, 0.95),
    default=0.4,
    show_default=True,
    help="Share expected to disengage before the last follow-up.",
)
@click.option(
    "--months",
    type=click.FloatRange(min=1),
    default=12.0,
    show_default=True,
    help="Last follow-up month.",
)
@click.option(
    "--missing",
    type=click.FloatRange(0, 0.5),
    default=0.03,
    show_default=True,
    help="Share of answers expected to be missing.",
)
@click.option(
    "--careless",
    type=click.FloatRange(0, 0.5),
    default=0.03,
    show_default=True,
    help="Share of careless respondents expected.",
)
@click.option(
    "--reps",
    type=click.IntRange(min=2),
    default=50,
    show_default=True,
    help="Simulated cohorts per N.",
)
@click.option("--seed", type=int, default=2026, show_default=True, help="Random seed.")
@click.option(
    "--cfa-missing",
    type=click.Choice(["ml", "listwise"]),
    default="ml",
    show_default=True,
    help="Missing, not-applicable and skipped answers in the CFA: full-information ML (as mhdq "
    "validate) or listwise deletion.",
)
@click.option(
    "--no-waves",
    "no_waves",
    is_flag=True,
    help="Skip the longitudinal part (test-retest ICC width, events per outcome type).",
)
@click.option(
    "--target",
    "targets",
    multiple=True,
    metavar="METRIC=VALUE",
    help="Search the smallest N meeting this (repeatable): alpha_width, omega_width, c_index_width "
    "icc_width (upper bounds; alpha_width@SCALE for one scale), p_rmsea_ok, p_cfi_ok, events_min "
    "(lower bounds).",
)
@click.option(
    "--out",
    "out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for plan.png (and search.png, plan.json).",
)
@format_option
@click.option("--quiet", "-q", is_flag=True, help="No progress display.")
def command(
    instrument_path,
    n,
    event_rate,
    months,
    missing,
    careless,
    reps,
    seed,
    cfa_missing,
    no_waves,
    targets,
    out,
    output_format,
    quiet,
):
    """Expected interval widths, CFA fit and C-index precision for N respondents (synthetic Monte Carlo)."""
    from analysis.cli.feedback import clean_warnings, progress_display
    from analysis.simulate.plan import SYNTHETIC_NOTE, find_sample_size, parse_targets, plan_study

    spec = open_instrument(instrument_path)
    if n is None and not targets:
        raise UsageError(
            "give --n N (the planned sample size) or --target METRIC=VALUE to search for one"
        )
    try:
        wanted = parse_targets(list(targets)) if targets else None
    except ValueError as exc:
        raise UsageError(f"--target: {exc}") from None
    folder = output_dir(out) if out is not None else None
    options = dict(
        reps=reps,
        seed=seed,
        event_rate=event_rate,
        followup_months=months,
        missing_rate=missing,
        careless_share=careless,
        cfa_missing=cfa_missing,
        longitudinal=not no_waves,
    )
    search = None
    with clean_warnings(), progress_display("planning", quiet=quiet) as progress:
        options["progress"] = progress
        if wanted:
            search = find_sample_size(spec, wanted, **options)
            if search.n_required is None and n is None:
                plan = search.plans[max(search.plans)]
            else:
                plan = search.plans.get(search.n_required) if n is None else None
                if plan is None:
                    plan = plan_study(spec, n=n, **options)
        else:
            plan = plan_study(spec, n=n, **options)

    header = (
        f"{SYNTHETIC_NOTE}\n{spec.metadata.short_name} {spec.version}: N = {plan.n}, {plan.reps} cohorts, "
        f"seed {plan.seed}, {plan.ci_level:.0%} intervals, CFA model {plan.settings['cfa_model']} "
        f"({'full-information ML' if cfa_missing == 'ml' else 'listwise deletion'})"
    )
    if output_format == "json":
        payload = {
            "synthetic": True,
            "note": SYNTHETIC_NOTE,
            "n": plan.n,
            "reps": plan.reps,
            "seed": plan.seed,
            "settings": plan.settings,
            "reliability": json.loads(plan.reliability.to_json(orient="records")),
            "cfa": json.loads(plan.cfa.to_json(orient="records")),
            "attrition": json.loads(plan.attrition.to_json(orient="records")),
            "retest": None
            if plan.retest is None
            else json.loads(plan.retest.to_json(orient="records")),
            "competing": None
            if plan.competing is None
            else json.loads(plan.competing.to_json(orient="records")),
        }
        if search is not None:
            payload["search"] = {
                "targets": search.targets,
                "n_required": search.n_required,
                "evaluations": json.loads(search.evaluations.to_json(orient="records")),
            }
        click.echo(json.dumps(payload, indent=2))
    elif output_format == "csv":
        click.echo(plan.summary().to_csv(index=False), nl=False)
        if search is not None:
            click.echo()
            click.echo(search.evaluations.to_csv(index=False), nl=False)
    else:
        click.echo(header + "\n")
        rel = plan.reliability[
            ["scale", "n_items", "alpha_mean", "alpha_width", "omega_mean", "omega_width"]
        ]
        click.echo(rel.round(3).to_string(index=False))
        if len(plan.cfa):
            cfa = plan.cfa[
                [
                    "model",
                    "p_rmsea_ok",
                    "p_cfi_ok",
                    "rmsea_upper_mean",
                    "cfi_mean",
                    "complete_rows_mean",
                    "n_obs_mean",
                ]
            ]
            click.echo(
                "\nCFA (RMSEA upper limit < {:.2f}, CFI >= {:.2f}):".format(
                    plan.cfa["rmsea_cutoff"].iloc[0], plan.cfa["cfi_cutoff"].iloc[0]
                )
            )
            click.echo(cfa.round(3).to_string(index=False))
        click.echo("\nAttrition (Cox on the theme scores, Harrell's C):")
        click.echo(plan.attrition.round(3).to_string(index=False))
        if plan.retest is not None:
            click.echo(
                f"\nTest-retest between baseline and {months / 2:g} months (ICC(3,1), "
                f"{plan.ci_level:.0%} interval width):"
            )
            click.echo(plan.retest.round(3).to_string(index=False))
        if plan.competing is not None:
            click.echo(
                f"\nEvents per outcome type within {months:g} months (competing-risks models; "
                "aim for 10+ per predictor):"
            )
            click.echo(plan.competing.round(2).to_string(index=False))
        if search is not None:
            found = (
                f"smallest N meeting every target: {search.n_required}"
                if search.n_required
                else f"no N up to {max(search.grid)} meets every target"
            )
            click.echo(
                "\nSample size search "
                f"({', '.join(f'{k}={v}' for k, v in search.targets.items())}): {found}"
            )
            click.echo(search.evaluations.round(3).to_string(index=False))
    if folder is not None:
        written = [_write_plot(plan, folder / "plan.png")]
        if search is not None:
            written.append(_write_plot(search, folder / "search.png"))
        payload_path = folder / "plan.json"
        payload_path.write_text(
            json.dumps(
                {
                    "synthetic": True,
                    "note": SYNTHETIC_NOTE,
                    "n": plan.n,
                    "reps": plan.reps,
                    "settings": plan.settings,
                    "summary": json.loads(plan.summary().to_json(orient="records")),
                    "search": None
                    if search is None
                    else {
                        "targets": search.targets,
                        "n_required": search.n_required,
                        "evaluations": json.loads(search.evaluations.to_json(orient="records")),
                    },
                },
                indent=2,
            ),
            encoding="utf-8",
        )
        written.append(payload_path)
        click.echo("\n" + "\n".join(f"wrote {p}" for p in written), err=output_format != "table")
