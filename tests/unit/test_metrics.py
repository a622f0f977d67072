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
