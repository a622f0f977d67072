"""``ferry serve``: the console, the JSON API and the embedded runtime in one process.

The embedded default is one process: the SQLite store under the data
directory, the local executor and the scheduler (the runtime), and the
console served by uvicorn, bound to 127.0.0.1:8080 unless told otherwise
(``--host``/``--port`` or ``FERRY_HOST``/``FERRY_PORT``).

``ferry serve --create-token NAME`` prints a new API token for the admin
account once and exits; the CLI and automation send it as
``Authorization: Bearer <token>``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from imageferry.cli.failures import one_line_errors

if TYPE_CHECKING:
    from imageferry.settings import Settings
    from imageferry.store import Store
    from imageferry.web.ports import Runtime, TaskServicePort

__all__ = ["embedded_runtime", "register", "serve"]


def embedded_runtime(settings: Settings, store: Store) -> tuple[TaskServicePort, Runtime]:
    """The task service and the runtime (local executor + scheduler) on ``store``.

    Imported late: ``ferry serve --create-token`` must not load the task engine.
    Says at once where alarms of failed runs go (see :func:`serve_notes`).
    """
    from imageferry.runtime import Runtime as EmbeddedRuntime
    from imageferry.tasks.alarm_routing import serve_notes

    runtime = EmbeddedRuntime(settings, store=store)
    channel = runtime.notifier.channel if runtime.notifier is not None else None
    emails = [] if channel is not None else _alarm_emails(store)
    for note in serve_notes(channel, emails):
        typer.echo(note, err=True)
    return runtime.service, runtime


def _alarm_emails(store: Store) -> list[str]:
    """Every task's alarmEmail (all pages)."""
    from imageferry.store.base import MAX_PAGE

    emails: list[str] = []
    offset = 0
    while True:
        page = store.list_tasks(offset=offset, limit=MAX_PAGE)
        emails += [t.parameters.get("alarmEmail", "") for t in page.items]
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return emails


def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to bind (default FERRY_HOST or 127.0.0.1).")
    ] = None,
    port: Annotated[
        int | None, typer.Option(help="Port to listen on (default FERRY_PORT or 8080).")
    ] = None,
    create_token: Annotated[
        str | None,
        typer.Option(
            "--create-token",
            metavar="NAME",
            help="Print a new API token for the admin account once, and exit.",
        ),
    ] = None,
) -> None:
    """Run the web console, the JSON API and the scheduler; runs are copied here.

    With FERRY_EXECUTOR=celery, runs are planned here and copied by `ferry worker`
    processes.
    """
    # Loaded here, not at the top: `ferry --help` lists this command without them.
    from imageferry.settings import load_settings
    from imageferry.store import open_store
    from imageferry.web import ADMIN_USERNAME, ensure_admin

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    with one_line_errors():
        settings = load_settings(**overrides)
        with open_store(settings) as store:
            if create_token is not None:
                ensure_admin(store, settings)
                token = store.create_api_token(ADMIN_USERNAME, create_token)
                typer.echo(token.plaintext)
                return
            _run(settings, store)


def _run(settings: Settings, store: Store) -> None:
    import uvicorn

    from imageferry.secrets import open_secret_store
    from imageferry.web import create_app

    service, runtime = embedded_runtime(settings, store)
    app = create_app(
        settings, service=service, accounts=store, secret_store=open_secret_store(settings)
    )
    runtime.start()
    try:
        typer.echo(f"imageferry console on http://{settings.host}:{settings.port}/", err=True)
        if settings.executor == "celery":
            from imageferry.executor.celery_app import describe_broker

            typer.echo(
                f"runs are copied by `ferry worker` processes: queue {settings.queue} "
                f"on {describe_broker(settings)}",
                err=True,
            )
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="info")
    finally:
        runtime.stop()


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
