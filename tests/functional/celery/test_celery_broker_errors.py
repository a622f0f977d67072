"""A broker ferry cannot use is one line, with its password masked, from ``ferry worker``,
``ferry serve`` and a run: never a traceback, an "internal error", or retries for ever."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from functional.celery.processes import wait_for
from stand_ins.registry import free_port

FERRY = str(Path(sys.executable).parent / "ferry")
PASSWORD = "br0ker-pw"
#: BROKER_WAIT_SECONDS and the time to start Python and give up, with room for a loaded machine.
GIVES_UP_WITHIN = 45


@pytest.fixture(scope="module")
def locked_redis(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    """A redis-server on loopback that wants PASSWORD; its port."""
    import redis

    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("redis-server not found: install the Debian package `redis-server`")
    port = free_port("127.0.0.1")
    directory = tmp_path_factory.mktemp("redis")
    process = subprocess.Popen(
        [
            *(binary, "--bind", "127.0.0.1", "--port", str(port), "--requirepass", PASSWORD),
            *("--save", "", "--appendonly", "no", "--dir", str(directory)),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )

    def answers() -> bool:
        assert process.poll() is None, "redis-server exited"
        try:
            client = redis.Redis(port=port, password=PASSWORD, socket_timeout=1)
            return bool(client.ping())
        except redis.ConnectionError:
            return False

    try:
        wait_for(answers, "redis-server to answer", timeout=20)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=10)


def _env(tmp_path: Path, broker: str) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    return {
        **clean,
        "FERRY_DATA_DIR": str(tmp_path / "data"),
        "FERRY_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}",
        "FERRY_EXECUTOR": "celery",
        "FERRY_BROKER_URL": broker,
        "FERRY_ADMIN_PASSWORD": "admin-pw-for-the-test",
    }


def _ferry(tmp_path: Path, broker: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [FERRY, *args],
        env=_env(tmp_path, broker),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )


def _ended(process: subprocess.Popen[str]) -> tuple[int, str]:
    """Exit status and stderr, or the process is killed and the test fails."""
    try:
        _, err = process.communicate(timeout=GIVES_UP_WITHIN)
    except subprocess.TimeoutExpired:
        process.kill()
        _, err = process.communicate()
        pytest.fail(f"still running after {GIVES_UP_WITHIN} s:\n{err[-2000:]}")
    return process.returncode, err


def _error_line(err: str) -> str:
    """The one ``ferry: error:`` line; nothing that looks like a traceback or a retry."""
    assert "Traceback" not in err and "Trying again" not in err, err
    assert "internal error" not in err, err
    assert PASSWORD not in err, err
    [line] = [x for x in err.splitlines() if x.startswith("ferry: error:")]
    return line


@pytest.mark.parametrize(
    ("broker", "says"),
    [
        (f"nonsense-{PASSWORD}", "FERRY_BROKER_URL is not a broker URL; give redis://"),
        (f"foo://:{PASSWORD}@127.0.0.1:6379/0", "no Celery transport 'foo'"),
        (f"redis://:{PASSWORD}@127.0.0.1:6379/x", "Database is int between 0 and limit - 1"),
    ],
)
def test_a_broker_url_ferry_cannot_use_is_a_usage_error(
    tmp_path: Path, broker: str, says: str
) -> None:
    worker = _ferry(tmp_path, broker, "worker")
    serve = _ferry(tmp_path / "serve", broker, "serve", "--port", str(free_port("127.0.0.1")))
    for process in (worker, serve):
        code, err = _ended(process)
        assert code == 2, err
        assert says in _error_line(err)


def test_an_unreachable_broker_is_one_line_after_a_short_wait(tmp_path: Path) -> None:
    broker = f"redis://:{PASSWORD}@127.0.0.1:{free_port('127.0.0.1')}/0"
    worker = _ferry(tmp_path, broker, "worker")
    serve = _ferry(tmp_path / "serve", broker, "serve", "--port", str(free_port("127.0.0.1")))
    for process in (worker, serve):
        code, err = _ended(process)
        assert code == 1, err
        line = _error_line(err)
        assert "cannot reach the broker redis://:***@127.0.0.1:" in line
        assert line.endswith("start it, or fix FERRY_BROKER_URL")


def test_a_wrong_broker_password_is_one_line_at_once(tmp_path: Path, locked_redis: int) -> None:
    broker = f"redis://:not-{PASSWORD}@127.0.0.1:{locked_redis}/0"
    worker = _ferry(tmp_path, broker, "worker")
    code, err = _ended(worker)
    assert code == 1, err
    line = _error_line(err)
    assert f"the broker redis://:***@127.0.0.1:{locked_redis}/0 refused the credentials" in line
    assert "not-" not in line


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGTERM, 0), (signal.SIGINT, 130)])
def test_a_worker_with_the_right_password_starts_and_stops_as_asked(
    tmp_path: Path, locked_redis: int, stop: signal.Signals, code: int
) -> None:
    """Ctrl-C is 130, as for every ferry command (Celery's own exit status is 1)."""
    broker = f"redis://:{PASSWORD}@127.0.0.1:{locked_redis}/0"
    log = tmp_path / "worker.log"
    with log.open("w") as out:
        worker = subprocess.Popen(
            [FERRY, "worker", "--concurrency", "1", "--hostname", f"{stop.name}@test"],
            env=_env(tmp_path, broker),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for(lambda: "ready." in log.read_text(), "the worker to be ready", timeout=60)
        worker.send_signal(stop)
        assert worker.wait(timeout=30) == code, log.read_text()
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert PASSWORD not in log.read_text()


def test_a_run_whose_batches_cannot_be_queued_says_why(tmp_path: Path) -> None:
    """``ferry task run`` in celery mode plans here and queues: the run names the broker."""
    broker = f"redis://:{PASSWORD}@127.0.0.1:{free_port('127.0.0.1')}/0"
    env = _env(tmp_path, broker)
    parameters = {
        "sourceType": "Public",
        "srcList": "SELECTED",
        "srcImageList": "localhost:1/app:1",
        "destRegistry": "localhost:2",
        "scheduleType": "ONE_TIME",
    }
    created = subprocess.run(
        [FERRY, "task", "create", *(f"--param={k}={v}" for k, v in parameters.items())],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    task_id = created.stdout.strip()
    done = subprocess.run(
        [FERRY, "task", "run", task_id],
        env=env,
        capture_output=True,
        text=True,
        timeout=GIVES_UP_WITHIN,
        check=False,
    )
    shown = done.stdout + done.stderr
    assert done.returncode == 1, shown
    assert "internal error" not in shown and PASSWORD not in shown
    assert "cannot reach the broker redis://:***@127.0.0.1:" in done.stdout


@pytest.mark.parametrize(
    ("database", "code", "says"),
    [
        (f"nonsense-{PASSWORD}", 2, "FERRY_DATABASE_URL is not a database URL"),
        (
            f"postgresql+psycopg://ferry:{PASSWORD}@127.0.0.1:{free_port('127.0.0.1')}/ferry",
            1,
            "ferry:***@127.0.0.1:",
        ),
    ],
)
def test_a_worker_whose_store_cannot_be_used_says_so_before_taking_batches(
    tmp_path: Path, locked_redis: int, database: str, code: int, says: str
) -> None:
    env = {
        **_env(tmp_path, f"redis://:{PASSWORD}@127.0.0.1:{locked_redis}/0"),
        "FERRY_DATABASE_URL": database,
    }
    worker = subprocess.Popen(
        [FERRY, "worker"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    status, err = _ended(worker)
    assert status == code, err
    assert says in _error_line(err)
    assert "ready." not in err
    assert err.strip().splitlines()[-1].startswith("ferry: error:")  # psycopg's hint too
