"""``ferry command-server``: see or stop the background server that makes re-runs warm."""

from __future__ import annotations

import time
from typing import Annotated

import typer

from imageferry.cmdserver import client, paths

__all__ = ["app"]

app = typer.Typer(
    help="The command server: ferry copy starts one so the next copy starts warm.",
    no_args_is_help=True,
)


@app.command("status")
def status_command(
    wait: Annotated[
        float, typer.Option(help="Wait up to this many seconds for a starting server.")
    ] = 0.0,
) -> None:
    """Say whether a server for this installation and environment runs (exit 1 if not)."""
    if not paths.enabled():
        typer.echo("the command server is off (FERRY_COMMAND_SERVER)")
        raise typer.Exit(1)
    path = paths.socket_path()
    if path is None:
        typer.echo(
            "no private directory (or one with a short enough path) for the command "
            "server's socket; it is not used"
        )
        raise typer.Exit(1)
    deadline = time.monotonic() + wait
    while (answer := client.ping(path)) is None and time.monotonic() < deadline:
        time.sleep(0.05)
    if answer is None:
        why = client.failure(path)
        typer.echo(f"not running ({path})" + (f": the last one failed: {why}" if why else ""))
        raise typer.Exit(1)
    typer.echo(
        f"running: pid {answer['pid']}, {answer['served']} command(s) served, "
        f"exits after {answer['idle']:g}s idle ({path})"
    )


@app.command("stop")
def stop_command() -> None:
    """Stop the server once the commands it runs have finished."""
    path = paths.socket_path()
    if path is not None and client.stop(path):
        typer.echo("stopping")
    else:
        typer.echo("no command server running")
