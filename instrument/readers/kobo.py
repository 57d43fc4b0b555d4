"""KoboToolbox export conventions (CSV and XLS exports, "XML values and headers" or labels).

Kobo appends its own columns after the questions (kpi ``ExportTask.COPY_FIELDS``:
``_id, _uuid, _submission_time, _validation_status, _notes, _status, _submitted_by, _tags``
and ``_index``); forms usually also carry ``start``, ``end``, ``__version__`` and
``meta/instanceID``. With "include groups in headers" each question is prefixed by its group
path (``grp_bfi/bfi_01``), and a select_multiple question gives a summary column (space-separated
choice names) plus one 0/1 column per choice (``q/option``). The CSV is semicolon-separated
with every field quoted (formpack ``to_csv(sep=';')``).
"""

from __future__ import annotations

#: Kobo's own columns, kept as respondent metadata.
META = (
    "_id",
    "_uuid",
    "_submission_time",
    "_validation_status",
    "_notes",
    "_status",
    "_submitted_by",
    "_tags",
    "_index",
    "__version__",
    "_version",
    "_duration",
    "_parent_table_name",
    "_parent_index",
    "_submission__id",
    "_submission__uuid",
    "_submission__submission_time",
    "start",
    "end",
    "today",
    "meta/instanceID",
    "meta/instanceName",
    "meta/rootUuid",
    "meta/deprecatedID",
    "formhub/uuid",
    "instanceID",
    "username",
)
#: Form metadata that identifies the respondent's phone; never read.
IDENTIFYING = ("deviceid", "phonenumber", "simserial", "subscriberid", "imei", "_geolocation")
#: Columns whose presence marks a Kobo export.
MARKERS = (
    "_uuid",
    "_submission_time",
    "_index",
    "__version__",
    "meta/instanceID",
    "_validation_status",
)
#: The column that identifies a submission.
ID_COLUMN = "_uuid"


def looks_like(names: list[str]) -> bool:
    """True when at least two Kobo system columns are present.

    Examples
    --------
    >>> looks_like(["grp/q1", "q2", "_id", "_uuid", "_submission_time"])
    True
    >>> looks_like(["record_id", "q1"])
    False
    """
    present = {name.strip() for name in names}
    return sum(marker in present for marker in MARKERS) >= 2


def is_tag_row(cells: list[str]) -> bool:
    """True for the HXL hashtag row Kobo puts under the header when the form has ``hxl`` tags.

    Examples
    --------
    >>> is_tag_row(["#adm1", "", "#affected +f"])
    True
    >>> is_tag_row(["3", "#x"])
    False
    """
    tags = [cell.strip() for cell in cells if cell.strip()]
    return bool(tags) and all(
        tag.startswith("#") and len(tag) > 1 and tag[1].isalpha() for tag in tags
    )
