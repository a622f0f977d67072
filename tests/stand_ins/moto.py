"""A throw-away AWS stand-in: moto's server on a free loopback port.

Used by the test suite (Secrets Manager, SNS, STS) and usable by hand. It runs
``python -m moto.server`` in its own process, so its state is isolated from
any in-process ``moto.mock_aws`` another test may start. boto3 reaches it
through the standard ``AWS_ENDPOINT_URL_<SERVICE>`` variables, which
:meth:`MotoServer.environment` lists; nothing in imageferry passes endpoint
URLs itself.

moto's control API (``/moto-api/``): ``POST /moto-api/reset`` clears every
backend, ``GET /moto-api/data.json`` dumps the models (e.g. SNS topics with
their ``sent_notifications``), ``POST /moto-api/config`` switches behaviours
(such as running state machines).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from typing import IO, Any

import httpx

from imageferry.sandbox.lifecycle import Service
from imageferry.sandbox.registry import SandboxError, free_port

__all__ = ["MOTO_SERVICES", "MotoServer"]

#: ``AWS_ENDPOINT_URL_<X>`` suffixes of the services imageferry's tests point at moto.
#: botocore derives the suffix from the service *id* ("Secrets Manager" ->
#: ``SECRETS_MANAGER``); ``SECRETSMANAGER`` is set too for readers who expect it.
MOTO_SERVICES = ("SECRETS_MANAGER", "SECRETSMANAGER", "SNS", "STS")

_START_TIMEOUT = 30.0
_START_ATTEMPTS = 3
_STDERR_TAIL = 2000


class MotoServer(Service):
    """A running moto server on ``host``. Use as a context manager."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._port: int | None = None
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def __repr__(self) -> str:
        return f"MotoServer(url={self.url!r})" if self._port else "MotoServer(stopped)"

    @property
    def port(self) -> int:
        if self._port is None:
            raise SandboxError("the moto server is not running; call start() first")
        return self._port

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def environment(self, region: str = "us-east-1") -> dict[str, str]:
        """The ``AWS_*`` variables that send boto3 to this server with fake keys."""
        env = {f"AWS_ENDPOINT_URL_{s}": self.url for s in MOTO_SERVICES}
        env.update(
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_SESSION_TOKEN="testing",
            AWS_DEFAULT_REGION=region,
        )
        return env

    def start(self) -> MotoServer:
        """Start on a free port; retry on a fresh port if another process took it."""
        last = ""
        for _ in range(_START_ATTEMPTS):
            port = free_port(self.host)
            log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", self.host, "-p", str(port)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            if self._wait_ready(process, port):
                self._port, self._process, self._log = port, process, log
                return self
            process.kill()
            process.wait()
            log.seek(0)
            last = log.read().decode(errors="replace")[-_STDERR_TAIL:]
            log.close()
        raise SandboxError(f"moto server did not start on {self.host}: {last}")

    def _wait_ready(self, process: subprocess.Popen[bytes], port: int) -> bool:
        deadline = time.monotonic() + _START_TIMEOUT
        url = f"http://{self.host}:{port}/moto-api/data.json"
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return False
            try:
                if httpx.get(url, timeout=2.0).status_code == 200:
                    return True
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        return False

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        if self._log is not None:
            self._log.close()
        self._process = self._log = None
        self._port = None

    def reset(self) -> None:
        """Forget every resource in every backend (``POST /moto-api/reset``)."""
        response = httpx.post(f"{self.url}/moto-api/reset", timeout=10.0)
        if response.status_code != 200:
            raise SandboxError(f"moto reset failed: HTTP {response.status_code}")

    def configure(self, config: dict[str, Any]) -> None:
        """Change moto's behaviour (``POST /moto-api/config``), e.g.
        ``{"stepfunctions": {"execute_state_machine": True}}`` to run state machines."""
        response = httpx.post(f"{self.url}/moto-api/config", json=config, timeout=10.0)
        if response.status_code >= 300:
            raise SandboxError(f"moto config failed: HTTP {response.status_code}")

    def model_data(self) -> dict[str, Any]:
        """moto's dump of every model instance (``GET /moto-api/data.json``)."""
        response = httpx.get(f"{self.url}/moto-api/data.json", timeout=10.0)
        if response.status_code != 200:
            raise SandboxError(f"moto data.json failed: HTTP {response.status_code}")
        data: dict[str, Any] = response.json()
        return data

    def sns_messages(self, topic_arn: str) -> list[dict[str, Any]]:
        """Messages published to ``topic_arn``: ``{"id", "message", "subject"}`` each."""
        topics = self.model_data().get("sns", {}).get("Topic", [])
        for topic in topics:
            if topic.get("arn") == topic_arn:
                return [
                    {"id": n[0], "message": n[1], "subject": n[2]}
                    for n in topic.get("sent_notifications", [])
                ]
        return []
