"""Command lines ferry cannot parse: one ``ferry: error:`` line and exit 2.

Every other error of ferry is one line on stderr; Typer would print the usage
and draw a box around a parse error. :class:`OneLineUsageErrors` is the root
group's class: it reports the error with the help command to read instead.
``ferry`` alone, or a group without its command, still prints the help.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import typer

# Typer carries its own copy of click from 0.26 on (pyproject.toml's floor).
from typer._click.exceptions import UsageError
from typer.core import TyperGroup

__all__ = ["OneLineUsageErrors"]


@contextmanager
def _one_line() -> Iterator[None]:
    try:
        yield
    except UsageError as e:
        if type(e).__name__ == "NoArgsIsHelpError":  # its message is the help itself
            raise
        where = e.ctx.command_path if e.ctx is not None else "ferry"
        message = e.format_message().rstrip(".")
        typer.echo(f"ferry: error: {message} (see `{where} --help`)", err=True)
        raise typer.Exit(e.exit_code) from None


class OneLineUsageErrors(TyperGroup):
    """A group whose parse errors, and those of every command below it, are one line."""

    def make_context(self, *args: Any, **kwargs: Any) -> Any:
        with _one_line():
            return super().make_context(*args, **kwargs)

    def invoke(self, ctx: Any) -> Any:
        with _one_line():
            return super().invoke(ctx)
