"""One task at a time per key: the others wait for it, then look again.

The blob ledger (one upload per blob and registry) and the manifest pushes
(one push per manifest and repository) share this: the first task to need a
key does the work; tasks arriving meanwhile wait, then find it done, or, when
the work failed, take their own turn and report their own error.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["KeyedTurns"]

K = TypeVar("K", bound=Hashable)


class KeyedTurns(Generic[K]):
    """Who is working on which key right now."""

    def __init__(self) -> None:
        self._busy: dict[K, asyncio.Event] = {}

    async def claim(self, key: K, done: Callable[[], bool]) -> bool:
        """Wait out any task working on ``key``; False when ``done()`` then holds.

        Otherwise take the key and return True: the caller does the work and
        must :meth:`release` the key, whether the work succeeded or not.
        """
        while not done():
            event = self._busy.get(key)
            if event is None:
                self._busy[key] = asyncio.Event()
                return True
            await event.wait()
        return False

    def release(self, key: K) -> None:
        """Let the tasks waiting for ``key`` look again."""
        self._busy.pop(key).set()
