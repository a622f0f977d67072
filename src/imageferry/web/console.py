"""The console's shared state: everything a route needs, built once by the app factory."""

from __future__ import annotations

from dataclasses import dataclass, field

from fastapi import Request
from fastapi.templating import Jinja2Templates

from imageferry.secrets.base import SecretStore
from imageferry.settings import Settings
from imageferry.web.ports import Accounts, TaskServicePort, WorkersPort
from imageferry.web.ratelimit import LoginLimiter
from imageferry.web.sessions import SessionCodec

__all__ = ["Console", "console_of"]


@dataclass
class Console:
    settings: Settings
    service: TaskServicePort
    accounts: Accounts
    secrets: SecretStore
    codec: SessionCodec
    templates: Jinja2Templates
    limiter: LoginLimiter = field(default_factory=LoginLimiter)
    #: The Celery workers' monitor in distributed mode; None in the embedded default.
    workers: WorkersPort | None = None


def console_of(request: Request) -> Console:
    """The :class:`Console` of the app serving ``request``."""
    console: Console = request.app.state.console
    return console
