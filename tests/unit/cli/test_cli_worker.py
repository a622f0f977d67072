"""``ferry worker`` refuses a setup that is not distributed, in one line, and never
loads Celery for the embedded default's commands."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

FERRY = str(Path(sys.executable).parent / "ferry")


def _worker(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    return subprocess.run(
        [FERRY, "worker", "--concurrency", "1"],
        env={**clean, "FERRY_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_worker_without_a_broker_says_what_to_set(tmp_path: Path) -> None:
    done = _worker(tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "ferry: error: FERRY_EXECUTOR=celery needs FERRY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)"
    ]


def test_a_worker_without_a_shared_store_says_so_and_hides_the_broker_password(
    tmp_path: Path,
) -> None:
    done = _worker(tmp_path, FERRY_BROKER_URL="redis://:hunter2@127.0.0.1:1/0")
    assert done.returncode == 2
    [line] = done.stderr.strip().splitlines()
    assert line.startswith("ferry: error: FERRY_EXECUTOR=celery needs FERRY_DATABASE_URL")
    assert "hunter2" not in done.stderr


def test_the_embedded_server_does_not_import_celery() -> None:
    probe = (
        "import sys\n"
        "from imageferry.runtime import Runtime\n"
        "from imageferry.cli import serve\n"
        "print('celery' in sys.modules, 'redis' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.split() == ["False", "False"]


def test_the_workers_help_says_what_it_needs(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    done = subprocess.run(
        [FERRY, "worker", "--help"],
        env={**clean, "FERRY_DATA_DIR": str(tmp_path), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    for needed in ("FERRY_BROKER_URL", "FERRY_DATABASE_URL", "pip install 'imageferry[celery]'"):
        assert needed in done.stdout


def test_queues_that_name_no_queue_are_a_usage_error(tmp_path: Path) -> None:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    done = subprocess.run(
        [FERRY, "worker", "--queues", " , "],
        env={**clean, "FERRY_DATA_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "ferry: error: --queues ' , ' names no queue; give e.g. --queues ferry"
    ]


def test_a_setting_that_does_not_validate_is_one_line_naming_it(tmp_path: Path) -> None:
    done = _worker(tmp_path, FERRY_EXECUTOR="celery", FERRY_BATCH_SIZE="0")
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "ferry: error: invalid configuration in FERRY_BATCH_SIZE: "
        "Input should be greater than or equal to 1"
    ]
