"""What a long command shows while it works: a progress display and warnings as clean lines.

The library reports progress through a callback, ``progress(done, total, label)`` (``total`` None
when unknown), and never prints; the commands turn that into a rich progress display on stderr
(nothing with ``--quiet`` or when stderr is not a terminal). Warnings raised while a command runs
are collected and shown after it as one line each, grouped by text with a count, never with the
source line Python's default display adds.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import click

#: The callback the library calls: ``progress(done, total, label)``.
ProgressCallback = Callable[[int, "int | None", str], None]


@contextmanager
def progress_display(title: str, *, quiet: bool) -> Iterator[ProgressCallback | None]:
    """A rich progress display on stderr fed by the library's progress callback.

    Yields the callback to pass to the API, or None when ``quiet`` or stderr is not a terminal
    (the API then does no progress work at all).
    """
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TextColumn,
        TimeElapsedColumn,
    )

    progress = Progress(
        SpinnerColumn(),
        TextColumn(f"[bold]{title}[/bold] {{task.description}}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("", total=None)

        def update(done: int, total: int | None, label: str) -> None:
            progress.update(task, completed=done, total=total, description=label)

        yield update


def warning_lines(caught: list[warnings.WarningMessage]) -> list[str]:
    """Caught warnings as display lines: one per distinct text, with a count, in first-seen order.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     for _ in range(3):
    ...         warnings.warn("101 of 200 resamples failed", RuntimeWarning)
    >>> warning_lines(caught)
    ['Warning: 101 of 200 resamples failed (3 times)']
    """
    counts: dict[str, int] = {}
    for w in caught:
        text = " ".join(str(w.message).split())
        counts[text] = counts.get(text, 0) + 1
    return [f"Warning: {text}" + (f" ({n} times)" if n > 1 else "") for text, n in counts.items()]


@contextmanager
def clean_warnings() -> Iterator[None]:
    """Collect the warnings raised inside and show them on stderr as clean, grouped lines.

    The lines are shown when the block ends, also when it ends with an error (the warnings may
    explain it).
    """
    with warnings.catch_warnings(record=True) as caught:
        # every occurrence of the project's warnings (UserWarning subclasses) is counted; other
        # categories keep the interpreter's filters (library deprecations stay hidden)
        warnings.simplefilter("always", UserWarning)
        try:
            yield
        finally:
            for line in warning_lines(list(caught)):
                click.echo(line, err=True)
