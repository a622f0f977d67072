"""``ferry task --server URL``: the same commands against a running console's JSON API.

The server is the real app (``create_app``) over the embedded runtime on its
own data directory, served by uvicorn on a loopback port; the CLI's own data
directory stays empty, which shows that every command went to the server.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from functional.cli.conftest import Server, output, param_args, task_parameters
from functional.cli.throttle import ThrottledProxy
from imageferry.store import ImageStatus
from imageferry.store.results import ImageUnit
from stand_ins.images import push_image, push_large_image
from stand_ins.skopeo import inspect_digest


@pytest.fixture
def remote(ferry, server: Server):
    """``ferry task --server URL`` with the token in FERRY_TOKEN."""

    def invoke(*args: str, input: str | None = None):
        return ferry(
            "task", "--server", server.url, *args, input=input, env={"FERRY_TOKEN": server.token}
        )

    return invoke


def _json(result) -> dict:
    assert result.exit_code == 0, output(result)
    return json.loads(result.stdout)


def test_create_run_show_list_logs_on_the_server(
    src_registry, dst_registry, remote, ferry, server: Server, data_dir: Path
) -> None:
    pushed = push_image(src_registry.url, "app", "1.0", seed="remote")
    parameters = task_parameters(src_registry, dst_registry, "app:1.0, app:missing")
    task_id = _json(remote("create", *param_args(parameters), "--name", "r", "-o", "json"))["id"]

    run = remote("run", task_id)
    assert run.exit_code == 1, output(run)  # app:missing fails
    assert "ended ERROR: 1 copied, 0 skipped, 1 failed of 2; " in run.stdout
    # `ferry task run` follows the run in a terminal: the server records trigger cli.
    assert [r["trigger"] for r in server.api(f"/api/tasks/{task_id}/runs")["items"]] == ["cli"]
    assert f"copied {src_registry.host}/app:1.0" in run.stderr  # progress from the server's log
    assert inspect_digest(f"{dst_registry.host}/mirror/app:1.0") == pushed.digest

    shown = _json(remote("show", task_id, "-o", "json"))
    assert list(shown) == ["id", "name", "status", "parameters", "runs"]
    assert (shown["name"], shown["status"]) == ("r", "ERROR")
    [only] = shown["runs"]
    assert list(only) == ["id", "status", "started_at", "ended_at", "images"]
    by_status = {i["status"]: i for i in only["images"]}
    assert by_status["copied"]["digest"] == pushed.digest
    assert "missing" in by_status["failed"]["error"]

    listed = _json(remote("list", "-o", "json"))
    assert [row["id"] for row in listed["items"]] == [task_id]
    assert (listed["items"][0]["images_done"], listed["items"][0]["images_total"]) == (2, 2)

    logs = _json(remote("logs", task_id, "-o", "json"))
    assert logs["run_id"] == only["id"]
    assert any(line["message"].startswith("run ended ERROR") for line in logs["items"])

    clone_id = _json(remote("clone", task_id, "-p", "srcImageList=app:1.0", "-o", "json"))["id"]
    again = remote("run", clone_id)
    assert again.exit_code == 0, output(again)
    assert "DONE: 0 copied, 1 skipped" in again.stdout

    assert _json(remote("delete", clone_id, "--yes", "-o", "json"))["deleted"] is True
    assert remote("show", clone_id).exit_code == 1

    # Nothing of this is in the CLI's own store.
    assert _json(ferry("task", "list", "-o", "json"))["total"] == 0


def test_invalid_parameters_come_back_with_every_problem(remote) -> None:
    result = remote("create", "-p", "sourceType=Public", "-p", "srcList=ALL", "-p", "destRegion=x")
    assert result.exit_code == 2, output(result)
    assert "- srcList:" in result.stderr
    assert "- destRegion:" in result.stderr


def test_start_returns_at_once_and_stop_ends_the_run_stopped(
    src_registry, dst_registry, remote, server: Server
) -> None:
    push_large_image(src_registry.url, "big", "1", 6 * 1024 * 1024)
    with ThrottledProxy(("127.0.0.1", src_registry.port), 1024 * 1024) as proxy:
        parameters = task_parameters(proxy.host, dst_registry, "big:1")
        task_id = _json(remote("create", *param_args(parameters), "-o", "json"))["id"]

        started = _json(remote("start", task_id, "-o", "json"))
        assert started["task_id"] == task_id
        assert started["status"] in ("STARTING", "IN_PROGRESS")
        assert server.api(f"/api/runs/{started['run_id']}")["trigger"] == "manual"

        deadline = time.monotonic() + 60
        while True:
            run = _json(remote("show", task_id, "-o", "json"))["runs"][0]
            if run["status"] == "IN_PROGRESS" and run["images"]:
                break
            assert time.monotonic() < deadline, run
            time.sleep(0.2)
        busy = remote("start", task_id)
        assert busy.exit_code == 1
        assert "already has an active run" in busy.stderr

        stopped = _json(remote("stop", task_id, "-o", "json"))
        assert stopped == {"task_id": task_id, "run_id": started["run_id"], "status": "STOPPED"}

        followed = remote("logs", task_id, "--follow")
        assert followed.exit_code == 0
        assert "run ended STOPPED" in followed.stdout

        again = remote("stop", task_id)
        assert again.exit_code == 2, output(again)
        assert again.stderr == (
            f"ferry: error: task {task_id!r} has no active run to stop; its runs have all "
            f"ended (`ferry task show {task_id}` lists them)\n"
        )


def test_plan_and_dry_run_are_computed_by_the_server(
    remote, ferry, src_registry, dst_registry, server: Server
) -> None:
    pushed = push_image(src_registry.url, "app", "1.0", seed="plan")
    parameters = task_parameters(src_registry, dst_registry, "app:1.0, app:missing")
    task_id = _json(remote("create", *param_args(parameters), "-o", "json"))["id"]

    for command in (("plan", task_id), ("run", task_id, "--dry-run")):
        result = remote(*command, "-o", "json")
        assert result.exit_code == 1, output(result)  # app:missing cannot be read
        plan = json.loads(result.stdout)
        by_status = {image["status"]: image for image in plan["images"]}
        assert by_status["would-copy"]["source"] == f"{src_registry.host}/app:1.0"
        assert by_status["would-copy"]["digest"] == pushed.digest
        assert by_status["would-copy"]["bytes_missing"] > 0
        assert by_status["failed"]["source"] == f"{src_registry.host}/app:missing"
        assert plan["summary"]["would_copy"] == plan["summary"]["failed"] == 1
    # A dry run copies nothing and records no run, on the server or here.
    assert server.api(f"/api/tasks/{task_id}/runs")["total"] == 0
    assert _json(ferry("task", "list", "-o", "json"))["total"] == 0

    only = task_parameters(src_registry, dst_registry, "app:1.0")
    copied_id = _json(remote("create", *param_args(only), "-o", "json"))["id"]
    assert remote("run", copied_id).exit_code == 0
    text = remote("plan", copied_id)
    assert text.exit_code == 0, output(text)
    assert f"up-to-date  {src_registry.host}/app:1.0" in text.stdout
    assert "0 would be copied, 1 up to date, 0 failed" in text.stdout


def test_show_pages_through_every_result_on_the_server(remote, server: Server) -> None:
    parameters = task_parameters("127.0.0.1:5000", "127.0.0.1:5001", "app:1.0")
    task_id = _json(remote("create", *param_args(parameters), "-o", "json"))["id"]
    # 1203 results, recorded straight in the server's store (three pages of 500).
    run = server.store.create_run(task_id)
    units = [ImageUnit(f"src/app{i:04d}:1", f"dst/mirror/app{i:04d}:1") for i in range(1203)]
    server.store.add_pending_images(run.id, units)
    server.store.record_image_result(
        run.id,
        source="src/app1202:1",
        destination="dst/mirror/app1202:1",
        status=ImageStatus.COPIED,
        digest="sha256:" + "b" * 64,
    )
    server.store.finish_run(run.id)

    shown = _json(remote("show", task_id, "-o", "json"))
    [only] = shown["runs"]
    sources = [image["source"] for image in only["images"]]
    assert sources == [f"src/app{i:04d}:1" for i in range(1203)]
    assert only["images"][-1]["digest"] == "sha256:" + "b" * 64


def test_a_wrong_token_or_no_server_is_reported_without_the_token(ferry, server: Server) -> None:
    wrong = "not-the-token-1234567890"
    refused = ferry("task", "--server", server.url, "--token", wrong, "list")
    assert refused.exit_code == 1
    assert "refused the request (401)" in refused.stderr
    assert "--create-token" in refused.stderr
    assert wrong not in refused.stdout + refused.stderr

    missing = ferry("task", "--server", server.url, "list")
    assert missing.exit_code == 2
    assert "FERRY_TOKEN" in missing.stderr

    down = ferry("task", "--server", "http://127.0.0.1:9", "--token", "x", "list")
    assert down.exit_code == 1
    assert "cannot reach the ferry server at http://127.0.0.1:9" in down.stderr


def test_create_on_the_server_prints_the_servers_warnings(remote) -> None:
    # The server has no alarm backend: its warning, not the CLI's own settings, counts.
    parameters = task_parameters("127.0.0.1:5000", "127.0.0.1:5001", "app:1.0")
    parameters["alarmEmail"] = "ops@example.com"
    created = remote("create", *param_args(parameters))
    assert created.exit_code == 0, output(created)
    assert created.stdout.strip().startswith("t-")
    assert created.stderr.startswith(
        "ferry: warning: alarmEmail ops@example.com will not be told of failed runs"
    )
    doc = _json(remote("create", *param_args(parameters), "-o", "json"))
    assert doc["warnings"] == [created.stderr.removeprefix("ferry: warning: ").strip()]
