"""``ferry task run|show|list|logs|plan|clone|delete`` against real loopback registries."""

from __future__ import annotations

import json

import httpx

from functional.cli.conftest import output, task_parameters
from stand_ins.images import push_image, push_index
from stand_ins.skopeo import inspect_digest

SHOW_KEYS = ["id", "name", "status", "parameters", "runs"]
RUN_KEYS = ["id", "status", "started_at", "ended_at", "images"]
IMAGE_KEYS = [
    "source",
    "destination",
    "digest",
    "status",
    "bytes_transferred",
    "bytes_reused",
    "seconds",
    "attempts",
    "error",
]


def _seed(src) -> dict[str, str]:
    """Two images in the source: a single-platform one and a multi-arch index."""
    app = push_image(src.url, "app", "1.0", seed="app")
    tools = push_index(src.url, "team/tools", "latest", seed="tools")
    return {"app": app.digest, "tools": tools.digest}


def test_run_copies_every_image_and_show_reports_it_exactly(
    src_registry, dst_registry, ferry, ferry_json, create_task
) -> None:
    digests = _seed(src_registry)
    task_id = create_task(
        task_parameters(src_registry, dst_registry, "app:1.0, team/tools"), "--name", "mirror"
    )

    result = ferry("task", "run", task_id)
    assert result.exit_code == 0, output(result)
    assert "DONE: 2 copied, 0 skipped, 0 failed of 2" in result.stdout
    assert "started" in result.stderr  # progress lines on stderr
    assert f"copied {src_registry.host}/app:1.0" in result.stderr

    dst = dst_registry.host
    assert inspect_digest(f"{dst}/mirror/app:1.0") == digests["app"]
    assert inspect_digest(f"{dst}/mirror/team/tools:latest") == digests["tools"]

    shown = ferry_json("task", "show", task_id)
    assert list(shown) == SHOW_KEYS
    assert (shown["id"], shown["name"], shown["status"]) == (task_id, "mirror", "DONE")
    [run] = shown["runs"]
    assert list(run) == RUN_KEYS
    assert run["status"] == "DONE"
    assert run["started_at"] <= run["ended_at"]
    assert run["started_at"].endswith("+00:00")
    images = {i["source"]: i for i in run["images"]}
    assert set(images) == {f"{src_registry.host}/app:1.0", f"{src_registry.host}/team/tools:latest"}
    app = images[f"{src_registry.host}/app:1.0"]
    assert list(app) == IMAGE_KEYS
    assert app["destination"] == f"{dst}/mirror/app:1.0"
    assert app["digest"] == digests["app"]
    assert app["status"] == "copied"
    assert app["bytes_transferred"] > 0
    assert app["attempts"] == 1
    assert app["error"] == ""
    assert images[f"{src_registry.host}/team/tools:latest"]["digest"] == digests["tools"]

    # A second run copies only what changed: nothing.
    again = ferry("task", "run", task_id, "-o", "json")
    assert again.exit_code == 0, output(again)
    doc = json.loads(again.stdout)
    assert doc["status"] == "DONE"
    assert doc["trigger"] == "cli"
    assert (doc["images_copied"], doc["images_skipped"], doc["bytes_transferred"]) == (0, 2, 0)
    assert {i["status"] for i in doc["images"]} == {"skipped"}

    shown = ferry_json("task", "show", task_id)
    assert [r["id"] for r in shown["runs"]] == [doc["id"], run["id"]]  # newest first


def test_a_run_that_fails_before_listing_images_says_only_why(
    src_registry, dst_registry, ferry, create_task
) -> None:
    _seed(src_registry)
    task_id = create_task(
        task_parameters(src_registry, dst_registry, "app:1.0", srcCredential="no-such-secret")
    )

    result = ferry("task", "run", task_id)

    assert result.exit_code == 1, output(result)
    # Said once: the summary, which says when it failed and why.
    assert result.stdout.strip().startswith("run 1 (")
    assert "ended ERROR before any image was selected: secret 'no-such-secret' does not" in (
        result.stdout
    )
    assert (result.stdout + result.stderr).count("does not exist") == 1
    assert "0 of 0" not in result.stdout + result.stderr
    assert "ferry: error" not in result.stderr


def test_a_missing_tag_ends_the_run_in_error_with_the_failed_count(
    src_registry, dst_registry, ferry, ferry_json, create_task
) -> None:
    digests = _seed(src_registry)
    task_id = create_task(task_parameters(src_registry, dst_registry, "app:1.0, app:nope"))

    result = ferry("task", "run", task_id)
    assert result.exit_code == 1, output(result)
    assert "ended ERROR: 1 copied, 0 skipped, 1 failed of 2; " in result.stdout
    assert f"failed {src_registry.host}/app:nope" in result.stderr
    # The image that exists was still copied.
    assert inspect_digest(f"{dst_registry.host}/mirror/app:1.0") == digests["app"]

    shown = ferry_json("task", "show", task_id)
    assert shown["status"] == "ERROR"
    statuses = {i["source"].rsplit("/", 1)[1]: i for i in shown["runs"][0]["images"]}
    assert statuses["app:1.0"]["status"] == "copied"
    assert statuses["app:nope"]["status"] == "failed"
    assert "nope" in statuses["app:nope"]["error"]

    quiet = ferry("task", "run", task_id, "-o", "json")
    assert quiet.exit_code == 1
    assert json.loads(quiet.stdout)["images_failed"] == 1
    assert f"ferry: failed: {src_registry.host}/app:nope" in quiet.stderr


def test_list_shows_every_task_with_its_progress(
    src_registry, dst_registry, ferry, ferry_json, create_task
) -> None:
    _seed(src_registry)
    done = create_task(task_parameters(src_registry, dst_registry, "app:1.0"), "--name", "one")
    fresh = create_task(task_parameters(src_registry, dst_registry, "app:1.0"), "--name", "two")
    assert ferry("task", "run", done, "-q").exit_code == 0

    doc = ferry_json("task", "list")
    assert doc["total"] == 2
    rows = {row["id"]: row for row in doc["items"]}
    assert set(rows) == {done, fresh}
    assert rows[done]["status"] == "DONE"
    assert (rows[done]["images_done"], rows[done]["images_total"]) == (1, 1)
    assert rows[done]["source"] == src_registry.host
    assert rows[done]["destination"] == f"{dst_registry.host}/mirror"
    assert rows[done]["schedule"] == "ONE_TIME"
    assert rows[fresh]["status"] == "CREATED"

    filtered = ferry_json("task", "list", "--status", "done")
    assert [row["id"] for row in filtered["items"]] == [done]
    assert ferry_json("task", "list", "--limit", "1")["items"].__len__() == 1

    table = ferry("task", "list")
    assert table.exit_code == 0
    header, *lines = table.stdout.splitlines()
    assert header.split() == [
        "ID",
        "NAME",
        "SOURCE",
        "DESTINATION",
        "SCHEDULE",
        "STATUS",
        "PROGRESS",
        "CREATED",
    ]
    line = next(line for line in lines if line.startswith(done))
    assert "DONE" in line and "1/1" in line

    bad = ferry("task", "list", "--status", "FINISHED")
    assert bad.exit_code == 2
    assert "IN_PROGRESS" in bad.stderr


def test_plan_shows_what_would_be_copied_then_that_it_is_up_to_date(
    src_registry, dst_registry, ferry, ferry_json, create_task
) -> None:
    _seed(src_registry)
    task_id = create_task(task_parameters(src_registry, dst_registry, "app:1.0, team/tools"))

    plan = ferry_json("task", "plan", task_id)
    assert plan["summary"]["would_copy"] == 2
    assert plan["summary"]["bytes_missing"] > 0
    assert {i["status"] for i in plan["images"]} == {"would-copy"}
    # A plan changes nothing.
    with httpx.Client() as client:
        assert client.get(f"{dst_registry.url}/v2/mirror/app/manifests/1.0").status_code == 404
    assert ferry_json("task", "show", task_id)["runs"] == []

    dry = ferry("task", "run", task_id, "--dry-run")
    assert dry.exit_code == 0, output(dry)
    assert "would copy" in dry.stdout
    assert "2 would be copied" in dry.stdout

    assert ferry("task", "run", task_id, "-q").exit_code == 0
    after = ferry_json("task", "plan", task_id)
    assert after["summary"]["up_to_date"] == 2
    assert (after["summary"]["would_copy"], after["summary"]["bytes_missing"]) == (0, 0)
    assert {i["status"] for i in after["images"]} == {"up-to-date"}


def test_logs_of_the_latest_run_and_of_a_chosen_run(
    src_registry, dst_registry, ferry, ferry_json, create_task
) -> None:
    _seed(src_registry)
    task_id = create_task(task_parameters(src_registry, dst_registry, "app:1.0"))
    none_yet = ferry("task", "logs", task_id)
    assert none_yet.exit_code == 2
    assert "no runs yet" in none_yet.stderr

    first = json.loads(ferry("task", "run", task_id, "-o", "json").stdout)["id"]
    second = json.loads(ferry("task", "run", task_id, "-o", "json").stdout)["id"]

    latest = ferry("task", "logs", task_id)
    assert latest.exit_code == 0
    assert "run 2 of task" in latest.stdout
    assert "skipped" in latest.stdout
    assert "run ended DONE" in latest.stdout

    chosen = ferry_json("task", "logs", task_id, "--run", first)
    assert chosen["run_id"] == first
    messages = [line["message"] for line in chosen["items"]]
    assert any(m.startswith("copied ") for m in messages)
    ids = [line["id"] for line in chosen["items"]]
    assert ids == sorted(ids)

    # --follow on an ended run prints what there is and returns.
    followed = ferry("task", "logs", task_id, "--run", second, "--follow", "-o", "json")
    assert followed.exit_code == 0
    lines = [json.loads(line) for line in followed.stdout.splitlines()]
    assert lines and all(line["run_id"] == second for line in lines)

    other = create_task(task_parameters(src_registry, dst_registry, "app:1.0"))
    wrong = ferry("task", "logs", other, "--run", first)
    assert wrong.exit_code == 2
    assert f"belongs to task {task_id!r}" in wrong.stderr


def test_clone_with_an_override_copies_to_the_new_prefix(
    src_registry, dst_registry, ferry, ferry_json, create_task
) -> None:
    digests = _seed(src_registry)
    original = create_task(
        task_parameters(src_registry, dst_registry, "app:1.0"), "--name", "nightly"
    )

    clone = ferry("task", "clone", original, "--param", "destPrefix=backup")
    assert clone.exit_code == 0, output(clone)
    clone_id = clone.stdout.strip()
    assert clone_id != original

    shown = ferry_json("task", "show", clone_id)
    assert shown["name"] == "nightly (clone)"
    assert shown["parameters"]["destPrefix"] == "backup"
    assert shown["parameters"]["srcImageList"] == "app:1.0"
    assert ferry_json("task", "show", original)["parameters"]["destPrefix"] == "mirror"

    assert ferry("task", "run", clone_id, "-q").exit_code == 0
    assert inspect_digest(f"{dst_registry.host}/backup/app:1.0") == digests["app"]

    named = ferry_json("task", "clone", original, "--name", "copy")
    assert ferry_json("task", "show", named["id"])["name"] == "copy"

    invalid = ferry("task", "clone", original, "--param", "destPrefix=/Bad")
    assert invalid.exit_code == 2
    assert "destPrefix" in invalid.stderr


def test_delete_asks_first_and_removes_the_task(
    src_registry, dst_registry, ferry, ferry_json, create_task
) -> None:
    task_id = create_task(task_parameters(src_registry, dst_registry, "app:1.0"))

    declined = ferry("task", "delete", task_id, input="n\n")
    assert declined.exit_code == 1
    assert ferry_json("task", "show", task_id)["id"] == task_id

    deleted = ferry_json("task", "delete", task_id, "--yes")
    assert deleted == {"id": task_id, "deleted": True}
    gone = ferry("task", "show", task_id)
    assert gone.exit_code == 1
    assert f"task {task_id!r} not found" in gone.stderr
    assert ferry_json("task", "list")["total"] == 0


def test_start_without_a_server_runs_in_the_foreground(
    src_registry, dst_registry, ferry, create_task
) -> None:
    digests = _seed(src_registry)
    task_id = create_task(task_parameters(src_registry, dst_registry, "app:1.0"))
    result = ferry("task", "start", task_id)
    assert result.exit_code == 0, output(result)
    assert "no --server given" in result.stderr
    assert "DONE: 1 copied" in result.stdout
    assert inspect_digest(f"{dst_registry.host}/mirror/app:1.0") == digests["app"]


def test_unknown_task_and_stop_without_a_run(ferry, create_task) -> None:
    missing = ferry("task", "run", "t-nosuchtask")
    assert missing.exit_code == 1
    assert "not found" in missing.stderr
    task_id = create_task(task_parameters("127.0.0.1:5000", "127.0.0.1:5001", "app"))
    idle = ferry("task", "stop", task_id)
    assert idle.exit_code == 2
    # The same one line as with --server (NoActiveRun, whichever side answers).
    assert idle.stderr == (
        f"ferry: error: task {task_id!r} has no active run to stop; its runs have all "
        f"ended (`ferry task show {task_id}` lists them)\n"
    )
    assert ferry("task", "stop", "t-nosuchtask").exit_code == 1
    assert ferry("task", "show", task_id, "-o", "yaml").exit_code == 2
