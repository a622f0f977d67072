"""Watching a run to its end: log lines as progress, stop requests, Ctrl-C.

``ferry task run`` (and ``start`` without a server, ``stop``, ``logs --follow``)
poll the backend, local store or server alike: new log lines after the last
one seen (``logs(after_id=...)``) and the run's status. Polling the store is
also how a foreground run learns that ``ferry task stop`` was called from
another terminal: it sees STOPPING and cancels its own execution
(:meth:`TaskBackend.honour_stop`), so in-flight uploads are abandoned and no
tag moves.

Ctrl-C does not kill the process: the first one asks the run to stop and the
loop waits for STOPPED; a second one gives up waiting.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

from imageferry.cli.task_backend import TaskBackend
from imageferry.errors import FerryError
from imageferry.store.records import LogRecord, RunRecord
from imageferry.store.status import FINISHED_RUN_STATUSES, RunStatus

__all__ = ["Interrupt", "follow_logs", "follow_run", "interrupt_on_sigint", "wait_stopped"]

#: Seconds between two looks at the run.
POLL_SECONDS = 0.5
LogSink = Callable[[LogRecord], None]


class Interrupt:
    """Set by the first Ctrl-C; the loops below turn it into a stop request."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self._wake = threading.Event()

    def is_set(self) -> bool:
        return self.event.is_set()

    def set(self) -> None:
        self.event.set()
        self._wake.set()

    def wake(self) -> None:
        """End the current (or next) :meth:`sleep` early: something worth a look happened."""
        self._wake.set()

    def sleep(self, seconds: float) -> None:
        """Sleep, waking early on Ctrl-C or :meth:`wake`."""
        self._wake.wait(seconds)
        if not self.event.is_set():
            self._wake.clear()


@contextmanager
def interrupt_on_sigint() -> Iterator[Interrupt]:
    """While inside, the first SIGINT sets the returned flag; the second raises
    ``KeyboardInterrupt`` as usual. Outside the main thread, signals stay untouched."""
    interrupt = Interrupt()
    if threading.current_thread() is not threading.main_thread():
        yield interrupt
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        if interrupt.is_set():
            raise KeyboardInterrupt
        interrupt.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield interrupt
    finally:
        signal.signal(signal.SIGINT, previous)


def _drain(backend: TaskBackend, run_id: str, after: int, sink: LogSink | None) -> int:
    while True:
        lines = backend.logs(run_id, after, 1000)
        for line in lines:
            if sink is not None:
                sink(line)
            after = line.seq
        if len(lines) < 1000:
            return after


def follow_run(
    backend: TaskBackend,
    run: RunRecord,
    *,
    sink: LogSink | None,
    interrupt: Interrupt,
    stop_grace: float = 15.0,
    poll: float = POLL_SECONDS,
) -> tuple[RunRecord, bool]:
    """Wait for ``run`` to end, feeding its log lines to ``sink``.

    Returns the finished run and whether this call asked it to stop (Ctrl-C).
    """
    after = 0
    asked_at: float | None = None
    # A run this process executes wakes the loop the moment it ends, rather
    # than up to a poll later (a short run's end would otherwise wait for it).
    threading.Thread(target=_wake_at_end, args=(backend, run.id, interrupt), daemon=True).start()
    while True:
        if sink is not None:
            after = _drain(backend, run.id, after, sink)
        run = backend.get_run(run.id)
        if run.status in FINISHED_RUN_STATUSES:
            break
        if interrupt.is_set() and asked_at is None:
            asked_at = time.monotonic()
            try:
                run = backend.stop(run.task_id)
            except FerryError:
                continue  # it ended meanwhile: the next look shows how
        if run.status is RunStatus.STOPPING:
            backend.honour_stop(run.id)
            if asked_at is None:
                asked_at = time.monotonic()
            elif time.monotonic() - asked_at > stop_grace:
                run = backend.settle_stop(run.id)
                if run.status in FINISHED_RUN_STATUSES:
                    break
        interrupt.sleep(poll)
    # The executor appends its closing lines (summary, alarm) after the status.
    backend.join(run.id)
    if sink is not None:
        _drain(backend, run.id, after, sink)
    return run, asked_at is not None and interrupt.is_set()


def _wake_at_end(backend: TaskBackend, run_id: str, interrupt: Interrupt) -> None:
    backend.join(run_id)  # returns at once where the run executes elsewhere
    interrupt.wake()


def follow_logs(
    backend: TaskBackend,
    run_id: str,
    *,
    sink: LogSink,
    interrupt: Interrupt,
    follow: bool,
    poll: float = POLL_SECONDS,
) -> RunRecord:
    """Every log line of the run; with ``follow``, new ones until the run ends or Ctrl-C."""
    after = _drain(backend, run_id, 0, sink)
    run = backend.get_run(run_id)
    while follow and run.status not in FINISHED_RUN_STATUSES and not interrupt.is_set():
        interrupt.sleep(poll)
        after = _drain(backend, run_id, after, sink)
        run = backend.get_run(run_id)
    _drain(backend, run_id, after, sink)
    return run


def wait_stopped(
    backend: TaskBackend, run: RunRecord, *, grace: float, poll: float = POLL_SECONDS
) -> RunRecord:
    """After a stop request: wait for the executing process to end the run, at most
    ``grace`` seconds, then end it ourselves (nobody is executing it)."""
    deadline = time.monotonic() + grace
    while run.status not in FINISHED_RUN_STATUSES:
        if time.monotonic() >= deadline:
            return backend.settle_stop(run.id)
        time.sleep(poll)
        run = backend.get_run(run.id)
    return run
