"""Retention: old runs go, with their per-image results and log lines.

A run's rows grow the store by about one result row per image (plus its log
lines), so a task copying 100,000 tags daily adds 100,000 rows a day. Keeping
the newest ``keep`` finished runs of each task bounds that. Active runs are
never touched, and neither is a task's newest run (``keep`` is at least 1), so
the console's and the CLI's "latest run" stays what it was. Results and log
lines go with their run through the foreign keys' ``ON DELETE CASCADE``.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import delete, func, select

from imageferry.store import models
from imageferry.store.base import StoreBase
from imageferry.store.status import FINISHED_RUN_STATUSES

__all__ = ["Pruned", "RetentionService"]

#: Runs per ``IN (...)`` delete: well under every database's bound-parameter limit.
_CHUNK = 500


@dataclass(frozen=True, slots=True)
class Pruned:
    """What a prune deleted."""

    runs: int = 0
    results: int = 0
    log_lines: int = 0


class RetentionService(StoreBase):
    """Retention methods of :class:`imageferry.store.Store`."""

    def prune_runs(self, keep: int, task_id: str | None = None) -> Pruned:
        """Delete each task's finished runs older than its ``keep`` newest runs.

        Runs are ranked by number within their task, active ones included, so
        ``keep=3`` leaves the three newest runs whatever their state.
        """
        if keep < 1:
            raise ValueError("keep at least one run per task")
        newest = func.row_number().over(
            partition_by=models.Run.task_id, order_by=models.Run.number.desc()
        )
        ranked = select(models.Run.id, models.Run.status, newest.label("rank"))
        if task_id is not None:
            ranked = ranked.where(models.Run.task_id == task_id)
        ranked_runs = ranked.subquery()
        finished = [s.value for s in FINISHED_RUN_STATUSES]
        total = Pruned()
        with self._write() as session:
            old = list(
                session.scalars(
                    select(ranked_runs.c.id).where(
                        ranked_runs.c.rank > keep, ranked_runs.c.status.in_(finished)
                    )
                )
            )
            for start in range(0, len(old), _CHUNK):
                chunk = old[start : start + _CHUNK]
                results = session.scalar(
                    select(func.count()).where(models.ImageResult.run_id.in_(chunk))
                )
                lines = session.scalar(select(func.count()).where(models.LogLine.run_id.in_(chunk)))
                session.execute(
                    delete(models.Run).where(models.Run.id.in_(chunk)),
                    execution_options={"synchronize_session": False},
                )
                total = Pruned(
                    total.runs + len(chunk),
                    total.results + int(results or 0),
                    total.log_lines + int(lines or 0),
                )
        return total
