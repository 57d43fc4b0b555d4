"""Guards for untrusted files and text: XML-bomb protection and formula-injection neutralising."""

from __future__ import annotations

import re

from instrument.errors import MHDQError

#: Characters that make a spreadsheet treat a text cell as a formula (OWASP CSV injection),
#: plus LF, which some clients treat the same way.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Control characters removed from untrusted text (public for instrument.write).
CONTROL_CHARACTERS = _CONTROL


def assert_defusedxml() -> None:
    """Raise unless openpyxl will parse workbooks through defusedxml.

    openpyxl protects against quadratic-blowup and billion-laughs XML only when defusedxml is
    importable (and ``OPENPYXL_DEFUSEDXML`` is not set to False).
    """
    from openpyxl.xml import DEFUSEDXML

    if not DEFUSEDXML:
        raise MHDQError(
            "openpyxl is not using defusedxml, so workbooks could carry XML bombs; install "
            "defusedxml and unset OPENPYXL_DEFUSEDXML"
        )


def neutralise(value: object) -> object:
    """Make untrusted text safe to write into a spreadsheet or CSV cell.

    Text starting with ``= + - @``, tab, CR or LF gets a leading apostrophe so no spreadsheet
    evaluates it; control characters that Excel cannot store are removed. Numbers (and any
    non-string) pass through unchanged, so a Likert code of ``-9`` stays a number.

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise(-9)
    -9
    >>> neutralise("plain text")
    'plain text'
    """
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub("", value)
    if value.startswith(FORMULA_TRIGGERS):
        return "'" + value
    return value
