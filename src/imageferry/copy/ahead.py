"""Work started ahead, at most once, whose outcome is awaited later.

An image's source HEAD is sent alongside its destination HEAD, so an up-to-date
image costs one round trip, not two; it starts only when the destination HEAD
is actually sent (a tag known missing needs the source's GET instead).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, Generic, TypeVar

__all__ = ["Ahead"]

_T = TypeVar("_T")


class Ahead(Generic[_T]):
    """``make()`` run as a task from :meth:`start` (or the first :meth:`result`)."""

    def __init__(self, make: Callable[[], Coroutine[Any, Any, _T]]) -> None:
        self._make = make
        self._task: asyncio.Task[_T] | None = None

    @property
    def started(self) -> bool:
        return self._task is not None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.ensure_future(self._make())

    async def result(self) -> _T:
        """Its outcome (starting it now if it was not): the value, or its exception."""
        self.start()
        assert self._task is not None
        return await self._task

    def cancel(self) -> None:
        """Stop it unless finished; its outcome is then never asked for."""
        if self._task is None:
            return
        if not self._task.done():
            self._task.cancel()
        elif not self._task.cancelled():
            self._task.exception()  # retrieved: an outcome nobody needs is not an error
