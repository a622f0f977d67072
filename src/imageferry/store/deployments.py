"""Deployments: a task's AWS stack (name, region, id and the options it was deployed with).

One row per task at most: deploying again replaces it. Deleting the task
deletes its row (the stack itself stays in AWS: deleting it is the user's call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from imageferry.store import models
from imageferry.store.base import StoreBase

__all__ = ["DeploymentRecord", "DeploymentService"]


@dataclass(frozen=True, slots=True)
class DeploymentRecord:
    task_id: str
    target: str
    stack_name: str
    region: str
    stack_id: str
    worker_count: int
    image_uri: str
    deployed_at: datetime


def _record(row: models.Deployment) -> DeploymentRecord:
    return DeploymentRecord(
        task_id=row.task_id,
        target=row.target,
        stack_name=row.stack_name,
        region=row.region,
        stack_id=row.stack_id,
        worker_count=row.worker_count,
        image_uri=row.image_uri,
        deployed_at=row.deployed_at,
    )


class DeploymentService(StoreBase):
    """Deployment methods of :class:`imageferry.store.Store`."""

    def set_deployment(
        self,
        task_id: str,
        *,
        stack_name: str,
        region: str,
        stack_id: str,
        worker_count: int,
        image_uri: str,
        target: str = "aws",
    ) -> DeploymentRecord:
        """Record (or replace) where the task is deployed."""
        with self._write() as session:
            self._task_row(session, task_id, lock=True)  # TaskNotFound
            row = session.get(models.Deployment, task_id) or models.Deployment(task_id=task_id)
            row.target = target
            row.stack_name = stack_name
            row.region = region
            row.stack_id = stack_id
            row.worker_count = worker_count
            row.image_uri = image_uri
            row.deployed_at = self._now()
            session.add(row)
            session.flush()
            return _record(row)

    def get_deployment(self, task_id: str) -> DeploymentRecord | None:
        """The task's deployment, or None when it has never been deployed."""
        with self._read() as session:
            row = session.scalar(
                select(models.Deployment).where(models.Deployment.task_id == task_id)
            )
            return _record(row) if row is not None else None

    def stack_owner(self, stack_name: str, region: str) -> DeploymentRecord | None:
        """The deployment of the task recorded on stack ``stack_name`` in ``region``, if any."""
        with self._read() as session:
            row = session.scalar(
                select(models.Deployment).where(
                    models.Deployment.stack_name == stack_name, models.Deployment.region == region
                )
            )
            return _record(row) if row is not None else None
