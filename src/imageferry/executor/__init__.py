"""Executors run the runs of transfer tasks: the embedded local one by default.

A run is a list of idempotent per-image work units (:class:`WorkUnit`); an
executor decides where they run. :class:`LocalExecutor` runs them in this
process; a distributed executor (Celery, ECS) would run the same units.
"""

from imageferry.executor.base import Executor, WorkUnit
from imageferry.executor.local import LocalExecutor

__all__ = ["Executor", "LocalExecutor", "WorkUnit"]
