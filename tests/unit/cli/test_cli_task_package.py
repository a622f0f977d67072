"""The ``ferry task`` modules and the option wiring export what they name, and the
group has its commands."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "imageferry.cli.task",
    "imageferry.cli.task_backend",
    "imageferry.cli.task_deploy",
    "imageferry.cli.task_follow",
    "imageferry.cli.task_view",
    "imageferry.cli.remote",
    "imageferry.cli.usage",
    "imageferry.cli.main",
]


@pytest.mark.parametrize("name", MODULES)
def test_every_exported_name_exists(name: str) -> None:
    module = importlib.import_module(name)
    assert module.__all__ == sorted(module.__all__)
    missing = [n for n in module.__all__ if not hasattr(module, n)]
    assert not missing


def test_every_task_command_exists() -> None:
    from imageferry.cli.task import app

    names = {command.name for command in app.registered_commands}
    assert names == {
        "create",
        "deploy",
        "list",
        "show",
        "start",
        "stop",
        "clone",
        "delete",
        "logs",
        "run",
        "plan",
        "prune",
    }
