"""A run's results and log lines are written in batches, and nothing reported is lost at the end."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from imageferry.store import ImageStatus, ImageUnit, RunFinished, Store, UnitResult
from imageferry.tasks.recording import RunRecorder


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'store.db'}") as opened:
        yield opened


@pytest.fixture
def run_id(store: Store) -> str:
    run = store.create_run(store.create_task({"srcList": "ALL"}).id)
    units = [ImageUnit(f"src/app{i}:1", f"dst/app{i}:1") for i in range(10)]
    store.add_pending_images(run.id, units)
    return run.id


def unit(i: int, status: ImageStatus = ImageStatus.SKIPPED) -> UnitResult:
    return UnitResult(f"src/app{i}:1", f"dst/app{i}:1", status)


def statuses(store: Store, run_id: str) -> list[str]:
    return [r.status.value for r in store.list_image_results(run_id).items]


def test_results_wait_until_a_batch_is_full(store: Store, run_id: str) -> None:
    recorder = RunRecorder(store, run_id, max_items=4, max_delay=60, clock=Clock())
    for i in range(3):
        recorder.result(unit(i))
    assert store.get_run(run_id).images_done == 0
    recorder.log("INFO", "three skipped")  # the fourth item fills the batch
    assert store.get_run(run_id).images_done == 3
    assert [line.message for line in store.logs(run_id)] == ["three skipped"]
    assert recorder.batches == 1


def test_a_unit_reported_twice_before_a_write_counts_once(store: Store, run_id: str) -> None:
    recorder = RunRecorder(store, run_id, max_items=2, max_delay=60, clock=Clock())
    recorder.result(unit(0, ImageStatus.RUNNING))
    recorder.result(unit(0, ImageStatus.COPIED))
    assert recorder.batches == 0  # one unit waiting, not two
    recorder.flush()
    assert statuses(store, run_id).count("copied") == 1
    assert store.get_run(run_id).images_copied == 1


def test_results_are_written_once_the_oldest_has_waited_long_enough(
    store: Store, run_id: str
) -> None:
    clock = Clock()
    recorder = RunRecorder(store, run_id, max_items=500, max_delay=1.0, clock=clock)
    recorder.result(unit(0))
    clock.now += 0.5
    recorder.result(unit(1))
    assert store.get_run(run_id).images_done == 0
    clock.now += 0.5
    recorder.result(unit(2))
    assert store.get_run(run_id).images_done == 3


def test_waiting_results_are_written_while_nothing_new_arrives(store: Store, run_id: str) -> None:
    recorder = RunRecorder(store, run_id, max_items=500, max_delay=0.05)

    async def quiet_copy() -> None:
        flusher = asyncio.create_task(recorder.flush_periodically())
        recorder.result(unit(0))
        await asyncio.sleep(0.3)  # a long blob copy: no events
        flusher.cancel()

    asyncio.run(quiet_copy())
    assert store.get_run(run_id).images_done == 1


def test_the_final_flush_writes_everything_left(store: Store, run_id: str) -> None:
    recorder = RunRecorder(store, run_id, max_items=4, max_delay=60, clock=Clock())
    for i in range(10):
        recorder.result(unit(i))
    recorder.flush()
    recorder.flush()  # nothing waits: no empty transaction
    assert statuses(store, run_id) == ["skipped"] * 10
    assert recorder.batches == 3


def test_a_failed_write_keeps_its_results_for_the_next(store: Store, run_id: str) -> None:
    recorder = RunRecorder(store, run_id, max_items=500, max_delay=60, clock=Clock())
    recorder.result(unit(0))
    store.finish_run(run_id)
    with pytest.raises(RunFinished):
        recorder.flush()
    with pytest.raises(RunFinished):
        recorder.flush()  # still waiting: not silently dropped
