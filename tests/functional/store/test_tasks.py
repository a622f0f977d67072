"""Tasks: create, read, page, filter, update, delete, and the scheduler's due list."""

from __future__ import annotations

from datetime import timedelta

import pytest

from functional.store.store_clock import FakeClock
from imageferry.errors import ConfigError
from imageferry.store import (
    ImageStatus,
    ScheduleType,
    Store,
    TaskBusy,
    TaskNotFound,
    TaskStatus,
    Trigger,
)

PARAMS = {
    "sourceType": "Amazon_ECR",
    "srcRegion": "us-west-2",
    "srcList": "SELECTED",
    "srcImageList": "ubuntu:22.04, alpine",
    "srcCredential": "src-ecr-keys",
    "destRegion": "eu-west-1",
    "destPrefix": "mirror",
}


def test_created_task_reads_back_with_its_parameters(store: Store) -> None:
    task = store.create_task(PARAMS, name="nightly mirror")
    assert task.id.startswith("t-") and len(task.id) == 12
    assert task.status is TaskStatus.CREATED
    assert task.schedule_type is ScheduleType.ONE_TIME
    again = store.get_task(task.id)
    assert again == task
    assert dict(again.parameters) == PARAMS
    assert again.created_at.tzinfo is not None


def test_clone_is_create_with_the_old_parameters_and_overrides(store: Store) -> None:
    original = store.create_task(PARAMS, name="a")
    clone = store.create_task({**original.parameters, "destPrefix": "other"}, name="a (copy)")
    assert clone.id != original.id
    assert store.get_task(clone.id).parameters["destPrefix"] == "other"
    assert store.get_task(original.id).parameters["destPrefix"] == "mirror"


def test_unknown_task_is_a_clear_error(store: Store) -> None:
    with pytest.raises(TaskNotFound, match="t-nope"):
        store.get_task("t-nope")


def test_a_secret_value_is_never_stored(store: Store) -> None:
    with pytest.raises(ConfigError, match="credential names only"):
        store.create_task({**PARAMS, "srcSecretAccessKey": "AKIA..."})
    assert store.list_tasks().total == 0


def test_list_pages_newest_first(store: Store, clock: FakeClock) -> None:
    ids = []
    for i in range(7):
        clock.advance(seconds=1)
        ids.append(store.create_task(PARAMS, name=f"task {i}").id)
    first = store.list_tasks(offset=0, limit=3)
    second = store.list_tasks(offset=3, limit=3)
    third = store.list_tasks(offset=6, limit=3)
    assert first.total == second.total == third.total == 7
    seen = [t.id for page in (first, second, third) for t in page]
    assert seen == list(reversed(ids))
    assert len(third) == 1


def test_list_filters_by_status(store: Store) -> None:
    idle = store.create_task(PARAMS, name="idle")
    busy = store.create_task(PARAMS, name="busy")
    failed = store.create_task(PARAMS, name="failed")
    store.create_run(busy.id, Trigger.MANUAL)
    run = store.create_run(failed.id, Trigger.MANUAL)
    store.record_image_result(
        run.id, source="a", destination="b", status=ImageStatus.FAILED, error="boom"
    )
    store.finish_run(run.id)

    def names(*statuses: TaskStatus) -> set[str]:
        return {t.name for t in store.list_tasks(status=statuses)}

    assert names(TaskStatus.CREATED) == {"idle"}
    assert names(TaskStatus.STARTING) == {"busy"}
    assert names(TaskStatus.ERROR) == {"failed"}
    assert names(TaskStatus.ERROR, TaskStatus.CREATED) == {"idle", "failed"}
    assert store.list_tasks(status=TaskStatus.DONE).total == 0
    assert idle.id in {t.id for t in store.list_tasks(status=TaskStatus.CREATED)}


def test_update_changes_only_what_is_given(store: Store) -> None:
    task = store.create_task(PARAMS, name="before")
    updated = store.update_task(
        task.id, name="after", schedule_type=ScheduleType.CRON, schedule_expression="0 3 * * *"
    )
    assert updated.name == "after"
    assert updated.schedule_type is ScheduleType.CRON
    assert dict(updated.parameters) == PARAMS
    assert store.get_task(task.id) == updated


def test_delete_removes_runs_results_and_logs(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    store.record_image_result(run.id, source="a", destination="b", status=ImageStatus.COPIED)
    store.append_log(run.id, "info", "copied a")
    store.finish_run(run.id)
    store.delete_task(task.id)
    with pytest.raises(TaskNotFound):
        store.get_task(task.id)
    from imageferry.store import RunNotFound

    with pytest.raises(RunNotFound):
        store.get_run(run.id)
    from sqlalchemy import text

    with store.engine.connect() as connection:
        for table in ("runs", "image_results", "log_lines"):
            assert connection.execute(text(f"SELECT count(*) FROM {table}")).scalar() == 0


def test_delete_is_refused_while_a_run_is_active(store: Store) -> None:
    task = store.create_task(PARAMS)
    run = store.create_run(task.id)
    with pytest.raises(TaskBusy, match="stop it first"):
        store.delete_task(task.id)
    store.request_stop(run.id)
    store.finish_run(run.id)
    store.delete_task(task.id)
    assert store.list_tasks().total == 0


def test_due_tasks_and_claiming_the_next_run(store: Store, clock: FakeClock) -> None:
    now = clock.now
    due = store.create_task(PARAMS, name="due", next_run_at=now - timedelta(minutes=1))
    store.create_task(PARAMS, name="later", next_run_at=now + timedelta(hours=1))
    store.create_task(PARAMS, name="unscheduled")
    assert [t.name for t in store.due_tasks(now)] == ["due"]

    tomorrow = now + timedelta(days=1)
    # Two schedulers race for the same firing: only the first claim succeeds.
    assert store.set_next_run(due.id, tomorrow, expected=due.next_run_at, check_expected=True)
    assert not store.set_next_run(
        due.id, tomorrow + timedelta(days=1), expected=due.next_run_at, check_expected=True
    )
    assert store.get_task(due.id).next_run_at == tomorrow
    assert store.due_tasks(now) == []

    store.set_next_run(due.id, None)
    assert store.get_task(due.id).next_run_at is None
    with pytest.raises(TaskNotFound):
        store.set_next_run("t-missing", now)
