"""The distributed mode's servers for bench/: PostgreSQL and Redis in temporary directories.

The test suite's own (``tests/fixtures``): Debian's PostgreSQL binaries run by
``initdb``/``pg_ctl`` (as the ``postgres`` account when we are root) and
Debian's ``redis-server``, each on a free loopback port, deleted afterwards.
"""

from __future__ import annotations

import secrets
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TESTS = str(Path(__file__).resolve().parents[1] / "tests")
if _TESTS not in sys.path:
    sys.path.insert(0, _TESTS)

from fixtures.postgres import PostgresServer, _Cluster, _free_port  # noqa: E402
from fixtures.redis_server import RedisServer, start_redis  # noqa: E402

__all__ = ["PostgresServer", "RedisServer", "database", "postgres", "redis"]


@contextmanager
def postgres() -> Iterator[PostgresServer]:
    """A PostgreSQL server of our own (fsync off, as in the tests), stopped and deleted after."""
    cluster = _Cluster()
    try:
        cluster.initdb()
        port = _free_port()
        cluster._check(cluster.start(port), "start")
        try:
            yield PostgresServer(port, "ferry", "ferry-test-pass", cluster.root)
        finally:
            cluster.stop()
    finally:
        cluster.remove()


def database(server: PostgresServer) -> str:
    """A new empty database on ``server``: its SQLAlchemy URL."""
    name = f"ferry_{secrets.token_hex(4)}"
    with server.connect() as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    return server.url(name)


@contextmanager
def redis(*, appendonly: bool = True) -> Iterator[RedisServer]:
    """Redis with its append-only file on (as deploy/compose runs it)."""
    root = Path(tempfile.mkdtemp(prefix="ferry-bench-redis-"))
    server = start_redis(root, appendonly=appendonly)
    try:
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
