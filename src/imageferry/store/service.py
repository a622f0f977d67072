"""The store: one object the CLI, the API, the scheduler and the executor share.

``Store`` combines the task, run, result and user services over one engine.
It is thread-safe (a session per call) and returns frozen records only.
Open it with :func:`open_store`, which runs the migrations first, so a fresh
SQLite file or an empty PostgreSQL database is ready to use.
"""

from __future__ import annotations

from types import TracebackType

from sqlalchemy import Engine
from sqlalchemy.engine import URL

from imageferry.settings import Settings
from imageferry.store.base import Clock, utcnow
from imageferry.store.deployments import DeploymentService
from imageferry.store.engine import make_engine
from imageferry.store.migrate import migrate as run_migrations
from imageferry.store.results import ResultService
from imageferry.store.retention import RetentionService
from imageferry.store.runs import RunService
from imageferry.store.tasks import TaskService
from imageferry.store.users import UserService

__all__ = ["Store", "open_store"]


class Store(
    TaskService, RunService, ResultService, RetentionService, UserService, DeploymentService
):
    """Tasks, runs, per-image results, logs, users, API tokens and deployments in one database.

    ``target`` is :class:`Settings` (its ``resolved_database_url``), a URL, or
    an existing engine (which the caller keeps owning). With ``migrate=True``
    the schema is upgraded to the newest revision first.
    """

    def __init__(
        self,
        target: Settings | str | URL | Engine,
        *,
        migrate: bool = True,
        clock: Clock = utcnow,
    ) -> None:
        if isinstance(target, Engine):
            engine, self._owns_engine = target, False
        else:
            url = target.resolved_database_url if isinstance(target, Settings) else target
            engine, self._owns_engine = make_engine(url), True
        super().__init__(engine, clock=clock)
        if migrate:
            try:
                run_migrations(engine)
            except BaseException:
                self.close()
                raise

    def close(self) -> None:
        """Release the connections (only those of an engine the store made itself)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def open_store(settings: Settings | None = None, *, migrate: bool = True) -> Store:
    """The store configured by ``settings`` (from the environment when omitted), migrated."""
    return Store(settings if settings is not None else Settings(), migrate=migrate)
