"""The in-memory form of collected responses, shared by readers, checks and scoring."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from instrument.problems import Problem

#: Columns every ``ResponseTable.meta`` frame has, in this order; platform metadata
#: (Kobo's ``_uuid``, Qualtrics' ``Duration (in seconds)``, ...) follows them.
META_COLUMNS = ["source_file", "source_row", "respondent_id"]


@dataclass(frozen=True)
class ResponseTable:
    """Responses read from one source, matched to an instrument.

    Attributes
    ----------
    items : DataFrame
        One column per instrument item present in the file (named by item id, in the
        specification's order), raw values as read: float64 where every cell is numeric or
        blank (NaN), object where some cells hold text (kept so checks can report them).
    background : DataFrame
        Background questions present in the file (multiple choice as ``{id}_{code}`` 0/1 columns).
    meta : DataFrame
        ``source_file``, ``source_row`` (row number as the user sees it in the file, header = 1),
        ``respondent_id`` (text; generated as ``<file>:<row>`` where the file has none), then any
        platform metadata columns.
    problems : list of Problem
        File-level problems found while reading (missing or unknown columns, a specification
        version that differs from the file's).
    platform : str
        Detected source: ``mhdq_workbook``, ``xlsx``, ``csv``, ``kobo``, ``redcap``, ``qualtrics``,
        ``spss`` or ``parquet``.
    source : str
        The file the responses were read from.
    spec_version : str or None
        The instrument version the file declares, where it declares one.
    value_labels : dict
        ``{item id: {code: label}}`` from files that carry value labels (SPSS); empty otherwise.
    """

    items: pd.DataFrame
    background: pd.DataFrame
    meta: pd.DataFrame
    problems: list[Problem] = field(default_factory=list)
    platform: str = "unknown"
    source: str = ""
    spec_version: str | None = None
    value_labels: dict[str, dict[int, str]] = field(default_factory=dict)

    @property
    def n_rows(self) -> int:
        return len(self.meta)
