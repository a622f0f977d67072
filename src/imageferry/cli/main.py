"""``ferry``: the command-line entry point. Each command group lives in its own module."""

from __future__ import annotations

import importlib
import sys

import typer

from imageferry.cli.options import (
    OUTPUT,
    SERVER,
    TOKEN,
    declares,
    pass_to_command,
    shared_group,
    takes,
    typed_here,
)
from imageferry.cli.usage import OneLineUsageErrors

__all__ = ["app", "new_app"]

#: Options accepted right after ``ferry``, before the command they apply to.
_ROOT_OPTIONS = (SERVER, TOKEN, OUTPUT)


def new_app() -> typer.Typer:
    """The ``ferry`` command group without its commands (tests add the ones they need)."""
    root = typer.Typer(
        name="ferry",
        help="Move container images between OCI registries.",
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        cls=shared_group(*_ROOT_OPTIONS, commands=False, base=OneLineUsageErrors),
    )
    # A callback keeps `ferry` a command group even when only one command
    # module is loaded (see _wanted): Typer would otherwise make that lone
    # command the root and reject its name.
    root.callback()(_root)
    return root


def _root(ctx: typer.Context) -> None:
    """Move container images between OCI registries."""
    name = ctx.invoked_subcommand
    command = ctx.command.get_command(ctx, name) if name else None  # type: ignore[attr-defined]
    if name is None or command is None:
        return
    for option in typed_here(ctx, _ROOT_OPTIONS):
        if takes(command, option):
            continue
        if declares(command, option):
            pass_to_command(ctx, name, option)
            continue
        typer.echo(f"ferry: error: {option.flags[0]} does not apply to `ferry {name}`", err=True)
        raise typer.Exit(2)


app = new_app()


# (module, attribute, command-group name or None for top-level commands)
_GROUPS: list[tuple[str, str | None]] = [
    ("imageferry.cli.copy", None),
    ("imageferry.cli.secret", "secret"),
    ("imageferry.cli.task", "task"),
    ("imageferry.cli.serve", None),
    ("imageferry.cli.worker", None),
    ("imageferry.cli.aws", "aws"),
]


# Top-level commands each module provides, so that `ferry copy ...` imports only
# what copying needs (start-up time is most of a no-op run).
_COMMANDS = {
    "copy": "imageferry.cli.copy",
    "demo": "imageferry.cli.copy",
    "serve": "imageferry.cli.serve",
    "worker": "imageferry.cli.worker",
}


def _wanted(argv: list[str]) -> str | None:
    """The one module the command line needs, or None to load every group (help, unknown)."""
    if any(a in ("--help", "-h") for a in argv[1:2]):
        return None
    first = _command_word(argv[1:])
    if first is None:
        return None
    if first in _COMMANDS:
        return _COMMANDS[first]
    return next((m for m, g in _GROUPS if g == first), None)


def _command_word(args: list[str]) -> str | None:
    """The first word that is not an option of ``ferry`` itself or such an option's value."""
    takes_value = {flag for option in _ROOT_OPTIONS for flag in option.flags}
    words = iter(args)
    for word in words:
        if word in takes_value:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


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
