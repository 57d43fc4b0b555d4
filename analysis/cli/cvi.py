"""``mhdq cvi``: content-validity indices (I-CVI, modified kappa, S-CVI) from returned rating workbooks."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import click

from analysis.cli.options import format_option, instrument_option, open_instrument, output_dir
from instrument.errors import DataError, UsageError

if TYPE_CHECKING:  # pandas is imported when a command runs, not when the CLI starts
    import pandas as pd

ROUNDING = {"i_cvi": 2, "p_c": 3, "kappa": 2, "s_cvi_ave": 2, "s_cvi_ua": 2}
THRESHOLDS = (
    "Decision from the modified kappa k* (Polit, Beck & Owen 2007, Res Nurs Health 30:459, after "
    "Cicchetti & Sparrow 1981 and Fleiss 1981): keep if k* > .74 (excellent); revise if .60-.74 "
    "(good) "
    "or .40-.59 (fair); drop if < .40 (poor). meets_lynn: I-CVI 1.00 with 3-5 experts, >= .78 with "
    "6 or "
    "more (Lynn 1986; Polit & Beck 2006). S-CVI/Ave >= .90 is the usual target for a scale."
)


def _rounded(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.round({k: v for k, v in ROUNDING.items() if k in frame.columns})


@click.command("cvi")
@click.argument("files", nargs=-1, required=True, metavar="FILES...")
@instrument_option
@click.option(
    "--out",
    "out",
    default=None,
    metavar="FILE.xlsx",
    help="Also write the results to this workbook.",
)
@format_option
def command(
    files: tuple[str, ...], instrument_path: str | None, out: str | None, output_format: str
) -> None:
    """Content validity (I-CVI, modified kappa, S-CVI) from returned rating workbooks.

    Reads the workbooks written by `mhdq cvi-form` and filled in by experts, one file per expert,
    and reports per item the number of experts, how many rated it 3 or 4, I-CVI, chance
    agreement p_c, modified kappa k* and the decision (keep/revise/drop), and per scale
    S-CVI/Ave and S-CVI/UA. Problems (file, row, column) go to stderr; any error stops with exit 1.
    """
    import pandas as pd

    from analysis.study.content_validity import content_validity
    from instrument.forms.cvi_form import read_cvi_forms
    from instrument.io.security import neutralise
    from instrument.problems import problems_frame

    if out is not None and Path(out).suffix.lower() != ".xlsx":
        raise UsageError(f"--out {out}: the results workbook must be an .xlsx file")
    instrument = open_instrument(instrument_path)
    result = read_cvi_forms(files, instrument=None)
    names = {meta.get("instrument") for meta in result.declared.values()} - {None}
    if instrument_path is None and names and names != {instrument.metadata.short_name}:
        raise UsageError(
            f"the forms are for {', '.join(sorted(map(str, names)))}, not the embedded "
            f"{instrument.metadata.short_name}; pass --instrument SPEC with the specification they "
            "were written from"
        )
    result = read_cvi_forms(files, instrument=instrument)
    if not result.has_errors and not result.ratings.notna().to_numpy().any():
        raise DataError(
            f"none of the {len(result.files)} rating form(s) has a rating: the relevance column "
            "(E) is blank in every file; have the experts fill it in (1-4) and run again"
        )
    problems = problems_frame(list(result.problems))
    if len(problems):
        click.echo(f"{len(problems)} problem(s) in the rating workbooks:", err=True)
        click.echo(problems.to_string(index=False), err=True)
    if result.has_errors:
        raise DataError("the rating workbooks have errors (listed above); fix them and run again")
    if result.ratings.shape[1] == 0:
        raise DataError("no ratings were read")
    scales = {s.id: instrument.scale_items(s.id) for s in instrument.scales}
    item_scale = {item.id: item.scale for item in instrument.items}
    cvi = content_validity(result.ratings, scales=scales, item_scale=item_scale)
    items = _rounded(cvi.items).reset_index()
    scale_table = _rounded(cvi.scales[cvi.scales["n_items"] > 0]).reset_index()
    if output_format == "json":
        click.echo(
            json.dumps(
                {
                    "n_experts": cvi.n_experts,
                    "items": json.loads(items.to_json(orient="records")),
                    "scales": json.loads(scale_table.to_json(orient="records")),
                },
                indent=2,
            )
        )
    elif output_format == "csv":
        click.echo(items.to_csv(index=False), nl=False)
        click.echo()
        click.echo(scale_table.to_csv(index=False), nl=False)
    else:
        click.echo(f"Content validity: {cvi.n_experts} expert(s), {len(items)} item(s)\n")
        click.echo(items.to_string(index=False))
        click.echo()
        click.echo(scale_table.to_string(index=False))
        click.echo(f"\n{THRESHOLDS}")
    if out is not None:
        path = Path(out)
        output_dir(path.parent if str(path.parent) else ".")
        about = pd.DataFrame(
            {
                "key": ["instrument", "fingerprint", "n_experts", "experts", "files", "thresholds"],
                "value": [
                    instrument.metadata.short_name,
                    instrument.fingerprint,
                    cvi.n_experts,
                    ", ".join(result.files),
                    ", ".join(result.files.values()),
                    THRESHOLDS,
                ],
            }
        )
        comments = result.comments
        with pd.ExcelWriter(path, engine="openpyxl") as writer:
            for sheet, frame in (
                ("items", cvi.items.reset_index()),
                ("scales", cvi.scales.reset_index()),
                ("comments", comments),
                ("problems", problems),
                ("about", about),
            ):
                frame.map(neutralise).to_excel(writer, sheet_name=sheet, index=False)
        click.echo(f"Wrote {path}", err=True)
