"""The store of tasks, runs, per-image results, logs, users and API tokens.

SQLite under the data directory by default, PostgreSQL for shared
deployments, the same Alembic migrations for both. Everything callers need is
re-exported here::

    from imageferry.store import open_store, Trigger

    with open_store(settings) as store:
        task = store.create_task({"sourceType": "Amazon_ECR", ...}, name="nightly")
        run = store.create_run(task.id, Trigger.CLI)
"""

from imageferry.store.deployments import DeploymentRecord
from imageferry.store.errors import (
    RunAlreadyActive,
    RunFinished,
    RunNotFound,
    StoreError,
    StoreUnavailable,
    TaskBusy,
    TaskNotFound,
    UserExists,
    UserNotFound,
)
from imageferry.store.ids import unit_key
from imageferry.store.migrate import current_revision, head_revision, migrate
from imageferry.store.records import (
    ApiTokenRecord,
    ImageResultRecord,
    LogRecord,
    NewApiToken,
    Page,
    RunRecord,
    TaskRecord,
    UserRecord,
)
from imageferry.store.results import ImageUnit, UnitResult
from imageferry.store.runs import INTERRUPTED
from imageferry.store.service import Store, open_store
from imageferry.store.status import (
    ACTIVE_RUN_STATUSES,
    FINISHED_RUN_STATUSES,
    ImageStatus,
    RunStatus,
    ScheduleType,
    TaskStatus,
    Trigger,
)

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "FINISHED_RUN_STATUSES",
    "INTERRUPTED",
    "ApiTokenRecord",
    "DeploymentRecord",
    "ImageResultRecord",
    "ImageStatus",
    "ImageUnit",
    "LogRecord",
    "NewApiToken",
    "Page",
    "RunAlreadyActive",
    "RunFinished",
    "RunNotFound",
    "RunRecord",
    "RunStatus",
    "ScheduleType",
    "Store",
    "StoreError",
    "StoreUnavailable",
    "TaskBusy",
    "TaskNotFound",
    "TaskRecord",
    "TaskStatus",
    "Trigger",
    "UnitResult",
    "UserExists",
    "UserNotFound",
    "UserRecord",
    "current_revision",
    "head_revision",
    "migrate",
    "open_store",
    "unit_key",
]
