"""Prometheus metrics of imageferry, defined once so every component can count.

The executor, the registry client and the console all increment these; the
console exposes them at ``/metrics`` for Prometheus to scrape. They live in their own
:class:`~prometheus_client.CollectorRegistry` rather than the process-global
default so that importing imageferry into another program never collides with
that program's metrics, and so that tests can read exact values.

Metric names (all prefixed ``ferry_``):

========================================== ========= ===========================
name                                       type      labels
========================================== ========= ===========================
``ferry_images_total``                     counter   ``status`` (copied, skipped,
                                                     failed)
``ferry_image_bytes_total``                counter   ``kind`` (transferred, reused)
``ferry_run_duration_seconds``             histogram ``status`` (DONE, ERROR,
                                                     STOPPED)
``ferry_runs_total``                       counter   ``status``
``ferry_registry_requests_total``          counter   ``registry``, ``method``,
                                                     ``status`` (HTTP code or
                                                     ``error``)
``ferry_registry_request_duration_seconds`` histogram ``registry``, ``method``
``ferry_retries_total``                    counter   ``registry``, ``reason``
``ferry_rate_limit_waits_total``           counter   ``registry``
``ferry_rate_limit_wait_seconds_total``    counter   ``registry``
``ferry_tasks``                            gauge     ``status`` (set at scrape
                                                     time by the console)
========================================== ========= ===========================

With ``FERRY_EXECUTOR=celery`` the console also asks the broker at each scrape
(:class:`WorkerCollector`, answers cached for a few seconds):

========================================== ========= ===========================
``ferry_queue_depth``                      gauge     ``queue``: messages (batches)
                                                     waiting in the broker
``ferry_units_in_flight``                  gauge     ``worker``: units it is
                                                     copying now
``ferry_worker_up``                        gauge     ``worker``: 1 when it answered
                                                     the last broadcast, else 0
========================================== ========= ===========================

The ``record_*`` functions are the one-line hooks for the code that observes
each event (the task executor for images and runs, the registry transport for
requests, retries and rate-limit pauses).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from imageferry.executor.workers import WorkersSnapshot

__all__ = [
    "CONTENT_TYPE",
    "IMAGES",
    "IMAGE_BYTES",
    "RATE_LIMIT_WAITS",
    "RATE_LIMIT_WAIT_SECONDS",
    "REGISTRY",
    "REGISTRY_REQUESTS",
    "REGISTRY_REQUEST_SECONDS",
    "RETRIES",
    "RUNS",
    "RUN_SECONDS",
    "TASKS",
    "PrometheusStats",
    "WorkerCollector",
    "exposition",
    "record_image",
    "record_rate_limit_wait",
    "record_request",
    "record_retry",
    "record_run",
    "worker_exposition",
]

#: The registry every imageferry metric belongs to.
REGISTRY = CollectorRegistry(auto_describe=True)

#: The media type of :func:`exposition`'s output (Prometheus text format 0.0.4).
CONTENT_TYPE = CONTENT_TYPE_LATEST

IMAGES = Counter(
    "ferry_images",
    "Images finished by a run, by result status (copied, skipped, failed).",
    ["status"],
    registry=REGISTRY,
)
IMAGE_BYTES = Counter(
    "ferry_image_bytes",
    "Bytes of image content: 'transferred' were uploaded, 'reused' were already there or mounted.",
    ["kind"],
    registry=REGISTRY,
)
RUNS = Counter(
    "ferry_runs",
    "Runs that ended, by final status.",
    ["status"],
    registry=REGISTRY,
)
# Buckets from seconds (a no-op run) to hours (a cold copy of a large registry).
RUN_SECONDS = Histogram(
    "ferry_run_duration_seconds",
    "Wall-clock duration of finished runs, by final status.",
    ["status"],
    buckets=(1, 5, 15, 60, 300, 900, 1800, 3600, 7200, 14400, float("inf")),
    registry=REGISTRY,
)
REGISTRY_REQUESTS = Counter(
    "ferry_registry_requests",
    "HTTP requests sent to registries, by registry host, method and response status "
    "('error' when no response came back).",
    ["registry", "method", "status"],
    registry=REGISTRY,
)
REGISTRY_REQUEST_SECONDS = Histogram(
    "ferry_registry_request_duration_seconds",
    "Latency of registry requests until response headers, by registry host and method.",
    ["registry", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, float("inf")),
    registry=REGISTRY,
)
RETRIES = Counter(
    "ferry_retries",
    "Requests or image copies retried, by registry host and reason "
    "(e.g. timeout, 5xx, 429, image).",
    ["registry", "reason"],
    registry=REGISTRY,
)
RATE_LIMIT_WAITS = Counter(
    "ferry_rate_limit_waits",
    "Times a registry's rate limit (429 or RateLimit-Remaining: 0) made us pause.",
    ["registry"],
    registry=REGISTRY,
)
RATE_LIMIT_WAIT_SECONDS = Counter(
    "ferry_rate_limit_wait_seconds",
    "Seconds spent paused because of registry rate limits.",
    ["registry"],
    registry=REGISTRY,
)
TASKS = Gauge(
    "ferry_tasks",
    "Tasks in the store by status, refreshed whenever /metrics is scraped.",
    ["status"],
    registry=REGISTRY,
)


def exposition() -> bytes:
    """Every imageferry metric in the Prometheus text exposition format."""
    return generate_latest(REGISTRY)


def record_image(status: str, bytes_transferred: int = 0, bytes_reused: int = 0) -> None:
    """One image finished (``copied``, ``skipped`` or ``failed``) with its byte counts."""
    IMAGES.labels(status=status).inc()
    if bytes_transferred:
        IMAGE_BYTES.labels(kind="transferred").inc(bytes_transferred)
    if bytes_reused:
        IMAGE_BYTES.labels(kind="reused").inc(bytes_reused)


def record_run(status: str, seconds: float | None) -> None:
    """A run ended with ``status`` after ``seconds`` (None when it never started)."""
    RUNS.labels(status=status).inc()
    if seconds is not None:
        RUN_SECONDS.labels(status=status).observe(seconds)


def record_request(registry: str, method: str, status: int | str, seconds: float) -> None:
    """A registry request got ``status`` (an HTTP code, or ``"error"``) after ``seconds``."""
    REGISTRY_REQUESTS.labels(registry=registry, method=method, status=str(status)).inc()
    REGISTRY_REQUEST_SECONDS.labels(registry=registry, method=method).observe(seconds)


def record_retry(registry: str, reason: str) -> None:
    """A request or image copy against ``registry`` is retried because of ``reason``."""
    RETRIES.labels(registry=registry, reason=reason).inc()


def record_rate_limit_wait(registry: str, seconds: float) -> None:
    """We pause ``seconds`` because ``registry`` rate-limited us."""
    RATE_LIMIT_WAITS.labels(registry=registry).inc()
    RATE_LIMIT_WAIT_SECONDS.labels(registry=registry).inc(seconds)


class PrometheusStats:
    """A registry-client ``StatsHook`` that feeds these metrics (used by the
    runtime behind ``ferry serve``; ``ferry copy`` keeps the plain counters)."""

    def on_request(self, registry: str, method: str, status: int, seconds: float) -> None:
        record_request(registry, method, status, seconds)

    def on_retry(self, registry: str, reason: str) -> None:
        record_retry(registry, reason)

    def on_rate_limit_wait(self, registry: str, seconds: float) -> None:
        record_rate_limit_wait(registry, seconds)


class WorkerCollector:
    """The distributed mode's gauges, read from a workers snapshot at each collection."""

    def __init__(self, snapshot: Callable[[], WorkersSnapshot]) -> None:
        self._snapshot = snapshot

    @staticmethod
    def _families() -> tuple[GaugeMetricFamily, GaugeMetricFamily, GaugeMetricFamily]:
        return (
            GaugeMetricFamily(
                "ferry_queue_depth",
                "Batches of units waiting in the broker's queue, not yet taken by a worker.",
                labels=["queue"],
            ),
            GaugeMetricFamily(
                "ferry_units_in_flight",
                "Units a Celery worker is copying now (its executing batches' units).",
                labels=["worker"],
            ),
            GaugeMetricFamily(
                "ferry_worker_up",
                "1 when the Celery worker answered the last broadcast, 0 when it fell silent.",
                labels=["worker"],
            ),
        )

    def describe(self) -> Iterator[Metric]:
        # Registering must not broadcast to the workers: describe without collecting.
        return iter(self._families())

    def collect(self) -> Iterator[Metric]:
        snapshot = self._snapshot()
        depth, in_flight, up = self._families()
        for queue, count in sorted(snapshot.queues.items()):
            depth.add_metric([queue], count)
        for worker in snapshot.workers:
            in_flight.add_metric([worker.name], worker.units_in_flight)
            up.add_metric([worker.name], 1 if worker.alive else 0)
        return iter((depth, in_flight, up))


def worker_exposition(snapshot: Callable[[], WorkersSnapshot]) -> bytes:
    """:class:`WorkerCollector`'s gauges in the text format, to append to :func:`exposition`."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(WorkerCollector(snapshot))
    return generate_latest(registry)
