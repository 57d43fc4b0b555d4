"""Qualtrics CSV/TSV export conventions.

A Qualtrics export has three header rows: the column names (export tags, ``Q1``, ``Q2_1``,
renamable by the survey author), the question text, and a JSON object per column such as
``{"ImportId":"QID1"}``; data start on row 4. Before the data come Qualtrics' own columns
(``StartDate, EndDate, Status, IPAddress, Progress, Duration (in seconds), Finished,
RecordedDate, ResponseId, ...``). Numeric answers are each choice's *recode value*, which the
author may have changed from 1..k, hence the ``recode=`` option of the reader.
"""

from __future__ import annotations

import json

#: Qualtrics' own columns, kept as respondent metadata.
META = (
    "StartDate",
    "EndDate",
    "Status",
    "Progress",
    "Duration (in seconds)",
    "Finished",
    "RecordedDate",
    "ResponseId",
    "DistributionChannel",
    "UserLanguage",
    "ExternalReference",
    "ExternalDataReference",
)
#: Columns that identify a person or place: dropped on reading, never kept.
IDENTIFYING = (
    "IPAddress",
    "RecipientLastName",
    "RecipientFirstName",
    "RecipientEmail",
    "LocationLatitude",
    "LocationLongitude",
)
#: The column that identifies a response.
ID_COLUMN = "ResponseId"
DURATION = "Duration (in seconds)"
#: Number of header rows before the data.
HEADER_ROWS = 3


def is_import_id_row(cells: list[str]) -> bool:
    """True when the cells are Qualtrics' third header row (JSON objects with ``ImportId``).

    Examples
    --------
    >>> is_import_id_row(['{"ImportId":"startDate","timeZone":"UTC"}', '{"ImportId":"QID1"}'])
    True
    >>> is_import_id_row(["1", "2"])
    False
    """
    found = False
    for cell in cells:
        text = cell.strip()
        if not text:
            continue
        if not text.startswith("{"):
            return False
        try:
            value = json.loads(text)
        except ValueError:
            return False
        if not isinstance(value, dict) or "ImportId" not in value:
            return False
        found = True
    return found


def is_meta(name: str) -> bool:
    """Qualtrics' own columns, including its fraud-score columns (``Q_RecaptchaScore``, ...)."""
    return name in META or name.startswith("Q_")
