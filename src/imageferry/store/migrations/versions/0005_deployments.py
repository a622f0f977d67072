"""Deployments: where a task runs besides here (its AWS CloudFormation stack).

Revision ID: 0005
Revises: 0003
Create Date: 2026-12-07
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from imageferry.store.columns import UTCDateTime

revision: str = "0005"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "deployments",
        sa.Column(
            "task_id",
            sa.String(32),
            sa.ForeignKey("tasks.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("target", sa.String(16), nullable=False),
        sa.Column("stack_name", sa.String(128), nullable=False),
        sa.Column("region", sa.String(32), nullable=False),
        sa.Column("stack_id", sa.String(400), nullable=False),
        sa.Column("worker_count", sa.Integer(), nullable=False),
        sa.Column("image_uri", sa.String(1000), nullable=False),
        sa.Column("deployed_at", UTCDateTime(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("deployments")
