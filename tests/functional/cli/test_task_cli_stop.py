"""Stopping a run while it copies: from another terminal, and with Ctrl-C.

The run's source is behind :class:`ThrottledProxy`, so copying its large
layer takes seconds; the stop is issued once the run is IN_PROGRESS with the
image being copied. A stop that did not work would let the run end DONE
with the tag pushed, and these tests would fail.
"""

from __future__ import annotations

import signal
import subprocess
import time

import httpx
import pytest

from functional.cli.conftest import output, task_parameters
from functional.cli.throttle import ThrottledProxy
from stand_ins.images import push_large_image

LAYER_BYTES = 6 * 1024 * 1024
RATE = 1024 * 1024  # bytes per second through the proxy: the copy takes ~6 s


@pytest.fixture
def slow_task(src_registry, dst_registry, create_task):
    push_large_image(src_registry.url, "big", "1", LAYER_BYTES)
    with ThrottledProxy(("127.0.0.1", src_registry.port), RATE) as proxy:
        yield create_task(task_parameters(proxy.host, dst_registry, "big:1"))


def _wait_copying(ferry_json, task_id: str, process: subprocess.Popen[str]) -> dict:
    """The run, once it is IN_PROGRESS and its image is being copied."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()
        shown = ferry_json("task", "show", task_id)
        if shown["runs"]:
            run = shown["runs"][0]
            if run["status"] == "IN_PROGRESS" and any(
                i["status"] == "running" for i in run["images"]
            ):
                return run
        time.sleep(0.2)
    raise AssertionError("the run never started copying")


def _tag_absent(dst_registry) -> None:
    with httpx.Client() as client:
        response = client.get(f"{dst_registry.url}/v2/mirror/big/manifests/1")
    assert response.status_code == 404, response.text


def test_stop_from_another_terminal_ends_the_run_stopped_without_a_tag(
    slow_task, dst_registry, ferry, ferry_json, ferry_process
) -> None:
    process = ferry_process("task", "run", slow_task)
    run = _wait_copying(ferry_json, slow_task, process)

    stopped = ferry("task", "stop", slow_task, "-o", "json")
    assert stopped.exit_code == 0, output(stopped)
    assert stopped.stdout and '"STOPPED"' in stopped.stdout

    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 1, stderr
    assert "stopped: in-flight copies abandoned" in stderr

    shown = ferry_json("task", "show", slow_task)
    assert shown["status"] == "STOPPED"
    assert shown["runs"][0]["id"] == run["id"]
    assert shown["runs"][0]["status"] == "STOPPED"
    assert shown["runs"][0]["ended_at"] is not None
    assert all(i["status"] != "copied" for i in shown["runs"][0]["images"])
    _tag_absent(dst_registry)


def test_ctrl_c_stops_the_foreground_run_cleanly(
    slow_task, dst_registry, ferry_json, ferry_process
) -> None:
    process = ferry_process("task", "run", slow_task)
    _wait_copying(ferry_json, slow_task, process)

    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "STOPPED" in stdout
    assert "Traceback" not in stderr

    shown = ferry_json("task", "show", slow_task)
    assert shown["runs"][0]["status"] == "STOPPED"
    _tag_absent(dst_registry)
    logs = ferry_json("task", "logs", slow_task)
    assert any("stopped" in line["message"] for line in logs["items"])
