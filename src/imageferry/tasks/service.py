"""The task service: what the CLI and the web API do to tasks, in one place.

Thin over the store (warehouse style): validation with the same rules and
messages everywhere (:class:`~imageferry.tasks.params.TaskSpec`), runs
committed before they are handed to the executor, stop that cancels cleanly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from imageferry.copy import PlannedImage
from imageferry.errors import ConfigError
from imageferry.executor.base import Executor
from imageferry.settings import Settings
from imageferry.store import Store
from imageferry.store.base import utcnow
from imageferry.store.records import (
    ImageResultRecord,
    LogRecord,
    Page,
    RunRecord,
    TaskRecord,
)
from imageferry.store.status import ImageStatus, RunStatus, ScheduleType, TaskStatus, Trigger
from imageferry.tasks.alarm_routing import alarm_warnings
from imageferry.tasks.forms import build_spec
from imageferry.tasks.on_push import PushDispatcher, PushReceipt
from imageferry.tasks.params import TaskSpec
from imageferry.tasks.push_events import PushEvent
from imageferry.tasks.schedule import first_run_at

if TYPE_CHECKING:
    from imageferry.secrets.base import SecretStore

__all__ = ["NoActiveRun", "TaskDeployed", "TaskService"]


class NoActiveRun(ConfigError):
    """A stop was asked of a task with no run in STARTING, IN_PROGRESS or STOPPING.

    A conflict with the task's state rather than bad input: the API answers
    409, the CLI prints this message as its one line.
    """

    def __init__(self, task_id: str) -> None:
        super().__init__(
            f"task {task_id!r} has no active run to stop; its runs have all ended "
            f"(`ferry task show {task_id}` lists them)"
        )
        self.task_id = task_id


class TaskDeployed(ConfigError):
    """A run was asked of a task deployed to AWS: its runs are its stack's, not ours."""

    def __init__(self, task_id: str, stack_name: str, region: str) -> None:
        super().__init__(
            f"task {task_id} is deployed to stack {stack_name} in {region}: it runs there "
            "(on its schedule, at each deploy, on pushes); start a run with `aws stepfunctions "
            "start-execution --state-machine-arn ARN` (the stack's StateMachineArn output), "
            f"and `ferry task show {task_id}` reads its runs"
        )
        self.task_id = task_id


class TaskService:
    """Create, list, start, stop, clone and delete tasks; read runs, results, logs."""

    def __init__(
        self,
        store: Store,
        executor: Executor,
        *,
        settings: Settings,
        secrets: SecretStore | None = None,
        clock: Callable[[], datetime] = utcnow,
        executor_id: str = "local",
    ) -> None:
        self.store = store
        self.executor = executor
        self.settings = settings
        self.secrets = secrets
        self._clock = clock
        self._executor_id = executor_id
        #: Push events to runs of ON_PUSH tasks; ``close()`` it with the service.
        self.pushes = PushDispatcher(store, self.start)

    # -- tasks ----------------------------------------------------------------

    @staticmethod
    def validate(parameters: Mapping[str, str]) -> TaskSpec:
        """The spec, or :class:`TaskSpecError` listing every problem."""
        return build_spec(parameters)

    def create_task(self, parameters: Mapping[str, str], name: str | None = None) -> TaskRecord:
        spec = self.validate(parameters)
        schedule = ScheduleType(spec.scheduleType)
        return self.store.create_task(
            spec.parameters(),
            name=name or spec.name,
            schedule_type=schedule,
            schedule_expression=spec.scheduleExpression,
            next_run_at=first_run_at(schedule, spec.scheduleExpression, self._clock()),
        )

    def warnings(self, parameters: Mapping[str, str]) -> list[str]:
        """What a task with these parameters should know but that does not stop it:
        an ``alarmEmail`` with no alarm backend configured to send to it."""
        return alarm_warnings(parameters, self.settings.alarm_backend)

    def list_tasks(
        self,
        status: TaskStatus | Iterable[TaskStatus] | None = None,
        offset: int = 0,
        limit: int = 50,
    ) -> Page[TaskRecord]:
        return self.store.list_tasks(status=status, offset=offset, limit=limit)

    def get_task(self, task_id: str) -> TaskRecord:
        return self.store.get_task(task_id)

    def clone(
        self,
        task_id: str,
        overrides: Mapping[str, str] | None = None,
        name: str | None = None,
    ) -> TaskRecord:
        """A new task with this task's parameters, changed by ``overrides``."""
        source = self.store.get_task(task_id)
        parameters = dict(source.parameters)
        parameters.update(overrides or {})
        if name is None and not (overrides or {}).get("name"):
            name = f"{source.name or source.id} (clone)"
        return self.create_task(parameters, name)

    def delete(self, task_id: str) -> None:
        self.store.delete_task(task_id)

    # -- runs -----------------------------------------------------------------

    def start(
        self, task_id: str, trigger: Trigger = Trigger.MANUAL, images: Sequence[str] = ()
    ) -> RunRecord:
        """Commit a run, then hand it to the executor (enqueue after commit).

        ``images`` (source references, from a push event) limits the run to
        them. A ONE_TIME task started by hand before the scheduler got to it
        has had its one run: the scheduler's pending start is taken back.
        """
        deployment = self.store.get_deployment(task_id)
        if deployment is not None:
            raise TaskDeployed(task_id, deployment.stack_name, deployment.region)
        run = self.store.create_run(task_id, trigger, executor_id=self._executor_id, images=images)
        if trigger is not Trigger.SCHEDULE:
            task = self.store.get_task(task_id)
            if task.schedule_type is ScheduleType.ONE_TIME and task.next_run_at is not None:
                self.store.set_next_run(
                    task_id, None, expected=task.next_run_at, check_expected=True
                )
        self.executor.submit(run.id)
        return run

    def stop(self, task_id: str) -> RunRecord:
        """Ask the task's active run to stop; it ends STOPPED once it has let go."""
        run = self.store.active_run(task_id)
        if run is None:
            self.store.get_task(task_id)  # TaskNotFound first, when that is the problem
            raise NoActiveRun(task_id)
        if run.status is not RunStatus.STOPPING:
            run = self.store.request_stop(run.id)
        if not self.executor.cancel(run.id):
            # Not executing here (never picked up, or its process died): end it now.
            run = self.store.finish_run(run.id)
        return run

    def receive_pushes(self, events: Sequence[PushEvent]) -> PushReceipt:
        """Start (after a short debounce) a run of each ON_PUSH task that wants a pushed image."""
        return self.pushes.receive(events)

    def runs(self, task_id: str, offset: int = 0, limit: int = 50) -> Page[RunRecord]:
        return self.store.list_runs(task_id, offset=offset, limit=limit)

    def get_run(self, run_id: str) -> RunRecord:
        return self.store.get_run(run_id)

    def latest_run(self, task_id: str) -> RunRecord | None:
        return self.store.latest_run(task_id)

    def latest_runs(self, task_ids: Iterable[str]) -> dict[str, RunRecord]:
        """The newest run of each task that has one, in one query (task lists, metrics)."""
        return self.store.latest_runs(task_ids)

    def image_results(
        self,
        run_id: str,
        search: str | None = None,
        status: ImageStatus | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> Page[ImageResultRecord]:
        return self.store.list_image_results(
            run_id, search=search, status=status, offset=offset, limit=limit
        )

    def logs(self, run_id: str, after_id: int = 0, limit: int = 1000) -> list[LogRecord]:
        return self.store.logs(run_id, after_id=after_id, limit=limit)

    async def plan(self, task_id: str) -> tuple[list[PlannedImage], list[str]]:
        """What a run would copy now, with reads only."""
        from imageferry.tasks.execution import plan_task

        task = self.store.get_task(task_id)
        return await plan_task(dict(task.parameters), self.settings, self.secrets)
