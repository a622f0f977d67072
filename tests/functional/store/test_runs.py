"""Runs: truthful final statuses, no overlap (even when racing), stop, restart recovery."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from functional.store.store_clock import FakeClock
from imageferry.store import (
    INTERRUPTED,
    ImageStatus,
    ImageUnit,
    RunAlreadyActive,
    RunFinished,
    RunStatus,
    Store,
    TaskStatus,
    Trigger,
)

PARAMS = {"sourceType": "Amazon_ECR", "srcList": "ALL", "destRegion": "eu-west-1"}


def _record(store: Store, run_id: str, name: str, status: ImageStatus, **kw: object) -> None:
    store.record_image_result(
        run_id,
        source=f"src/{name}:1",
        destination=f"dst/{name}:1",
        status=status,
        **kw,  # type: ignore[arg-type]
    )


def test_a_run_is_committed_before_work_starts(store: Store, database_url: str) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id, Trigger.SCHEDULE, executor_id="local-1")
    # Another process (a second Store on the same database) sees it at once.
    with Store(database_url, migrate=False) as other:
        seen = other.get_run(run.id)
    assert seen.status is RunStatus.STARTING
    assert seen.trigger is Trigger.SCHEDULE
    assert seen.executor_id == "local-1"
    assert seen.number == 1
    assert store.get_task(task.id).status is TaskStatus.STARTING


def test_a_run_with_failed_images_ends_in_error_and_says_how_many(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    assert store.get_task(task.id).status is TaskStatus.IN_PROGRESS
    _record(store, run.id, "a", ImageStatus.COPIED, bytes_transferred=100, bytes_reused=20)
    _record(store, run.id, "b", ImageStatus.SKIPPED)
    _record(store, run.id, "c", ImageStatus.FAILED, error="manifest unknown")
    finished = store.finish_run(run.id)
    assert finished.status is RunStatus.ERROR
    assert "1 of 3 images failed" in finished.error
    assert (finished.images_copied, finished.images_skipped, finished.images_failed) == (1, 1, 1)
    assert finished.images_done == finished.images_total == 3
    assert finished.bytes_transferred == 100 and finished.bytes_reused == 20
    assert finished.ended_at is not None
    assert store.get_task(task.id).status is TaskStatus.ERROR


def test_a_clean_run_is_done(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    _record(store, run.id, "a", ImageStatus.COPIED)
    finished = store.finish_run(run.id)
    assert finished.status is RunStatus.DONE and finished.error == ""
    assert store.get_task(task.id).status is TaskStatus.DONE
    # Finishing twice changes nothing; late results are refused.
    assert store.finish_run(run.id) == finished
    with pytest.raises(RunFinished):
        _record(store, run.id, "late", ImageStatus.COPIED)


def test_run_level_error_and_unfinished_images_end_in_error(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    store.add_pending_images(
        run.id, [ImageUnit("src/a:1", "dst/a:1"), ImageUnit("src/b:1", "dst/b:1")]
    )
    _record(store, run.id, "a", ImageStatus.COPIED)
    finished = store.finish_run(run.id, error="listing the source failed: 403 denied")
    assert finished.status is RunStatus.ERROR
    assert finished.error.startswith("listing the source failed")
    assert "1 of 2 images not finished" in finished.error


def test_no_second_run_while_one_is_active(store: Store) -> None:
    task = store.create_task(PARAMS)
    first = store.create_run(task.id)
    with pytest.raises(RunAlreadyActive) as caught:
        store.create_run(task.id)
    assert caught.value.active_run_id == first.id
    assert store.active_run(task.id) == store.get_run(first.id)
    store.finish_run(first.id)
    second = store.create_run(task.id)
    assert second.number == 2
    assert store.latest_run(task.id) == second
    assert [r.id for r in store.list_runs(task.id)] == [second.id, first.id]


def test_two_concurrent_starts_make_exactly_one_run(store: Store, database_url: str) -> None:
    task = store.create_task(PARAMS)
    # Two stores stand for two processes sharing the database.
    stores = [store, Store(database_url, migrate=False)]
    barrier = threading.Barrier(2)
    outcomes: list[object] = []
    lock = threading.Lock()

    def start(s: Store) -> None:
        barrier.wait()
        try:
            result: object = s.create_run(task.id)
        except RunAlreadyActive as e:
            result = e
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=start, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stores[1].close()
    errors = [o for o in outcomes if isinstance(o, RunAlreadyActive)]
    runs = [o for o in outcomes if not isinstance(o, RunAlreadyActive)]
    assert len(runs) == 1 and len(errors) == 1
    assert store.list_runs(task.id).total == 1


def test_the_database_itself_refuses_a_second_active_run(store: Store) -> None:
    task = store.create_task(PARAMS)
    store.create_run(task.id)
    insert = text(
        "INSERT INTO runs (id, task_id, number, status, trigger, created_at, images_total,"
        " images_copied, images_skipped, images_failed, images_done, bytes_transferred,"
        " bytes_reused, error, executor_id, log_seq)"
        " VALUES ('r-sneaky', :task, 99, 'IN_PROGRESS', 'manual', CURRENT_TIMESTAMP,"
        " 0, 0, 0, 0, 0, 0, 0, '', '', 0)"
    )
    with pytest.raises(IntegrityError), store.engine.begin() as connection:
        connection.execute(insert, {"task": task.id})


def test_stop_wins_over_a_late_in_progress(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    assert store.request_stop(run.id).status is RunStatus.STOPPING
    assert store.get_task(task.id).status is TaskStatus.STOPPING
    assert store.set_run_status(run.id, RunStatus.IN_PROGRESS).status is RunStatus.STOPPING
    _record(store, run.id, "a", ImageStatus.COPIED)
    _record(store, run.id, "b", ImageStatus.RUNNING)
    stopped = store.finish_run(run.id)
    assert stopped.status is RunStatus.STOPPED
    assert "1 of 2 images not finished" in stopped.error
    # The abandoned image is pending again, never reported as copied.
    statuses = {r.source: r.status for r in store.list_image_results(run.id)}
    assert statuses == {"src/a:1": ImageStatus.COPIED, "src/b:1": ImageStatus.PENDING}
    assert store.request_stop(run.id).status is RunStatus.STOPPED


def test_set_run_status_refuses_final_statuses(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    with pytest.raises(ValueError, match="finish_run"):
        store.set_run_status(run.id, RunStatus.DONE)
    store.finish_run(run.id)
    with pytest.raises(RunFinished):
        store.set_run_status(run.id, RunStatus.IN_PROGRESS)


def test_restart_marks_interrupted_runs_and_keeps_pending_images(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    store.add_pending_images(run.id, [ImageUnit(f"src/{n}:1", f"dst/{n}:1") for n in "abc"])
    _record(store, run.id, "a", ImageStatus.COPIED)
    _record(store, run.id, "b", ImageStatus.RUNNING)

    ended = store.mark_interrupted_runs()
    assert [r.id for r in ended] == [run.id]
    after = store.get_run(run.id)
    assert after.status is RunStatus.ERROR
    assert INTERRUPTED in after.error and "2 of 3 images not finished" in after.error
    assert store.get_task(task.id).status is TaskStatus.ERROR
    pending = store.list_image_results(run.id, status=ImageStatus.PENDING)
    assert {r.source for r in pending} == {"src/b:1", "src/c:1"}
    # The task can run again, and a second start-up finds nothing to mark.
    assert store.mark_interrupted_runs() == []
    assert store.create_run(task.id).number == 2


def test_shared_deployments_only_mark_their_own_or_silent_runs(
    store: Store, clock: FakeClock
) -> None:
    mine = store.create_task(PARAMS, name="mine")
    theirs = store.create_task(PARAMS, name="theirs")
    silent = store.create_task(PARAMS, name="silent")
    my_run = store.create_run(mine.id, executor_id="host-a")
    their_run = store.create_run(theirs.id, executor_id="host-b")
    silent_run = store.create_run(silent.id, executor_id="host-c")
    cutoff = clock.advance(minutes=10)
    clock.advance(minutes=1)
    store.heartbeat(their_run.id)

    ended = store.mark_interrupted_runs(executor_id="host-a", heartbeat_before=cutoff)
    assert {r.id for r in ended} == {my_run.id, silent_run.id}
    assert store.get_run(their_run.id).status is RunStatus.STARTING


@pytest.mark.parametrize(
    ("prepare", "expected"),
    [
        (lambda s, r: None, RunStatus.ERROR),
        (lambda s, r: s.request_stop(r), RunStatus.STOPPED),
    ],
    ids=["running", "stopping"],
)
def test_interrupted_status_depends_on_whether_stop_was_asked(
    store: Store, prepare: Callable[[Store, str], object], expected: RunStatus
) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    prepare(store, run.id)
    (ended,) = store.mark_interrupted_runs()
    assert ended.status is expected


def test_restart_resumes_running_runs_and_ends_those_asked_to_stop(store: Store) -> None:
    going = store.create_task(PARAMS, name="going")
    stopping = store.create_task(PARAMS, name="stopping")
    run = store.create_run(going.id)
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    store.add_pending_images(run.id, [ImageUnit(f"src/{n}:1", f"dst/{n}:1") for n in "abc"])
    _record(store, run.id, "a", ImageStatus.COPIED)
    _record(store, run.id, "b", ImageStatus.RUNNING)
    asked = store.create_run(stopping.id)
    store.request_stop(asked.id)

    (ended,) = store.mark_interrupted_runs(stopping_only=True)
    assert (ended.id, ended.status) == (asked.id, RunStatus.STOPPED)
    (resumed,) = store.resume_interrupted_runs()
    assert (resumed.id, resumed.status) == (run.id, RunStatus.IN_PROGRESS)
    statuses = {r.source: r.status for r in store.list_image_results(run.id)}
    assert statuses == {
        "src/a:1": ImageStatus.COPIED,
        "src/b:1": ImageStatus.PENDING,
        "src/c:1": ImageStatus.PENDING,
    }
    assert "resumed after a restart: 1 of 3" in store.logs(run.id)[-1].message
    assert store.get_task(going.id).status is TaskStatus.IN_PROGRESS


def test_latest_runs_for_a_task_list_in_one_call(store: Store) -> None:
    a = store.create_task(PARAMS)
    b = store.create_task(PARAMS)
    never = store.create_task(PARAMS)
    store.finish_run(store.create_run(a.id).id)
    a2 = store.create_run(a.id)
    b1 = store.create_run(b.id)
    latest = store.latest_runs([a.id, b.id, never.id])
    assert latest == {a.id: store.get_run(a2.id), b.id: store.get_run(b1.id)}
    assert store.latest_run(never.id) is None
