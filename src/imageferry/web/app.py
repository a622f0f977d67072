"""The console's app factory: ``create_app(settings, ...)``.

It wires the task service, the store's accounts and the secret store into a
FastAPI app serving the JSON API (``/api``, OpenAPI at ``/openapi.json``),
the pages, ``/metrics`` and the static assets packaged next to this module.
Nothing is fetched from the internet at run time.
"""

from __future__ import annotations

import secrets
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TextIO

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from imageferry.errors import AwsError, AwsThrottled, ConfigError, FerryError
from imageferry.executor.workers import monitor_for
from imageferry.secrets.base import InvalidSecret, SecretNotFound, SecretStore
from imageferry.settings import Settings
from imageferry.store.errors import (
    RunAlreadyActive,
    RunFinished,
    RunNotFound,
    TaskBusy,
    TaskNotFound,
)
from imageferry.tasks.params import TaskSpecError
from imageferry.tasks.service import NoActiveRun
from imageferry.web import (
    api_docs,
    api_misc,
    api_push,
    api_tasks,
    auth_routes,
    pages,
    workers_view,
)
from imageferry.web.console import Console
from imageferry.web.ports import Accounts, TaskServicePort, WorkersPort
from imageferry.web.security import LoginRequired
from imageferry.web.sessions import SessionCodec, load_or_create_key

__all__ = ["ADMIN_USERNAME", "create_app", "ensure_admin"]

ADMIN_USERNAME = "admin"
_HERE = Path(__file__).parent


def ensure_admin(accounts: Accounts, settings: Settings, out: TextIO = sys.stdout) -> bool:
    """Create the ``admin`` account on first start.

    The password is ``FERRY_ADMIN_PASSWORD`` when set; otherwise one is
    generated and printed once to ``out``. Returns True when it was created.
    """
    if accounts.count_users():
        return False
    password = settings.admin_password.get_secret_value()
    generated = not password
    if generated:
        password = secrets.token_urlsafe(15)
    accounts.create_user(ADMIN_USERNAME, password, is_admin=True)
    if generated:
        print(
            f"Created console user {ADMIN_USERNAME!r} with password: {password}\n"
            "(shown once; set FERRY_ADMIN_PASSWORD before the first start to choose it)",
            file=out,
            flush=True,
        )
    return True


def _status_for(error: FerryError) -> int:
    if isinstance(error, TaskNotFound | RunNotFound | SecretNotFound):
        return 404
    # NoActiveRun is a ConfigError, but a conflict with the task's state: before 422.
    if isinstance(error, RunAlreadyActive | TaskBusy | RunFinished | NoActiveRun):
        return 409
    if isinstance(error, TaskSpecError | InvalidSecret | ConfigError):
        return 422
    # An AWS service behind the console failed, not the console itself: a gateway's
    # statuses (RFC 9110 section 15.6), so clients can tell "try later" from a defect.
    if isinstance(error, AwsThrottled):
        return 503
    if isinstance(error, AwsError):
        return 502
    return 500


def _install_error_handlers(app: FastAPI) -> None:
    async def ferry_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, FerryError)
        status = _status_for(exc)
        if isinstance(exc, TaskSpecError):
            problems = [{"parameter": p.parameter, "message": p.message} for p in exc.problems]
            body = {"detail": str(exc), "error": type(exc).__name__, "problems": problems}
            return JSONResponse(body, status_code=422)
        if not request.url.path.startswith("/api"):
            detail = str(exc)
            return Response(
                f"{status}: {detail}", status_code=status, media_type="text/plain; charset=utf-8"
            )
        # ``error`` names the class so that clients (the CLI's remote mode) can
        # tell conflicts apart without parsing the message.
        return JSONResponse({"detail": str(exc), "error": type(exc).__name__}, status_code=status)

    async def login_required(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, LoginRequired)
        return RedirectResponse(exc.next_url, status_code=303)

    async def http_error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )

    app.add_exception_handler(FerryError, ferry_error)
    app.add_exception_handler(LoginRequired, login_required)
    app.add_exception_handler(HTTPException, http_error)


#: Everything comes from this origin; no inline scripts; inline SVG charts need no exception.
_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
)


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.setdefault("Content-Security-Policy", _CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if request.url.path.startswith("/api") or request.url.path.startswith("/tasks"):
        response.headers.setdefault("Cache-Control", "no-store")
    return response


def create_app(
    settings: Settings,
    *,
    service: TaskServicePort,
    accounts: Accounts,
    secret_store: SecretStore,
    out: TextIO = sys.stdout,
    workers: WorkersPort | None = None,
) -> FastAPI:
    """The console for ``settings``, serving ``service`` and ``accounts``.

    Creates the admin account on first start (see :func:`ensure_admin`).
    With ``FERRY_EXECUTOR=celery`` it watches the broker's workers (``workers``,
    else :func:`~imageferry.executor.workers.monitor_for` the settings).
    """
    ensure_admin(accounts, settings, out)
    app = FastAPI(
        title="imageferry",
        version="0.1.0",
        description="Transfer tasks between OCI registries: create, run and watch them.",
        # FastAPI's bundled docs pages load scripts from a CDN; the console
        # fetches nothing from the internet and serves its own /docs instead
        # (see imageferry.web.api_docs).
        docs_url=None,
        redoc_url=None,
    )
    templates = Jinja2Templates(directory=str(_HERE / "templates"))
    app.state.console = Console(
        settings=settings,
        service=service,
        accounts=accounts,
        secrets=secret_store,
        codec=SessionCodec(load_or_create_key(settings.data_dir)),
        templates=templates,
        workers=workers if workers is not None else monitor_for(settings),
    )
    _install_error_handlers(app)
    app.middleware("http")(_security_headers)
    app.include_router(auth_routes.router)
    app.include_router(api_tasks.router)
    app.include_router(api_misc.router)
    app.include_router(api_push.router)
    app.include_router(api_misc.metrics_router)
    app.include_router(pages.router)
    app.include_router(workers_view.api_router)
    app.include_router(workers_view.page_router)
    api_docs.mount_docs(app)
    app.mount("/static", StaticFiles(directory=str(_HERE / "static")), name="static")
    return app
