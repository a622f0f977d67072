"""The Celery application of the distributed executor: one task, ``imageferry.copy_batch``.

``ferry serve`` (with ``FERRY_EXECUTOR=celery``) plans a run and sends one
``copy_batch`` message per batch; ``ferry worker`` processes run them with
:func:`imageferry.tasks.batch.run_batch`. Messages are acknowledged only
after the batch (late acks), and a batch whose worker died goes back to the
queue (reject on worker loss; the Redis transport's visibility timeout for a
worker killed outright). Running a batch twice is harmless: units already
final are not copied again. A worker that cannot reach the store retries the
batch with backoff.

Celery is an optional extra (``pip install 'imageferry[celery]'``): it is
imported only here, and only in celery mode.

``ferry serve`` and ``ferry worker`` check the broker once at start
(:func:`check_broker`): a URL the transport cannot use is a
:class:`~imageferry.errors.ConfigError`, a broker that refuses the password
or cannot be reached within :data:`BROKER_WAIT_SECONDS` is
:class:`BrokerUnavailable`, each one line with the password masked. Once
started, a worker rides out a broker restart as Celery does.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from imageferry.errors import ConfigError, FerryError
from imageferry.settings import Settings
from imageferry.store.errors import StoreUnavailable

if TYPE_CHECKING:
    import celery

    from imageferry.tasks.execution import RunDependencies

__all__ = [
    "BROKER_WAIT_SECONDS",
    "TASK_NAME",
    "BrokerUnavailable",
    "broker_errors",
    "broker_url",
    "check_broker",
    "create_app",
    "describe_broker",
    "import_celery",
    "shutdown_signals",
]

#: The one task: kwargs ``run_id``, ``unit_keys`` (the batch's unit keys), ``batch`` (its name).
TASK_NAME = "imageferry.copy_batch"
#: Seconds between retries of a batch whose worker cannot reach the store (then doubling).
RETRY_BACKOFF = 1
RETRY_BACKOFF_MAX = 30

#: How long ``ferry serve`` and ``ferry worker`` wait for an unreachable broker at start.
BROKER_WAIT_SECONDS = 10.0

_MISSING = "the celery executor needs Celery and Redis: install 'imageferry[celery]'"
_EXAMPLE = "redis://[:PASSWORD@]HOST:PORT/DB, e.g. redis://127.0.0.1:6379/0"


class BrokerUnavailable(FerryError):
    """The broker cannot be reached, or refuses the credentials of FERRY_BROKER_URL."""


def import_celery() -> Any:
    """The ``celery`` package, or :class:`ConfigError` saying how to install it."""
    try:
        import celery
    except ImportError:
        raise ConfigError(_MISSING) from None
    return celery


def broker_url(settings: Settings) -> str:
    """FERRY_BROKER_URL, or :class:`ConfigError` (celery mode needs a broker and a shared store)."""
    url = settings.broker_url.get_secret_value()
    if not url:
        raise ConfigError(
            "FERRY_EXECUTOR=celery needs FERRY_BROKER_URL (e.g. redis://127.0.0.1:6379/0)"
        )
    if "://" not in url:  # kombu would take it for an AMQP host name
        raise ConfigError(f"FERRY_BROKER_URL is not a broker URL; give {_EXAMPLE}")
    if not settings.database_url:
        raise ConfigError(
            "FERRY_EXECUTOR=celery needs FERRY_DATABASE_URL: the store that ferry serve "
            "and every ferry worker share (e.g. postgresql+psycopg://user:pass@host/db)"
        )
    return url


def describe_broker(settings: Settings) -> str:
    """The broker URL with its password masked, for messages."""
    url = settings.broker_url.get_secret_value()
    head, _, rest = url.partition("://")
    userinfo, at, place = rest.rpartition("@")  # a password may hold '/' or '@' unescaped
    if not at or ":" not in userinfo:
        return url
    return f"{head}://{userinfo.partition(':')[0]}:***@{place}"


def _hidden(text: str, settings: Settings) -> str:
    """``text`` without the broker's password, should a library have quoted it."""
    password = urlsplit(settings.broker_url.get_secret_value()).password
    return text.replace(password, "***") if password else text


class _Refused(Exception):
    """The broker answered and refused the credentials: waiting will not help."""


def _give_up_on_refusal(error: BaseException, _interval: float) -> None:
    if any("Authentication" in cls.__name__ for cls in type(error).__mro__):
        raise _Refused(str(error))


@contextmanager
def broker_errors(settings: Settings) -> Iterator[None]:
    """Failures of talking to the broker as one line: ConfigError or BrokerUnavailable."""
    try:
        from celery.exceptions import OperationalError  # kombu's, as Celery re-exports it
    except ImportError:
        raise ConfigError(_MISSING) from None

    shown = describe_broker(settings)
    try:
        yield
    except KeyError as e:  # kombu: "No such transport: foo"
        scheme = shown.partition("://")[0]
        raise ConfigError(
            f"FERRY_BROKER_URL {shown}: no Celery transport {scheme!r} ({e}); give {_EXAMPLE}"
        ) from None
    except ValueError as e:  # kombu: a Redis database that is not a number, a bad port
        raise ConfigError(
            f"FERRY_BROKER_URL {shown}: {_hidden(str(e), settings)}; give {_EXAMPLE}"
        ) from None
    except _Refused as e:
        raise BrokerUnavailable(
            f"the broker {shown} refused the credentials ({_hidden(str(e), settings)}); "
            "fix the password in FERRY_BROKER_URL"
        ) from None
    except OperationalError as e:
        raise BrokerUnavailable(
            f"cannot reach the broker {shown} ({_hidden(str(e), settings)}); start it, or fix "
            "FERRY_BROKER_URL"
        ) from None


def check_broker(
    app: celery.Celery, settings: Settings, *, wait: float = BROKER_WAIT_SECONDS
) -> None:
    """Connect to the broker once, waiting up to ``wait`` seconds for it to come up."""
    with broker_errors(settings), app.connection_for_write() as connection:
        connection.ensure_connection(
            errback=_give_up_on_refusal,
            max_retries=None,
            interval_start=0.5,
            interval_step=0.5,
            interval_max=2,
            timeout=wait,
        )


def shutdown_signals() -> list[str]:
    """The signals (``SIGINT``, ``SIGTERM`` ...) that shut this process's worker down, as
    they come: Celery exits 1 for a Ctrl-C, which ``ferry worker`` reports as 130."""
    try:
        from celery.signals import worker_shutting_down
    except ImportError:
        raise ConfigError(_MISSING) from None
    received: list[str] = []

    def heard(sig: str = "", **_: object) -> None:
        received.append(sig)

    worker_shutting_down.connect(heard, weak=False)
    return received


def create_app(settings: Settings, *, executor_id: str = "") -> celery.Celery:
    """The Celery app on FERRY_BROKER_URL, with the ``copy_batch`` task registered."""
    celery_module = import_celery()
    app: celery.Celery = celery_module.Celery(
        "imageferry", broker=broker_url(settings), set_as_current=False
    )
    app.conf.update(
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        worker_prefetch_multiplier=1,
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        task_default_queue=settings.queue,
        broker_transport_options=transport_options(settings),
        broker_connection_retry_on_startup=True,
        worker_hijack_root_logger=False,
        worker_send_task_events=True,
        task_send_sent_event=True,
    )
    workers = _WorkerDependencies(settings, executor_id)

    @app.task(  # type: ignore[untyped-decorator]
        name=TASK_NAME,
        autoretry_for=(StoreUnavailable,),
        retry_backoff=RETRY_BACKOFF,
        retry_backoff_max=RETRY_BACKOFF_MAX,
        max_retries=None,
    )
    def copy_batch(run_id: str, unit_keys: list[str], batch: str) -> None:
        from imageferry.tasks.batch import run_batch

        asyncio.run(run_batch(run_id, unit_keys, batch, workers.get()))

    return app


def transport_options(settings: Settings) -> dict[str, int]:
    """Redis transport: a dead worker's batches go back to the queue after the visibility
    timeout, looked for every few seconds (kombu's default looks every ~100 s)."""
    timeout = settings.broker_visibility_timeout
    return {
        "visibility_timeout": timeout,
        "unacked_restore_interval": max(1, min(10, timeout // 4)),
        "unacked_restore_throttle": 1,
    }


class _WorkerDependencies:
    """What a worker process's batches share (store, secrets, notifier), made on first use."""

    def __init__(self, settings: Settings, executor_id: str) -> None:
        self._settings = settings
        self._executor_id = executor_id
        self._deps: RunDependencies | None = None
        self._lock = threading.Lock()

    def get(self) -> RunDependencies:
        with self._lock:
            if self._deps is None:
                from imageferry.alarms.factory import open_notifier
                from imageferry.secrets.factory import open_secret_store
                from imageferry.store import open_store
                from imageferry.tasks.execution import RunDependencies

                settings = self._settings
                self._deps = RunDependencies(
                    open_store(settings),
                    settings,
                    open_secret_store(settings),
                    open_notifier(settings),
                    executor_id=self._executor_id or "worker",
                    log_location="the worker's log",
                )
            return self._deps
