"""Runs: one execution of a task, its status and its truthful end.

Life of a run::

    create_run ─► STARTING ─► IN_PROGRESS ─► finish_run ─► DONE | ERROR
                      │             │
                      └─ request_stop ─► STOPPING ─► finish_run ─► STOPPED

``create_run`` commits the row before any work starts (enqueue after commit),
so an executor, in this process or another, loads the run by id. At most one
run per task is active (STARTING, IN_PROGRESS or STOPPING): a partial unique
index enforces it in the database, and ``create_run`` checks under a lock on
the task row first to report it nicely.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ColumnElement, func, literal, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import FunctionElement

from imageferry.store import models
from imageferry.store.base import StoreBase, page_bounds
from imageferry.store.errors import RunAlreadyActive, RunFinished, StoreError
from imageferry.store.ids import new_run_id
from imageferry.store.records import Page, RunRecord, run_record
from imageferry.store.status import (
    ACTIVE_RUN_STATUSES,
    FINISHED_RUN_STATUSES,
    ImageStatus,
    RunStatus,
    Trigger,
)

__all__ = ["INTERRUPTED", "RunService", "recount", "store_bytes"]

#: The note a run carries when a restart found it active and ended it.
INTERRUPTED = "interrupted by restart"

_ACTIVE = [s.value for s in ACTIVE_RUN_STATUSES]


def recount(session: Session, run: models.Run) -> None:
    """Bring the run's counters in step with its image results.

    Counting from the rows (not incrementing) keeps recording idempotent: the
    same result recorded twice counts once. Callers hold the run row lock.
    """
    rows = session.execute(
        select(
            models.ImageResult.status,
            func.count(),
            func.coalesce(func.sum(models.ImageResult.bytes_transferred), 0),
            func.coalesce(func.sum(models.ImageResult.bytes_reused), 0),
        )
        .where(models.ImageResult.run_id == run.id)
        .group_by(models.ImageResult.status)
    ).all()
    by_status = {ImageStatus(status): count for status, count, _, _ in rows}
    run.images_copied = by_status.get(ImageStatus.COPIED, 0)
    run.images_skipped = by_status.get(ImageStatus.SKIPPED, 0)
    run.images_failed = by_status.get(ImageStatus.FAILED, 0)
    run.images_done = run.images_copied + run.images_skipped + run.images_failed
    run.images_total = max(run.images_total, sum(by_status.values()))
    run.bytes_transferred = int(sum(row[2] for row in rows))
    run.bytes_reused = int(sum(row[3] for row in rows))


class _octets(FunctionElement[int]):
    """Bytes of a text value in UTF-8 (PostgreSQL's ``octet_length``)."""

    type = BigInteger()
    inherit_cache = True


@compiles(_octets)
def _octets_default(element: _octets, compiler: SQLCompiler, **kw: Any) -> str:
    return f"octet_length({compiler.process(element.clauses, **kw)})"


@compiles(_octets, "sqlite")
def _octets_sqlite(element: _octets, compiler: SQLCompiler, **kw: Any) -> str:
    # SQLite's length() counts characters of text, bytes of a blob.
    return f"length(CAST({compiler.process(element.clauses, **kw)} AS BLOB))"


#: Each number and time in a row (ids, counters, timestamps) counted as 8 bytes.
_NUMBER = 8


def _text_bytes(*columns: InstrumentedAttribute[str]) -> ColumnElement[int]:
    total: ColumnElement[int] = literal(0, BigInteger())
    for column in columns:
        total = total + _octets(column)
    return total


def store_bytes(session: Session, run_id: str) -> int:
    """What the run's image results and log lines hold, in bytes.

    Their text in UTF-8 plus 8 bytes for each number and time: the data the
    run adds, before the database's own per-row, page and index overhead
    (which on SQLite about doubles it; ``bench/bench_task_run.py`` shows both).
    """
    r, line = models.ImageResult, models.LogLine
    texts = (r.run_id, r.unit_key, r.source, r.destination, r.digest, r.status, r.error)
    results = select(func.coalesce(func.sum(_text_bytes(*texts) + 6 * _NUMBER), 0)).where(
        r.run_id == run_id
    )
    lines = select(
        func.coalesce(func.sum(_text_bytes(line.run_id, line.level, line.message) + 3 * _NUMBER), 0)
    ).where(line.run_id == run_id)
    return int(session.scalar(results) or 0) + int(session.scalar(lines) or 0)


def _sync_task(session: Session, run: models.Run, now: datetime) -> None:
    """A task's status is its latest run's."""
    latest = session.scalar(
        select(func.max(models.Run.number)).where(models.Run.task_id == run.task_id)
    )
    if latest == run.number:
        session.execute(
            update(models.Task)
            .where(models.Task.id == run.task_id)
            .values(status=run.status, updated_at=now),
            execution_options={"synchronize_session": False},
        )


def _release_running(session: Session, run_id: str, now: datetime) -> None:
    """Units still marked running did not finish: they go back to pending for a later run."""
    session.execute(
        update(models.ImageResult)
        .where(
            models.ImageResult.run_id == run_id,
            models.ImageResult.status == ImageStatus.RUNNING.value,
        )
        .values(status=ImageStatus.PENDING.value, updated_at=now),
        execution_options={"synchronize_session": False},
    )


def _count_units(session: Session, run_id: str, statuses: Sequence[str]) -> int:
    return (
        session.scalar(
            select(func.count())
            .select_from(models.ImageResult)
            .where(models.ImageResult.run_id == run_id, models.ImageResult.status.in_(statuses))
        )
        or 0
    )


def _finish_row(session: Session, row: models.Run, error: str, now: datetime) -> None:
    """Give a locked active run its final status (see :meth:`RunService.finish_run`)."""
    _release_running(session, row.id, now)
    recount(session, row)
    unfinished = row.images_total - row.images_done
    row.error = _summary(row, error)
    if row.status == RunStatus.STOPPING.value:
        row.status = RunStatus.STOPPED.value
    elif error or row.images_failed or unfinished > 0:
        row.status = RunStatus.ERROR.value
    else:
        row.status = RunStatus.DONE.value
    row.ended_at = now
    row.store_bytes = store_bytes(session, row.id)
    _sync_task(session, row, now)
    session.flush()


def _summary(run: models.Run, reason: str = "") -> str:
    """The error summary users read first: what went wrong and how many images."""
    parts = [reason] if reason else []
    if run.images_failed:
        parts.append(f"{run.images_failed} of {run.images_total} images failed")
    unfinished = run.images_total - run.images_done
    if unfinished > 0:
        parts.append(f"{unfinished} of {run.images_total} images not finished")
    return "; ".join(parts)


class RunService(StoreBase):
    """Run methods of :class:`imageferry.store.Store`."""

    def create_run(
        self,
        task_id: str,
        trigger: Trigger = Trigger.MANUAL,
        *,
        executor_id: str = "",
        images: Sequence[str] = (),
    ) -> RunRecord:
        """Commit a new STARTING run of the task, or raise :class:`RunAlreadyActive`.

        ``images`` (source references) limits the run to those images, as a push
        event's run is; empty means the task's whole selection.
        """
        now = self._now()
        try:
            with self._write() as session:
                task = self._task_row(session, task_id, lock=True)
                active = self._active_row(session, task_id)
                if active is not None:
                    raise RunAlreadyActive(task_id, active.id)
                last = session.scalar(
                    select(func.max(models.Run.number)).where(models.Run.task_id == task_id)
                )
                row = models.Run(
                    id=new_run_id(),
                    task_id=task_id,
                    number=(last or 0) + 1,
                    status=RunStatus.STARTING.value,
                    trigger=Trigger(trigger).value,
                    created_at=now,
                    started_at=now,
                    executor_id=executor_id,
                    heartbeat_at=now,
                    images=list(images) or None,
                )
                session.add(row)
                session.flush()
                task.status = row.status
                task.updated_at = now
                return run_record(row)
        except IntegrityError as e:
            # Lost a race that the task-row lock did not cover: report who won.
            winner = self.active_run(task_id)
            if winner is not None:
                raise RunAlreadyActive(task_id, winner.id) from e
            raise StoreError(
                f"could not start a run of task {task_id!r} because another run was being "
                "created at the same time; try again"
            ) from e

    def get_run(self, run_id: str) -> RunRecord:
        """The run, or :class:`RunNotFound`."""
        with self._read() as session:
            return run_record(self._run_row(session, run_id))

    def list_runs(self, task_id: str, *, offset: int = 0, limit: int = 50) -> Page[RunRecord]:
        """The task's runs, newest first."""
        offset, limit = page_bounds(offset, limit)
        with self._read() as session:
            self._task_row(session, task_id)
            total = (
                session.scalar(
                    select(func.count())
                    .select_from(models.Run)
                    .where(models.Run.task_id == task_id)
                )
                or 0
            )
            rows = session.scalars(
                select(models.Run)
                .where(models.Run.task_id == task_id)
                .order_by(models.Run.number.desc())
                .offset(offset)
                .limit(limit)
            )
            return Page(tuple(run_record(r) for r in rows), total, offset, limit)

    def latest_run(self, task_id: str) -> RunRecord | None:
        """The task's newest run, or None before its first."""
        return self.latest_runs([task_id]).get(task_id)

    def latest_runs(self, task_ids: Iterable[str]) -> dict[str, RunRecord]:
        """The newest run of each task that has one, in one query (for task lists)."""
        ids = list(task_ids)
        if not ids:
            return {}
        newest = (
            select(models.Run.task_id, func.max(models.Run.number).label("number"))
            .where(models.Run.task_id.in_(ids))
            .group_by(models.Run.task_id)
            .subquery()
        )
        with self._read() as session:
            rows = session.scalars(
                select(models.Run).join(
                    newest,
                    (models.Run.task_id == newest.c.task_id)
                    & (models.Run.number == newest.c.number),
                )
            )
            return {r.task_id: run_record(r) for r in rows}

    def active_run(self, task_id: str) -> RunRecord | None:
        """The task's run in STARTING, IN_PROGRESS or STOPPING, if any."""
        with self._read() as session:
            row = self._active_row(session, task_id)
            return run_record(row) if row is not None else None

    def active_runs(self) -> list[RunRecord]:
        """Every run in STARTING, IN_PROGRESS or STOPPING, oldest first."""
        with self._read() as session:
            rows = session.scalars(
                select(models.Run).where(models.Run.status.in_(_ACTIVE)).order_by(models.Run.id)
            )
            return [run_record(r) for r in rows]

    def set_run_status(self, run_id: str, status: RunStatus) -> RunRecord:
        """Move an active run to IN_PROGRESS or STOPPING.

        A stop request wins: a run already STOPPING stays STOPPING when its
        executor reports IN_PROGRESS late. Final statuses come only from
        :meth:`finish_run`, which computes them from the results.
        """
        status = RunStatus(status)
        if status in FINISHED_RUN_STATUSES or status is RunStatus.STARTING:
            raise ValueError(f"set_run_status cannot set {status}; use finish_run")
        now = self._now()
        with self._write() as session:
            row = self._run_row(session, run_id, lock=True)
            if row.status in {s.value for s in FINISHED_RUN_STATUSES}:
                raise RunFinished(run_id, row.status)
            if row.status != RunStatus.STOPPING.value:
                row.status = status.value
                row.heartbeat_at = now
                _sync_task(session, row, now)
            session.flush()
            return run_record(row)

    def request_stop(self, run_id: str) -> RunRecord:
        """Ask an active run to stop (STOPPING); a finished run is returned unchanged."""
        now = self._now()
        with self._write() as session:
            row = self._run_row(session, run_id, lock=True)
            if row.status in _ACTIVE and row.status != RunStatus.STOPPING.value:
                row.status = RunStatus.STOPPING.value
                _sync_task(session, row, now)
                session.flush()
            return run_record(row)

    def heartbeat(self, run_id: str, executor_id: str | None = None) -> RunRecord:
        """Record that the executor working on the run is alive."""
        with self._write() as session:
            row = self._run_row(session, run_id, lock=True)
            row.heartbeat_at = self._now()
            if executor_id is not None:
                row.executor_id = executor_id
            session.flush()
            return run_record(row)

    def set_images_total(self, run_id: str, total: int) -> RunRecord:
        """Declare how many images the run will handle, once it has listed them."""
        with self._write() as session:
            row = self._run_row(session, run_id, lock=True)
            row.images_total = total
            recount(session, row)
            session.flush()
            return run_record(row)

    def finish_run(self, run_id: str, *, error: str = "") -> RunRecord:
        """End the run with the status its results deserve.

        STOPPED if a stop was requested; else ERROR if ``error`` is given (the
        run itself failed, e.g. listing the source) or any image failed or did
        not finish, with the counts in the summary; else DONE. Finishing a
        finished run returns it unchanged.
        """
        now = self._now()
        with self._write() as session:
            row = self._run_row(session, run_id, lock=True)
            if row.status in {s.value for s in FINISHED_RUN_STATUSES}:
                return run_record(row)
            _finish_row(session, row, error, now)
            return run_record(row)

    def finish_if_complete(self, run_id: str, *, stop_grace: float = 30.0) -> RunRecord | None:
        """End the run if nothing is left to do; the finished run, or None.

        For distributed executors, whose workers each call it after a batch: an
        IN_PROGRESS run ends once every unit is final; a STOPPING run once no
        unit is running any more (or nothing was recorded for ``stop_grace``
        seconds: its workers died). Under the run row's lock, so exactly one
        caller gets the finished run (and sends its alarm); the others None.
        """
        now = self._now()
        with self._write() as session:
            row = self._run_row(session, run_id, lock=True)
            if row.status == RunStatus.IN_PROGRESS.value:
                waiting = [ImageStatus.PENDING.value, ImageStatus.RUNNING.value]
            elif row.status == RunStatus.STOPPING.value:
                waiting = [ImageStatus.RUNNING.value]
                quiet = (
                    row.heartbeat_at is not None
                    and (now - row.heartbeat_at).total_seconds() > stop_grace
                )
                if quiet:
                    waiting = []
            else:
                return None
            if waiting and _count_units(session, run_id, waiting):
                return None
            _finish_row(session, row, "", now)
            return run_record(row)

    def mark_interrupted_runs(
        self,
        *,
        executor_id: str | None = None,
        heartbeat_before: datetime | None = None,
        stopping_only: bool = False,
    ) -> list[RunRecord]:
        """End runs left active by a process that died; call at start-up.

        With no argument every active run is ended (the embedded single-process
        deployment). With ``executor_id`` only that executor's runs; with
        ``heartbeat_before`` only runs silent since then (shared deployments,
        where other processes' runs are alive). Interrupted runs end in ERROR
        (STOPPED if a stop had been requested) with the note "interrupted by
        restart"; their unfinished images stay pending. With ``stopping_only``
        only runs asked to stop are ended (the others are resumed, see
        :meth:`resume_interrupted_runs`).
        """
        now = self._now()
        statuses = [RunStatus.STOPPING.value] if stopping_only else _ACTIVE
        query = select(models.Run).where(models.Run.status.in_(statuses))
        conditions = []
        if executor_id is not None:
            conditions.append(models.Run.executor_id == executor_id)
        if heartbeat_before is not None:
            conditions.append(
                func.coalesce(models.Run.heartbeat_at, models.Run.created_at) < heartbeat_before
            )
        if conditions:
            query = query.where(or_(*conditions))
        ended: list[RunRecord] = []
        with self._write() as session:
            for row in session.scalars(query.order_by(models.Run.id).with_for_update()).all():
                _release_running(session, row.id, now)
                recount(session, row)
                row.error = _summary(row, INTERRUPTED)
                stopping = row.status == RunStatus.STOPPING.value
                row.status = (RunStatus.STOPPED if stopping else RunStatus.ERROR).value
                row.ended_at = now
                row.store_bytes = store_bytes(session, row.id)
                _sync_task(session, row, now)
                session.flush()
                ended.append(run_record(row))
        return ended

    def resume_interrupted_runs(self) -> list[RunRecord]:
        """Take back the runs a process that died left STARTING or IN_PROGRESS.

        For the embedded single-process deployment, at start-up, after the
        runs asked to stop were ended (``mark_interrupted_runs(stopping_only=True)``).
        Units left running go back to pending; units already final stay as
        recorded. The runs stay active, with a fresh heartbeat and a log line,
        for the caller to hand to its executor again.
        """
        now = self._now()
        query = (
            select(models.Run)
            .where(models.Run.status.in_([RunStatus.STARTING.value, RunStatus.IN_PROGRESS.value]))
            .order_by(models.Run.id)
            .with_for_update()
        )
        resumed: list[RunRecord] = []
        with self._write() as session:
            for row in session.scalars(query).all():
                _release_running(session, row.id, now)
                recount(session, row)
                row.heartbeat_at = now
                row.log_seq += 1
                left = max(row.images_total - row.images_done, 0)
                session.add(
                    models.LogLine(
                        run_id=row.id,
                        seq=row.log_seq,
                        ts=now,
                        level="WARNING",
                        message=(
                            f"resumed after a restart: {row.images_done} of {row.images_total} "
                            f"images already final, {left} to go"
                        ),
                    )
                )
                session.flush()
                resumed.append(run_record(row))
        return resumed

    @staticmethod
    def _active_row(session: Session, task_id: str) -> models.Run | None:
        return session.scalars(
            select(models.Run).where(models.Run.task_id == task_id, models.Run.status.in_(_ACTIVE))
        ).one_or_none()
