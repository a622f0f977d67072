"""The embedded default executor: runs in this process, on one event-loop thread.

Runs are coroutines on a dedicated loop, so the caller (CLI, web server,
scheduler) never blocks on them; ``cancel`` stops a run from any thread.
Each run gets its own copy engine and blob ledger.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import threading
from collections.abc import Awaitable, Callable
from typing import Any

__all__ = ["LocalExecutor"]

#: ``execute(run_id)``: the coroutine that runs one run to its end.
RunFunction = Callable[[str], Awaitable[Any]]


class LocalExecutor:
    """Executes runs in-process. ``execute`` is usually
    ``functools.partial(imageferry.tasks.execution.execute_run, deps=...)``."""

    def __init__(self, execute: RunFunction, *, name: str = "ferry-executor") -> None:
        self._execute = execute
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name=name, daemon=True)
        self._thread.start()
        self._futures: dict[str, concurrent.futures.Future[Any]] = {}
        self._tasks: dict[str, asyncio.Task[Any]] = {}
        self._lock = threading.Lock()

    async def _run(self, run_id: str) -> Any:
        # Keep the asyncio task so cancel() reaches the coroutine itself; the
        # outer future then completes only after the run's own clean-up.
        task = asyncio.current_task()
        assert task is not None
        self._tasks[run_id] = task
        try:
            return await self._execute(run_id)
        finally:
            self._tasks.pop(run_id, None)

    def submit(self, run_id: str) -> None:
        with self._lock:
            if run_id in self._futures and not self._futures[run_id].done():
                return  # already executing here: submitting twice is harmless
            future = asyncio.run_coroutine_threadsafe(self._run(run_id), self._loop)
            self._futures[run_id] = future
        future.add_done_callback(lambda _f: self._forget(run_id, _f))

    def _forget(self, run_id: str, future: concurrent.futures.Future[Any]) -> None:
        with self._lock:
            if self._futures.get(run_id) is future:
                del self._futures[run_id]

    def cancel(self, run_id: str) -> bool:
        with self._lock:
            future = self._futures.get(run_id)
        if future is None or future.done():
            return False
        self._loop.call_soon_threadsafe(self._cancel_task, run_id)
        return True

    def _cancel_task(self, run_id: str) -> None:
        task = self._tasks.get(run_id)
        if task is not None:
            task.cancel()

    def wait(self, run_id: str, timeout: float | None = None) -> bool:
        with self._lock:
            future = self._futures.get(run_id)
        if future is None:
            return True
        try:
            future.result(timeout)
        except concurrent.futures.TimeoutError:
            return False
        except concurrent.futures.CancelledError:
            pass
        return True

    def running(self) -> list[str]:
        with self._lock:
            return [r for r, f in self._futures.items() if not f.done()]

    def close(self) -> None:
        with self._lock:
            futures = list(self._futures.values())
        for run_id in self.running():
            self.cancel(run_id)
        for future in futures:
            with contextlib.suppress(
                concurrent.futures.CancelledError, concurrent.futures.TimeoutError
            ):
                future.result(timeout=30)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
