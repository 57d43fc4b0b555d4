"""Construct-validity hypotheses stated in advance: the ``hypotheses:`` section of a specification.

COSMIN asks that hypotheses about a scale's relations be written down before the data are seen:
the expected direction and rough size of correlations with other measures, and expected
differences between groups. This module reads them; :mod:`analysis.longitudinal.hypotheses`
tests them on data.

Format (a list; each entry has one of ``correlation`` or ``difference``)::

    hypotheses:
      - "meaning: r <= -.30 with total"             # shorthand for a correlation
      - id: h2
        correlation: {scale: meaning, with: days_sober, r: ">= .10"}
        rationale: {en: Meaning grows with time in recovery.}
      - id: h3
        difference: {scale: total, group: fellowship, higher: AA, lower: NA, g: ">= 0.2"}

``scale``/``with`` name score columns or other measures in the data; ``r`` and ``g`` are a
comparison (``<``, ``<=``, ``>``, ``>=``) with a number. ``g`` is optional (default ``> 0``:
the ``higher`` group's mean is higher).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

__all__ = ["Hypothesis", "hypotheses_of", "hypothesis_problems", "parse_hypotheses"]

_OPS = ("<=", ">=", "<", ">")
_BOUND = re.compile(r"^\s*(<=|>=|<|>|≤|≥)\s*([+\-]?\s*(?:\d+(?:\.\d*)?|\.\d+))\s*$")
_SHORT = re.compile(
    r"^\s*(?P<scale>[^:]+?)\s*:\s*r\s*(?P<bound>(?:<=|>=|<|>|≤|≥)\s*[+\-]?\s*[\d.]+)\s+with\s+"
    r"(?P<other>.+?)\s*$"
)
_KEYS = {"id", "correlation", "difference", "rationale"}
_CORRELATION_KEYS = {"scale", "with", "r"}
_DIFFERENCE_KEYS = {"scale", "group", "higher", "lower", "g"}


@dataclass(frozen=True, slots=True)
class Hypothesis:
    """One hypothesis.

    Attributes
    ----------
    id : str
        ``h1``, ``h2``... unless given.
    kind : str
        ``correlation`` or ``difference``.
    scale : str
        The score the hypothesis is about.
    other : str or None
        The other measure (correlation).
    group, higher, lower : str or None
        Grouping column and the groups expected higher and lower (difference).
    op : str
        ``<``, ``<=``, ``>`` or ``>=``.
    bound : float
        The number the estimate (r, or Hedges' g of higher minus lower) is compared with.
    rationale : dict
        Text per language, may be empty.
    """

    id: str
    kind: str
    scale: str
    other: str | None
    group: str | None
    higher: str | None
    lower: str | None
    op: str
    bound: float
    rationale: dict[str, str]

    @property
    def statement(self) -> str:
        """The hypothesis as one line, e.g. ``meaning: r <= -0.3 with total``."""
        if self.kind == "correlation":
            return f"{self.scale}: r {self.op} {self.bound:g} with {self.other}"
        return (
            f"{self.scale}: {self.group} {self.higher} > {self.lower} "
            f"(Hedges' g {self.op} {self.bound:g})"
        )

    def holds(self, value: float) -> bool:
        """Whether an observed value satisfies the comparison."""
        return {
            "<": value < self.bound,
            "<=": value <= self.bound,
            ">": value > self.bound,
            ">=": value >= self.bound,
        }[self.op]


def parse_hypotheses(raw: Any) -> list[Hypothesis]:
    """The hypotheses of a ``hypotheses:`` section; ``ValueError`` listing every problem.

    Examples
    --------
    >>> [h.statement for h in parse_hypotheses(["meaning: r <= -.30 with total"])]
    ['meaning: r <= -0.3 with total']
    """
    hypotheses, problems = _parse(raw)
    if problems:
        raise ValueError(
            "hypotheses: " + "; ".join(f"{path}: {message}" for path, _, message in problems)
        )
    return hypotheses


def hypothesis_problems(raw: Any) -> Iterator[tuple[str, Any, str]]:
    """Problems of a ``hypotheses:`` section as ``(path, value, message)`` for the spec checker."""
    yield from _parse(raw)[1]


def hypotheses_of(instrument) -> list[Hypothesis]:
    """The hypotheses declared in an instrument's specification (empty when none)."""
    return parse_hypotheses(instrument.raw.get("hypotheses"))


def _parse(raw: Any) -> tuple[list[Hypothesis], list[tuple[str, Any, str]]]:
    problems: list[tuple[str, Any, str]] = []
    out: list[Hypothesis] = []
    if raw is None:
        return out, problems
    if not isinstance(raw, list):
        return out, [("hypotheses", _show(raw), "must be a list of hypotheses")]
    seen: set[str] = set()
    for n, entry in enumerate(raw):
        path = f"hypotheses[{n}]"
        before = len(problems)
        hypothesis = _entry(entry, n, path, problems)
        if hypothesis is None or len(problems) > before:
            continue
        if hypothesis.id in seen:
            problems.append((f"{path}.id", hypothesis.id, "duplicate hypothesis id"))
            continue
        seen.add(hypothesis.id)
        out.append(hypothesis)
    return out, problems


def _entry(entry: Any, n: int, path: str, problems: list) -> Hypothesis | None:
    default_id = f"h{n + 1}"
    if isinstance(entry, str):
        return _short(entry, default_id, {}, path, problems)
    if not isinstance(entry, dict):
        problems.append((path, _show(entry), "must be a text or a mapping"))
        return None
    unknown = sorted(set(map(str, entry)) - _KEYS)
    if unknown:
        problems.append(
            (path, ", ".join(unknown), f"unknown key(s); allowed: {', '.join(sorted(_KEYS))}")
        )
    ident = str(entry.get("id", default_id))
    rationale = entry.get("rationale") or {}
    if isinstance(rationale, str):
        rationale = {"en": rationale}
    if not isinstance(rationale, dict):
        problems.append((f"{path}.rationale", _show(rationale), "must be text per language"))
        rationale = {}
    rationale = {str(k): str(v) for k, v in rationale.items()}
    kinds = [k for k in ("correlation", "difference") if k in entry]
    if len(kinds) != 1:
        problems.append((path, _show(entry), "needs exactly one of correlation or difference"))
        return None
    body = entry[kinds[0]]
    if kinds[0] == "correlation":
        if isinstance(body, str):
            return _short(body, ident, rationale, f"{path}.correlation", problems)
        return _mapping(body, "correlation", ident, rationale, f"{path}.correlation", problems)
    return _mapping(body, "difference", ident, rationale, f"{path}.difference", problems)


def _short(text: str, ident: str, rationale: dict, path: str, problems: list) -> Hypothesis | None:
    match = _SHORT.match(text.replace("−", "-"))
    if match is None:
        problems.append(
            (path, _show(text), "not understood; write e.g. 'meaning: r <= -.30 with total'")
        )
        return None
    op, bound = _bound(match["bound"], path, problems)
    if op is None:
        return None
    return Hypothesis(
        ident, "correlation", match["scale"], match["other"], None, None, None, op, bound, rationale
    )


def _mapping(
    body: Any, kind: str, ident: str, rationale: dict, path: str, problems: list
) -> Hypothesis | None:
    allowed = _CORRELATION_KEYS if kind == "correlation" else _DIFFERENCE_KEYS
    required = allowed - {"g"}
    if not isinstance(body, dict):
        problems.append(
            (path, _show(body), f"must be a mapping with {', '.join(sorted(required))}")
        )
        return None
    unknown = sorted(set(map(str, body)) - allowed)
    missing = sorted(required - set(map(str, body)))
    if unknown:
        problems.append(
            (path, ", ".join(unknown), f"unknown key(s); allowed: {', '.join(sorted(allowed))}")
        )
    if missing:
        problems.append((path, None, f"missing key(s): {', '.join(missing)}"))
    if unknown or missing:
        return None
    text = {k: str(v).strip() for k, v in body.items() if k not in ("r", "g")}
    empty = sorted(k for k, v in text.items() if not v)
    if empty:
        problems.append((path, None, f"empty value(s) for {', '.join(empty)}"))
        return None
    key = "r" if kind == "correlation" else "g"
    op, bound = _bound(str(body.get(key, "> 0")), f"{path}.{key}", problems)
    if op is None:
        return None
    if kind == "correlation":
        if not -1.0 <= bound <= 1.0:
            problems.append((f"{path}.r", bound, "a correlation bound lies between -1 and 1"))
            return None
        return Hypothesis(
            ident, kind, text["scale"], text["with"], None, None, None, op, bound, rationale
        )
    if text["higher"] == text["lower"]:
        problems.append((path, text["higher"], "higher and lower must be different groups"))
        return None
    return Hypothesis(
        ident,
        kind,
        text["scale"],
        None,
        text["group"],
        text["higher"],
        text["lower"],
        op,
        bound,
        rationale,
    )


def _bound(text: str, path: str, problems: list) -> tuple[str | None, float]:
    match = _BOUND.match(text.replace("−", "-"))
    if match is None:
        problems.append(
            (path, _show(text), "write a comparison with a number, e.g. '<= -.30' or '>= 0.2'")
        )
        return None, float("nan")
    op = {"≤": "<=", "≥": ">="}.get(match[1], match[1])
    assert op in _OPS
    return op, float(match[2].replace(" ", ""))


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
