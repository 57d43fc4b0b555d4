"""REDCap raw record export conventions (CSV, "raw" coded values).

The record id field comes first (``record_id`` by default, but projects may rename it);
longitudinal and repeating projects add ``redcap_event_name``, ``redcap_repeat_instrument``,
``redcap_repeat_instance`` (and ``redcap_data_access_group``, ``redcap_survey_identifier``);
each form adds ``<form>_complete`` (0 incomplete, 1 unverified, 2 complete) and, for surveys,
``<form>_timestamp``. A checkbox question gives one 0/1 column per choice, ``q___code``.
"""

from __future__ import annotations

import re

#: REDCap's own columns, kept as respondent metadata.
META = (
    "redcap_event_name",
    "redcap_repeat_instrument",
    "redcap_repeat_instance",
    "redcap_data_access_group",
    "redcap_survey_identifier",
)
#: Per-form status and timestamp columns, kept as metadata.
FORM_META = re.compile(r"^[a-z][a-z0-9_]*_(complete|timestamp)$")
#: Checkbox choice columns.
CHECKBOX = re.compile(r"^(?P<question>[A-Za-z][A-Za-z0-9_]*?)___(?P<code>[A-Za-z0-9_]+)$")
#: Checkbox choice columns in a labels export: ``Field label (choice=Choice label)``, values
#: ``Checked``/``Unchecked``.
CHECKBOX_LABEL = re.compile(r"^(?P<question>.+?)\s*\(choice=(?P<choice>.+)\)$", re.DOTALL)


def looks_like(names: list[str]) -> bool:
    """True for a REDCap record export: ``record_id`` first, or REDCap's own columns present.

    Examples
    --------
    >>> looks_like(["record_id", "q1", "mhdq_complete"])
    True
    >>> looks_like(["study_id", "redcap_event_name", "q1"])
    True
    >>> looks_like(["respondent_id", "q1"])
    False
    """
    if not names:
        return False
    if names[0].strip().lower() == "record_id":
        return True
    lowered = {name.strip().lower() for name in names}
    return any(name in lowered for name in META)


def is_meta(name: str) -> bool:
    """True for REDCap's own columns and the ``<form>_complete``/``<form>_timestamp`` columns."""
    return name in META or bool(FORM_META.match(name))
