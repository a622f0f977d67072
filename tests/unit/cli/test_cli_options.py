"""Shared options: where a value typed anywhere on the command line ends up."""

from __future__ import annotations

import json

import pytest
import typer
from typer.testing import CliRunner

from imageferry.cli import main
from imageferry.cli.options import OUTPUT, SERVER, TOKEN, chosen, declares, shared_group, takes


def _app() -> typer.Typer:
    """``ferry`` with a group ``g`` whose command ``show`` prints what it was given."""
    root = main.new_app()
    group = typer.Typer(cls=shared_group(SERVER, TOKEN, OUTPUT))

    @group.command("show")
    def show(ctx: typer.Context) -> None:
        typer.echo(json.dumps({o.name: chosen(ctx, o) for o in (SERVER, TOKEN, OUTPUT)}))

    @group.command("own")
    def own(output: str = typer.Option("text", "--output", "-o")) -> None:
        typer.echo(output)

    root.add_typer(group, name="g")
    own_group = typer.Typer()
    own_group.command("own")(own)
    root.add_typer(own_group, name="plain")
    root.command("single")(own)
    return root


def _run(*args: str, env: dict[str, str] | None = None) -> dict[str, str | None]:
    full: dict[str, str | None] = {"FERRY_SERVER": None, "FERRY_TOKEN": None, **(env or {})}
    result = CliRunner().invoke(_app(), list(args), env=full)
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


@pytest.mark.parametrize(
    "args",
    [
        ["--server", "http://a", "g", "show"],
        ["g", "--server", "http://a", "show"],
        ["g", "show", "--server", "http://a"],
        ["--server=http://a", "g", "show"],
    ],
)
def test_a_value_reaches_the_command_from_any_position(args: list[str]) -> None:
    assert _run(*args)["server"] == "http://a"


def test_nothing_given_is_none() -> None:
    assert _run("g", "show") == {"server": None, "token": None, "output": None}


def test_the_environment_fills_only_what_was_not_typed() -> None:
    env = {"FERRY_SERVER": "http://env", "FERRY_TOKEN": "env-token"}
    assert _run("g", "show", env=env) == {
        "server": "http://env",
        "token": "env-token",
        "output": None,
    }
    # Typed before the command: the command's own reading of FERRY_SERVER must not undo it.
    assert _run("--server", "http://typed", "g", "show", env=env)["server"] == "http://typed"
    assert _run("g", "show", "--token", "typed", env=env)["token"] == "typed"


def test_the_later_typed_value_wins() -> None:
    assert _run("-o", "json", "g", "show", "-o", "text")["output"] == "text"
    assert _run("--server", "http://1", "g", "--server", "http://2", "show")["server"] == (
        "http://2"
    )


def test_output_before_a_command_with_its_own_output_option_is_its_default() -> None:
    result = CliRunner().invoke(_app(), ["-o", "json", "single"])
    assert (result.exit_code, result.stdout) == (0, "json\n")
    result = CliRunner().invoke(_app(), ["-o", "json", "single", "-o", "text"])
    assert (result.exit_code, result.stdout) == (0, "text\n")


def test_an_option_before_a_command_that_cannot_use_it_is_one_line_and_exit_2() -> None:
    result = CliRunner().invoke(_app(), ["--server", "http://a", "plain", "own"])
    assert result.exit_code == 2
    assert result.stderr.splitlines() == ["ferry: error: --server does not apply to `ferry plain`"]


def test_a_server_in_the_environment_is_no_reason_to_refuse_a_command() -> None:
    env = {"FERRY_SERVER": "http://env", "FERRY_TOKEN": "t"}
    result = CliRunner().invoke(_app(), ["plain", "own"], env=env)
    assert (result.exit_code, result.stdout) == (0, "text\n")


def test_takes_and_declares() -> None:
    group = typer.main.get_command(_app())
    ctx = typer.Context(group)
    g = group.get_command(ctx, "g")  # type: ignore[attr-defined]
    plain = group.get_command(ctx, "plain")  # type: ignore[attr-defined]
    single = group.get_command(ctx, "single")  # type: ignore[attr-defined]
    assert takes(g, SERVER) and takes(g.commands["show"], OUTPUT)
    # A command with its own --output in a shared group keeps its own.
    assert not takes(g.commands["own"], OUTPUT) and declares(g.commands["own"], OUTPUT)
    assert not takes(plain, SERVER) and not declares(single, SERVER)


@pytest.mark.parametrize(
    ("argv", "module"),
    [
        (["ferry", "--server", "http://x", "task", "list"], "imageferry.cli.task"),
        (["ferry", "-o", "json", "--token", "t", "task", "show", "x"], "imageferry.cli.task"),
        (["ferry", "--output=json", "secret", "list"], "imageferry.cli.secret"),
        (["ferry", "-o", "json", "copy", "a", "b"], "imageferry.cli.copy"),
        (["ferry", "--help"], None),
    ],
)
def test_only_the_module_of_the_command_is_loaded(argv: list[str], module: str | None) -> None:
    assert main._wanted(argv) == module


def test_every_exported_name_exists() -> None:
    from imageferry.cli import options

    assert [name for name in options.__all__ if not hasattr(options, name)] == []
