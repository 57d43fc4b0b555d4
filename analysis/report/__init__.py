"""Reports: HTML building blocks, tables, plots, and the validation report."""

from analysis.report.html import (
    HtmlReport,
    atomic_write_text,
    data_hash,
    figure_png,
    software_versions,
    write_json,
    write_tables_xlsx,
)
from analysis.report.plots import (
    fit_comparison,
    invariance_ladder,
    likert_bars,
    loadings_heatmap,
    scree_plot,
)
from analysis.report.validation import (
    PAPER_HEADERS,
    THRESHOLDS,
    Verdict,
    build_report,
    paper_table,
    verdicts,
    write_validation_outputs,
)

__all__ = [
    "HtmlReport",
    "PAPER_HEADERS",
    "THRESHOLDS",
    "Verdict",
    "atomic_write_text",
    "build_report",
    "data_hash",
    "figure_png",
    "fit_comparison",
    "invariance_ladder",
    "likert_bars",
    "loadings_heatmap",
    "paper_table",
    "scree_plot",
    "software_versions",
    "verdicts",
    "write_json",
    "write_tables_xlsx",
    "write_validation_outputs",
]
