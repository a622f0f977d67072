"""Every behavioural store test runs twice: on SQLite (the default) and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.postgres import *  # noqa: F403
from functional.store.store_clock import FakeClock
from imageferry.store import Store


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty database of each kind: a SQLite file under a fresh data dir, or a Postgres db."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'data' / 'imageferry.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store(database_url: str, clock: FakeClock) -> Iterator[Store]:
    with Store(database_url, clock=clock) as opened:
        yield opened
