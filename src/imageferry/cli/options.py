"""Options a command group shares with its commands, accepted before or after them.

Click binds an option to the command it follows, so ``ferry task list --server URL``
and ``ferry --server URL task list`` are different command lines to it. Here one
declaration (:data:`SERVER`, :data:`TOKEN`, :data:`OUTPUT`) is given to a group and
to each of its commands by the group's class (:func:`shared_group`), and commands
read the value with :func:`chosen`, wherever it was typed:

* a value typed on the command line wins over the environment (``FERRY_SERVER``);
* of two typed values the later one wins, as when an option is repeated;
* an environment variable fills the option only when nothing was typed.

A command that declares an option of the same name itself (``ferry copy -o``) gets
a value typed before it as its default instead (:func:`pass_to_command`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Literal

import typer
from typer.core import TyperGroup, TyperOption

from imageferry.errors import ConfigError

__all__ = [
    "OUTPUT",
    "SERVER",
    "TOKEN",
    "Output",
    "SharedOption",
    "chosen",
    "declares",
    "output_format",
    "pass_to_command",
    "shared_group",
    "takes",
    "typed_here",
]

Output = Literal["text", "json"]

#: Where the values live in ``ctx.meta``, the one dict every nested context shares.
_META_KEY = "imageferry.cli.options"


@dataclass(frozen=True)
class SharedOption:
    """One option a group and its commands all accept; ``name`` is its parameter name."""

    name: str
    flags: tuple[str, ...]
    metavar: str
    help: str
    envvar: str | None = None

    def option(self) -> TyperOption:
        """A fresh click option (one per command: click keeps state on it)."""
        return _SharedTyperOption(
            param_decls=[self.name, *self.flags],
            type=str,
            metavar=self.metavar,
            help=self.help,
            envvar=self.envvar,
            show_envvar=self.envvar is not None,
            expose_value=False,
            callback=_remember,
        )


SERVER = SharedOption(
    "server",
    ("--server",),
    "URL",
    "Talk to a running `ferry serve` at this URL instead of the local store.",
    "FERRY_SERVER",
)
TOKEN = SharedOption(
    "token",
    ("--token",),
    "TOKEN",
    "API token for --server (prefer FERRY_TOKEN: argv is visible to `ps`). "
    "Create one with `ferry serve --create-token NAME`.",
    "FERRY_TOKEN",
)
OUTPUT = SharedOption(
    "output",
    ("--output", "-o"),
    "FORMAT",
    "text (default) or json: one JSON document on stdout, messages on stderr.",
)


class _SharedTyperOption(TyperOption):
    """Marks the options :func:`shared_group` added, as opposed to a command's own."""


def _remember(ctx: typer.Context, param: typer.CallbackParam, value: str | None) -> None:
    """Record a value as it is parsed, outer commands first (see the module docstring)."""
    if value is None or param.name is None:
        return
    source = ctx.get_parameter_source(param.name)
    typed = source is not None and source.name == "COMMANDLINE"
    values: dict[str, str] = ctx.meta.setdefault(_META_KEY, {})
    if typed or param.name not in values:
        values[param.name] = value


def chosen(ctx: typer.Context, option: SharedOption) -> str | None:
    """The option's value for this command line, wherever it was given; None if nowhere."""
    found = ctx.meta.get(_META_KEY, {}).get(option.name)
    return found if isinstance(found, str) else None


def output_format(ctx: typer.Context) -> Output:
    """``--output``, checked: text unless json was asked for."""
    value = chosen(ctx, OUTPUT) or "text"
    if value == "text":
        return "text"
    if value == "json":
        return "json"
    raise ConfigError(f"--output must be text or json, not {value!r}")


def typed_here(ctx: typer.Context, options: Iterable[SharedOption]) -> list[SharedOption]:
    """The options typed on the command line right at this command (not before, not after)."""
    typed = []
    for option in options:
        source = ctx.get_parameter_source(option.name)
        if source is not None and source.name == "COMMANDLINE":
            typed.append(option)
    return typed


def pass_to_command(ctx: typer.Context, command: str, option: SharedOption) -> None:
    """Make the value typed so far the default of ``command``'s own option of that name."""
    value = chosen(ctx, option)
    if value is None:
        return
    defaults: dict[str, Any] = dict(ctx.default_map or {})
    defaults[command] = {**defaults.get(command, {}), option.name: value}
    ctx.default_map = defaults


def takes(command: Any, option: SharedOption) -> bool:
    """Whether ``command`` (for a group: each of its commands) reads ``option`` through
    :func:`chosen`, so that a value typed before it reaches it."""
    subcommands = getattr(command, "commands", None)
    if isinstance(subcommands, dict) and subcommands:
        return all(takes(sub, option) for sub in subcommands.values())
    return any(isinstance(p, _SharedTyperOption) and p.name == option.name for p in command.params)


def declares(command: Any, option: SharedOption) -> bool:
    """Whether ``command`` has an option of that name of its own (``ferry copy -o``)."""
    return any(p.name == option.name for p in command.params)


def shared_group(
    *options: SharedOption, commands: bool = True, base: type[TyperGroup] = TyperGroup
) -> type[TyperGroup]:
    """A group class (derived from ``base``) that takes ``options`` itself and, with
    ``commands``, gives them to each of its commands that does not declare an option
    of that name itself."""

    class SharedOptionsGroup(base):  # type: ignore[valid-type,misc]
        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            _add(self, options)
            if commands:
                for command in self.commands.values():
                    _add(command, options)

    return SharedOptionsGroup


def _add(command: Any, options: Iterable[SharedOption]) -> None:
    have = {param.name for param in command.params}
    command.params.extend(option.option() for option in options if option.name not in have)
