"""``ferry``: the command-line entry point. Each command group lives in its own module."""

from __future__ import annotations

import importlib

import typer

__all__ = ["app"]

app = typer.Typer(
    name="ferry",
    help="Move container images between OCI registries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

# (module, attribute, command-group name or None for top-level commands)
_GROUPS: list[tuple[str, str | None]] = [
    ("imageferry.cli.copy", None),
    ("imageferry.cli.secret", "secret"),
    ("imageferry.cli.task", "task"),
    ("imageferry.cli.serve", None),
]


def _register() -> None:
    for module_name, group in _GROUPS:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            continue
        register = getattr(module, "register", None)
        if register is not None:
            register(app)
        elif group is not None:
            app.add_typer(module.app, name=group)


_register()
