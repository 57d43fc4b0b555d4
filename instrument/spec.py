"""The instrument specification: a validated, immutable description of a Likert instrument.

The YAML format is documented in ``docs/instrument-spec.md``. :func:`load_instrument` reads a
file (or the embedded MHDQ when given nothing), checks every field, and either returns a complete
:class:`Instrument` or raises one :class:`~instrument.errors.SpecError` listing every problem with
its field path, the bad value and what is allowed. Nothing is half-loaded.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:  # pandas is imported lazily, where it is used
    import pandas as pd

from instrument.errors import SpecError, SpecProblem
from instrument.hypotheses import hypothesis_problems

FORMAT_VERSION = 1
#: Embedded instruments by name. ``"mhdq"`` is the current item bank; ``"mhdq-0.1.0"`` and
#: ``"mhdq-0.2.0"`` name a bank version, so data collected with an older version can still be
#: checked and scored with the specification it was collected with.
EMBEDDED = {"mhdq": "mhdq.yaml", "mhdq-0.1.0": "mhdq.yaml", "mhdq-0.2.0": "mhdq-0.2.0.yaml"}

#: Item and question ids must be valid variable names in R, SPSS, Stata and XLSForm: an ASCII
#: letter first, then letters, digits or underscores, at most 32 characters (Stata's limit), not
#: ending in an underscore (SPSS reserves that pattern for system variables in some procedures).
VARIABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,31}$")
#: Words reserved in at least one of R, SPSS and Stata (compared case-insensitively), and XLSForm's ``meta``.
_RESERVED_WORDS = {
    "R": "if else repeat while function for next break TRUE FALSE NULL Inf NaN NA NA_integer_ "
    "NA_real_ NA_character_ in",
    "SPSS": "ALL AND BY EQ GE GT LE LT NE NOT OR TO WITH",
    "Stata": "byte double float int long str strL using _all _b _coef _cons _n _N _pi _pred _rc "
    "_skip",
    "XLSForm": "meta",
}
RESERVED_NAMES = frozenset(
    name.lower() for words in _RESERVED_WORDS.values() for name in words.split()
)
PARAMETER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
QUESTION_TYPES = ("single_choice", "multiple_choice", "integer", "date", "year_month", "text")
SCORING_METHODS = ("mean", "sum")
NA_RULES = ("missing", "exclude")
#: How the forms order the items: by theme and facet as the specification lists them, or
#: interleaved (one item from each facet in turn) so neighbouring items measure different facets.
ITEM_ORDERS = ("facet_grouped", "interleaved")
#: Where a background question is shown: before the items (questions the skip logic of the items
#: depends on) or after them.
PLACEMENTS = ("before_items", "after_items")


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Language:
    """A language the instrument is written in (``code`` is an IANA subtag such as ``en``, ``nb``)."""

    code: str
    name: str
    default: bool = False
    status: str = ""


@dataclass(frozen=True, slots=True)
class Metadata:
    """Who made the instrument and how to cite it."""

    name: str
    short_name: str
    version: str
    authors: tuple[str, ...]
    citation: str
    licence: str
    description: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Parameter:
    """A text parameter such as ``{group}``, with a default value per language."""

    name: str
    default: dict[str, str]
    description: str = ""


@dataclass(frozen=True, slots=True)
class ResponseScale:
    """The answer options of a Likert item.

    ``codes`` are the substantive answers in order; reversing maps ``x`` to
    ``min(codes) + max(codes) - x``. ``not_applicable`` and ``missing_codes`` are valid entries
    that are not answers on the scale.
    """

    id: str
    codes: tuple[int, ...]
    labels: dict[str, tuple[str, ...]]
    not_applicable: int | None = None
    not_applicable_label: dict[str, str] = field(default_factory=dict)
    missing_codes: tuple[int, ...] = ()

    @property
    def points(self) -> int:
        return len(self.codes)

    @property
    def minimum(self) -> int:
        return min(self.codes)

    @property
    def maximum(self) -> int:
        return max(self.codes)

    def label(self, code: int, lang: str) -> str:
        """Label of one substantive code in ``lang``."""
        return self.labels[lang][self.codes.index(code)]

    def allowed_codes(self) -> tuple[int, ...]:
        """Every code a cell may hold: answers, not-applicable and declared missing codes."""
        extra = (self.not_applicable,) if self.not_applicable is not None else ()
        return self.codes + extra + self.missing_codes


@dataclass(frozen=True, slots=True)
class Item:
    """One Likert item. ``keyed`` is +1 or -1 (reverse keyed).

    ``applies_to`` names the group kinds the item is asked about (empty: every kind);
    ``relevant`` the conditions on background questions under which it is shown (all must hold).
    Together they are the item's skip logic (:meth:`Instrument.item_conditions`). ``wave_text``
    gives the wording in a wave form that words it differently; ``addition`` says why an item
    goes beyond the source study (empty for items traced to it).
    """

    id: str
    text: dict[str, str]
    scale: str
    keyed: int
    response_scale: str
    source: dict[str, Any] = field(default_factory=dict)
    applies_to: tuple[str, ...] = ()
    relevant: tuple[Condition, ...] = ()
    wave_text: dict[str, dict[str, str]] = field(default_factory=dict)
    addition: str = ""


@dataclass(frozen=True, slots=True)
class ScoringRule:
    """How a scale score is formed.

    ``method`` is ``mean`` or ``sum`` (a sum with missing answers is prorated: the mean of the
    answered items times the number of items counted). ``min_answered`` is the share of the
    scale's items that must be answered for a score. ``not_applicable`` says whether a
    not-applicable answer counts as ``missing`` or is ``exclude``-d from the item count.
    """

    method: str = "mean"
    min_answered: float = 0.5
    not_applicable: str = "exclude"


@dataclass(frozen=True, slots=True)
class Scale:
    """A scale in the hierarchy (total > theme > facet). Items attach to leaf scales."""

    id: str
    label: dict[str, str]
    parent: str | None
    scoring: ScoringRule
    definition: dict[str, str] = field(default_factory=dict)
    level: str = ""


@dataclass(frozen=True, slots=True)
class Choice:
    code: int
    label: dict[str, str]


@dataclass(frozen=True, slots=True)
class Condition:
    """Show a question only when ``question`` has one of ``values``."""

    question: str
    values: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class WaveForm:
    """One version of the instrument for a measurement wave (e.g. baseline, follow-up).

    Every version has the same items, ids and keys. ``instructions`` replace the instrument's
    instructions in this version; ``stem`` is printed before the items (e.g. "In the past
    {recall}: ..."); items may carry their own wording for a version (``Item.wave_text``).
    ``code`` is what the data column named by ``Instrument.wave_question`` holds for this version.
    """

    id: str
    code: int
    label: dict[str, str]
    instructions: dict[str, str] = field(default_factory=dict)
    stem: dict[str, str] = field(default_factory=dict)
    recall: bool = False


@dataclass(frozen=True, slots=True)
class GroupKinds:
    """Kinds of mutual-help group, the codes of the background question that records the kind."""

    question: str
    kinds: dict[str, int]


@dataclass(frozen=True, slots=True)
class Withdrawn:
    """An item id that is no longer used (ids are never reused)."""

    id: str
    reason: str
    replaced_by: tuple[str, ...] = ()
    version: str = ""


@dataclass(frozen=True, slots=True)
class BackgroundQuestion:
    """A non-Likert question: single or multiple choice, integer, date, year-month or free text."""

    id: str
    type: str
    label: dict[str, str]
    sensitive: bool = False
    required: bool = False
    choices: tuple[Choice, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    relevant: Condition | None = None
    hint: dict[str, str] = field(default_factory=dict)
    section: str = ""
    placement: str = "after_items"
    forms: tuple[str, ...] = ()
    expected: int | None = None
    resembles: str = ""
    #: A value the form fills in instead of asking (set when a form is built for one wave or
    #: one group, see :func:`instrument.forms.prepare`; never read from a specification file).
    fixed: int | str | None = None

    @property
    def is_attention_check(self) -> bool:
        """True for an attention-check question (it has an ``expected`` answer)."""
        return self.expected is not None

    def shown_in(self, form: str | None) -> bool:
        """Whether the question is asked in wave form ``form`` (all forms when ``forms`` is empty)."""
        return not self.forms or form is None or form in self.forms

    def choice_codes(self) -> tuple[int, ...]:
        return tuple(c.code for c in self.choices)


@dataclass(frozen=True, slots=True)
class Instrument:
    """A complete, validated instrument specification. Build it with :func:`load_instrument`."""

    metadata: Metadata
    languages: tuple[Language, ...]
    parameters: dict[str, Parameter]
    response_scales: dict[str, ResponseScale]
    items: tuple[Item, ...]
    scales: tuple[Scale, ...]
    background: tuple[BackgroundQuestion, ...]
    instructions: dict[str, str] = field(default_factory=dict)
    source: str = "<memory>"
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    order: str = "facet_grouped"
    wave_forms: dict[str, WaveForm] = field(default_factory=dict)
    wave_question: str | None = None
    group_kinds: GroupKinds | None = None
    consent: dict[str, dict[str, str]] = field(default_factory=dict)
    withdrawn: tuple[Withdrawn, ...] = ()

    # --- languages and text -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.metadata.name

    @property
    def version(self) -> str:
        return self.metadata.version

    @property
    def language_codes(self) -> tuple[str, ...]:
        return tuple(lang.code for lang in self.languages)

    @property
    def default_language(self) -> str:
        return next(lang.code for lang in self.languages if lang.default)

    def check_language(self, lang: str | None) -> str:
        """Return ``lang`` (or the default when None); raise ``ValueError`` naming the allowed codes."""
        if lang is None:
            return self.default_language
        if lang not in self.language_codes:
            raise ValueError(
                f"lang: unknown language {lang!r} for {self.metadata.short_name}; "
                f"allowed: {', '.join(self.language_codes)}"
            )
        return lang

    def parameter_values(self, lang: str, **overrides: str) -> dict[str, str]:
        """The values of every text parameter in ``lang``, with ``overrides`` (e.g. ``group=...``)."""
        unknown = sorted(set(overrides) - set(self.parameters))
        if unknown:
            raise ValueError(
                f"unknown text parameter(s) {', '.join(unknown)}; "
                f"allowed: {', '.join(sorted(self.parameters)) or 'none'}"
            )
        values = {
            name: p.default.get(lang, next(iter(p.default.values())))
            for name, p in self.parameters.items()
        }
        values.update({k: v for k, v in overrides.items() if v is not None})
        return values

    def render(self, text: Mapping[str, str], lang: str | None = None, **params: str) -> str:
        """Text in ``lang`` with its ``{parameter}`` placeholders filled in."""
        lang = self.check_language(lang)
        template = text.get(lang) or text.get(self.default_language, "")
        values = self.parameter_values(lang, **params)
        return PARAMETER.sub(lambda m: values.get(m.group(1), m.group(0)), template)

    def item_text(
        self, item_id: str, lang: str | None = None, *, form: str | None = None, **params: str
    ) -> str:
        """Wording of one item, e.g. ``item_text("mf_st1", "nb", group="AA")``.

        With ``form`` (a wave form id) the item's wording for that form when it has one.
        """
        item = self.item(item_id)
        if form is not None:
            self.check_form(form)
            text = item.wave_text.get(form) or item.text
        else:
            text = item.text
        return self.render(text, lang, **params)

    # --- wave forms and skip logic ---------------------------------------------------------
    def check_form(self, form: str | None) -> str | None:
        """Return ``form`` if it names a wave form (or is None); else raise ``ValueError``."""
        if form is None or form in self.wave_forms:
            return form
        allowed = ", ".join(self.wave_forms) or "none (the specification declares no wave forms)"
        raise ValueError(f"form: unknown wave form {form!r}; allowed: {allowed}")

    def instructions_for(self, form: str | None) -> dict[str, str]:
        """The instructions of wave form ``form`` (the instrument's own when it has none)."""
        if form is not None and self.check_form(form) and self.wave_forms[form].instructions:
            return self.wave_forms[form].instructions
        return self.instructions

    def item_conditions(self, item_id: str) -> tuple[Condition, ...]:
        """Every condition under which ``item_id`` is shown (all must hold): its group kinds, then
        its ``relevant`` conditions. Empty for an item shown to everyone."""
        item = self.item(item_id)
        conditions = []
        if item.applies_to and self.group_kinds is not None:
            codes = tuple(self.group_kinds.kinds[k] for k in item.applies_to)
            conditions.append(Condition(self.group_kinds.question, codes))
        return tuple(conditions) + item.relevant

    def background_question(self, question_id: str) -> BackgroundQuestion:
        for question in self.background:
            if question.id == question_id:
                return question
        raise KeyError(f"no background question {question_id!r} in {self.metadata.short_name}")

    @property
    def attention_checks(self) -> tuple[BackgroundQuestion, ...]:
        return tuple(q for q in self.background if q.is_attention_check)

    # --- items and scales ---------------------------------------------------------------
    @property
    def item_ids(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items)

    @property
    def background_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.background)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(f"no item {item_id!r} in {self.metadata.short_name}")

    def scale(self, scale_id: str) -> Scale:
        for scale in self.scales:
            if scale.id == scale_id:
                return scale
        raise KeyError(
            f"no scale {scale_id!r} in {self.metadata.short_name}; "
            f"scales: {', '.join(s.id for s in self.scales)}"
        )

    def response_scale_of(self, item_id: str) -> ResponseScale:
        return self.response_scales[self.item(item_id).response_scale]

    def children(self, scale_id: str) -> tuple[Scale, ...]:
        return tuple(s for s in self.scales if s.parent == scale_id)

    def depth(self, scale_id: str) -> int:
        """0 for a root scale, 1 for its children, and so on."""
        depth, parent = 0, self.scale(scale_id).parent
        while parent is not None:
            depth, parent = depth + 1, self.scale(parent).parent
        return depth

    @property
    def leaf_scales(self) -> tuple[Scale, ...]:
        """Scales without children (facets): the ones items attach to."""
        parents = {s.parent for s in self.scales}
        return tuple(s for s in self.scales if s.id not in parents)

    @property
    def root_scales(self) -> tuple[Scale, ...]:
        return tuple(s for s in self.scales if s.parent is None)

    def scale_items(self, scale_id: str) -> tuple[str, ...]:
        """Ids of the items scored on ``scale_id``: its own items and its descendants', in item order."""
        members = {scale_id}
        changed = True
        while changed:
            extra = {s.id for s in self.scales if s.parent in members} - members
            members |= extra
            changed = bool(extra)
        return tuple(item.id for item in self.items if item.scale in members)

    def keys(self) -> pd.DataFrame:
        """Scoring key as psych's ``make.keys``: items × scales with +1, -1 or 0."""
        import pandas as pd

        data = {
            scale.id: [
                self.item(i).keyed if i in set(self.scale_items(scale.id)) else 0
                for i in self.item_ids
            ]
            for scale in self.scales
        }
        return pd.DataFrame(data, index=pd.Index(self.item_ids, name="item"), dtype="int8")

    def reverse_keyed(self) -> tuple[str, ...]:
        return tuple(item.id for item in self.items if item.keyed < 0)

    @property
    def fingerprint(self) -> str:
        """A short hash of the specification's content, written into every output."""
        blob = json.dumps(self.raw, sort_keys=True, default=str).encode()
        return hashlib.sha256(blob).hexdigest()[:16]


# --------------------------------------------------------------------------------------------
# Loading and validation
# --------------------------------------------------------------------------------------------
def load_instrument(source: str | Path | Mapping[str, Any] | None = None) -> Instrument:
    """Load and validate an instrument specification.

    Parameters
    ----------
    source : str, Path, mapping or None, default None
        A YAML file, an already-parsed mapping, the name of an embedded instrument
        (``"mhdq"``), or None for the embedded MHDQ.

    Returns
    -------
    Instrument
        The validated specification.

    Raises
    ------
    SpecError
        Listing every problem in the file (field path, bad value, what is allowed).

    Examples
    --------
    >>> mhdq = load_instrument()
    >>> mhdq.metadata.short_name
    'MHDQ'
    """
    if source is None or (isinstance(source, str) and source.lower() in EMBEDDED):
        from importlib import resources  # ~20 ms (tempfile, shutil): only for the embedded banks

        name = EMBEDDED["mhdq" if source is None else source.lower()]
        text = resources.files("instrument.banks").joinpath(name).read_text(encoding="utf-8")
        return _from_text(text, f"<embedded {name}>")
    if isinstance(source, Mapping):
        return _build(dict(source), "<mapping>")
    path = Path(source)
    if not path.is_file():
        raise SpecError(
            str(path), [SpecProblem("<file>", str(path), "file not found or not a regular file")]
        )
    if path.stat().st_size > 5_000_000:
        raise SpecError(
            str(path),
            [SpecProblem("<file>", f"{path.stat().st_size} bytes", "larger than the 5 MB allowed")],
        )
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            str(path), [SpecProblem("<file>", f"byte {exc.start}", "not UTF-8 text")]
        ) from None
    return _from_text(text, str(path))


def _from_text(text: str, source: str) -> Instrument:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "unknown position"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise SpecError(
            source, [SpecProblem("<yaml>", where, f"not valid YAML: {problem}")]
        ) from None
    if not isinstance(data, dict):
        raise SpecError(
            source, [SpecProblem("<root>", _show(data), "the file must hold a mapping of sections")]
        )
    return _build(data, source)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


#: A path into one of the specification's lists of elements with ids.
_LISTED = re.compile(r"^(?P<list>items|background|scales|response_scales)\[(?P<index>\d+)\]")


class _Checker:
    """Collects problems while reading a raw mapping; never raises until :meth:`finish`."""

    def __init__(self, source: str):
        self.source = source
        self.problems: list[SpecProblem] = []

    def add(self, path: str, value: Any, message: str) -> None:
        self.problems.append(SpecProblem(path, _show(value), message))

    def mapping(self, data: Any, path: str, *, required: bool = True) -> dict:
        if data is None and not required:
            return {}
        if not isinstance(data, dict):
            self.add(path, data, "must be a mapping")
            return {}
        return data

    def sequence(self, data: Any, path: str, *, required: bool = True) -> list:
        if data is None and not required:
            return []
        if not isinstance(data, list):
            self.add(path, data, "must be a list")
            return []
        return data

    def text(
        self, data: Mapping, key: str, path: str, *, required: bool = True, default: str = ""
    ) -> str:
        value = data.get(key)
        if value is None:
            if required:
                self.add(f"{path}.{key}" if path else key, None, "is required (a non-empty string)")
            return default
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            value = str(value)
        if not isinstance(value, str) or not value.strip():
            self.add(f"{path}.{key}" if path else key, value, "must be a non-empty string")
            return default
        return value

    def unknown_keys(self, data: Mapping, allowed: set[str], path: str) -> None:
        for key in data:
            if key not in allowed:
                self.add(
                    f"{path}.{key}" if path else str(key),
                    key,
                    f"unknown field; allowed: {', '.join(sorted(allowed))}",
                )

    def identifier(self, value: Any, path: str) -> str:
        if not isinstance(value, str) or not VARIABLE_NAME.match(value) or value.endswith("_"):
            self.add(
                path,
                value,
                "must be a variable name valid in R, SPSS, Stata and XLSForm: an ASCII "
                "letter, then letters, digits or underscores, at most 32 characters, not ending in '_'",
            )
            return str(value)
        if value.lower() in RESERVED_NAMES:
            self.add(
                path, value, "is a reserved word in R, SPSS, Stata or XLSForm; choose another name"
            )
        return value

    def translations(
        self, value: Any, path: str, languages: tuple[str, ...], *, required: bool = True
    ) -> dict[str, str]:
        if value is None and not required:
            return {}
        if isinstance(value, str) and len(languages) == 1:
            return {languages[0]: value}
        if not isinstance(value, dict):
            self.add(path, value, f"must map each language ({', '.join(languages)}) to a string")
            return {}
        out: dict[str, str] = {}
        for lang, text in value.items():
            if lang not in languages:
                self.add(
                    f"{path}.{lang}", lang, f"unknown language; declared: {', '.join(languages)}"
                )
            elif not isinstance(text, str) or not text.strip():
                self.add(f"{path}.{lang}", text, "must be a non-empty string")
            else:
                out[lang] = text
        for lang in languages:
            if lang not in value and required:
                self.add(f"{path}.{lang}", None, "missing translation")
        return out

    def finish(self, data: Any = None) -> None:
        if self.problems:
            raise SpecError(self.source, [self._named(p, data) for p in self.problems])

    @staticmethod
    def _named(problem: SpecProblem, data: Any) -> SpecProblem:
        """The problem with the item, question or scale its path points into named by its id."""
        match = _LISTED.match(problem.path)
        if match is None or not isinstance(data, dict):
            return problem
        entries = data.get(match["list"])
        index = int(match["index"])
        if not isinstance(entries, list) or index >= len(entries):
            return problem
        entry = entries[index]
        element_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(element_id, str) or not element_id.strip():
            return problem
        return SpecProblem(problem.path, problem.value, problem.message, element_id.strip()[:40])


def _build(data: dict[str, Any], source: str) -> Instrument:
    check = _Checker(source)
    check.unknown_keys(
        data,
        {
            "format",
            "metadata",
            "languages",
            "parameters",
            "response_scales",
            "items",
            "scales",
            "background",
            "instructions",
            "hypotheses",
            "order",
            "wave_forms",
            "group_kinds",
            "consent",
            "withdrawn",
        },
        "",
    )
    fmt = data.get("format", FORMAT_VERSION)
    if fmt != FORMAT_VERSION:
        check.add(
            "format",
            fmt,
            f"unsupported specification format; this MHDQ reads format {FORMAT_VERSION}",
        )

    languages = _languages(check, data.get("languages"))
    codes = tuple(lang.code for lang in languages) or ("en",)
    metadata = _metadata(check, data.get("metadata"), codes)
    parameters = _parameters(check, data.get("parameters"), codes)
    response_scales = _response_scales(check, data.get("response_scales"), codes)
    scales = _scales(check, data.get("scales"), codes)
    items = _items(check, data.get("items"), codes, response_scales, scales, parameters)
    background = _background(check, data.get("background"), codes, parameters)
    instructions = check.translations(
        data.get("instructions"), "instructions", codes, required=False
    )
    for where, value, message in hypothesis_problems(data.get("hypotheses")):
        check.add(where, value, message)  # parsed on demand: instrument.hypotheses.hypotheses_of
    order = data.get("order", "facet_grouped")
    if order not in ITEM_ORDERS:
        check.add("order", order, f"allowed: {', '.join(ITEM_ORDERS)}")
        order = "facet_grouped"
    questions = {q.id: q for q in background}
    group_kinds = _group_kinds(check, data.get("group_kinds"), questions)
    wave_forms, wave_question = _wave_forms(
        check, data.get("wave_forms"), codes, parameters, questions
    )
    items = _item_logic(check, data.get("items"), items, questions, group_kinds, wave_forms)
    for n, q in enumerate(background):
        unknown_forms = [f for f in q.forms if f not in wave_forms]
        if unknown_forms:
            check.add(
                f"background[{n}].forms",
                list(q.forms),
                f"unknown wave form(s); declared: {', '.join(wave_forms) or 'none'}",
            )
        if q.expected is not None and q.expected not in q.choice_codes():
            check.add(
                f"background[{n}].expected",
                q.expected,
                f"must be one of the question's choice codes: {list(q.choice_codes())}",
            )
    consent = _consent(check, data.get("consent"), codes, parameters)
    withdrawn = _withdrawn(check, data.get("withdrawn"))

    ids = [i.id for i in items] + [q.id for q in background]
    seen: dict[str, int] = {}
    for n, ident in enumerate(ids):
        key = ident.lower()
        if key in seen:
            where = f"items[{n}]" if n < len(items) else f"background[{n - len(items)}]"
            check.add(
                f"{where}.id",
                ident,
                "duplicate id (ids must be unique, ignoring case, across items and background)",
            )
        seen[key] = n
    for s in scales:
        if s.id.lower() in seen:
            check.add(f"scales[id={s.id}]", s.id, "a scale id may not equal an item or question id")
    for n, w in enumerate(withdrawn):
        if w.id.lower() in seen:
            check.add(f"withdrawn[{n}].id", w.id, "a withdrawn id may not be used again")
        for new in w.replaced_by:
            if new.lower() not in seen:
                check.add(f"withdrawn[{n}].replaced_by", new, "no such item or question")
    check.finish(data)
    return Instrument(
        metadata=metadata,
        languages=languages,
        parameters=parameters,
        response_scales=response_scales,
        items=tuple(items),
        scales=tuple(scales),
        background=tuple(background),
        instructions=instructions,
        source=source,
        raw=data,
        order=str(order),
        wave_forms=wave_forms,
        wave_question=wave_question,
        group_kinds=group_kinds,
        consent=consent,
        withdrawn=withdrawn,
    )


def _languages(check: _Checker, raw: Any) -> tuple[Language, ...]:
    out = []
    for n, entry in enumerate(check.sequence(raw, "languages")):
        path = f"languages[{n}]"
        entry = check.mapping(entry, path)
        if not entry:
            continue
        check.unknown_keys(entry, {"code", "name", "default", "status"}, path)
        code = check.text(entry, "code", path)
        if code and not re.match(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$", code):
            check.add(
                f"{path}.code", code, "must be an IANA language subtag such as en, nb or pt-BR"
            )
        default = entry.get("default", False)
        if not isinstance(default, bool):
            check.add(f"{path}.default", default, "must be true or false")
            default = False
        out.append(
            Language(code, check.text(entry, "name", path), default, str(entry.get("status", "")))
        )
    if raw is not None and not out:
        check.add("languages", raw, "declare at least one language")
    if raw is None:
        check.add("languages", None, "is required: a list of {code, name, default}")
    defaults = [lang for lang in out if lang.default]
    if out and len(defaults) != 1:
        check.add(
            "languages",
            [lang.code for lang in defaults],
            "exactly one language must be marked default: true",
        )
    if len({lang.code for lang in out}) != len(out):
        check.add("languages", [lang.code for lang in out], "language codes must be unique")
    return tuple(out)


def _metadata(check: _Checker, raw: Any, langs: tuple[str, ...]) -> Metadata:
    data = check.mapping(raw, "metadata")
    check.unknown_keys(
        data,
        {"name", "short_name", "version", "authors", "citation", "licence", "description"},
        "metadata",
    )
    authors = data.get("authors", [])
    if isinstance(authors, str):
        authors = [authors]
    if not isinstance(authors, list) or not all(isinstance(a, str) for a in authors):
        check.add("metadata.authors", authors, "must be a list of names")
        authors = []
    return Metadata(
        name=check.text(data, "name", "metadata"),
        short_name=check.text(data, "short_name", "metadata"),
        version=check.text(data, "version", "metadata"),
        authors=tuple(authors),
        citation=check.text(data, "citation", "metadata", required=False),
        licence=check.text(data, "licence", "metadata", required=False),
        description=check.translations(
            data.get("description"), "metadata.description", langs, required=False
        ),
    )


def _parameters(check: _Checker, raw: Any, langs: tuple[str, ...]) -> dict[str, Parameter]:
    out = {}
    for name, entry in check.mapping(raw, "parameters", required=False).items():
        path = f"parameters.{name}"
        if not isinstance(name, str) or not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
            check.add(path, name, "parameter names are identifiers such as group")
            continue
        entry = check.mapping(entry, path)
        check.unknown_keys(entry, {"default", "description"}, path)
        out[name] = Parameter(
            name,
            check.translations(entry.get("default"), f"{path}.default", langs),
            str(entry.get("description", "")),
        )
    return out


def _int_list(check: _Checker, value: Any, path: str) -> tuple[int, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(
        isinstance(v, int) and not isinstance(v, bool) for v in value
    ):
        check.add(path, value, "must be a list of integers")
        return ()
    return tuple(value)


def _response_scales(check: _Checker, raw: Any, langs: tuple[str, ...]) -> dict[str, ResponseScale]:
    out = {}
    for scale_id, entry in check.mapping(raw, "response_scales").items():
        path = f"response_scales.{scale_id}"
        entry = check.mapping(entry, path)
        check.unknown_keys(
            entry, {"points", "codes", "labels", "not_applicable", "missing_codes"}, path
        )
        points = entry.get("points")
        codes = _int_list(check, entry.get("codes"), f"{path}.codes")
        if not isinstance(points, int) or isinstance(points, bool) or not 2 <= points <= 11:
            check.add(f"{path}.points", points, "must be an integer from 2 to 11")
            points = len(codes)
        if not codes and points:
            codes = tuple(range(1, points + 1))
        if len(codes) != points:
            check.add(f"{path}.codes", list(codes), f"must list exactly {points} codes (points)")
        if codes and list(codes) != sorted(set(codes)):
            check.add(f"{path}.codes", list(codes), "must be distinct integers in increasing order")
        labels: dict[str, tuple[str, ...]] = {}
        raw_labels = check.mapping(entry.get("labels"), f"{path}.labels")
        for lang, values in raw_labels.items():
            if lang not in langs:
                check.add(
                    f"{path}.labels.{lang}", lang, f"unknown language; declared: {', '.join(langs)}"
                )
            elif (
                not isinstance(values, list)
                or len(values) != len(codes)
                or not all(isinstance(v, str) and v.strip() for v in values)
            ):
                check.add(
                    f"{path}.labels.{lang}",
                    values,
                    f"must be a list of {len(codes)} non-empty labels, one per code",
                )
            else:
                labels[lang] = tuple(values)
        for lang in langs:
            if raw_labels and lang not in raw_labels:
                check.add(f"{path}.labels.{lang}", None, "missing translation")
        na_code, na_label = None, {}
        if entry.get("not_applicable") is not None:
            na = check.mapping(entry["not_applicable"], f"{path}.not_applicable")
            check.unknown_keys(na, {"code", "label"}, f"{path}.not_applicable")
            na_code = na.get("code")
            if not isinstance(na_code, int) or isinstance(na_code, bool):
                check.add(
                    f"{path}.not_applicable.code",
                    na_code,
                    "must be an integer outside the scale's codes",
                )
                na_code = None
            na_label = check.translations(na.get("label"), f"{path}.not_applicable.label", langs)
        missing = _int_list(check, entry.get("missing_codes"), f"{path}.missing_codes")
        specials = ([na_code] if na_code is not None else []) + list(missing)
        for code in specials:
            if code in codes:
                check.add(
                    path, code, "not-applicable and missing codes must differ from the answer codes"
                )
        if len(specials) != len(set(specials)):
            check.add(
                f"{path}.missing_codes",
                specials,
                "not-applicable and missing codes must all differ",
            )
        out[str(scale_id)] = ResponseScale(str(scale_id), codes, labels, na_code, na_label, missing)
    if not out:
        check.add("response_scales", raw, "declare at least one response scale")
    return out


def _scales(check: _Checker, raw: Any, langs: tuple[str, ...]) -> list[Scale]:
    out: list[Scale] = []
    for n, entry in enumerate(check.sequence(raw, "scales")):
        path = f"scales[{n}]"
        entry = check.mapping(entry, path)
        if not entry:
            continue
        check.unknown_keys(entry, {"id", "label", "parent", "scoring", "definition", "level"}, path)
        scale_id = check.identifier(entry.get("id"), f"{path}.id")
        scoring_raw = check.mapping(entry.get("scoring"), f"{path}.scoring", required=False)
        check.unknown_keys(
            scoring_raw, {"method", "min_answered", "not_applicable"}, f"{path}.scoring"
        )
        method = scoring_raw.get("method", "mean")
        if method not in SCORING_METHODS:
            check.add(f"{path}.scoring.method", method, f"allowed: {', '.join(SCORING_METHODS)}")
        share = scoring_raw.get("min_answered", 0.5)
        if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 < share <= 1:
            check.add(
                f"{path}.scoring.min_answered",
                share,
                "must be a share of the items, greater than 0 and at most 1",
            )
            share = 0.5
        na_rule = scoring_raw.get("not_applicable", "exclude")
        if na_rule not in NA_RULES:
            check.add(f"{path}.scoring.not_applicable", na_rule, f"allowed: {', '.join(NA_RULES)}")
        parent = entry.get("parent")
        if parent is not None and not isinstance(parent, str):
            check.add(f"{path}.parent", parent, "must be the id of another scale")
            parent = None
        out.append(
            Scale(
                id=scale_id,
                label=check.translations(entry.get("label"), f"{path}.label", langs),
                parent=parent,
                scoring=ScoringRule(str(method), float(share), str(na_rule)),
                definition=check.translations(
                    entry.get("definition"), f"{path}.definition", langs, required=False
                ),
                level=str(entry.get("level", "")),
            )
        )
    ids = [s.id for s in out]
    for n, s in enumerate(out):
        if ids.count(s.id) > 1 and ids.index(s.id) != n:
            check.add(f"scales[{n}].id", s.id, "duplicate scale id")
        if s.parent is not None and s.parent not in ids:
            check.add(f"scales[{n}].parent", s.parent, f"no such scale; scales: {', '.join(ids)}")
    parents = {s.id: s.parent for s in out}
    for n, s in enumerate(out):
        seen, node = {s.id}, s.parent
        while node is not None and node in parents:
            if node in seen:
                check.add(f"scales[{n}].parent", s.parent, "the scale hierarchy has a cycle")
                break
            seen.add(node)
            node = parents[node]
    if raw is not None and not out:
        check.add("scales", raw, "declare at least one scale")
    return out


def _check_placeholders(
    check: _Checker, texts: Mapping[str, str], path: str, parameters: Mapping[str, Parameter]
) -> None:
    for lang, text in texts.items():
        for name in PARAMETER.findall(text):
            if name not in parameters:
                check.add(
                    f"{path}.{lang}",
                    "{" + name + "}",
                    f"unknown parameter; declared: {', '.join(parameters) or 'none'}",
                )


def _items(check, raw, langs, response_scales, scales, parameters) -> list[Item]:
    out = []
    parent_ids = {s.parent for s in scales}
    leaf_ids = {s.id for s in scales} - parent_ids
    for n, entry in enumerate(check.sequence(raw, "items")):
        path = f"items[{n}]"
        entry = check.mapping(entry, path)
        if not entry:
            continue
        check.unknown_keys(
            entry,
            {
                "id",
                "text",
                "scale",
                "keyed",
                "response_scale",
                "source",
                "applies_to",
                "relevant",
                "wave_text",
                "addition",
            },
            path,
        )
        item_id = check.identifier(entry.get("id"), f"{path}.id")
        text = check.translations(entry.get("text"), f"{path}.text", langs)
        _check_placeholders(check, text, f"{path}.text", parameters)
        scale = entry.get("scale")
        if scale not in leaf_ids:
            allowed = ", ".join(sorted(leaf_ids)) or "none declared"
            check.add(
                f"{path}.scale",
                scale,
                f"must be the id of a scale without sub-scales; allowed: {allowed}",
            )
        keyed_raw = entry.get("keyed", "+")
        keyed = (
            {"+": 1, "-": -1, 1: 1, -1: -1}.get(keyed_raw)
            if not isinstance(keyed_raw, bool)
            else None
        )
        if keyed is None:
            check.add(
                f"{path}.keyed", keyed_raw, "allowed: '+' (positively keyed) or '-' (reverse keyed)"
            )
            keyed = 1
        rs = entry.get("response_scale")
        if rs is None and len(response_scales) == 1:
            rs = next(iter(response_scales))
        if rs not in response_scales:
            check.add(
                f"{path}.response_scale",
                rs,
                f"allowed: {', '.join(response_scales) or 'none declared'}",
            )
        source = entry.get("source") or {}
        if not isinstance(source, dict):
            check.add(f"{path}.source", source, "must be a mapping (code, theme, passage, ...)")
            source = {}
        out.append(Item(item_id, text, str(scale), keyed, str(rs), source))
    if raw is not None and not out:
        check.add("items", raw, "declare at least one item")
    used = {i.scale for i in out}
    for s in scales:
        if s.id in leaf_ids and s.id not in used:
            check.add(
                f"scales[id={s.id}]", s.id, "a scale without sub-scales must have at least one item"
            )
    return out


def _background(check, raw, langs, parameters) -> list[BackgroundQuestion]:  # noqa: C901 - one check per field
    out: list[BackgroundQuestion] = []
    entries = check.sequence(raw, "background", required=False)
    for n, entry in enumerate(entries):
        path = f"background[{n}]"
        entry = check.mapping(entry, path)
        if not entry:
            continue
        check.unknown_keys(
            entry,
            {
                "id",
                "type",
                "label",
                "sensitive",
                "required",
                "choices",
                "range",
                "relevant",
                "hint",
                "section",
                "placement",
                "forms",
                "expected",
                "resembles",
            },
            path,
        )
        qid = check.identifier(entry.get("id"), f"{path}.id")
        qtype = entry.get("type")
        if qtype not in QUESTION_TYPES:
            check.add(f"{path}.type", qtype, f"allowed: {', '.join(QUESTION_TYPES)}")
        label = check.translations(entry.get("label"), f"{path}.label", langs)
        _check_placeholders(check, label, f"{path}.label", parameters)
        flags = {}
        for flag in ("sensitive", "required"):
            value = entry.get(flag, False)
            if not isinstance(value, bool):
                check.add(f"{path}.{flag}", value, "must be true or false")
                value = False
            flags[flag] = value
        choices = []
        if qtype in ("single_choice", "multiple_choice"):
            raw_choices = check.sequence(entry.get("choices"), f"{path}.choices")
            for m, choice in enumerate(raw_choices):
                cpath = f"{path}.choices[{m}]"
                choice = check.mapping(choice, cpath)
                code = choice.get("code")
                if not isinstance(code, int) or isinstance(code, bool):
                    check.add(f"{cpath}.code", code, "must be an integer")
                    continue
                clabel = check.translations(choice.get("label"), f"{cpath}.label", langs)
                _check_placeholders(check, clabel, f"{cpath}.label", parameters)
                choices.append(Choice(code, clabel))
            codes = [c.code for c in choices]
            if len(codes) != len(set(codes)):
                check.add(f"{path}.choices", codes, "choice codes must be unique")
            if raw_choices == [] and entry.get("choices") is not None:
                check.add(f"{path}.choices", [], "a choice question needs at least one choice")
        elif entry.get("choices") is not None:
            check.add(
                f"{path}.choices",
                entry.get("choices"),
                "only single_choice and multiple_choice questions have choices",
            )
        minimum = maximum = None
        if entry.get("range") is not None:
            rng = entry["range"]
            if qtype not in ("integer", "year_month", "date") or not (
                isinstance(rng, list)
                and len(rng) == 2
                and all(isinstance(v, int) and not isinstance(v, bool) for v in rng)
                and rng[0] <= rng[1]
            ):
                check.add(
                    f"{path}.range",
                    rng,
                    "an integer question may have range: [min, max] with min <= max",
                )
            else:
                minimum, maximum = rng
        relevant = None
        if entry.get("relevant") is not None:
            rel = check.mapping(entry["relevant"], f"{path}.relevant")
            target = rel.get("question")
            values = rel.get("values", rel.get("equals"))
            if isinstance(values, int):
                values = [values]
            earlier = {q.id: q for q in out}
            if target not in earlier:
                check.add(
                    f"{path}.relevant.question", target, "must name an earlier background question"
                )
            elif (
                not values
                or not all(isinstance(v, int) for v in values)
                or not set(values) <= set(earlier[target].choice_codes())
            ):
                check.add(
                    f"{path}.relevant.values",
                    values,
                    f"must list codes of {target}: {list(earlier[target].choice_codes())}",
                )
            else:
                relevant = Condition(target, tuple(values))
        hint = check.translations(entry.get("hint"), f"{path}.hint", langs, required=False)
        placement = entry.get("placement", "after_items")
        if placement not in PLACEMENTS:
            check.add(f"{path}.placement", placement, f"allowed: {', '.join(PLACEMENTS)}")
            placement = "after_items"
        forms = entry.get("forms") or []
        if not isinstance(forms, list) or not all(isinstance(f, str) for f in forms):
            check.add(f"{path}.forms", forms, "must be a list of wave form ids")
            forms = []
        expected = entry.get("expected")
        if expected is not None and (
            qtype != "single_choice" or not isinstance(expected, int) or isinstance(expected, bool)
        ):
            check.add(
                f"{path}.expected",
                expected,
                "an attention check is a single_choice question with the expected choice code",
            )
            expected = None
        out.append(
            BackgroundQuestion(
                id=qid,
                type=str(qtype),
                label=label,
                sensitive=flags["sensitive"],
                required=flags["required"],
                choices=tuple(choices),
                minimum=minimum,
                maximum=maximum,
                relevant=relevant,
                hint=hint,
                section=str(entry.get("section", "")),
                placement=str(placement),
                forms=tuple(forms),
                expected=expected,
                resembles=str(entry.get("resembles", "")),
            )
        )
    return out


def _condition(
    check: _Checker, raw: Any, path: str, questions: Mapping[str, BackgroundQuestion]
) -> Condition | None:
    rel = check.mapping(raw, path)
    check.unknown_keys(rel, {"question", "values", "equals"}, path)
    target = str(rel.get("question"))
    values = rel.get("values", rel.get("equals"))
    if isinstance(values, int):
        values = [values]
    if target not in questions or questions[target].type not in (
        "single_choice",
        "multiple_choice",
    ):
        check.add(
            f"{path}.question", target, "must name a single- or multiple-choice background question"
        )
        return None
    codes = questions[target].choice_codes()
    if not values or not all(isinstance(v, int) for v in values) or not set(values) <= set(codes):
        check.add(f"{path}.values", values, f"must list codes of {target}: {list(codes)}")
        return None
    if questions[target].placement != "before_items":
        check.add(
            f"{path}.question",
            target,
            "a question that decides whether items are shown must have placement: before_items",
        )
    return Condition(str(target), tuple(values))


def _item_logic(
    check: _Checker,
    raw: Any,
    items: list[Item],
    questions: Mapping[str, BackgroundQuestion],
    group_kinds: GroupKinds | None,
    wave_forms: Mapping[str, WaveForm],
) -> list[Item]:
    """Add the skip logic, wave wording and addition notes to the parsed items."""
    if not isinstance(raw, list):
        return items
    entries = [e for e in raw if isinstance(e, dict) and e]
    out = []
    for n, (item, entry) in enumerate(zip(items, entries, strict=False)):
        path = f"items[{n}]"
        applies = entry.get("applies_to") or []
        if not isinstance(applies, list) or not all(isinstance(k, str) for k in applies):
            check.add(f"{path}.applies_to", applies, "must be a list of group kinds")
            applies = []
        if applies and group_kinds is None:
            check.add(f"{path}.applies_to", applies, "declare group_kinds to use applies_to")
            applies = []
        elif group_kinds is not None:
            unknown = [k for k in applies if k not in group_kinds.kinds]
            if unknown:
                check.add(
                    f"{path}.applies_to",
                    unknown,
                    f"unknown group kind(s); allowed: {', '.join(group_kinds.kinds)}",
                )
                applies = []
        rel = entry.get("relevant")
        raw_conditions = [] if rel is None else (rel if isinstance(rel, list) else [rel])
        conditions = []
        for m, cond in enumerate(raw_conditions):
            where = f"{path}.relevant" if not isinstance(rel, list) else f"{path}.relevant[{m}]"
            parsed = _condition(check, cond, where, questions)
            if parsed is not None:
                conditions.append(parsed)
        wave_text: dict[str, dict[str, str]] = {}
        for form, text in check.mapping(
            entry.get("wave_text"), f"{path}.wave_text", required=False
        ).items():
            if form not in wave_forms:
                check.add(
                    f"{path}.wave_text.{form}",
                    form,
                    f"unknown wave form; declared: {', '.join(wave_forms) or 'none'}",
                )
                continue
            wave_text[str(form)] = check.translations(
                text, f"{path}.wave_text.{form}", tuple(item.text)
            )
        addition = entry.get("addition", "")
        if not isinstance(addition, str):
            check.add(f"{path}.addition", addition, "must be text saying why the item was added")
            addition = ""
        out.append(
            Item(
                item.id,
                item.text,
                item.scale,
                item.keyed,
                item.response_scale,
                item.source,
                tuple(applies),
                tuple(conditions),
                wave_text,
                addition,
            )
        )
    return out


def _group_kinds(
    check: _Checker, raw: Any, questions: Mapping[str, BackgroundQuestion]
) -> GroupKinds | None:
    if raw is None:
        return None
    data = check.mapping(raw, "group_kinds")
    check.unknown_keys(data, {"question", "kinds"}, "group_kinds")
    question = str(data.get("question"))
    kinds = check.mapping(data.get("kinds"), "group_kinds.kinds")
    if question not in questions or questions[question].type != "single_choice":
        check.add("group_kinds.question", question, "must name a single_choice background question")
        return None
    codes = set(questions[question].choice_codes())
    clean: dict[str, int] = {}
    for kind, code in kinds.items():
        if not isinstance(kind, str) or not re.match(r"^[a-z][a-z0-9_]*$", kind):
            check.add(f"group_kinds.kinds.{kind}", kind, "kinds are lower-case identifiers")
        elif code not in codes:
            check.add(
                f"group_kinds.kinds.{kind}",
                code,
                f"must be a choice code of {question}: {sorted(codes)}",
            )
        else:
            clean[kind] = int(code)
    if questions[question].placement != "before_items":
        check.add("group_kinds.question", question, "must have placement: before_items")
    return GroupKinds(str(question), clean)


def _wave_forms(
    check: _Checker,
    raw: Any,
    langs: tuple[str, ...],
    parameters: Mapping[str, Parameter],
    questions: Mapping[str, BackgroundQuestion],
) -> tuple[dict[str, WaveForm], str | None]:
    if raw is None:
        return {}, None
    data = check.mapping(raw, "wave_forms")
    check.unknown_keys(data, {"question", "forms"}, "wave_forms")
    named = str(data.get("question"))
    question: str | None = named
    if named not in questions or questions[named].type != "single_choice":
        check.add(
            "wave_forms.question",
            named,
            "must name the single_choice background question that records the form answered",
        )
        question = None
    out: dict[str, WaveForm] = {}
    for form_id, entry in check.mapping(data.get("forms"), "wave_forms.forms").items():
        path = f"wave_forms.forms.{form_id}"
        entry = check.mapping(entry, path)
        check.unknown_keys(entry, {"code", "label", "instructions", "stem", "recall"}, path)
        if not isinstance(form_id, str) or not re.match(r"^[a-z][a-z0-9_]*$", form_id):
            check.add(path, form_id, "wave form ids are lower-case identifiers such as followup")
            continue
        code = entry.get("code")
        if question is not None and code not in questions[question].choice_codes():
            check.add(
                f"{path}.code",
                code,
                f"must be a choice code of {question}: {list(questions[question].choice_codes())}",
            )
        instructions = check.translations(
            entry.get("instructions"), f"{path}.instructions", langs, required=False
        )
        _check_placeholders(check, instructions, f"{path}.instructions", parameters)
        stem = check.translations(entry.get("stem"), f"{path}.stem", langs, required=False)
        _check_placeholders(check, stem, f"{path}.stem", parameters)
        recall = entry.get("recall", False)
        if not isinstance(recall, bool):
            check.add(f"{path}.recall", recall, "must be true or false")
            recall = False
        if recall and "recall" not in parameters:
            check.add(
                f"{path}.recall", recall, "declare a {recall} parameter for the recall period"
            )
        out[form_id] = WaveForm(
            form_id,
            int(code) if isinstance(code, int) else 0,
            check.translations(entry.get("label"), f"{path}.label", langs),
            instructions,
            stem,
            recall,
        )
    return out, question


def _consent(
    check: _Checker, raw: Any, langs: tuple[str, ...], parameters: Mapping[str, Parameter]
) -> dict[str, dict[str, str]]:
    data = check.mapping(raw, "consent", required=False)
    check.unknown_keys(data, {"start", "end"}, "consent")
    out = {}
    for where in ("start", "end"):
        if where in data:
            out[where] = check.translations(data[where], f"consent.{where}", langs)
            _check_placeholders(check, out[where], f"consent.{where}", parameters)
    return out


def _withdrawn(check: _Checker, raw: Any) -> tuple[Withdrawn, ...]:
    out = []
    for n, entry in enumerate(check.sequence(raw, "withdrawn", required=False)):
        path = f"withdrawn[{n}]"
        entry = check.mapping(entry, path)
        check.unknown_keys(entry, {"id", "reason", "replaced_by", "version"}, path)
        ident = check.identifier(entry.get("id"), f"{path}.id")
        reason = check.text(entry, "reason", path)
        replaced = entry.get("replaced_by") or []
        if isinstance(replaced, str):
            replaced = [replaced]
        if not isinstance(replaced, list) or not all(isinstance(r, str) for r in replaced):
            check.add(f"{path}.replaced_by", replaced, "must be a list of item ids")
            replaced = []
        out.append(Withdrawn(ident, reason, tuple(replaced), str(entry.get("version", ""))))
    return tuple(out)
