"""``ferry serve`` as a real process on loopback, for tests that kill and restart it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx

from imageferry.settings import Settings
from imageferry.store import Store, open_store
from stand_ins.registry import free_port

__all__ = ["FERRY", "FerryServer", "OwnedProcess", "end_process"]

FERRY = str(Path(sys.executable).with_name("ferry"))


def end_process(process: subprocess.Popen[bytes], timeout: float = 20) -> None:
    """SIGTERM, and SIGKILL if it is still there after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=10)


class OwnedProcess:
    """A process a test started: ``kill`` it (SIGKILL) or ``stop`` it (SIGTERM)."""

    _process: subprocess.Popen[bytes] | None = None

    @property
    def alive(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def kill(self) -> None:
        """SIGKILL: the process gets no chance to write anything more."""
        assert self._process is not None
        self._process.kill()
        self._process.wait(timeout=30)
        self._process = None

    def stop(self) -> None:
        if self._process is not None:
            end_process(self._process, timeout=30)
            self._process = None


class FerryServer(OwnedProcess):
    """``ferry serve`` on a data directory; ``start`` again after ``kill`` to restart it."""

    def __init__(self, data_dir: Path, log_file: Path | None = None, **env: str) -> None:
        self.data_dir = data_dir
        self._log_file = log_file
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {
            **os.environ,
            "FERRY_DATA_DIR": str(data_dir),
            "FERRY_SECRET_BACKEND": "local",
            "FERRY_ADMIN_PASSWORD": "a-long-password",
            **env,
        }
        self._env.pop("FERRY_SERVER", None)
        self._env.pop("FERRY_TOKEN", None)
        self._process: subprocess.Popen[bytes] | None = None
        made = subprocess.run(
            [FERRY, "serve", "--create-token", "tests"],
            env=self._env,
            capture_output=True,
            text=True,
            check=True,
        )
        self.token = made.stdout.strip()

    def start(self) -> FerryServer:
        log = self._log_file.open("ab") if self._log_file is not None else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                [FERRY, "serve", "--port", str(self.port)],
                env=self._env,
                stdout=log,
                stderr=subprocess.STDOUT if self._log_file is not None else subprocess.DEVNULL,
            )
        finally:
            if self._log_file is not None:
                log.close()  # type: ignore[union-attr]
        deadline = time.monotonic() + 30
        while True:
            assert self._process.poll() is None, "ferry serve exited"
            try:
                httpx.get(f"{self.url}/login", timeout=2)
                return self
            except httpx.TransportError:
                assert time.monotonic() < deadline, "ferry serve did not answer"
                time.sleep(0.1)

    def __enter__(self) -> FerryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def api(self, method: str, path: str, **kw: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return httpx.request(method, f"{self.url}/api{path}", headers=headers, timeout=30, **kw)

    def create_task(self, parameters: Mapping[str, str]) -> str:
        created = self.api("POST", "/tasks", json={"parameters": dict(parameters)})
        assert created.status_code == 201, created.text
        return str(created.json()["id"])

    def store(self) -> Store:
        return open_store(Settings(data_dir=self.data_dir))
