"""Distributed runs: the worker whose batch completes the run ends it, exactly once."""

from __future__ import annotations

import threading

from functional.store.store_clock import FakeClock
from imageferry.store import ImageStatus, ImageUnit, RunStatus, Store

PARAMS = {"sourceType": "Amazon_ECR", "srcList": "ALL", "destRegion": "eu-west-1"}


def _planned(store: Store, names: str) -> str:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    store.set_run_status(run.id, RunStatus.IN_PROGRESS)
    store.add_pending_images(run.id, [ImageUnit(f"src/{n}:1", f"dst/{n}:1") for n in names])
    return run.id


def _record(store: Store, run_id: str, name: str, status: ImageStatus) -> None:
    store.record_image_result(
        run_id, source=f"src/{name}:1", destination=f"dst/{name}:1", status=status
    )


def test_a_run_ends_when_its_last_unit_is_final_and_only_then(store: Store) -> None:
    run_id = _planned(store, "abc")
    _record(store, run_id, "a", ImageStatus.COPIED)
    _record(store, run_id, "b", ImageStatus.RUNNING)
    assert store.finish_if_complete(run_id) is None
    assert [u.source for u in store.unfinished_units(run_id)] == ["src/b:1", "src/c:1"]
    _record(store, run_id, "b", ImageStatus.SKIPPED)
    _record(store, run_id, "c", ImageStatus.COPIED)
    finished = store.finish_if_complete(run_id)
    assert finished is not None
    assert (finished.status, finished.images_done) == (RunStatus.DONE, 3)
    # Whoever asks next gets None: the run was ended (and its alarm sent) once.
    assert store.finish_if_complete(run_id) is None


def test_unfinished_units_of_a_batch_leave_out_the_final_ones(store: Store) -> None:
    run_id = _planned(store, "abc")
    keys = {u.source: u.key for u in store.unfinished_units(run_id)}
    _record(store, run_id, "a", ImageStatus.COPIED)
    left = store.unfinished_units(run_id, [keys["src/a:1"], keys["src/b:1"]])
    assert [u.source for u in left] == ["src/b:1"]


def test_racing_workers_end_the_run_once(store: Store, database_url: str) -> None:
    run_id = _planned(store, "ab")
    _record(store, run_id, "a", ImageStatus.COPIED)
    _record(store, run_id, "b", ImageStatus.COPIED)
    ended: list[object] = []
    barrier = threading.Barrier(4)

    def worker() -> None:
        with Store(database_url, migrate=False) as mine:
            barrier.wait()
            ended.append(mine.finish_if_complete(run_id))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(e is not None for e in ended) == 1


def test_a_stopping_run_ends_once_nothing_runs_or_its_workers_fell_silent(
    store: Store, clock: FakeClock
) -> None:
    run_id = _planned(store, "abc")
    _record(store, run_id, "a", ImageStatus.RUNNING)
    store.request_stop(run_id)
    assert store.finish_if_complete(run_id) is None  # "a" is still being copied
    clock.advance(seconds=31)
    stopped = store.finish_if_complete(run_id, stop_grace=30)
    assert stopped is not None and stopped.status is RunStatus.STOPPED
    # Its pending units stay pending (the next run takes them).
    assert stopped.images_done == 0


def test_a_stopping_run_with_nothing_in_flight_ends_at_once(store: Store) -> None:
    run_id = _planned(store, "ab")
    _record(store, run_id, "a", ImageStatus.COPIED)
    store.request_stop(run_id)
    stopped = store.finish_if_complete(run_id)
    assert stopped is not None and stopped.status is RunStatus.STOPPED
