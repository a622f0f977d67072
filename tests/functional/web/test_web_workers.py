"""The Workers page, ``/api/workers`` and the workers' gauges on ``/metrics``.

In celery mode against a real Redis and a real Celery worker holding a batch
of a real run; in the embedded default, none of it shows.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import httpx
import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from fixtures.browser import VALID, log_in
from fixtures.celery_worker import HeldBatches, celery_app, poll, running_worker, send_batch
from fixtures.redis_server import *  # noqa: F403
from imageferry.errors import ConfigError
from imageferry.executor.workers import WorkerMonitor, monitor_app, monitor_for
from imageferry.secrets import open_secret_store
from imageferry.settings import Settings
from imageferry.store import Store
from imageferry.tasks.service import TaskService
from imageferry.web import create_app


def _gauges(text: str) -> dict[str, dict[tuple[tuple[str, str], ...], float]]:
    return {
        f.name: {tuple(sorted(s.labels.items())): s.value for s in f.samples}
        for f in text_string_to_metric_families(text)
        if f.name in {"ferry_queue_depth", "ferry_units_in_flight", "ferry_worker_up"}
    }


def test_the_embedded_default_has_no_workers(admin: tuple[httpx.Client, str]) -> None:
    client, _ = admin
    assert 'href="/workers"' not in client.get("/tasks").text
    assert client.get("/workers").status_code == 404
    assert client.get("/api/workers").status_code == 404
    assert _gauges(client.get("/metrics").text) == {}


def test_celery_settings_make_the_monitor(redis_url: str) -> None:
    assert monitor_for(Settings()) is None
    monitor = monitor_for(Settings(executor="celery", broker_url=redis_url, queue="a, b"))
    assert monitor is not None and monitor.queues == ("a", "b")
    with pytest.raises(ConfigError, match="FERRY_BROKER_URL"):
        monitor_for(Settings(executor="celery"))


@pytest.fixture
def celery_client(
    settings: Settings, store: Store, service: TaskService, redis_url: str
) -> Iterator[tuple[httpx.Client, WorkerMonitor]]:
    monitor = WorkerMonitor(monitor_app(redis_url), ("ferry",), ttl=0.0, timeout=0.5)
    app = create_app(
        settings,
        service=service,
        accounts=store,
        secret_store=open_secret_store(settings),
        out=io.StringIO(),
        workers=monitor,
    )
    with TestClient(app, base_url="http://testserver", follow_redirects=False) as client:
        log_in(client)
        yield client, monitor


def test_workers_show_the_units_each_holds(
    celery_client: tuple[httpx.Client, WorkerMonitor], store: Store
) -> None:
    client, monitor = celery_client
    task = store.create_task(VALID, name="fleet")
    run = store.create_run(task.id)
    assert 'href="/workers"' in client.get("/tasks").text
    app = celery_app(str(monitor.app.conf.broker_url))
    held = HeldBatches(app)
    with running_worker(app, "w1@ferry-web", concurrency=1):
        send_batch(app, run.id, keys=4, batch="team/api")
        send_batch(app, run.id, keys=2, batch="team/web")  # waits: one slot, prefetch 1
        try:
            poll(lambda: held.started)
            body = poll(lambda: _holding(client.get("/api/workers").json()))
            page = client.get("/workers")
            metrics = _gauges(client.get("/metrics").text)
        finally:
            held.release()
        assert body["queues"] == {"ferry": 1}
        [worker] = body["workers"]
        assert worker["name"] == "w1@ferry-web" and worker["alive"]
        assert worker["units_in_flight"] == 4
        assert worker["held"] == [
            {"run_id": run.id, "batch": "team/api", "units": 4, "state": "active"}
        ]
        assert page.status_code == 200
        assert 'data-worker="w1@ferry-web"' in page.text
        assert f'href="/tasks/{task.id}?run={run.id}"' in page.text
        assert "team/api, 4 units" in page.text
        assert metrics["ferry_queue_depth"] == {(("queue", "ferry"),): 1.0}
        assert metrics["ferry_units_in_flight"] == {(("worker", "w1@ferry-web"),): 4.0}
        assert metrics["ferry_worker_up"] == {(("worker", "w1@ferry-web"),): 1.0}
        poll(lambda: len(held.started) == 2)
    # The worker has stopped: it stays listed, down, until it is forgotten.
    gone = _gauges(client.get("/metrics").text)
    assert gone["ferry_worker_up"] == {(("worker", "w1@ferry-web"),): 0.0}
    assert "not answering" in client.get("/workers").text


def _holding(body: dict[str, object]) -> dict[str, object] | None:
    workers = body.get("workers")
    # Both batches sent: one held, the other waiting in the queue (answers under load
    # can come before the broker counted it, so wait for the whole picture).
    held = isinstance(workers, list) and any(w["units_in_flight"] == 4 for w in workers)
    return body if held and body.get("queues") == {"ferry": 1} else None
