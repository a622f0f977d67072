"""Transport behaviour against a scripted loopback server: retries, limits, redirects."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from aiohttp import web

from imageferry.errors import (
    Denied,
    NotFound,
    ResponseError,
    ServerError,
    TooManyRequests,
    TransportError,
    Unauthorized,
)
from imageferry.registry.config import RegistryConfig
from imageferry.registry.credentials import Credentials, StaticCredentials
from imageferry.registry.ratelimit import Quota, parse_quota
from imageferry.registry.stats import RegistryStats
from imageferry.registry.transport import Transport, backoff_delay, parse_retry_after
from stand_ins.registry import free_port
from unit.registry.registry_fakes import FakeServer, Handler, Sleeps


def scripted(*responses: Callable[[], web.Response]) -> Handler:
    """A handler answering with fresh ``responses`` in order, then repeating the last."""
    queue = list(responses)

    async def handler(request: web.Request) -> web.StreamResponse:
        return (queue.pop(0) if len(queue) > 1 else queue[0])()

    return handler


# -- pure helpers -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("0", 0.0),
        ("-5", 0.0),
        ("1.5", 1.5),
        (None, None),
        ("", None),
        ("soon", None),
    ],
)
def test_retry_after_seconds(value: str | None, expected: float | None) -> None:
    assert parse_retry_after(value) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2026, 1, 1, 12, 0, 0, tzinfo=UTC)
    later = format_datetime(now + timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(later, now) == 30.0
    earlier = format_datetime(now - timedelta(seconds=30), usegmt=True)
    assert parse_retry_after(earlier, now) == 0.0


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    low = [backoff_delay(a, 0.5, 8.0, rand=lambda: 0.0) for a in range(6)]
    high = [backoff_delay(a, 0.5, 8.0, rand=lambda: 1.0) for a in range(6)]
    assert low == [0.25, 0.5, 1.0, 2.0, 4.0, 4.0]
    assert high == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0]


# -- retries ------------------------------------------------------------------------


async def test_5xx_is_retried_with_backoff_then_succeeds(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    fake.handler = scripted(
        lambda: web.Response(status=503),
        lambda: web.Response(status=502),
        lambda: web.Response(text="ok"),
    )
    response = await transport.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")
    assert response.body == b"ok"
    assert len(fake.seen) == 3
    assert len(sleeps.delays) == 2
    assert 0.25 <= sleeps.delays[0] <= 0.5 and 0.5 <= sleeps.delays[1] <= 1.0
    stats = transport.stats
    assert isinstance(stats, RegistryStats)
    assert stats.retries == {(fake.host, "503"): 1, (fake.host, "502"): 1}
    assert stats.requests[(fake.host, "GET", 200)] == 1


async def test_429_honours_retry_after(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    fake.handler = scripted(
        lambda: web.Response(status=429, headers={"Retry-After": "7"}),
        lambda: web.Response(text="ok"),
    )
    await transport.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")
    # The registry's pause is waited out once, until its end (a moment after the 429).
    assert sleeps.delays == [pytest.approx(7.0, abs=0.5)]
    assert isinstance(transport.stats, RegistryStats)
    assert transport.stats.rate_limit_waits[fake.host] == 1


async def test_persistent_429_becomes_too_many_requests(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    fake.handler = scripted(
        lambda: web.json_response(
            {"errors": [{"code": "TOOMANYREQUESTS", "message": "pull rate limit"}]}, status=429
        )
    )
    with pytest.raises(TooManyRequests) as info:
        await transport.request(fake.host, "GET", f"{fake.url}/v2/a/tags/list", what="tags of a")
    assert len(fake.seen) == 4  # the first try and 3 retries
    assert "gave up after 3 retries" in str(info.value)
    assert "pull rate limit" in str(info.value)


async def test_used_up_pull_quota_fails_at_once_and_says_how_to_raise_it(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    # What Docker Hub answers once an anonymous client has used its pulls.
    fake.handler = scripted(
        lambda: web.json_response(
            {
                "errors": [
                    {"code": "TOOMANYREQUESTS", "message": "You have reached your pull rate limit."}
                ]
            },
            status=429,
            headers={"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "0;w=21600"},
        )
    )
    with pytest.raises(TooManyRequests) as info:
        await transport.request(fake.host, "GET", f"{fake.url}/v2/a/manifests/1", what="a:1")
    assert len(fake.seen) == 1 and sleeps.delays == []
    message = str(info.value)
    assert "pull quota used up (100 per 6 h)" in message
    assert "docker login" in message


async def test_429_with_quota_left_is_still_retried(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    fake.handler = scripted(
        lambda: web.Response(status=429, headers={"RateLimit-Remaining": "12;w=60"}),
        lambda: web.Response(text="ok"),
    )
    await transport.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")
    assert len(fake.seen) == 2 and len(sleeps.delays) == 1


@pytest.mark.parametrize(
    ("headers", "quota"),
    [
        (
            {"RateLimit-Limit": "100;w=21600", "RateLimit-Remaining": "76;w=21600"},
            Quota(76, 100, 21600),
        ),
        ({"RateLimit-Remaining": "0"}, Quota(0)),
        ({"RateLimit-Limit": "200;w=21600"}, None),
        ({"RateLimit-Remaining": "soon"}, None),
        ({}, None),
    ],
)
def test_parse_quota(headers: dict[str, str], quota: Quota | None) -> None:
    assert parse_quota(headers) == quota


async def test_retry_after_beyond_the_limit_fails_at_once(fake: FakeServer, sleeps: Sleeps) -> None:
    fake.handler = scripted(lambda: web.Response(status=503, headers={"Retry-After": "3600"}))
    async with Transport(RegistryConfig(max_retry_after=60), sleep=sleeps) as t:
        with pytest.raises(ServerError):
            await t.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")
    assert sleeps.delays == []


async def test_5xx_exhausts_retries_into_server_error(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    fake.handler = scripted(lambda: web.Response(status=500, text="boom"))
    with pytest.raises(ServerError) as info:
        await transport.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")
    assert info.value.status == 500
    assert len(fake.seen) == 4
    assert len(sleeps.delays) == 3


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, Unauthorized),
        (403, Denied),
        (404, NotFound),
        (400, ResponseError),
        (405, ResponseError),
    ],
)
async def test_client_errors_are_never_retried(
    fake: FakeServer, transport: Transport, sleeps: Sleeps, status: int, cls: type[Exception]
) -> None:
    fake.handler = scripted(lambda: web.Response(status=status))
    with pytest.raises(cls):
        await transport.request(fake.host, "GET", f"{fake.url}/v2/x", what="x")
    assert len(fake.seen) == 1
    assert sleeps.delays == []


async def test_streaming_body_is_not_replayed(
    fake: FakeServer, transport: Transport, sleeps: Sleeps
) -> None:
    fake.handler = scripted(lambda: web.Response(status=503))

    async def body() -> AsyncIterator[bytes]:
        yield b"abc"

    with pytest.raises(ServerError):
        await transport.request(
            fake.host, "PUT", f"{fake.url}/v2/x", what="x", body=body(), ok=(201,)
        )
    assert len(fake.seen) == 1
    assert fake.seen[0].body == b"abc"


async def test_connection_refused_is_retried_then_transport_error(sleeps: Sleeps) -> None:
    host = f"127.0.0.1:{free_port()}"
    async with Transport(RegistryConfig(retries=2), sleep=sleeps) as t:
        with pytest.raises(TransportError) as info:
            await t.request(host, "GET", f"http://{host}/v2/", what="ping")
        assert isinstance(t.stats, RegistryStats)
        assert t.stats.retries[(host, "connection")] == 2
    assert len(sleeps.delays) == 2
    assert f"cannot reach {host}" in str(info.value)


# -- limits, redirects, auth header hygiene --------------------------------------------


async def test_per_registry_limit_bounds_concurrent_requests(fake: FakeServer) -> None:
    in_flight = 0
    peak = 0

    async def handler(request: web.Request) -> web.StreamResponse:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.02)
        in_flight -= 1
        return web.Response(text="ok")

    fake.handler = handler
    async with Transport(RegistryConfig(max_requests_per_registry=2)) as t:
        await asyncio.gather(
            *(t.request(fake.host, "GET", f"{fake.url}/v2/{i}", what="x") for i in range(8))
        )
    assert len(fake.seen) == 8
    assert peak == 2


async def test_blob_redirect_is_followed_without_the_registry_authorization(
    fake: FakeServer,
) -> None:
    basic = "Basic " + base64.b64encode(b"alice:s3cret-pass").decode()

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/storage/"):
            return web.Response(body=b"blob-bytes")
        if request.headers.get("Authorization") != basic:
            return web.Response(status=401, headers={"WWW-Authenticate": 'Basic realm="r"'})
        return web.Response(status=307, headers={"Location": "/storage/blob?sig=abc"})

    fake.handler = handler
    creds = StaticCredentials({fake.host: Credentials("alice", "s3cret-pass")})
    t = Transport(credentials=creds)
    try:
        async with t.stream(fake.host, f"{fake.url}/v2/a/blobs/sha256:x", what="blob") as resp:
            data = await resp.read()
    finally:
        await t.aclose()
    assert data == b"blob-bytes"
    storage = [s for s in fake.seen if s.path_qs.startswith("/storage/")]
    assert len(storage) == 1
    assert "Authorization" not in storage[0].headers
    assert fake.seen[-2].headers["Authorization"] == basic


async def test_accept_encoding_identity_and_user_agent(
    fake: FakeServer, transport: Transport
) -> None:
    fake.handler = scripted(lambda: web.Response(text="ok"))
    await transport.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")
    assert fake.seen[0].headers["Accept-Encoding"] == "identity"
    assert fake.seen[0].headers["User-Agent"].startswith("imageferry/")


async def test_error_messages_never_carry_credentials_or_tokens(fake: FakeServer) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/token":
            return web.json_response({"token": "sekrit-token-value"})
        return web.Response(
            status=401,
            headers={"WWW-Authenticate": f'Bearer realm="{fake.url}/token",service="s"'},
        )

    fake.handler = handler
    creds = StaticCredentials({fake.host: Credentials("bob", "t0ken-pass")})
    async with Transport(credentials=creds) as t:
        with pytest.raises(Unauthorized) as info:
            await t.request(fake.host, "GET", f"{fake.url}/v2/a/manifests/1", what="manifest a:1")
    text = str(info.value) + repr(info.value.__dict__)
    assert "sekrit-token-value" not in text
    assert "t0ken-pass" not in text
    assert "manifest a:1" in text


async def test_insecure_host_falls_back_from_https_to_http(fake: FakeServer) -> None:
    fake.handler = scripted(lambda: web.Response(text="ok"))
    # The mirror is spelled https://, but the server only speaks HTTP.
    config = RegistryConfig(
        mirrors={"registry.test": f"https://{fake.host}"}, insecure=frozenset({fake.host})
    )
    async with Transport(config) as t:
        url = f"{t.base_url('registry.test')}/v2/"
        assert url.startswith("https://")
        response = await t.request("registry.test", "GET", url, what="ping")
        assert response.body == b"ok"
        assert t.base_url("registry.test") == f"http://{fake.host}"


async def test_https_failure_without_opt_in_does_not_fall_back(
    fake: FakeServer, sleeps: Sleeps
) -> None:
    fake.handler = scripted(lambda: web.Response(text="ok"))
    config = RegistryConfig(mirrors={"registry.test": f"https://{fake.host}"}, retries=0)
    async with Transport(config, sleep=sleeps) as t:
        with pytest.raises(TransportError):
            await t.request("registry.test", "GET", f"{t.base_url('registry.test')}/v2/", what="x")
    assert fake.seen == []


@pytest.mark.parametrize("busy", [503, 429])
async def test_a_busy_token_server_is_retried_with_backoff(
    fake: FakeServer, transport: Transport, sleeps: Sleeps, busy: int
) -> None:
    answers = [busy, busy, 200]

    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/token":
            status = answers.pop(0)
            if status != 200:
                return web.Response(status=status, headers={"Retry-After": "1"})
            return web.json_response({"token": "t"})
        if request.headers.get("Authorization") == "Bearer t":
            return web.Response(text="ok")
        return web.Response(
            status=401,
            headers={"WWW-Authenticate": f'Bearer realm="{fake.url}/token",service="s"'},
        )

    fake.handler = handler
    response = await transport.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")

    assert response.body == b"ok"
    assert [s.path_qs.split("?")[0] for s in fake.seen].count("/token") == 3
    assert sleeps.delays == [1.0, 1.0]  # as Retry-After asked


async def test_a_token_server_that_stays_down_is_not_blamed_on_the_password(
    fake: FakeServer, transport: Transport
) -> None:
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path == "/token":
            return web.Response(status=503, text="upstream busy")
        return web.Response(
            status=401,
            headers={"WWW-Authenticate": f'Bearer realm="{fake.url}/token",service="s"'},
        )

    fake.handler = handler
    with pytest.raises(ServerError) as info:
        await transport.request(fake.host, "GET", f"{fake.url}/v2/", what="ping")
    assert "token server kept failing" in str(info.value)
    assert "password" not in str(info.value)
