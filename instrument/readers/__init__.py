"""Format readers behind :func:`instrument.read.read_responses`.

Each reader turns one kind of file into a :class:`~instrument.readers.raw.RawTable` (header names,
column values, the row number of each record as the user sees it); the conventions of each
survey platform (:mod:`~instrument.readers.kobo`, :mod:`~instrument.readers.redcap`,
:mod:`~instrument.readers.qualtrics`) and the matching of columns to the instrument
(:mod:`~instrument.readers.assemble`) are kept apart from the file formats, so a Kobo export reads
the same whether it came as CSV or as a workbook.
"""
