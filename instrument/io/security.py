"""Guards for untrusted files and text: XML-bomb protection and formula-injection neutralising."""

from __future__ import annotations

import importlib.util
import os
import re
import sys

from instrument.errors import MHDQError

#: Characters that make a spreadsheet treat a text cell as a formula (OWASP CSV injection),
#: plus LF, which some clients treat the same way.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n")
#: Look-alikes a spreadsheet may fold to a trigger: full-width and small forms of = + - @,
#: and the minus sign.
FORMULA_LOOKALIKES = "\uff1d\uff0b\uff0d\uff20\ufe66\ufe62\ufe63\ufe6b\u2212"
#: What a spreadsheet may trim before it looks at the first character: spaces of every kind
#: (no-break, thin, ideographic, ...), zero-width characters and the byte-order mark.
_TRIMMED = " \u00a0\u1680\u180e\u2000-\u200f\u2028\u2029\u202f\u205f\u2060\u3000\ufeff"
#: Text a spreadsheet could evaluate: a trigger or look-alike, possibly after trimmed characters.
FORMULA_START = re.compile(f"^[{_TRIMMED}]*[=+\\-@{FORMULA_LOOKALIKES}\t\r\n]")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
#: Control characters removed from untrusted text (public for instrument.io.write).
CONTROL_CHARACTERS = _CONTROL


def _openpyxl_uses_defusedxml() -> bool:
    """openpyxl's own ``openpyxl.xml.DEFUSEDXML``, without importing openpyxl when not yet loaded.

    Importing openpyxl costs ~0.3 s (it pulls in numpy and PIL), which every command would pay at
    start-up; until it is imported, the same rule openpyxl applies is evaluated here: defusedxml
    is importable and ``OPENPYXL_DEFUSEDXML`` is not set to anything but ``True``.
    """
    loaded = sys.modules.get("openpyxl.xml")
    if loaded is not None:
        return bool(loaded.DEFUSEDXML)
    return (
        importlib.util.find_spec("defusedxml") is not None
        and os.environ.get("OPENPYXL_DEFUSEDXML", "True") == "True"
    )


def assert_defusedxml() -> None:
    """Raise unless openpyxl will parse workbooks through defusedxml.

    openpyxl protects against quadratic-blowup and billion-laughs XML only when defusedxml is
    importable (and ``OPENPYXL_DEFUSEDXML`` is not set to False).
    """
    if not _openpyxl_uses_defusedxml():
        raise MHDQError(
            "openpyxl is not using defusedxml, so workbooks could carry XML bombs; install "
            "defusedxml and unset OPENPYXL_DEFUSEDXML"
        )


def neutralise(value: object) -> object:
    """Make untrusted text safe to write into a spreadsheet or CSV cell.

    Text starting with ``= + - @``, tab, CR or LF gets a leading apostrophe so no spreadsheet
    evaluates it, also when the trigger is a full-width or small look-alike (``＝``) or comes
    after characters a spreadsheet trims (spaces of any kind, zero-width characters, a BOM);
    control characters that Excel cannot store are removed. Numbers (and any
    non-string) pass through unchanged, so a Likert code of ``-9`` stays a number.

    Examples
    --------
    >>> neutralise("=HYPERLINK(\\"http://x\\")")
    '\\'=HYPERLINK("http://x")'
    >>> neutralise(-9)
    -9
    >>> neutralise("plain text")
    'plain text'
    >>> neutralise("\uff1dSUM(1)"), neutralise(" =1+1")
    ("'＝SUM(1)", "' =1+1")
    """
    if not isinstance(value, str):
        return value
    value = _CONTROL.sub("", value)
    if FORMULA_START.match(value):
        return "'" + value
    return value
