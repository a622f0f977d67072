"""A registry that answers 429 with Retry-After: the client backs off, and still copies all.

The registry is a real docker-registry behind a small aiohttp proxy on
loopback that lets through ``RATE`` requests per second and answers the rest
429 with ``Retry-After: 1``, as Docker Hub and ECR do when a client is too
fast. The proxy counts its 429s; the client's stats hook records when each
of its exchanges started.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from imageferry.copy import CopyEngine
from imageferry.reference import Reference
from imageferry.registry import RegistryClient, RegistryStats
from imageferry.sandbox import skopeo
from imageferry.sandbox.images import build_fleet
from imageferry.sandbox.registry import LocalRegistry

#: Requests let through per one-second window.
RATE = 40
RETRY_AFTER = 1.0
SESSION = web.AppKey("session", aiohttp.ClientSession)
_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "upgrade", "proxy-connection"}


@dataclass
class RateLimited:
    """Forwards to ``target`` at most ``RATE`` requests per second; 429 for the rest."""

    target: str
    arrivals: list[float] = field(default_factory=list)
    refusals: list[float] = field(default_factory=list)
    window_start: float = 0.0
    in_window: int = 0

    async def handle(self, request: web.Request) -> web.StreamResponse:
        now = time.monotonic()
        self.arrivals.append(now)
        if now - self.window_start >= 1.0:
            self.window_start, self.in_window = now, 0
        self.in_window += 1
        if self.in_window > RATE:
            self.refusals.append(now)
            return web.json_response(
                {"errors": [{"code": "TOOMANYREQUESTS", "message": "slow down"}]},
                status=429,
                headers={"Retry-After": str(int(RETRY_AFTER))},
            )
        return await self._forward(request)

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _HOP}
        body = await request.read()
        session: aiohttp.ClientSession = request.app[SESSION]
        async with session.request(
            request.method,
            f"http://{self.target}{request.path_qs}",
            headers=headers,
            data=body or None,
            allow_redirects=False,
        ) as upstream:
            data = await upstream.read()
            out = web.Response(
                status=upstream.status, body=data if request.method != "HEAD" else None
            )
            for key, value in upstream.headers.items():
                if key.lower() not in _HOP and key.lower() != "content-length":
                    out.headers.add(key, value)
            if request.method == "HEAD" and "Content-Length" in upstream.headers:
                out.headers["Content-Length"] = upstream.headers["Content-Length"]
            return out


class Exchanges(RegistryStats):
    """The client's own record: per registry, each exchange's start, end and status."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: dict[str, list[tuple[float, float, int]]] = {}

    def on_request(self, registry: str, method: str, status: int, seconds: float) -> None:
        super().on_request(registry, method, status, seconds)
        now = time.monotonic()
        self.exchanges.setdefault(registry, []).append((now - seconds, now, status))


@pytest.fixture
async def limited(src_registry: LocalRegistry) -> AsyncIterator[tuple[RateLimited, str]]:
    proxy = RateLimited(src_registry.host)
    app = web.Application(client_max_size=64 << 20)
    app.router.add_route("*", "/{tail:.*}", proxy.handle)

    async def session(app: web.Application) -> AsyncIterator[None]:
        app[SESSION] = aiohttp.ClientSession(auto_decompress=False)
        yield
        await app[SESSION].close()

    app.cleanup_ctx.append(session)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield proxy, f"127.0.0.1:{server.port}"
    finally:
        await server.close()


async def test_429_with_retry_after_slows_the_client_and_everything_arrives(
    src_registry: LocalRegistry,
    dst_registry: LocalRegistry,
    limited: tuple[RateLimited, str],
) -> None:
    proxy, host = limited
    refs = build_fleet(src_registry.url, total_mb=2)
    pairs = [
        (Reference.parse(f"{host}/{r}"), Reference.parse(f"{dst_registry.host}/{r}")) for r in refs
    ]
    stats = Exchanges()
    async with RegistryClient(stats=stats) as client:
        results = await CopyEngine(client.repository).copy_many(pairs)
        window = client.transport.pacer.window(host)

    assert [r.status for r in results] == ["copied"] * len(refs)
    # The registry did refuse some: the test would prove nothing otherwise.
    assert proxy.refusals
    # Retry-After held every new request to that registry back: none was
    # started within the pause that followed a 429 the client had received.
    exchanges = stats.exchanges[host]
    for refused in [end for _, end, status in exchanges if status == 429]:
        during = [s for s, _, _ in exchanges if refused + 0.01 < s < refused + RETRY_AFTER - 0.01]
        assert during == [], f"{len(during)} requests started within Retry-After of a 429"
    # No storm: 429s come in bursts of what was already in flight, one burst
    # per pause at most, and most requests are served.
    bursts = [proxy.refusals[0]]
    for refused in proxy.refusals:
        if refused - bursts[-1] > 0.5:
            bursts.append(refused)
    assert all(b - a >= RETRY_AFTER * 0.9 for a, b in itertools.pairwise(bursts))
    served = len(proxy.arrivals) - len(proxy.refusals)
    assert len(proxy.refusals) <= served // 2
    assert window.cuts >= 1
    assert stats.rate_limit_waits[host] == len(proxy.refusals)
    for r in refs[:3]:
        assert skopeo.inspect_digest(f"{dst_registry.host}/{r}") == skopeo.inspect_digest(
            f"{src_registry.host}/{r}"
        )
