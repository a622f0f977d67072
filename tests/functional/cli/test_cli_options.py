"""``--server``, ``--token`` and ``--output`` before or after the command they apply to.

The server is a real console on loopback with its own data directory; the CLI's
own data directory stays empty, so a listing that shows the server's task proves
the command went to the server.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from functional.cli.conftest import FERRY, Ferry, Server, output, task_parameters

DOWN = "http://127.0.0.1:9"


@pytest.fixture
def server_task(server: Server) -> str:
    """A task that exists only on the server."""
    parameters = task_parameters("127.0.0.1:5000", "127.0.0.1:5001", "app:1.0")
    return server.create_task(parameters, name="on the server")


def _fill(words: str, server: Server) -> list[str]:
    """The words of a command line, URL and TOKEN replaced by the server's."""
    values = {"URL": server.url, "TOKEN": server.token}
    return [values.get(word, word) for word in words.split()]


def _listed_ids(stdout: str) -> list[str]:
    return [row["id"] for row in json.loads(stdout)["items"]]


@pytest.mark.parametrize(
    "words",
    [
        "--server URL --token TOKEN -o json task list",
        "task --server URL --token TOKEN -o json list",
        "task list --server URL --token TOKEN -o json",
        "-o json task --token TOKEN list --server URL",
    ],
)
def test_server_token_and_output_work_in_every_position(
    ferry: Ferry, server: Server, server_task: str, words: str
) -> None:
    result = ferry(*_fill(words, server))
    assert result.exit_code == 0, output(result)
    assert _listed_ids(result.stdout) == [server_task]


def test_the_token_from_the_environment_with_server_after_the_command(
    ferry: Ferry, server: Server, server_task: str
) -> None:
    words = f"task show {server_task} --server URL -o json"
    result = ferry(*_fill(words, server), env={"FERRY_TOKEN": server.token})
    assert result.exit_code == 0, output(result)
    assert json.loads(result.stdout)["name"] == "on the server"


def test_a_typed_server_wins_over_the_environment_wherever_it_is_typed(
    ferry: Ferry, server: Server, server_task: str
) -> None:
    env = {"FERRY_SERVER": DOWN, "FERRY_TOKEN": server.token}
    before = ferry(*_fill("--server URL task list -o json", server), env=env)
    assert before.exit_code == 0, output(before)
    assert _listed_ids(before.stdout) == [server_task]

    # With the server in the environment, a --server typed after the command still wins.
    env = {"FERRY_SERVER": server.url, "FERRY_TOKEN": server.token}
    after = ferry("task", "list", "--server", DOWN, env=env)
    assert after.exit_code == 1, output(after)
    assert f"cannot reach the ferry server at {DOWN}" in after.stderr


def test_the_later_of_two_typed_values_wins(ferry: Ferry, server: Server, server_task: str) -> None:
    words = f"--server {DOWN} -o text task list --server URL -o json"
    result = ferry(*_fill(words, server), env={"FERRY_TOKEN": server.token})
    assert result.exit_code == 0, output(result)
    assert _listed_ids(result.stdout) == [server_task]


def test_output_before_or_after_gives_the_same_document(ferry: Ferry, create_task) -> None:
    task_id = create_task(task_parameters("127.0.0.1:5000", "127.0.0.1:5001", "app:1.0"))
    before = ferry("-o", "json", "task", "show", task_id)
    after = ferry("task", "show", task_id, "-o", "json")
    assert before.exit_code == after.exit_code == 0, output(before) + output(after)
    assert json.loads(before.stdout) == json.loads(after.stdout)
    assert json.loads(before.stdout)["id"] == task_id


def test_an_unknown_output_format_is_one_line_and_exit_2(ferry: Ferry) -> None:
    for args, value in (
        (["-o", "xml", "task", "list"], "xml"),
        (["task", "list", "--output", "yaml"], "yaml"),
    ):
        result = ferry(*args)
        assert result.exit_code == 2, output(result)
        assert result.stderr.splitlines() == [
            f"ferry: error: --output must be text or json, not {value!r}"
        ]


def _ferry_executable(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("FERRY_")}
    return subprocess.run(
        [FERRY, *args], env={**clean, **env}, capture_output=True, text=True, timeout=120
    )


def test_the_installed_ferry_accepts_server_after_the_command(
    server: Server, server_task: str, ferry_env: dict[str, str]
) -> None:
    env = {**ferry_env, "FERRY_TOKEN": server.token}
    # This command line used to fail with "No such option: --server".
    after = _ferry_executable(["task", "list", "--server", server.url, "-o", "json"], env)
    assert after.returncode == 0, after.stderr
    assert _listed_ids(after.stdout) == [server_task]
    before = _ferry_executable(["--server", server.url, "-o", "json", "task", "list"], env)
    assert before.returncode == 0, before.stderr
    assert _listed_ids(before.stdout) == [server_task]


def test_an_option_given_before_a_command_it_does_not_apply_to_is_refused(
    ferry_env: dict[str, str],
) -> None:
    for args, flag, command in (
        (["--server", DOWN, "secret", "list"], "--server", "secret"),
        (["--token", "t", "serve"], "--token", "serve"),
        (["-o", "json", "serve"], "--output", "serve"),
    ):
        result = _ferry_executable(args, ferry_env)
        assert result.returncode == 2, result.stderr
        assert result.stderr.splitlines() == [
            f"ferry: error: {flag} does not apply to `ferry {command}`"
        ]


def test_output_before_copy_is_the_copy_output(
    src_registry, dst_registry, ferry_env: dict[str, str]
) -> None:
    from imageferry.sandbox.images import push_image

    pushed = push_image(src_registry.url, "app", "1.0", seed="options")
    args = [
        "-o",
        "json",
        "copy",
        "--dry-run",
        f"{src_registry.host}/app:1.0",
        f"{dst_registry.host}/app:1.0",
    ]
    env = dict(ferry_env)
    result = _ferry_executable(args, env)
    assert result.returncode == 0, result.stderr
    [image] = json.loads(result.stdout)["images"]
    assert (image["digest"], image["status"]) == (pushed.digest, "would-copy")


def test_secret_list_says_when_there_are_none(data_dir: Path, ferry_env: dict[str, str]) -> None:
    text = _ferry_executable(["secret", "list"], ferry_env)
    assert text.returncode == 0, text.stderr
    assert text.stdout == ""
    assert text.stderr.splitlines() == [
        "no secrets stored (FERRY_SECRET_BACKEND=local); add one with: ferry secret put NAME "
        "--username USER (or --access-key-id ID, or --from-file FILE)"
    ]
    for args in (["secret", "list", "-o", "json"], ["-o", "json", "secret", "list"]):
        as_json = _ferry_executable(args, ferry_env)
        assert as_json.returncode == 0, as_json.stderr
        assert (json.loads(as_json.stdout), as_json.stderr) == ({"secrets": []}, "")
