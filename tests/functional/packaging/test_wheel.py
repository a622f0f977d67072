"""The wheel, installed with no extras into a new virtualenv, works as a user meets it.

The development virtualenv has the test extra, which brings in much that the
package must not rely on. So this builds the wheel from a copy of the source
(a build writes into its source tree), installs it with its declared
dependencies only, and runs ``ferry`` from there: help for every command,
the local secret store, a real copy and a task run between loopback
registries, and ``ferry demo``. None of it may show a traceback.

The new virtualenv gets no pip of its own: the suite's pip installs into it
(``pip --python``), and skipping byte-compilation keeps the install to
seconds (the first ``ferry`` compiles what it imports); pip's cache serves
the dependencies once they have been downloaded.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from stand_ins.images import push_image
from stand_ins.registry import LocalRegistry, free_port
from stand_ins.skopeo import inspect_digest

pytestmark = pytest.mark.packaging

ROOT = Path(__file__).resolve().parents[3]
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check"]

#: Run in the new virtualenv: where imageferry was imported from, every module
#: that does not import without an extra, and every command path of the CLI.
_INSPECT = """
import importlib, json, pkgutil
import typer.main
import imageferry
from imageferry.cli.main import app

broken = {}
for module in pkgutil.walk_packages(imageferry.__path__, "imageferry."):
    # Alembic loads the migration scripts by path, inside a migration context.
    if module.name.startswith("imageferry.store.migrations."):
        continue
    try:
        importlib.import_module(module.name)
    except Exception as e:
        broken[module.name] = f"{type(e).__name__}: {e}"

def walk(command, path):
    yield path
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from walk(sub, [*path, name])

from imageferry.deploy_aws.template import template_body

print(json.dumps({
    "location": imageferry.__file__,
    "template": template_body(),
    "broken": broken,
    "commands": list(walk(typer.main.get_command(app), [])),
}))
"""


@dataclass(frozen=True)
class Installed:
    """``ferry`` of a fresh virtualenv holding the wheel and nothing else."""

    venv: Path
    data_dir: Path
    workdir: Path

    @property
    def python(self) -> Path:
        return self.venv / "bin" / "python"

    def env(self, **extra: str) -> dict[str, str]:
        # Nothing of the development environment may reach the installed package.
        # Bytecode is written, as on a user's machine: the install skipped compiling
        # everything, so the first start compiles what ferry imports, once.
        drop = {
            "PYTHONPATH",
            "PYTHONDONTWRITEBYTECODE",
            "VIRTUAL_ENV",
            "FERRY_SERVER",
            "FERRY_TOKEN",
            "FERRY_DATABASE_URL",
        }
        env = {k: v for k, v in os.environ.items() if k not in drop}
        return {
            **env,
            "FERRY_DATA_DIR": str(self.data_dir),
            "FERRY_SECRET_BACKEND": "local",
            **extra,
        }

    def ferry(
        self, *args: str, timeout: float = 120, **env: str
    ) -> subprocess.CompletedProcess[str]:
        """Run the installed ``ferry``; no output of it may hold a traceback."""
        done = subprocess.run(
            [str(self.venv / "bin" / "ferry"), *args],
            capture_output=True,
            text=True,
            env=self.env(**env),
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
        )
        shown = f"ferry {' '.join(args)}: exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert "Traceback" not in done.stdout + done.stderr, shown
        return done


def _run(args: list[str], cwd: Path) -> None:
    done = subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=600, check=False)
    assert done.returncode == 0, f"{' '.join(args)}:\n{done.stdout}\n{done.stderr}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    base = tmp_path_factory.mktemp("wheel")
    source = base / "source"
    (source / "src").parent.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "src",
        source / "src",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info"),
    )
    wheels = base / "wheels"
    _run([*PIP, "wheel", "--quiet", "--no-deps", "--wheel-dir", str(wheels), "./source"], base)
    (wheel,) = wheels.glob("imageferry-*.whl")

    venv = base / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)], base)
    python = str(venv / "bin" / "python")
    _run([*PIP, "--python", python, "install", "--quiet", "--no-compile", str(wheel)], base)
    workdir = base / "work"
    workdir.mkdir()
    yield Installed(venv=venv, data_dir=base / "data", workdir=workdir)


@pytest.fixture(scope="module")
def inspected(installed: Installed) -> dict[str, object]:
    done = subprocess.run(
        [str(installed.python), "-c", _INSPECT],
        capture_output=True,
        text=True,
        env=installed.env(),
        cwd=installed.workdir,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_the_package_comes_from_the_wheel_and_every_module_imports(
    installed: Installed, inspected: dict[str, object]
) -> None:
    assert Path(str(inspected["location"])).is_relative_to(installed.venv)
    assert inspected["broken"] == {}


def test_the_wheel_carries_the_stack_template(inspected: dict[str, object]) -> None:
    # `ferry task deploy` sends the packaged copy: it must be deploy/aws's.
    template = ROOT / "deploy" / "aws" / "ecr-task.template.yaml"
    assert inspected["template"] == template.read_text(encoding="utf-8")


def test_help_of_every_command_and_subcommand(
    installed: Installed, inspected: dict[str, object]
) -> None:
    commands = inspected["commands"]
    assert isinstance(commands, list)
    names = {path[0] for path in commands if path}
    assert {"copy", "demo", "serve", "secret", "task"} <= names, names
    for path in commands:
        done = installed.ferry(*path, "--help")
        assert done.returncode == 0, f"ferry {' '.join(path)} --help:\n{done.stderr}"
        assert "Usage: ferry" in done.stdout, done.stdout


def test_secret_list_with_an_empty_store(installed: Installed) -> None:
    done = installed.ferry("secret", "list")
    assert done.returncode == 0, done.stderr


def test_a_postgresql_store_without_its_extra_says_what_to_install(
    installed: Installed,
) -> None:
    url = "postgresql://ferry:hunter2@127.0.0.1:9/ferry"
    done = installed.ferry("task", "list", FERRY_DATABASE_URL=url)
    assert done.returncode == 2
    assert "pip install 'imageferry[postgres]'" in done.stderr
    assert "hunter2" not in done.stderr


def test_copy_between_loopback_registries(
    installed: Installed, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_image(src_registry.url, "team/app", "1.0", seed="wheel-copy")
    done = installed.ferry(
        "copy", f"{src_registry.host}/team/app:1.0", f"{dst_registry.host}/team/app:1.0"
    )
    assert done.returncode == 0, done.stderr
    assert inspect_digest(f"{dst_registry.host}/team/app:1.0") == pushed.digest


def test_task_create_and_run_between_loopback_registries(
    installed: Installed, src_registry: LocalRegistry, dst_registry: LocalRegistry
) -> None:
    pushed = push_image(src_registry.url, "team/api", "2.0", seed="wheel-task")
    parameters = {
        "sourceType": "Public",
        "srcList": "SELECTED",
        "srcImageList": f"{src_registry.host}/team/api:2.0",
        "destRegistry": dst_registry.host,
        "destPrefix": "mirror",
        "scheduleType": "ONE_TIME",
    }
    args = [arg for key, value in parameters.items() for arg in ("--param", f"{key}={value}")]
    created = installed.ferry("task", "create", *args)
    assert created.returncode == 0, created.stderr
    task_id = created.stdout.strip()

    run = installed.ferry("task", "run", task_id)
    assert run.returncode == 0, run.stdout + run.stderr
    assert inspect_digest(f"{dst_registry.host}/mirror/team/api:2.0") == pushed.digest
    shown = json.loads(installed.ferry("task", "show", task_id, "-o", "json").stdout)
    assert [r["status"] for r in shown["runs"]] == ["DONE"]


def test_serve_answers_with_the_console_and_stops_cleanly(installed: Installed) -> None:
    port = free_port()
    process = subprocess.Popen(
        [str(installed.venv / "bin" / "ferry"), "serve", "--port", str(port)],
        env=installed.env(FERRY_ADMIN_PASSWORD="wheel-test-admin"),
        cwd=installed.workdir,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 120
        status = 0
        while status != 200 and process.poll() is None and time.monotonic() < deadline:
            try:
                status = httpx.get(f"http://127.0.0.1:{port}/login", timeout=2).status_code
            except httpx.TransportError:
                time.sleep(0.2)
        # The login form posts fields, which FastAPI parses with python-multipart.
        login = httpx.post(
            f"http://127.0.0.1:{port}/login",
            data={"username": "admin", "password": "wrong"},
            timeout=10,
        )
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=60)
    assert status == 200, stderr
    assert login.status_code < 500, login.text
    assert "Traceback" not in stdout + stderr, stderr


def test_demo(installed: Installed) -> None:
    done = installed.ferry("demo", "--size-mb", "8", timeout=300)
    assert done.returncode == 0, done.stderr
    assert "skopeo confirms every destination digest equals the source digest" in done.stderr
