"""``ferry serve``: the real entry point, an API token printed once, the console answering."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from imageferry.settings import Settings
from imageferry.store import open_store
from stand_ins.registry import free_port

FERRY = str(Path(sys.executable).parent / "ferry")


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "FERRY_DATA_DIR": str(data_dir), **extra}


def test_create_token_prints_a_working_token_once(tmp_path: Path) -> None:
    env = _env(tmp_path / "d", FERRY_ADMIN_PASSWORD="a-long-password")
    first = subprocess.run(
        [FERRY, "serve", "--create-token", "ci"], env=env, capture_output=True, text=True
    )
    assert first.returncode == 0, first.stderr
    token = first.stdout.strip()
    assert token.startswith("ferry_")
    second = subprocess.run(
        [FERRY, "serve", "--create-token", "cron"], env=env, capture_output=True, text=True
    )
    assert second.stdout.strip() != token
    with open_store(Settings(data_dir=tmp_path / "d")) as store:
        user = store.verify_api_token(token)
        assert user is not None and user.username == "admin"
        assert [t.name for t in store.list_api_tokens("admin")] == ["ci", "cron"]
        assert store.verify_password("admin", "a-long-password") is not None


def test_serve_prints_the_generated_password_and_serves_the_console(tmp_path: Path) -> None:
    port = free_port()
    process = subprocess.Popen(
        [FERRY, "serve", "--port", str(port)],
        env=_env(tmp_path / "d"),
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert "Created console user 'admin' with password: " in line
        password = line.rsplit(": ", 1)[1].strip()
        deadline = time.monotonic() + 30
        while True:
            try:
                login = httpx.get(f"http://127.0.0.1:{port}/login")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, "ferry serve did not answer"
                time.sleep(0.1)
        assert login.status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/api/tasks").status_code == 401
    finally:
        process.terminate()
        process.wait(timeout=20)
    with open_store(Settings(data_dir=tmp_path / "d")) as store:
        assert store.verify_password("admin", password) is not None


def _banner(env: dict[str, str], port: int) -> list[str]:
    """The lines ``ferry serve`` writes to stderr before it says where the console is."""
    process = subprocess.Popen(
        [FERRY, "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("imageferry console on"):
                return lines
            lines.append(line.rstrip("\n"))
        raise AssertionError(f"ferry serve ended before it started: {lines}")
    finally:
        process.terminate()
        process.wait(timeout=20)


def test_serve_says_which_alarm_backend_is_in_use(tmp_path: Path) -> None:
    data_dir = tmp_path / "d"
    with open_store(Settings(data_dir=data_dir)) as store:
        store.create_task({"sourceType": "Public", "alarmEmail": "ops@example.com"})
        store.create_task({"sourceType": "Public"})
    none = _banner(_env(data_dir, FERRY_ALARM_BACKEND="none"), free_port())
    assert "alarms: none (FERRY_ALARM_BACKEND=none): failed runs notify nobody" in none
    [warning] = [line for line in none if line.startswith("ferry: warning:")]
    assert warning.startswith(
        "ferry: warning: 1 alarmEmail address(es) of tasks (ops@example.com) will not be told"
    )
    smtp_env = _env(data_dir, FERRY_ALARM_BACKEND="smtp", FERRY_SMTP_PORT="2525")
    smtp = _banner({**smtp_env, "FERRY_SMTP_HOST": "127.0.0.1"}, free_port())
    assert "alarms: failed runs are reported by SMTP server 127.0.0.1:2525" in smtp
    assert not [line for line in smtp if "warning" in line]
