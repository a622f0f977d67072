"""``ferry worker``: copy the batches that ``ferry serve`` (``FERRY_EXECUTOR=celery``) queues.

A Celery worker in this process, on FERRY_BROKER_URL's FERRY_QUEUE (or
``--queues``), with the shared store FERRY_DATABASE_URL. Start as many as the
registries and the store bear, on any machine that reaches them. Each batch
runs on a thread of its own (``--concurrency`` of them), with the copy engine.
SIGTERM lets the batches in flight finish; SIGKILL loses nothing either: the
broker hands their batches to another worker. A broker that cannot be reached
at start (within a few seconds), or refuses the password, and a store that
cannot be used, are one line and exit 1.
"""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from imageferry.cli.failures import one_line_errors

__all__ = ["register", "worker"]

_LOGLEVELS = ("debug", "info", "warning", "error")


def worker(
    concurrency: Annotated[
        int, typer.Option(min=1, help="Batches this worker copies at the same time.")
    ] = 2,
    queues: Annotated[
        str | None,
        typer.Option(help="Comma-separated queues to take batches from (default FERRY_QUEUE)."),
    ] = None,
    hostname: Annotated[
        str | None,
        typer.Option(help="This worker's name (default ferry@<host name>; unique per worker)."),
    ] = None,
    loglevel: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Run a Celery worker that copies the batches `ferry serve` queues (FERRY_EXECUTOR=celery).

    It needs FERRY_BROKER_URL, the FERRY_DATABASE_URL that `ferry serve` uses, and
    pip install 'imageferry\\[celery]'.
    """
    from imageferry.executor.celery_app import (
        check_broker,
        create_app,
        describe_broker,
        shutdown_signals,
    )
    from imageferry.settings import load_settings
    from imageferry.store import open_store

    if loglevel.lower() not in _LOGLEVELS:
        typer.echo(f"ferry: error: --loglevel must be one of {', '.join(_LOGLEVELS)}", err=True)
        raise typer.Exit(2)
    if queues is not None and not [q for q in queues.split(",") if q.strip()]:
        typer.echo(
            f"ferry: error: --queues {queues!r} names no queue; give e.g. --queues ferry", err=True
        )
        raise typer.Exit(2)
    with one_line_errors():
        settings = load_settings(executor="celery")
        name = hostname or f"ferry@{socket.gethostname()}"
        app = create_app(settings, executor_id=name)
        check_broker(app, settings)
        with open_store(settings, migrate=False) as store:  # `ferry serve` migrates it
            store.ping()  # a store it cannot reach would fail every batch it takes
        wanted = [q.strip() for q in (queues or settings.queue).split(",") if q.strip()]
        typer.echo(
            f"ferry worker {name}: {concurrency} at a time from {', '.join(wanted)} "
            f"on {describe_broker(settings)}",
            err=True,
        )
        celery_worker = app.Worker(
            hostname=name,
            concurrency=concurrency,
            queues=wanted,
            loglevel=loglevel.upper(),
            pool="threads",
            # Workers need not talk to each other: the store is their common ground.
            without_gossip=True,
            without_mingle=True,
            quiet=True,
        )
        stopped_by = shutdown_signals()
        celery_worker.start()
    if "SIGINT" in stopped_by:
        raise typer.Exit(130)  # Ctrl-C, as every ferry command reports it
    raise typer.Exit(celery_worker.exitcode or 0)


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
