"""What the Celery workers are doing: queue depth, liveness and the units each holds.

Read-only views of a distributed deployment for ``/metrics`` and the console.
They need nothing but a :class:`celery.Celery` app connected to the broker:

- :func:`queue_depth` asks the broker how many messages wait in a queue
  (a passive ``queue_declare``; on Redis an empty queue has no key and counts 0);
- :func:`worker_status` broadcasts ``inspect().active()`` and ``reserved()``
  and reads each ``imageferry.copy_batch`` request's keyword arguments into
  (run, batch, number of units).

A broadcast waits ``timeout`` for the replies, so :class:`WorkerMonitor`
keeps the last answer for a few seconds: Prometheus scrapes and console
reloads share one broadcast, and a worker that stops answering stays listed
(not alive) with the moment it was last seen.

Celery itself is imported only for type checking: this module loads
without the ``celery`` extra, and a local deployment never calls it.
"""

from __future__ import annotations

import ast
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from imageferry.errors import ConfigError, FerryError

if TYPE_CHECKING:
    from celery import Celery

    from imageferry.settings import Settings

__all__ = [
    "COPY_BATCH",
    "BrokerUnavailable",
    "UnitsHeld",
    "WorkerInfo",
    "WorkerMonitor",
    "WorkersSnapshot",
    "monitor_app",
    "monitor_for",
    "queue_depth",
    "units_held",
    "worker_status",
]

#: The task that copies one batch of a run's units (keyword arguments
#: ``run_id``, ``unit_keys`` and ``batch``).
COPY_BATCH = "imageferry.copy_batch"


class BrokerUnavailable(FerryError):
    """The Celery broker did not answer (down, unreachable, or refusing us)."""


@dataclass(frozen=True, slots=True)
class UnitsHeld:
    """One batch a worker holds: executing (``active``) or prefetched (``reserved``)."""

    run_id: str
    batch: str
    units: int
    state: str


@dataclass(frozen=True, slots=True)
class WorkerInfo:
    """One worker as the last broadcast saw it."""

    name: str
    alive: bool
    last_seen: datetime | None
    held: tuple[UnitsHeld, ...] = ()

    @property
    def units_in_flight(self) -> int:
        """Units this worker is executing now (not those it merely prefetched)."""
        return sum(h.units for h in self.held if h.state == "active")


@dataclass(frozen=True, slots=True)
class WorkersSnapshot:
    """Workers and queue depths at one moment; ``error`` when the broker failed."""

    workers: tuple[WorkerInfo, ...]
    queues: Mapping[str, int]
    taken_at: datetime
    error: str = ""


def _kwargs_of(request: Mapping[str, Any]) -> Mapping[str, Any]:
    """A request's keyword arguments: a dict, or its ``repr`` under task protocol 1."""
    kwargs = request.get("kwargs")
    if isinstance(kwargs, str):
        try:
            kwargs = ast.literal_eval(kwargs)
        except (ValueError, SyntaxError):
            return {}
    return kwargs if isinstance(kwargs, Mapping) else {}


def units_held(requests: Iterable[Mapping[str, Any]], state: str) -> list[UnitsHeld]:
    """The copy batches among one worker's requests (other tasks are not ours)."""
    held = []
    for request in requests:
        if request.get("name") != COPY_BATCH:
            continue
        kwargs = _kwargs_of(request)
        keys = kwargs.get("unit_keys") or ()
        held.append(
            UnitsHeld(
                run_id=str(kwargs.get("run_id", "")),
                batch=str(kwargs.get("batch", "")),
                units=len(keys) if isinstance(keys, list | tuple) else 0,
                state=state,
            )
        )
    return held


def _operational_error() -> type[Exception]:
    """kombu's wrapper of a transport's connection errors (celery re-exports it)."""
    try:
        from celery.exceptions import OperationalError
    except ImportError:  # without the extra there is no broker to fail
        return OSError
    error: type[Exception] = OperationalError
    return error


@contextmanager
def _broker_errors(app: Celery) -> Iterator[None]:
    """The broker's connection errors (and the OS's) as :class:`BrokerUnavailable`."""
    errors: tuple[type[BaseException], ...] = (
        OSError,
        _operational_error(),
        *app.connection_for_read().connection_errors,
    )
    try:
        yield
    except errors as e:
        raise BrokerUnavailable(f"the Celery broker did not answer: {e}") from None


def queue_depth(app: Celery, queue: str) -> int:
    """Messages waiting in ``queue`` on the broker (not those a worker reserved)."""
    with _broker_errors(app), app.connection_for_read() as connection:
        missing: tuple[type[BaseException], ...] = connection.channel_errors
        try:
            _, count, _ = connection.default_channel.queue_declare(queue=queue, passive=True)
        except missing:
            return 0  # no such queue yet: Redis deletes the key of an empty list
        return int(count)


def worker_status(
    app: Celery, timeout: float = 1.0, *, now: Callable[[], datetime] | None = None
) -> list[WorkerInfo]:
    """Every worker that answered within ``timeout``, with the batches it holds."""
    clock = now or (lambda: datetime.now(UTC))
    inspector = app.control.inspect(timeout=timeout)
    with _broker_errors(app):
        active: dict[str, list[dict[str, Any]]] = inspector.active() or {}
        reserved: dict[str, list[dict[str, Any]]] = inspector.reserved() or {}
    seen = clock()
    return [
        WorkerInfo(
            name=name,
            alive=True,
            last_seen=seen,
            held=tuple(
                units_held(active.get(name, ()), "active")
                + units_held(reserved.get(name, ()), "reserved")
            ),
        )
        for name in sorted(set(active) | set(reserved))
    ]


@dataclass
class WorkerMonitor:
    """Cached :func:`worker_status` and :func:`queue_depth` for ``queues``.

    A snapshot younger than ``ttl`` seconds is reused; callers at the same
    moment share one broadcast. Workers seen before but silent now are kept,
    not alive, with their last-seen time, until ``forget_after`` seconds.
    """

    app: Celery
    queues: tuple[str, ...]
    ttl: float = 5.0
    timeout: float = 1.0
    forget_after: float = 3600.0
    monotonic: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _cached: WorkersSnapshot | None = field(default=None, init=False, repr=False)
    _cached_at: float = field(default=0.0, init=False, repr=False)
    _known: dict[str, WorkerInfo] = field(default_factory=dict, init=False, repr=False)

    def snapshot(self) -> WorkersSnapshot:
        with self._lock:
            if self._cached is not None and self.monotonic() - self._cached_at < self.ttl:
                return self._cached
            self._cached = self._take()
            self._cached_at = self.monotonic()
            return self._cached

    def _take(self) -> WorkersSnapshot:
        taken_at = self.now()
        try:
            answered = worker_status(self.app, self.timeout, now=self.now)
            depths = {queue: queue_depth(self.app, queue) for queue in self.queues}
        except BrokerUnavailable as e:
            return WorkersSnapshot(self._silent(set()), {}, taken_at, error=str(e))
        for info in answered:
            self._known[info.name] = info
        return WorkersSnapshot(self._silent({i.name for i in answered}), depths, taken_at)

    def _silent(self, answered: set[str]) -> tuple[WorkerInfo, ...]:
        """Every known worker; those not in ``answered`` marked not alive, holding nothing."""
        horizon = self.now().timestamp() - self.forget_after
        for name, info in list(self._known.items()):
            if name in answered:
                continue
            if info.last_seen is not None and info.last_seen.timestamp() < horizon:
                del self._known[name]
            else:
                self._known[name] = WorkerInfo(name, False, info.last_seen)
        return tuple(self._known[name] for name in sorted(self._known))


def monitor_for(settings: Settings) -> WorkerMonitor | None:
    """The monitor of a ``FERRY_EXECUTOR=celery`` deployment's broker; None when local.

    It needs only the broker: a plain app, with no tasks, that broadcasts and
    counts messages on ``FERRY_BROKER_URL`` and ``FERRY_QUEUE`` (comma list).
    """
    if settings.executor != "celery":
        return None
    broker_url = settings.broker_url.get_secret_value()
    if not broker_url:
        raise ConfigError("FERRY_EXECUTOR=celery needs FERRY_BROKER_URL (e.g. redis://host:6379/0)")
    queues = tuple(q.strip() for q in settings.queue.split(",") if q.strip())
    return WorkerMonitor(monitor_app(broker_url), queues)


def monitor_app(broker_url: str) -> Celery:
    """A Celery app that only looks: no tasks, and no retrying a broker that is down.

    Celery's defaults retry a refused connection for seconds; a scrape or a page
    would hang as long. Here the first failure is the answer (the snapshot says
    so), and the next snapshot tries again.
    """
    try:
        from celery import Celery
    except ImportError:
        raise ConfigError(
            "FERRY_EXECUTOR=celery needs the celery extra: pip install 'imageferry[celery]'"
        ) from None
    app = Celery("imageferry-monitor", broker=broker_url, set_as_current=False)
    app.conf.update(
        broker_connection_timeout=2,
        broker_connection_retry=False,
        broker_connection_max_retries=0,
        broker_transport_options={"max_retries": 0},
    )
    return app
