"""The store of tasks, runs, per-image results, logs, users and API tokens.

SQLite under the data directory by default, PostgreSQL for shared
deployments, the same Alembic migrations for both. Everything callers need is
re-exported here::

    from imageferry.store import open_store, Trigger

    with open_store(settings) as store:
        task = store.create_task({"sourceType": "Amazon_ECR", ...}, name="nightly")
        run = store.create_run(task.id, Trigger.CLI)

The names load on first use (PEP 562), so importing a light module of the
package, such as :mod:`imageferry.store.status`, does not load SQLAlchemy.
``migrate`` is the submodule's name, so its function is
``imageferry.store.migrate.migrate``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from imageferry.lazy import lazy_exports

if TYPE_CHECKING:
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
    from imageferry.store.migrate import current_revision, head_revision
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
    "open_store",
    "unit_key",
]

_HOME = {
    "ACTIVE_RUN_STATUSES": "imageferry.store.status",
    "ApiTokenRecord": "imageferry.store.records",
    "DeploymentRecord": "imageferry.store.deployments",
    "FINISHED_RUN_STATUSES": "imageferry.store.status",
    "INTERRUPTED": "imageferry.store.runs",
    "ImageResultRecord": "imageferry.store.records",
    "ImageStatus": "imageferry.store.status",
    "ImageUnit": "imageferry.store.results",
    "LogRecord": "imageferry.store.records",
    "NewApiToken": "imageferry.store.records",
    "Page": "imageferry.store.records",
    "RunAlreadyActive": "imageferry.store.errors",
    "RunFinished": "imageferry.store.errors",
    "RunNotFound": "imageferry.store.errors",
    "RunRecord": "imageferry.store.records",
    "RunStatus": "imageferry.store.status",
    "ScheduleType": "imageferry.store.status",
    "Store": "imageferry.store.service",
    "StoreError": "imageferry.store.errors",
    "StoreUnavailable": "imageferry.store.errors",
    "TaskBusy": "imageferry.store.errors",
    "TaskNotFound": "imageferry.store.errors",
    "TaskRecord": "imageferry.store.records",
    "TaskStatus": "imageferry.store.status",
    "Trigger": "imageferry.store.status",
    "UnitResult": "imageferry.store.results",
    "UserExists": "imageferry.store.errors",
    "UserNotFound": "imageferry.store.errors",
    "UserRecord": "imageferry.store.records",
    "current_revision": "imageferry.store.migrate",
    "head_revision": "imageferry.store.migrate",
    "open_store": "imageferry.store.service",
    "unit_key": "imageferry.store.ids",
}


__getattr__ = lazy_exports(__name__, _HOME)
