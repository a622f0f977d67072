"""The ``ferry_*`` metrics: one registry, the documented names, a parseable exposition."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from imageferry import metrics


def test_exposition_has_every_documented_metric_and_counts() -> None:
    metrics.IMAGES.labels(status="failed").inc(2)
    metrics.REGISTRY_REQUESTS.labels(registry="r.example", method="GET", status="429").inc()
    metrics.RATE_LIMIT_WAIT_SECONDS.labels(registry="r.example").inc(1.5)
    families = {f.name: f for f in text_string_to_metric_families(metrics.exposition().decode())}
    documented = metrics.__doc__ or ""
    # prometheus_client adds a ``*_created`` timestamp family per counter; not ours to document.
    for name in (n for n in families if not n.endswith("_created")):
        assert f"``{name}" in documented, name
    failed = [
        s.value
        for s in families["ferry_images"].samples
        if s.name == "ferry_images_total" and s.labels == {"status": "failed"}
    ]
    assert failed and failed[0] >= 2
    assert "ferry_registry_request_duration_seconds" in families


def _value(name: str, labels: dict[str, str]) -> float:
    value = metrics.REGISTRY.get_sample_value(name, labels)
    return value or 0.0


def test_record_helpers_count_what_they_say() -> None:
    before = _value("ferry_images_total", {"status": "copied"})
    sent = _value("ferry_image_bytes_total", {"kind": "transferred"})
    metrics.record_image("copied", bytes_transferred=100, bytes_reused=5)
    assert _value("ferry_images_total", {"status": "copied"}) == before + 1
    assert _value("ferry_image_bytes_total", {"kind": "transferred"}) == sent + 100
    runs = _value("ferry_run_duration_seconds_count", {"status": "DONE"})
    metrics.record_run("DONE", 12.5)
    assert _value("ferry_run_duration_seconds_count", {"status": "DONE"}) == runs + 1
    labels = {"registry": "h:5000", "method": "HEAD", "status": "404"}
    requests = _value("ferry_registry_requests_total", labels)
    metrics.record_request("h:5000", "HEAD", 404, 0.01)
    assert _value("ferry_registry_requests_total", labels) == requests + 1
    waited = _value("ferry_rate_limit_wait_seconds_total", {"registry": "h:5000"})
    metrics.record_rate_limit_wait("h:5000", 2.0)
    assert _value("ferry_rate_limit_wait_seconds_total", {"registry": "h:5000"}) == waited + 2
    retries = _value("ferry_retries_total", {"registry": "h:5000", "reason": "timeout"})
    metrics.record_retry("h:5000", "timeout")
    assert _value("ferry_retries_total", {"registry": "h:5000", "reason": "timeout"}) == retries + 1
