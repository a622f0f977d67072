"""Runs of a task over time: incremental re-runs, no overlap, stop, restart,
schedules and per-image retries (REFERENCE.md defects 3, 7, 8 and 9)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from fixtures.tasks import FlakyProxy, Runtimes, run_to_end
from imageferry.runtime import Runtime
from imageferry.store import RunAlreadyActive
from imageferry.store.base import utcnow
from imageferry.store.status import ImageStatus, RunStatus, Trigger
from imageferry.tasks.scheduler import Scheduler
from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry, SandboxError
from stand_ins.skopeo import inspect_digest, list_tags

MANIFEST_PUT = r"^PUT /v2/.+/manifests/"
BLOB_HEAD = r"^HEAD /v2/.+/blobs/"


def _task(runtime: Runtime, src: str, dst: str, **extra: str) -> str:
    parameters = {
        "sourceType": "Public",
        "srcRegistry": src,
        "srcList": "ALL",
        "destRegistry": dst,
        "scheduleType": "ONE_TIME",
        **extra,
    }
    return runtime.service.create_task(parameters).id


def _statuses(runtime: Runtime, run_id: str) -> dict[str, ImageStatus]:
    return {r.source: r.status for r in runtime.service.image_results(run_id)}


def test_rerun_copies_only_what_changed(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, runtimes: Runtimes
) -> None:
    for name in ("a", "b", "c"):
        push_image(src_registry.url, name, "1", seed=name)
    runtime = runtimes.make()
    task_id = _task(runtime, src_registry.host, dst_registry.host)
    first = run_to_end(runtime, task_id)
    assert first.status is RunStatus.DONE, first.error
    assert first.images_copied == 3

    # Defect 3: the second run compares digests and copies nothing.
    second = run_to_end(runtime, task_id)
    assert second.status is RunStatus.DONE
    assert (second.images_copied, second.images_skipped) == (0, 3)
    assert all(r.bytes_transferred == 0 for r in runtime.service.image_results(second.id))

    changed = push_image(src_registry.url, "b", "1", seed="b-v2")
    third = run_to_end(runtime, task_id)
    src = src_registry.host
    assert _statuses(runtime, third.id) == {
        f"{src}/a:1": ImageStatus.SKIPPED,
        f"{src}/b:1": ImageStatus.COPIED,
        f"{src}/c:1": ImageStatus.SKIPPED,
    }
    assert inspect_digest(f"{dst_registry.host}/b:1") == changed.digest
    assert [r.number for r in runtime.service.runs(task_id)] == [3, 2, 1]


def test_no_overlap_and_stop_leaves_nothing_half_tagged(
    src_registry: LocalRegistry, flaky: FlakyProxy, runtimes: Runtimes
) -> None:
    push_image(src_registry.url, "slow", "1", seed="slow")
    runtime = runtimes.make()
    task_id = _task(runtime, src_registry.host, flaky.host)
    # Blobs go through; the tag (manifest PUT, always last) waits at the proxy.
    flaky.hold(MANIFEST_PUT)
    run = runtime.service.start(task_id)
    assert flaky.arrived.wait(60), "the run never reached the manifest push"

    with pytest.raises(RunAlreadyActive):
        runtime.service.start(task_id)
    assert runtime.service.get_run(run.id).status is RunStatus.IN_PROGRESS

    stopping = runtime.service.stop(task_id)
    assert stopping.status is RunStatus.STOPPING
    assert runtime.executor.wait(run.id, timeout=60)
    flaky.release()
    stopped = runtime.service.get_run(run.id)
    assert stopped.status is RunStatus.STOPPED
    assert runtime.service.get_task(task_id).status == "STOPPED"
    with pytest.raises(SandboxError):
        inspect_digest(f"{flaky.host}/slow:1")
    logs = [line.message for line in runtime.service.logs(run.id)]
    assert any("stopped" in line for line in logs)

    # The task is free again: the next run copies it.
    again = run_to_end(runtime, task_id)
    assert again.status is RunStatus.DONE, again.error
    assert list_tags(f"{flaky.host}/slow") == ["1"]


def test_restart_resumes_interrupted_runs_and_the_schedule(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, runtimes: Runtimes
) -> None:
    pushed = push_image(src_registry.url, "app", "1", seed="app")
    first = runtimes.make()
    task_id = _task(
        first,
        src_registry.host,
        dst_registry.host,
        scheduleType="FIXED_RATE",
        scheduleExpression="rate(1 hour)",
    )
    # The process dies mid-run: the run row is IN_PROGRESS with a pending
    # image and nobody executing it (no executor picked it up here).
    run = first.store.create_run(task_id, Trigger.SCHEDULE, executor_id="local")
    first.store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    from imageferry.store import ImageUnit

    first.store.add_pending_images(
        run.id, [ImageUnit(f"{src_registry.host}/app:1", f"{dst_registry.host}/app:1")]
    )
    first.store.set_images_total(run.id, 1)
    due = first.store.get_task(task_id).next_run_at
    assert due is not None
    first.scheduler.stop()
    first.executor.close()
    first.store.close()
    runtimes.made.remove(first)

    second = runtimes.make()  # start() takes over what the dead process left behind
    assert second.executor.wait(run.id, timeout=120)
    interrupted = second.service.get_run(run.id)
    assert (interrupted.status, interrupted.error) == (RunStatus.DONE, "")
    assert interrupted.images_copied == 1

    # The schedule survived in the store: the due slot starts a fresh run.
    clock = [due + timedelta(seconds=1)]
    scheduler = Scheduler(second.store, second.service.start, clock=lambda: clock[0])
    (resumed_id,) = scheduler.tick()
    assert second.executor.wait(resumed_id, timeout=120)
    resumed = second.service.get_run(resumed_id)
    assert resumed.status is RunStatus.DONE, resumed.error
    assert resumed.trigger == Trigger.SCHEDULE
    assert inspect_digest(f"{dst_registry.host}/app:1") == pushed.digest


def test_fixed_rate_and_cron_schedules_with_a_clock(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, runtimes: Runtimes
) -> None:
    push_image(src_registry.url, "app", "1", seed="sched")
    runtime = runtimes.make()
    daily = _task(runtime, src_registry.host, dst_registry.host, scheduleType="FIXED_RATE")
    cron = _task(
        runtime,
        src_registry.host,
        dst_registry.host,
        scheduleType="CRON",
        scheduleExpression="30 3 * * *",
        destPrefix="cron",
    )
    start = utcnow() + timedelta(seconds=1)
    clock: list[datetime] = [start]
    scheduler = Scheduler(runtime.store, runtime.service.start, clock=lambda: clock[0])

    def tick() -> dict[str, RunStatus]:
        started = scheduler.tick()
        finished = {}
        for run_id in started:
            assert runtime.executor.wait(run_id, timeout=120)
            run = runtime.service.get_run(run_id)
            finished[run.task_id] = run.status
        return finished

    # FIXED_RATE starts at once (as the reference does at stack creation).
    assert tick() == {daily: RunStatus.DONE}
    assert tick() == {}  # not due again yet
    cron_due = runtime.store.get_task(cron).next_run_at
    assert cron_due is not None
    assert (cron_due.hour, cron_due.minute) == (3, 30)

    # Default rate(1 day): the next slot is a day after the previous due time.
    daily_due = runtime.store.get_task(daily).next_run_at
    assert daily_due is not None
    assert timedelta(hours=23) < daily_due - start <= timedelta(days=1)
    clock[0] = max(daily_due, cron_due) + timedelta(seconds=1)
    ran = tick()
    assert ran == {daily: RunStatus.DONE, cron: RunStatus.DONE}
    assert inspect_digest(f"{dst_registry.host}/cron/app:1")
    next_cron = runtime.store.get_task(cron).next_run_at
    assert next_cron is not None and next_cron - cron_due == timedelta(days=1)

    # Missed slots (the process was down for three days) collapse into one run.
    clock[0] += timedelta(days=3)
    assert tick() == {daily: RunStatus.DONE, cron: RunStatus.DONE}
    assert runtime.service.runs(daily).total == 3
    latest = runtime.service.latest_run(daily)
    assert latest is not None and latest.images_skipped == 1


def test_a_one_time_task_started_by_hand_is_not_started_again_by_the_schedule(
    src_registry: LocalRegistry, dst_registry: LocalRegistry, runtimes: Runtimes
) -> None:
    push_image(src_registry.url, "app", "1", seed="once")
    runtime = runtimes.make()
    task_id = _task(runtime, src_registry.host, dst_registry.host, scheduleType="ONE_TIME")
    clock = [utcnow() + timedelta(seconds=1)]
    scheduler = Scheduler(runtime.store, runtime.service.start, clock=lambda: clock[0])

    run = runtime.service.start(task_id)  # "start now", before the scheduler's first tick
    assert runtime.executor.wait(run.id, timeout=120)

    assert scheduler.tick() == []
    clock[0] += timedelta(days=1)
    assert scheduler.tick() == []
    assert runtime.service.runs(task_id).total == 1
    assert runtime.store.get_task(task_id).next_run_at is None


def test_schedule_never_overlaps_an_active_run(
    src_registry: LocalRegistry, flaky: FlakyProxy, runtimes: Runtimes
) -> None:
    push_image(src_registry.url, "app", "1", seed="overlap")
    runtime = runtimes.make()
    task_id = _task(
        runtime,
        src_registry.host,
        flaky.host,
        scheduleType="FIXED_RATE",
        scheduleExpression="30m",
    )
    clock = [utcnow() + timedelta(seconds=1)]
    scheduler = Scheduler(runtime.store, runtime.service.start, clock=lambda: clock[0])
    flaky.hold(MANIFEST_PUT)
    (slow,) = scheduler.tick()
    assert flaky.arrived.wait(60)
    clock[0] += timedelta(minutes=31)
    assert scheduler.tick() == []  # due, but the previous run is still going
    flaky.release()
    assert runtime.executor.wait(slow, timeout=60)
    assert runtime.service.get_run(slow).status is RunStatus.DONE
    assert runtime.service.runs(task_id).total == 1
    logs = [line.message for line in runtime.service.logs(slow)]
    assert any("skipped: this run is still active" in line for line in logs)


def test_transient_blob_head_failures_are_retried(
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    flaky: FlakyProxy,
    runtimes: Runtimes,
) -> None:
    """Defect 9: blob HEADs failing for a while do not fail the image."""
    pushed = push_image(src_registry.url, "app", "1", seed="flaky")
    # An existing repository: only there does a copy ask about each blob with a
    # HEAD (a new repository is probed once with tags/list instead).
    push_image(dst_registry.url, "app", "occupant", seed="occupant")
    runtime = runtimes.make()
    task_id = _task(runtime, src_registry.host, flaky.host, alarmEmail="ops@example.com")

    # A couple of 503s: absorbed by request retries, one image attempt.
    flaky.fail(BLOB_HEAD, times=2)
    run = run_to_end(runtime, task_id)
    assert flaky.seen == 2
    assert run.status is RunStatus.DONE, run.error
    (result,) = runtime.service.image_results(run.id)
    assert (result.status, result.attempts) == (ImageStatus.COPIED, 1)

    # A blob HEAD fails in a way the request itself does not retry (the
    # registry asks to come back later than a request may wait): the image is
    # retried as a whole, arrives, and the run is DONE with no failure to
    # alarm about (the reference mailed failures for images that had arrived).
    changed = push_image(src_registry.url, "app", "1", layers=1, seed="flaky-2")
    layer = json.loads(changed.body)["layers"][0]["digest"]
    flaky.fail(f"^HEAD /v2/app/blobs/{layer}$", times=1, retry_after="3600")
    run = run_to_end(runtime, task_id)
    assert flaky.seen == 1
    assert run.status is RunStatus.DONE, run.error
    (result,) = runtime.service.image_results(run.id)
    assert result.status is ImageStatus.COPIED
    assert result.attempts == 2
    assert result.error == ""
    assert inspect_digest(f"{flaky.host}/app:1") == changed.digest != pushed.digest
    logs = [line.message for line in runtime.service.logs(run.id)]
    assert any(line.startswith("attempt 1 of ") and "503" in line for line in logs)
    assert not any(line.startswith("failed ") for line in logs)
