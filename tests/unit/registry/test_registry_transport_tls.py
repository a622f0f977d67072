"""TLS failures that a retry would repeat fail at once, with the flag that helps.

Against real loopback servers: one speaking plain HTTP, one with a certificate
signed by a CA of the test's own that the client does not trust.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from imageferry.errors import TransportError
from imageferry.registry.config import RegistryConfig
from imageferry.registry.stats import RegistryStats
from imageferry.registry.tls import verifying_context
from imageferry.registry.transport import Transport
from stand_ins.tls import issue_certificate
from unit.registry.registry_fakes import FakeServer, Sleeps


@pytest.fixture
async def tls_host(tmp_path: Path) -> AsyncIterator[str]:
    """host:port of an HTTPS server whose certificate no CA the client knows signed."""

    async def ok(request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server(ssl=issue_certificate(tmp_path).server_context())
    try:
        yield f"127.0.0.1:{server.port}"
    finally:
        await server.close()


def transport(sleeps: Sleeps, *, mirror: str, insecure: frozenset[str] = frozenset()) -> Transport:
    config = RegistryConfig(mirrors={"registry.test": mirror}, insecure=insecure)
    return Transport(config, stats=RegistryStats(), sleep=sleeps)


async def refusal(sleeps: Sleeps, host: str) -> str:
    """The error of a GET to ``https://host``, which must come without a retry."""
    async with transport(sleeps, mirror=f"https://{host}") as t:
        with pytest.raises(TransportError) as info:
            await t.request("registry.test", "GET", f"https://{host}/v2/", what="x")
    assert sleeps.delays == []  # not retried: the answer would be the same
    return str(info.value)


async def test_https_to_a_plain_http_server_fails_at_once_and_says_so(
    fake: FakeServer, sleeps: Sleeps
) -> None:
    assert await refusal(sleeps, fake.host) == (
        "x: cannot reach registry.test: TLS handshake failed: wrong version number "
        f"(the registry may speak plain HTTP: add --insecure-registry {fake.host})"
    )
    assert fake.seen == []


async def test_untrusted_certificate_fails_at_once_and_names_the_flag(
    tls_host: str, sleeps: Sleeps
) -> None:
    assert await refusal(sleeps, tls_host) == (
        "x: cannot reach registry.test: certificate verify failed: unable to get local issuer "
        "certificate "
        f"(--insecure-registry {tls_host} skips verification)"
    )


async def test_insecure_host_skips_certificate_verification(tls_host: str, sleeps: Sleeps) -> None:
    insecure = frozenset({tls_host})
    async with transport(sleeps, mirror=f"https://{tls_host}", insecure=insecure) as t:
        response = await t.request("registry.test", "GET", f"https://{tls_host}/v2/", what="x")
    assert (response.body, response.url) == (b"ok", f"https://{tls_host}/v2/")


async def test_refused_connections_are_still_retried(fake: FakeServer, sleeps: Sleeps) -> None:
    host = fake.host
    await fake.server.close()
    async with transport(sleeps, mirror=f"https://{host}") as t:
        with pytest.raises(TransportError, match=r"\(after 5 retries\)"):
            await t.request("registry.test", "GET", f"https://{host}/v2/", what="x")
    assert len(sleeps.delays) == 5


@pytest.mark.parametrize("user_set", [None, "/srv/pki/corporate-ca.pem"])
def test_importing_the_client_leaves_the_users_ca_setting_as_it_was(user_set: str | None) -> None:
    # imageferry.registry imports aiohttp with SSL_CERT_FILE briefly pointed elsewhere
    # (imageferry.registry.tls); afterwards the environment is the user's again.
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    if user_set is not None:
        env["SSL_CERT_FILE"] = user_set
    shown = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, sys, imageferry.registry; "
            "print('aiohttp' in sys.modules, os.environ.get('SSL_CERT_FILE'))",
        ],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert shown == ["True", str(user_set)]


@pytest.fixture
def trusted_ca(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The tls_host's CA trusted as a user trusts theirs: ``SSL_CERT_FILE``."""
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "ca.pem"))
    verifying_context.cache_clear()
    yield
    verifying_context.cache_clear()


async def test_https_storage_reached_by_redirects_from_plain_http_is_verified_with_the_users_cas(
    fake: FakeServer, tls_host: str, trusted_ca: None
) -> None:
    # A loopback registry (plain HTTP) sends the blob to storage, whose first host
    # sends it on to HTTPS: that hop must verify with the CAs the user trusts.
    async def handler(request: web.Request) -> web.StreamResponse:
        if request.path.startswith("/storage/"):
            return web.Response(status=302, headers={"Location": f"https://{tls_host}/b"})
        return web.Response(status=307, headers={"Location": "/storage/blob?sig=abc"})

    fake.handler = handler
    async with Transport() as t, t.stream(fake.host, f"{fake.url}/v2/a/blobs/x", what="b") as r:
        assert await r.read() == b"ok"
