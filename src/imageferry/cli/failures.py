"""imageferry's errors at a command's edge: one ``ferry: error:`` line and the exit code."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import typer

from imageferry.errors import ConfigError, FerryError

__all__ = ["one_line_errors"]


@contextmanager
def one_line_errors() -> Iterator[None]:
    """Turn imageferry errors into one line on stderr: exit 2 for configuration, else 1."""
    try:
        yield
    except ConfigError as e:
        typer.echo(f"ferry: error: {e}", err=True)
        raise typer.Exit(2) from None
    except FerryError as e:
        typer.echo(f"ferry: error: {e}", err=True)
        raise typer.Exit(1) from None
