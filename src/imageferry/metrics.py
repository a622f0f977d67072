"""Prometheus metrics of imageferry, defined once so every component can count.

The executor, the registry client and the console all increment these; the
console exposes them at ``/metrics`` (issue 4, item 6). They live in their own
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
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

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
    "exposition",
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
