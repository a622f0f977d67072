"""Queue depth, worker liveness and held units, read from a real Redis and a real worker."""

from __future__ import annotations

import itertools
import time
from datetime import UTC, datetime

import pytest

from fixtures.celery_worker import HeldBatches, celery_app, poll, running_worker, send_batch
from fixtures.redis_server import RedisServer
from imageferry.executor.workers import (
    BrokerUnavailable,
    UnitsHeld,
    WorkerMonitor,
    monitor_app,
    queue_depth,
    worker_status,
)


def test_queue_depth_counts_the_batches_waiting_and_an_unknown_queue_is_empty(
    redis_url: str,
) -> None:
    app = celery_app(redis_url)
    assert queue_depth(app, "ferry") == 0
    for i in range(3):
        send_batch(app, "r-1", keys=5, batch=f"team/app-{i}")
    assert queue_depth(app, "ferry") == 3
    assert queue_depth(app, "never-used") == 0


def test_worker_status_names_the_worker_and_the_units_it_holds(redis_url: str) -> None:
    app = celery_app(redis_url)
    held = HeldBatches(app)
    with running_worker(app, "w1@ferry-test"):
        send_batch(app, "r-7", keys=3, batch="team/a")
        send_batch(app, "r-7", keys=2, batch="team/b")
        poll(lambda: len(held.started) == 2)
        workers = poll(
            lambda: [w for w in worker_status(app, timeout=0.5) if w.units_in_flight == 5]
        )
        held.release()
        assert [w.name for w in workers] == ["w1@ferry-test"]
        worker = workers[0]
        assert worker.alive and worker.last_seen is not None
        assert sorted(worker.held, key=lambda h: h.batch) == [
            UnitsHeld("r-7", "team/a", 3, "active"),
            UnitsHeld("r-7", "team/b", 2, "active"),
        ]
        assert worker.units_in_flight == 5
        idle = poll(lambda: [w for w in worker_status(app, timeout=0.5) if not w.held])
        assert idle[0].units_in_flight == 0
    assert queue_depth(app, "ferry") == 0


def test_the_monitor_reuses_its_answer_and_keeps_a_silent_worker_as_down(
    redis_url: str,
) -> None:
    app = celery_app(redis_url)
    HeldBatches(app)
    ticks = itertools.count()
    monitor = WorkerMonitor(app, ("ferry",), ttl=5.0, timeout=0.5, monotonic=lambda: next(ticks))
    with running_worker(app, "w2@ferry-test"):
        first = poll(lambda: monitor.snapshot().workers and monitor.snapshot())
        assert monitor.snapshot() is first  # within the ttl: no second broadcast
        seen = first.workers[0].last_seen
    for _ in range(10):
        next(ticks)
    after = monitor.snapshot()
    assert after is not first
    assert [(w.name, w.alive, w.last_seen) for w in after.workers] == [
        ("w2@ferry-test", False, seen)
    ]
    assert after.queues == {"ferry": 0}
    assert not after.error


def test_a_broker_that_does_not_answer_is_one_clear_error(redis_server: RedisServer) -> None:
    from stand_ins.registry import free_port

    app = monitor_app(f"redis://127.0.0.1:{free_port()}/0")
    started = time.monotonic()
    with pytest.raises(BrokerUnavailable, match="the Celery broker did not answer"):
        queue_depth(app, "ferry")
    snapshot = WorkerMonitor(app, ("ferry",), timeout=0.2).snapshot()
    assert "did not answer" in snapshot.error
    assert snapshot.workers == () and snapshot.taken_at <= datetime.now(UTC)
    # The monitor does not retry for seconds as Celery's defaults would: a scrape
    # or a page load answers while the broker is down.
    assert time.monotonic() - started < 5
