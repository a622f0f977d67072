"""Redis and ``ferry worker`` as real processes, for tests that kill and restart them."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from functional.serve.server import FERRY, OwnedProcess
from stand_ins.registry import free_port

__all__ = ["FerryWorker", "RedisServer", "wait_for"]


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what``."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for: {what}"
        time.sleep(0.1)


class RedisServer(OwnedProcess):
    """Debian's ``redis-server`` on a free port, append-only file on (survives a restart).

    ``stop`` (SIGTERM) lets Redis write its append-only file before it exits.
    """

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            pytest.fail("redis-server not found: install the Debian package `redis-server`")
        self._binary = binary
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> RedisServer:
        self._process = subprocess.Popen(
            [
                self._binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--appendonly",
                "yes",
                "--save",
                "",
                "--dir",
                str(self.directory),
                "--logfile",
                str(self.directory / "redis.log"),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._answers, "redis-server to answer", timeout=20)
        return self

    def _answers(self) -> bool:
        import redis

        assert self._process is not None and self._process.poll() is None, "redis-server exited"
        try:
            return bool(redis.Redis(port=self.port, socket_timeout=1).ping())
        except redis.ConnectionError:
            return False

    def drop_queue(self, queue: str) -> int:
        """Delete the messages waiting in ``queue`` (not those delivered); how many there were."""
        import redis

        client = redis.Redis(port=self.port, socket_timeout=5)
        waiting = int(client.llen(queue))
        client.delete(queue)
        return waiting


class FerryWorker(OwnedProcess):
    """``ferry worker`` with the environment of the cluster; its output goes to a log file."""

    def __init__(self, name: str, env: dict[str, str], log_dir: Path, concurrency: int = 2) -> None:
        self.name = name
        self._env = env
        self._log = log_dir / f"{name}.log"
        self._concurrency = concurrency
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> FerryWorker:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    FERRY,
                    "worker",
                    "--concurrency",
                    str(self._concurrency),
                    "--hostname",
                    f"{self.name}@test",
                    "--loglevel",
                    "info",
                ],
                env={**os.environ, **self._env},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        return self

    def log(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""
