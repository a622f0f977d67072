"""Fixtures for ``ferry task`` tests: the CLI on a throw-away data directory.

``ferry`` invokes the real command group in-process (typer's CliRunner) with
``FERRY_DATA_DIR`` under tmp_path; ``ferry_process`` starts the installed
``ferry`` executable, for what needs a second process (stop from another
terminal, Ctrl-C); ``server`` is a running console with its own data
directory and an API token, for ``--server``.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from click.testing import Result
from typer.testing import CliRunner

from fixtures.browser import LiveConsole
from imageferry.cli.main import new_app
from imageferry.cli.task import app as task_app
from imageferry.runtime import Runtime
from imageferry.settings import Settings
from imageferry.store import Store
from imageferry.web import create_app
from stand_ins.registry import LocalRegistry

FERRY = str(Path(sys.executable).with_name("ferry"))

Ferry = Callable[..., Result]


def root_app() -> typer.Typer:
    """``ferry`` with only the task group, as ``imageferry.cli.main`` registers it."""
    root = new_app()
    root.add_typer(task_app, name="task")
    return root


def task_parameters(
    src: LocalRegistry | str, dst: LocalRegistry | str, images: str, **extra: str
) -> dict[str, str]:
    """Parameters of a one-time task between two loopback registries (no AWS)."""
    return {
        "sourceType": "Public",
        "srcRegistry": src if isinstance(src, str) else src.host,
        "srcList": "SELECTED",
        "srcImageList": images,
        "destRegistry": dst if isinstance(dst, str) else dst.host,
        "destPrefix": "mirror",
        "scheduleType": "ONE_TIME",
        **extra,
    }


def param_args(parameters: Mapping[str, str]) -> list[str]:
    return [arg for k, v in parameters.items() for arg in ("--param", f"{k}={v}")]


def output(result: Result) -> str:
    return f"exit {result.exit_code}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def ferry_env(data_dir: Path) -> dict[str, str]:
    return {"FERRY_DATA_DIR": str(data_dir), "FERRY_SECRET_BACKEND": "local"}


@pytest.fixture
def ferry(ferry_env: dict[str, str]) -> Ferry:
    """``ferry("task", "list", ...)`` in-process; returns click's Result."""
    runner = CliRunner()
    app = root_app()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None) -> Result:
        # A FERRY_SERVER/FERRY_TOKEN of the person running the tests must not leak in.
        full: dict[str, str | None] = {"FERRY_SERVER": None, "FERRY_TOKEN": None}
        full.update(ferry_env)
        full.update(env or {})
        return runner.invoke(app, list(args), input=input, env=full)

    return invoke


@pytest.fixture
def ferry_json(ferry: Ferry) -> Callable[..., Any]:
    """Run a command with ``-o json``, check it succeeded, return the document."""

    def invoke(*args: str) -> Any:
        result = ferry(*args, "-o", "json")
        assert result.exit_code == 0, output(result)
        return json.loads(result.stdout)

    return invoke


@pytest.fixture
def create_task(ferry: Ferry) -> Callable[..., str]:
    def create(parameters: Mapping[str, str], *extra: str) -> str:
        result = ferry("task", "create", *param_args(parameters), *extra)
        assert result.exit_code == 0, output(result)
        return result.stdout.strip()

    return create


@pytest.fixture
def ferry_process(ferry_env: dict[str, str]) -> Iterator[Callable[..., subprocess.Popen[str]]]:
    """Start the real ``ferry`` executable with the test's data directory."""
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        process = subprocess.Popen(
            [FERRY, *args],
            env={
                **{k: v for k, v in os.environ.items() if k not in ("FERRY_SERVER", "FERRY_TOKEN")},
                **ferry_env,
                **(env or {}),
            },
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait()


class Server:
    """A running console (the real app over its own embedded runtime) on a loopback port."""

    def __init__(self, url: str, token: str, store: Store) -> None:
        self.url = url
        self.token = token
        #: The server's own store, to record results fast and read what it keeps.
        self.store = store

    def api(self, path: str) -> Any:
        response = httpx.get(self.url + path, headers=self._auth(), timeout=30)
        response.raise_for_status()
        return response.json()

    def create_task(self, parameters: Mapping[str, str], name: str) -> str:
        """A task made through the server's API, not the CLI; returns its id."""
        body = {"parameters": dict(parameters), "name": name}
        response = httpx.post(self.url + "/api/tasks", json=body, headers=self._auth(), timeout=30)
        response.raise_for_status()
        return str(response.json()["id"])

    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    settings = Settings(data_dir=tmp_path / "server", admin_password="server admin password")
    runtime = Runtime(settings, retry_delay=0.1)
    try:
        app = create_app(
            settings,
            service=runtime.service,
            accounts=runtime.store,
            secret_store=runtime.secrets,
            out=io.StringIO(),
        )
        token = runtime.store.create_api_token("admin", "cli-tests").plaintext
        with LiveConsole(app) as live:
            yield Server(live.url, token, runtime.store)
    finally:
        runtime.stop()
