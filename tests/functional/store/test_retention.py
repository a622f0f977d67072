"""Pruning old runs: each task keeps its newest runs; results and log lines go with the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from fixtures.browser import VALID
from imageferry.store import ImageStatus, RunNotFound, RunStatus, Store, UnitResult, models


def _finished_run(store: Store, task_id: str, images: int = 2) -> str:
    run = store.create_run(task_id)
    results = [
        UnitResult(f"s/app:{i}", f"d/app:{i}", ImageStatus.COPIED, digest="sha256:" + "a" * 64)
        for i in range(images)
    ]
    store.record_results(run.id, results, [("info", "copied")] * images)
    store.finish_run(run.id)
    return run.id


def test_prune_keeps_the_newest_runs_of_each_task_and_drops_the_rest_with_their_rows(
    store: Store,
) -> None:
    first = store.create_task(VALID, name="first")
    second = store.create_task(VALID, name="second")
    old = [_finished_run(store, first.id) for _ in range(4)]
    only = _finished_run(store, second.id)
    active = store.create_run(first.id)

    pruned = store.prune_runs(2)

    # The active run counts as one of the two newest: one finished run stays beside it.
    assert (pruned.runs, pruned.results, pruned.log_lines) == (3, 6, 6)
    kept = [r.id for r in store.list_runs(first.id).items]
    assert kept == [active.id, old[-1]]
    assert [r.id for r in store.list_runs(second.id).items] == [only]
    assert store.list_image_results(old[-1]).total == 2
    with store.engine.connect() as db:
        for table in (models.ImageResult, models.LogLine):
            rows = db.scalar(select(func.count()).where(table.run_id.in_(old[:3])))
            assert rows == 0, table
    for gone in old[:3]:
        with pytest.raises(RunNotFound):
            store.get_run(gone)
    assert store.prune_runs(2).runs == 0


def test_prune_never_deletes_an_active_run_and_can_take_one_task(store: Store) -> None:
    task = store.create_task(VALID)
    other = store.create_task(VALID)
    finished = _finished_run(store, task.id)
    stopping = store.create_run(task.id)
    store.request_stop(stopping.id)
    for _ in range(3):
        _finished_run(store, other.id)
    assert store.prune_runs(1, task.id).runs == 1
    assert store.get_run(stopping.id).status is RunStatus.STOPPING
    assert store.list_runs(other.id).total == 3
    with pytest.raises(RunNotFound):
        store.get_run(finished)
    with pytest.raises(ValueError, match="at least one"):
        store.prune_runs(0)
