"""Imported only in the forkserver of ``mhdq score --jobs N`` (its preload module), before it
forks any worker: every worker then inherits a quiet ``sys.excepthook``, so a worker whose
parent was stopped while handing it its work exits without a traceback
(:mod:`instrument.batch.workers`)."""

from instrument.batch.workers import install_quiet_excepthook

install_quiet_excepthook()
