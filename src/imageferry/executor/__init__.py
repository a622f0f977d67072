"""Executors run the runs of transfer tasks: the embedded local one by default.

A run is a list of idempotent per-image work units (:class:`WorkUnit`); an
executor decides where they run. :class:`LocalExecutor` runs them in this
process, as one batch; the Celery executor (:mod:`imageferry.executor.celery`,
imported only in that mode) plans runs in ``ferry serve`` and hands their
batches (:func:`make_batches`: one source repository each) to ``ferry worker``
processes, which run the same per-batch copy.
"""

from imageferry.executor.base import Batch, Executor, WorkUnit, make_batches
from imageferry.executor.local import LocalExecutor

__all__ = ["Batch", "Executor", "LocalExecutor", "WorkUnit", "make_batches"]
