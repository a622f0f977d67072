"""A throw-away local registry: Debian's ``docker-registry`` (CNCF distribution v2).

``ferry demo`` runs two; the test suite and ``bench/`` run many. Each
:class:`LocalRegistry` runs its own process on a free loopback port with its
storage on tmpfs, so it starts in a few tens of milliseconds and leaves nothing
behind.

The configuration follows distribution's ``version: 0.1`` format
(docs/configuration.md): ``storage.filesystem``, ``storage.delete`` and
``http.addr``. This one is anonymous; the tests add ``auth`` sections in a
subclass (:meth:`LocalRegistry._auth_config`).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from imageferry.errors import FerryError
from imageferry.sandbox.lifecycle import Service

__all__ = [
    "INSTALL_HINT",
    "LocalRegistry",
    "SandboxError",
    "free_port",
    "missing_tools",
]

#: The distribution binary, as Debian's ``docker-registry`` package names it.
REGISTRY_COMMAND = "docker-registry"

#: How to get both tools the sandbox runs, on Debian and Ubuntu.
INSTALL_HINT = "sudo apt-get install docker-registry skopeo"

_START_TIMEOUT = 15.0
_STDERR_TAIL = 2000


class SandboxError(FerryError, RuntimeError):
    """A sandbox server or tool (docker-registry, skopeo, token server) failed.

    The message carries the tail of the tool's stderr, which is where the
    reason is; sandbox tools only ever see test credentials.
    """


def free_port(host: str = "127.0.0.1") -> int:
    """An ephemeral TCP port that is free on ``host`` right now.

    The kernel picks it; another process may take it before we bind it, so
    :class:`LocalRegistry` retries start-up on a fresh port when that happens.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def _tmpfs_root() -> str | None:
    """``/dev/shm`` when writable: registry I/O on tmpfs keeps tests fast."""
    shm = "/dev/shm"
    return shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None


def _netloc(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def missing_tools() -> list[str]:
    """The Debian packages the sandbox needs that are not on ``PATH``."""
    wanted = {"docker-registry": REGISTRY_COMMAND, "skopeo": "skopeo"}
    return [package for package, command in wanted.items() if shutil.which(command) is None]


class LocalRegistry(Service):
    """A running anonymous ``docker-registry`` on loopback. Use as a context manager.

    ``config_overrides`` is merged into the generated configuration, e.g.
    ``{"storage": {"maintenance": {"readonly": {"enabled": True}}}}`` for a
    registry that refuses pushes.
    """

    def __init__(
        self,
        *,
        data_dir: Path | None = None,
        host: str = "127.0.0.1",
        config_overrides: Mapping[str, Any] | None = None,
    ) -> None:
        self._keep_data = data_dir is not None
        self._data_dir = data_dir
        self._bind_host = host
        self._overrides = dict(config_overrides or {})
        self._port = 0
        self._workdir: Path | None = None
        self._process: subprocess.Popen[bytes] | None = None

    def __repr__(self) -> str:
        state = "running" if self.running else "stopped"
        return f"{type(self).__name__}(url={self.url!r}, {state})"

    # -- public properties ---------------------------------------------------

    @property
    def host(self) -> str:
        """``host:port`` as used in image references, ``[::1]:port`` for IPv6."""
        return _netloc(self._bind_host, self._port)

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    @property
    def pid(self) -> int:
        """The registry process's id (the benchmark reads its CPU time)."""
        if self._process is None:
            raise SandboxError("the registry is not running")
        return self._process.pid

    @property
    def log_path(self) -> Path:
        """The process's output: errors, and one line per request when the access log is on."""
        if self._workdir is None:
            raise SandboxError("the registry has not been started")
        return self._workdir / "registry.log"

    @property
    def port(self) -> int:
        return self._port

    @property
    def data_dir(self) -> Path:
        if self._data_dir is None:
            raise SandboxError("the registry has not been started")
        return self._data_dir

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    # -- life cycle ----------------------------------------------------------

    def start(self) -> LocalRegistry:
        """Start the process and wait until ``GET /v2/`` answers."""
        if self.running:
            return self
        binary = shutil.which(REGISTRY_COMMAND)
        if binary is None:
            raise SandboxError(f"{REGISTRY_COMMAND} is not installed: {INSTALL_HINT}")
        self._workdir = Path(tempfile.mkdtemp(prefix="ferry-registry-", dir=_tmpfs_root()))
        try:
            return self._start_in_workdir(binary)
        except BaseException:
            # Also on KeyboardInterrupt (or SIGTERM turned into one) during start-up:
            # nothing is running or left on disk once start() has not returned.
            self.stop()
            raise

    def _start_in_workdir(self, binary: str) -> LocalRegistry:
        assert self._workdir is not None
        if self._data_dir is None:
            self._data_dir = self._workdir / "data"
        self._data_dir.mkdir(parents=True, exist_ok=True)
        last_error: SandboxError | None = None
        # A port picked by free_port() can be taken before the registry binds it.
        for _attempt in range(3):
            self._port = free_port(self._bind_host)
            try:
                self._launch(binary)
                return self
            except SandboxError as e:
                last_error = e
                self._kill()
                if "address already in use" not in str(e):
                    break
        assert last_error is not None
        raise last_error

    def stop(self) -> None:
        """Stop the process; remove its files unless the caller gave ``data_dir``."""
        self._kill()
        self._cleanup()

    # -- internals -----------------------------------------------------------

    def _auth_config(self, workdir: Path) -> dict[str, Any] | None:
        """The configuration's ``auth`` section; None for an anonymous registry."""
        return None

    def _config(self) -> dict[str, Any]:
        assert self._workdir is not None and self._data_dir is not None
        config: dict[str, Any] = {
            "version": 0.1,
            "log": {"level": "error", "accesslog": {"disabled": True}},
            "storage": {
                "filesystem": {"rootdirectory": str(self._data_dir)},
                "delete": {"enabled": True},
                "maintenance": {"uploadpurging": {"enabled": False}},
            },
            "http": {
                "addr": self.host,
                "secret": os.urandom(16).hex(),
                "headers": {"X-Content-Type-Options": ["nosniff"]},
            },
            # With validation on (the default) distribution refuses every foreign
            # layer URL unless an allow list admits it; tests need foreign layers.
            "validation": {"manifests": {"urls": {"allow": ["^https?://"]}}},
        }
        auth = self._auth_config(self._workdir)
        if auth is not None:
            config["auth"] = auth
        return _merged(config, self._overrides)

    def _launch(self, binary: str) -> None:
        assert self._workdir is not None
        config_path = self._workdir / "config.yml"
        config_path.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        stderr_path = self.log_path
        with stderr_path.open("wb") as log:
            self._process = subprocess.Popen(
                [binary, "serve", str(config_path)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
            )
        self._wait_ready(stderr_path)

    def _wait_ready(self, stderr_path: Path) -> None:
        deadline = time.monotonic() + _START_TIMEOUT
        with self._probe_client() as client:
            while True:
                assert self._process is not None
                if self._process.poll() is not None:
                    raise SandboxError(
                        f"docker-registry exited with status {self._process.returncode} "
                        f"while starting on {self.host}: {_tail(stderr_path)}"
                    )
                try:
                    status = client.get(f"{self.url}/v2/").status_code
                except httpx.TransportError:
                    status = 0
                if status in (200, 401):
                    return
                if time.monotonic() > deadline:
                    raise SandboxError(
                        f"docker-registry on {self.host} did not answer GET /v2/ within "
                        f"{_START_TIMEOUT:.0f}s (last status {status}): {_tail(stderr_path)}"
                    )
                time.sleep(0.01)

    def _probe_client(self) -> httpx.Client:
        """The client that asks ``GET /v2/`` until the registry answers."""
        return httpx.Client(timeout=1.0)

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _cleanup(self) -> None:
        workdir, self._workdir = self._workdir, None
        if workdir is not None:
            shutil.rmtree(workdir, ignore_errors=True)
        if not self._keep_data:
            self._data_dir = None


def _merged(base: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overrides`` merged in, recursively for nested mappings."""
    out = dict(base)
    for key, value in overrides.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merged(out[key], value)
        else:
            out[key] = value
    return out


def _tail(path: Path) -> str:
    try:
        text = path.read_text(errors="replace").strip()
    except OSError:
        return "(no log)"
    return text[-_STDERR_TAIL:] or "(no output)"
