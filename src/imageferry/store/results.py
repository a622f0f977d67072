"""Per-image results and run logs.

Each image copy is an addressable work unit keyed by ``(run_id, unit_key)``.
Recording results is an upsert under the run row's lock, and the run's
counters are recounted from the rows in the same transaction, so an executor
that retries or reports twice never double-counts. Executors record results
in batches (:meth:`ResultService.record_results`): one transaction for many
units and their log lines, so a run's bookkeeping costs little next to its
copies.

Log lines carry a per-run sequence number assigned under the same lock, so
the order of ``seq`` is the order of commits and a follower asking for
"everything after seq N" never misses a line that commits late.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from imageferry.store import models
from imageferry.store.base import StoreBase, page_bounds
from imageferry.store.errors import RunFinished
from imageferry.store.ids import unit_key as make_unit_key
from imageferry.store.records import (
    ImageResultRecord,
    LogRecord,
    Page,
    image_result_record,
    log_record,
)
from imageferry.store.runs import recount
from imageferry.store.status import FINISHED_RUN_STATUSES, ImageStatus

__all__ = ["MAX_ERROR_CHARS", "ImageUnit", "LogLevel", "ResultService", "UnitResult"]

#: Errors longer than this are cut: the first lines say what went wrong.
MAX_ERROR_CHARS = 4000

LogLevel = str

_FINISHED = {s.value for s in FINISHED_RUN_STATUSES}


@dataclass(frozen=True, slots=True)
class ImageUnit:
    """One planned image copy: what the planner hands the store before copying."""

    source: str
    destination: str
    unit_key: str = ""

    @property
    def key(self) -> str:
        return self.unit_key or make_unit_key(self.source, self.destination)


@dataclass(frozen=True, slots=True)
class UnitResult:
    """The state of one work unit as its executor reports it (running, or its outcome)."""

    source: str
    destination: str
    status: ImageStatus
    unit_key: str = ""
    digest: str = ""
    bytes_transferred: int = 0
    bytes_reused: int = 0
    seconds: float = 0.0
    attempts: int = 0
    error: str = ""

    @property
    def key(self) -> str:
        return self.unit_key or make_unit_key(self.source, self.destination)

    def values(self, now: datetime) -> dict[str, Any]:
        """The columns of its row (all but the run and the key)."""
        return {
            "source": self.source,
            "destination": self.destination,
            "status": ImageStatus(self.status).value,
            "digest": self.digest,
            "bytes_transferred": self.bytes_transferred,
            "bytes_reused": self.bytes_reused,
            "seconds": self.seconds,
            "attempts": self.attempts,
            "error": self.error[:MAX_ERROR_CHARS],
            "updated_at": now,
        }


#: Keys per ``IN (...)`` lookup: well under every database's bound-parameter limit.
_LOOKUP_CHUNK = 500


def _upsert(session: Session, run_id: str, results: Iterable[UnitResult], now: datetime) -> None:
    """Insert or update one row per unit key (the last result of a key wins).

    The caller holds the run row's lock, so no other writer adds rows to this
    run between the lookup and the writes.
    """
    latest = {r.key: r for r in results}
    keys = list(latest)
    ids: dict[str, int] = {}
    for start in range(0, len(keys), _LOOKUP_CHUNK):
        chunk = keys[start : start + _LOOKUP_CHUNK]
        found = session.execute(
            select(models.ImageResult.unit_key, models.ImageResult.id).where(
                models.ImageResult.run_id == run_id, models.ImageResult.unit_key.in_(chunk)
            )
        )
        ids.update((key, row_id) for key, row_id in found)
    updates = [{"id": ids[k], **r.values(now)} for k, r in latest.items() if k in ids]
    inserts = [
        {"run_id": run_id, "unit_key": k, **r.values(now)}
        for k, r in latest.items()
        if k not in ids
    ]
    if updates:
        session.execute(update(models.ImageResult), updates)
    if inserts:
        session.execute(insert(models.ImageResult), inserts)


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class ResultService(StoreBase):
    """Image-result and log methods of :class:`imageferry.store.Store`."""

    def add_pending_images(self, run_id: str, units: Iterable[ImageUnit]) -> int:
        """Record the planned units as pending (existing ones are left as they are).

        Returns the number of units newly added; the run's total grows to match.
        """
        now = self._now()
        with self._write() as session:
            run = self._run_row(session, run_id, lock=True)
            if run.status in _FINISHED:
                raise RunFinished(run_id, run.status)
            known = set(
                session.scalars(
                    select(models.ImageResult.unit_key).where(models.ImageResult.run_id == run_id)
                )
            )
            rows = []
            for unit in units:
                if unit.key in known:
                    continue
                known.add(unit.key)
                rows.append(
                    {
                        "run_id": run_id,
                        "unit_key": unit.key,
                        "source": unit.source,
                        "destination": unit.destination,
                        "status": ImageStatus.PENDING.value,
                        "updated_at": now,
                    }
                )
            if rows:
                session.execute(insert(models.ImageResult), rows)
            recount(session, run)
        return len(rows)

    def unfinished_units(self, run_id: str, keys: Iterable[str] | None = None) -> list[ImageUnit]:
        """The run's units still pending or running (of ``keys`` only, when given).

        What a worker handed a batch of keys still has to copy, and what a
        restarted server hands its workers again; in source order.
        """
        query = select(models.ImageResult).where(
            models.ImageResult.run_id == run_id,
            models.ImageResult.status.in_([ImageStatus.PENDING.value, ImageStatus.RUNNING.value]),
        )
        wanted = None if keys is None else list(keys)
        found: list[ImageUnit] = []
        with self._read() as session:
            self._run_row(session, run_id)
            chunks = (
                [None]
                if wanted is None
                else [wanted[i : i + _LOOKUP_CHUNK] for i in range(0, len(wanted), _LOOKUP_CHUNK)]
            )
            for chunk in chunks:
                q = query if chunk is None else query.where(models.ImageResult.unit_key.in_(chunk))
                rows = session.scalars(
                    q.order_by(models.ImageResult.source, models.ImageResult.destination)
                )
                found += [ImageUnit(r.source, r.destination, r.unit_key) for r in rows]
        return found

    def record_image_result(
        self,
        run_id: str,
        *,
        source: str,
        destination: str,
        status: ImageStatus,
        unit_key: str = "",
        digest: str = "",
        bytes_transferred: int = 0,
        bytes_reused: int = 0,
        seconds: float = 0.0,
        attempts: int = 0,
        error: str = "",
    ) -> ImageResultRecord:
        """Insert or update the result of one unit and recount the run.

        ``unit_key`` defaults to :func:`imageferry.store.ids.unit_key` of
        source and destination. A result for a finished run is refused
        (:class:`RunFinished`): its status was computed from its results.
        """
        result = UnitResult(
            source,
            destination,
            status,
            unit_key,
            digest,
            bytes_transferred,
            bytes_reused,
            seconds,
            attempts,
            error,
        )
        with self._write() as session:
            self._record(session, run_id, [result], ())
            row = session.scalars(
                select(models.ImageResult).where(
                    models.ImageResult.run_id == run_id,
                    models.ImageResult.unit_key == result.key,
                )
            ).one()
            return image_result_record(row)

    def record_results(
        self,
        run_id: str,
        results: Sequence[UnitResult],
        logs: Sequence[tuple[LogLevel, str]] = (),
    ) -> None:
        """Record a batch of units' states and log lines in one transaction.

        Each unit's row is upserted by ``(run, unit key)``, so a batch recorded
        twice (an executor retrying after a lost reply) leaves the same rows.
        The run is recounted once for the batch. A finished run refuses it
        (:class:`RunFinished`).
        """
        with self._write() as session:
            self._record(session, run_id, results, logs)

    def _record(
        self,
        session: Session,
        run_id: str,
        results: Sequence[UnitResult],
        logs: Sequence[tuple[LogLevel, str]],
    ) -> None:
        now = self._now()
        run = self._run_row(session, run_id, lock=True)
        if run.status in _FINISHED:
            raise RunFinished(run_id, run.status)
        if results:
            _upsert(session, run_id, results, now)
            recount(session, run)
        if logs:
            first = run.log_seq + 1
            run.log_seq += len(logs)
            session.execute(
                insert(models.LogLine),
                [
                    {"run_id": run_id, "seq": seq, "ts": now, "level": level, "message": message}
                    for seq, (level, message) in enumerate(logs, start=first)
                ],
            )
        run.heartbeat_at = now
        session.flush()

    def list_image_results(
        self,
        run_id: str,
        *,
        search: str | None = None,
        status: ImageStatus | Iterable[ImageStatus] | None = None,
        offset: int = 0,
        limit: int = 500,
    ) -> Page[ImageResultRecord]:
        """The run's results in source order; ``search`` matches source, destination or digest."""
        offset, limit = page_bounds(offset, limit)
        query = select(models.ImageResult).where(models.ImageResult.run_id == run_id)
        if status is not None:
            wanted = [status] if isinstance(status, ImageStatus) else list(status)
            query = query.where(
                models.ImageResult.status.in_([ImageStatus(s).value for s in wanted])
            )
        if search:
            pattern = _like(search)
            query = query.where(
                or_(
                    models.ImageResult.source.ilike(pattern, escape="\\"),
                    models.ImageResult.destination.ilike(pattern, escape="\\"),
                    models.ImageResult.digest.ilike(pattern, escape="\\"),
                )
            )
        with self._read() as session:
            self._run_row(session, run_id)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(models.ImageResult.source, models.ImageResult.destination)
                .offset(offset)
                .limit(limit)
            )
            return Page(tuple(image_result_record(r) for r in rows), total, offset, limit)

    def append_log(self, run_id: str, level: LogLevel, message: str) -> LogRecord:
        """Append one line to the run's log and return it with its sequence number."""
        return self.append_logs(run_id, [(level, message)])[0]

    def append_logs(self, run_id: str, lines: Iterable[tuple[LogLevel, str]]) -> list[LogRecord]:
        """Append several lines in one transaction (executors batch their output)."""
        now = self._now()
        with self._write() as session:
            run = self._run_row(session, run_id, lock=True)
            rows = []
            for level, message in lines:
                run.log_seq += 1
                row = models.LogLine(
                    run_id=run_id, seq=run.log_seq, ts=now, level=level, message=message
                )
                session.add(row)
                rows.append(row)
            session.flush()
            return [log_record(r) for r in rows]

    def logs(self, run_id: str, *, after_id: int = 0, limit: int = 1000) -> list[LogRecord]:
        """The run's log lines with ``seq > after_id``, oldest first.

        To follow a log, pass the last ``seq`` seen as ``after_id`` and poll
        (the API shows ``seq`` as the line's id).
        """
        with self._read() as session:
            self._run_row(session, run_id)
            rows = session.scalars(
                select(models.LogLine)
                .where(models.LogLine.run_id == run_id, models.LogLine.seq > after_id)
                .order_by(models.LogLine.seq)
                .limit(max(1, min(limit, 10_000)))
            )
            return [log_record(r) for r in rows]
