"""Matching a file's columns to an instrument and building the :class:`ResponseTable`.

Column matching, in order, for every header name (after the user's ``rename`` map):

1. identifying columns (IP address, recipient e-mail, phone ids) are dropped, with an info problem;
2. the platform's own metadata columns (Kobo ``_uuid``, Qualtrics ``Duration (in seconds)``,
   REDCap ``redcap_event_name``, ...) go to ``meta``; the respondent id column is recognised;
3. item and background ids, compared case-insensitively;
4. the last part of a group path (Kobo ``grp/q``, ODK Central ``grp-q``);
5. multiple-choice option columns: ``q_code``, ``q/code`` or ``q/label`` (Kobo), ``q___code`` (REDCap
   raw) or ``Question label (choice=Choice label)`` (REDCap labels);
6. question text in any of the instrument's languages (Kobo and Qualtrics label headers).

Everything else is an ``unknown_column`` and is left out. Values are kept raw (float64 when
every cell is a number, object otherwise), except that answer labels in any language are
mapped to their codes (label-mode exports) and the user's ``recode`` map is applied.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from instrument.errors import DataError
from instrument.problems import Problem, shorten
from instrument.readers import kobo, qualtrics, redcap
from instrument.readers.raw import RawTable, as_series, as_values, blank_mask
from instrument.responses import ResponseTable

_NUMBER = re.compile(
    r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$|^[+-]?(?:inf|infinity)$", re.IGNORECASE
)
_SPLIT = re.compile(r"[\s,;]+")
_TRUE = {"1", "1.0", "true", "yes", "y", "x", "checked"}
_FALSE = {"0", "0.0", "false", "no", "n", "unchecked"}
#: Generic names of a respondent-id column.
RESPONDENT_ID_NAMES = ("respondent_id",)
#: Identifying columns dropped from every source (label-mode spellings included).
IDENTIFYING_ANYWHERE = {"ipaddress", "ip_address", "ip address"}
#: Recode key meaning "every item without its own entry".
ALL_ITEMS = "*"
#: The marker column of simulated data (``mhdq simulate``): read into ``meta``, carried into scores.
SYNTHETIC_COLUMN = "synthetic"
#: Rule of the info problem recorded for each row skipped because it holds nothing but an id.
EMPTY_ROW_RULE = "empty_row_skipped"
#: Rule of the record counting answers typed as answer labels and read as their codes.
LABEL_CODED_RULE = "answer_label_coded"
_LABEL_CODED = re.compile(r"^[\d,]+ answer\(s\) typed as answer labels .* their codes: (.*)$")
_COLUMN_COUNT = re.compile(r"(\S+) \(([\d,]+)\)")


def label_coded_message(counts: dict[str, int]) -> str:
    """The ``answer_label_coded`` message: the total, then every column with its count, most
    first (then by name), so that counts of the chunks of a file merge into the very message
    of the whole file (:func:`label_coded_counts`).

    Examples
    --------
    >>> label_coded_message({"b2": 1, "a1": 3, "a3": 1})
    "5 answer(s) typed as answer labels (such as 'agree') were read as their codes: a1 (3), a3 (1), b2 (1)"
    >>> label_coded_counts(label_coded_message({"b2": 1, "a1": 1_200}))
    {'a1': 1200, 'b2': 1}
    """
    shown = ", ".join(
        f"{k} ({v:,})" for k, v in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    )
    return (
        f"{sum(counts.values()):,} answer(s) typed as answer labels (such as 'agree') were read "
        f"as their codes: {shown}"
    )


def label_coded_counts(message: str) -> dict[str, int] | None:
    """The column counts of a :func:`label_coded_message` (None if it is not one)."""
    match = _LABEL_CODED.match(message)
    if match is None:
        return None
    return {k: int(v.replace(",", "")) for k, v in _COLUMN_COUNT.findall(match.group(1))}


def normalise(text: Any) -> str:
    """Text compared case- and spacing-insensitively.

    Examples
    --------
    >>> normalise("  Strongly   Agree ")
    'strongly agree'
    """
    return " ".join(str(text).split()).casefold()


# ------------------------------------------------------------------------------------------
# The plan: what each column is
# ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Role:
    """What one column of the file holds."""

    kind: str  # item, background, choice, choice_summary, respondent_id, meta, drop, unknown
    target: str = ""
    code: int | None = None


@dataclass
class Plan:
    """Roles of every column, and the file-level problems found from the header alone."""

    roles: list[Role]
    problems: list[Problem] = field(default_factory=list)

    def columns(self, kind: str) -> list[int]:
        return [i for i, r in enumerate(self.roles) if r.kind == kind]


class Matcher:
    """Matches headers to an instrument and converts values; built once, reused for every chunk."""

    def __init__(
        self,
        instrument,
        *,
        platform: str,
        rename: Mapping[str, str] | None = None,
        recode: Mapping[str, Mapping[Any, int]] | None = None,
    ):
        self.instrument = instrument
        self.platform = platform
        self.items = {i.casefold(): i for i in instrument.item_ids}
        self.background = {q.id.casefold(): q for q in instrument.background}
        self.multiple = {
            q.id.casefold(): q for q in instrument.background if q.type == "multiple_choice"
        }
        self.rename = _check_rename(rename, instrument)
        self.recode = _check_recode(recode, instrument)
        self.item_labels = {
            item.id: _scale_labels(instrument.response_scales[item.response_scale])
            for item in instrument.items
        }
        self.choice_labels = {q.id: _choice_labels(q) for q in instrument.background if q.choices}
        self.texts = _TextIndex(instrument)

    # --- header -------------------------------------------------------------------------
    def plan(
        self, names: list[str], source: str, *, value_labels: Mapping[str, Mapping] | None = None
    ) -> Plan:
        roles: list[Role] = []
        problems: list[Problem] = []
        taken: dict[tuple, str] = {}
        renamed_keys: set[str] = set()
        for name in names:
            target = self._renamed(name, renamed_keys)
            role = self._role(target, len(roles) == 0 and target == name)
            key = (
                (role.kind, role.target, role.code)
                if role.kind in ("item", "background", "choice", "choice_summary", "respondent_id")
                else None
            )
            if key is not None and key in taken:
                problems.append(
                    Problem(
                        source,
                        None,
                        name,
                        None,
                        "duplicate_column",
                        "error",
                        f"column {name!r} is a second column for {_describe(role)} (first: "
                        f"{taken[key]!r}); only the first is read",
                    )
                )
                role = Role("drop", name)
            elif key is not None:
                taken[key] = name
            roles.append(role)
        plan = Plan(roles, problems)
        found_items = {r.target for r in roles if r.kind == "item"}
        if not found_items:
            expected = ", ".join(self.instrument.item_ids[:4])
            shown = ", ".join(repr(shorten(n, 30)) for n in names[:6]) or "none"
            raise DataError(
                f"{source}: no column matches an item of {self.instrument.metadata.short_name} (expected "
                f"ids such as {expected}; the file has {shown}{', ...' if len(names) > 6 else ''}). Name the "
                "columns by item id, or pass rename={file column: item id}"
            )
        missing = [i for i in self.instrument.item_ids if i not in found_items]
        for item_id in missing:
            problems.append(
                Problem(
                    source,
                    None,
                    item_id,
                    None,
                    "missing_item_column",
                    "warning",
                    f"no column for item {item_id}; its answers count as missing",
                )
            )
        severity = "warning" if missing else "info"
        for name, role in zip(names, roles, strict=True):
            if role.kind == "unknown":
                hint = " (if it holds an item, map it with rename=)" if missing else ""
                label = repr(shorten(name, 40)) if name else "(a column without a name)"
                problems.append(
                    Problem(
                        source,
                        None,
                        name or None,
                        None,
                        "unknown_column",
                        severity,
                        f"column {label} is not part of the instrument and is not read{hint}",
                    )
                )
            elif role.kind == "drop" and role.code == -1:
                problems.append(
                    Problem(
                        source,
                        None,
                        name,
                        None,
                        "identifying_column_dropped",
                        "info",
                        f"column {name!r} identifies a person or device and is not read",
                    )
                )
        for unused in self.rename:
            if unused not in renamed_keys:
                problems.append(
                    Problem(
                        source,
                        None,
                        unused,
                        None,
                        "rename_unused",
                        "warning",
                        f"rename= names column {unused!r}, which the file does not have",
                    )
                )
        if value_labels:
            problems.extend(self._compare_value_labels(value_labels, names, roles, source))
        return plan

    def _renamed(self, name: str, used: set[str]) -> str:
        if name in self.rename:
            used.add(name)
            return self.rename[name]
        folded = name.casefold()
        for key, value in self.rename.items():
            if key.casefold() == folded:
                used.add(key)
                return value
        return name

    def _role(self, name: str, first: bool) -> Role:
        """What a column is: item, background, choice, metadata, ID, dropped or unknown."""
        stripped = name.strip()
        folded = stripped.casefold()
        role = self._platform_role(stripped, folded, first)
        if role is not None:
            return role
        role = self._by_id(folded)
        if role is not None:
            return role
        role = self._compound_role(stripped)
        if role is not None:
            return role
        text = self.texts.lookup(stripped)
        if text is None and "/" in stripped:
            text = self.texts.lookup(stripped.rsplit("/", 1)[-1])
        if text is not None:
            return text
        if folded == SYNTHETIC_COLUMN:
            return Role("meta", SYNTHETIC_COLUMN)
        return Role("unknown", stripped)

    def _platform_role(self, stripped: str, folded: str, first: bool) -> Role | None:
        """Identifying, respondent-ID and platform metadata columns (None: none of these)."""
        platform = self.platform
        if (
            folded in IDENTIFYING_ANYWHERE
            or (platform == "qualtrics" and stripped in qualtrics.IDENTIFYING)
            or (platform == "kobo" and folded in kobo.IDENTIFYING)
        ):
            return Role("drop", stripped, -1)
        if folded in RESPONDENT_ID_NAMES:
            return Role("respondent_id", stripped)
        if platform == "kobo":
            if stripped == kobo.ID_COLUMN:
                return Role("respondent_id", stripped)
            if stripped in kobo.META:
                return Role("meta", stripped)
        elif platform == "qualtrics":
            if stripped == qualtrics.ID_COLUMN:
                return Role("respondent_id", stripped)
            if qualtrics.is_meta(stripped):
                return Role("meta", stripped)
        elif platform == "redcap":
            if first:
                return Role("respondent_id", stripped)
            if redcap.is_meta(stripped):
                return Role("meta", stripped)
        return None

    def _compound_role(self, stripped: str) -> Role | None:
        """Columns named by a path (``group/item``, ``q-code``) or as a REDCap checkbox."""
        for separator in ("/", "-"):
            if separator in stripped:
                parts = [p for p in stripped.split(separator) if p]
                if not parts:
                    continue
                role = self._by_id(parts[-1].casefold())
                if role is not None and role.kind != "choice":
                    return role
                if len(parts) >= 2:
                    choice = self._choice(parts[-2], parts[-1])
                    if choice is not None:
                        return choice
        match = redcap.CHECKBOX.match(stripped)
        if match:
            choice = self._choice(match.group("question"), match.group("code"))
            if choice is not None:
                return choice
        labelled = redcap.CHECKBOX_LABEL.match(stripped)
        if labelled:
            choice = self._choice(labelled.group("question"), labelled.group("choice"))
            if choice is not None:
                return choice
        return None

    def _by_id(self, folded: str) -> Role | None:
        if folded in self.items:
            return Role("item", self.items[folded])
        if folded in self.multiple:
            return Role("choice_summary", self.multiple[folded].id)
        if folded in self.background:
            return Role("background", self.background[folded].id)
        head, _, tail = folded.rpartition("_")
        if head in self.multiple:
            return self._choice(head, tail)
        return None

    def _choice(self, question: str, code: str) -> Role | None:
        q = self.multiple.get(question.strip().casefold())
        if q is None:
            by_text = self.texts.lookup(question)
            if by_text is None or by_text.kind != "choice_summary":
                return None
            q = self.multiple[by_text.target.casefold()]
        value = self.choice_labels[q.id].get(normalise(code))
        return Role("choice", q.id, value) if value is not None else None

    def _compare_value_labels(self, value_labels, names, roles, source) -> list[Problem]:
        out = []
        for name, role in zip(names, roles, strict=True):
            if role.kind != "item" or name not in value_labels:
                continue
            known = self.item_labels[role.target]
            wrong = [
                code
                for code, label in value_labels[name].items()
                if known.get(normalise(label)) not in (None, code)
            ]
            if wrong:
                out.append(
                    Problem(
                        source,
                        None,
                        name,
                        None,
                        "value_labels_differ",
                        "warning",
                        f"the file's value labels for {name} put answer labels on other codes than "
                        f"the instrument does (codes {', '.join(map(str, sorted(wrong)))}): the "
                        "item may be coded in reverse; check, and use recode= if so",
                    )
                )
        return out

    # --- values -------------------------------------------------------------------------
    def build(
        self,
        raw: RawTable,
        plan: Plan,
        source: str,
        *,
        platform: str,
        spec_version: str | None,
        include_file_problems: bool,
        extra_problems: list[Problem] | None = None,
        index_start: int = 0,
    ) -> ResponseTable:
        """Convert a :class:`RawTable` by ``plan`` into a :class:`ResponseTable`."""
        problems: list[Problem] = list(raw.problems)
        if include_file_problems:
            problems = list(extra_problems or []) + list(plan.problems) + problems
        keep = self._non_empty_rows(raw, plan)
        if keep is not None:
            # One record per row, so any split of a file into chunks reports exactly the same.
            for row in raw.source_rows[~keep]:
                problems.append(
                    Problem(
                        source,
                        int(row),
                        None,
                        None,
                        EMPTY_ROW_RULE,
                        "info",
                        "the row is empty (no respondent id, no answers): not a respondent, "
                        "skipped",
                    )
                )
            raw = RawTable(
                raw.names,
                [_take(c, keep) for c in raw.columns],
                raw.source_rows[keep],
                raw.problems,
                raw.platform,
                raw.spec_version,
                raw.declared,
                raw.value_labels,
            )
        n = len(raw)
        index = pd.RangeIndex(index_start, index_start + n)
        items = self._items(raw, plan, index, source, problems)
        background = self._background(raw, plan, index, source, problems)
        meta = self._meta(raw, plan, index, source, platform)
        value_labels = {
            role.target: raw.value_labels[name]
            for name, role in zip(raw.names, plan.roles, strict=True)
            if role.kind == "item" and name in raw.value_labels
        }
        return ResponseTable(
            items=items,
            background=background,
            meta=meta,
            problems=problems,
            platform=platform,
            source=source,
            spec_version=spec_version,
            value_labels=value_labels,
        )

    def _non_empty_rows(self, raw: RawTable, plan: Plan) -> np.ndarray | None:
        """Mask of rows to keep, or None when every row has a value somewhere."""
        n = len(raw)
        if n == 0:
            return None
        # Every column counts, the respondent id included: a row with an id but no answers is a
        # respondent who answered nothing (rejected later as no_answers, with a record), while a
        # row with nothing at all (such as the prepared but unused rows of a workbook) is not a row.
        order = sorted(
            range(len(plan.roles)),
            key=lambda i: (
                0
                if isinstance(raw.columns[i], np.ndarray) and raw.columns[i].dtype.kind == "f"
                else 1
            ),
        )
        candidates = np.arange(n)
        for i in order:
            column = raw.columns[i]
            blank = blank_mask(_take(column, candidates) if len(candidates) < n else column)
            candidates = candidates[blank]
            if not len(candidates):
                return None
        keep = np.ones(n, dtype=bool)
        keep[candidates] = False
        return keep

    def _items(
        self,
        raw: RawTable,
        plan: Plan,
        index: pd.RangeIndex,
        source: str = "",
        problems: list[Problem] | None = None,
    ) -> pd.DataFrame:
        by_item = {plan.roles[i].target: i for i in plan.columns("item")}
        present = [i for i in self.instrument.item_ids if i in by_item]
        columns = [raw.columns[by_item[i]] for i in present]
        if (
            present
            and not self.recode
            and all(isinstance(c, pa.ChunkedArray) and pa.types.is_float64(c.type) for c in columns)
        ):
            return _float_frame(columns, present, index)
        data = {}
        labelled: dict[str, int] = {}
        for item_id in self.instrument.item_ids:
            if item_id in by_item:
                recode = self.recode.get(item_id, self.recode.get(ALL_ITEMS))
                column = raw.columns[by_item[item_id]]
                labelled[item_id] = _label_cells(column, self.item_labels[item_id], recode)
                data[item_id] = convert(column, labels=self.item_labels[item_id], recode=recode)
        labelled = {k: v for k, v in labelled.items() if v}
        if labelled and problems is not None:
            problems.append(
                Problem(
                    source,
                    None,
                    None,
                    None,
                    LABEL_CODED_RULE,
                    "info",
                    label_coded_message(labelled),
                )
            )
        return _frame(data, index)

    def _background(
        self, raw: RawTable, plan: Plan, index: pd.RangeIndex, source: str, problems: list[Problem]
    ) -> pd.DataFrame:
        data: dict[str, np.ndarray] = {}
        singles = {plan.roles[i].target: i for i in plan.columns("background")}
        summaries = {plan.roles[i].target: i for i in plan.columns("choice_summary")}
        options: dict[str, dict[int, int]] = {}
        for i in plan.columns("choice"):
            code = plan.roles[i].code
            if code is not None:  # a choice column always has its code
                options.setdefault(plan.roles[i].target, {})[code] = i
        for q in self.instrument.background:
            recode = self.recode.get(q.id)
            if q.type == "multiple_choice":
                if q.id in options:
                    for choice in q.choices:
                        column = f"{q.id}_{choice.code}"
                        if choice.code in options[q.id]:
                            data[column] = _flags(
                                raw.columns[options[q.id][choice.code]],
                                raw.source_rows,
                                source,
                                column,
                                problems,
                            )
                        else:
                            data[column] = np.full(len(raw), np.nan)
                elif q.id in summaries:
                    data.update(
                        self._expand(
                            q, raw.columns[summaries[q.id]], raw.source_rows, source, problems
                        )
                    )
            elif q.id in singles:
                values = raw.columns[singles[q.id]]
                if q.type in ("single_choice", "integer"):
                    data[q.id] = convert(values, labels=self.choice_labels.get(q.id), recode=recode)
                else:
                    data[q.id] = _text_values(values)
        return _frame(data, index)

    def _expand(self, q, values, rows, source, problems) -> dict[str, np.ndarray]:
        """A multiple-choice answer held in one cell ("1 3", "2;4", labels) as 0/1 columns."""
        lookup = self.choice_labels[q.id]
        codes = [c.code for c in q.choices]
        out = {f"{q.id}_{code}": np.full(len(rows), np.nan) for code in codes}
        array = as_values(values)
        if array.dtype.kind == "f":
            array = np.where(np.isnan(array), np.array(None, dtype=object), array).astype(object)
        cache: dict[Any, tuple] = {}
        for r, cell in enumerate(array):
            if cell is None or (isinstance(cell, float) and np.isnan(cell)):
                continue
            if cell not in cache:
                cache[cell] = _choices_in(_text(cell), lookup)
            chosen, unknown = cache[cell]
            if not chosen and not unknown:
                continue
            for code in codes:
                out[f"{q.id}_{code}"][r] = 1.0 if code in chosen else 0.0
            for token in unknown:
                problems.append(
                    Problem(
                        source,
                        int(rows[r]),
                        q.id,
                        shorten(token),
                        "unknown_choice",
                        "error",
                        f"not a choice of {q.id}; allowed codes: {', '.join(map(str, codes))}",
                    )
                )
        return out

    def _meta(
        self, raw: RawTable, plan: Plan, index: pd.RangeIndex, source: str, platform: str
    ) -> pd.DataFrame:
        n = len(raw)
        rows = raw.source_rows.astype(np.int64)
        ids = plan.columns("respondent_id")
        respondent = _respondent_ids(raw.columns[ids[0]] if ids else None, Path(source).stem, rows)
        columns: dict[str, Any] = {
            "source_file": pd.Categorical.from_codes(
                np.zeros(n, dtype=np.int8), categories=[source]
            ),
            "source_row": rows,
            "respondent_id": respondent,
        }
        for i in ids:
            if raw.names[i].strip() not in columns:
                columns[raw.names[i].strip()] = as_series(raw.columns[i]).to_numpy()
        for i in plan.columns("meta"):
            if plan.roles[i].target not in columns:
                columns[plan.roles[i].target] = _numeric_if_all(raw.columns[i])
        duration = _duration(columns, platform)
        if duration is not None:
            columns["duration_seconds"] = duration
        return pd.DataFrame(columns, index=index)


# ------------------------------------------------------------------------------------------
# Values
# ------------------------------------------------------------------------------------------
def convert(
    values, *, labels: Mapping[str, int] | None = None, recode: Mapping[Any, int] | None = None
) -> np.ndarray:
    """Raw cells as float64 codes where possible; text that is neither a number nor a label stays text.

    ``recode`` (keys normalised by :func:`_recode_key`) is applied first, then labels.

    Examples
    --------
    >>> convert(np.array(["1", " 2 ", "Agree", None, "??"], dtype=object), labels={"agree": 4})
    array([1.0, 2.0, 4.0, nan, '??'], dtype=object)
    >>> convert(np.array([11.0, 12.0, np.nan]), recode={11.0: 1, 12.0: 2})
    array([ 1.,  2., nan])
    """
    array = as_values(values)
    if array.dtype.kind == "f":
        if not recode:
            return array
        numeric = {k: float(v) for k, v in recode.items() if isinstance(k, float)}
        if not numeric:
            return array
        mapped = pd.Series(array).map(numeric).to_numpy(dtype="float64", na_value=np.nan)
        return np.where(np.isnan(mapped), array, mapped)
    blank = pd.isna(array)
    present = array[~blank]
    if not len(present):
        return np.full(len(array), np.nan)
    table = {}
    for value in pd.unique(present):
        table[value] = _convert_one(value, labels, recode)
    converted = np.empty(len(array), dtype=object)
    converted[blank] = np.nan
    converted[~blank] = [table[v] for v in present]
    if all(isinstance(v, float) for v in table.values()):
        return converted.astype("float64")
    return converted


def _label_cells(values, labels: Mapping[str, int] | None, recode) -> int:
    """How many cells hold an answer label (not a number, not a recode key) that maps to a code."""
    if not labels:
        return 0
    array = as_values(values)
    if array.dtype.kind == "f":
        return 0
    counts = pd.Series(array[~pd.isna(array)]).value_counts()
    n = 0
    for value, count in counts.items():
        if isinstance(value, str) and value.strip() and not _NUMBER.match(value.strip()):
            key = normalise(value.strip())
            if not (recode and key in recode) and key in labels:
                n += int(count)
    return n


def _convert_one(value, labels, recode):
    if isinstance(value, (bool, np.bool_)):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)):
        number = float(value)
        if recode and number in recode:
            return float(recode[number])
        return number
    if isinstance(value, str):
        text = value.strip()
        if not text:
            return np.nan
        if _NUMBER.match(text):
            number = float(text)
            if recode and number in recode:
                return float(recode[number])
            return number
        key = normalise(text)
        if recode and key in recode:
            return float(recode[key])
        if labels and key in labels:
            return float(labels[key])
        return value
    return value


def _recode_key(key: Any):
    if isinstance(key, bool):
        raise ValueError(f"recode: keys must be codes or labels, got {key!r}")
    if isinstance(key, (int, float, np.integer, np.floating)):
        return float(key)
    if isinstance(key, str):
        text = key.strip()
        return float(text) if _NUMBER.match(text) else normalise(text)
    raise ValueError(f"recode: keys must be codes or labels, got {type(key).__name__}")


def _choices_in(text: str, lookup: Mapping[str, int]) -> tuple[set[int], list[str]]:
    """Codes named in one multiple-choice cell, and the tokens that name none.

    Codes or names separated by spaces, commas or semicolons (Kobo: ``"1 3"``), or choice
    labels, which may themselves contain spaces (label-mode exports: ``"SMART Recovery AA"``).

    Examples
    --------
    >>> _choices_in("1 3", {"1": 1, "3": 3})
    ({1, 3}, [])
    >>> _choices_in("SMART Recovery AA x", {"smart recovery": 2, "aa": 1})
    ({1, 2}, ['x'])
    """
    key = normalise(text)
    if key in lookup:
        return {lookup[key]}, []
    chosen: set[int] = set()
    rest = f" {' '.join(t for t in _SPLIT.split(key) if t)} "
    for label in sorted((k for k in lookup if " " in k), key=len, reverse=True):
        if f" {label} " in rest:
            chosen.add(lookup[label])
            rest = rest.replace(f" {label} ", " ")
    unknown = []
    for token in rest.split():
        if token in lookup:
            chosen.add(lookup[token])
        else:
            unknown.append(token)
    return chosen, unknown


def _flags(values, rows, source, column, problems) -> np.ndarray:
    """0/1 option columns (Kobo ``q/code``, REDCap ``q___code``) as float 0.0/1.0."""
    array = as_values(values)
    if array.dtype.kind == "f":
        bad = ~np.isnan(array) & ~np.isin(array, (0.0, 1.0))
        out = array.copy()
    else:
        out = np.full(len(array), np.nan)
        bad = np.zeros(len(array), dtype=bool)
        for r, cell in enumerate(array):
            if cell is None or (isinstance(cell, float) and np.isnan(cell)):
                continue
            text = _text(cell).casefold()
            if text in _TRUE:
                out[r] = 1.0
            elif text in _FALSE:
                out[r] = 0.0
            elif text:
                bad[r] = True
    for r in np.flatnonzero(bad)[:1000]:
        problems.append(
            Problem(
                source,
                int(rows[r]),
                column,
                None,
                "choice_flag_not_0_1",
                "error",
                "a choice column must hold 1 (chosen) or 0 (not chosen)",
            )
        )
    out[bad] = np.nan
    return out


def _text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _text_values(values) -> np.ndarray:
    array = as_values(values)
    if array.dtype.kind == "f":
        return array
    return np.asarray(
        [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in array],
        dtype=object,
    )


def _respondent_ids(values, stem: str, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
    """Respondent ids as a text array (no index: the caller's frame gives it), ``<file-stem>:<row>``
    where the file has none; no per-row Python for pyarrow columns (``101.0`` read from a workbook
    becomes ``"101"``)."""

    def generated():
        return pc.binary_join_element_wise(
            pa.scalar(stem), pa.array(rows, type=pa.int64()).cast(pa.string()), ":"
        )

    if values is None:
        return pd.array(generated().to_pandas(), dtype="str")
    if isinstance(values, (pa.ChunkedArray, pa.Array)) and pa.types.is_string(values.type):
        given = pc.utf8_trim_whitespace(values)
        given = given.combine_chunks() if isinstance(given, pa.ChunkedArray) else given
    else:
        array = as_values(values)
        if array.dtype.kind == "f":
            whole = np.isfinite(array) & (array == np.round(array)) & (np.abs(array) < 2**53)
            text = np.full(len(array), None, dtype=object)
            text[whole] = (
                pa.array(array[whole].astype(np.int64))
                .cast(pa.string())
                .to_numpy(zero_copy_only=False)
            )
            other = ~whole & ~np.isnan(array)
            text[other] = [repr(float(v)) for v in array[other]]
        else:
            text = np.asarray(
                [
                    None if v is None or (isinstance(v, float) and np.isnan(v)) else _text(v)
                    for v in array
                ],
                dtype=object,
            )
        given = pa.array(text, type=pa.string())
    blank = pc.fill_null(pc.or_kleene(pc.is_null(given), pc.equal(given, "")), True)
    if pc.any(blank).as_py():
        given = pc.if_else(blank, generated(), given)
    return pd.array(given.to_pandas(), dtype="str")


def _numeric_if_all(values) -> np.ndarray:
    """A metadata column as float64 when every non-blank cell is a number (Qualtrics ``Progress``,
    Kobo ``_id``), else as it was read."""
    if isinstance(values, (pa.ChunkedArray, pa.Array)) and pa.types.is_string(values.type):
        try:
            return pc.cast(pc.utf8_trim_whitespace(values), pa.float64()).to_numpy(
                zero_copy_only=False
            )
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return as_series(values).to_numpy()
    array = as_values(values)
    if array.dtype.kind == "f":
        return array
    numbers = pd.to_numeric(pd.Series(array, dtype=object), errors="coerce").to_numpy(
        dtype="float64", na_value=np.nan
    )
    if np.array_equal(np.isnan(numbers), pd.isna(array)):
        return numbers
    return array


def _duration(columns: dict[str, Any], platform: str) -> np.ndarray | None:
    if platform == "qualtrics" and qualtrics.DURATION in columns:
        return pd.to_numeric(pd.Series(columns[qualtrics.DURATION]), errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
    if platform == "kobo" and "start" in columns and "end" in columns:
        start = pd.to_datetime(
            pd.Series(columns["start"], dtype=object), errors="coerce", utc=True, format="ISO8601"
        )
        end = pd.to_datetime(
            pd.Series(columns["end"], dtype=object), errors="coerce", utc=True, format="ISO8601"
        )
        return (end - start).dt.total_seconds().to_numpy(dtype="float64", na_value=np.nan)
    return None


def _take(column, rows: np.ndarray):
    if isinstance(column, (pa.ChunkedArray, pa.Array)):
        if rows.dtype == bool:
            return column.filter(pa.array(rows))
        return column.take(pa.array(rows))
    return np.asarray(column)[rows]


def _float_frame(
    columns: list[pa.ChunkedArray], names: list[str], index: pd.RangeIndex
) -> pd.DataFrame:
    """Float64 pyarrow columns straight into one pandas block, chunk by chunk (nulls -> NaN)."""
    block = np.empty((len(columns), len(index)))
    for j, column in enumerate(columns):
        offset = 0
        for chunk in column.chunks:
            size = len(chunk)
            target = block[j, offset : offset + size]
            validity, values = chunk.buffers()[:2]
            # Copy the value buffer as it is, then blank the null slots: no temporary array.
            target[:] = np.frombuffer(values, dtype=np.float64, count=size, offset=chunk.offset * 8)
            if chunk.null_count:
                bits = np.unpackbits(np.frombuffer(validity, dtype=np.uint8), bitorder="little")
                valid = bits[chunk.offset : chunk.offset + size].view(bool)  # 0/1 bytes
                np.copyto(target, np.nan, where=~valid)
            offset += size
    return pd.DataFrame(block.T, index=index, columns=names, copy=False)


def _frame(data: dict[str, np.ndarray], index: pd.RangeIndex) -> pd.DataFrame:
    if not data:
        return pd.DataFrame(index=index)
    if all(values.dtype == np.float64 for values in data.values()):
        # One float block filled column by column: pandas would otherwise copy again to consolidate.
        block = np.empty((len(data), len(index)))
        for j, values in enumerate(data.values()):
            block[j] = values
        return pd.DataFrame(block.T, index=index, columns=list(data), copy=False)
    frame = pd.DataFrame(data, index=index)
    # pandas 3 would turn all-text object columns into its "str" dtype; keep object so checks
    # see the raw cells as the docstring of ResponseTable promises.
    for name, values in data.items():
        if values.dtype == object and frame[name].dtype != object:
            frame[name] = pd.Series(values, index=index, dtype=object)
    return frame


# ------------------------------------------------------------------------------------------
# Lookups built from the instrument
# ------------------------------------------------------------------------------------------
def _scale_labels(scale) -> dict[str, int]:
    out: dict[str, int] = {}
    for labels in scale.labels.values():
        for code, label in zip(scale.codes, labels, strict=False):
            out.setdefault(normalise(label), code)
    if scale.not_applicable is not None:
        for label in scale.not_applicable_label.values():
            out.setdefault(normalise(label), scale.not_applicable)
    return out


def _choice_labels(question) -> dict[str, int]:
    out: dict[str, int] = {}
    for choice in question.choices:
        out[normalise(str(choice.code))] = choice.code
    for choice in question.choices:
        for label in choice.label.values():
            out.setdefault(normalise(label), choice.code)
    return out


class _TextIndex:
    """Item and question wording in every language -> role, for label-mode headers.

    Exact wording (raw, and with the default text parameters filled in) is looked up directly;
    wording with a ``{parameter}`` also matches with any value there (a form built for
    ``group="AA"``), through one pattern per text.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> index = _TextIndex(load_instrument("tests/data/exports/mini.yaml"))
    >>> index.lookup("Møtene i AA passet ikke for meg.")
    Role(kind='item', target='fit_1', code=None)
    >>> index.lookup("Something else") is None
    True
    """

    def __init__(self, instrument):
        exact: dict[str, Role | None] = {}
        patterns: list[tuple[re.Pattern, Role]] = []

        def add(text: str, role: Role) -> None:
            key = normalise(text)
            if not key:
                return
            # The same wording for two questions cannot be matched by text.
            exact[key] = role if exact.get(key, role) == role else None

        for lang in instrument.language_codes:
            entries = [(item.text, Role("item", item.id)) for item in instrument.items]
            entries += [
                (
                    q.label,
                    Role("choice_summary" if q.type == "multiple_choice" else "background", q.id),
                )
                for q in instrument.background
            ]
            for texts, role in entries:
                if lang not in texts:
                    continue
                add(texts[lang], role)
                add(instrument.render(texts, lang), role)
                template = normalise(texts[lang])
                if "{" in template:
                    pieces = re.split(r"\{[A-Za-z_][A-Za-z0-9_]*\}", template)
                    patterns.append(
                        (re.compile("(?:.+?)".join(map(re.escape, pieces)) + r"\Z"), role)
                    )
        self.exact = {k: v for k, v in exact.items() if v is not None}
        self.patterns = patterns

    def lookup(self, text: str) -> Role | None:
        key = normalise(text)
        if key in self.exact:
            return self.exact[key]
        found = {role for pattern, role in self.patterns if pattern.match(key)}
        return found.pop() if len(found) == 1 else None


def _check_rename(rename, instrument) -> dict[str, str]:
    if rename is None:
        return {}
    if not isinstance(rename, Mapping):
        raise TypeError(
            f"rename: must be a mapping of file column -> item id, got {type(rename).__name__}"
        )
    allowed = {i.casefold() for i in instrument.item_ids} | {
        q.id.casefold() for q in instrument.background
    }
    allowed |= {f"{q.id}_{c.code}".casefold() for q in instrument.background for c in q.choices}
    allowed |= set(RESPONDENT_ID_NAMES)
    bad = [
        f"{k!r} -> {v!r}"
        for k, v in rename.items()
        if not isinstance(k, str) or not isinstance(v, str) or v.casefold() not in allowed
    ]
    if bad:
        raise ValueError(
            f"rename: targets must be item or background ids of {instrument.metadata.short_name} (or "
            f"respondent_id); not understood: {', '.join(bad[:5])}"
        )
    return dict(rename)


def _check_recode(recode, instrument) -> dict[str, dict]:
    if recode is None:
        return {}
    if not isinstance(recode, Mapping):
        raise TypeError(
            f"recode: must be a mapping of item id -> {{file value: code}}, got {type(recode).__name__}"
        )
    ids = {i.casefold(): i for i in instrument.item_ids} | {
        q.id.casefold(): q.id for q in instrument.background
    }
    out: dict[str, dict] = {}
    for target, mapping in recode.items():
        key = ALL_ITEMS if target == ALL_ITEMS else ids.get(str(target).casefold())
        if key is None:
            raise ValueError(
                f"recode: {target!r} is not an item or background id of "
                f"{instrument.metadata.short_name} (or '*' for every item)"
            )
        if not isinstance(mapping, Mapping):
            raise ValueError(f"recode[{target!r}]: must map file values to codes")
        converted = {}
        for value, code in mapping.items():
            if isinstance(code, bool) or not isinstance(code, (int, np.integer)):
                raise ValueError(
                    f"recode[{target!r}][{value!r}]: the new code must be an integer, got {code!r}"
                )
            converted[_recode_key(value)] = int(code)
        out[key] = converted
    return out


def _describe(role: Role) -> str:
    if role.kind == "choice":
        return f"choice {role.code} of {role.target}"
    if role.kind == "respondent_id":
        return "the respondent id"
    return role.target
