"""The part every store service shares: transactions, the clock and row lookups.

Each public store method runs in exactly one transaction and hands back plain
records (:mod:`imageferry.store.records`). Writes go through :meth:`_write`,
which on SQLite takes the write lock at BEGIN and on PostgreSQL relies on row
locks (``SELECT ... FOR UPDATE``) taken by the methods that need them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

from sqlalchemy import Engine, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from imageferry.errors import ConfigError
from imageferry.store import models
from imageferry.store.engine import WRITE_OPTION, safe_url
from imageferry.store.errors import RunNotFound, StoreUnavailable, TaskNotFound

__all__ = ["MAX_PAGE", "Clock", "StoreBase", "page_bounds", "utcnow"]

Clock = Callable[[], datetime]


#: The largest page a listing returns, whatever the caller asks for.
MAX_PAGE = 500


def utcnow() -> datetime:
    return datetime.now(UTC)


def page_bounds(offset: int, limit: int) -> tuple[int, int]:
    """Checked paging arguments, with ``limit`` capped at :data:`MAX_PAGE`."""
    if offset < 0 or limit < 1:
        raise ConfigError(f"invalid page offset={offset} limit={limit}; use offset>=0, limit>=1")
    return offset, min(limit, MAX_PAGE)


class StoreBase:
    """Session factories over one engine, shared by the store's service mixins."""

    def __init__(self, engine: Engine, *, clock: Clock = utcnow) -> None:
        self._engine = engine
        self._clock = clock
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(
            engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )

    @property
    def engine(self) -> Engine:
        return self._engine

    def _now(self) -> datetime:
        return self._clock()

    def ping(self) -> None:
        """Reach the database once; :class:`StoreUnavailable` when it cannot be."""
        with self._translate(), self._engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with self._translate(), self._reads.begin() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._translate(), self._writes.begin() as session:
            yield session

    @contextmanager
    def _translate(self) -> Iterator[None]:
        """Turn "cannot talk to the database" into one clear :class:`StoreUnavailable`.

        Integrity errors are left alone: the methods that expect them translate
        them into domain errors (e.g. :class:`RunAlreadyActive`).
        """
        try:
            yield
        except IntegrityError:
            raise
        except DBAPIError as e:
            cause = " ".join(str(e.orig).split())  # psycopg adds its hint on a line of its own
            raise StoreUnavailable(
                f"the store at {safe_url(self._engine.url)} failed: {cause}; "
                "check that the database is reachable and not full"
            ) from e

    @staticmethod
    def _task_row(session: Session, task_id: str, *, lock: bool = False) -> models.Task:
        query = select(models.Task).where(models.Task.id == task_id)
        if lock:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise TaskNotFound(task_id)
        return row

    @staticmethod
    def _run_row(session: Session, run_id: str, *, lock: bool = False) -> models.Run:
        query = select(models.Run).where(models.Run.id == run_id)
        if lock:
            query = query.with_for_update()
        row = session.scalars(query).one_or_none()
        if row is None:
            raise RunNotFound(run_id)
        return row
