"""One task at a time per key; waiters look again when the holder is done."""

from __future__ import annotations

import asyncio

from imageferry.copy.turns import KeyedTurns


async def test_waiters_find_the_work_done_or_take_their_own_turn() -> None:
    turns: KeyedTurns[str] = KeyedTurns()
    done: set[str] = set()
    worked: list[str] = []

    async def job(name: str, key: str, succeed: bool) -> None:
        if not await turns.claim(key, lambda: key in done):
            return
        try:
            worked.append(name)
            await asyncio.sleep(0)
            if succeed:
                done.add(key)
        finally:
            turns.release(key)

    # a fails, so b (waiting on the same key) works on its own; c then finds it done.
    await asyncio.gather(job("a", "k", False), job("b", "k", True), job("c", "k", True))
    await asyncio.gather(job("d", "other", True))
    assert worked == ["a", "b", "d"]
