"""What a new user sees after a typo, a wrong id or on an empty store: one line that says
what is wrong or what to do next, no box, no trace."""

from __future__ import annotations

import json

import pytest
from click.testing import Result
from typer.testing import CliRunner

from functional.cli.conftest import Ferry, Server, output
from imageferry.cli.main import app

NOT_FOUND = "ferry: error: task 'nope' not found; `ferry task list` shows the tasks"


@pytest.fixture
def ferry_all(ferry_env: dict[str, str]) -> Ferry:
    """The whole ``ferry`` (every command group) in-process."""

    def invoke(*args: str) -> Result:
        env: dict[str, str | None] = {"FERRY_SERVER": None, "FERRY_TOKEN": None, **ferry_env}
        return CliRunner().invoke(app, list(args), env=env)

    return invoke


@pytest.mark.parametrize(
    ("args", "what", "where"),
    [
        ("task show", "Missing argument 'TASK_ID'", "ferry task show"),
        ("task run", "Missing argument 'TASK_ID'", "ferry task run"),
        ("task list --bogus", "--bogus", "ferry task list"),
        ("task list --limit 0", "'--limit': 0 is not in the range 1<=x<=500", "ferry task list"),
        ("secret get hub", "No such command 'get'", "ferry secret"),
        ("tasks list", "No such command 'tasks'", "ferry"),
        ("--bogus task list", "--bogus", "ferry"),
    ],
)
def test_a_command_line_ferry_cannot_parse_is_one_line_and_exit_2(
    ferry_all: Ferry, args: str, what: str, where: str
) -> None:
    # Click words the message itself (its wording differs between versions).
    result = ferry_all(*args.split())
    assert result.exit_code == 2, output(result)
    [line] = result.stderr.splitlines()
    assert line.startswith("ferry: error: ") and what in line, line
    assert line.endswith(f" (see `{where} --help`)"), line
    assert result.stdout == ""


def test_a_group_without_its_command_still_shows_the_help(ferry_all: Ferry) -> None:
    result = ferry_all("task")
    assert "Usage: ferry task" in result.output
    assert "create" in result.output and "ferry: error" not in result.output


@pytest.mark.parametrize(
    "args",
    ["show", "run", "start", "plan", "logs", "clone", "delete --yes"],
)
def test_an_unknown_task_id_is_one_line(ferry: Ferry, args: str) -> None:
    command, *options = args.split()
    result = ferry("task", command, "nope", *options)
    assert result.exit_code == 1, output(result)
    assert result.stderr.splitlines() == [NOT_FOUND]


def test_an_unknown_task_id_on_the_server_is_one_line(ferry: Ferry, server: Server) -> None:
    for command in ("show", "run", "start", "logs"):
        result = ferry("task", command, "nope", "--server", server.url, "--token", server.token)
        assert result.exit_code == 1, output(result)
        assert result.stderr.splitlines() == [NOT_FOUND]
        assert server.token not in result.output


def test_with_json_output_before_the_group_the_error_is_also_a_json_document(
    ferry: Ferry,
) -> None:
    result = ferry("-o", "json", "task", "show", "nope")
    assert result.exit_code == 1, output(result)
    assert json.loads(result.stdout) == {"error": NOT_FOUND.removeprefix("ferry: error: ")}


def test_deleting_a_missing_secret_is_one_line(ferry_all: Ferry) -> None:
    result = ferry_all("secret", "delete", "nope", "--yes")
    assert result.exit_code == 2, output(result)
    assert result.stderr.splitlines() == [
        "ferry: error: secret 'nope' does not exist; create it with `ferry secret put nope`"
    ]


def test_an_empty_task_list_says_how_to_create_a_task(ferry: Ferry, server: Server) -> None:
    local = ferry("task", "list")
    assert (local.exit_code, local.stdout) == (0, ""), output(local)
    assert local.stderr.startswith("no tasks yet; create one with: ferry task create --param")
    remote = ferry("task", "list", "--server", server.url, "--token", server.token)
    assert remote.exit_code == 0, output(remote)
    assert remote.stderr.startswith(f"no tasks yet on {server.url}; create one with:")
    assert ferry("task", "list", "--status", "done").stderr == "no tasks in status DONE\n"
