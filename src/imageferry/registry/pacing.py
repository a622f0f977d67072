"""The transport's gate: each request waits for room in its registry's window.

:class:`Pacer` keeps one :class:`~imageferry.registry.congestion.Window` per
registry and, for ECR hosts, a token bucket per rate-limited API action. A
request holds its place from when it is let go until its reply's headers
arrive; a streamed body read after that holds none (a blob copied within
one registry must not starve its own upload). Waiters are let go in the
order they came.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from imageferry.registry.congestion import (
    ECR_ACTION_RATES,
    AimdSettings,
    Reply,
    TokenBucket,
    Window,
    ecr_action,
)

__all__ = ["Pacer", "Ticket", "ecr_rates"]


def ecr_rates(registry: str) -> Mapping[str, float]:
    """ECR's per-action limits for an ECR registry; none for any other."""
    from imageferry.ecr.hosts import parse_registry_host

    return ECR_ACTION_RATES if parse_registry_host(registry) is not None else {}


@dataclass(slots=True)
class Ticket:
    """One request's place in its window; the transport records its reply on it.

    Recording the reply gives the place back at once, before the body is
    read: a 429's ``Retry-After`` holds the next request, not the one after.
    """

    started: float
    clock: Callable[[], float]
    done: Callable[[Reply | None], None]
    reply: Reply | None = None

    def record(
        self,
        status: int,
        *,
        sample: bool = True,
        retry_after: float | None = None,
        quota_remaining: int | None = None,
    ) -> None:
        """``sample``: the time to this reply measures the path (not a long upload)."""
        if self.reply is not None:
            return
        latency = self.clock() - self.started if sample else None
        self.reply = Reply(self.started, status, latency, retry_after, quota_remaining)
        self.done(self.reply)


@dataclass(slots=True)
class _Gate:
    """A window and the requests waiting for room in it.

    A ``Retry-After`` pause is waited out with the injected ``sleep``, once per
    deadline: a request that has slept until the pause's end goes on, and
    sleeps again only if a later 429 moved the end.
    """

    window: Window
    clock: Callable[[], float]
    sleep: Callable[[float], Awaitable[None]]
    waiters: deque[asyncio.Future[float]] = field(default_factory=deque)

    async def acquire(self) -> float:
        served = -math.inf  # the end of the last pause this request waited out
        while True:
            now = self.clock()
            end = self.window.paused_until
            if end > now and end > served:
                await self.sleep(end - now)
                served = end
                continue
            if not self.waiters and self.window.has_room():
                self.window.sent()
                return now
            await self._wait_for_room()
            now = self.clock()
            end = self.window.paused_until
            if end > now and end > served:
                self.release(None)  # a pause began while it waited: give the place back
                continue
            return now

    async def _wait_for_room(self) -> None:
        """Queue until :meth:`wake` hands this request a place (counted as sent)."""
        waiter: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release(None)  # handed a place just as it was cancelled
            elif waiter in self.waiters:
                self.waiters.remove(waiter)
            raise

    def release(self, reply: Reply | None) -> None:
        if reply is None:
            self.window.abandoned()
        else:
            self.window.replied(reply, self.clock())
        self.wake()

    def wake(self) -> None:
        now = self.clock()
        while self.waiters and self.window.has_room():
            waiter = self.waiters.popleft()
            if waiter.done():
                continue
            self.window.sent()
            waiter.set_result(now)


class Pacer:
    """Windows per registry and ECR action buckets, shared by every request of a transport.

    ``rates(registry)`` names the per-action limits of a registry (default:
    ECR's for ECR hosts); ``clock`` and ``sleep`` are injectable for tests.
    """

    def __init__(
        self,
        settings: AimdSettings | None = None,
        *,
        rates: Callable[[str], Mapping[str, float]] = ecr_rates,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.settings = settings or AimdSettings()
        self._rates = rates
        self._clock = clock
        self._sleep = sleep
        self._gates: dict[str, _Gate] = {}
        self._buckets: dict[str, dict[str, TokenBucket]] = {}

    def window(self, registry: str) -> Window:
        """``registry``'s window (created on first use)."""
        return self._gate(registry).window

    def windows(self) -> dict[str, Window]:
        """Every registry's window so far (for logs and the benchmark)."""
        return {registry: gate.window for registry, gate in self._gates.items()}

    @asynccontextmanager
    async def slot(self, registry: str, method: str, path: str) -> AsyncIterator[Ticket]:
        """Wait for room (and the action's token), hold it while the body runs."""
        await self._action_turn(registry, method, path)
        gate = self._gate(registry)
        ticket = Ticket(await gate.acquire(), self._clock, gate.release)
        try:
            yield ticket
        except asyncio.CancelledError:
            if ticket.reply is None:
                gate.release(None)
            raise
        except BaseException:
            ticket.record(0)  # no reply: the connection failed
            raise
        ticket.record(0)

    def _gate(self, registry: str) -> _Gate:
        gate = self._gates.get(registry)
        if gate is None:
            gate = self._gates[registry] = _Gate(Window(self.settings), self._clock, self._sleep)
        return gate

    async def _action_turn(self, registry: str, method: str, path: str) -> None:
        buckets = self._buckets.get(registry)
        if buckets is None:
            rates = self._rates(registry)
            now = self._clock()
            buckets = self._buckets[registry] = {
                action: TokenBucket(rate, now=now) for action, rate in rates.items()
            }
        if not buckets:
            return
        action = ecr_action(method, path)
        bucket = buckets.get(action) if action is not None else None
        if bucket is not None and (delay := bucket.reserve(self._clock())) > 0:
            await self._sleep(delay)
