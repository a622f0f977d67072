"""The distributed mode as real processes on loopback: Redis, PostgreSQL, ``ferry serve``
and two ``ferry worker`` processes, copying between two registries over a slow link."""

from __future__ import annotations

from fixtures.postgres import *  # noqa: F403
