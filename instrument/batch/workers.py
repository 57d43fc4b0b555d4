"""Worker processes of ``mhdq score --jobs N`` that start and stop without noise.

A run stopped (SIGTERM, Ctrl-C, SIGKILL) while its process pool is starting workers must not
print a traceback: CI saw ``EOFError: Ran out of input`` from a forkserver child whose parent
went away before it had handed the child its work. Three layers, each enough for its case:

* :func:`signals_deferred` holds SIGINT and SIGTERM back while the pool starts its workers in
  this process, then delivers them: a worker is never left half-started by an interrupted
  parent.
* :mod:`instrument.batch.forkserver_preload` is the forkserver's preload module
  (:func:`pool_context`): imported once in the forkserver, it installs
  :func:`quiet_excepthook`, inherited by every child the forkserver forks. A child whose
  parent died before handing it its work (SIGKILL cannot be held back) exits silently
  instead of printing ``EOFError``; any other failure to start is one line.
* :func:`start_worker` runs first in each worker: Ctrl-C in a terminal reaches the whole
  process group, and the parent (which terminates its workers) is the one that handles it;
  a worker whose run was killed (SIGKILL) exits instead of waiting for work forever.

Set ``MHDQ_DEBUG=1`` to see full tracebacks of workers that could not start.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

#: Imported in the forkserver before it forks any worker (installs :func:`quiet_excepthook`).
PRELOAD = "instrument.batch.forkserver_preload"

#: Errors of a worker whose parent went away while it started (the pipe closed under it).
PARENT_GONE = (EOFError, BrokenPipeError, ConnectionError, KeyboardInterrupt, SystemExit)


def quiet_excepthook(kind: type[BaseException], value: BaseException, traceback: Any) -> None:
    """``sys.excepthook`` of forkserver children: silent when the parent went away, one line
    for anything else (a full traceback with ``MHDQ_DEBUG=1``)."""
    if os.environ.get("MHDQ_DEBUG"):
        sys.__excepthook__(kind, value, traceback)
    elif not issubclass(kind, PARENT_GONE):
        sys.stderr.write(f"mhdq: a worker process could not start: {kind.__name__}: {value}\n")


def install_quiet_excepthook() -> None:
    sys.excepthook = quiet_excepthook


def start_worker(run_alive: Any) -> None:
    """Pool initializer: workers leave Ctrl-C to the parent (which terminates them), and exit
    when the run that started them is gone.

    Ctrl-C in a terminal reaches the whole process group; the parent handles it. A run killed
    with SIGKILL cannot terminate its workers: they would wait for work forever, holding the
    run's stderr open (the forkserver, their parent, lives as long as they do). ``run_alive``
    is the reading end of a pipe whose writing end only the run holds (:func:`run_alive_pipe`):
    a daemon thread waits on it, and ends the worker when the run's end of it closes.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    def watch() -> None:
        with suppress(EOFError, OSError):  # nothing is ever sent: ends when the run is gone
            run_alive.recv_bytes()
        os._exit(1)

    threading.Thread(target=watch, name="mhdq-run-watch", daemon=True).start()


def run_alive_pipe(context: Any) -> tuple[Any, Any]:
    """``(reader, writer)``: hand ``reader`` to each worker (:func:`start_worker`), keep
    ``writer`` open in the run for as long as the pool lives, then close it."""
    return context.Pipe(duplex=False)


def pool_context():
    """The multiprocessing context of the pool: forkserver (with :data:`PRELOAD` imported in
    the forkserver, so that its children are quiet) where available, else spawn."""
    import multiprocessing

    # forkserver: workers start from a clean process, not a fork of this one (which may have a
    # progress-bar or write-behind thread holding a lock).
    if "forkserver" in multiprocessing.get_all_start_methods():
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload([PRELOAD])
        return context
    return multiprocessing.get_context("spawn")


@contextmanager
def signals_deferred() -> Iterator[list[int]]:
    """Hold SIGINT and SIGTERM back inside the block, then deliver them to the handlers that
    were in place (in the main thread only; elsewhere the block runs as is).

    Yields the list of the signals received meanwhile.
    """
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return
    numbers = (signal.SIGINT, signal.SIGTERM)

    def hold(signum, frame):
        received.append(signum)

    previous = {number: signal.signal(number, hold) for number in numbers}
    try:
        yield received
    finally:
        for number, handler in previous.items():
            if handler is not None:  # None: a handler not set from Python, left as it is
                signal.signal(number, handler)
        for signum in dict.fromkeys(received):
            signal.raise_signal(signum)
