"""``ferry``: the command-line entry point. Each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer

__all__ = ["app"]

app = typer.Typer(
    name="ferry",
    help="Move container images between OCI registries.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root() -> None:
    """Move container images between OCI registries."""
    # A callback keeps `ferry` a command group even when only one command
    # module is loaded (see _wanted): Typer would otherwise make that lone
    # command the root and reject its name.


# (module, attribute, command-group name or None for top-level commands)
_GROUPS: list[tuple[str, str | None]] = [
    ("imageferry.cli.copy", None),
    ("imageferry.cli.secret", "secret"),
    ("imageferry.cli.task", "task"),
    ("imageferry.cli.serve", None),
]


# Top-level commands each module provides, so that `ferry copy ...` imports only
# what copying needs (start-up time is most of a no-op run).
_COMMANDS = {
    "copy": "imageferry.cli.copy",
    "demo": "imageferry.cli.copy",
    "serve": "imageferry.cli.serve",
}


def _wanted(argv: list[str]) -> str | None:
    """The one module the command line needs, or None to load every group (help, unknown)."""
    first = next((a for a in argv[1:] if not a.startswith("-")), None)
    if first is None or any(a in ("--help", "-h") for a in argv[1:2]):
        return None
    if first in _COMMANDS:
        return _COMMANDS[first]
    return next((m for m, g in _GROUPS if g == first), None)


def _register() -> None:
    only = _wanted(sys.argv)
    for module_name, group in _GROUPS:
        if only is not None and module_name != only:
            continue
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
