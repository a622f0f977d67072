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
