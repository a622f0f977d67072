"""Fixtures for registry unit tests: a scripted loopback server and a transport."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from imageferry.registry.config import RegistryConfig
from imageferry.registry.stats import RegistryStats
from imageferry.registry.transport import Transport
from unit.registry.registry_fakes import FakeServer, Seen, Sleeps


async def _serve() -> AsyncIterator[FakeServer]:
    holder: list[FakeServer] = []

    async def dispatch(request: web.Request) -> web.StreamResponse:
        fake = holder[0]
        body = await request.read()
        fake.seen.append(Seen(request.method, request.path_qs, dict(request.headers), body))
        assert fake.handler is not None, "test forgot to set fake.handler"
        return await fake.handler(request)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", dispatch)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    holder.append(FakeServer(server))
    try:
        yield holder[0]
    finally:
        await server.close()


@pytest.fixture
async def fake() -> AsyncIterator[FakeServer]:
    async for server in _serve():
        yield server


@pytest.fixture
async def other() -> AsyncIterator[FakeServer]:
    """A second server: another origin (an upload service, blob storage)."""
    async for server in _serve():
        yield server


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
async def transport(sleeps: Sleeps) -> AsyncIterator[Transport]:
    t = Transport(RegistryConfig(retries=3, backoff_base=0.5), stats=RegistryStats(), sleep=sleeps)
    try:
        yield t
    finally:
        await t.aclose()
