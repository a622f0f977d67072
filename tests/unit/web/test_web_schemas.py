"""A task's status in every view is its latest run's, read with the run."""

from dataclasses import replace
from datetime import UTC, datetime

from imageferry.store.records import RunRecord, TaskRecord
from imageferry.store.status import RunStatus, ScheduleType, TaskStatus, Trigger
from imageferry.web.schemas import task_out

NOW = datetime(2026, 11, 22, tzinfo=UTC)
TASK = TaskRecord(
    id="t-1", name="n", parameters={"destRegistry": "r:5000"}, status=TaskStatus.STOPPING,
    schedule_type=ScheduleType.ONE_TIME, schedule_expression="", next_run_at=None,
    created_at=NOW, updated_at=NOW,
)  # fmt: skip
RUN = RunRecord(
    id="r-1", task_id="t-1", number=1, status=RunStatus.STOPPED, trigger=Trigger.MANUAL,
    created_at=NOW, started_at=NOW, ended_at=NOW, images_total=1, images_copied=0,
    images_skipped=0, images_failed=0, images_done=0, bytes_transferred=0, bytes_reused=0,
    error="", executor_id="local", heartbeat_at=None,
)  # fmt: skip


def test_status_comes_from_the_latest_run_read_with_it():
    # The task row was read just before the run ended; the run was read after.
    assert task_out(TASK, RUN).status == "STOPPED"
    assert task_out(TASK, RUN).latest_run is not None


def test_a_task_without_runs_keeps_its_own_status():
    assert task_out(replace(TASK, status=TaskStatus.CREATED), None).status == "CREATED"


def test_running_is_true_only_while_the_latest_run_is_active():
    assert task_out(TASK, replace(RUN, status=RunStatus.IN_PROGRESS)).running
    assert task_out(TASK, replace(RUN, status=RunStatus.STOPPING)).running
    assert not task_out(TASK, RUN).running
    assert not task_out(TASK, None).running
