"""Fakes for registry unit tests: a scriptable loopback server (aiohttp's test server).

Each test installs one handler; every request the client makes is recorded
with its method, path and headers so tests can assert what went over the wire.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.test_utils import TestServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class Seen:
    method: str
    path_qs: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeServer:
    server: TestServer
    handler: Handler | None = None
    seen: list[Seen] = field(default_factory=list)

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.server.port}"

    @property
    def url(self) -> str:
        return f"http://{self.host}"

    def requests(self, method: str | None = None) -> list[Seen]:
        return [s for s in self.seen if method in (None, s.method)]


class Sleeps:
    """Records the delays the transport asked for instead of sleeping."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
