"""Reading collected responses from every common export, safely.

One entry point, :func:`read_responses`, reads the MHDQ data-entry workbook, any ``.xlsx``/
``.xlsm`` sheet, CSV/TSV, KoboToolbox, REDCap and Qualtrics exports, SPSS ``.sav`` and Parquet,
and returns a :class:`~instrument.responses.ResponseTable` matched to an instrument:
``items`` (one column per item, raw values), ``background``, ``meta`` (source file and row,
respondent id, platform metadata) and file-level ``problems``. :func:`iter_response_chunks`
streams large CSV/TSV and Parquet files in pieces. :func:`detect_platform` says what a file is.

Every file is bounded before it is parsed (:mod:`instrument.io.safety`): workbooks are checked for
zip bombs, XML entity declarations and absurd sheet sizes; SPSS and Parquet headers for absurd
row counts; CSV fields for length. A file that cannot be read raises one
:class:`~instrument.errors.DataError` naming the file (and row and column where that helps),
never quoting what a respondent wrote.

How to export from each platform, and what is read from it: ``docs/reading-data.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from instrument.errors import DataError
from instrument.io.safety import DEFAULT_LIMITS, ReadLimits, check_file_size
from instrument.problems import Problem
from instrument.readers import kobo, redcap
from instrument.readers.assemble import Matcher
from instrument.readers.delimited import TextLayout, inspect_text, iter_delimited, read_delimited
from instrument.readers.raw import RawTable
from instrument.responses import ResponseTable

#: Platforms :func:`detect_platform` returns and ``platform=`` accepts.
PLATFORMS = ("mhdq_workbook", "xlsx", "csv", "kobo", "redcap", "qualtrics", "spss", "parquet")
_ALIASES = {
    "tsv": "csv",
    "text": "csv",
    "xls": "xlsx",
    "xlsm": "xlsx",
    "excel": "xlsx",
    "workbook": "xlsx",
    "sav": "spss",
    "zsav": "spss",
    "mhdq": "mhdq_workbook",
    "kobotoolbox": "kobo",
    "odk": "kobo",
}
_TEXT_PLATFORMS = ("csv", "kobo", "redcap", "qualtrics")
_BOOK_PLATFORMS = ("mhdq_workbook", "xlsx", "kobo", "qualtrics")
_BINARY_SUFFIXES = {
    ".xlsx": "workbook",
    ".xlsm": "workbook",
    ".xls": "workbook",
    ".sav": "spss",
    ".zsav": "spss",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def detect_platform(path: str | Path, *, limits: ReadLimits | None = None) -> str:
    """Which kind of export a file is, from its content (and extension where content agrees).

    Parameters
    ----------
    path : str or Path
        The file.
    limits : ReadLimits, optional
        Safety bounds (see :class:`instrument.io.safety.ReadLimits`); workbooks are checked before
        their header is looked at.

    Returns
    -------
    str
        One of :data:`PLATFORMS`: ``mhdq_workbook`` (a workbook with the hidden ``_mhdq`` sheet),
        ``kobo`` (Kobo system columns such as ``_uuid``, ``_submission_time``), ``redcap``
        (``record_id`` first, or ``redcap_*`` columns), ``qualtrics`` (a third header row of
        ``{"ImportId": ...}``), ``spss``, ``parquet``, ``xlsx`` (any other workbook) or ``csv``.

    Raises
    ------
    DataError
        When the file is missing, empty, breaks a safety bound, or its content contradicts a
        binary extension (an ``.xlsx`` that is not a workbook).
    """
    limits = limits or DEFAULT_LIMITS
    path = Path(path)
    container = _container(path, limits)
    if container == "spss":
        return "spss"
    if container == "parquet":
        return "parquet"
    if container == "workbook":
        from instrument.readers.excel import read_workbook

        if _has_mhdq_sheet(path, limits):
            return "mhdq_workbook"
        return _book_platform(read_workbook(path, limits), None, str(path))
    return _text_platform(inspect_text(path, limits))


def read_responses(
    path: str | Path,
    instrument,
    *,
    rename: Mapping[str, str] | None = None,
    recode: Mapping[str, Mapping[Any, int]] | None = None,
    platform: str | None = None,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
) -> ResponseTable:
    """Read collected responses from a file and match them to an instrument.

    Parameters
    ----------
    path : str or Path
        The export: ``.xlsx``/``.xlsm``/``.xls`` (MHDQ workbook, Kobo XLS, any sheet; not ``.ods``/``.xlsb``), ``.csv``/
        ``.tsv``/``.txt`` (plain, Kobo, REDCap, Qualtrics), ``.sav``/``.zsav`` or ``.parquet``.
    instrument : Instrument
        The specification the answers belong to (:func:`instrument.spec.load_instrument`).
    rename : mapping of str to str, optional
        File column -> item or background id, for columns not named by id (``{"Q2_1": "mf_st1"}``).
        Matched exactly, then ignoring case.
    recode : mapping of str to mapping, optional
        Item or background id -> {value in the file: code}; ``"*"`` applies to every item without
        its own entry. Keys may be numbers or labels (``{"*": {11: 1, 12: 2, ...}}`` for Qualtrics
        recode values). Values not in the map are kept as they are.
    platform : str, optional
        Force the source type instead of detecting it (one of :data:`PLATFORMS`, or ``tsv``).
    sheet : str, optional
        Sheet to read from a workbook; default the first worksheet (MHDQ workbook: its data sheet).
    limits : ReadLimits, optional
        Safety bounds (zip size and ratio, sheet size, field length); defaults suit ordinary files.

    Returns
    -------
    ResponseTable
        ``items`` (item columns in the specification's order, float64 or object where some cells
        hold text), ``background`` (multiple choice as ``{id}_{code}`` 0/1 columns), ``meta``
        (``source_file``, ``source_row``, ``respondent_id``, platform metadata, and
        ``duration_seconds`` for Kobo and Qualtrics), ``problems`` (file-level: ``missing_item_column``,
        ``unknown_column``, ``duplicate_column``, ``spec_version_mismatch``, ``encoding_fallback``,
        ``identifying_column_dropped``, ``empty_row_skipped`` (one per row holding nothing at all,
        not even an id), ...), ``platform``, ``spec_version`` and ``value_labels`` (SPSS).

    Raises
    ------
    DataError
        When the file cannot be read, breaks a safety bound, no column matches an item, or an
        MHDQ workbook belongs to another instrument.
    ValueError, TypeError
        For a ``platform``, ``rename`` or ``recode`` argument that is not understood.

    Notes
    -----
    Values are not checked here (codes outside the scale, straight-lining and the like are
    :mod:`instrument.check`'s job), but answer labels in any of the instrument's languages
    are turned into their codes, so label-mode exports read like code exports.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> import tempfile, pathlib
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> folder = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (folder / "answers.csv").write_text("A1;A2;gender\\n2;5;1\\n4;;2\\n")
    >>> table = read_responses(folder / "answers.csv", bfi)
    >>> table.items.to_dict("list")
    {'A1': [2.0, 4.0], 'A2': [5.0, nan]}
    >>> table.meta[["source_row", "respondent_id"]].to_dict("list")
    {'source_row': [2, 3], 'respondent_id': ['answers:2', 'answers:3']}
    """
    limits = limits or DEFAULT_LIMITS
    source = str(path)
    path = Path(path)
    forced = _check_platform(platform)
    container = _container(path, limits)
    if container in ("spss", "parquet"):
        if sheet is not None:
            raise ValueError(
                f"sheet: {source} is not a workbook; sheet= applies to .xlsx/.xlsm/.xls files only"
            )
        raw = _read_binary(path, container, limits, forced)
        return _finish(raw, instrument, source, forced or container, rename, recode)
    if container == "workbook":
        from instrument.readers.excel import read_workbook

        raw = read_workbook(path, limits, sheet=sheet)
        chosen = _book_platform(raw, forced, source)
        return _finish(raw, instrument, source, chosen, rename, recode)
    if sheet is not None:
        raise ValueError(
            f"sheet: {source} is not a workbook; sheet= applies to .xlsx/.xlsm/.xls files only"
        )
    layout = inspect_text(path, limits)
    chosen = _text_choice(layout, forced, source)
    matcher = Matcher(instrument, platform=chosen, rename=rename, recode=recode)
    plan = matcher.plan(layout.header, source)
    raw = read_delimited(layout, limits, numeric=_numeric_columns(plan, instrument))
    return matcher.build(
        raw, plan, source, platform=chosen, spec_version=None, include_file_problems=True
    )


def iter_response_chunks(
    path: str | Path,
    instrument,
    *,
    chunk_rows: int = 200_000,
    rename: Mapping[str, str] | None = None,
    recode: Mapping[str, Mapping[Any, int]] | None = None,
    platform: str | None = None,
    limits: ReadLimits | None = None,
    stream_limits: ReadLimits | None = None,
) -> Iterator[ResponseTable]:
    """Read a file in pieces of at most ``chunk_rows`` respondents.

    CSV/TSV (and Kobo, REDCap, Qualtrics CSV) are streamed with pyarrow's CSV reader from a
    plain file handle (the next block parsed in a background thread) and Parquet by record
    batches, so memory stays bounded by a few pieces; workbooks and SPSS files are read whole
    and yielded as one piece. Parameters are those of :func:`read_responses`.

    Yields
    ------
    ResponseTable
        Consecutive pieces which together equal :func:`read_responses`'s table: the index and
        respondent ids continue from one piece to the next, ``source_row`` always refers to the
        file, file-level problems come with the first piece and row problems (such as
        ``empty_row_skipped``) with the piece holding their row.

    Notes
    -----
    ``limits`` bound every file; ``stream_limits`` (default ``limits``) replace them for the
    files that are streamed (CSV and Parquet), whose memory is bounded by ``chunk_rows``, so a
    caller may lift the row and cell bounds for those without lifting them for workbooks and
    SPSS files, which are read whole.

    Examples
    --------
    >>> from instrument.spec import load_instrument
    >>> import tempfile, pathlib
    >>> bfi = load_instrument("examples/bfi.yaml")
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "answers.csv"
    >>> _ = path.write_text("respondent_id,A1,A2\\np1,2,5\\n,,\\np3,4,1\\n")
    >>> [piece.meta["respondent_id"].tolist() for piece in iter_response_chunks(path, bfi, chunk_rows=1)]
    [['p1'], [], ['p3']]
    """
    if isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1:
        raise ValueError(f"chunk_rows: must be a positive integer, got {chunk_rows!r}")
    limits = limits or DEFAULT_LIMITS
    source = str(path)
    path = Path(path)
    forced = _check_platform(platform)
    container = _container(path, limits)
    if container == "workbook" or container == "spss":
        yield read_responses(
            path, instrument, rename=rename, recode=recode, platform=platform, limits=limits
        )
        return
    limits = stream_limits or limits
    if container == "parquet":
        from instrument.readers.parquet import iter_parquet

        if forced not in (None, "parquet"):
            raise DataError(f"{source}: a Parquet file cannot be read as {forced}")
        pieces = iter_parquet(path, limits, chunk_rows=chunk_rows)
        chosen = "parquet"
        first = next(pieces)
        matcher = Matcher(instrument, platform=chosen, rename=rename, recode=recode)
        plan = matcher.plan(first.names, source)
        start = 0
        for n, raw in enumerate(_chain(first, pieces)):
            table = matcher.build(
                raw,
                plan,
                source,
                platform=chosen,
                spec_version=None,
                include_file_problems=n == 0,
                index_start=start,
            )
            start += table.n_rows
            yield table
        return
    layout = inspect_text(path, limits)
    chosen = _text_choice(layout, forced, source)
    matcher = Matcher(instrument, platform=chosen, rename=rename, recode=recode)
    plan = matcher.plan(layout.header, source)
    start = 0
    pieces = iter_delimited(
        layout, limits, numeric=_numeric_columns(plan, instrument), chunk_rows=chunk_rows
    )
    for n, raw in enumerate(pieces):
        table = matcher.build(
            raw,
            plan,
            source,
            platform=chosen,
            spec_version=None,
            include_file_problems=n == 0,
            index_start=start,
        )
        start += table.n_rows
        yield table


def read_header(
    path: str | Path,
    *,
    sheet: str | None = None,
    limits: ReadLimits | None = None,
    stream_limits: ReadLimits | None = None,
) -> list[str]:
    """The column names of a response file as the reader finds them, before any matching.

    Cheap for CSV/TSV (the first lines), Parquet (the footer) and SPSS (the dictionary); a
    workbook's sheet is read whole.

    Raises
    ------
    DataError
        As :func:`read_responses` does, for a file that cannot be read.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> path = pathlib.Path(tempfile.mkdtemp()) / "answers.csv"
    >>> _ = path.write_text("A1;A2;synthetic\\n2;5;synthetic\\n")
    >>> read_header(path)
    ['A1', 'A2', 'synthetic']
    """
    limits = limits or DEFAULT_LIMITS
    path = Path(path)
    container = _container(path, limits)
    if container == "parquet":
        from instrument.readers.parquet import column_names

        return column_names(path, stream_limits or limits)
    if container == "spss":
        from instrument.readers.spss import column_names

        return column_names(path, limits)
    if container == "workbook":
        from instrument.readers.excel import read_workbook

        return list(read_workbook(path, limits, sheet=sheet).names)
    return list(inspect_text(path, stream_limits or limits).header)


# ------------------------------------------------------------------------------------------
def _chain(first, rest):
    yield first
    yield from rest


def _check_platform(platform: str | None) -> str | None:
    if platform is None:
        return None
    if not isinstance(platform, str):
        raise TypeError(f"platform: must be a string, got {type(platform).__name__}")
    key = _ALIASES.get(platform.strip().lower(), platform.strip().lower())
    if key not in PLATFORMS:
        raise ValueError(
            f"platform: unknown platform {platform!r}; allowed: {', '.join(PLATFORMS)} (or tsv)"
        )
    return key


def _container(path: Path, limits: ReadLimits) -> str:
    """``workbook``, ``spss``, ``parquet`` or ``text``, from the first bytes of the file."""
    from instrument.readers.excel import OLE_MAGIC, ZIP_MAGIC
    from instrument.readers.parquet import MAGIC as PARQUET_MAGIC
    from instrument.readers.spss import MAGIC as SPSS_MAGIC

    check_file_size(path, limits)
    with open(path, "rb") as handle:
        magic = handle.read(8)
    if magic.startswith(ZIP_MAGIC) or magic.startswith(OLE_MAGIC):
        found = "workbook"
    elif magic.startswith(SPSS_MAGIC):
        found = "spss"
    elif magic.startswith(PARQUET_MAGIC):
        found = "parquet"
    else:
        found = "text"
    expected = _BINARY_SUFFIXES.get(path.suffix.lower())
    if expected is not None and expected != found:
        what = {"workbook": "a workbook", "spss": "an SPSS file", "parquet": "a Parquet file"}[
            expected
        ]
        raise DataError(
            f"{path}: the name ends in {path.suffix} but the file is not {what} (damaged, truncated or misnamed)"
        )
    return found


def _has_mhdq_sheet(path: Path, limits: ReadLimits) -> bool:
    from instrument.readers.excel import MHDQ_SHEET, workbook_sheets

    return MHDQ_SHEET in workbook_sheets(path, limits)


def _text_platform(layout: TextLayout) -> str:
    if layout.platform_hint == "qualtrics":
        return "qualtrics"
    if kobo.looks_like(layout.header):
        return "kobo"
    if redcap.looks_like(layout.header):
        return "redcap"
    return "csv"


def _text_choice(layout: TextLayout, forced: str | None, source: str) -> str:
    if forced is None:
        return _text_platform(layout)
    if forced not in _TEXT_PLATFORMS:
        raise DataError(f"{source}: a text (CSV/TSV) file cannot be read as {forced}")
    if forced == "qualtrics" and layout.header_rows != 3:
        raise DataError(
            f"{source}: not a Qualtrics export (its third row is not Qualtrics' ImportId row)"
        )
    return forced


def _book_platform(raw: RawTable, forced: str | None, source: str) -> str:
    detected = raw.platform
    if detected == "xlsx" and kobo.looks_like(raw.names):
        detected = "kobo"
    if forced is None or forced == detected:
        return detected
    if forced not in _BOOK_PLATFORMS:
        raise DataError(f"{source}: a workbook cannot be read as {forced}")
    if forced == "mhdq_workbook":
        raise DataError(f"{source}: not an MHDQ workbook (it has no _mhdq sheet)")
    return forced


def _read_binary(path: Path, container: str, limits: ReadLimits, forced: str | None) -> RawTable:
    if forced not in (None, container):
        raise DataError(
            f"{path}: {'an SPSS' if container == 'spss' else 'a Parquet'} file cannot be read as {forced}"
        )
    if container == "spss":
        from instrument.readers.spss import read_sav

        return read_sav(path, limits)
    from instrument.readers.parquet import iter_parquet

    return next(iter_parquet(path, limits, chunk_rows=None))


def _finish(raw: RawTable, instrument, source: str, platform: str, rename, recode) -> ResponseTable:
    extra = _declared_problems(raw, instrument, source) if raw.platform == "mhdq_workbook" else []
    matcher = Matcher(instrument, platform=platform, rename=rename, recode=recode)
    plan = matcher.plan(raw.names, source, value_labels=raw.value_labels)
    return matcher.build(
        raw,
        plan,
        source,
        platform=platform,
        spec_version=raw.spec_version,
        include_file_problems=True,
        extra_problems=extra,
    )


def _declared_problems(raw: RawTable, instrument, source: str) -> list[Problem]:
    """Compare what an MHDQ workbook says it holds with the specification in use."""
    declared = raw.declared
    meta = instrument.metadata
    name = declared.get("instrument", "")
    if name and name.casefold() != meta.short_name.casefold():
        raise DataError(
            f"{source}: this workbook was made for instrument {name!r}, not {meta.short_name}; "
            "read it with that instrument's specification"
        )
    problems = []
    version = declared.get("version", "")
    if version and version != meta.version:
        problems.append(
            Problem(
                source,
                None,
                None,
                version,
                "spec_version_mismatch",
                "warning",
                f"the workbook was made from {meta.short_name} version {version}; the "
                f"specification in use is version {meta.version}. Items changed between "
                "versions are reported as missing or unknown columns",
            )
        )
    fingerprint = declared.get("fingerprint", "")
    if fingerprint and not problems and fingerprint != instrument.fingerprint:
        problems.append(
            Problem(
                source,
                None,
                None,
                fingerprint,
                "spec_fingerprint_mismatch",
                "warning",
                f"the workbook was made from a {meta.short_name} {meta.version} specification "
                "with different content (fingerprint differs); check that item wording and "
                "codes are the same",
            )
        )
    return problems


def _numeric_columns(plan, instrument) -> set[int]:
    """Columns pyarrow parses as float64: items, coded background, choice flags (the rest as text)."""
    coded = {q.id for q in instrument.background if q.type in ("single_choice", "integer")}
    return {
        index
        for index, role in enumerate(plan.roles)
        if role.kind in ("item", "choice") or (role.kind == "background" and role.target in coded)
    }
